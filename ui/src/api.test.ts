import { invoke, isTauri } from "@tauri-apps/api/core";
import { afterEach, describe, expect, it, vi } from "vitest";
import { fetchAppStatus } from "./api";
import type { AppStatus } from "./bindings/AppStatus";

vi.mock("@tauri-apps/api/core", () => ({ invoke: vi.fn(), isTauri: vi.fn() }));

const status: AppStatus = { version: "0.1.0", mode: "local", gateway: null, summary: "Ready" };

describe("fetchAppStatus", () => {
  afterEach(() => {
    vi.resetAllMocks();
  });

  it("invokes the app_status command inside Tauri", async () => {
    vi.mocked(isTauri).mockReturnValue(true);
    vi.mocked(invoke).mockResolvedValue(status);

    await expect(fetchAppStatus()).resolves.toEqual(status);
    expect(invoke).toHaveBeenCalledWith("app_status");
  });

  it("rejects with a clear reason outside Tauri without invoking", async () => {
    vi.mocked(isTauri).mockReturnValue(false);

    await expect(fetchAppStatus()).rejects.toThrow("not running inside the Countersign desktop app");
    expect(invoke).not.toHaveBeenCalled();
  });
});
