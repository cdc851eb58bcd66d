import type { CardView } from "../bindings/CardView";
import type { DecisionView } from "../bindings/DecisionView";
import type { DetailView } from "../bindings/DetailView";
import type { DraftReview } from "../bindings/DraftReview";
import type { DeskEvent } from "../bindings/DeskEvent";
import type { DeskMessage } from "../bindings/DeskMessage";
import type { QueueSnapshot } from "../bindings/QueueSnapshot";

export function card(id: string, overrides: Partial<CardView["card"]> = {}, extra: Partial<CardView> = {}): CardView {
  const jobHash = overrides.job_hash ?? `sha256:${id}hash00ab12`;
  return {
    card: {
      job_id: id,
      title: `Title ${id}`,
      topic: "customer.notify",
      tenant: "default",
      state: "APPROVAL_REQUIRED",
      decision: "REQUIRE_APPROVAL",
      requester: "agent-support",
      workflow: null,
      rule_id: "rule-1",
      reason: "Needs a human.",
      risk_tags: ["network"],
      constraints: null,
      policy_snapshot: "snap-1",
      job_hash: jobHash,
      approval_revision: 1,
      updated_at: 1_700_000_000_000_000,
      pending: true,
      workflow_gate: false,
      ...overrides,
    },
    seen: {
      job_id: id,
      job_hash: jobHash,
      policy_snapshot: overrides.policy_snapshot ?? "snap-1",
      workflow_gate: false,
      content_digest: `digest-${id}`,
      content: null,
    },
    submitted_by: null,
    constraints: [],
    deadline_ms: null,
    high_risk: false,
    changes: [],
    payload: [],
    content_ready: true,
    changed_at_ms: 0,
    ...extra,
  };
}

export const DESK = 3;

/** The queue at `seq`; `total` more than the cards makes it a first screen only. */
export function snapshot(cards: CardView[], seq = 10, total = cards.length): QueueSnapshot {
  return {
    desk: DESK,
    seq,
    cards,
    total,
    status: { state: "live", offline_since_ms: null, last_sync_ms: 1_700_000_000_000, message: "", generation: "new", complete: true },
  };
}

/** A desk event as the Rust side sends it, from the fixtures' desk unless named. */
export function message(event: DeskEvent, desk = DESK): DeskMessage {
  return { desk, event };
}

export function decision(jobId: string, action: "approve" | "reject", text: string): DecisionView {
  return { job_id: jobId, job_hash: null, action, outcome: "applied", by: null, by_us: null, verdict: null, message: text, mismatch: null, after_approval: null };
}

/** The detail the Rust side builds for `view`: content verified, one earlier reject. */
export function detailOf(view: CardView): DetailView {
  return {
    seen: view.seen,
    verdict: { code: "content_verified" },
    verdict_message: "Content verified",
    payload_text: '{ "amount": 120 }',
    request_text: "",
    labels: [],
    env: [],
    claimed_hash: view.seen.job_hash,
    recomputed_hash: view.seen.job_hash,
    snapshot_seen: view.seen.policy_snapshot,
    snapshot_current: view.seen.policy_snapshot,
    rollback_hint: "",
    prior: [{ job_id: "earlier-1", decision: "reject", resolved_by: "carol", resolved_at: 1_700_000_000_000_000, was_approved: false }],
    preflight: [{ id: "policy_unchanged", label: "Policy unchanged", state: "pass", detail: "" }],
    history: [],
  };
}

/** A ready draft by someone else, verified, against the current policy. */
export function draftReview(overrides: Partial<DraftReview> = {}): DraftReview {
  const snapshot = {
    snapshot_id: "dsn-1",
    draft_id: "drf-1",
    version: 1,
    source_snapshot_hash: "ab",
    base_snapshot: "base",
    author: "policy-bot",
    created_at: "t",
    status: "ready_for_approval" as const,
    ready_for_approval: true,
    blocker_ids: [],
    advisory_ids: [],
    findings: [],
    rule_count: 1,
    yaml: "version: v1",
  };
  return {
    draft: {
      draft_id: "drf-1",
      tenant: "default",
      title: "t",
      author: "policy-bot",
      status: "open",
      created_at: "t",
      updated_at: "t",
      active_snapshot: snapshot,
      snapshots: [],
      approval: null,
      rejection: null,
    },
    binding: { draft_id: "drf-1", snapshot_id: "dsn-1", draft_version: 1, source_snapshot_hash: "ab", base_snapshot: "base", title: "t" },
    text_verified: true,
    diff: null,
    impact: null,
    current_policy: "base",
    base_is_current: true,
    by_you: false,
    problems: [],
    ...overrides,
  };
}
