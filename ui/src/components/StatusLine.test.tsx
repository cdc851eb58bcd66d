import { render, screen } from "@testing-library/react";
import { afterEach, describe, expect, it, vi } from "vitest";
import { fetchAppStatus } from "../api";
import { StatusLine } from "./StatusLine";

vi.mock("../api", () => ({ fetchAppStatus: vi.fn() }));

describe("StatusLine", () => {
  afterEach(() => {
    vi.resetAllMocks();
  });

  it("says it is connecting until the backend answers", () => {
    vi.mocked(fetchAppStatus).mockReturnValue(new Promise(() => undefined));
    render(<StatusLine />);

    expect(screen.getByTestId("status-line")).toHaveTextContent("Connecting…");
  });

  it("shows the summary from app_status", async () => {
    vi.mocked(fetchAppStatus).mockResolvedValue({
      version: "0.1.0",
      mode: "local",
      gateway: null,
      summary: "Countersign 0.1.0 · local mode · no gateway",
    });
    render(<StatusLine />);

    expect(await screen.findByText("Countersign 0.1.0 · local mode · no gateway")).toBe(
      screen.getByTestId("status-line"),
    );
  });

  it("shows why the backend is unavailable when app_status rejects", async () => {
    vi.mocked(fetchAppStatus).mockRejectedValue({ code: "ipc.failed", message: "IPC channel closed" });
    render(<StatusLine />);

    const statusLine = screen.getByTestId("status-line");
    expect(await screen.findByText("Backend unavailable: IPC channel closed")).toBe(statusLine);
    expect(statusLine).toHaveAttribute("data-state", "unavailable");
  });

  it("is announced politely to assistive technology", () => {
    vi.mocked(fetchAppStatus).mockReturnValue(new Promise(() => undefined));
    render(<StatusLine />);

    const statusLine = screen.getByRole("status");
    expect(statusLine).toHaveAttribute("aria-live", "polite");
    expect(statusLine).toHaveAttribute("data-testid", "status-line");
  });
});
