import { describe, expect, it } from "vitest";
import { card, snapshot } from "../test/fixtures";
import { DEPARTURE_MS, initialQueue, isSettling, liveCards, queueReducer, SETTLE_MS } from "./queue";

describe("queueReducer", () => {
  it("holds events that arrive before the snapshot and applies only the newer ones", () => {
    let model = initialQueue();
    model = queueReducer(model, { type: "event", event: { kind: "card", seq: 9, card: card("old"), arrived: true }, now: 0 });
    model = queueReducer(model, { type: "event", event: { kind: "card", seq: 11, card: card("new"), arrived: true }, now: 0 });
    expect(model.cards).toHaveLength(0);
    model = queueReducer(model, { type: "snapshot", snapshot: snapshot([card("a")], 10), now: 0 });
    expect(model.cards.map((c) => c.card.job_id)).toEqual(["new", "a"]);
    expect(model.seq).toBe(11);
    const stale = queueReducer(model, { type: "event", event: { kind: "card", seq: 11, card: card("dup"), arrived: true }, now: 0 });
    expect(stale).toBe(model);
  });

  it("updates a changed card in place, clears its outcome and restarts the misclick guard", () => {
    let model = queueReducer(initialQueue(), { type: "snapshot", snapshot: snapshot([card("a"), card("b")]), now: 0 });
    model = queueReducer(model, { type: "outcome", jobId: "a", outcome: { kind: "failed", code: "network", message: "x" } });
    const changed = card("a", { job_hash: "sha256:other" }, { changes: ["job_hash"] });
    model = queueReducer(model, { type: "event", event: { kind: "card", seq: 11, card: changed, arrived: false }, now: 10_000 });
    expect(model.cards.map((c) => c.card.job_id)).toEqual(["a", "b"]);
    expect(model.cards[0]?.seen.job_hash).toBe("sha256:other");
    expect(model.outcomes.a).toBeUndefined();
    expect(isSettling(model, "a", 10_000 + SETTLE_MS - 1)).toBe(true);
    expect(isSettling(model, "a", 10_000 + SETTLE_MS)).toBe(false);
    expect(isSettling(model, "b", 10_000)).toBe(false);
  });

  it("guards pointer clicks on every card for a moment after the list moved", () => {
    let model = queueReducer(initialQueue(), { type: "snapshot", snapshot: snapshot([card("a")]), now: 0 });
    model = queueReducer(model, { type: "event", event: { kind: "card", seq: 11, card: card("n"), arrived: true }, now: 5_000 });
    expect(isSettling(model, "a", 5_000 + SETTLE_MS - 1, true)).toBe(true);
    expect(isSettling(model, "a", 5_000 + SETTLE_MS - 1, false)).toBe(false);
    expect(isSettling(model, "a", 5_000 + SETTLE_MS, true)).toBe(false);
  });

  it("keeps a resolved card with its resolver for a moment, then drops it", () => {
    let model = queueReducer(initialQueue(), { type: "snapshot", snapshot: snapshot([card("a"), card("b")]), now: 0 });
    model = queueReducer(model, { type: "event", event: { kind: "removed", seq: 11, job_id: "a", by: "bob", status: "approved" }, now: 1000 });
    expect(model.departed.a).toEqual({ by: "bob", status: "approved", at: 1000 });
    expect(liveCards(model).map((c) => c.card.job_id)).toEqual(["b"]);
    model = queueReducer(model, { type: "sweep", now: 1000 + DEPARTURE_MS - 1 });
    expect(model.cards).toHaveLength(2);
    model = queueReducer(model, { type: "sweep", now: 1000 + DEPARTURE_MS });
    expect(model.cards.map((c) => c.card.job_id)).toEqual(["b"]);
    expect(model.departed).toEqual({});
  });

  it("records statuses, recovered decisions and a bounded list of notices", () => {
    let model = queueReducer(initialQueue(), { type: "snapshot", snapshot: snapshot([card("a")]), now: 0 });
    const offline = { state: "offline" as const, offline_since_ms: 5, last_sync_ms: 1, message: "down", generation: "new" };
    model = queueReducer(model, { type: "event", event: { kind: "status", seq: 11, status: offline }, now: 0 });
    expect(model.status.state).toBe("offline");
    const decision = { job_id: "a", action: "reject" as const, outcome: "applied", by: null, by_us: null, verdict: null, message: "Rejected", mismatch: null };
    model = queueReducer(model, { type: "event", event: { kind: "decision", seq: 12, decision }, now: 0 });
    expect(model.outcomes.a).toEqual({ kind: "decided", decision });
    for (let i = 0; i < 8; i += 1) {
      model = queueReducer(model, { type: "event", event: { kind: "notice", seq: 13 + i, code: "c", message: `n${String(i)}` }, now: 0 });
    }
    expect(model.notices.map((n) => n.message)).toEqual(["n3", "n4", "n5", "n6", "n7"]);
  });
});
