//! The queue watch reports every item exactly once: through a 1,000-submission burst, a
//! gateway restart and a client restart; and by polling when there is no event stream. A
//! policy re-evaluation arrives as a change. Against scripted gateways: a bad event or event
//! id is skipped without stopping the watch, an oversized event drops the connection, a
//! stream that keeps failing gives way to polling, and list pages are followed without
//! skipping items or mistaking a stuck cursor for the end of the list.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use countersign_client::watch::{ItemChange, WatchMode};
use countersign_client::{QueueWatch, WatchConfig, WatchEvent};
use countersign_ledger::Ledger;
use serde_json::{json, Value};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpListener;

use crate::support::proxy::{read_request, Proxy};
use crate::support::scripted::Scripted;
use crate::support::{burst, client_for, fast_http, Harness, ALICE, POLICY_V2};

pub(crate) fn config(use_events: bool) -> WatchConfig {
    WatchConfig {
        poll_interval: Duration::from_millis(100),
        initial_backoff: Duration::from_millis(50),
        max_backoff: Duration::from_millis(400),
        page_limit: 200,
        use_events,
        ..WatchConfig::default()
    }
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

pub(crate) fn pending(id: &str, updated_at: i64) -> Value {
    json!({
        "job": {"id": id, "state": "APPROVAL_REQUIRED", "updated_at": updated_at},
        "job_hash": format!("h-{id}"),
        "policy_snapshot": "s1",
    })
}

pub(crate) fn event(kind: &str, id: Option<&str>, data: &str) -> String {
    let id = id.map(|id| format!("id: {id}\n")).unwrap_or_default();
    format!("{id}event: {kind}\ndata: {data}\n\n")
}

/// A watch over a scripted gateway with its own ledger.
pub(crate) fn scripted_watch(gw_url: &str, config: WatchConfig) -> (QueueWatch, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("dir");
    let ledger = Arc::new(Ledger::open(dir.path().join("l")).expect("ledger"));
    let client = client_for(gw_url, ALICE, fast_http());
    (QueueWatch::spawn(client, ledger, config), dir)
}

/// Reads events until `done` returns true for one; panics when the watch goes quiet.
pub(crate) async fn expect_event(
    watch: &mut QueueWatch,
    what: &str,
    done: impl Fn(&WatchEvent) -> bool,
) {
    loop {
        match tokio::time::timeout(Duration::from_secs(30), watch.next()).await {
            Ok(Some(event)) if done(&event) => return,
            Ok(Some(_)) => {}
            other => panic!("no {what}: {other:?}"),
        }
    }
}

pub(crate) fn arrived(id: &'static str) -> impl Fn(&WatchEvent) -> bool {
    move |event| matches!(event, WatchEvent::Arrived(item) if item.job.id == id)
}

#[tokio::test]
async fn a_bad_event_or_event_id_is_skipped_and_the_stream_goes_on() {
    let gw = Scripted::start().await;
    gw.on("GET /api/v1/approvals", &[(200, r#"{"items": []}"#)]);
    let a = pending("a", 1).to_string();
    let b = pending("b", 2).to_string();
    // An id a header cannot carry, then an unreadable item: neither may stop the watch,
    // and the next connection (which would send the id back) must still work.
    let first = [
        event("approval.required", Some("bad\u{1}id"), &a),
        event("approval.required", None, "{not json"),
    ]
    .concat();
    let second = event("approval.required", Some("3"), &b);
    gw.on(
        "GET /api/v1/approvals/events",
        &[(200, first.as_str()), (200, second.as_str())],
    );
    let (mut watch, _dir) = scripted_watch(&gw.url(), config(true));
    expect_event(&mut watch, "arrival of a", arrived("a")).await;
    expect_event(
        &mut watch,
        "a skipped event",
        |event| matches!(event, WatchEvent::Skipped { code, .. } if code == "gateway_protocol"),
    )
    .await;
    expect_event(&mut watch, "arrival of b", arrived("b")).await;
    watch.stop().await;
}

#[tokio::test]
async fn an_oversized_event_drops_the_connection() {
    let gw = Scripted::start().await;
    gw.on("GET /api/v1/approvals", &[(200, r#"{"items": []}"#)]);
    let huge = event(
        "approval.required",
        Some("1"),
        &"x".repeat(1024 * 1024 + 16),
    );
    gw.on("GET /api/v1/approvals/events", &[(200, huge.as_str())]);
    let (mut watch, _dir) = scripted_watch(&gw.url(), config(true));
    expect_event(&mut watch, "a protocol failure", |event| {
        matches!(event, WatchEvent::Disconnected { code, .. } if code == "gateway_protocol")
    })
    .await;
    watch.stop().await;
}

#[tokio::test]
async fn a_stream_that_keeps_failing_gives_way_to_polling() {
    let gw = Scripted::start().await;
    let list = json!({"items": [pending("a", 1)], "next_cursor": null}).to_string();
    gw.on("GET /api/v1/approvals", &[(200, list.as_str())]);
    // Opens, then ends before delivering anything, every time.
    gw.on("GET /api/v1/approvals/events", &[(200, "event: nothing\n")]);
    let (mut watch, _dir) = scripted_watch(&gw.url(), config(true));
    expect_event(&mut watch, "a polled sync", |event| {
        matches!(
            event,
            WatchEvent::Synced {
                mode: WatchMode::Polling,
                pending: 1,
                complete: true
            }
        )
    })
    .await;
    watch.stop().await;
}

/// A gateway paging like new-generation Cordum: `limit + 2` jobs fetched per page, the
/// cursor taken from the last fetched one. `answer` may replace a page, by request number.
async fn cordum_pager(
    jobs: Vec<(&'static str, i64)>,
    answer: fn(usize) -> Option<String>,
) -> (String, tokio::task::JoinHandle<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("binds");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    let served = Arc::new(AtomicUsize::new(0));
    let task = tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            let Some((head, _)) = read_request(&mut socket).await else {
                continue;
            };
            let target = head.split_whitespace().nth(1).unwrap_or("").to_owned();
            let (status, body) = if target.starts_with("/api/v1/approvals?") {
                let n = served.fetch_add(1, Ordering::SeqCst);
                let body = answer(n).unwrap_or_else(|| page(&jobs, &target));
                (200, body)
            } else {
                (404, "404 page not found\n".to_owned())
            };
            let reply = format!(
                "HTTP/1.1 {status} X\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
            let _ = socket.write_all(reply.as_bytes()).await;
        }
    });
    (url, task)
}

fn page(jobs: &[(&str, i64)], target: &str) -> String {
    let param = |name: &str| {
        target
            .split(['?', '&'])
            .find_map(|pair| pair.strip_prefix(&format!("{name}=")))
            .and_then(|v| v.parse::<i64>().ok())
    };
    let limit = usize::try_from(param("limit").unwrap_or(100)).unwrap_or(100);
    let cursor = param("cursor").unwrap_or(i64::MAX);
    let fetched: Vec<_> = jobs
        .iter()
        .filter(|(_, at)| *at <= cursor)
        .take(limit + 2)
        .collect();
    let next = match fetched.last() {
        Some((_, at)) if fetched.len() >= limit => json!(at - 1),
        _ => Value::Null,
    };
    let items: Vec<Value> = fetched
        .iter()
        .take(limit)
        .map(|(id, at)| pending(id, *at))
        .collect();
    json!({"items": items, "next_cursor": next}).to_string()
}

fn paged(limit: u32) -> WatchConfig {
    WatchConfig {
        page_limit: limit,
        ..config(false)
    }
}

#[tokio::test]
async fn pages_are_followed_without_skipping_what_the_cursor_jumps() {
    let jobs = vec![("a", 100), ("b", 90), ("c", 80), ("d", 70), ("e", 60)];
    let (url, _server) = cordum_pager(jobs, |_| None).await;
    let (mut watch, _dir) = scripted_watch(&url, paged(2));
    let mut arrivals = Vec::new();
    loop {
        match tokio::time::timeout(Duration::from_secs(30), watch.next()).await {
            Ok(Some(WatchEvent::Arrived(item))) => arrivals.push(item.job.id.clone()),
            Ok(Some(WatchEvent::Synced {
                pending, complete, ..
            })) => {
                assert_eq!(pending, 5, "{arrivals:?}");
                assert!(complete);
                break;
            }
            Ok(Some(_)) => {}
            other => panic!("no sync: {other:?}"),
        }
    }
    watch.stop().await;
    arrivals.sort();
    assert_eq!(arrivals, ["a", "b", "c", "d", "e"]);
}

#[tokio::test]
async fn a_list_too_large_for_the_byte_bound_is_reported_incomplete() {
    let jobs = vec![("a", 100), ("b", 90), ("c", 80), ("d", 70), ("e", 60)];
    let (url, _server) = cordum_pager(jobs, |_| None).await;
    let config = WatchConfig {
        max_list_bytes: 1,
        ..paged(2)
    };
    let (mut watch, _dir) = scripted_watch(&url, config);
    loop {
        match tokio::time::timeout(Duration::from_secs(30), watch.next()).await {
            Ok(Some(WatchEvent::Synced {
                pending, complete, ..
            })) => {
                assert!(!complete);
                assert_eq!(pending, 2, "one page, then the bound");
                break;
            }
            Ok(Some(_)) => {}
            other => panic!("no sync: {other:?}"),
        }
    }
    watch.stop().await;
}

#[tokio::test]
async fn a_cursor_that_stops_moving_is_not_the_end_of_the_list() {
    let jobs = vec![("a", 100), ("b", 90), ("c", 80)];
    // After one honest list, every page is the first one again, with the same cursor.
    let (url, _server) = cordum_pager(jobs, |n| {
        (n > 0).then(|| {
            json!({"items": [pending("a", 100), pending("b", 90)], "next_cursor": 95}).to_string()
        })
    })
    .await;
    let (mut watch, _dir) = scripted_watch(&url, paged(3));
    let mut syncs = 0;
    while syncs < 3 {
        match tokio::time::timeout(Duration::from_secs(30), watch.next()).await {
            Ok(Some(WatchEvent::Synced {
                pending, complete, ..
            })) => {
                assert_eq!(pending, 3);
                assert!(!complete, "a stuck cursor is no complete list");
                syncs += 1;
            }
            Ok(Some(WatchEvent::Resolved { job_id, .. })) => {
                panic!("{job_id} reported resolved from a list that could not finish")
            }
            Ok(Some(_)) => {}
            other => panic!("no sync: {other:?}"),
        }
    }
    watch.stop().await;
}

/// Cordum has no event stream: a policy change must still be reported, from the polls.
#[tokio::test]
async fn a_new_policy_snapshot_is_reported_while_polling() {
    let h = Harness::start().await;
    let mut watch = QueueWatch::spawn(h.client(ALICE), h.ledger("policy"), config(false));
    // Two polled syncs: the first poll only learns the current snapshot.
    let mut syncs = 0;
    while syncs < 2 {
        match tokio::time::timeout(Duration::from_secs(30), watch.next()).await {
            Ok(Some(WatchEvent::Synced { .. })) => syncs += 1,
            Ok(Some(WatchEvent::PolicyChanged { .. })) => panic!("no policy changed yet"),
            Ok(Some(_)) => {}
            other => panic!("no sync: {other:?}"),
        }
    }
    h.running()
        .gateway()
        .publish_policy(POLICY_V2, "test")
        .await
        .expect("publish");
    let current = h
        .client(ALICE)
        .policy_snapshots()
        .await
        .expect("snapshots")
        .first()
        .cloned();
    expect_event(
        &mut watch,
        "a polled policy change",
        |event| matches!(event, WatchEvent::PolicyChanged { snapshot } if *snapshot == current),
    )
    .await;
    watch.stop().await;
}
