import { useCallback, useEffect, useState } from "react";
import * as api from "../api";
import type { DraftDecisionView } from "../bindings/DraftDecisionView";
import type { DraftReview } from "../bindings/DraftReview";
import type { PolicyDraft } from "../bindings/PolicyDraft";
import { toBackendError, type BackendError } from "../errors";
import { AgentText } from "./AgentText";
import { DraftReviewPane } from "./DraftReviewPane";

interface PolicyViewProps {
  desk: number;
  drafts: PolicyDraft[];
  error: string | null;
  /** The queue's `draftsVersion`: a draft event re-reads the draft on screen too. */
  version: number;
  /** A draft to open first (a notification's Open). */
  initialDraft: string | null;
  onDecided: () => void;
}

export type DraftOutcome = { kind: "sending"; action: "approve" | "reject" } | { kind: "decided"; view: DraftDecisionView } | { kind: "refused"; error: BackendError };

/** Policy changes awaiting a countersign, and one of them reviewed in full. */
export function PolicyView({ desk, drafts, error, version, initialDraft, onDecided }: PolicyViewProps) {
  const [openId, setOpenId] = useState<string | null>(initialDraft);
  const [review, setReview] = useState<DraftReview | null>(null);
  const [loadError, setLoadError] = useState<string | null>(null);
  const [outcome, setOutcome] = useState<DraftOutcome | null>(null);
  /** When the version on screen last changed under the reviewer (an update arrived). */
  const [movedAt, setMovedAt] = useState(0);

  const load = useCallback((draftId: string) => {
    api.reviewDraft(draftId).then(
      (fresh) => {
        setLoadError(null);
        setReview((shown) => {
          // A new version on screen drops the outcome of the old one, and is read before it
          // can be approved.
          if (shown && shown.binding.snapshot_id !== fresh.binding.snapshot_id) {
            setOutcome(null);
            setMovedAt(Date.now());
          }
          return fresh;
        });
      },
      (rejection: unknown) => {
        setLoadError(toBackendError(rejection).message);
      },
    );
  }, []);

  useEffect(() => {
    if (openId !== null) load(openId);
  }, [openId, version, load]);

  const decide = async (action: "approve" | "reject", reason: string) => {
    if (!review) return;
    setOutcome({ kind: "sending", action });
    try {
      const view = await api.decideDraft({
        desk,
        draft_id: review.binding.draft_id,
        snapshot_id: review.binding.snapshot_id,
        source_snapshot_hash: review.binding.source_snapshot_hash,
        action,
        reason,
      });
      setOutcome({ kind: "decided", view });
      onDecided();
    } catch (rejection: unknown) {
      setOutcome({ kind: "refused", error: toBackendError(rejection) });
    }
    load(review.binding.draft_id);
  };

  const open = drafts.filter((d) => d.status === "open");
  const decided = drafts.filter((d) => d.status !== "open");
  return (
    <div className={openId ? "policy-layout with-detail" : "policy-layout"} data-testid="policy-view">
      <section className="policy-list" aria-labelledby="policy-heading">
        <h2 id="policy-heading" className="policy-heading">
          Policy changes awaiting a countersign
        </h2>
        {error && (
          <p className="form-error" role="alert">
            {error}
          </p>
        )}
        {open.length === 0 && (
          <p className="queue-empty" data-testid="drafts-empty">
            No policy change is waiting. A proposed change appears here; another reviewer than its author approves it.
          </p>
        )}
        <DraftList drafts={open} openId={openId} onOpen={setOpenId} />
        {decided.length > 0 && (
          <>
            <h3 className="detail-heading">Decided</h3>
            <DraftList drafts={decided} openId={openId} onOpen={setOpenId} />
          </>
        )}
      </section>
      {openId && (
        <DraftReviewPane
          review={review?.draft.draft_id === openId ? review : null}
          error={loadError}
          outcome={outcome}
          movedAt={movedAt}
          onClose={() => {
            setOpenId(null);
            setReview(null);
          }}
          onRefresh={() => {
            load(openId);
          }}
          onDecide={(action, reason) => void decide(action, reason)}
        />
      )}
    </div>
  );
}

function DraftList({ drafts, openId, onOpen }: { drafts: PolicyDraft[]; openId: string | null; onOpen: (id: string) => void }) {
  if (drafts.length === 0) return null;
  return (
    <ul className="draft-list">
      {drafts.map((d) => {
        const s = d.active_snapshot;
        return (
          <li key={d.draft_id}>
            <button
              type="button"
              className="draft-row"
              data-testid="draft-row"
              data-draft={d.draft_id}
              data-status={d.status}
              aria-current={openId === d.draft_id ? "true" : undefined}
              onClick={() => {
                onOpen(d.draft_id);
              }}
            >
              <span className="draft-title">
                <AgentText value={d.title} />
              </span>
              <span className="muted">
                v{s.version} · by {d.author}
              </span>
              {d.status !== "open" ? (
                <span className={`state-chip state-${d.status}`}>{d.status}</span>
              ) : s.ready_for_approval ? (
                <span className="state-chip state-ready">ready</span>
              ) : (
                <span className="state-chip state-blocked">{s.blocker_ids.length} blocker(s)</span>
              )}
            </button>
          </li>
        );
      })}
    </ul>
  );
}
