import { fireEvent, render, screen, waitFor, within } from "@testing-library/react";
import { beforeEach, describe, expect, it, vi } from "vitest";
import * as api from "../api";
import { draftReview } from "../test/fixtures";
import { PolicyView } from "./PolicyView";

vi.mock("../api", () => ({
  reviewDraft: vi.fn(),
  decideDraft: vi.fn(),
}));

const HOSTILE = '<img src=x onerror="window.__pwned=1">';

function hostileReview() {
  const review = draftReview();
  review.draft.title = `Tighten deploys ${HOSTILE}`;
  review.diff = {
    draft_id: "drf-1",
    snapshot_id: "dsn-1",
    base_snapshot: "base",
    current_snapshot: "base",
    added: [{ position: 0, rule: { id: "friday-deploys", when: { topic: "deploy.*", day: "fri" }, decision: "require_human", reason: HOSTILE } }],
    removed: [],
    changed: [
      {
        rule_id: "prod",
        before: { position: 0, rule: { id: "prod", when: { env: "production" }, decision: "allow" } },
        after: { position: 1, rule: { id: "prod", when: { env: "production" }, decision: "require_human" } },
        fields: ["decision", "position"],
      },
    ],
    unchanged: 3,
  };
  review.impact = {
    draft_id: "drf-1",
    snapshot_id: "dsn-1",
    current_snapshot: "base",
    pending: 4,
    unchanged: 2,
    reevaluated: 1,
    invalidated: 1,
    items: [
      { job_id: "job-1", topic: "deploy.app", effect: "reevaluated", before: { decision: "REQUIRE_APPROVAL", rule_id: "a", reason: "" }, after: { decision: "REQUIRE_APPROVAL", rule_id: "friday-deploys", reason: "" } },
      { job_id: "job-2", topic: "db.drop", effect: "invalidated", before: { decision: "REQUIRE_APPROVAL", rule_id: "a", reason: "" }, after: { decision: "DENY", rule_id: "no-drops", reason: "" } },
    ],
    truncated: false,
  };
  return review;
}

function show(onDecided = vi.fn()) {
  render(<PolicyView desk={7} drafts={[draftReview().draft]} error={null} version={0} initialDraft={null} onDecided={onDecided} />);
}

describe("PolicyView", () => {
  beforeEach(() => {
    vi.mocked(api.reviewDraft).mockReset();
    vi.mocked(api.decideDraft).mockReset();
  });

  it("shows a draft's diff side by side and its impact, all text as text", async () => {
    vi.mocked(api.reviewDraft).mockResolvedValue(hostileReview());
    show();
    fireEvent.click(screen.getByTestId("draft-row"));
    expect(await screen.findByTestId("draft-title")).toHaveTextContent(HOSTILE);
    expect(document.querySelector("img")).toBeNull();
    expect((window as unknown as { __pwned?: number }).__pwned).toBeUndefined();
    const added = screen.getByTestId("rule-added");
    expect(added).toHaveTextContent("friday-deploys");
    expect(added).toHaveTextContent("topic = deploy.*, day = fri");
    const changed = screen.getByTestId("rule-changed");
    expect(changed.dataset.fields).toBe("decision,position");
    const [before, after] = within(changed).getAllByRole("cell");
    expect(before).toHaveTextContent("#1 allow");
    expect(after).toHaveTextContent("#2 require_human");
    expect(screen.getByTestId("impact-summary")).toHaveTextContent("4 pending approval(s): 2 unchanged, 1 re-evaluated, 1 would leave the queue");
    expect(screen.getAllByTestId("impact-item").map((row) => row.dataset.effect)).toEqual(["reevaluated", "invalidated"]);
    expect(screen.getByTestId("draft-hash")).toHaveAttribute("data-verified", "true");
  });

  it("approves bound to the snapshot on screen and reports what it became", async () => {
    vi.mocked(api.reviewDraft).mockResolvedValue(draftReview());
    vi.mocked(api.decideDraft).mockResolvedValue({
      draft_id: "drf-1",
      snapshot_id: "dsn-1",
      draft_version: 1,
      action: "approve",
      code: "approved",
      actor: "bob",
      by_us: true,
      published_snapshot: "new-policy",
      message: "Approved version 1; it is now the current policy.",
    });
    const onDecided = vi.fn();
    show(onDecided);
    fireEvent.click(screen.getByTestId("draft-row"));
    fireEvent.change(await screen.findByLabelText(/Rationale/), { target: { value: "checked with finance" } });
    fireEvent.click(screen.getByTestId("draft-approve"));
    expect(api.decideDraft).toHaveBeenCalledWith({
      desk: 7,
      draft_id: "drf-1",
      snapshot_id: "dsn-1",
      source_snapshot_hash: "ab",
      action: "approve",
      reason: "checked with finance",
    });
    expect(await screen.findByTestId("draft-outcome")).toHaveTextContent("it is now the current policy");
    expect(onDecided).toHaveBeenCalled();
  });

  it("names a refusal by its code, and never offers approve where the gateway would refuse", async () => {
    vi.mocked(api.reviewDraft).mockResolvedValue(draftReview());
    vi.mocked(api.decideDraft).mockRejectedValue({ code: "stale_base", message: "a new policy was published since the draft was written (stale_base)" });
    show();
    fireEvent.click(screen.getByTestId("draft-row"));
    fireEvent.click(await screen.findByTestId("draft-approve"));
    const outcome = await screen.findByTestId("draft-outcome");
    expect(outcome).toHaveAttribute("data-code", "stale_base");
    expect(outcome).toHaveTextContent("must be proposed again");

    vi.mocked(api.reviewDraft).mockResolvedValue(draftReview({ by_you: true }));
    fireEvent.click(screen.getByRole("button", { name: "Refresh" }));
    await waitFor(() => {
      expect(screen.getByTestId("draft-approve")).toBeDisabled();
    });
    expect(screen.getByTestId("draft-approve-blocked")).toHaveTextContent("another reviewer must countersign");
  });

  it("does not let a version that just replaced the one on screen be approved at once", async () => {
    vi.mocked(api.reviewDraft).mockResolvedValue(draftReview());
    const { rerender } = render(<PolicyView desk={7} drafts={[draftReview().draft]} error={null} version={0} initialDraft="drf-1" onDecided={vi.fn()} />);
    await waitFor(() => {
      expect(screen.getByTestId("draft-approve")).toBeEnabled();
    });
    const moved = draftReview();
    moved.binding.snapshot_id = "dsn-2";
    moved.draft.active_snapshot.snapshot_id = "dsn-2";
    moved.draft.active_snapshot.version = 2;
    vi.mocked(api.reviewDraft).mockResolvedValue(moved);
    rerender(<PolicyView desk={7} drafts={[moved.draft]} error={null} version={1} initialDraft="drf-1" onDecided={vi.fn()} />);
    await waitFor(() => {
      expect(screen.getByTestId("draft-approve-blocked")).toHaveTextContent("just changed");
    });
    expect(screen.getByTestId("draft-approve")).toBeDisabled();
    await waitFor(
      () => {
        expect(screen.getByTestId("draft-approve")).toBeEnabled();
      },
      { timeout: 3000 },
    );
    expect(screen.getByTestId("draft-approve")).toHaveTextContent("Approve version 2");
  });

  it("rejects only with a reason", async () => {
    vi.mocked(api.reviewDraft).mockResolvedValue(draftReview());
    vi.mocked(api.decideDraft).mockResolvedValue({
      draft_id: "drf-1",
      snapshot_id: "dsn-1",
      draft_version: 1,
      action: "reject",
      code: "rejected",
      actor: "bob",
      by_us: true,
      published_snapshot: null,
      message: "Rejected version 1; the draft is closed.",
    });
    show();
    fireEvent.click(screen.getByTestId("draft-row"));
    fireEvent.click(await screen.findByTestId("draft-reject"));
    fireEvent.change(screen.getByLabelText(/Reason/), { target: { value: "too broad" } });
    fireEvent.click(within(screen.getByTestId("reason-dialog")).getByRole("button", { name: "Reject" }));
    expect(api.decideDraft).toHaveBeenCalledWith(expect.objectContaining({ action: "reject", reason: "too broad", snapshot_id: "dsn-1" }));
    expect(await screen.findByTestId("draft-outcome")).toHaveTextContent("the draft is closed");
  });
});
