import { act, fireEvent, render, screen, waitFor, within } from "@testing-library/react";
import axe from "axe-core";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { App } from "./App";
import * as api from "./api";
import type { AppSettings } from "./bindings/AppSettings";
import type { CardView } from "./bindings/CardView";
import type { DeskEvent } from "./bindings/DeskEvent";
import type { DeskMessage } from "./bindings/DeskMessage";
import { SETTLE_MS } from "./model/queue";
import { FIRST_SCREEN_CARDS } from "./useDesk";
import { card, decision, DESK, detailOf, draftReview, snapshot } from "./test/fixtures";

vi.mock("./api", () => ({
  sessionInfo: vi.fn(),
  startDemo: vi.fn(),
  listProfiles: vi.fn(),
  openProfile: vi.fn(),
  connectGateway: vi.fn(),
  signInAgain: vi.fn(),
  signOut: vi.fn(),
  queueSnapshot: vi.fn(),
  decide: vi.fn(),
  itemDetail: vi.fn(),
  policyDrafts: vi.fn(),
  reviewDraft: vi.fn(),
  decideDraft: vi.fn(),
  historyQuery: vi.fn(),
  historyVerify: vi.fn(),
  exportHistory: vi.fn(),
  exportEvidence: vi.fn(),
  getSettings: vi.fn(),
  setSettings: vi.fn(),
  openAtLogin: vi.fn(),
  onDeskEvent: vi.fn(),
  onSession: vi.fn(),
  onOpenItem: vi.fn(),
  onOpenDraft: vi.fn(),
  onSettings: vi.fn(),
  onNotificationWarning: vi.fn(),
  onRequesterReported: vi.fn(),
}));

const demo = { desk: DESK, profile: "demo", demo: true, gateway_url: "http://127.0.0.1:1/", tenant: "default", generation: "new" };
let pushMessage: (message: DeskMessage) => void = () => undefined;
let openItem: (jobId: string | null) => void = () => undefined;
let warn: (message: string) => void = () => undefined;
let report: (requester: string) => void = () => undefined;
let openDraft: (draftId: string) => void = () => undefined;
/** Sends an event as the Rust side does, and lets the once-per-frame flush apply it. */
const pushEvent = (event: DeskEvent) => {
  pushMessage({ desk: DESK, event });
  vi.advanceTimersByTime(20);
};
const SETTINGS: AppSettings = {
  theme: "system",
  review: { high_risk_tags: ["prod"] },
  single_key_shortcuts: true,
  do_not_disturb: false,
  quiet_hours: { enabled: false, from_minute: 1080, to_minute: 540 },
  filter: { text: "", topic: "", tag: "", requester: "" },
};

function setup(cards: CardView[], session: typeof demo | null = demo) {
  vi.mocked(api.sessionInfo).mockResolvedValue(session);
  vi.mocked(api.queueSnapshot).mockResolvedValue(snapshot(cards));
  vi.mocked(api.listProfiles).mockResolvedValue([]);
  vi.mocked(api.policyDrafts).mockResolvedValue([]);
  vi.mocked(api.getSettings).mockResolvedValue(SETTINGS);
  vi.mocked(api.openAtLogin).mockResolvedValue(false);
  vi.mocked(api.itemDetail).mockReturnValue(new Promise(() => undefined));
  vi.mocked(api.historyQuery).mockResolvedValue({ entries: [], next_cursor: null });
  vi.mocked(api.onDeskEvent).mockImplementation((handler) => {
    pushMessage = handler;
    return Promise.resolve(() => undefined);
  });
  vi.mocked(api.onSession).mockResolvedValue(() => undefined);
  vi.mocked(api.onSettings).mockResolvedValue(() => undefined);
  vi.mocked(api.onOpenItem).mockImplementation((handler) => {
    openItem = handler;
    return Promise.resolve(() => undefined);
  });
  vi.mocked(api.onOpenDraft).mockImplementation((handler) => {
    openDraft = handler;
    return Promise.resolve(() => undefined);
  });
  vi.mocked(api.onNotificationWarning).mockImplementation((handler) => {
    warn = handler;
    return Promise.resolve(() => undefined);
  });
  vi.mocked(api.onRequesterReported).mockImplementation((handler) => {
    report = handler;
    return Promise.resolve(() => undefined);
  });
  return render(<App />);
}

async function noAxeViolations(container: HTMLElement) {
  const results = await axe.run(container, { rules: { "color-contrast": { enabled: false } } });
  expect(results.violations.map((v) => `${v.id}: ${v.nodes.map((n) => n.html).join(" | ")}`)).toEqual([]);
}

/** Lets a card's misclick guard pass. */
function pastSettle() {
  vi.setSystemTime(Date.now() + SETTLE_MS + 1);
}

describe("App", () => {
  beforeEach(() => {
    vi.useFakeTimers({ shouldAdvanceTime: true });
  });
  afterEach(() => {
    vi.useRealTimers();
    vi.resetAllMocks();
  });

  it("draws the first screen of a long queue, then loads the rest", async () => {
    const all = Array.from({ length: 250 }, (_, n) => card(`job-${String(n)}`));
    let sendWhole: (value: ReturnType<typeof snapshot>) => void = () => undefined;
    setup([]);
    vi.mocked(api.queueSnapshot).mockImplementation((limit) =>
      limit === null || limit === undefined
        ? new Promise((resolve) => {
            sendWhole = resolve;
          })
        : Promise.resolve(snapshot(all.slice(0, limit), 10, all.length)),
    );
    expect(await screen.findByText("Title job-0")).toBeInTheDocument();
    expect(api.queueSnapshot).toHaveBeenNthCalledWith(1, FIRST_SCREEN_CARDS);
    expect(screen.getByTestId("queue-loading")).toHaveTextContent("Loading 150 more");
    expect(screen.getByTestId("filter-count")).toHaveTextContent("100 of 250");
    await waitFor(() => {
      expect(api.queueSnapshot).toHaveBeenCalledTimes(2);
    });
    act(() => {
      sendWhole(snapshot(all, 11));
    });
    await waitFor(() => {
      expect(screen.queryByTestId("queue-loading")).not.toBeInTheDocument();
    });
    expect(screen.getByTestId("filter-count")).toHaveTextContent("250 pending");
  });

  it("shows the demo queue with its cards, the Demo badge and the live link", async () => {
    const { container } = setup([card("a"), card("b", { title: "Pay Globex", risk_tags: ["finance", "write"] })]);
    expect(await screen.findByText("Pay Globex")).toBeInTheDocument();
    expect(screen.getByTestId("demo-badge")).toHaveTextContent("Demo");
    expect(screen.getAllByTestId("approval-card")).toHaveLength(2);
    expect(screen.getByTestId("status-line")).toHaveTextContent("Live (events)");
    expect(screen.getByTestId("status-line")).toHaveTextContent("API new");
    await noAxeViolations(container);
  });

  it("names a differing submitter once", async () => {
    setup([card("a", { requester: "agent-support (submitted by apikey:0b13|principal:agent-7)" }, { submitted_by: "agent-7" })]);
    const article = await screen.findByTestId("approval-card");
    expect(article.textContent.match(/submitted by/g)).toHaveLength(1);
  });

  it("renders every agent-supplied string as text, never as markup", async () => {
    const xss = '<img src=x onerror="window.__pwned=1"><script>window.__pwned=2</script>';
    const hostile = card("x", { title: xss, requester: xss, reason: xss, rule_id: xss, topic: xss, risk_tags: [xss] }, {
      constraints: [{ key: xss, value: xss }],
      submitted_by: xss,
    });
    const { container } = setup([hostile]);
    const article = await screen.findByTestId("approval-card");
    expect(article.querySelector("img, script")).toBeNull();
    expect(within(article).getAllByText(xss, { exact: false }).length).toBeGreaterThan(3);
    expect(container.querySelector("img, script")).toBeNull();
    expect((window as unknown as { __pwned?: number }).__pwned).toBeUndefined();
  });

  it("approves in one click, bound to the identity the card shows", async () => {
    const shown = card("a");
    setup([shown]);
    vi.mocked(api.decide).mockResolvedValue(decision("a", "approve", "Approved"));
    const approve = await screen.findByRole("button", { name: "Approve" });
    pastSettle();
    fireEvent.click(approve);
    expect(api.decide).toHaveBeenCalledWith({ desk: DESK, seen: shown.seen, action: "approve", reason: "", confirm: null });
    expect(await screen.findByTestId("outcome")).toHaveTextContent("Approved");
  });

  it("follows an approval past the dispatch-time gate on the card", async () => {
    const shown = card("a");
    setup([shown]);
    vi.mocked(api.decide).mockResolvedValue(decision("a", "approve", "Approved"));
    const approve = await screen.findByRole("button", { name: "Approve" });
    pastSettle();
    fireEvent.click(approve);
    expect(await screen.findByTestId("decision-sentence")).toHaveTextContent(/^Approved$/);
    const waiting = "approved, waiting: policy engine unavailable (closed mode), attempt 2 of 50";
    for (const [seq, line, shown] of [
      [11, waiting, "Approved, waiting: policy engine unavailable (closed mode), attempt 2 of 50."],
      [12, "approved, dispatched", "Approved, dispatched."],
    ] as const) {
      act(() => {
        pushEvent({ kind: "decision", seq, decision: { ...decision("a", "approve", "Approved"), after_approval: line } });
      });
      await act(() => vi.advanceTimersByTimeAsync(20));
      expect(screen.getByTestId("decision-sentence")).toHaveTextContent(shown);
    }
  });

  it("counts a decided card, still fading on screen, as no longer pending", async () => {
    setup([card("a"), card("b")]);
    expect(await screen.findAllByTestId("approval-card")).toHaveLength(2);
    expect(screen.getByTestId("filter-count")).toHaveTextContent("2 pending");
    act(() => {
      pushEvent({ kind: "removed", seq: 11, job_id: "b", by: "bob", status: "approved" });
    });
    await act(() => vi.advanceTimersByTimeAsync(20));
    expect(screen.getAllByTestId("approval-card")).toHaveLength(2);
    expect(screen.getByTestId("filter-count")).toHaveTextContent("1 pending");
    expect(screen.getByText("1", { selector: ".queue-count" })).toBeInTheDocument();
  });

  it("ignores an approve on a card that just appeared", async () => {
    setup([card("a")]);
    fireEvent.click(await screen.findByRole("button", { name: "Approve" }));
    expect(api.decide).not.toHaveBeenCalled();
    expect(screen.getByTestId("outcome")).toHaveTextContent("just appeared, changed or moved");
  });

  it("asks for the job hash's last characters on a high-risk approve; a wrong entry sends nothing", async () => {
    const risky = card("p", { job_hash: "sha256:feedbeefCAFE" }, { high_risk: true });
    setup([risky]);
    vi.mocked(api.decide).mockResolvedValue(decision("p", "approve", "Approved"));
    const approve = await screen.findByRole("button", { name: "Approve" });
    pastSettle();
    fireEvent.click(approve);
    const dialog = await screen.findByTestId("confirm-dialog");
    await noAxeViolations(dialog);
    const input = within(dialog).getByLabelText("Last 4 characters of the job hash");
    fireEvent.change(input, { target: { value: "beef" } });
    fireEvent.click(within(dialog).getByRole("button", { name: "Approve" }));
    expect(within(dialog).getByRole("alert")).toHaveTextContent("Nothing was sent");
    expect(api.decide).not.toHaveBeenCalled();
    fireEvent.change(input, { target: { value: "cafe" } });
    fireEvent.click(within(dialog).getByRole("button", { name: "Approve" }));
    expect(api.decide).toHaveBeenCalledWith({ desk: DESK, seen: risky.seen, action: "approve", reason: "", confirm: "cafe" });
  });

  it("rejects with a reason from the keyboard: r, type, Enter", async () => {
    const shown = card("a");
    setup([shown]);
    vi.mocked(api.decide).mockResolvedValue(decision("a", "reject", "Rejected"));
    await screen.findByTestId("approval-card");
    fireEvent.keyDown(window, { key: "r" });
    expect(screen.queryByTestId("reason-dialog")).toBeNull();
    fireEvent.keyDown(window, { key: "j" });
    fireEvent.keyDown(window, { key: "r" });
    const dialog = await screen.findByTestId("reason-dialog");
    const input = within(dialog).getByLabelText("Reason (the requester sees it)");
    fireEvent.submit(input);
    expect(within(dialog).getByRole("alert")).toHaveTextContent("needs a reason");
    fireEvent.change(input, { target: { value: "wrong vendor" } });
    fireEvent.submit(input);
    expect(api.decide).toHaveBeenCalledWith({ desk: DESK, seen: shown.seen, action: "reject", reason: "wrong vendor", confirm: null });
  });

  it("shows a local refusal with what changed, seen vs now", async () => {
    setup([card("a")]);
    vi.mocked(api.decide).mockRejectedValue({
      code: "drift",
      message: "the request changed since it was shown",
      detail: { code: "request_changed", seen_hash: "sha256:seen000000001", now_hash: "sha256:now0000000002" },
    });
    const approve = await screen.findByRole("button", { name: "Approve" });
    pastSettle();
    fireEvent.click(approve);
    await waitFor(() => {
      expect(screen.getByTestId("outcome")).toHaveAttribute("data-kind", "drift");
    });
    const outcome = screen.getByTestId("outcome");
    expect(outcome).toHaveTextContent("nothing was sent");
    expect(outcome).toHaveTextContent("Job hash");
    expect(outcome).toHaveTextContent("sha256:seen0…");
    expect(outcome).toHaveTextContent("sha256:now00…");
  });

  it("says an outage's decision will retry, and disables approve while offline", async () => {
    setup([card("a")]);
    vi.mocked(api.decide).mockRejectedValue({ code: "outcome_unknown", message: "gateway unreachable" });
    fireEvent.click(await screen.findByRole("button", { name: "Reject" }));
    fireEvent.change(screen.getByLabelText("Reason (the requester sees it)"), { target: { value: "no" } });
    fireEvent.submit(screen.getByLabelText("Reason (the requester sees it)"));
    expect(await screen.findByText(/will retry/)).toBeInTheDocument();
    act(() => {
      pushEvent({ kind: "status", seq: 11, status: { state: "offline", offline_since_ms: Date.now(), last_sync_ms: null, message: "down", generation: "", complete: true } });
    });
    expect(screen.getByTestId("status-line")).toHaveTextContent("Offline since");
    expect(screen.getByRole("button", { name: "Approve" })).toBeDisabled();
  });

  it("adds arriving cards and marks changed ones", async () => {
    setup([card("a")]);
    await screen.findByTestId("approval-card");
    act(() => {
      pushEvent({ kind: "card", seq: 11, card: card("n", { title: "Fresh one" }), arrived: true });
      pushEvent({ kind: "card", seq: 12, card: card("a", { job_hash: "sha256:new" }, { changes: ["job_hash"] }), arrived: false });
    });
    expect(screen.getByText("Fresh one")).toBeInTheDocument();
    expect(screen.getAllByTestId("approval-card")).toHaveLength(2);
    expect(screen.getByTestId("changed-mark")).toBeInTheDocument();
  });

  it("bulk approve skips high-risk items and reports per item", async () => {
    setup([card("a"), card("b", {}, { high_risk: true }), card("c")]);
    vi.mocked(api.decide).mockImplementation((request) =>
      Promise.resolve(decision(request.seen.job_id, "approve", "Approved")),
    );
    for (const box of await screen.findAllByRole("checkbox")) fireEvent.click(box);
    pastSettle();
    fireEvent.click(screen.getByRole("button", { name: "Approve selected" }));
    expect(await screen.findByTestId("bulk-report")).toHaveTextContent("Approved 2, 1 skipped");
    expect(vi.mocked(api.decide).mock.calls.map(([r]) => r.seen.job_id).sort()).toEqual(["a", "c"]);
  });

  it("never makes a card current by itself: a key acts only on the card the reviewer chose", async () => {
    setup([card("a"), card("b")]);
    vi.mocked(api.decide).mockResolvedValue(decision("b", "approve", "Approved"));
    await screen.findAllByTestId("approval-card");
    pastSettle();
    fireEvent.keyDown(window, { key: "a" });
    expect(api.decide).not.toHaveBeenCalled();
    fireEvent.keyDown(window, { key: "j" });
    fireEvent.keyDown(window, { key: "j" });
    expect(screen.getAllByTestId("approval-card")[1]).toHaveAttribute("aria-current", "true");
    act(() => {
      pushEvent({ kind: "removed", seq: 11, job_id: "b", by: "bob", status: "approved" });
    });
    fireEvent.keyDown(window, { key: "a" });
    expect(api.decide).not.toHaveBeenCalled();
    expect(screen.getByTestId("departed")).toHaveTextContent("approved by bob");
  });

  it("drops a selection whose card changed since it was selected, and never bulk-approves it", async () => {
    setup([card("a"), card("c")]);
    vi.mocked(api.decide).mockImplementation((request) => Promise.resolve(decision(request.seen.job_id, "approve", "Approved")));
    for (const box of await screen.findAllByRole("checkbox")) fireEvent.click(box);
    act(() => {
      pushEvent({ kind: "card", seq: 11, card: card("a", { job_hash: "sha256:changed" }, { changes: ["job_hash"] }), arrived: false });
    });
    pastSettle();
    expect(screen.getByText("1 selected")).toBeInTheDocument();
    fireEvent.click(screen.getByRole("button", { name: "Approve selected" }));
    await screen.findByTestId("bulk-report");
    expect(vi.mocked(api.decide).mock.calls.map(([r]) => r.seen.job_id)).toEqual(["c"]);
  });

  it("offers to connect or try the demo when no profile is open", async () => {
    const { container } = setup([], null);
    expect(await screen.findByTestId("first-run")).toBeInTheDocument();
    await noAxeViolations(container);
    vi.mocked(api.startDemo).mockResolvedValue(demo);
    fireEvent.click(screen.getByTestId("try-demo"));
    expect(await screen.findByTestId("demo-badge")).toBeInTheDocument();
    expect(api.startDemo).toHaveBeenCalledTimes(1);
    await waitFor(() => {
      expect(api.queueSnapshot).toHaveBeenCalled();
    });
  });

  it("shows the history and a verified chain", async () => {
    const { container } = setup([card("a")]);
    vi.mocked(api.historyQuery).mockResolvedValue({
      entries: [{ seq: 3, recorded_at_ms: 0, kind: "decision_outcome", job_id: "a", topic: "t", decision: "approve", outcome: "success", body: { ok: true }, entry_hash: "h" }],
      next_cursor: null,
    });
    vi.mocked(api.historyVerify).mockResolvedValue({ intact: true, entries_checked: 3, head_seq: 3, head_hash: "h", broken_at: null, problem: null, message: "Intact: 3 entries" });
    await screen.findByTestId("approval-card");
    fireEvent.keyDown(window, { key: "g" });
    fireEvent.keyDown(window, { key: "h" });
    expect(await screen.findByText("decision outcome")).toBeInTheDocument();
    fireEvent.click(screen.getByRole("button", { name: "Verify chain" }));
    expect(await screen.findByTestId("chain-check")).toHaveTextContent("Intact: 3 entries");
    await noAxeViolations(container);
  });

  it("opens the detail with the preflight and earlier decisions, accessibly", async () => {
    const shown = card("a");
    const { container } = setup([shown]);
    vi.mocked(api.itemDetail).mockResolvedValue(detailOf(shown));
    fireEvent.click(await screen.findByText(shown.card.title));
    fireEvent.keyDown(window, { key: "j" });
    fireEvent.keyDown(window, { key: "Enter" });
    const detail = await screen.findByTestId("detail");
    expect(await within(detail).findByTestId("prior-decisions")).toHaveTextContent("Rejected by carol");
    expect(within(detail).getByTestId("preflight")).toHaveTextContent("Policy unchanged");
    await noAxeViolations(container);
  });

  it("changes settings through the backend; a declined guard change is reported and kept", async () => {
    const { container } = setup([card("a")]);
    await screen.findByTestId("approval-card");
    fireEvent.keyDown(window, { key: "g" });
    fireEvent.keyDown(window, { key: "s" });
    const view = await screen.findByTestId("settings");
    await noAxeViolations(container);
    vi.mocked(api.setSettings).mockResolvedValue({ ...SETTINGS, review: { high_risk_tags: ["prod", "network"] } });
    fireEvent.change(within(view).getByLabelText("Add a tag"), { target: { value: "network" } });
    fireEvent.click(within(view).getByRole("button", { name: "Add" }));
    expect(await within(view).findByText("network")).toBeInTheDocument();
    expect(api.setSettings).toHaveBeenLastCalledWith({ ...SETTINGS, review: { high_risk_tags: ["prod", "network"] } });
    vi.mocked(api.setSettings).mockRejectedValue({ code: "declined", message: "the high-risk tags were kept" });
    fireEvent.click(within(view).getByRole("button", { name: "Remove prod" }));
    expect(await within(view).findByTestId("settings-error")).toHaveTextContent("kept");
    expect(within(view).getByTestId("high-risk-tags")).toHaveTextContent("prod");
  });

  it("sets quiet hours and opening at login, the login item read from the system", async () => {
    setup([card("a")]);
    await screen.findByTestId("approval-card");
    fireEvent.keyDown(window, { key: "g" });
    fireEvent.keyDown(window, { key: "s" });
    const view = await screen.findByTestId("settings");
    const login = within(view).getByTestId("open-at-login");
    await waitFor(() => {
      expect(login).toBeEnabled();
    });
    expect(api.openAtLogin).toHaveBeenLastCalledWith(null);
    expect(login).not.toBeChecked();
    vi.mocked(api.openAtLogin).mockResolvedValue(true);
    fireEvent.click(login);
    await waitFor(() => {
      expect(login).toBeChecked();
    });
    expect(api.openAtLogin).toHaveBeenLastCalledWith(true);
    const quiet = { enabled: false, from_minute: 1080, to_minute: 22 * 60 + 30 };
    vi.mocked(api.setSettings).mockResolvedValue({ ...SETTINGS, quiet_hours: quiet });
    fireEvent.change(within(view).getByLabelText("to"), { target: { value: "22:30" } });
    await waitFor(() => {
      expect(api.setSettings).toHaveBeenLastCalledWith({ ...SETTINGS, quiet_hours: quiet });
    });
    expect(within(view).getByLabelText("to")).toHaveValue("22:30");
    vi.mocked(api.openAtLogin).mockRejectedValue({ code: "io", message: "the login item: read-only home" });
    fireEvent.click(login);
    expect(await within(view).findByTestId("settings-error")).toHaveTextContent("read-only home");
  });

  it("ignores single-letter keys when the reviewer turned them off, arrows still move", async () => {
    vi.mocked(api.decide).mockResolvedValue(decision("a", "approve", "Approved"));
    setup([card("a"), card("b")]);
    vi.mocked(api.getSettings).mockResolvedValue({ ...SETTINGS, single_key_shortcuts: false });
    await screen.findAllByTestId("approval-card");
    await waitFor(() => {
      expect(api.getSettings).toHaveBeenCalled();
    });
    await act(async () => {
      await Promise.resolve();
    });
    pastSettle();
    fireEvent.keyDown(window, { key: "ArrowDown" });
    expect(screen.getAllByTestId("approval-card")[0]).toHaveAttribute("aria-current", "true");
    fireEvent.keyDown(window, { key: "j" });
    expect(screen.getAllByTestId("approval-card")[1]).not.toHaveAttribute("aria-current", "true");
    fireEvent.keyDown(window, { key: "a" });
    expect(api.decide).not.toHaveBeenCalled();
  });

  it("asks to sign in again in place when a profile's session ended", async () => {
    setup([], null);
    vi.mocked(api.listProfiles).mockResolvedValue([{ name: "work", gateway_url: "https://gw.example/", tenant: "default", auth: "password" }]);
    const open = await screen.findByRole("button", { name: "work" });
    vi.mocked(api.openProfile).mockRejectedValue({ code: "reauth_required", message: "sign in again" });
    fireEvent.click(open);
    const form = await screen.findByTestId("sign-in-again");
    vi.mocked(api.signInAgain).mockResolvedValue({ ...demo, profile: "work", demo: false });
    fireEvent.change(within(form).getByLabelText("Password"), { target: { value: "pw" } });
    fireEvent.click(within(form).getByRole("button", { name: "Sign in" }));
    await waitFor(() => {
      expect(api.signInAgain).toHaveBeenCalledWith("work", "pw");
    });
    expect(await screen.findByTestId("queue")).toBeInTheDocument();
  });

  it("connects with a username and password", async () => {
    setup([], null);
    await screen.findByTestId("first-run");
    vi.mocked(api.connectGateway).mockResolvedValue({ ...demo, profile: "lab", demo: false });
    fireEvent.click(screen.getByLabelText("Username and password"));
    fireEvent.change(screen.getByLabelText("Username"), { target: { value: "carol" } });
    fireEvent.change(screen.getByLabelText("Password"), { target: { value: "s3cret" } });
    fireEvent.submit(screen.getByLabelText("Password"));
    await waitFor(() => {
      expect(api.connectGateway).toHaveBeenCalledWith({
        name: "work",
        gateway_url: "https://",
        tenant: "default",
        credential: { method: "password", username: "carol", password: "s3cret" },
      });
    });
    expect(await screen.findByTestId("queue")).toBeInTheDocument();
  });

  it("exports the history to the file the native dialog chose", async () => {
    setup([card("a")]);
    await screen.findByTestId("approval-card");
    vi.mocked(api.exportHistory).mockResolvedValue({ path: "/tmp/h.jsonl", entries: 7, head_hash: "abcdef0123456789" });
    fireEvent.click(screen.getByRole("button", { name: "History" }));
    fireEvent.click(await screen.findByRole("button", { name: "Export history…" }));
    expect(await screen.findByTestId("export-note")).toHaveTextContent("7 entries to /tmp/h.jsonl (head abcdef012345)");
  });

  it("opens the item a notification names, shows its warnings and marks reported requesters", async () => {
    const shown = card("a");
    setup([shown, card("b", { requester: "spammer" })]);
    vi.mocked(api.itemDetail).mockResolvedValue(detailOf(shown));
    await screen.findAllByTestId("approval-card");
    fireEvent.click(screen.getByRole("button", { name: "History" }));
    act(() => {
      openItem("a");
    });
    expect(await screen.findByTestId("detail")).toHaveTextContent(shown.card.title);
    act(() => {
      warn("spammer submitted more than 10 approvals in 5 minutes");
      report("spammer");
    });
    expect(screen.getByTestId("notice")).toHaveTextContent("more than 10 approvals");
    const marked = screen.getAllByTestId("reported-mark");
    expect(marked).toHaveLength(1);
    expect(marked[0]?.closest('[data-testid="approval-card"]')).toHaveAttribute("data-job-id", "b");
  });
  it("counts drafts to countersign, reads them again on a draft event, and opens the one a notification names", async () => {
    setup([]);
    await screen.findByTestId("queue-empty");
    expect(screen.queryByTestId("drafts-count")).toBeNull();
    vi.mocked(api.policyDrafts).mockResolvedValue([draftReview().draft]);
    vi.mocked(api.reviewDraft).mockResolvedValue(draftReview());
    act(() => {
      pushEvent({ kind: "drafts_changed", seq: 11, draft_id: "drf-1" });
    });
    expect(await screen.findByTestId("drafts-count")).toHaveTextContent("1");
    act(() => {
      openDraft("drf-1");
    });
    expect(await screen.findByTestId("draft-title")).toHaveTextContent("t");
    expect(api.reviewDraft).toHaveBeenCalledWith("drf-1");
    expect(screen.getByTestId("policy-tab")).toHaveAttribute("aria-current", "page");
  });
});
