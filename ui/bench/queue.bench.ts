import { bench, describe } from "vitest";
import type { DeskMessage } from "../src/bindings/DeskMessage";
import { applyFilter, facets, NO_FILTER } from "../src/model/filter";
import { initialQueue, queueReducer } from "../src/model/queue";
import { card, message, snapshot } from "../src/test/fixtures";

// The reviewer's window at 10,000 pending items: what each arrival burst, filter keystroke and
// facet count costs in the UI's state, before React draws the few cards in view.
const PENDING = 10_000;
const cards = Array.from({ length: PENDING }, (_, i) =>
  card(`j${String(i)}`, { topic: i % 3 ? "customer.notify" : "finance.payment.execute", risk_tags: i % 5 ? ["network"] : ["finance"] }),
);
const full = queueReducer(initialQueue(), { type: "snapshot", snapshot: snapshot(cards, 10), now: 0 });
const burst: DeskMessage[] = Array.from({ length: PENDING }, (_, i) =>
  message({ kind: "card", seq: 11 + i, card: card(`n${String(i)}`), arrived: true }),
);
const oneChange = [message({ kind: "card", seq: 11, card: card("j5000", { job_hash: "sha256:changed" }), arrived: false })];

describe("queue at 10,000 pending", () => {
  bench("a burst of 10,000 arrivals, applied in one pass", () => {
    queueReducer(full, { type: "events", messages: burst, now: 1 });
  });
  bench("one card changed in place", () => {
    queueReducer(full, { type: "events", messages: oneChange, now: 1 });
  });
  bench("filter by text over every card", () => {
    applyFilter(full.cards, { ...NO_FILTER, text: "j9999" });
  });
  bench("facet counts over every card", () => {
    facets(full.cards);
  });
});
