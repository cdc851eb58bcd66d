import { useVirtualizer } from "@tanstack/react-virtual";
import { useEffect, useRef } from "react";
import type { CardView } from "../bindings/CardView";
import type { Verdict } from "../bindings/Verdict";
import type { CardOutcome } from "../model/outcome";
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
  approveBlocked: (view: CardView) => string | null;
  onApprove: (view: CardView, byPointer: boolean) => void;
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
  // eslint-disable-next-line react-hooks/incompatible-library -- the virtualizer is used as documented
  const virtualizer = useVirtualizer({
    count: cards.length,
    getScrollElement: () => scrollRef.current,
    estimateSize: () => ESTIMATED_CARD_PX,
    overscan: 6,
    getItemKey: (index) => cards[index]?.card.job_id ?? index,
    // Without layout (tests, first paint) still render the first screen.
    initialRect: { width: 480, height: 900 },
  });

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
                approveBlocked={props.approveBlocked(view)}
                onApprove={props.onApprove}
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
