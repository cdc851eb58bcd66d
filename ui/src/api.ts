import { invoke, isTauri } from "@tauri-apps/api/core";
import { listen, type UnlistenFn } from "@tauri-apps/api/event";
import type { AppSettings } from "./bindings/AppSettings";
import type { ChainCheck } from "./bindings/ChainCheck";
import type { ConnectRequest } from "./bindings/ConnectRequest";
import type { DecisionRequest } from "./bindings/DecisionRequest";
import type { DecisionView } from "./bindings/DecisionView";
import type { DeskMessage } from "./bindings/DeskMessage";
import type { DetailView } from "./bindings/DetailView";
import type { DraftDecisionRequest } from "./bindings/DraftDecisionRequest";
import type { DraftDecisionView } from "./bindings/DraftDecisionView";
import type { DraftReview } from "./bindings/DraftReview";
import type { ExportResult } from "./bindings/ExportResult";
import type { HistoryPage } from "./bindings/HistoryPage";
import type { HistoryQuery } from "./bindings/HistoryQuery";
import type { PolicyDraft } from "./bindings/PolicyDraft";
import type { ProfileView } from "./bindings/ProfileView";
import type { QueueSnapshot } from "./bindings/QueueSnapshot";
import type { SeenItem } from "./bindings/SeenItem";
import type { SessionView } from "./bindings/SessionView";

/** Every backend call goes through this module so tests can replace it with `vi.mock`. */

export function sessionInfo(): Promise<SessionView | null> {
  return call("session_info");
}

export function startDemo(): Promise<SessionView> {
  return call("start_demo");
}

export function listProfiles(): Promise<ProfileView[]> {
  return call("list_profiles");
}

export function openProfile(name: string): Promise<SessionView> {
  return call("open_profile", { name });
}

export function connectGateway(request: ConnectRequest): Promise<SessionView> {
  return call("connect_gateway", { request });
}

export function signInAgain(name: string, secret: string): Promise<SessionView> {
  return call("sign_in_again", { name, secret });
}

export function signOut(): Promise<null> {
  return call("sign_out");
}

/** The queue now; with `limit`, only its newest cards (`total` says how many there are). */
export function queueSnapshot(limit: number | null = null): Promise<QueueSnapshot> {
  return call("queue_snapshot", { limit });
}

export function decide(request: DecisionRequest): Promise<DecisionView> {
  return call("decide", { request });
}

export function itemDetail(seen: SeenItem): Promise<DetailView> {
  return call("item_detail", { seen });
}

/** The policy drafts of the open profile's tenant, open ones first. */
export function policyDrafts(): Promise<PolicyDraft[]> {
  return call("policy_drafts");
}

/** One draft in full; a decision on it is bound to the snapshot this returned. */
export function reviewDraft(draftId: string): Promise<DraftReview> {
  return call("review_draft", { draftId });
}

export function decideDraft(request: DraftDecisionRequest): Promise<DraftDecisionView> {
  return call("decide_draft", { request });
}

export function historyQuery(query: HistoryQuery): Promise<HistoryPage> {
  return call("history_query", { query });
}

export function historyVerify(): Promise<ChainCheck> {
  return call("history_verify");
}

/** Asks where in a native save dialog; `null` when the reviewer cancels. */
export function exportHistory(): Promise<ExportResult | null> {
  return call("export_history");
}

export function exportEvidence(jobId: string): Promise<ExportResult | null> {
  return call("export_evidence", { jobId });
}

export function getSettings(): Promise<AppSettings> {
  return call("get_settings");
}

export function setSettings(settings: AppSettings): Promise<AppSettings> {
  return call("set_settings", { settings });
}

/** Whether the app opens at login (hidden, in the tray); `enable` changes it first. */
export function openAtLogin(enable: boolean | null): Promise<boolean> {
  return call("open_at_login", { enable });
}

/** Queue events from the Rust side, in `seq` order, each naming the desk it comes from. */
export function onDeskEvent(handler: (message: DeskMessage) => void): Promise<UnlistenFn> {
  requireTauri();
  return listen<DeskMessage>("desk", (event) => {
    handler(event.payload);
  });
}

/** A profile was opened (at start, or by another command). */
export function onSession(handler: (session: SessionView) => void): Promise<UnlistenFn> {
  requireTauri();
  return listen<SessionView>("session", (event) => {
    handler(event.payload);
  });
}

/** A notification's Open (or a click on its body): show this item (`null`: the queue). */
export function onOpenItem(handler: (jobId: string | null) => void): Promise<UnlistenFn> {
  requireTauri();
  return listen<string | null>("open-item", (event) => {
    handler(event.payload);
  });
}

/** A policy draft's notification was opened: show that draft. */
export function onOpenDraft(handler: (draftId: string) => void): Promise<UnlistenFn> {
  requireTauri();
  return listen<string>("open-draft", (event) => {
    handler(event.payload);
  });
}

/** Something about notifications the reviewer should read (a flood from one requester). */
export function onNotificationWarning(handler: (message: string) => void): Promise<UnlistenFn> {
  requireTauri();
  return listen<string>("notification-warning", (event) => {
    handler(event.payload);
  });
}

/** A requester was reported from a notification (muted for a while). */
export function onRequesterReported(handler: (requester: string) => void): Promise<UnlistenFn> {
  requireTauri();
  return listen<string>("requester-reported", (event) => {
    handler(event.payload);
  });
}

/** The settings changed outside the window (the tray's "Pause notifications"). */
export function onSettings(handler: (settings: AppSettings) => void): Promise<UnlistenFn> {
  requireTauri();
  return listen<AppSettings>("settings", (event) => {
    handler(event.payload);
  });
}

async function call<T>(command: string, args?: Record<string, unknown>): Promise<T> {
  requireTauri();
  return invoke<T>(command, args);
}

// Outside the desktop shell (e.g. `npm run dev` in a browser) `invoke` fails with an
// opaque TypeError; say what is actually wrong instead.
function requireTauri(): void {
  if (!isTauri()) {
    throw new Error("not running inside the Countersign desktop app");
  }
}
