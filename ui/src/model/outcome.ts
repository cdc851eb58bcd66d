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

export function outcomeOfError(error: BackendError): CardOutcome {
  switch (error.code) {
    case "drift":
      return { kind: "drift", verdict: asVerdict(error.detail), message: error.message };
    case "conflict":
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
      return { kind: "blocked", code: error.code, message: error.message };
    default:
      return { kind: "failed", code: error.code, message: error.message };
  }
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
  if (verdict.code === "verified") return verdict.hash_recomputed ? "content_verified" : "identity_checked";
  if (verdict.code === "no_longer_pending" || verdict.code === "unverifiable") return "unchecked";
  return "changed";
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
    default:
      return [];
  }
}
