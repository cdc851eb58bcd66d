/** Where a card was last seen on the page, and since when it has been there. */
export interface Placement {
  y: number;
  since: number;
}

/**
 * Records where each card is now (page position, ignoring the reviewer's own scrolling) and
 * keeps, per card, when it last moved. A card that moved under the pointer a moment ago may not
 * be the one the reviewer aimed at: a notice appeared above it, a card above grew, the detail
 * pane opened.
 */
export function trackMoves(
  known: ReadonlyMap<string, Placement>,
  positions: Iterable<readonly [string, number]>,
  now: number,
): Map<string, Placement> {
  const next = new Map<string, Placement>();
  for (const [id, y] of positions) {
    const before = known.get(id);
    // A card rendered for the first time has not moved as far as anyone could see.
    next.set(id, before && Math.abs(before.y - y) < 1 ? before : { y, since: before ? now : 0 });
  }
  return next;
}
