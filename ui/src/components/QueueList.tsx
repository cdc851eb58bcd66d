import { measureElement, useVirtualizer } from "@tanstack/react-virtual";
import { useCallback, useEffect, useLayoutEffect, useRef, useState } from "react";
import type { CardView } from "../bindings/CardView";
import type { Verdict } from "../bindings/Verdict";
import type { CardOutcome } from "../model/outcome";
import { HeightEstimator } from "../model/heights";
import { type Placement, trackMoves } from "../model/moves";
import { cardKey, type Departure } from "../model/queue";
import { Card } from "./Card";

interface QueueListProps {
  cards: CardView[];
  now: number;
  currentId: string | null;
  selected: ReadonlySet<string>;
  verdicts: Record<string, Verdict | undefined>;
  outcomes: Record<string, CardOutcome | undefined>;
  departed: Record<string, Departure | undefined>;
  /** Requesters reported from a notification. */
  reported: ReadonlySet<string>;
  approveBlocked: (view: CardView) => string | null;
  /** `movedAt`: when the card last moved on the page (0: not since it was drawn). */
  onApprove: (view: CardView, byPointer: boolean, movedAt: number) => void;
  onReject: (view: CardView) => void;
  onOpen: (view: CardView) => void;
  onFocus: (view: CardView) => void;
  onToggle: (view: CardView) => void;
}

const ESTIMATED_CARD_PX = 150;

/** The queue, virtualized: only the cards in view are in the DOM, so 10,000 stay smooth. */
export function QueueList(props: QueueListProps) {
  const { cards, currentId } = props;
  const scrollRef = useRef<HTMLDivElement>(null);
  // A new key function makes the virtualizer lay out every card again: with 10,000 that cost
  // 20-30 ms on each scroll step and clock tick, so it changes only with the cards.
  const getItemKey = useCallback((index: number) => cards[index]?.card.job_id ?? index, [cards]);
  const [heights] = useState(() => new HeightEstimator(ESTIMATED_CARD_PX));
  // eslint-disable-next-line react-hooks/incompatible-library -- the virtualizer is used as documented
  const virtualizer = useVirtualizer({
    count: cards.length,
    getScrollElement: () => scrollRef.current,
    estimateSize: (index) => heights.estimate(cards[index]),
    measureElement: (element, entry, instance) => {
      const height = measureElement(element, entry, instance);
      heights.record(cards[instance.indexFromElement(element)], height);
      return height;
    },
    overscan: 6,
    getItemKey,
    // Without layout (tests, first paint) still render the first screen.
    initialRect: { width: 480, height: 900 },
  });

  // Where each drawn card sits on the page (the list's own top plus its offset in the list, so
  // the reviewer's scrolling does not count), checked after every render.
  const placements = useRef<Map<string, Placement>>(new Map());
  useLayoutEffect(() => {
    const top = scrollRef.current?.getBoundingClientRect().top ?? 0;
    const rows = virtualizer.getVirtualItems();
    placements.current = trackMoves(
      placements.current,
      rows.flatMap((row) => {
        const id = cards[row.index]?.card.job_id;
        return id === undefined ? [] : [[id, top + row.start] as const];
      }),
      Date.now(),
    );
  });
  // Stable, so the drawn cards (memoized) are not drawn again at every scroll step.
  const approve = props.onApprove;
  const onApprove = useCallback(
    (view: CardView, byPointer: boolean) => {
      approve(view, byPointer, placements.current.get(view.card.job_id)?.since ?? 0);
    },
    [approve],
  );

  const currentIndex = currentId === null ? -1 : cards.findIndex((c) => c.card.job_id === currentId);
  useEffect(() => {
    if (currentIndex >= 0) virtualizer.scrollToIndex(currentIndex, { align: "auto" });
  }, [currentIndex, virtualizer]);

  return (
    <div ref={scrollRef} className="queue-scroll" data-testid="queue-scroll">
      <ol className="queue-list" aria-label="Pending approvals" style={{ height: `${String(virtualizer.getTotalSize())}px` }}>
        {virtualizer.getVirtualItems().map((row) => {
          const view = cards[row.index];
          if (!view) return null;
          const id = view.card.job_id;
          return (
            <li
              key={row.key}
              data-index={row.index}
              ref={virtualizer.measureElement}
              className="queue-row"
              style={{ transform: `translateY(${String(row.start)}px)` }}
            >
              <Card
                view={view}
                now={props.now}
                current={id === currentId}
                selected={props.selected.has(id)}
                verdict={props.verdicts[`${cardKey(view)}:${view.seen.content_digest}`]}
                outcome={props.outcomes[cardKey(view)]}
                departed={props.departed[id]}
                reported={props.reported.has(view.submitted_by ?? view.card.requester)}
                approveBlocked={props.approveBlocked(view)}
                onApprove={onApprove}
                onReject={props.onReject}
                onOpen={props.onOpen}
                onFocus={props.onFocus}
                onToggle={props.onToggle}
              />
            </li>
          );
        })}
      </ol>
    </div>
  );
}
