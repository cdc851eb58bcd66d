import type { CardView } from "../bindings/CardView";

/** What a card's drawn height mostly depends on: its lines, not their text. */
function shapeOf(view: CardView): string {
  const c = view.card;
  return [view.payload.length, view.constraints.length, c.risk_tags.length, c.workflow ? 1 : 0, view.changes.length > 0 ? 1 : 0].join(":");
}

/**
 * Estimates the height of cards not drawn yet from cards of the same shape that were. Each
 * card the virtualizer measures at another height than estimated makes it lay out every card
 * after it again (10,000 at the top of the queue); with estimates that are mostly exact,
 * scrolling into undrawn cards rarely does.
 */
export class HeightEstimator {
  private readonly byShape = new Map<string, number>();

  constructor(private readonly fallback: number) {}

  estimate(view: CardView | undefined): number {
    return (view && this.byShape.get(shapeOf(view))) ?? this.fallback;
  }

  record(view: CardView | undefined, height: number): void {
    if (view && height > 0) this.byShape.set(shapeOf(view), height);
  }
}
