import type { CardView } from "../bindings/CardView";
import type { DetailView } from "../bindings/DetailView";
import type { HistoryEntry } from "../bindings/HistoryEntry";
import type { PriorApproval } from "../bindings/PriorApproval";
import { clock } from "../format";
import { VerificationBadge } from "./Badge";
import { RiskTags } from "./RiskTags";

interface DetailPaneProps {
  view: CardView;
  detail: DetailView | null;
  error: string | null;
  loading: boolean;
  onClose: () => void;
  onRefresh: () => void;
}

const CHECK_MARK = { pass: "✓", fail: "✗", unknown: "?" } as const;

/** The whole item, fetched fresh, and the preflight checklist that explains an approve's fate. */
export function DetailPane({ view, detail, error, loading, onClose, onRefresh }: DetailPaneProps) {
  const c = view.card;
  const hashesAgree = detail?.recomputed_hash != null && detail.recomputed_hash === detail.claimed_hash;
  return (
    <section className="detail" aria-labelledby="detail-title" data-testid="detail">
      <header className="detail-head">
        <button type="button" className="button" onClick={onClose} aria-label="Back to the queue (Esc)">
          ← Queue
        </button>
        <h2 id="detail-title" className="detail-title">
          {c.title}
        </h2>
        <VerificationBadge verdict={detail?.verdict} />
        <button type="button" className="button" onClick={onRefresh} disabled={loading}>
          {loading ? "Checking…" : "Check again"}
        </button>
      </header>
      {error && (
        <p className="form-error" role="alert">
          {error}
        </p>
      )}
      <RiskTags tags={c.risk_tags} />
      {detail && (
        <>
          <h3 className="detail-heading">Preflight</h3>
          <ul className="preflight" aria-label="Preflight checklist" data-testid="preflight">
            {detail.preflight.map((check) => (
              <li key={check.id} className={`check check-${check.state}`} data-check={check.id} data-state={check.state}>
                <span className="check-mark" aria-hidden="true">
                  {CHECK_MARK[check.state]}
                </span>
                <span className="check-label">{check.label}</span>
                <span className="visually-hidden">{`: ${check.state}`}</span>
                {check.detail && <span className="check-detail"> — {check.detail}</span>}
              </li>
            ))}
          </ul>
          <p className="verdict-message" data-testid="verdict-message">
            {detail.verdict_message}
          </p>
          <h3 className="detail-heading">Identity</h3>
          <dl className="facts">
            <div>
              <dt>Claimed job hash</dt>
              <dd>
                <code>{detail.claimed_hash || "—"}</code>
              </dd>
            </div>
            <div>
              <dt>Recomputed here</dt>
              <dd data-testid="recomputed-hash" data-agrees={hashesAgree ? "true" : "false"}>
                <code>{detail.recomputed_hash ?? "not recomputable: the gateway does not serve the request"}</code>
              </dd>
            </div>
            <div>
              <dt>Policy seen</dt>
              <dd>
                <code>{detail.snapshot_seen}</code>
              </dd>
            </div>
            <div>
              <dt>Policy now</dt>
              <dd>
                <code>{detail.snapshot_current ?? "unknown"}</code>
              </dd>
            </div>
            {detail.rollback_hint && (
              <div>
                <dt>Rollback</dt>
                <dd>{detail.rollback_hint}</dd>
              </div>
            )}
          </dl>
          <h3 className="detail-heading">Payload</h3>
          <pre className="code-block" data-testid="payload">
            {detail.payload_text || "(none)"}
          </pre>
          {detail.labels.length > 0 && <FactList title="Labels" facts={detail.labels} />}
          {detail.env.length > 0 && <FactList title="Environment (secret-looking values masked)" facts={detail.env} />}
          <details className="request-details">
            <summary>Full request as the gateway serves it</summary>
            <pre className="code-block">{detail.request_text || "This gateway does not serve the full request."}</pre>
          </details>
          <h3 className="detail-heading">Earlier decisions on {c.topic}</h3>
          <PriorList prior={detail.prior} />
          <h3 className="detail-heading">Local history of this item</h3>
          <ItemHistory entries={detail.history} />
        </>
      )}
    </section>
  );
}

function FactList({ title, facts }: { title: string; facts: DetailView["labels"] }) {
  return (
    <>
      <h3 className="detail-heading">{title}</h3>
      <dl className="facts">
        {facts.map((fact) => (
          <div key={fact.key}>
            <dt>{fact.key}</dt>
            <dd>{fact.value}</dd>
          </div>
        ))}
      </dl>
    </>
  );
}

function PriorList({ prior }: { prior: PriorApproval[] }) {
  if (prior.length === 0) return <p className="muted">None listed by the gateway.</p>;
  return (
    <ol className="item-history" data-testid="prior-decisions">
      {prior.map((p) => (
        <li key={p.job_id}>
          <span className={p.was_approved ? "prior-approved" : "prior-rejected"}>{p.was_approved ? "Approved" : "Rejected"}</span>
          {p.resolved_by && ` by ${p.resolved_by}`}
          {p.resolved_at !== null && <span className="muted"> · {clock(Math.floor(p.resolved_at / 1000))}</span>}
          <span className="muted"> · {p.job_id}</span>
        </li>
      ))}
    </ol>
  );
}

function ItemHistory({ entries }: { entries: HistoryEntry[] }) {
  if (entries.length === 0) return <p className="muted">Nothing recorded yet.</p>;
  return (
    <ol className="item-history">
      {entries.map((entry) => (
        <li key={entry.seq}>
          <span className="muted">{clock(entry.recorded_at_ms)}</span> {entry.kind.replaceAll("_", " ")}
          {entry.decision && ` · ${entry.decision}`}
          {entry.outcome && ` · ${entry.outcome}`}
        </li>
      ))}
    </ol>
  );
}
