//! The queue watch reports every item exactly once: through a 1,000-submission burst, a
//! gateway restart and a client restart; and by polling when there is no event stream. A
//! policy re-evaluation arrives as a change.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use countersign_client::watch::{ItemChange, WatchMode};
use countersign_client::{QueueWatch, WatchConfig, WatchEvent};
use countersign_ledger::Ledger;
use futures_util::StreamExt;
use serde_json::json;

use crate::support::proxy::Proxy;
use crate::support::{client_for, fast_http, submit_to, Harness, AGENT, ALICE, POLICY_V2};

fn config(use_events: bool) -> WatchConfig {
    WatchConfig {
        poll_interval: Duration::from_millis(100),
        initial_backoff: Duration::from_millis(50),
        max_backoff: Duration::from_millis(400),
        page_limit: 200,
        use_events,
        ..WatchConfig::default()
    }
}

async fn burst(h: &Harness, count: usize) -> Vec<String> {
    let url = h.url();
    futures_util::stream::iter(0..count)
        .map(|i| submit_to(&h.http, &url, AGENT, json!({"n": i})))
        .buffer_unordered(8)
        .collect()
        .await
}

#[derive(Default)]
struct Tally {
    arrived: HashMap<String, usize>,
    resolved: HashMap<String, Option<String>>,
    modes: Vec<WatchMode>,
}

impl Tally {
    fn add(&mut self, event: WatchEvent) {
        match event {
            WatchEvent::Arrived(item) => *self.arrived.entry(item.job.id.clone()).or_default() += 1,
            WatchEvent::Resolved { job_id, by, .. } => {
                self.resolved.insert(job_id, by);
            }
            WatchEvent::Synced { mode, .. } => self.modes.push(mode),
            _ => {}
        }
    }

    /// Reads events until `done` holds (or a generous deadline passes).
    async fn until(&mut self, watch: &mut QueueWatch, done: impl Fn(&Self) -> bool) {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
        while !done(self) {
            match tokio::time::timeout_at(deadline, watch.next()).await {
                Ok(Some(event)) => self.add(event),
                Ok(None) | Err(_) => break,
            }
        }
    }

    /// Stops the watch and reads every event it produced.
    async fn drain(&mut self, watch: &mut QueueWatch) {
        watch.stop().await;
        while let Some(event) = watch.next().await {
            self.add(event);
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn burst_arrives_once_across_gateway_and_client_restarts() {
    let mut h = Harness::start().await;
    let ledger_path = h.ledger_path("watch");
    let ledger = Arc::new(Ledger::open(&ledger_path).expect("ledger"));
    let mut watch = QueueWatch::spawn(h.client(ALICE), ledger, config(true));
    let mut tally = Tally::default();

    let mut jobs = burst(&h, 400).await;
    tally.until(&mut watch, |t| t.arrived.len() >= 400).await;

    h.restart().await;
    jobs.extend(burst(&h, 300).await);
    tally.until(&mut watch, |t| t.arrived.len() >= 700).await;

    // The client restarts: a new watch on the reopened ledger.
    tally.drain(&mut watch).await;
    drop(watch);
    let ledger = Arc::new(Ledger::open(&ledger_path).expect("ledger reopens"));
    let mut watch = QueueWatch::spawn(h.client(ALICE), ledger, config(true));
    jobs.extend(burst(&h, 300).await);
    tally.until(&mut watch, |t| t.arrived.len() >= 1000).await;
    // Force a reconnect and its full resync after the last arrival, then stop and count.
    let synced = tally.modes.len();
    watch.set_client(h.client(ALICE));
    tally.until(&mut watch, |t| t.modes.len() > synced).await;
    tally.drain(&mut watch).await;

    assert_eq!(jobs.len(), 1000);
    for job in &jobs {
        assert_eq!(tally.arrived.get(job), Some(&1), "job {job}");
    }
    assert_eq!(tally.arrived.len(), 1000);
    assert!(
        tally.modes.iter().all(|m| *m == WatchMode::Events),
        "{:?}",
        tally.modes
    );
    assert!(
        tally.modes.len() >= 3,
        "a resync per (re)connect: {:?}",
        tally.modes
    );
}

#[tokio::test]
async fn polling_fallback_reports_arrivals_and_resolutions() {
    let h = Harness::start().await;
    // The v0.9 proxy has no event stream: the watch must poll.
    let proxy = Proxy::start(h.addr, true).await;
    let client = client_for(&proxy.url(), ALICE, fast_http());
    let ledger = h.ledger("poll");
    let mut watch = QueueWatch::spawn(client.clone(), ledger, config(true));
    let mut tally = Tally::default();
    let jobs = burst(&h, 450).await;
    tally.until(&mut watch, |t| t.arrived.len() >= 450).await;
    assert_eq!(watch.pending().len(), 450);

    let decider = h.decider(ALICE, "decider");
    for job in &jobs[..5] {
        let seen = h.seen(job).await;
        decider.reject(&seen, "no", "").await.expect("rejected");
    }
    tally.until(&mut watch, |t| t.resolved.len() >= 5).await;
    tally.drain(&mut watch).await;

    for job in &jobs {
        assert_eq!(tally.arrived.get(job), Some(&1), "job {job}");
    }
    for job in &jobs[..5] {
        assert_eq!(
            tally.resolved.get(job),
            Some(&Some("alice".to_owned())),
            "resolved {job}"
        );
    }
    assert_eq!(tally.resolved.len(), 5);
    assert!(tally.modes.iter().all(|m| *m == WatchMode::Polling));
    assert_eq!(client.capabilities().events, Some(false));
}

#[tokio::test]
async fn event_stream_names_who_resolved() {
    let h = Harness::start().await;
    let mut watch = QueueWatch::spawn(h.client(ALICE), h.ledger("events"), config(true));
    let mut tally = Tally::default();
    let job = h.submit().await;
    tally
        .until(&mut watch, |t| t.arrived.contains_key(&job))
        .await;
    let seen = h.seen(&job).await;
    h.decider(ALICE, "d")
        .approve(&seen, "", "")
        .await
        .expect("approved");
    tally
        .until(&mut watch, |t| t.resolved.contains_key(&job))
        .await;
    assert_eq!(tally.resolved.get(&job), Some(&Some("alice".to_owned())));
    assert!(watch.pending().is_empty());
    watch.stop().await;
}

/// A publish makes the gateway re-evaluate pending items: the watch reports the new snapshot
/// as a change, and an approval bound to the refreshed item verifies and goes through, while
/// one bound to the item as first seen is refused locally.
#[tokio::test]
async fn policy_reevaluation_arrives_as_a_change_the_reviewer_can_approve() {
    let h = Harness::start().await;
    let mut watch = QueueWatch::spawn(h.client(ALICE), h.ledger("reeval"), config(true));
    let job = h.submit().await;
    let mut before = None;
    while before.is_none() {
        match tokio::time::timeout(Duration::from_secs(60), watch.next()).await {
            Ok(Some(WatchEvent::Arrived(item))) if item.job.id == job => before = Some(item),
            Ok(Some(_)) => {}
            other => panic!("no arrival for {job}: {other:?}"),
        }
    }
    let first_seen = h.seen(&job).await;

    h.running()
        .gateway()
        .publish_policy(POLICY_V2, "test")
        .await
        .expect("publish");
    let (item, changes) = loop {
        match tokio::time::timeout(Duration::from_secs(60), watch.next()).await {
            Ok(Some(WatchEvent::Changed { item, changes })) if item.job.id == job => {
                break (item, changes)
            }
            Ok(Some(_)) => {}
            other => panic!("no change for {job}: {other:?}"),
        }
    };
    watch.stop().await;
    assert!(changes.contains(&ItemChange::PolicySnapshot), "{changes:?}");
    let before = before.expect("arrived");
    assert_ne!(item.policy_snapshot, before.policy_snapshot);
    assert_eq!(item.job_hash, before.job_hash, "the request did not change");

    let stale = h
        .decider(ALICE, "reeval-stale")
        .approve(&first_seen, "", "")
        .await;
    assert!(
        stale.is_err(),
        "approval bound to the old snapshot: {stale:?}"
    );
    let refreshed = h.seen(&job).await;
    assert_eq!(refreshed.policy_snapshot, item.policy_snapshot);
    h.decider(ALICE, "reeval")
        .approve(&refreshed, "", "")
        .await
        .expect("approved under the current policy");
    assert_eq!(h.dispatches(&job).await, 1);
}
