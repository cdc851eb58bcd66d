import { render, screen, within } from "@testing-library/react";
import { describe, expect, it } from "vitest";
import type { ApprovalCard } from "../bindings/ApprovalCard";
import { Queue } from "./Queue";

const HOSTILE_MARKUP = "<img src=x onerror=alert(1)>";

function makeCard(overrides: Partial<ApprovalCard> = {}): ApprovalCard {
  return {
    job_id: "req-1",
    title: "Review deploy",
    topic: "Deploy billing service",
    tenant: "default",
    state: "APPROVAL_REQUIRED",
    decision: "REQUIRE_APPROVAL",
    requester: "deploy-bot",
    workflow: null,
    rule_id: "production-deploys",
    reason: "Release 4.2 is ready",
    risk_tags: ["production", "irreversible"],
    constraints: null,
    policy_snapshot: "snap-1",
    job_hash: "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
    approval_revision: null,
    updated_at: null,
    pending: true,
    workflow_gate: false,
    ...overrides,
  };
}

describe("Queue", () => {
  it("shows the empty state and no cards when nothing is pending", () => {
    render(<Queue items={[]} />);

    expect(screen.getByTestId("queue-empty")).toHaveTextContent("No approvals waiting");
    expect(screen.queryAllByTestId("approval-card")).toHaveLength(0);
  });

  it("renders one card per item with its details", () => {
    render(<Queue items={[makeCard(), makeCard({ job_id: "req-2", topic: "Rotate API keys", risk_tags: [] })]} />);

    const cards = screen.getAllByTestId("approval-card");
    expect(cards).toHaveLength(2);
    expect(screen.queryByTestId("queue-empty")).not.toBeInTheDocument();

    const [first, second] = cards as [HTMLElement, HTMLElement];
    const firstCard = within(first);
    expect(firstCard.getByRole("heading", { name: "Deploy billing service" })).toBeInTheDocument();
    expect(firstCard.getByText("deploy-bot")).toBeInTheDocument();
    expect(firstCard.getByText("production-deploys")).toBeInTheDocument();
    expect(firstCard.getByText("Release 4.2 is ready")).toBeInTheDocument();
    expect(firstCard.getByText("9f86d081884c…")).toBeInTheDocument();
    expect(firstCard.getAllByRole("listitem").map((tag) => tag.textContent)).toEqual(["production", "irreversible"]);

    expect(within(second).getByRole("heading", { name: "Rotate API keys" })).toBeInTheDocument();
    expect(within(second).queryByRole("list", { name: "Risk tags" })).not.toBeInTheDocument();
  });

  it("renders hostile agent strings as literal text, never as markup", () => {
    const { container } = render(
      <Queue
        items={[
          makeCard({
            topic: HOSTILE_MARKUP,
            requester: HOSTILE_MARKUP,
            rule_id: HOSTILE_MARKUP,
            reason: HOSTILE_MARKUP,
            risk_tags: [HOSTILE_MARKUP],
            job_hash: HOSTILE_MARKUP,
          }),
        ]}
      />,
    );

    expect(container.querySelector("img")).toBeNull();
    const card = within(screen.getByTestId("approval-card"));
    expect(card.getAllByText(HOSTILE_MARKUP)).toHaveLength(5);
  });
});
