import { invoke, isTauri } from "@tauri-apps/api/core";
import { afterEach, describe, expect, it, vi } from "vitest";
import { decide, queueSnapshot } from "./api";

vi.mock("@tauri-apps/api/core", () => ({ invoke: vi.fn(), isTauri: vi.fn() }));

describe("api", () => {
  afterEach(() => {
    vi.resetAllMocks();
  });

  it("names each command and its arguments as the Rust side declares them", async () => {
    vi.mocked(isTauri).mockReturnValue(true);
    vi.mocked(invoke).mockResolvedValue({ seq: 0, cards: [], status: {} });
    await queueSnapshot();
    expect(invoke).toHaveBeenLastCalledWith("queue_snapshot", { limit: null });
    await queueSnapshot(100);
    expect(invoke).toHaveBeenLastCalledWith("queue_snapshot", { limit: 100 });
    const seen = { job_id: "j", job_hash: "h", policy_snapshot: "s", workflow_gate: false, content_digest: "d", content: null };
    await decide({ desk: 1, seen, action: "approve", reason: "", confirm: null });
    expect(invoke).toHaveBeenLastCalledWith("decide", { request: { desk: 1, seen, action: "approve", reason: "", confirm: null } });
  });

  it("rejects with a clear reason outside Tauri without invoking", async () => {
    vi.mocked(isTauri).mockReturnValue(false);
    await expect(queueSnapshot()).rejects.toThrow("not running inside the Countersign desktop app");
    expect(invoke).not.toHaveBeenCalled();
  });
});
