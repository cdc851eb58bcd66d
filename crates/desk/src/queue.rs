//! The queue as the UI shows it: [`QueueState`] folds the client's [`WatchEvent`]s into cards
//! and a connection status, and says what changed as numbered [`DeskEvent`]s.
//!
//! The UI loads a [`QueueSnapshot`] and then applies events whose `seq` is greater than the
//! snapshot's, so an event raised while the snapshot was being read is neither lost nor applied
//! twice. When the gateway is unreachable the cards stay (marked stale by the status), because
//! the last known queue is what a reviewer needs to see while offline.

use std::collections::HashMap;

use countersign_client::watch::{ItemChange, WatchMode};
use countersign_client::{Review, WatchEvent};
use countersign_core::approval::ApprovalItem;
use serde::Serialize;
use ts_rs::TS;

use crate::card::CardView;
use crate::decision::DecisionView;
use crate::settings::ReviewSettings;

/// How the desk is connected right now.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "snake_case")]
#[ts(export)]
pub enum LinkState {
    /// Started, no full list yet.
    Connecting,
    /// Hearing of changes from the gateway's event stream.
    Live,
    /// Listing every few seconds (the gateway has no event stream).
    Polling,
    /// The gateway cannot be reached; the queue on screen is the last one known.
    Offline,
    /// The session ended: the reviewer must sign in again.
    Reauth,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[ts(export)]
pub struct ConnectionStatus {
    pub state: LinkState,
    /// When the current offline spell began (ms since the Unix epoch).
    #[ts(type = "number | null")]
    pub offline_since_ms: Option<i64>,
    /// The last complete list of the queue.
    #[ts(type = "number | null")]
    pub last_sync_ms: Option<i64>,
    /// Why the link is down, when it is.
    pub message: String,
    /// The gateway's API generation as detected (`new`, `v0.9`), empty until known.
    pub generation: String,
    /// False when the last list was cut short (too many items, or a gateway whose paging
    /// stopped): more may be pending than are shown.
    pub complete: bool,
}

impl Default for ConnectionStatus {
    fn default() -> Self {
        Self {
            state: LinkState::Connecting,
            offline_since_ms: None,
            last_sync_ms: None,
            message: String::new(),
            generation: String::new(),
            complete: true,
        }
    }
}

/// Something the UI must apply to what it shows.
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[ts(export)]
pub enum DeskEvent {
    /// A card arrived (`arrived`) or changed in place.
    Card {
        #[ts(type = "number")]
        seq: u64,
        card: Box<CardView>,
        arrived: bool,
    },
    /// A card left the queue; `by` and `status` when the gateway said.
    Removed {
        #[ts(type = "number")]
        seq: u64,
        job_id: String,
        by: Option<String>,
        status: Option<String>,
    },
    Status {
        #[ts(type = "number")]
        seq: u64,
        status: ConnectionStatus,
    },
    /// A decision settled outside a click: recovered after a crash or an outage.
    Decision {
        #[ts(type = "number")]
        seq: u64,
        decision: DecisionView,
    },
    /// A policy draft was proposed, updated or decided: the Policy section reads the drafts
    /// again.
    DraftsChanged {
        #[ts(type = "number")]
        seq: u64,
        draft_id: Option<String>,
    },
    /// Something the reviewer should know that changes no card by itself (a new policy, an
    /// unreadable event the watch skipped).
    Notice {
        #[ts(type = "number")]
        seq: u64,
        code: String,
        message: String,
    },
}

/// A [`DeskEvent`] as sent to the UI: `desk` names the open profile's desk, so events of a
/// desk that was replaced (another profile, a new sign-in) are never applied to the new one.
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
#[ts(export)]
pub struct DeskMessage {
    #[ts(type = "number")]
    pub desk: u64,
    pub event: DeskEvent,
}

/// The queue at one `seq`: all of it, or its newest cards only (the first screen, which the UI
/// draws before the whole queue, about 1.7 KB a card, has crossed the IPC).
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
#[ts(export)]
pub struct QueueSnapshot {
    /// The desk this snapshot is of (see [`DeskMessage`]).
    #[ts(type = "number")]
    pub desk: u64,
    #[ts(type = "number")]
    pub seq: u64,
    /// Newest first.
    pub cards: Vec<CardView>,
    /// How many cards the queue holds: more than `cards` when only the newest were asked for.
    #[ts(type = "number")]
    pub total: usize,
    pub status: ConnectionStatus,
}

/// Cards by job id (with the item each was built from, for loading its content), the
/// connection status and the event counter.
#[derive(Debug, Default)]
pub struct QueueState {
    seq: u64,
    cards: HashMap<String, CardView>,
    items: HashMap<String, ApprovalItem>,
    status: ConnectionStatus,
}

impl QueueState {
    pub fn card(&self, job_id: &str) -> Option<&CardView> {
        self.cards.get(job_id)
    }

    /// How many items are pending (what the tray shows).
    pub fn pending_count(&self) -> usize {
        self.cards.len()
    }

    pub fn status(&self) -> &ConnectionStatus {
        &self.status
    }

    /// Records the gateway's API generation; it shows with the next status.
    pub fn set_generation(&mut self, generation: &str) {
        generation.clone_into(&mut self.status.generation);
    }

    /// The queue now, newest first; with `limit`, only that many of the newest cards.
    pub fn snapshot(&self, limit: Option<usize>) -> QueueSnapshot {
        // Sorted by reference, so that a first screen copies only the cards it sends.
        let mut order: Vec<&CardView> = self.cards.values().collect();
        let newest_first = |a: &&CardView, b: &&CardView| {
            b.card
                .updated_at
                .cmp(&a.card.updated_at)
                .then_with(|| a.card.job_id.cmp(&b.card.job_id))
        };
        match limit {
            Some(limit) if limit < order.len() => {
                order.select_nth_unstable_by(limit, newest_first);
                order.truncate(limit);
            }
            _ => {}
        }
        order.sort_unstable_by(newest_first);
        QueueSnapshot {
            desk: 0,
            seq: self.seq,
            cards: order.into_iter().cloned().collect(),
            total: self.cards.len(),
            status: self.status.clone(),
        }
    }

    fn next_seq(&mut self) -> u64 {
        self.seq += 1;
        self.seq
    }

    /// Folds one watch event in. `pending` is the watch's complete view, read right after the
    /// event: items the watch joins silently (known from the ledger after a restart) only
    /// show up there.
    pub fn apply(
        &mut self,
        event: WatchEvent,
        pending: impl FnOnce() -> Vec<ApprovalItem>,
        settings: &ReviewSettings,
        now_ms: i64,
    ) -> Vec<DeskEvent> {
        match event {
            WatchEvent::Arrived(item) => vec![self.upsert(&item, &[], true, settings, now_ms)],
            WatchEvent::Changed { item, changes } => {
                vec![self.upsert(&item, &changes, false, settings, now_ms)]
            }
            WatchEvent::Resolved { job_id, by, status } => {
                self.items.remove(&job_id);
                if self.cards.remove(&job_id).is_none() {
                    return Vec::new();
                }
                vec![DeskEvent::Removed {
                    seq: self.next_seq(),
                    job_id,
                    by,
                    status,
                }]
            }
            WatchEvent::PolicyChanged { snapshot } => vec![DeskEvent::Notice {
                seq: self.next_seq(),
                code: "policy_changed".into(),
                message: match snapshot {
                    Some(id) => format!(
                        "A new policy was published ({}…); pending items are re-evaluated.",
                        id.chars().take(12).collect::<String>()
                    ),
                    None => "A new policy was published; pending items are re-evaluated.".into(),
                },
            }],
            WatchEvent::GovernanceChanged { draft_id } => vec![DeskEvent::DraftsChanged {
                seq: self.next_seq(),
                draft_id,
            }],
            WatchEvent::Skipped { code, message } => vec![DeskEvent::Notice {
                seq: self.next_seq(),
                code,
                message,
            }],
            WatchEvent::Synced {
                pending: count,
                mode,
                complete,
            } => {
                // Reading the watch's whole view copies every item: only when it holds some
                // this queue lacks (known from an earlier run, joined without an event).
                let mut events = if count > self.cards.len() {
                    self.join_silent(pending(), settings, now_ms)
                } else {
                    Vec::new()
                };
                let state = match mode {
                    WatchMode::Events => LinkState::Live,
                    WatchMode::Polling => LinkState::Polling,
                };
                let generation = self.status.generation.clone();
                events.push(self.set_status(ConnectionStatus {
                    state,
                    offline_since_ms: None,
                    last_sync_ms: Some(now_ms),
                    message: String::new(),
                    generation,
                    complete,
                }));
                events
            }
            WatchEvent::Disconnected { code, message, .. } => {
                let state = if code == "reauth_required" {
                    LinkState::Reauth
                } else {
                    LinkState::Offline
                };
                let since = self.status.offline_since_ms.unwrap_or(now_ms);
                let status = ConnectionStatus {
                    state,
                    offline_since_ms: Some(since),
                    last_sync_ms: self.status.last_sync_ms,
                    message,
                    generation: self.status.generation.clone(),
                    complete: self.status.complete,
                };
                if status == self.status {
                    return Vec::new();
                }
                vec![self.set_status(status)]
            }
        }
    }

    fn upsert(
        &mut self,
        item: &ApprovalItem,
        changes: &[ItemChange],
        arrived: bool,
        settings: &ReviewSettings,
        now_ms: i64,
    ) -> DeskEvent {
        let mut card = CardView::new(item, settings);
        card.changed_at_ms = now_ms;
        if let Some(old) = self.cards.get(&item.job.id) {
            card.changes.clone_from(&old.changes);
            if old.seen.job_hash == card.seen.job_hash
                && old.seen.policy_snapshot == card.seen.policy_snapshot
            {
                // Same identity: what was loaded for it still holds.
                card.changed_at_ms = old.changed_at_ms;
                if old.content_ready {
                    card.seen = old.seen.clone();
                    card.payload.clone_from(&old.payload);
                    card.content_ready = true;
                }
            }
        }
        if card.content_ready {
            // Only a card still waiting for its content needs its item (to fetch the content):
            // at 10,000 cards every copy kept is tens of megabytes.
            self.items.remove(&item.job.id);
        } else {
            self.items.insert(item.job.id.clone(), item.clone());
        }
        for change in changes {
            let name = change_name(*change).to_owned();
            if !card.changes.contains(&name) {
                card.changes.push(name);
            }
        }
        self.cards.insert(item.job.id.clone(), card.clone());
        DeskEvent::Card {
            seq: self.next_seq(),
            card: Box::new(card),
            arrived,
        }
    }

    /// Cards for items the watch holds but never announced (known from an earlier run).
    fn join_silent(
        &mut self,
        pending: Vec<ApprovalItem>,
        settings: &ReviewSettings,
        now_ms: i64,
    ) -> Vec<DeskEvent> {
        pending
            .iter()
            .filter(|item| !self.cards.contains_key(&item.job.id))
            .collect::<Vec<_>>()
            .into_iter()
            .map(|item| self.upsert(item, &[], false, settings, now_ms))
            .collect()
    }

    /// The items whose cards still wait for their content.
    pub fn without_content(&self) -> Vec<ApprovalItem> {
        self.cards
            .values()
            .filter(|card| !card.content_ready)
            .filter_map(|card| self.items.get(card.job_id()).cloned())
            .collect()
    }

    /// Shows a card's loaded content and binds it into the card's `seen`, if the card still
    /// shows the same item (the same job hash and policy snapshot) as the review was made of.
    pub fn apply_review(
        &mut self,
        review: &Review,
        settings: &ReviewSettings,
    ) -> Option<DeskEvent> {
        let old = self.cards.get(&review.item.job.id)?;
        let same = |a: &str, b: &str| a.is_empty() || a == b;
        if !same(&old.seen.job_hash, &review.item.job_hash)
            || !same(&old.seen.policy_snapshot, &review.item.policy_snapshot)
        {
            return None;
        }
        let mut card = CardView::reviewed(review, settings);
        card.changes.clone_from(&old.changes);
        card.changed_at_ms = old.changed_at_ms;
        self.items.remove(card.job_id());
        self.cards.insert(card.job_id().to_owned(), card.clone());
        Some(DeskEvent::Card {
            seq: self.next_seq(),
            card: Box::new(card),
            arrived: false,
        })
    }

    fn set_status(&mut self, status: ConnectionStatus) -> DeskEvent {
        self.status = status.clone();
        DeskEvent::Status {
            seq: self.next_seq(),
            status,
        }
    }

    /// A decision event, numbered in the same sequence as the queue's.
    pub fn decision_event(&mut self, decision: DecisionView) -> DeskEvent {
        DeskEvent::Decision {
            seq: self.next_seq(),
            decision,
        }
    }

    pub fn notice(&mut self, code: String, message: String) -> DeskEvent {
        DeskEvent::Notice {
            seq: self.next_seq(),
            code,
            message,
        }
    }

    /// Re-judges every card's risk after the settings changed.
    pub fn apply_settings(&mut self, settings: &ReviewSettings) -> Vec<DeskEvent> {
        let changed: Vec<String> = self
            .cards
            .values()
            .filter(|c| c.high_risk != settings.is_high_risk(&c.card.risk_tags))
            .map(|c| c.card.job_id.clone())
            .collect();
        changed
            .into_iter()
            .filter_map(|job_id| {
                let card = self.cards.get_mut(&job_id)?;
                card.high_risk = !card.high_risk;
                let card = Box::new(card.clone());
                Some(DeskEvent::Card {
                    seq: self.next_seq(),
                    card,
                    arrived: false,
                })
            })
            .collect()
    }
}

fn change_name(change: ItemChange) -> &'static str {
    match change {
        ItemChange::JobHash => "job_hash",
        ItemChange::PolicySnapshot => "policy_snapshot",
        ItemChange::Revision => "revision",
        ItemChange::State => "state",
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn item(id: &str, hash: &str, updated: i64) -> ApprovalItem {
        let mut item = ApprovalItem::default();
        item.job.id = id.into();
        item.job.state = "APPROVAL_REQUIRED".into();
        item.job.updated_at = Some(updated);
        item.job_hash = hash.into();
        item.policy_snapshot = "s1".into();
        item
    }

    fn seqs(events: &[DeskEvent]) -> Vec<u64> {
        events
            .iter()
            .map(|e| match e {
                DeskEvent::Card { seq, .. }
                | DeskEvent::Removed { seq, .. }
                | DeskEvent::Status { seq, .. }
                | DeskEvent::Decision { seq, .. }
                | DeskEvent::DraftsChanged { seq, .. }
                | DeskEvent::Notice { seq, .. } => *seq,
            })
            .collect()
    }

    #[test]
    fn only_cards_waiting_for_their_content_keep_their_item() {
        let settings = ReviewSettings::default();
        let mut queue = QueueState::default();
        for id in ["a", "b"] {
            queue.apply(
                WatchEvent::Arrived(Box::new(item(id, "h1", 1))),
                Vec::new,
                &settings,
                0,
            );
        }
        assert_eq!(queue.without_content().len(), 2);
        let review = Review {
            item: item("a", "h1", 1),
            content: Default::default(),
            payload: None,
        };
        assert!(queue.apply_review(&review, &settings).is_some());
        let waiting = |queue: &QueueState| -> Vec<String> {
            queue
                .without_content()
                .into_iter()
                .map(|i| i.job.id)
                .collect()
        };
        assert_eq!(waiting(&queue), ["b"]);
        assert_eq!(queue.items.len(), 1, "the loaded card's item is not kept");
        // The same item again (a new revision, same identity): its content still holds.
        let mut revised = item("a", "h1", 2);
        revised.approval_revision = Some(2);
        queue.apply(
            WatchEvent::Changed {
                item: Box::new(revised),
                changes: Vec::new(),
            },
            Vec::new,
            &settings,
            0,
        );
        assert_eq!(waiting(&queue), ["b"]);
        assert_eq!(queue.items.len(), 1);
        // A new job hash: the card waits for its content again, with its item.
        queue.apply(
            WatchEvent::Changed {
                item: Box::new(item("a", "h2", 3)),
                changes: vec![ItemChange::JobHash],
            },
            Vec::new,
            &settings,
            0,
        );
        let mut again = waiting(&queue);
        again.sort();
        assert_eq!(again, ["a", "b"]);
    }

    #[test]
    fn a_first_screen_is_the_newest_cards_and_says_how_many_there_are() {
        let settings = ReviewSettings::default();
        let mut queue = QueueState::default();
        for (n, updated) in [3, 9, 1, 7, 5, 8].into_iter().enumerate() {
            let id = format!("job-{n}");
            queue.apply(
                WatchEvent::Arrived(Box::new(item(&id, "h1", updated))),
                Vec::new,
                &settings,
                0,
            );
        }
        let ids = |snapshot: &QueueSnapshot| -> Vec<i64> {
            snapshot
                .cards
                .iter()
                .filter_map(|c| c.card.updated_at)
                .collect()
        };
        let first = queue.snapshot(Some(3));
        assert_eq!(ids(&first), [9, 8, 7]);
        assert_eq!((first.total, first.seq), (6, 6));
        let whole = queue.snapshot(None);
        assert_eq!(ids(&whole), [9, 8, 7, 5, 3, 1]);
        assert_eq!(whole.total, 6);
        assert_eq!(queue.snapshot(Some(60)).cards.len(), 6);
        assert!(queue.snapshot(Some(0)).cards.is_empty());
    }

    #[test]
    fn watch_events_become_numbered_card_events() {
        let settings = ReviewSettings::default();
        let mut queue = QueueState::default();
        let none = Vec::new;
        let a = queue.apply(
            WatchEvent::Arrived(Box::new(item("a", "h1", 1))),
            none,
            &settings,
            0,
        );
        let b = queue.apply(
            WatchEvent::Arrived(Box::new(item("b", "h1", 2))),
            none,
            &settings,
            0,
        );
        assert_eq!(seqs(&a), [1]);
        assert_eq!(seqs(&b), [2]);
        let order: Vec<String> = queue
            .snapshot(None)
            .cards
            .iter()
            .map(|c| c.card.job_id.clone())
            .collect();
        assert_eq!(order, ["b", "a"], "newest first");

        let changed = queue.apply(
            WatchEvent::Changed {
                item: Box::new(item("a", "h2", 3)),
                changes: vec![ItemChange::JobHash],
            },
            none,
            &settings,
            0,
        );
        let again = queue.apply(
            WatchEvent::Changed {
                item: Box::new(item("a", "h2", 4)),
                changes: vec![ItemChange::Revision, ItemChange::JobHash],
            },
            none,
            &settings,
            0,
        );
        assert!(
            matches!(&changed[0], DeskEvent::Card { arrived: false, card, .. } if card.changes == ["job_hash"])
        );
        assert!(
            matches!(&again[0], DeskEvent::Card { card, .. } if card.changes == ["job_hash", "revision"] && card.seen.job_hash == "h2")
        );

        let gone = queue.apply(
            WatchEvent::Resolved {
                job_id: "b".into(),
                by: Some("bob".into()),
                status: None,
            },
            none,
            &settings,
            0,
        );
        assert!(
            matches!(&gone[0], DeskEvent::Removed { job_id, by: Some(by), .. } if job_id == "b" && by == "bob")
        );
        let unknown = queue.apply(
            WatchEvent::Resolved {
                job_id: "zz".into(),
                by: None,
                status: None,
            },
            none,
            &settings,
            0,
        );
        assert!(unknown.is_empty(), "nothing to remove, nothing to say");
        assert_eq!(queue.snapshot(None).seq, 5);
    }

    #[test]
    fn a_sync_joins_items_known_from_an_earlier_run_and_sets_the_link() {
        let settings = ReviewSettings::default();
        let mut queue = QueueState::default();
        let events = queue.apply(
            WatchEvent::Synced {
                pending: 1,
                mode: WatchMode::Events,
                complete: false,
            },
            || vec![item("known", "h", 1)],
            &settings,
            1_000,
        );
        assert!(matches!(&events[0], DeskEvent::Card { arrived: false, .. }));
        assert!(
            matches!(&events[1], DeskEvent::Status { status, .. } if status.state == LinkState::Live && status.last_sync_ms == Some(1_000) && !status.complete)
        );
        assert!(queue.card("known").is_some());
    }

    #[test]
    fn an_outage_keeps_the_queue_and_remembers_when_it_began() {
        let settings = ReviewSettings::default();
        let mut queue = QueueState::default();
        queue.apply(
            WatchEvent::Arrived(Box::new(item("a", "h", 1))),
            Vec::new,
            &settings,
            0,
        );
        let down = |code: &str| WatchEvent::Disconnected {
            code: code.into(),
            message: "refused".into(),
            retry_in: Duration::from_secs(1),
        };
        let first = queue.apply(down("network"), Vec::new, &settings, 5_000);
        assert!(
            matches!(&first[0], DeskEvent::Status { status, .. } if status.state == LinkState::Offline && status.offline_since_ms == Some(5_000))
        );
        let repeat = queue.apply(down("network"), Vec::new, &settings, 9_000);
        assert!(repeat.is_empty(), "the same outage is not announced again");
        assert_eq!(queue.status().offline_since_ms, Some(5_000));
        let reauth = queue.apply(down("reauth_required"), Vec::new, &settings, 9_500);
        assert!(
            matches!(&reauth[0], DeskEvent::Status { status, .. } if status.state == LinkState::Reauth)
        );
        assert_eq!(
            queue.snapshot(None).cards.len(),
            1,
            "the last known queue stays"
        );
    }
}
