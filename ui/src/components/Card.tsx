import { memo } from "react";
import type { CardView } from "../bindings/CardView";
import type { Verdict } from "../bindings/Verdict";
import { age, hashWithTail, shortenHash, timeLeft } from "../format";
import type { CardOutcome } from "../model/outcome";
import type { Departure } from "../model/queue";
import { AgentName, AgentText } from "./AgentText";
import { VerificationBadge } from "./Badge";
import { OutcomeLine } from "./OutcomeLine";
import { RiskTags } from "./RiskTags";

export interface CardProps {
  view: CardView;
  now: number;
  current: boolean;
  selected: boolean;
  verdict: Verdict | null | undefined;
  outcome: CardOutcome | undefined;
  departed: Departure | undefined;
  /** The reviewer reported this requester from a notification. */
  reported: boolean;
  /** Why approving is impossible right now (offline, expired...), or null. */
  approveBlocked: string | null;
  /** `byPointer`: a mouse click, which the misclick guard also checks against list moves. */
  onApprove: (view: CardView, byPointer: boolean) => void;
  onReject: (view: CardView) => void;
  onOpen: (view: CardView) => void;
  onFocus: (view: CardView) => void;
  onToggle: (view: CardView) => void;
}

/** One compact approval card: everything a reviewer needs to decide at a glance. */
export const Card = memo(function Card(props: CardProps) {
  const { view, now, current, selected, verdict, outcome, departed, approveBlocked } = props;
  const c = view.card;
  const workflow = c.workflow;
  const expired = view.deadline_ms !== null && view.deadline_ms <= now;
  const busy = outcome?.kind === "sending" || outcome?.kind === "decided";
  const changed = view.changes.length > 0;
  const updatedMs = c.updated_at === null ? null : Math.floor(c.updated_at / 1000);
  return (
    <article
      className={["card", current && "card-current", selected && "card-selected", departed && "card-departed", view.high_risk && "card-high-risk"]
        .filter(Boolean)
        .join(" ")}
      data-testid="approval-card"
      data-job-id={c.job_id}
      aria-label={`Approval: ${c.title}`}
      aria-current={current ? "true" : undefined}
      onClick={() => {
        props.onFocus(view);
      }}
      onDoubleClick={() => {
        props.onOpen(view);
      }}
    >
      <header className="card-head">
        <input
          type="checkbox"
          className="card-select"
          checked={selected}
          aria-label={`Select ${c.title}`}
          onChange={() => {
            props.onToggle(view);
          }}
          onClick={(e) => {
            e.stopPropagation();
          }}
        />
        <h3 className="card-title">
          <AgentText value={c.title} />
        </h3>
        {props.reported && (
          <span className="changed-mark reported-mark" data-testid="reported-mark" title="You reported this requester from a notification">
            reported
          </span>
        )}
        {changed && (
          <span className="changed-mark" data-testid="changed-mark" title={`Changed: ${view.changes.join(", ")}`}>
            changed
          </span>
        )}
        <VerificationBadge verdict={verdict} />
      </header>
      <p className="card-who">
        <span className="card-requester">{c.requester ? <AgentName value={c.requester} /> : "unknown requester"}</span>
        {/* The engine's requester already names a differing submitter; say it only once. */}
        {view.submitted_by && !c.requester.includes("(submitted by") && (
          <span className="card-submitter">
            {" "}
            (submitted by <AgentName value={view.submitted_by} />)
          </span>
        )}
        {workflow && (
          <span className="card-workflow">
            {" · "}
            <AgentText value={workflow.name || workflow.id} />
            {workflow.run_id && <AgentText value={` ${workflow.run_id}`} />}
            {(workflow.step_name || workflow.step_id) && <AgentText value={` / ${workflow.step_name || workflow.step_id}`} />}
          </span>
        )}
        <span className="card-topic">
          {" · "}
          <AgentName value={c.topic} />
        </span>
      </p>
      <p className="card-rule">
        <code className="card-rule-id">{c.rule_id || "no rule"}</code> <AgentText value={c.reason} />
      </p>
      <RiskTags tags={c.risk_tags} />
      {view.payload.length > 0 && (
        <dl className="card-constraints card-payload" aria-label="Payload" data-testid="card-payload">
          {view.payload.map((fact, index) => (
            // Keys by position: a hostile payload can repeat a flattened key.
            <div key={`${String(index)}:${fact.key}`}>
              <dt>
                <AgentText value={fact.key} />
              </dt>
              <dd>
                <AgentText value={fact.value} />
              </dd>
            </div>
          ))}
        </dl>
      )}
      {view.constraints.length > 0 && (
        <dl className="card-constraints" aria-label="Constraints">
          {view.constraints.map((fact, index) => (
            <div key={`${String(index)}:${fact.key}`}>
              <dt>{fact.key}</dt>
              <dd>{fact.value}</dd>
            </div>
          ))}
        </dl>
      )}
      <footer className="card-foot">
        <span className="card-meta">
          {updatedMs !== null && <span title={new Date(updatedMs).toISOString()}>{age(updatedMs, now)} ago</span>}
          {view.deadline_ms !== null && (
            <span className={expired ? "deadline deadline-expired" : "deadline"} data-testid="deadline">
              {timeLeft(view.deadline_ms, now)}
            </span>
          )}
          <span title={`Policy snapshot ${c.policy_snapshot}`}>policy {shortenHash(c.policy_snapshot)}</span>
          <code className="card-hash" title={c.job_hash} data-testid="card-hash">
            {hashWithTail(c.job_hash).head}
            <strong className="hash-tail">{hashWithTail(c.job_hash).tail}</strong>
          </code>
        </span>
        {departed ? (
          <span className="departed" role="status" data-testid="departed">
            {departed.status ? `${departed.status} ` : "resolved "}
            {departed.by ? `by ${departed.by}` : "elsewhere"}
          </span>
        ) : (
          <span className="card-actions">
            <button
              type="button"
              className="button button-approve"
              disabled={busy || approveBlocked !== null}
              title={approveBlocked ?? (view.high_risk ? "High risk: you will type the job hash's last 4 characters" : "Approve (a)")}
              onClick={(e) => {
                e.stopPropagation();
                // A click without a pointer position is a keyboard activation of the button.
                props.onApprove(view, e.detail > 0);
              }}
            >
              Approve
            </button>
            <button
              type="button"
              className="button button-reject"
              disabled={busy}
              title="Reject (r)"
              onClick={(e) => {
                e.stopPropagation();
                props.onReject(view);
              }}
            >
              Reject
            </button>
          </span>
        )}
      </footer>
      {outcome && <OutcomeLine outcome={outcome} onReviewAgain={() => { props.onOpen(view); }} />}
    </article>
  );
});
