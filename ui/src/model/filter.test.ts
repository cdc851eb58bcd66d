import { describe, expect, it } from "vitest";
import { card } from "../test/fixtures";
import { applyFilter, facets, NO_FILTER } from "./filter";

const cards = [
  card("a", { topic: "finance.payment.execute", risk_tags: ["finance", "write"], requester: "agent-billing", title: "Pay Globex" }),
  card("b", { topic: "customer.notify", risk_tags: ["network"], requester: "agent-support" }),
  card("c", { topic: "finance.payment.execute", risk_tags: ["finance", "finance"], requester: "agent-billing" }),
];

describe("filters", () => {
  it("combine text, topic, tag and requester", () => {
    expect(applyFilter(cards, NO_FILTER)).toHaveLength(3);
    expect(applyFilter(cards, { ...NO_FILTER, text: "GLOBEX" }).map((c) => c.card.job_id)).toEqual(["a"]);
    expect(applyFilter(cards, { ...NO_FILTER, tag: "finance", requester: "agent-billing" })).toHaveLength(2);
    expect(applyFilter(cards, { ...NO_FILTER, topic: "customer.notify", tag: "finance" })).toHaveLength(0);
  });

  it("count each facet once per card, most frequent first", () => {
    const got = facets(cards);
    expect(got.tags).toEqual([
      { value: "finance", count: 2 },
      { value: "network", count: 1 },
      { value: "write", count: 1 },
    ]);
    expect(got.topics[0]).toEqual({ value: "finance.payment.execute", count: 2 });
  });
});
