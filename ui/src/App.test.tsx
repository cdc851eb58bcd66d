import { render, screen } from "@testing-library/react";
import { afterEach, describe, expect, it, vi } from "vitest";
import { App } from "./App";
import { fetchAppStatus } from "./api";

vi.mock("./api", () => ({ fetchAppStatus: vi.fn() }));

describe("App", () => {
  afterEach(() => {
    vi.resetAllMocks();
  });

  it("renders the title, tagline, an empty queue and the backend status", async () => {
    vi.mocked(fetchAppStatus).mockResolvedValue({
      version: "0.1.0",
      mode: "local",
      gateway: null,
      summary: "Ready",
    });
    render(<App />);

    expect(screen.getByTestId("app-title")).toHaveTextContent("Countersign");
    expect(screen.getByText("Approvals for autonomous agents")).toBeInTheDocument();
    expect(screen.getByRole("heading", { name: "Pending approvals" })).toBeInTheDocument();
    expect(screen.getByTestId("queue")).toContainElement(screen.getByTestId("queue-empty"));
    expect(screen.queryAllByTestId("approval-card")).toHaveLength(0);
    expect(await screen.findByText("Ready")).toBe(screen.getByTestId("status-line"));
  });

  it("uses header, main and footer landmarks", () => {
    vi.mocked(fetchAppStatus).mockReturnValue(new Promise(() => undefined));
    render(<App />);

    expect(screen.getByRole("banner")).toContainElement(screen.getByTestId("app-title"));
    expect(screen.getByRole("main")).toContainElement(screen.getByTestId("queue"));
    expect(screen.getByRole("contentinfo")).toContainElement(screen.getByTestId("status-line"));
  });
});
