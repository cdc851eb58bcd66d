//! The watch's view of pending approvals and the rules that turn gateway data into events.
//!
//! "Arrived" happens once per job, ever: the ledger's seen set remembers every
//! `(job id, job hash)` shown, across restarts. A job the ledger knows under another hash
//! comes back as "changed", and a job it knows under this hash (an app restart, a reconnect)
//! joins the view silently. A sighting is written before its event is emitted, so a crash in
//! between loses a notification (the item is still in [`super::QueueWatch::pending`]) rather
//! than announcing an item twice. The view itself changes only after the ledger write: if the
//! write fails, the next list finds the same differences again and reports them then.
//!
//! One exception to "joins silently": a job that left the queue while watched and comes back
//! under the same hash (the gateway re-opened its approval because the policy changed before
//! dispatch) is announced as "changed" (state): the reviewer's earlier decision no longer
//! covers it.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::{Arc, RwLock, RwLockReadGuard, RwLockWriteGuard};

use countersign_core::approval::ApprovalItem;
use countersign_ledger::{EntryKind, ItemSighting, Ledger, Query};
use serde::Serialize;

use super::WatchEvent;
use crate::error::Result;
use crate::ledger_call;

/// Which identity-relevant fields of an item changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ItemChange {
    JobHash,
    PolicySnapshot,
    Revision,
    State,
}

/// Pending items by job id, shared with the [`super::QueueWatch`] handle for reading.
pub(crate) type Shared = Arc<RwLock<HashMap<String, ApprovalItem>>>;

pub(crate) fn read(shared: &Shared) -> RwLockReadGuard<'_, HashMap<String, ApprovalItem>> {
    // Only the watch task writes, and it never panics while holding the lock.
    shared
        .read()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn write(shared: &Shared) -> RwLockWriteGuard<'_, HashMap<String, ApprovalItem>> {
    shared
        .write()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn changes(old: &ApprovalItem, new: &ApprovalItem) -> Vec<ItemChange> {
    let mut changed = Vec::new();
    if old.job_hash != new.job_hash {
        changed.push(ItemChange::JobHash);
    }
    if old.policy_snapshot != new.policy_snapshot {
        changed.push(ItemChange::PolicySnapshot);
    }
    if old.approval_revision != new.approval_revision {
        changed.push(ItemChange::Revision);
    }
    if old.job.state != new.job.state || old.approval_status != new.approval_status {
        changed.push(ItemChange::State);
    }
    changed
}

/// Jobs that left the view (resolved) while watched, so that one coming back is announced.
/// Bounded: past [`DEPARTED_MAX`] the oldest are forgotten, and such a job, should it come
/// back, joins silently as before.
#[derive(Debug, Default)]
pub(crate) struct Departed {
    order: VecDeque<String>,
    ids: HashSet<String>,
}

const DEPARTED_MAX: usize = 4096;

impl Departed {
    fn note(&mut self, job_id: &str) {
        if self.ids.insert(job_id.to_owned()) {
            self.order.push_back(job_id.to_owned());
        }
        while self.order.len() > DEPARTED_MAX {
            if let Some(oldest) = self.order.pop_front() {
                self.ids.remove(&oldest);
            }
        }
    }

    /// Whether the job had departed; it is forgotten either way (it is back).
    fn take(&mut self, job_id: &str) -> bool {
        if !self.ids.remove(job_id) {
            return false;
        }
        self.order.retain(|id| id != job_id);
        true
    }
}

/// What the ledger says about an item new to the view.
enum Seen {
    /// Never seen in any form.
    New,
    /// Seen before under another hash.
    OtherHash,
    /// Seen before exactly like this.
    Known,
}

/// Applies fresh items (a list, or one event) to the view and returns the events.
/// `complete` means `items` is every pending item, so anything else in the view was resolved.
pub(crate) async fn apply(
    shared: &Shared,
    ledger: &Arc<Ledger>,
    items: Vec<ApprovalItem>,
    complete: bool,
    departed: &mut Departed,
) -> Result<Vec<WatchEvent>> {
    let items: Vec<ApprovalItem> = items.into_iter().filter(ApprovalItem::is_pending).collect();
    let mut fresh = Vec::new();
    let mut changed = Vec::new();
    {
        let view = read(shared);
        for item in &items {
            match view.get(&item.job.id) {
                None => fresh.push(item.clone()),
                Some(old) => {
                    let diff = changes(old, item);
                    if !diff.is_empty() {
                        changed.push((item.clone(), diff));
                    }
                }
            }
        }
    }
    let sightings = fresh
        .iter()
        .chain(
            changed
                .iter()
                .filter(|(_, d)| d.contains(&ItemChange::JobHash))
                .map(|(i, _)| i),
        )
        .map(ItemSighting::from_item)
        .collect::<Result<Vec<_>, _>>()?;
    let fresh_count = fresh.len();
    let verdicts = ledger_call(ledger, move |l| {
        sightings
            .iter()
            .enumerate()
            .map(|(index, sighting)| {
                let known_job = index < fresh_count && job_known(l, &sighting.job_id)?;
                let first = l.mark_seen(sighting)?;
                Ok(match (known_job, first) {
                    (false, _) => Seen::New,
                    (true, true) => Seen::OtherHash,
                    (true, false) => Seen::Known,
                })
            })
            .collect::<Result<Vec<_>, _>>()
    })
    .await?;

    let mut events = Vec::new();
    {
        let mut view = write(shared);
        for item in &items {
            view.insert(item.job.id.clone(), item.clone());
        }
        for (item, seen) in fresh.into_iter().zip(verdicts) {
            match seen {
                Seen::New => events.push(WatchEvent::Arrived(Box::new(item))),
                Seen::OtherHash => events.push(WatchEvent::Changed {
                    item: Box::new(item),
                    changes: vec![ItemChange::JobHash],
                }),
                Seen::Known if departed.take(&item.job.id) => events.push(WatchEvent::Changed {
                    item: Box::new(item),
                    changes: vec![ItemChange::State],
                }),
                Seen::Known => {}
            }
        }
        events.extend(
            changed
                .into_iter()
                .map(|(item, changes)| WatchEvent::Changed {
                    item: Box::new(item),
                    changes,
                }),
        );
        if complete {
            let listed: HashSet<&str> = items.iter().map(|i| i.job.id.as_str()).collect();
            let gone: Vec<String> = view
                .keys()
                .filter(|id| !listed.contains(id.as_str()))
                .cloned()
                .collect();
            for job_id in gone {
                view.remove(&job_id);
                departed.note(&job_id);
                events.push(WatchEvent::Resolved {
                    job_id,
                    by: None,
                    status: None,
                });
            }
        }
    }
    Ok(events)
}

/// Removes a resolved item; the event only when the view had it.
pub(crate) fn resolve(
    shared: &Shared,
    job_id: &str,
    by: Option<String>,
    status: Option<String>,
    departed: &mut Departed,
) -> Option<WatchEvent> {
    let removed = write(shared).remove(job_id);
    if removed.is_some() {
        departed.note(job_id);
    }
    removed.map(|_| WatchEvent::Resolved {
        job_id: job_id.to_owned(),
        by,
        status,
    })
}

/// Whether the ledger has any sighting of this job.
fn job_known(ledger: &Ledger, job_id: &str) -> countersign_ledger::Result<bool> {
    let page = ledger.query(&Query {
        kinds: vec![EntryKind::ItemSeen],
        job_id: Some(job_id.to_owned()),
        limit: Some(1),
        ..Query::default()
    })?;
    Ok(!page.entries.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(job_id: &str, hash: &str, revision: i64) -> ApprovalItem {
        let mut item = ApprovalItem::default();
        item.job.id = job_id.into();
        item.job.state = "APPROVAL_REQUIRED".into();
        item.job_hash = hash.into();
        item.policy_snapshot = "s1".into();
        item.approval_revision = Some(revision);
        item
    }

    fn kinds(events: &[WatchEvent]) -> Vec<String> {
        events
            .iter()
            .map(|event| match event {
                WatchEvent::Arrived(item) => format!("arrived {}", item.job.id),
                WatchEvent::Changed { item, changes } => {
                    format!("changed {} {changes:?}", item.job.id)
                }
                WatchEvent::Resolved { job_id, .. } => format!("resolved {job_id}"),
                other => format!("{other:?}"),
            })
            .collect()
    }

    #[tokio::test]
    async fn arrivals_changes_and_resolutions() {
        let dir = tempfile::tempdir().expect("dir");
        let ledger = Arc::new(Ledger::open(dir.path().join("l")).expect("ledger"));
        let view = Shared::default();
        let mut departed = Departed::default();

        let events = apply(
            &view,
            &ledger,
            vec![item("a", "h1", 1), item("b", "h1", 1)],
            true,
            &mut departed,
        )
        .await;
        assert_eq!(kinds(&events.expect("apply")), ["arrived a", "arrived b"]);
        let events = apply(
            &view,
            &ledger,
            vec![item("a", "h1", 1)],
            false,
            &mut departed,
        )
        .await
        .expect("apply");
        assert!(events.is_empty(), "a repeat is silent");

        let mut refreshed = item("a", "h1", 2);
        refreshed.policy_snapshot = "s2".into();
        let events = apply(
            &view,
            &ledger,
            vec![refreshed, item("b", "h2", 1)],
            true,
            &mut departed,
        )
        .await;
        assert_eq!(
            kinds(&events.expect("apply")),
            [
                "changed a [PolicySnapshot, Revision]",
                "changed b [JobHash]"
            ]
        );
        let mut resolved = item("b", "h2", 3);
        resolved.resolved_by = "bob".into();
        let events = apply(
            &view,
            &ledger,
            vec![item("a", "h1", 2), resolved],
            true,
            &mut departed,
        )
        .await;
        assert_eq!(
            kinds(&events.expect("apply")),
            ["changed a [PolicySnapshot]", "resolved b"]
        );
    }

    #[tokio::test]
    async fn a_job_that_left_and_came_back_is_a_change() {
        let dir = tempfile::tempdir().expect("dir");
        let ledger = Arc::new(Ledger::open(dir.path().join("l")).expect("ledger"));
        let view = Shared::default();
        let mut departed = Departed::default();
        let events = apply(
            &view,
            &ledger,
            vec![item("a", "h1", 1)],
            true,
            &mut departed,
        )
        .await;
        assert_eq!(kinds(&events.expect("apply")), ["arrived a"]);
        let gone = resolve(&view, "a", Some("alice".into()), None, &mut departed);
        assert!(gone.is_some());
        // Re-opened under a new snapshot, same hash: announced, once.
        let mut back = item("a", "h1", 3);
        back.policy_snapshot = "s2".into();
        let events = apply(&view, &ledger, vec![back.clone()], false, &mut departed).await;
        assert_eq!(kinds(&events.expect("apply")), ["changed a [State]"]);
        let events = apply(&view, &ledger, vec![back], true, &mut departed).await;
        assert!(events.expect("apply").is_empty());
        // A job this view never saw leave joins silently, as after a restart.
        let other = Shared::default();
        let events = apply(
            &other,
            &ledger,
            vec![item("a", "h1", 3)],
            true,
            &mut departed,
        )
        .await;
        assert!(events.expect("apply").is_empty());
    }

    #[tokio::test]
    async fn a_failed_ledger_write_leaves_the_change_to_be_found_again() {
        let dir = tempfile::tempdir().expect("dir");
        let ledger = Arc::new(Ledger::open(dir.path().join("l")).expect("ledger"));
        let view = Shared::default();
        let events = apply(
            &view,
            &ledger,
            vec![item("a", "h1", 1)],
            true,
            &mut Departed::default(),
        )
        .await;
        assert_eq!(kinds(&events.expect("apply")), ["arrived a"]);

        // The ledger refuses the batch (an id it cannot file), as it would a busy database.
        let batch = vec![item("a", "h2", 2), item(" ", "h1", 1)];
        apply(&view, &ledger, batch, true, &mut Departed::default())
            .await
            .expect_err("the ledger refuses a blank job id");
        assert_eq!(
            read(&view).get("a").map(|i| i.job_hash.as_str()),
            Some("h1")
        );
        assert_eq!(read(&view).len(), 1);

        let events = apply(
            &view,
            &ledger,
            vec![item("a", "h2", 2)],
            true,
            &mut Departed::default(),
        )
        .await;
        assert_eq!(
            kinds(&events.expect("apply")),
            ["changed a [JobHash, Revision]"]
        );
    }

    #[tokio::test]
    async fn a_restart_remembers_what_was_shown() {
        let dir = tempfile::tempdir().expect("dir");
        let ledger = Arc::new(Ledger::open(dir.path().join("l")).expect("ledger"));
        let first = Shared::default();
        let events = apply(
            &first,
            &ledger,
            vec![item("a", "h1", 1)],
            true,
            &mut Departed::default(),
        )
        .await;
        assert_eq!(kinds(&events.expect("apply")), ["arrived a"]);

        // A new view over the same ledger: known items join silently, a new hash is a change.
        let second = Shared::default();
        let events = apply(
            &second,
            &ledger,
            vec![item("a", "h1", 1)],
            true,
            &mut Departed::default(),
        )
        .await;
        assert!(events.expect("apply").is_empty());
        let third = Shared::default();
        let events = apply(
            &third,
            &ledger,
            vec![item("a", "h9", 1)],
            true,
            &mut Departed::default(),
        )
        .await;
        assert_eq!(kinds(&events.expect("apply")), ["changed a [JobHash]"]);
        assert_eq!(read(&third).len(), 1);
    }
}
