import { useCallback, useEffect, useMemo, useRef, useState } from "react";
import * as api from "./api";
import type { CardView } from "./bindings/CardView";
import type { ConnectRequest } from "./bindings/ConnectRequest";
import type { DetailView } from "./bindings/DetailView";
import type { ProfileView } from "./bindings/ProfileView";
import type { Theme } from "./bindings/Theme";
import type { Verdict } from "./bindings/Verdict";
import { ConfirmHashDialog } from "./components/ConfirmHashDialog";
import { DetailPane } from "./components/DetailPane";
import { FilterBar } from "./components/FilterBar";
import { FirstRun } from "./components/FirstRun";
import { Footer } from "./components/Footer";
import { CONNECT_CHOICE, DEMO_CHOICE, Header, type View } from "./components/Header";
import { HelpDialog } from "./components/HelpDialog";
import { HistoryView } from "./components/HistoryView";
import { QueueList } from "./components/QueueList";
import { ReasonDialog } from "./components/ReasonDialog";
import { toBackendError } from "./errors";
import { isTyping, keyCommand } from "./keys";
import { applyFilter, facets, NO_FILTER, type QueueFilter } from "./model/filter";
import { cardKey, isSettling, liveCards } from "./model/queue";
import { useTheme } from "./theme";
import { useDesk } from "./useDesk";

type DialogState =
  | { kind: "reject"; cards: CardView[] }
  | { kind: "confirm"; card: CardView }
  | { kind: "help" }
  | null;

/** A verdict holds for this version of the card and its loaded content only. */
const verdictKey = (view: CardView, policyEpoch: number) => `${cardKey(view)}:${view.seen.content_digest}:${String(policyEpoch)}`;
/** A check that failed (the gateway unreachable) is tried again after this long. */
const RECHECK_MS = 30_000;

interface Checked {
  verdict: Verdict | null;
  at: number;
}

const needsCheck = (entry: Checked | undefined, now: number) =>
  entry === undefined || (entry.verdict === null && now - entry.at >= RECHECK_MS);

export function App() {
  const desk = useDesk();
  const { session, queue, decide, dispatch } = desk;
  const [view, setView] = useState<View>("queue");
  const [filter, setFilter] = useState<QueueFilter>(NO_FILTER);
  const [currentId, setCurrentId] = useState<string | null>(null);
  /** Selected cards by job id, each with the identity ([`cardKey`]) it had when selected. */
  const [selected, setSelected] = useState<ReadonlyMap<string, string>>(new Map());
  const [openId, setOpenId] = useState<string | null>(null);
  const [detail, setDetail] = useState<{ key: string; data: DetailView | null; error: string | null; loading: boolean } | null>(null);
  const [checks, setChecks] = useState<Record<string, Checked | undefined>>({});
  const [dialog, setDialog] = useState<DialogState>(null);
  const [profiles, setProfiles] = useState<ProfileView[]>([]);
  const [connecting, setConnecting] = useState(false);
  const [busy, setBusy] = useState(false);
  const [connectError, setConnectError] = useState<string | null>(null);
  const [bulkReport, setBulkReport] = useState<string | null>(null);
  const [now, setNow] = useState(() => Date.now());
  const [theme, setTheme] = useState<Theme>("system");
  useTheme(theme);
  const searchRef = useRef<HTMLInputElement>(null);
  const afterG = useRef(false);

  useEffect(() => {
    const timer = setInterval(() => {
      setNow(Date.now());
    }, 1000);
    return () => {
      clearInterval(timer);
    };
  }, []);

  useEffect(() => {
    if (session === undefined) return;
    api.listProfiles().then(setProfiles, () => undefined);
    api.getSettings().then(
      (settings) => {
        setTheme(settings.theme);
      },
      () => undefined,
    );
  }, [session]);

  const cards = queue.cards;
  const shown = useMemo(() => applyFilter(cards, filter), [cards, filter]);
  const counts = useMemo(() => facets(liveCards(queue)), [queue]);
  // The current card is only ever one the reviewer chose (j/k, a click). When it leaves, none is
  // current: falling back to another card would let the next `a` approve what nobody looked at.
  const current = shown.find((c) => c.card.job_id === currentId) ?? null;
  const currentJob = current?.card.job_id ?? null;
  const opened = openId === null ? null : (cards.find((c) => c.card.job_id === openId) ?? null);
  const pending = cards.length - Object.keys(queue.departed).length;

  // A new policy may change every verdict: checks made before it no longer count.
  const policyEpoch = queue.notices.filter((n) => n.code === "policy_changed").reduce((max, n) => Math.max(max, n.seq), 0);
  const keyOf = useCallback((card: CardView) => verdictKey(card, policyEpoch), [policyEpoch]);

  const loadDetail = useCallback(async (card: CardView, showLoading: boolean) => {
    const key = keyOf(card);
    if (showLoading) setDetail((d) => ({ key, data: d?.key === key ? d.data : null, error: null, loading: true }));
    try {
      const data = await api.itemDetail(card.seen);
      setChecks((v) => ({ ...v, [key]: { verdict: data.verdict, at: Date.now() } }));
      // A slow answer for another card never replaces the detail on screen.
      setDetail((d) => (d?.key === key ? { key, data, error: null, loading: false } : d));
    } catch (rejection: unknown) {
      const message = toBackendError(rejection).message;
      // Remembered for a while, so the background check does not loop on an unreachable gateway.
      setChecks((v) => ({ ...v, [key]: { verdict: v[key]?.verdict ?? null, at: Date.now() } }));
      setDetail((d) => (d?.key === key ? { key, data: d.data, error: message, loading: false } : d));
    }
  }, [keyOf]);

  // The current card is checked in the background so its badge says what an approve would get.
  const currentKey = current ? keyOf(current) : null;
  useEffect(() => {
    if (!current || currentKey === null || !current.content_ready || !needsCheck(checks[currentKey], Date.now())) return;
    const timer = setTimeout(() => {
      void loadDetail(current, false);
    }, 300);
    return () => {
      clearTimeout(timer);
    };
  }, [current, currentKey, checks, loadDetail]);

  // The first cards on screen are checked too, one at a time, so their badges are not blank.
  const unchecked = shown.slice(0, 8).find((c) => c.content_ready && needsCheck(checks[keyOf(c)], now));
  useEffect(() => {
    if (!unchecked) return;
    const timer = setTimeout(() => {
      void loadDetail(unchecked, false);
    }, 600);
    return () => {
      clearTimeout(timer);
    };
  }, [unchecked, loadDetail]);

  // The badges' verdicts, by card identity, from checks made under the current policy.
  const verdicts = useMemo(() => {
    const suffix = `:${String(policyEpoch)}`;
    return Object.fromEntries(
      Object.entries(checks)
        .filter(([key]) => key.endsWith(suffix))
        .map(([key, entry]) => [key.slice(0, -suffix.length), entry?.verdict ?? undefined]),
    );
  }, [checks, policyEpoch]);

  const approveBlocked = useCallback(
    (card: CardView): string | null => {
      if (card.card.job_id in queue.departed) return "This item was resolved";
      if (!card.content_ready) return "Loading the card's content…";
      if (card.deadline_ms !== null && card.deadline_ms <= now) return "Expired: it can no longer be approved";
      if (queue.status.state === "offline") return "The gateway is unreachable: an approve needs a fresh check";
      if (queue.status.state === "reauth") return "Sign in again to approve";
      return null;
    },
    [queue.departed, queue.status.state, now],
  );

  const approve = useCallback(
    (card: CardView, byPointer = false) => {
      if (approveBlocked(card) !== null) return;
      if (isSettling(queue, card.card.job_id, Date.now(), byPointer)) {
        dispatch({
          type: "outcome",
          key: cardKey(card),
          outcome: { kind: "blocked", code: "just_changed", message: "This card just appeared, changed or moved: look again, then approve." },
        });
        return;
      }
      if (card.high_risk) {
        setDialog({ kind: "confirm", card });
        return;
      }
      void decide(card, "approve", "");
    },
    [approveBlocked, queue, dispatch, decide],
  );

  const reject = useCallback((card: CardView) => {
    setDialog({ kind: "reject", cards: [card] });
  }, []);

  const open = useCallback(
    (card: CardView) => {
      setCurrentId(card.card.job_id);
      setOpenId(card.card.job_id);
      void loadDetail(card, true);
    },
    [loadDetail],
  );

  const focusCard = useCallback((card: CardView) => {
    setCurrentId(card.card.job_id);
  }, []);

  const toggle = useCallback((card: CardView) => {
    setSelected((old) => {
      const next = new Map(old);
      if (next.has(card.card.job_id)) next.delete(card.card.job_id);
      else next.set(card.card.job_id, cardKey(card));
      return next;
    });
  }, []);

  // A selection holds only while the card shows what it showed when selected, is shown under the
  // current filter, and is still in the queue.
  const selectedCards = useMemo(() => {
    const live = new Set(liveCards(queue).map((c) => c.card.job_id));
    return shown.filter((c) => live.has(c.card.job_id) && selected.get(c.card.job_id) === cardKey(c));
  }, [queue, shown, selected]);
  const selectedIds = useMemo(() => new Set(selectedCards.map((c) => c.card.job_id)), [selectedCards]);

  const approveSelected = async () => {
    const moment = Date.now();
    const calm = selectedCards.filter(
      (c) => !c.high_risk && approveBlocked(c) === null && !isSettling(queue, c.card.job_id, moment),
    );
    const skipped = selectedCards.length - calm.length;
    let approved = 0;
    for (const card of calm) {
      if (await decide(card, "approve", "")) approved += 1;
    }
    const failed = calm.length - approved;
    setBulkReport(
      `Approved ${String(approved)}` +
        (failed ? `, ${String(failed)} not approved (see each card)` : "") +
        (skipped ? `, ${String(skipped)} skipped (high risk or not approvable: approve those one by one)` : ""),
    );
    setSelected(new Map());
  };

  const move = (by: 1 | -1, select: boolean) => {
    if (shown.length === 0) return;
    const index = shown.findIndex((c) => c.card.job_id === currentJob);
    const nextIndex = Math.min(shown.length - 1, Math.max(0, index < 0 ? 0 : index + by));
    const from = shown[index];
    const to = shown[nextIndex];
    if (select && from) toggle(from);
    if (to) setCurrentId(to.card.job_id);
  };

  const onKey = (event: KeyboardEvent) => {
    if (dialog !== null || isTyping(event.target)) return;
    if (event.target instanceof HTMLButtonElement && (event.key === "Enter" || event.key === " ")) return;
    const command = keyCommand(event, afterG.current);
    afterG.current = command?.type === "prefix";
    if (!command) return;
    event.preventDefault();
    switch (command.type) {
      case "move":
        if (view === "queue") move(command.by, command.select);
        break;
      case "toggle":
        if (current) toggle(current);
        break;
      case "open":
        if (current && view === "queue") open(current);
        break;
      case "approve":
        if (current && view === "queue") approve(current);
        break;
      case "reject":
        if (current && view === "queue") reject(current);
        break;
      case "search":
        setView("queue");
        setTimeout(() => searchRef.current?.focus(), 0);
        break;
      case "view":
        setView(command.view);
        setOpenId(null);
        break;
      case "help":
        setDialog({ kind: "help" });
        break;
      case "escape":
        if (openId !== null) setOpenId(null);
        else if (view !== "queue") setView("queue");
        else setSelected(new Map());
        break;
      case "prefix":
        break;
    }
  };
  const onKeyRef = useRef(onKey);
  useEffect(() => {
    onKeyRef.current = onKey;
  });
  useEffect(() => {
    const listener = (event: KeyboardEvent) => {
      onKeyRef.current(event);
    };
    window.addEventListener("keydown", listener);
    return () => {
      window.removeEventListener("keydown", listener);
    };
  }, []);

  const openSession = async (work: () => Promise<unknown>) => {
    setBusy(true);
    setConnectError(null);
    try {
      await work();
      setConnecting(false);
      setOpenId(null);
      setSelected(new Map());
      setChecks({});
      setView("queue");
    } catch (rejection: unknown) {
      setConnectError(toBackendError(rejection).message);
    } finally {
      setBusy(false);
    }
  };
  const connect = (request: ConnectRequest) =>
    void openSession(async () => {
      desk.setSession(await api.connectGateway(request));
    });
  const tryDemo = () =>
    void openSession(async () => {
      desk.setSession(await api.startDemo());
    });
  const switchTo = (choice: string) => {
    if (choice === CONNECT_CHOICE) setConnecting(true);
    else if (choice === DEMO_CHOICE) tryDemo();
    else
      void openSession(async () => {
        desk.setSession(await api.openProfile(choice));
      });
  };
  const signOut = () =>
    void openSession(async () => {
      await api.signOut();
      desk.setSession(null);
    });

  const showFirstRun = session === null || connecting;
  return (
    <div className="app">
      <Header
        session={session ?? null}
        view={view}
        pending={pending}
        profiles={profiles}
        onView={(v) => {
          setView(v);
          setOpenId(null);
        }}
        onSwitch={switchTo}
        onSignOut={signOut}
        onHelp={() => {
          setDialog({ kind: "help" });
        }}
      />
      <main className="app-main">
        {session === undefined && <p className="muted">Starting…</p>}
        {showFirstRun && (
          <FirstRun
            busy={busy}
            error={connectError ?? desk.startupError}
            onConnect={connect}
            onDemo={tryDemo}
            onCancel={session ? () => { setConnecting(false); } : undefined}
          />
        )}
        {session && !connecting && connectError && (
          <p className="notice notice-stale" role="alert" data-testid="switch-error">
            {connectError}
            <button type="button" className="link-button" onClick={() => { setConnectError(null); }} aria-label="Dismiss">
              ×
            </button>
          </p>
        )}
        {session && !connecting && view === "history" && <HistoryView key={session.desk} />}
        {session && !connecting && view === "queue" && (
          <div className={opened ? "queue-layout with-detail" : "queue-layout"}>
            <section className="queue" data-testid="queue" aria-labelledby="queue-heading">
              <h2 id="queue-heading" className="visually-hidden">
                Pending approvals
              </h2>
              <FilterBar filter={filter} facets={counts} shown={shown.length} total={cards.length} searchRef={searchRef} onChange={setFilter} />
              {queue.notices.map((notice) => (
                <p key={notice.seq} className="notice" role="status" data-testid="notice" data-code={notice.code}>
                  {notice.message}
                  <button type="button" className="link-button" onClick={() => { dispatch({ type: "dismiss_notice", seq: notice.seq }); }} aria-label="Dismiss">
                    ×
                  </button>
                </p>
              ))}
              {queue.status.state === "offline" && cards.length > 0 && (
                <p className="notice notice-stale" role="status">
                  The queue below is the last one known and may be stale.
                </p>
              )}
              {selectedCards.length > 0 && (
                <div className="bulk-bar" role="toolbar" aria-label="Selected approvals">
                  <span>{selectedCards.length} selected</span>
                  <button type="button" className="button button-approve" onClick={() => void approveSelected()}>
                    Approve selected
                  </button>
                  <button type="button" className="button button-reject" onClick={() => { setDialog({ kind: "reject", cards: selectedCards }); }}>
                    Reject selected
                  </button>
                </div>
              )}
              {bulkReport && (
                <p className="notice" role="status" data-testid="bulk-report">
                  {bulkReport}
                  <button type="button" className="link-button" onClick={() => { setBulkReport(null); }} aria-label="Dismiss">
                    ×
                  </button>
                </p>
              )}
              {shown.length === 0 ? (
                <p className="queue-empty" data-testid="queue-empty">
                  {cards.length === 0 ? "No approvals waiting. New requests appear here as they arrive." : "No approval matches the filter."}
                </p>
              ) : (
                <QueueList
                  cards={shown}
                  now={now}
                  currentId={currentJob}
                  selected={selectedIds}
                  verdicts={verdicts}
                  outcomes={queue.outcomes}
                  departed={queue.departed}
                  approveBlocked={approveBlocked}
                  onApprove={approve}
                  onReject={reject}
                  onOpen={open}
                  onFocus={focusCard}
                  onToggle={toggle}
                />
              )}
            </section>
            {opened && (
              <DetailPane
                view={opened}
                detail={detail?.key === keyOf(opened) ? detail.data : null}
                error={detail?.key === keyOf(opened) ? detail.error : null}
                loading={detail?.loading ?? false}
                onClose={() => {
                  setOpenId(null);
                }}
                onRefresh={() => void loadDetail(opened, true)}
              />
            )}
          </div>
        )}
      </main>
      <footer className="app-footer">
        <Footer status={queue.status} session={session ?? null} />
      </footer>
      {dialog?.kind === "help" && (
        <HelpDialog
          onClose={() => {
            setDialog(null);
          }}
        />
      )}
      {dialog?.kind === "reject" && (
        <ReasonDialog
          count={dialog.cards.length}
          title={dialog.cards.length === 1 ? (dialog.cards[0]?.card.title ?? "") : `${String(dialog.cards.length)} approvals`}
          onClose={() => {
            setDialog(null);
          }}
          onSubmit={(reason) => {
            const targets = dialog.cards;
            setDialog(null);
            setSelected(new Map());
            void (async () => {
              for (const card of targets) await decide(card, "reject", reason);
            })();
          }}
        />
      )}
      {dialog?.kind === "confirm" && (
        <ConfirmHashDialog
          title={dialog.card.card.title}
          jobHash={dialog.card.seen.job_hash}
          onClose={() => {
            setDialog(null);
          }}
          onSubmit={(typed) => {
            const card = dialog.card;
            setDialog(null);
            void decide(card, "approve", "", typed);
          }}
        />
      )}
    </div>
  );
}
