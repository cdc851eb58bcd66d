import { useEffect, useState } from "react";
import type { DraftReview } from "../bindings/DraftReview";
import type { Finding } from "../bindings/Finding";
import { approveBlocked, refusalSentence, rejectBlocked } from "../model/governance";
import { AgentName, AgentText } from "./AgentText";
import { ImpactView, PolicyDiffView } from "./PolicyDiffView";
import type { DraftOutcome } from "./PolicyView";
import { ReasonDialog } from "./ReasonDialog";

interface DraftReviewPaneProps {
  review: DraftReview | null;
  error: string | null;
  outcome: DraftOutcome | null;
  /** When the version on screen changed under the reviewer (0: never). */
  movedAt: number;
  onClose: () => void;
  onRefresh: () => void;
  onDecide: (action: "approve" | "reject", reason: string) => void;
}

/** One policy draft in full, with Approve and Reject bound to the snapshot shown. */
/** How long a version that just replaced the one on screen cannot be approved: long enough
 * that a click aimed at the old version does not approve the new one. */
export const DRAFT_SETTLE_MS = 1500;

export function DraftReviewPane({ review, error, outcome, movedAt, onClose, onRefresh, onDecide }: DraftReviewPaneProps) {
  const [rejecting, setRejecting] = useState(false);
  const [rationale, setRationale] = useState("");
  const [settled, setSettled] = useState(true);
  useEffect(() => {
    if (movedAt === 0) return;
    const left = movedAt + DRAFT_SETTLE_MS - Date.now();
    const start = setTimeout(() => {
      setSettled(left <= 0);
    }, 0);
    const end = setTimeout(() => {
      setSettled(true);
    }, Math.max(0, left));
    return () => {
      clearTimeout(start);
      clearTimeout(end);
    };
  }, [movedAt]);
  if (!review) {
    return (
      <section className="detail" data-testid="draft-review" aria-busy="true">
        <button type="button" className="button" onClick={onClose}>
          ← Drafts
        </button>
        {error ? (
          <p className="form-error" role="alert">
            {error}
          </p>
        ) : (
          <p className="muted">Loading the draft…</p>
        )}
      </section>
    );
  }
  const { draft, binding } = review;
  const snapshot = draft.active_snapshot;
  const sending = outcome?.kind === "sending";
  const noApprove = settled ? approveBlocked(review) : "This draft just changed: read the new version, then approve.";
  const noReject = rejectBlocked(review);
  const blockers = snapshot.findings.filter((f) => f.severity === "blocker");
  const advisories = snapshot.findings.filter((f) => f.severity === "advisory");
  return (
    <section className="detail" aria-labelledby="draft-title" data-testid="draft-review" data-snapshot={binding.snapshot_id}>
      <header className="detail-head">
        <button type="button" className="button" onClick={onClose} aria-label="Back to the drafts (Esc)">
          ← Drafts
        </button>
        <h2 id="draft-title" className="detail-title" data-testid="draft-title">
          <AgentText value={draft.title} />
        </h2>
        <button type="button" className="button" onClick={onRefresh} disabled={sending}>
          Refresh
        </button>
      </header>
      <dl className="facts">
        <dt>Proposed by</dt>
        <dd>
          <AgentName value={draft.author} />
        </dd>
        <dt>Version</dt>
        <dd data-testid="draft-version">
          {snapshot.version} of {Math.max(snapshot.version, draft.snapshots.length)} · {draft.status}
        </dd>
        <dt>Snapshot</dt>
        <dd className="mono">{snapshot.snapshot_id}</dd>
        <dt>Source SHA-256</dt>
        <dd className="mono hash" data-testid="draft-hash" data-verified={review.text_verified ? "true" : "false"}>
          {snapshot.source_snapshot_hash} {review.text_verified ? "✓ matches the text below" : "✗ does not match the text served"}
        </dd>
        <dt>Written against</dt>
        <dd className="mono">
          {snapshot.base_snapshot.slice(0, 16)}…{" "}
          {review.base_is_current === true && <span className="muted">(the current policy)</span>}
          {review.base_is_current === false && <strong className="form-error">(no longer the current policy)</strong>}
        </dd>
      </dl>
      {review.problems.map((problem) => (
        <p key={problem} className="notice notice-stale" role="status">
          {problem}
        </p>
      ))}
      <FindingList title="Blockers" kind="blocker" findings={blockers} />
      <FindingList title="Advisories" kind="advisory" findings={advisories} />
      <h3 className="detail-heading">Changes against the current policy</h3>
      {review.diff ? <PolicyDiffView diff={review.diff} /> : <p className="muted">The diff is not available.</p>}
      <h3 className="detail-heading">Impact on pending approvals</h3>
      {review.impact ? <ImpactView impact={review.impact} /> : <p className="muted">The impact is not available.</p>}
      <details className="request-details">
        <summary>Policy text (YAML)</summary>
        <pre className="code-block" data-testid="draft-yaml">
          {review.text_verified ? snapshot.yaml : "Not shown: the text served does not hash to this snapshot's source hash."}
        </pre>
      </details>
      {draft.status === "open" && (
        <div className="draft-actions">
          <label htmlFor="draft-rationale">Rationale (optional, recorded with the approval)</label>
          <input
            id="draft-rationale"
            autoComplete="off"
            maxLength={512}
            value={rationale}
            onChange={(e) => {
              setRationale(e.target.value);
            }}
          />
          <div className="card-actions">
            <button
              type="button"
              className="button button-approve"
              data-testid="draft-approve"
              disabled={noApprove !== null || sending}
              title={noApprove ?? `Approve version ${String(snapshot.version)} (snapshot ${snapshot.snapshot_id})`}
              onClick={() => {
                onDecide("approve", rationale.trim());
              }}
            >
              Approve version {snapshot.version}
            </button>
            <button
              type="button"
              className="button button-reject"
              data-testid="draft-reject"
              disabled={noReject !== null || sending}
              title={noReject ?? undefined}
              onClick={() => {
                setRejecting(true);
              }}
            >
              Reject
            </button>
          </div>
          {noApprove && (
            <p className="muted" data-testid="draft-approve-blocked">
              {noApprove}
            </p>
          )}
        </div>
      )}
      <DraftOutcomeLine outcome={outcome} />
      {draft.approval && (
        <p className="notice" data-testid="draft-approval">
          Approved by {draft.approval.actor} ({draft.approval.channel}) at version {draft.approval.draft_version}
          {draft.approval.rationale ? `: “${draft.approval.rationale}”` : ""}.
        </p>
      )}
      {draft.rejection && (
        <p className="notice" data-testid="draft-rejection">
          Rejected by {draft.rejection.actor} ({draft.rejection.channel}): “{draft.rejection.reason}”.
        </p>
      )}
      {rejecting && (
        <ReasonDialog
          count={1}
          title={draft.title}
          onClose={() => {
            setRejecting(false);
          }}
          onSubmit={(reason) => {
            setRejecting(false);
            onDecide("reject", reason);
          }}
        />
      )}
    </section>
  );
}

function FindingList({ title, kind, findings }: { title: string; kind: "blocker" | "advisory"; findings: Finding[] }) {
  if (findings.length === 0) return null;
  return (
    <>
      <h3 className="detail-heading">{title}</h3>
      <ul className={`findings findings-${kind}`} data-testid={kind === "blocker" ? "blockers" : "advisories"}>
        {findings.map((f) => (
          <li key={f.id} data-finding={f.id}>
            <span className="mono">{f.id}</span> — <AgentText value={f.message} />
          </li>
        ))}
      </ul>
    </>
  );
}

function DraftOutcomeLine({ outcome }: { outcome: DraftOutcome | null }) {
  if (!outcome) return null;
  if (outcome.kind === "sending") {
    return (
      <p className="outcome" role="status" data-testid="draft-outcome" data-state="sending">
        {outcome.action === "approve" ? "Approving…" : "Rejecting…"}
      </p>
    );
  }
  if (outcome.kind === "decided") {
    return (
      <p className="outcome outcome-done" role="status" data-testid="draft-outcome" data-state="decided" data-code={outcome.view.code}>
        {outcome.view.message}
      </p>
    );
  }
  return (
    <p className="outcome outcome-refused" role="alert" data-testid="draft-outcome" data-state="refused" data-code={outcome.error.code}>
      {refusalSentence(outcome.error)} <span className="muted">The decision did not take effect.</span>
    </p>
  );
}
