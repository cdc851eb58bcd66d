import type { ApprovalCard } from "../bindings/ApprovalCard";
import { ApprovalCardView } from "./ApprovalCardView";

interface QueueProps {
  items: readonly ApprovalCard[];
}

export function Queue({ items }: QueueProps) {
  return (
    <section className="queue" data-testid="queue" aria-labelledby="queue-heading">
      <h2 id="queue-heading" className="queue-heading">
        Pending approvals
        {items.length > 0 && <span className="queue-count">{items.length}</span>}
      </h2>
      {items.length === 0 ? (
        <p className="queue-empty" data-testid="queue-empty">
          No approvals waiting. New requests appear here and as desktop notifications.
        </p>
      ) : (
        <ul className="queue-list">
          {items.map((card) => (
            <li key={card.job_id}>
              <ApprovalCardView card={card} />
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}
