import { describe, expect, it } from "vitest";
import { card, decision, message, snapshot } from "../test/fixtures";
import { cardKey, DEPARTURE_MS, initialQueue, isSettling, liveCards, queueReducer, SETTLE_MS } from "./queue";

describe("queueReducer", () => {
  it("holds events that arrive before the snapshot and applies only the newer ones", () => {
    let model = initialQueue();
    model = queueReducer(model, { type: "event", message: message({ kind: "card", seq: 9, card: card("old"), arrived: true }), now: 0 });
    model = queueReducer(model, { type: "event", message: message({ kind: "card", seq: 11, card: card("new"), arrived: true }), now: 0 });
    expect(model.cards).toHaveLength(0);
    model = queueReducer(model, { type: "snapshot", snapshot: snapshot([card("a")], 10), now: 0 });
    expect(model.cards.map((c) => c.card.job_id)).toEqual(["new", "a"]);
    expect(model.seq).toBe(11);
    const stale = queueReducer(model, { type: "event", message: message({ kind: "card", seq: 11, card: card("dup"), arrived: true }), now: 0 });
    expect(stale).toBe(model);
  });

  it("shows a first screen live, then the whole queue with the events newer than it", () => {
    const arrived = (id: string, seq: number) => message({ kind: "card", seq, card: card(id), arrived: true });
    let model = queueReducer(initialQueue(), { type: "snapshot", snapshot: snapshot([card("c"), card("b")], 10, 5), now: 0 });
    expect(model.unloaded).toBe(3);
    // Events during the load show at once on the first screen...
    model = queueReducer(model, { type: "events", messages: [arrived("x", 11), arrived("y", 13)], now: 0 });
    expect(model.cards.map((c) => c.card.job_id)).toEqual(["y", "x", "c", "b"]);
    // ...and the whole queue, read at seq 12 (after x, before y), gets back the one it lacks.
    const whole = [card("x"), card("c"), card("b"), card("a"), card("z")];
    model = queueReducer(model, { type: "snapshot", snapshot: snapshot(whole, 12), now: 0 });
    expect(model.cards.map((c) => c.card.job_id)).toEqual(["y", "x", "c", "b", "a", "z"]);
    expect(model.seq).toBe(13);
    expect(model.unloaded).toBe(0);
    expect(model.early).toEqual([]);
    model = queueReducer(model, { type: "events", messages: [arrived("w", 14)], now: 0 });
    expect(model.early).toEqual([]);
  });

  it("updates a changed card in place, clears its outcome and restarts the misclick guard", () => {
    let model = queueReducer(initialQueue(), { type: "snapshot", snapshot: snapshot([card("a"), card("b")]), now: 0 });
    model = queueReducer(model, { type: "outcome", key: cardKey(card("a")), outcome: { kind: "failed", code: "network", message: "x" } });
    const changed = card("a", { job_hash: "sha256:other" }, { changes: ["job_hash"] });
    model = queueReducer(model, { type: "event", message: message({ kind: "card", seq: 11, card: changed, arrived: false }), now: 10_000 });
    expect(model.cards.map((c) => c.card.job_id)).toEqual(["a", "b"]);
    expect(model.cards[0]?.seen.job_hash).toBe("sha256:other");
    expect(model.outcomes[cardKey(card("a"))]).toEqual({ kind: "failed", code: "network", message: "x" });
    expect(model.outcomes[cardKey(changed)]).toBeUndefined();
    expect(isSettling(model, "a", 10_000 + SETTLE_MS - 1)).toBe(true);
    expect(isSettling(model, "a", 10_000 + SETTLE_MS)).toBe(false);
    expect(isSettling(model, "b", 10_000)).toBe(false);
  });

  it("guards pointer clicks on every card for a moment after the list moved", () => {
    let model = queueReducer(initialQueue(), { type: "snapshot", snapshot: snapshot([card("a")]), now: 0 });
    model = queueReducer(model, { type: "event", message: message({ kind: "card", seq: 11, card: card("n"), arrived: true }), now: 5_000 });
    expect(isSettling(model, "a", 5_000 + SETTLE_MS - 1, true)).toBe(true);
    expect(isSettling(model, "a", 5_000 + SETTLE_MS - 1, false)).toBe(false);
    expect(isSettling(model, "a", 5_000 + SETTLE_MS, true)).toBe(false);
  });

  it("drops messages of another desk, before and after the snapshot", () => {
    let model = initialQueue();
    model = queueReducer(model, { type: "event", message: message({ kind: "card", seq: 11, card: card("old-desk"), arrived: true }, 2), now: 0 });
    model = queueReducer(model, { type: "snapshot", snapshot: snapshot([card("a")], 10), now: 0 });
    expect(model.cards.map((c) => c.card.job_id)).toEqual(["a"]);
    const stray = queueReducer(model, { type: "event", message: message({ kind: "card", seq: 50, card: card("x"), arrived: true }, 99), now: 0 });
    expect(stray).toBe(model);
    expect(model.seq).toBe(10);
  });

  it("keeps a resolved card with its resolver for a moment, then drops it", () => {
    let model = queueReducer(initialQueue(), { type: "snapshot", snapshot: snapshot([card("a"), card("b")]), now: 0 });
    model = queueReducer(model, { type: "event", message: message({ kind: "removed", seq: 11, job_id: "a", by: "bob", status: "approved" }), now: 1000 });
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
    const offline = { state: "offline" as const, offline_since_ms: 5, last_sync_ms: 1, message: "down", generation: "new", complete: true };
    model = queueReducer(model, { type: "event", message: message({ kind: "status", seq: 11, status: offline }), now: 0 });
    expect(model.status.state).toBe("offline");
    const recovered = decision("a", "reject", "Rejected");
    model = queueReducer(model, { type: "event", message: message({ kind: "decision", seq: 12, decision: recovered }), now: 0 });
    expect(model.outcomes[cardKey(card("a"))]).toEqual({ kind: "decided", decision: recovered });
    for (let i = 0; i < 8; i += 1) {
      model = queueReducer(model, { type: "event", message: message({ kind: "notice", seq: 13 + i, code: "c", message: `n${String(i)}` }), now: 0 });
    }
    expect(model.notices.map((n) => n.message)).toEqual(["n3", "n4", "n5", "n6", "n7"]);
  });
});

describe("a burst of events", () => {
  it("applies ten thousand arrivals, changes and departures in one pass, newest first", () => {
    const base = queueReducer(initialQueue(), { type: "snapshot", snapshot: snapshot([card("old")], 10), now: 0 });
    const arrivals = Array.from({ length: 10_000 }, (_, i) =>
      message({ kind: "card", seq: 11 + i, card: card(`j${String(i)}`), arrived: true }),
    );
    const changed = card("j5", { job_hash: "sha256:changed" }, { changes: ["job_hash"] });
    const later = [
      message({ kind: "card", seq: 20_011, card: changed, arrived: false }),
      message({ kind: "removed", seq: 20_012, job_id: "old", by: "bob", status: "approved" }),
      message({ kind: "card", seq: 20_013, card: card("j9"), arrived: false }),
    ];
    const model = queueReducer(base, { type: "events", messages: [...arrivals, ...later, ...arrivals.slice(3, 4)], now: 7 });
    expect(model.cards).toHaveLength(10_001);
    expect(model.cards[0]?.card.job_id).toBe("j9999");
    expect(model.cards[model.cards.length - 2]?.card.job_id).toBe("j0");
    expect(model.cards[model.cards.length - 1]?.card.job_id).toBe("old");
    expect(model.cards.find((c) => c.card.job_id === "j5")?.seen.job_hash).toBe("sha256:changed");
    expect(model.departed.old?.by).toBe("bob");
    expect(model.seq).toBe(20_013);
    expect(liveCards(model)).toHaveLength(10_000);

    // The same events one by one give the same queue.
    let oneByOne = base;
    for (const m of [...arrivals.slice(0, 50), ...later]) oneByOne = queueReducer(oneByOne, { type: "event", message: m, now: 7 });
    const batched = queueReducer(base, { type: "events", messages: [...arrivals.slice(0, 50), ...later], now: 7 });
    expect(batched).toEqual(oneByOne);
  });
});
