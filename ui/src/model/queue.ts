import type { CardView } from "../bindings/CardView";
import type { ConnectionStatus } from "../bindings/ConnectionStatus";
import type { DecisionView } from "../bindings/DecisionView";
import type { DeskEvent } from "../bindings/DeskEvent";
import type { DeskMessage } from "../bindings/DeskMessage";
import type { QueueSnapshot } from "../bindings/QueueSnapshot";
import type { CardOutcome } from "./outcome";

/** How long a card that left the queue stays on screen, naming who resolved it. */
export const DEPARTURE_MS = 4000;
/** A card that just appeared or changed ignores approve clicks for this long (misclicks). */
export const SETTLE_MS = 500;

export interface Departure {
  by: string | null;
  status: string | null;
  at: number;
}

export interface Notice {
  seq: number;
  code: string;
  message: string;
}

export interface QueueModel {
  /** The desk the queue is of; -1 before the first snapshot. Messages of other desks are dropped. */
  desk: number;
  /** The seq of the last snapshot or event applied; -1 before the first snapshot. */
  seq: number;
  /** Newest first. */
  cards: CardView[];
  status: ConnectionStatus;
  /** What the reviewer's last decision on a card became, by the card's identity ([`cardKey`]). */
  outcomes: Record<string, CardOutcome>;
  /** Cards that left the queue, still shown for a moment. */
  departed: Record<string, Departure>;
  /** When each card last appeared or changed (ms), for the misclick guard. */
  changedAt: Record<string, number>;
  /** When cards last moved on screen (one arrived or left above others), for the same guard. */
  reflowAt: number;
  notices: Notice[];
  /** Bumped on every policy-draft event, so the Policy section reads the drafts again. */
  draftsVersion: number;
  /** Cards the last snapshot left out (it was the first screen only); 0 once all are in. */
  unloaded: number;
  /**
   * Messages that arrived before the first snapshot, or since a first screen: the whole
   * queue's snapshot that follows applies the ones newer than itself again.
   */
  early: DeskMessage[];
}

export type QueueAction =
  | { type: "snapshot"; snapshot: QueueSnapshot; now: number }
  | { type: "event"; message: DeskMessage; now: number }
  /** Events that arrived together, applied in one pass. */
  | { type: "events"; messages: DeskMessage[]; now: number }
  | { type: "outcome"; key: string; outcome: CardOutcome | null }
  | { type: "sweep"; now: number }
  | { type: "dismiss_notice"; seq: number }
  /** A notice from the app itself (not a desk event), e.g. about notifications. */
  | { type: "local_notice"; code: string; message: string; now: number }
  | { type: "reset" };

const MAX_NOTICES = 5;

/** A card's identity: an outcome or a verdict belongs to this version of the card only. */
export function cardKey(card: CardView): string {
  return `${card.card.job_id}:${card.seen.job_hash}:${card.seen.policy_snapshot}`;
}

export function initialQueue(): QueueModel {
  return {
    desk: -1,
    seq: -1,
    cards: [],
    status: { state: "connecting", offline_since_ms: null, last_sync_ms: null, message: "", generation: "", complete: true },
    outcomes: {},
    departed: {},
    changedAt: {},
    reflowAt: 0,
    notices: [],
    draftsVersion: 0,
    unloaded: 0,
    early: [],
  };
}

export function queueReducer(model: QueueModel, action: QueueAction): QueueModel {
  switch (action.type) {
    case "snapshot": {
      const { snapshot, now } = action;
      const next: QueueModel = {
        ...model,
        desk: snapshot.desk,
        seq: snapshot.seq,
        cards: snapshot.cards,
        status: snapshot.status,
        departed: {},
        unloaded: Math.max(0, snapshot.total - snapshot.cards.length),
        early: [],
        changedAt: Object.fromEntries(snapshot.cards.map((c) => [c.card.job_id, model.changedAt[c.card.job_id] ?? now])),
      };
      const early = model.early.filter((m) => m.desk === snapshot.desk);
      const applied = applyEvents(next, early.map((m) => m.event), now);
      return next.unloaded > 0 ? { ...applied, early } : applied;
    }
    case "event":
      return queueReducer(model, { type: "events", messages: [action.message], now: action.now });
    case "events": {
      if (model.seq < 0) return { ...model, early: [...model.early, ...action.messages] };
      const mine = action.messages.filter((m) => m.desk === model.desk);
      const applied = applyEvents(model, mine.map((m) => m.event), action.now);
      return model.unloaded > 0 ? { ...applied, early: [...model.early, ...mine] } : applied;
    }
    case "outcome": {
      const outcomes =
        action.outcome === null ? without(model.outcomes, action.key) : { ...model.outcomes, [action.key]: action.outcome };
      return { ...model, outcomes };
    }
    case "sweep": {
      const gone = Object.entries(model.departed)
        .filter(([, d]) => action.now - d.at >= DEPARTURE_MS)
        .map(([id]) => id);
      if (gone.length === 0) return model;
      const goneSet = new Set(gone);
      const keep = <T,>(record: Record<string, T>) =>
        Object.fromEntries(Object.entries(record).filter(([id]) => !goneSet.has(id.split(":")[0] ?? id)));
      return {
        ...model,
        departed: keep(model.departed),
        changedAt: keep(model.changedAt),
        outcomes: keep(model.outcomes),
        cards: model.cards.filter((c) => !goneSet.has(c.card.job_id)),
        reflowAt: action.now,
      };
    }
    case "dismiss_notice":
      return { ...model, notices: model.notices.filter((n) => n.seq !== action.seq) };
    case "local_notice":
      // Negative keys never meet a desk event's seq.
      return {
        ...model,
        notices: [...model.notices, { seq: -action.now, code: action.code, message: action.message }].slice(-MAX_NOTICES),
        reflowAt: action.now,
      };
    case "reset":
      return initialQueue();
  }
}

/**
 * Applies events in `seq` order, skipping any already applied. One pass over the batch with an
 * index of the cards, so a burst of thousands of arrivals costs one copy of the queue, not one
 * per event.
 */
function applyEvents(model: QueueModel, events: readonly DeskEvent[], now: number): QueueModel {
  if (!events.some((e) => e.seq > model.seq)) return model;
  let seq = model.seq;
  let status = model.status;
  let reflowAt = model.reflowAt;
  const existing = model.cards.slice();
  /** Cards that arrived in this batch, oldest first. */
  const added: CardView[] = [];
  const where = new Map<string, { list: CardView[]; at: number }>();
  existing.forEach((c, at) => where.set(c.card.job_id, { list: existing, at }));
  const departed = copyOnWrite(model.departed);
  const outcomes = copyOnWrite(model.outcomes);
  const changedAt = copyOnWrite(model.changedAt);
  const notices = model.notices.slice();
  let draftsVersion = model.draftsVersion;
  for (const event of events) {
    if (event.seq <= seq) continue;
    seq = event.seq;
    switch (event.kind) {
      case "card": {
        const id = event.card.card.job_id;
        const place = where.get(id);
        const before = place?.list[place.at];
        if (place) {
          place.list[place.at] = event.card;
        } else {
          added.push(event.card);
          where.set(id, { list: added, at: added.length - 1 });
          reflowAt = now;
          // A card arriving (again) starts without an outcome; a changed one is keyed anew anyway.
          outcomes.delete(cardKey(event.card));
        }
        departed.delete(id);
        const identityChanged =
          before?.seen.job_hash !== event.card.seen.job_hash ||
          before.seen.policy_snapshot !== event.card.seen.policy_snapshot ||
          before.seen.content_digest !== event.card.seen.content_digest;
        if (identityChanged) changedAt.set(id, now);
        break;
      }
      case "removed":
        if (where.has(event.job_id)) departed.set(event.job_id, { by: event.by, status: event.status, at: now });
        break;
      case "status":
        status = event.status;
        break;
      case "decision": {
        // A recovered decision names no hash: it belongs to whatever version of the job is
        // shown, which the gateway has just resolved.
        const place = where.get(event.decision.job_id);
        const shown = place?.list[place.at];
        outcomes.set(shown ? cardKey(shown) : event.decision.job_id, decided(event.decision));
        break;
      }
      case "notice":
        notices.push({ seq, code: event.code, message: event.message });
        break;
      case "drafts_changed":
        draftsVersion += 1;
        break;
    }
  }
  return {
    ...model,
    seq,
    status,
    reflowAt,
    cards: added.length === 0 ? existing : [...added.reverse(), ...existing],
    departed: departed.result(),
    outcomes: outcomes.result(),
    changedAt: changedAt.result(),
    notices: notices.slice(-MAX_NOTICES),
    draftsVersion,
  };
}

/** A record copied on its first change only: most batches leave most records alone. */
function copyOnWrite<T>(original: Record<string, T>) {
  let copy: Record<string, T> | null = null;
  const writable = () => (copy ??= { ...original });
  return {
    set: (key: string, value: T) => {
      writable()[key] = value;
    },
    delete: (key: string) => {
      if (key in original || (copy !== null && key in copy)) Reflect.deleteProperty(writable(), key);
    },
    result: () => copy ?? original,
  };
}

function decided(decision: DecisionView): CardOutcome {
  return { kind: "decided", decision };
}

/** Cards a reviewer can still act on (not departed). */
export function liveCards(model: QueueModel): CardView[] {
  return model.cards.filter((c) => !(c.card.job_id in model.departed));
}

/**
 * Whether an approve of this card should be ignored as a likely misclick: the card just
 * appeared or changed, or (for a pointer click) the list just moved under the pointer, so the
 * card under it may not be the one the reviewer aimed at.
 */
export function isSettling(model: QueueModel, jobId: string, now: number, byPointer = false): boolean {
  const at = model.changedAt[jobId];
  if (at !== undefined && now - at < SETTLE_MS) return true;
  return byPointer && now - model.reflowAt < SETTLE_MS;
}

function without<T>(record: Record<string, T>, key: string): Record<string, T> {
  return Object.fromEntries(Object.entries(record).filter(([k]) => k !== key));
}
