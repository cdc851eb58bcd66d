import { useCallback, useEffect, useReducer, useState } from "react";
import * as api from "./api";
import type { CardView } from "./bindings/CardView";
import type { DeskMessage } from "./bindings/DeskMessage";
import type { SessionView } from "./bindings/SessionView";
import { toBackendError } from "./errors";
import { outcomeOfError } from "./model/outcome";
import { cardKey, initialQueue, queueReducer } from "./model/queue";

const FRAME_MS = 16;
/**
 * Cards in the first snapshot: more than any window shows. A queue of 10,000 is about 17 MB
 * over the IPC (three quarters of a second in WebKitGTK); the first screen is drawn from
 * these, and the whole queue follows.
 */
export const FIRST_SCREEN_CARDS = 100;

export type DecideFn = (card: CardView, action: "approve" | "reject", reason: string, confirm?: string) => Promise<boolean>;

/**
 * The open session and its queue: the snapshot, then the Rust side's events in `seq` order,
 * and decisions bound to the card on screen (its `seen`), never to a fresh fetch.
 */
export function useDesk() {
  /** `undefined` while the backend is asked; `null` when no profile is open. */
  const [session, setSession] = useState<SessionView | null | undefined>(undefined);
  const [startupError, setStartupError] = useState<string | null>(null);
  const [queue, dispatch] = useReducer(queueReducer, undefined, initialQueue);

  useEffect(() => {
    let live = true;
    const unlisten: (() => void)[] = [];
    // Events are applied together once per frame: a burst of thousands costs one render.
    let buffered: DeskMessage[] = [];
    let flush: ReturnType<typeof setTimeout> | null = null;
    const subscribe = async () => {
      unlisten.push(
        await api.onDeskEvent((message) => {
          buffered.push(message);
          flush ??= setTimeout(() => {
            const messages = buffered;
            buffered = [];
            flush = null;
            if (live) dispatch({ type: "events", messages, now: Date.now() });
          }, FRAME_MS);
        }),
      );
      unlisten.push(
        await api.onSession((opened) => {
          if (live) setSession(opened);
        }),
      );
      const current = await api.sessionInfo();
      // An event may have opened a session meanwhile; an answer of "none" must not hide it.
      if (live) setSession((known) => known ?? current);
    };
    subscribe().catch((rejection: unknown) => {
      if (live) {
        setStartupError(toBackendError(rejection).message);
        setSession(null);
      }
    });
    return () => {
      live = false;
      if (flush) clearTimeout(flush);
      for (const stop of unlisten) stop();
    };
  }, []);

  // Every opened desk has its own number, even for the same profile signed in again.
  const sessionKey = session ? String(session.desk) : "";
  useEffect(() => {
    // A closed desk's queue and link state are not shown under no profile, nor under the next.
    dispatch({ type: "reset" });
    if (!sessionKey) return;
    let live = true;
    // Read after each await: the desk may have closed meanwhile.
    const open = () => live;
    const load = async () => {
      const first = await api.queueSnapshot(FIRST_SCREEN_CARDS);
      if (!open()) return;
      dispatch({ type: "snapshot", snapshot: first, now: Date.now() });
      if (first.total <= first.cards.length) return;
      const whole = await api.queueSnapshot();
      if (open()) dispatch({ type: "snapshot", snapshot: whole, now: Date.now() });
    };
    load().catch((rejection: unknown) => {
      if (open()) setStartupError(toBackendError(rejection).message);
    });
    return () => {
      live = false;
    };
  }, [sessionKey]);

  useEffect(() => {
    const timer = setInterval(() => {
      dispatch({ type: "sweep", now: Date.now() });
    }, 1000);
    return () => {
      clearInterval(timer);
    };
  }, []);

  const desk = session?.desk ?? -1;
  const decide: DecideFn = useCallback(
    async (card, action, reason, confirm) => {
      // The outcome belongs to this version of the card: a reply that comes back after the card
      // changed is never shown on the new version.
      const key = cardKey(card);
      dispatch({ type: "outcome", key, outcome: { kind: "sending", action } });
      try {
        const decision = await api.decide({ desk, seen: card.seen, action, reason, confirm: confirm ?? null });
        dispatch({ type: "outcome", key, outcome: { kind: "decided", decision } });
        return true;
      } catch (rejection: unknown) {
        dispatch({ type: "outcome", key, outcome: outcomeOfError(toBackendError(rejection)) });
        return false;
      }
    },
    [desk],
  );

  return { session, setSession, startupError, queue, dispatch, decide };
}
