import { render, screen } from "@testing-library/react";
import { describe, expect, it, vi } from "vitest";
import type { CardView } from "../bindings/CardView";
import { card } from "../test/fixtures";
import { QueueList } from "./QueueList";

const QUEUE = 10_000;

/** The cards, counting every read of one of them by position. */
function countedCards(count: number) {
  const cards = Array.from({ length: count }, (_, n) => card(`job-${String(n)}`));
  const reads = { count: 0 };
  const counted = new Proxy(cards, {
    get(target, property, receiver) {
      if (typeof property === "string" && /^\d+$/.test(property)) reads.count += 1;
      return Reflect.get(target, property, receiver) as unknown;
    },
  });
  return { cards: counted, reads };
}

function list(cards: CardView[], now: number, onApprove = vi.fn()) {
  return (
    <QueueList
      cards={cards}
      now={now}
      currentId={null}
      selected={new Set()}
      verdicts={{}}
      outcomes={{}}
      departed={{}}
      reported={new Set()}
      approveBlocked={() => null}
      onApprove={onApprove}
      onReject={vi.fn()}
      onOpen={vi.fn()}
      onFocus={vi.fn()}
      onToggle={vi.fn()}
    />
  );
}

describe("QueueList at 10,000 cards", () => {
  it("draws only the first screen", () => {
    const { cards } = countedCards(QUEUE);
    render(list(cards, 1));
    const drawn = screen.getAllByTestId("approval-card").length;
    expect(drawn).toBeGreaterThan(0);
    expect(drawn).toBeLessThan(30);
  });

  it("does not walk the whole queue again when it draws again with the same cards", () => {
    // Each scroll step and each clock tick draws the list again; walking 10,000 cards each time
    // cost 20-30 ms per step in the webview.
    const { cards, reads } = countedCards(QUEUE);
    const onApprove = vi.fn();
    const { rerender } = render(list(cards, 1, onApprove));
    reads.count = 0;
    rerender(list(cards, 2, onApprove));
    expect(reads.count).toBeLessThan(200);
    expect(screen.getAllByTestId("approval-card").length).toBeGreaterThan(0);
  });
});
