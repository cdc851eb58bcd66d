import { describe, expect, it } from "vitest";
import { decision } from "../test/fixtures";
import { badgeOf, decisionSentence, driftLines, outcomeOfError } from "./outcome";

describe("decisionSentence", () => {
  it("says what followed an approval once the gateway reports it", () => {
    const approved = decision("a", "approve", "Approved");
    expect(decisionSentence(approved)).toBe("Approved");
    expect(decisionSentence({ ...approved, after_approval: "approved, dispatched" })).toBe("Approved, dispatched.");
    const elsewhere = { ...approved, outcome: "already_applied", message: "Approved already, by bob", after_approval: "approval re-opened: the policy changed before dispatch" };
    expect(decisionSentence(elsewhere)).toBe("Approved already, by bob. Approval re-opened: the policy changed before dispatch.");
    expect(decisionSentence({ ...approved, after_approval: "  " })).toBe("Approved");
  });
});

describe("outcomeOfError", () => {
  it("branches on the backend's stable code", () => {
    const verdict = { code: "policy_changed", seen: "s1", now: "s2" };
    expect(outcomeOfError({ code: "drift", message: "m", detail: verdict })).toEqual({ kind: "drift", verdict, message: "m" });
    expect(outcomeOfError({ code: "drift", message: "m", detail: "junk" })).toEqual({ kind: "drift", verdict: null, message: "m" });
    expect(outcomeOfError({ code: "conflict", message: "m", detail: { code: "already_approved" } }).kind).toBe("resolved_elsewhere");
    expect(outcomeOfError({ code: "conflict", message: "m", detail: { code: "stale_snapshot" } }).kind).toBe("drift");
    expect(outcomeOfError({ code: "conflict", message: "m", detail: { code: "not_actionable" } })).toEqual({ kind: "failed", code: "not_actionable", message: "m" });
    expect(outcomeOfError({ code: "card_changed", message: "m" }).kind).toBe("blocked");
    expect(outcomeOfError({ code: "self_approval_denied", message: "m" }).kind).toBe("self_approval");
    expect(outcomeOfError({ code: "outcome_unknown", message: "m" }).kind).toBe("retrying");
    expect(outcomeOfError({ code: "reauth_required", message: "m" }).kind).toBe("reauth");
    expect(outcomeOfError({ code: "confirmation_mismatch", message: "m" })).toEqual({ kind: "blocked", code: "confirmation_mismatch", message: "m" });
    expect(outcomeOfError({ code: "network", message: "m" })).toEqual({ kind: "failed", code: "network", message: "m" });
  });
});

describe("badgeOf", () => {
  it("has three levels from the verdicts, and says when nothing was checked", () => {
    expect(badgeOf({ code: "content_verified" })).toBe("content_verified");
    expect(badgeOf({ code: "identity_checked", hash_recomputed: false })).toBe("identity_checked");
    expect(badgeOf({ code: "content_changed", changes: [] })).toBe("changed");
    expect(badgeOf({ code: "request_changed", seen_hash: "a", now_hash: "b" })).toBe("changed");
    expect(badgeOf({ code: "content_mismatch", recomputed: "a", claimed: "b" })).toBe("changed");
    expect(badgeOf(null)).toBe("unchecked");
  });
});

describe("driftLines", () => {
  it("says what changed, seen vs now", () => {
    expect(driftLines({ code: "request_changed", seen_hash: "h1", now_hash: "h2" })).toEqual([{ label: "Job hash", seen: "h1", now: "h2" }]);
    expect(driftLines({ code: "policy_changed", seen: "s1", now: "s2" })).toEqual([{ label: "Policy snapshot", seen: "s1", now: "s2" }]);
    expect(driftLines({ code: "content_changed", changes: [{ field: "payload", seen: '{"amount":120}', now: '{"amount":9800000}' }] })).toEqual([
      { label: "payload", seen: '{"amount":120}', now: '{"amount":9800000}' },
    ]);
    expect(driftLines(null)).toEqual([]);
  });
});
