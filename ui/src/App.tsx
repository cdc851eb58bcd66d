import { useCallback, useEffect, useMemo, useRef, useState } from "react";
import type { CardView } from "./bindings/CardView";
import { ConfirmHashDialog } from "./components/ConfirmHashDialog";
import { DetailPane } from "./components/DetailPane";
import { FilterBar } from "./components/FilterBar";
import { FirstRun } from "./components/FirstRun";
import { Footer } from "./components/Footer";
import { CONNECT_CHOICE, DEMO_CHOICE, Header, type View } from "./components/Header";
import { HelpDialog } from "./components/HelpDialog";
import { HistoryView } from "./components/HistoryView";
import { PolicyView } from "./components/PolicyView";
import { QueueList } from "./components/QueueList";
import { ReasonDialog } from "./components/ReasonDialog";
import { SettingsView } from "./components/SettingsView";
import { SignInAgain } from "./components/SignInAgain";
import { count } from "./format";
import { isTyping, keyCommand } from "./keys";
import { applyFilter, facets } from "./model/filter";
import { cardKey, isSettling, liveCards, SETTLE_MS } from "./model/queue";
import { useChecks } from "./useChecks";
import { useDesk } from "./useDesk";
import { useDrafts } from "./useDrafts";
import { useNotificationEvents } from "./useNotificationEvents";
import { useSessionActions } from "./useSessionActions";
import { useSettings } from "./useSettings";

type DialogState =
  | { kind: "reject"; cards: CardView[] }
  | { kind: "confirm"; card: CardView }
  | { kind: "help" }
  | null;

export function App() {
  const desk = useDesk();
  const { session, queue, decide, dispatch } = desk;
  const [view, setView] = useState<View>("queue");
  const { settings, update: updateSettings, filter, setFilter } = useSettings(session);
  const drafts = useDrafts(session, queue.draftsVersion);
  const [currentId, setCurrentId] = useState<string | null>(null);
  /** Selected cards by job id, each with the identity ([`cardKey`]) it had when selected. */
  const [selected, setSelected] = useState<ReadonlyMap<string, string>>(new Map());
  const [openId, setOpenId] = useState<string | null>(null);
  const [dialog, setDialog] = useState<DialogState>(null);
  const [bulkReport, setBulkReport] = useState<string | null>(null);
  const [now, setNow] = useState(() => Date.now());
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

  const cards = queue.cards;
  const shown = useMemo(() => applyFilter(cards, filter), [cards, filter]);
  const counts = useMemo(() => facets(liveCards(queue)), [queue]);
  // The current card is only ever one the reviewer chose (j/k, a click). When it leaves, none is
  // current: falling back to another card would let the next `a` approve what nobody looked at.
  const current = shown.find((c) => c.card.job_id === currentId) ?? null;
  const currentJob = current?.card.job_id ?? null;
  const opened = openId === null ? null : (cards.find((c) => c.card.job_id === openId) ?? null);
  const pending = cards.length - Object.keys(queue.departed).length + queue.unloaded;
  // A decided card stays on screen for a moment, faded; it is no longer pending.
  const shownPending = useMemo(() => shown.filter((c) => !(c.card.job_id in queue.departed)).length, [shown, queue.departed]);

  const checks = useChecks(queue, shown, current, now);
  const { loadDetail } = checks;
  const sessions = useSessionActions({
    session,
    setSession: desk.setSession,
    onOpened: () => {
      setOpenId(null);
      setSelected(new Map());
      checks.reset();
      setView("queue");
    },
  });

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
    (card: CardView, byPointer = false, movedAt = 0) => {
      if (approveBlocked(card) !== null) return;
      const moment = Date.now();
      const movedUnderPointer = byPointer && moment - movedAt < SETTLE_MS;
      if (movedUnderPointer || isSettling(queue, card.card.job_id, moment, byPointer)) {
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

  // A notification's Open: the window shows the queue, on that item's detail when it is still here.
  const openRef = useRef(open);
  const cardsRef = useRef(cards);
  useEffect(() => {
    openRef.current = open;
    cardsRef.current = cards;
  });
  const openFromNotification = useCallback((jobId: string | null) => {
    setView("queue");
    const card = jobId === null ? undefined : cardsRef.current.find((c) => c.card.job_id === jobId);
    if (card) openRef.current(card);
  }, []);
  /** A draft a notification opened; `n` makes a second Open of the same draft open it again. */
  const [openDraft, setOpenDraft] = useState<{ id: string | null; n: number }>({ id: null, n: 0 });
  const openDraftFromNotification = useCallback((draftId: string) => {
    setView("policy");
    setOpenDraft((old) => ({ id: draftId, n: old.n + 1 }));
  }, []);
  const reported = useNotificationEvents(dispatch, openFromNotification, openDraftFromNotification);

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
    const command = keyCommand(event, afterG.current, settings.single_key_shortcuts);
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

  const showSignIn = sessions.reauth !== null;
  const showFirstRun = !showSignIn && (session === null || sessions.connecting);
  const showDesk = session && !showSignIn && !showFirstRun;
  return (
    <div className="app">
      <Header
        session={session ?? null}
        view={view}
        pending={pending}
        drafts={drafts.open}
        profiles={sessions.profiles}
        onView={(v) => {
          setView(v);
          setOpenId(null);
        }}
        onSwitch={(choice) => {
          if (choice === CONNECT_CHOICE) sessions.startConnecting();
          else if (choice === DEMO_CHOICE) sessions.tryDemo();
          else sessions.open(choice);
        }}
        onSignOut={sessions.signOut}
        onHelp={() => {
          setDialog({ kind: "help" });
        }}
      />
      <main className="app-main">
        {session === undefined && <p className="muted">Starting…</p>}
        {sessions.reauth && (
          <SignInAgain
            profile={sessions.reauth}
            busy={sessions.busy}
            error={sessions.error}
            onSubmit={sessions.signInAgain}
            onCancel={sessions.cancel}
          />
        )}
        {showFirstRun && (
          <FirstRun
            busy={sessions.busy}
            error={sessions.error ?? desk.startupError}
            profiles={sessions.profiles}
            onOpen={sessions.open}
            onConnect={sessions.connect}
            onDemo={sessions.tryDemo}
            onCancel={session ? sessions.cancel : undefined}
          />
        )}
        {showDesk && sessions.error && (
          <p className="notice notice-stale" role="alert" data-testid="switch-error">
            {sessions.error}
            <button type="button" className="link-button" onClick={sessions.clearError} aria-label="Dismiss">
              ×
            </button>
          </p>
        )}
        {showDesk && view === "history" && <HistoryView key={session.desk} />}
        {showDesk && view === "policy" && (
          <PolicyView
            key={`${String(session.desk)}:${String(openDraft.n)}`}
            desk={session.desk}
            drafts={drafts.drafts}
            error={drafts.error}
            version={queue.draftsVersion}
            initialDraft={openDraft.id}
            onDecided={drafts.refresh}
          />
        )}
        {showDesk && view === "settings" && <SettingsView settings={settings} onChange={updateSettings} />}
        {showDesk && view === "queue" && (
          <div className={opened ? "queue-layout with-detail" : "queue-layout"}>
            <section className="queue" data-testid="queue" aria-labelledby="queue-heading">
              <h2 id="queue-heading" className="visually-hidden">
                Pending approvals
              </h2>
              <FilterBar filter={filter} facets={counts} shown={shownPending} total={pending} searchRef={searchRef} onChange={setFilter} />
              {queue.unloaded > 0 && (
                <p className="notice" role="status" data-testid="queue-loading">
                  {`Loading ${count(queue.unloaded)} more…`}
                </p>
              )}
              {queue.notices.map((notice) => (
                <p key={notice.seq} className="notice" role="status" data-testid="notice" data-code={notice.code}>
                  {notice.message}
                  <button type="button" className="link-button" onClick={() => { dispatch({ type: "dismiss_notice", seq: notice.seq }); }} aria-label="Dismiss">
                    ×
                  </button>
                </p>
              ))}
              {queue.status.state === "reauth" && (
                <p className="notice notice-stale" role="alert" data-testid="reauth-notice">
                  The gateway ended this session: approvals are disabled until you sign in again.
                  <button type="button" className="button" onClick={sessions.askSignIn}>
                    Sign in again
                  </button>
                </p>
              )}
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
                  verdicts={checks.verdicts}
                  outcomes={queue.outcomes}
                  departed={queue.departed}
                  reported={reported}
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
                detail={checks.detailOf(opened)?.data ?? null}
                error={checks.detailOf(opened)?.error ?? null}
                loading={checks.loading}
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
          singleKeys={settings.single_key_shortcuts}
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
