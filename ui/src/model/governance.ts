import type { DraftReview } from "../bindings/DraftReview";
import type { BackendError } from "../errors";

/**
 * Why the draft on screen cannot be approved from here, or `null` when it can. The gateway
 * refuses every one of these too; saying so first keeps the button honest.
 */
export function approveBlocked(review: DraftReview): string | null {
  const { draft, text_verified, base_is_current, by_you } = review;
  const snapshot = draft.active_snapshot;
  if (draft.status === "approved") return "This draft was approved.";
  if (draft.status === "rejected") return "This draft was rejected.";
  if (!text_verified) return "The policy text does not match its snapshot's hash.";
  if (!snapshot.ready_for_approval || snapshot.blocker_ids.length > 0) return "This version has blockers: it cannot be approved.";
  if (base_is_current === false) return "A new policy was published since this draft was written: it must be proposed again.";
  if (by_you === true) return "You wrote this draft: another reviewer must countersign it.";
  return null;
}

/** Why the draft on screen cannot be rejected from here, or `null`. */
export function rejectBlocked(review: DraftReview): string | null {
  if (review.draft.status !== "open") return "This draft was already decided.";
  if (review.by_you === true) return "You wrote this draft: another reviewer decides it.";
  return null;
}

const REFUSALS: Record<string, string> = {
  stale_lineage: "The draft changed since you opened it: the new version is shown now. Review it, then decide again.",
  stale_base: "A new policy was published since this draft was written: it must be proposed again against the current policy.",
  source_hash_mismatch: "The policy text is not the one you saw (its hash differs): nothing was approved.",
  not_ready_for_approval: "This version has blockers and cannot be approved.",
  self_approval_denied: "You wrote this draft: another reviewer must countersign it.",
  draft_closed: "This draft was decided meanwhile.",
  draft_not_found: "The gateway no longer has this draft.",
  card_changed: "This is not the version last reviewed here: it was shown again. Review it, then decide.",
  decision_in_flight: "A decision on this draft is still being sent; it finishes by itself.",
  outcome_unknown: "The gateway did not answer yet; the decision is kept and re-sent until it does.",
};

/** The sentence for a refused governance decision, by its stable code. */
export function refusalSentence(error: BackendError): string {
  return REFUSALS[error.code] ?? error.message;
}
