import type { DecisionView } from "../bindings/DecisionView";
import type { Verdict } from "../bindings/Verdict";
import type { BackendError } from "../errors";

/** What a card says about the reviewer's last decision on it. Branches on the backend's `code`. */
export type CardOutcome =
  | { kind: "sending"; action: "approve" | "reject" }
  | { kind: "decided"; decision: DecisionView }
  /** The item is resolved already by someone else: not an error. */
  | { kind: "resolved_elsewhere"; message: string }
  /** Refused locally: the policy, the request or the content changed since it was shown. */
  | { kind: "drift"; verdict: Verdict | null; message: string }
  | { kind: "self_approval"; message: string }
  /** The decision is in the outbox and is re-sent until the gateway answers. */
  | { kind: "retrying"; message: string }
  | { kind: "reauth"; message: string }
  /** Refused before sending by the desk's own guards (confirmation, expiry). */
  | { kind: "blocked"; code: string; message: string }
  | { kind: "failed"; code: string; message: string };

/**
 * The card's sentence for a decision in effect. Once the gateway reports what followed an
 * approval, its line ("approved, dispatched") says it all; a decision made by someone else, or
 * by an earlier attempt, keeps saying so in front of it.
 */
export function decisionSentence(decision: DecisionView): string {
  const after = decision.after_approval?.trim();
  if (!after) return decision.message;
  const line = `${after.charAt(0).toUpperCase()}${after.slice(1)}.`;
  return decision.outcome === "applied" ? line : `${decision.message}. ${line}`;
}

export function outcomeOfError(error: BackendError): CardOutcome {
  switch (error.code) {
    case "drift":
      return { kind: "drift", verdict: asVerdict(error.detail), message: error.message };
    case "conflict":
      return conflictOutcome(error);
    case "not_in_queue":
      return { kind: "resolved_elsewhere", message: error.message };
    case "self_approval_denied":
      return { kind: "self_approval", message: error.message };
    case "outcome_unknown":
    case "applied_not_recorded":
    case "decision_in_flight":
      return { kind: "retrying", message: error.message };
    case "reauth_required":
    case "unauthorized":
      return { kind: "reauth", message: error.message };
    case "confirmation_required":
    case "confirmation_mismatch":
    case "expired":
    case "invalid_input":
    case "card_changed":
    case "just_changed":
    case "content_loading":
    case "session_changed":
      return { kind: "blocked", code: error.code, message: error.message };
    default:
      return { kind: "failed", code: error.code, message: error.message };
  }
}

/** The gateway refused: its own outcome code (the detail) says whether someone else decided. */
function conflictOutcome(error: BackendError): CardOutcome {
  const code = detailCode(error.detail);
  switch (code) {
    case "already_approved":
    case "already_rejected":
      return { kind: "resolved_elsewhere", message: error.message };
    case "stale_snapshot":
    case "stale_request":
      return { kind: "drift", verdict: null, message: error.message };
    default:
      return { kind: "failed", code: code ?? error.code, message: error.message };
  }
}

function detailCode(detail: unknown): string | null {
  if (typeof detail === "object" && detail !== null) {
    const code = (detail as { code?: unknown }).code;
    if (typeof code === "string") return code;
  }
  return null;
}

function asVerdict(detail: unknown): Verdict | null {
  if (typeof detail === "object" && detail !== null && typeof (detail as { code?: unknown }).code === "string") {
    return detail as Verdict;
  }
  return null;
}

/** The verification badge: three levels, from the client's verdicts. */
export type BadgeLevel = "content_verified" | "identity_checked" | "changed" | "unchecked";

export function badgeOf(verdict: Verdict | null | undefined): BadgeLevel {
  if (!verdict) return "unchecked";
  switch (verdict.code) {
    case "content_verified":
      return "content_verified";
    case "identity_checked":
      return "identity_checked";
    case "no_longer_pending":
    case "unverifiable":
      return "unchecked";
    default:
      return "changed";
  }
}

export const BADGE_TEXT: Record<BadgeLevel, string> = {
  content_verified: "Content verified",
  identity_checked: "Identity checked",
  changed: "Changed",
  unchecked: "Not checked yet",
};

/** "What changed, seen vs now" for a drift verdict. */
export function driftLines(verdict: Verdict | null): { label: string; seen: string; now: string }[] {
  if (!verdict) return [];
  switch (verdict.code) {
    case "policy_changed":
      return [{ label: "Policy snapshot", seen: verdict.seen, now: verdict.now }];
    case "request_changed":
      return [{ label: "Job hash", seen: verdict.seen_hash, now: verdict.now_hash }];
    case "content_mismatch":
      return [{ label: "Recomputed hash", seen: verdict.claimed, now: verdict.recomputed }];
    case "request_for_other_job":
      return [{ label: "Request's job", seen: verdict.item_job_id, now: verdict.request_job_id }];
    case "content_changed":
      return verdict.changes.map((change) => ({ label: change.field, seen: change.seen, now: change.now }));
    case "payload_mismatch":
      return [{ label: "Payload pointer", seen: verdict.pointer, now: verdict.why }];
    default:
      return [];
  }
}
