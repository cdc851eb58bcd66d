import { describe, expect, it } from "vitest";
import { draftReview as review } from "../test/fixtures";
import { approveBlocked, refusalSentence, rejectBlocked } from "./governance";

describe("governance guards", () => {
  it("lets a ready, verified, current draft by someone else be approved", () => {
    expect(approveBlocked(review())).toBeNull();
    expect(rejectBlocked(review())).toBeNull();
  });

  it("refuses what the gateway would refuse, with the reason", () => {
    expect(approveBlocked(review({ text_verified: false }))).toMatch(/hash/);
    expect(approveBlocked(review({ base_is_current: false }))).toMatch(/new policy/);
    expect(approveBlocked(review({ by_you: true }))).toMatch(/another reviewer/);
    expect(rejectBlocked(review({ by_you: true }))).toMatch(/another reviewer/);
    const blocked = review();
    blocked.draft.active_snapshot.ready_for_approval = false;
    blocked.draft.active_snapshot.blocker_ids = ["rule_allows_everything:open"];
    expect(approveBlocked(blocked)).toMatch(/blockers/);
    expect(rejectBlocked(blocked)).toBeNull();
    const done = review();
    done.draft.status = "approved";
    expect(approveBlocked(done)).toMatch(/approved/);
    expect(rejectBlocked(done)).toMatch(/decided/);
  });

  it("names refusals by code and keeps the gateway's words for unknown ones", () => {
    expect(refusalSentence({ code: "stale_lineage", message: "x" })).toMatch(/changed since you opened it/);
    expect(refusalSentence({ code: "something_new", message: "the gateway says no" })).toBe("the gateway says no");
  });
});
