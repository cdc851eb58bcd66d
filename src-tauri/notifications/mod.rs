//! Desktop notifications: carries out `countersign_desk::alerts`' rules over D-Bus and turns the
//! buttons pressed back into desk actions. One task owns all notification state, fed by the
//! desk's events, the server's (checked) signals and the window.

mod dbus;

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use countersign_core::outcome::DecisionAction;
use countersign_core::verify::SeenItem;
use countersign_desk::alerts::{
    AlertAction, AlertCommand, AlertKey, AlertTarget, Alerts, ForgeryLog,
};
use countersign_desk::session::now_ms;
use countersign_desk::{
    Channel, DecisionRequest, DecisionView, Desk, DeskEvent, DeskMessage, QuietHours,
};
use serde_json::json;
use tauri::{AppHandle, Emitter as _, Manager, Runtime};
use tokio::sync::mpsc;

use crate::settings::AppSettings;
use crate::state::AppState;
use crate::tray;
use dbus::{escape_markup, Server, ServerSignal};

/// Sent to the window: open the app on this item (`null`: on the queue).
pub const OPEN_EVENT: &str = "open-item";
/// Sent to the window: open the Policy section on this draft.
pub const OPEN_DRAFT_EVENT: &str = "open-draft";
/// Sent to the window: something about notifications the reviewer should read.
pub const WARNING_EVENT: &str = "notification-warning";
/// Sent to the window: a requester was reported from a notification.
pub const REPORTED_EVENT: &str = "requester-reported";

/// The reason a reject from a notification carries (the reviewer can say more in the app).
const REJECT_REASON: &str = "rejected from notification";

const QUIET_HOURS_TICK: std::time::Duration = std::time::Duration::from_secs(30);

fn local_minute_of_day() -> u16 {
    use chrono::Timelike;
    let now = chrono::Local::now();
    // At most 23 * 60 + 59: fits.
    (now.hour() * 60 + now.minute()) as u16
}

#[derive(Debug)]
pub enum Input {
    Desk(DeskMessage),
    Signal(ServerSignal),
    /// The window got focus: approving from notifications may resume.
    WindowFocused,
    /// Do not disturb as the settings say: paused by hand, or quiet hours.
    Quiet {
        paused: bool,
        hours: QuietHours,
    },
    /// The drafts as read after a draft event about `changed`.
    Drafts {
        desk: u64,
        changed: Option<String>,
        drafts: Vec<countersign_core::governance::PolicyDraft>,
    },
    /// A decision started from a notification finished.
    Decided {
        desk: u64,
        job_id: String,
        result: Result<String, String>,
    },
}

/// Where the window and the desk feed notification work.
#[derive(Debug, Clone)]
pub struct Notifications {
    input: mpsc::UnboundedSender<Input>,
}

impl Input {
    pub fn quiet(settings: &AppSettings) -> Self {
        Self::Quiet {
            paused: settings.do_not_disturb,
            hours: settings.quiet_hours,
        }
    }
}

impl Notifications {
    pub fn send(&self, input: Input) {
        // The task only ends with the app.
        let _ = self.input.send(input);
    }
}

/// Starts the notification task. Without a session bus or a notification server the app runs
/// on without notifications, and says so in its log.
pub fn start<R: Runtime>(app: &AppHandle<R>) -> Notifications {
    let (input, inputs) = mpsc::unbounded_channel();
    let handle = app.clone();
    let signals = input.clone();
    let back = input.clone();
    tauri::async_runtime::spawn(async move {
        let server = match Server::connect().await {
            Ok(server) => server,
            Err(error) => {
                tracing::warn!(%error, "no session bus: desktop notifications are off");
                return;
            }
        };
        let (signal_tx, mut signal_rx) = mpsc::unbounded_channel();
        let listener = server.clone();
        tauri::async_runtime::spawn(async move {
            if let Err(error) = listener.listen(signal_tx).await {
                tracing::warn!(%error, "notification actions cannot be received");
            }
        });
        tauri::async_runtime::spawn(async move {
            while let Some(signal) = signal_rx.recv().await {
                if signals.send(Input::Signal(signal)).is_err() {
                    break;
                }
            }
        });
        let markup = server.reads_markup().await;
        Task::new(handle, back, server, markup).run(inputs).await;
    });
    Notifications { input }
}

struct Task<R: Runtime> {
    app: AppHandle<R>,
    /// Its own input, for decisions reporting back.
    input: mpsc::UnboundedSender<Input>,
    server: Server,
    markup: bool,
    alerts: Alerts,
    /// The desk the state belongs to; another desk starts afresh.
    desk: u64,
    ids: HashMap<AlertKey, u32>,
    keys: HashMap<u32, AlertKey>,
    /// The random part of each notification's button keys.
    nonces: HashMap<u32, String>,
    /// New arrivals whose content is still loading: raised once it is bound to the card.
    arriving: HashSet<String>,
    /// Items raised once already (a changed card is withdrawn, not raised again).
    raised: HashSet<String>,
    /// Forged signals are all refused, but only some recorded.
    forgeries: ForgeryLog,
    /// Paused by hand (the setting, the tray).
    paused: bool,
    hours: QuietHours,
    /// What is in force: paused, or in quiet hours.
    do_not_disturb: bool,
    /// The count the tray shows.
    pending: Option<usize>,
}

impl<R: Runtime> Task<R> {
    fn new(
        app: AppHandle<R>,
        input: mpsc::UnboundedSender<Input>,
        server: Server,
        markup: bool,
    ) -> Self {
        Self {
            app,
            input,
            server,
            markup,
            alerts: Alerts::default(),
            desk: 0,
            ids: HashMap::new(),
            keys: HashMap::new(),
            nonces: HashMap::new(),
            arriving: HashSet::new(),
            raised: HashSet::new(),
            forgeries: ForgeryLog::default(),
            paused: false,
            hours: QuietHours::default(),
            do_not_disturb: false,
            pending: None,
        }
    }

    async fn run(mut self, mut inputs: mpsc::UnboundedReceiver<Input>) {
        // Quiet hours start and end on the minute; a half-minute tick is late by 30 s at most.
        let mut clock = tokio::time::interval(QUIET_HOURS_TICK);
        loop {
            let input = tokio::select! {
                input = inputs.recv() => match input {
                    Some(input) => input,
                    None => return,
                },
                _ = clock.tick() => {
                    self.enforce_quiet().await;
                    continue;
                }
            };
            let desk = self.app.state::<AppState>().current().await;
            match input {
                Input::Desk(message) => self.on_desk(desk.as_ref(), message).await,
                Input::Signal(signal) => self.on_signal(desk, signal).await,
                Input::WindowFocused => self.alerts.window_opened(),
                Input::Quiet { paused, hours } => {
                    self.paused = paused;
                    self.hours = hours;
                    tray::show_paused(&self.app, paused);
                    self.enforce_quiet().await;
                }
                Input::Drafts {
                    desk: from,
                    changed,
                    drafts,
                } => {
                    if from != self.desk {
                        continue;
                    }
                    let commands = self.alerts.drafts_changed(changed.as_deref(), &drafts);
                    if let (Some(desk), Some(id)) = (desk.as_ref(), changed.as_deref()) {
                        let announced = commands.iter().any(|c| {
                            matches!(c, AlertCommand::Show(a) if a.key == AlertKey::Draft(id.to_owned()))
                        });
                        if announced {
                            desk.record_notification(id, json!({"event": "shown", "draft_id": id}))
                                .await;
                        }
                    }
                    self.apply(commands).await;
                }
                Input::Decided {
                    desk: from,
                    job_id,
                    result,
                } => {
                    if from != self.desk {
                        continue;
                    }
                    let commands = match result {
                        Ok(outcome) => self.alerts.decided(&job_id, &outcome),
                        Err(why) => self.alerts.refused(&job_id, &why),
                    };
                    self.apply(commands).await;
                }
            }
        }
    }

    async fn on_desk(&mut self, desk: Option<&Arc<Desk>>, message: DeskMessage) {
        let Some(desk) = desk.filter(|d| d.id() == message.desk) else {
            return;
        };
        if self.desk != message.desk {
            self.switch_to(message.desk).await;
        }
        let now = now_ms();
        let commands = match message.event {
            DeskEvent::Card { card, arrived, .. } => {
                let id = card.card.job_id.clone();
                // Only items new to this reviewer: the ones already seen (the ledger's seen set,
                // across restarts) joined the queue silently and are not news.
                if arrived && !self.raised.contains(&id) {
                    self.arriving.insert(id.clone());
                }
                if card.content_ready && self.arriving.remove(&id) && self.raised.insert(id.clone())
                {
                    let commands = self.alerts.arrived(&card, now);
                    let key = AlertKey::Item(id.clone());
                    let shown = commands.iter().find_map(|c| match c {
                        AlertCommand::Show(alert) if alert.key == key => Some(alert),
                        _ => None,
                    });
                    if let Some(alert) = shown {
                        desk.record_notification(
                            &id,
                            json!({"event": "shown", "job_hash": card.seen.job_hash,
                                   "policy_snapshot": card.seen.policy_snapshot,
                                   "approve_offered": alert.actions.contains(&AlertAction::Approve)}),
                        )
                        .await;
                    }
                    commands
                } else {
                    self.alerts.stale(&id, Some(&card.seen))
                }
            }
            DeskEvent::Removed { job_id, .. } => {
                self.arriving.remove(&job_id);
                self.alerts.stale(&job_id, None)
            }
            DeskEvent::DraftsChanged { draft_id, .. } => {
                self.read_drafts(Arc::clone(desk), draft_id);
                Vec::new()
            }
            _ => Vec::new(),
        };
        self.apply(commands).await;
        let pending = desk.pending_count();
        if self.pending != Some(pending) {
            self.pending = Some(pending);
            tray::show_pending(&self.app, pending);
        }
    }

    /// Applies Do not disturb when the hand-set pause or the quiet hours changed it.
    async fn enforce_quiet(&mut self) {
        let quiet = self.paused || self.hours.contains(local_minute_of_day());
        if quiet != self.do_not_disturb {
            self.do_not_disturb = quiet;
            let commands = self.alerts.set_do_not_disturb(quiet);
            self.apply(commands).await;
        }
    }

    /// A new desk (another profile, or signed in again): nothing of the old one stays on screen.
    async fn switch_to(&mut self, desk: u64) {
        let ids: Vec<u32> = self.ids.drain().map(|(_, id)| id).collect();
        for id in ids {
            let _ = self.server.close(id).await;
        }
        self.keys.clear();
        self.nonces.clear();
        self.arriving.clear();
        self.raised.clear();
        self.alerts = Alerts::default();
        self.alerts.set_do_not_disturb(self.do_not_disturb);
        self.desk = desk;
    }

    async fn on_signal(&mut self, desk: Option<Arc<Desk>>, signal: ServerSignal) {
        match signal {
            ServerSignal::Forged { sender, member } => {
                tracing::warn!(%sender, %member, "refused a notification signal not sent by the notification server");
                let Some(also_refused) = self.forgeries.refused(now_ms()) else {
                    return;
                };
                if let Some(desk) = desk {
                    desk.record_notification(
                        "",
                        json!({"event": "forged_signal_refused", "sender": sender, "member": member,
                               "also_refused_since_last_entry": also_refused}),
                    )
                    .await;
                }
            }
            ServerSignal::Restarted => {
                tracing::info!("the notification server changed: what it showed is gone");
                self.ids.clear();
                self.keys.clear();
                self.nonces.clear();
                self.markup = self.server.reads_markup().await;
                let commands = self.alerts.server_restarted();
                self.apply(commands).await;
            }
            ServerSignal::Closed { id } => {
                if let Some(key) = self.keys.remove(&id) {
                    self.ids.remove(&key);
                    if let AlertKey::Item(job_id) = key {
                        // Dismissed: its buttons are gone, so nothing may act for it any more.
                        let _ = self.alerts.stale(&job_id, None);
                    }
                }
            }
            ServerSignal::Action { id, key } => {
                // The server signals every application's buttons: only ours concern us.
                if !self.keys.contains_key(&id) {
                    return;
                }
                let offered =
                    AlertAction::from_wire_key(&key, self.nonces.get(&id).map(String::as_str));
                let Some(action) = offered else {
                    tracing::warn!(id, %key, "refused a button this notification never offered");
                    if let Some(desk) = desk {
                        desk.record_notification(
                            "",
                            json!({"event": "unknown_action_refused", "id": id, "action": key}),
                        )
                        .await;
                    }
                    return;
                };
                let Some(alert) = self.keys.get(&id).cloned() else {
                    return;
                };
                let Some(desk) = desk.filter(|d| d.id() == self.desk) else {
                    return;
                };
                let target = self.alerts.resolve(&alert, action);
                let job_id = match &alert {
                    AlertKey::Item(job_id) | AlertKey::Draft(job_id) => job_id.clone(),
                    _ => String::new(),
                };
                desk.record_notification(
                    &job_id,
                    json!({"event": "action", "action": key, "taken": describe(&target)}),
                )
                .await;
                self.act(desk, target).await;
            }
        }
    }

    async fn act(&mut self, desk: Arc<Desk>, target: AlertTarget) {
        match target {
            AlertTarget::Approve(seen) => {
                let mut commands = self.alerts.pressed(&seen.job_id, AlertAction::Approve);
                commands.extend(self.alerts.approved_from_notification(now_ms()));
                self.apply(commands).await;
                self.decide(desk, seen, DecisionAction::Approve, "");
            }
            AlertTarget::Reject(seen) => {
                let commands = self.alerts.pressed(&seen.job_id, AlertAction::Reject);
                self.apply(commands).await;
                self.decide(desk, seen, DecisionAction::Reject, REJECT_REASON);
            }
            AlertTarget::Open(job_id) => self.open_window(job_id),
            AlertTarget::OpenDraft(draft_id) => {
                tray::open_window(&self.app);
                if let Err(error) = self.app.emit(OPEN_DRAFT_EVENT, draft_id) {
                    tracing::warn!(%error, "could not open the window on the draft");
                }
            }
            AlertTarget::Report(requester) => {
                let commands = self.alerts.report(&requester, now_ms());
                self.apply(commands).await;
                if let Err(error) = self.app.emit(REPORTED_EVENT, &requester) {
                    tracing::warn!(%error, "could not tell the window of a report");
                }
            }
        }
    }

    /// Runs the card's own decision path, bound to what the notification displayed, and
    /// reports back when the gateway answered.
    fn decide(&self, desk: Arc<Desk>, seen: SeenItem, action: DecisionAction, reason: &str) {
        let back = self.input.clone();
        let reason = reason.to_owned();
        tauri::async_runtime::spawn(async move {
            let job_id = seen.job_id.clone();
            let request = DecisionRequest {
                desk: desk.id(),
                seen,
                action,
                reason,
                confirm: None,
            };
            let result = desk
                .decide_via(request, Channel::Notification)
                .await
                .map(|view| outcome_words(&view))
                .map_err(|error| error.message);
            let _ = back.send(Input::Decided {
                desk: desk.id(),
                job_id,
                result,
            });
        });
    }

    /// Reads the drafts off the notification task (a slow gateway must not hold up item
    /// notifications) and reports back.
    fn read_drafts(&self, desk: Arc<Desk>, changed: Option<String>) {
        let back = self.input.clone();
        tauri::async_runtime::spawn(async move {
            match desk.policy_drafts().await {
                Ok(drafts) => {
                    let _ = back.send(Input::Drafts {
                        desk: desk.id(),
                        changed,
                        drafts,
                    });
                }
                Err(error) => tracing::debug!(%error, "policy drafts not read for notifications"),
            }
        });
    }

    fn open_window(&self, job_id: Option<String>) {
        tray::open_window(&self.app);
        if let Err(error) = self.app.emit(OPEN_EVENT, job_id) {
            tracing::warn!(%error, "could not open the window on the item");
        }
    }

    async fn apply(&mut self, commands: Vec<AlertCommand>) {
        for command in commands {
            match command {
                AlertCommand::Show(alert) => {
                    let replaces = self.ids.get(&alert.key).copied().unwrap_or(0);
                    let body = if self.markup {
                        escape_markup(&alert.body)
                    } else {
                        alert.body.clone()
                    };
                    // Each notification's buttons carry their own random key: a notification
                    // another program drew over ours (`replaces_id`) cannot offer a button
                    // that acts on our item.
                    let nonce = format!("{:016x}", rand::random::<u64>());
                    let keys: Vec<(String, &str)> = alert
                        .actions
                        .iter()
                        .map(|a| (a.wire_key(&nonce), a.label()))
                        .collect();
                    let actions: Vec<(&str, &str)> =
                        keys.iter().map(|(k, l)| (k.as_str(), *l)).collect();
                    match self
                        .server
                        .notify(replaces, &alert.summary, &body, &actions, alert.transient)
                        .await
                    {
                        Ok(id) => {
                            if replaces != 0 && replaces != id {
                                self.keys.remove(&replaces);
                                self.nonces.remove(&replaces);
                            }
                            self.nonces.insert(id, nonce);
                            self.keys.insert(id, alert.key.clone());
                            self.ids.insert(alert.key, id);
                        }
                        Err(error) => tracing::warn!(%error, "could not show a notification"),
                    }
                }
                AlertCommand::Close(key) => {
                    if let Some(id) = self.ids.remove(&key) {
                        self.keys.remove(&id);
                        self.nonces.remove(&id);
                        if let Err(error) = self.server.close(id).await {
                            tracing::warn!(%error, "could not withdraw a notification");
                        }
                    }
                }
                AlertCommand::Warn(message) => {
                    if let Err(error) = self.app.emit(WARNING_EVENT, &message) {
                        tracing::warn!(%error, "could not pass a warning to the window");
                    }
                }
            }
        }
    }
}

/// "Approved", "Rejected", or what the gateway said instead.
fn outcome_words(view: &DecisionView) -> String {
    match (view.outcome.as_str(), view.action) {
        ("applied", DecisionAction::Approve) => "Approved".into(),
        ("applied", DecisionAction::Reject) => "Rejected".into(),
        _ => view.message.clone(),
    }
}

fn describe(target: &AlertTarget) -> &'static str {
    match target {
        AlertTarget::Approve(_) => "approve",
        AlertTarget::Reject(_) => "reject",
        AlertTarget::Open(_) => "open",
        AlertTarget::Report(_) => "report",
        AlertTarget::OpenDraft(_) => "open_draft",
    }
}
