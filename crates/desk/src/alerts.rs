//! What the desktop notifications say and when, as pure rules: the app's shell only carries the
//! [`AlertCommand`]s out over D-Bus and feeds actions back through [`Alerts::resolve`].
//!
//! One notification per new pending item, withdrawn as soon as it is stale (the item changed,
//! left the queue, or was decided). High-risk items never offer Approve from a notification.
//! Bursts, floods from one requester, muted requesters, do-not-disturb and a fatigue stop on
//! approving from notifications keep a reviewer from being trained into approving by reflex
//! (the lesson of push-approval fatigue attacks).

mod drafts;

use std::collections::{HashMap, VecDeque};

use countersign_core::verify::SeenItem;

use crate::card::{hash_tail, CardView};

/// The limits behind the rules; [`AlertRules::default`] is what the app uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlertRules {
    /// More arrivals than this within `burst_window_ms` collapse into one summary.
    pub burst_count: usize,
    pub burst_window_ms: i64,
    /// More items than this from one requester within `flood_window_ms` collapse into one
    /// notification, and the app warns.
    pub flood_count: usize,
    pub flood_window_ms: i64,
    /// How long "Report" mutes a requester's notifications.
    pub mute_ms: i64,
    /// After this many approvals from notifications within `fatigue_window_ms`, Approve leaves
    /// the notifications until the reviewer opens the window.
    pub fatigue_count: usize,
    pub fatigue_window_ms: i64,
}

impl Default for AlertRules {
    fn default() -> Self {
        Self {
            burst_count: 3,
            burst_window_ms: 2_000,
            flood_count: 10,
            flood_window_ms: 5 * 60_000,
            mute_ms: 20 * 60_000,
            fatigue_count: 5,
            fatigue_window_ms: 60_000,
        }
    }
}

/// Which notification: at most one is on screen per key, a new one with the same key
/// replaces it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum AlertKey {
    /// One pending item, by job id.
    Item(String),
    /// "7 new approvals": a burst.
    Burst,
    /// Many items from one requester.
    Flood(String),
    /// What arrived while notifications were paused.
    Missed,
    /// A policy draft to countersign, by draft id.
    Draft(String),
}

/// A button on a notification. `Open` is also the default action (a click on the body).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AlertAction {
    Approve,
    Reject,
    Open,
    Report,
}

impl AlertAction {
    /// The action key on the wire (`default` is the freedesktop name of the body click).
    pub fn key(self) -> &'static str {
        match self {
            Self::Approve => "approve",
            Self::Reject => "reject",
            Self::Open => "default",
            Self::Report => "report",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::Approve => "Approve",
            Self::Reject => "Reject",
            Self::Open => "Open",
            Self::Report => "Report",
        }
    }

    /// The key sent for this button on one notification: every button but Open carries the
    /// notification's own random `nonce`, so a notification another program drew in its place
    /// cannot offer a button that acts on our item.
    pub fn wire_key(self, nonce: &str) -> String {
        match self {
            Self::Open => self.key().to_owned(),
            _ => format!("{}:{nonce}", self.key()),
        }
    }

    /// The button a pressed `key` names, if it is one this notification (`nonce`) offered.
    pub fn from_wire_key(key: &str, nonce: Option<&str>) -> Option<Self> {
        if key == Self::Open.key() {
            return Some(Self::Open);
        }
        let (name, given) = key.split_once(':')?;
        if nonce != Some(given) || given.is_empty() {
            return None;
        }
        Self::from_key(name).filter(|action| *action != Self::Open)
    }

    pub fn from_key(key: &str) -> Option<Self> {
        [Self::Approve, Self::Reject, Self::Open, Self::Report]
            .into_iter()
            .find(|action| action.key() == key)
    }
}

/// A notification to show. `body` is plain text; the shell escapes it for servers that read
/// markup, because every part of it can come from an agent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Alert {
    pub key: AlertKey,
    pub summary: String,
    pub body: String,
    pub actions: Vec<AlertAction>,
    /// A confirmation that goes away by itself.
    pub transient: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AlertCommand {
    Show(Alert),
    Close(AlertKey),
    /// Something the window should say (a flood from one requester).
    Warn(String),
}

/// What an action pressed on a notification means, after the rules were checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AlertTarget {
    /// Decide, bound to what the notification displayed.
    Approve(SeenItem),
    Reject(SeenItem),
    /// Bring the window up, on this item where there is one.
    Open(Option<String>),
    /// Mute this requester for a while.
    Report(String),
    /// Bring the window up on this policy draft.
    OpenDraft(String),
}

#[derive(Debug, Clone)]
struct Shown {
    seen: SeenItem,
    requester: String,
    actions: Vec<AlertAction>,
    summary: String,
    body: String,
    /// When it was raised.
    at: i64,
}

/// The notification state of one open desk.
#[derive(Debug, Default)]
pub struct Alerts {
    rules: AlertRules,
    /// Item notifications on screen, by job id, with what each displayed.
    shown: HashMap<String, Shown>,
    arrivals: VecDeque<i64>,
    /// Arrivals folded into the burst summary on screen.
    burst: usize,
    by_requester: HashMap<String, VecDeque<i64>>,
    muted_until: HashMap<String, i64>,
    approvals: VecDeque<i64>,
    approve_paused: bool,
    do_not_disturb: bool,
    missed: usize,
    /// Policy drafts announced, with the snapshot announced.
    drafts: HashMap<String, String>,
    /// Titles of items raised, for the confirmation after a decision: the item may have left
    /// the queue (and its notification) by the time the gateway's answer is in.
    titles: HashMap<String, String>,
}

/// Titles kept for confirmations; past this many the oldest are not worth keeping.
const MAX_TITLES: usize = 2_000;

impl Alerts {
    pub fn new(rules: AlertRules) -> Self {
        Self {
            rules,
            ..Self::default()
        }
    }

    /// A new pending item whose content is on the card (so a decision can be bound to it).
    pub fn arrived(&mut self, card: &CardView, now_ms: i64) -> Vec<AlertCommand> {
        let job_id = card.card.job_id.clone();
        if self.shown.contains_key(&job_id) {
            return Vec::new();
        }
        // Floods and mutes follow who the gateway authenticated, not the principal the agent
        // wrote into its job (which it could change at every submission).
        let requester = card
            .submitted_by
            .clone()
            .unwrap_or_else(|| card.card.requester.clone());
        if self
            .muted_until
            .get(&requester)
            .is_some_and(|&t| now_ms < t)
        {
            return Vec::new();
        }
        if self.do_not_disturb {
            self.missed += 1;
            return Vec::new();
        }
        let mut commands = Vec::new();
        let from_one = self.by_requester.entry(requester.clone()).or_default();
        from_one.push_back(now_ms);
        prune(from_one, now_ms - self.rules.flood_window_ms);
        if from_one.len() > self.rules.flood_count {
            let count = from_one.len();
            if count == self.rules.flood_count + 1 {
                commands.push(AlertCommand::Warn(format!(
                    "{} submitted more than {} approvals in {} minutes: its \
                     notifications are collapsed into one",
                    plain(&requester, MAX_TITLE_CHARS),
                    self.rules.flood_count,
                    self.rules.flood_window_ms / 60_000
                )));
            }
            commands.extend(self.withdraw_where(|s| s.requester == requester));
            commands.push(AlertCommand::Show(Alert {
                key: AlertKey::Flood(requester.clone()),
                summary: format!(
                    "{count} approvals from {}",
                    plain(&requester, MAX_TITLE_CHARS)
                ),
                body: "Open the app to review them one by one.".into(),
                actions: vec![AlertAction::Open, AlertAction::Report],
                transient: false,
            }));
            return commands;
        }

        let window_start = now_ms - self.rules.burst_window_ms;
        prune(&mut self.arrivals, window_start);
        if self.arrivals.is_empty() {
            // The last burst is over: its summary stays until opened, new items show alone.
            self.burst = 0;
        }
        self.arrivals.push_back(now_ms);
        if self.arrivals.len() > self.rules.burst_count || self.burst > 0 {
            if self.burst == 0 {
                // The items already on screen from this burst fold into the summary.
                self.burst = self.arrivals.len() - 1;
                commands.extend(self.withdraw_where(|s| s.at > window_start));
            }
            self.burst += 1;
            commands.push(AlertCommand::Show(Alert {
                key: AlertKey::Burst,
                summary: format!("{} new approvals", self.burst),
                body: "Open the app to review them.".into(),
                actions: vec![AlertAction::Open],
                transient: false,
            }));
            return commands;
        }

        if self.titles.len() >= MAX_TITLES {
            self.titles.clear();
        }
        self.titles
            .insert(job_id.clone(), plain(&card.card.title, MAX_TITLE_CHARS));
        let actions = self.item_actions(card.high_risk);
        let title = plain(&card.card.title, MAX_TITLE_CHARS);
        let shown = Shown {
            seen: card.seen.clone(),
            requester,
            summary: format!("Approval: {title}"),
            body: item_body(card),
            actions,
            at: now_ms,
        };
        commands.push(AlertCommand::Show(item_alert(&job_id, &shown)));
        self.shown.insert(job_id, shown);
        commands
    }

    /// The card changed, or left the queue: its notification no longer shows what is true.
    pub fn stale(&mut self, job_id: &str, now: Option<&SeenItem>) -> Vec<AlertCommand> {
        match self.shown.get(job_id) {
            Some(shown) if now != Some(&shown.seen) => {
                self.shown.remove(job_id);
                vec![AlertCommand::Close(AlertKey::Item(job_id.to_owned()))]
            }
            _ => Vec::new(),
        }
    }

    /// A decision on the item landed (from the app or a notification): a short confirmation
    /// replaces its notification, with no buttons left to press.
    pub fn decided(&mut self, job_id: &str, outcome: &str) -> Vec<AlertCommand> {
        self.shown.remove(job_id);
        let title = self.titles.remove(job_id).unwrap_or_default();
        vec![AlertCommand::Show(Alert {
            key: AlertKey::Item(job_id.to_owned()),
            summary: format!("{outcome} · {title}"),
            body: String::new(),
            actions: Vec::new(),
            transient: true,
        })]
    }

    /// A decision from a notification was refused or failed: say why, in its place.
    pub fn refused(&mut self, job_id: &str, why: &str) -> Vec<AlertCommand> {
        self.shown.remove(job_id);
        let title = self.titles.remove(job_id).unwrap_or_default();
        vec![AlertCommand::Show(Alert {
            key: AlertKey::Item(job_id.to_owned()),
            summary: format!("Not decided · {title}"),
            body: plain(why, MAX_BODY_CHARS),
            actions: vec![AlertAction::Open],
            transient: false,
        })]
    }

    /// Approve or Reject was pressed: the notification loses its buttons at once, so a second
    /// press (or the other button) cannot follow while the first is on its way.
    pub fn pressed(&mut self, job_id: &str, action: AlertAction) -> Vec<AlertCommand> {
        if self.shown.remove(job_id).is_none() {
            return Vec::new();
        }
        let title = self.titles.get(job_id).cloned().unwrap_or_default();
        let doing = if action == AlertAction::Approve {
            "Approving"
        } else {
            "Rejecting"
        };
        vec![AlertCommand::Show(Alert {
            key: AlertKey::Item(job_id.to_owned()),
            summary: format!("{doing}… · {title}"),
            body: String::new(),
            actions: Vec::new(),
            transient: false,
        })]
    }

    /// What `action` pressed on the notification `key` may do. An action on a notification
    /// that is no longer the one shown (withdrawn, replaced, or never offering that button)
    /// only opens the app.
    pub fn resolve(&self, key: &AlertKey, action: AlertAction) -> AlertTarget {
        match key {
            AlertKey::Item(job_id) => {
                let open = AlertTarget::Open(Some(job_id.clone()));
                let Some(shown) = self.shown.get(job_id) else {
                    return open;
                };
                if !shown.actions.contains(&action) {
                    return open;
                }
                match action {
                    AlertAction::Approve => AlertTarget::Approve(shown.seen.clone()),
                    AlertAction::Reject => AlertTarget::Reject(shown.seen.clone()),
                    AlertAction::Report => AlertTarget::Report(shown.requester.clone()),
                    AlertAction::Open => open,
                }
            }
            AlertKey::Flood(requester) if action == AlertAction::Report => {
                AlertTarget::Report(requester.clone())
            }
            AlertKey::Burst | AlertKey::Flood(_) | AlertKey::Missed => AlertTarget::Open(None),
            AlertKey::Draft(draft_id) => AlertTarget::OpenDraft(draft_id.clone()),
        }
    }

    /// An approve from a notification was sent. Too many in a short time pause Approve on
    /// every notification until the window is opened.
    pub fn approved_from_notification(&mut self, now_ms: i64) -> Vec<AlertCommand> {
        self.approvals.push_back(now_ms);
        prune(&mut self.approvals, now_ms - self.rules.fatigue_window_ms);
        if self.approve_paused || self.approvals.len() < self.rules.fatigue_count {
            return Vec::new();
        }
        self.approve_paused = true;
        self.reshow(|actions| actions.retain(|a| *a != AlertAction::Approve))
    }

    /// The reviewer opened the window: approving from notifications may resume.
    pub fn window_opened(&mut self) {
        self.approve_paused = false;
        self.approvals.clear();
    }

    /// Mutes `requester` for a while and withdraws its notifications.
    pub fn report(&mut self, requester: &str, now_ms: i64) -> Vec<AlertCommand> {
        self.muted_until
            .insert(requester.to_owned(), now_ms + self.rules.mute_ms);
        let mut commands = self.withdraw_where(|s| s.requester == requester);
        commands.push(AlertCommand::Close(AlertKey::Flood(requester.to_owned())));
        commands
    }

    pub fn is_muted(&self, requester: &str, now_ms: i64) -> bool {
        self.muted_until
            .get(requester)
            .is_some_and(|&until| now_ms < until)
    }

    /// Pauses or resumes notifications. Nothing is raised while paused; resuming offers one
    /// summary of what arrived meanwhile.
    pub fn set_do_not_disturb(&mut self, on: bool) -> Vec<AlertCommand> {
        let was = std::mem::replace(&mut self.do_not_disturb, on);
        if on && !was {
            return self.withdraw_where(|_| true);
        }
        if on || !was || self.missed == 0 {
            return Vec::new();
        }
        let missed = std::mem::take(&mut self.missed);
        vec![AlertCommand::Show(Alert {
            key: AlertKey::Missed,
            summary: format!(
                "{missed} approval{} arrived while notifications were paused",
                if missed == 1 { "" } else { "s" }
            ),
            body: "Open the app to review them.".into(),
            actions: vec![AlertAction::Open],
            transient: false,
        })]
    }

    /// The notification server restarted (or was replaced): everything it showed is gone,
    /// and its ids now name other notifications. No button of the old ones can act any more;
    /// one summary (Open only) says what is still waiting.
    pub fn server_restarted(&mut self) -> Vec<AlertCommand> {
        let waiting = self.shown.len() + self.burst;
        self.shown.clear();
        self.burst = 0;
        self.arrivals.clear();
        if waiting == 0 {
            return Vec::new();
        }
        vec![AlertCommand::Show(Alert {
            key: AlertKey::Missed,
            summary: format!(
                "{waiting} approval{} still waiting",
                if waiting == 1 { "" } else { "s" }
            ),
            body: "The notification server restarted. Open the app to review them.".into(),
            actions: vec![AlertAction::Open],
            transient: false,
        })]
    }

    fn item_actions(&self, high_risk: bool) -> Vec<AlertAction> {
        let mut actions = Vec::with_capacity(4);
        if !high_risk && !self.approve_paused {
            actions.push(AlertAction::Approve);
        }
        actions.extend([AlertAction::Reject, AlertAction::Open, AlertAction::Report]);
        actions
    }

    fn withdraw_where(&mut self, pick: impl Fn(&Shown) -> bool) -> Vec<AlertCommand> {
        let gone: Vec<String> = self
            .shown
            .iter()
            .filter(|(_, shown)| pick(shown))
            .map(|(id, _)| id.clone())
            .collect();
        gone.into_iter()
            .map(|id| {
                self.shown.remove(&id);
                AlertCommand::Close(AlertKey::Item(id))
            })
            .collect()
    }

    fn reshow(&mut self, change: impl Fn(&mut Vec<AlertAction>)) -> Vec<AlertCommand> {
        self.shown
            .iter_mut()
            .map(|(id, shown)| {
                change(&mut shown.actions);
                AlertCommand::Show(item_alert(id, shown))
            })
            .collect()
    }
}

fn item_alert(job_id: &str, shown: &Shown) -> Alert {
    Alert {
        key: AlertKey::Item(job_id.to_owned()),
        summary: shown.summary.clone(),
        body: shown.body.clone(),
        actions: shown.actions.clone(),
        transient: false,
    }
}

/// Who asks, which workflow, the risk tags and the end of the job hash: never the payload,
/// labels or env, which may carry secrets. Each line is the agent's text made plain, so no
/// string can add a line of its own ("risk: none") or push the hash out of view.
fn item_body(card: &CardView) -> String {
    let c = &card.card;
    let mut lines = vec![plain(&c.requester, MAX_LINE_CHARS)];
    if let Some(workflow) = &c.workflow {
        let mut line = format!("workflow {}", workflow.id);
        if !workflow.step_id.is_empty() {
            line.push_str(&format!(" · step {}", workflow.step_id));
        }
        lines.push(plain(&line, MAX_LINE_CHARS));
    }
    if !c.risk_tags.is_empty() {
        lines.push(plain(
            &format!("risk: {}", c.risk_tags.join(", ")),
            MAX_LINE_CHARS,
        ));
    }
    lines.push(format!("hash …{}", plain(hash_tail(&c.job_hash), 8)));
    lines.join("\n")
}

const MAX_TITLE_CHARS: usize = 80;
const MAX_LINE_CHARS: usize = 120;
const MAX_BODY_CHARS: usize = 300;

/// One line of plain text at most `max` characters long: control characters (newlines
/// included) and the invisible ones that reorder or hide text (bidi overrides, zero-width)
/// become spaces.
pub fn plain(text: &str, max: usize) -> String {
    let hidden = |c: char| {
        c.is_control()
            || matches!(c, '\u{200b}'..='\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{feff}')
    };
    let cleaned: String = text
        .chars()
        .map(|c| if hidden(c) { ' ' } else { c })
        .collect();
    let cleaned = cleaned.trim();
    if cleaned.chars().count() <= max {
        cleaned.to_owned()
    } else {
        let cut: String = cleaned.chars().take(max.saturating_sub(1)).collect();
        format!("{cut}…")
    }
}

fn prune(times: &mut VecDeque<i64>, before: i64) {
    while times.front().is_some_and(|&t| t <= before) {
        times.pop_front();
    }
}

mod forgery;
pub use forgery::{ForgeryLog, FORGERY_RECORD_WINDOW_MS};

#[cfg(test)]
mod tests;
