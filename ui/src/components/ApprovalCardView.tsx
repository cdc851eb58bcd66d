import type { ApprovalCard } from "../bindings/ApprovalCard";
import { shortenHash } from "../format";

interface ApprovalCardViewProps {
  card: ApprovalCard;
}

export function ApprovalCardView({ card }: ApprovalCardViewProps) {
  // A repeated tag adds nothing and would collide as a React key.
  const riskTags = [...new Set(card.risk_tags)];
  return (
    <article className="approval-card" data-testid="approval-card" aria-label={`Approval request: ${card.topic}`}>
      <div className="approval-card-heading">
        <h3 className="approval-card-topic agent-text">{card.topic}</h3>
        <code className="approval-card-hash" title={card.job_hash}>
          {shortenHash(card.job_hash)}
        </code>
      </div>
      <dl className="approval-card-facts">
        <div>
          <dt>Requester</dt>
          <dd className="agent-text">{card.requester}</dd>
        </div>
        <div>
          <dt>Rule</dt>
          <dd className="agent-text">{card.rule_id}</dd>
        </div>
        <div>
          <dt>Reason</dt>
          <dd className="agent-text">{card.reason}</dd>
        </div>
      </dl>
      {riskTags.length > 0 && (
        <ul className="risk-tags" aria-label="Risk tags">
          {riskTags.map((tag) => (
            <li key={tag} className="risk-tag agent-text">
              {tag}
            </li>
          ))}
        </ul>
      )}
    </article>
  );
}
