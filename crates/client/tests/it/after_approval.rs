//! After a decision the client reads what became of the job, from the real reference
//! gateway: dispatched, waiting at the dispatch-time gate while the policy engine is down,
//! denied at dispatch, or re-opened by a policy change (which the queue watch announces).

use std::time::Duration;

use countersign_client::watch::ItemChange;
use countersign_client::{AfterApproval, QueueWatch, WatchEvent};
use countersign_gateway::engine::EngineMode;

use crate::support::{Harness, ALICE, POLICY_V2};

/// Approves a fresh job as alice; returns its id.
async fn approved(h: &Harness) -> String {
    let job = h.submit().await;
    approve(h, &job).await;
    job
}

async fn approve(h: &Harness, job: &str) {
    let seen = h.seen(job).await;
    h.decider(ALICE, "alice")
        .approve(&seen, "checked", "")
        .await
        .expect("approved");
}

/// The status once the dispatcher took its first look.
async fn settled(h: &Harness, job: &str) -> AfterApproval {
    h.client(ALICE)
        .after_approval_settled(job, Duration::from_secs(5))
        .await
        .expect("read")
        .expect("reported")
}

/// Reads the status until `done` holds (at most 10 s).
async fn status_until(
    h: &Harness,
    job: &str,
    done: impl Fn(&AfterApproval) -> bool,
) -> AfterApproval {
    let client = h.client(ALICE);
    let reading = async {
        loop {
            let status = client.after_approval(job).await.expect("read");
            if let Some(status) = status.filter(|s| done(s)) {
                return status;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    };
    tokio::time::timeout(Duration::from_secs(10), reading)
        .await
        .expect("status reached")
}

#[tokio::test]
async fn an_approved_job_reads_as_dispatched() {
    let h = Harness::start().await;
    let job = approved(&h).await;
    let status = settled(&h, &job).await;
    assert!(
        matches!(status, AfterApproval::Dispatched { .. }),
        "{status:?}"
    );
    assert_eq!(status.line(), "approved, dispatched");
    // A pending job reports nothing yet.
    let pending = h.submit().await;
    assert_eq!(
        h.client(ALICE)
            .after_approval(&pending)
            .await
            .expect("read"),
        None
    );
}

#[tokio::test]
async fn an_outage_reads_as_waiting_then_dispatched() {
    let h = Harness::start().await;
    let gateway = h.running().gateway().clone();
    gateway.set_engine_mode(EngineMode::Down);
    let job = approved(&h).await;
    let status = settled(&h, &job).await;
    assert_eq!(
        status,
        AfterApproval::Waiting {
            reason: "policy engine unavailable".into(),
            fail_mode: Some("closed".into()),
            attempts: Some(1),
            max_attempts: Some(50),
        }
    );
    assert_eq!(
        status.line(),
        "approved, waiting: policy engine unavailable (closed mode), attempt 1 of 50"
    );
    gateway.set_engine_mode(EngineMode::Healthy);
    status_until(&h, &job, |s| matches!(s, AfterApproval::Dispatched { .. })).await;
}

#[tokio::test]
async fn a_policy_change_before_dispatch_denies_or_reopens() {
    let h = Harness::start().await;
    let gateway = h.running().gateway().clone();
    gateway.set_engine_mode(EngineMode::Down);
    let denied = approved(&h).await;
    let deny = POLICY_V2
        .replace("decision: require_human", "decision: deny")
        .replace("Payments still need a human.", "Payments are frozen.");
    gateway
        .publish_policy(&deny, "test")
        .await
        .expect("publish");
    gateway.set_engine_mode(EngineMode::Healthy);
    let status = status_until(&h, &denied, |s| !matches!(s, AfterApproval::Waiting { .. })).await;
    assert_eq!(
        status.line(),
        "approved, then denied at dispatch: Payments are frozen."
    );

    gateway
        .publish_policy(crate::support::POLICY, "test")
        .await
        .expect("publish");
    gateway.set_engine_mode(EngineMode::Down);
    let reopened = approved(&h).await;
    gateway
        .publish_policy(POLICY_V2, "test")
        .await
        .expect("publish");
    gateway.set_engine_mode(EngineMode::Healthy);
    let status = status_until(&h, &reopened, |s| {
        !matches!(s, AfterApproval::Waiting { .. })
    })
    .await;
    assert_eq!(status, AfterApproval::Reopened);
    assert_eq!(
        status.line(),
        "approval re-opened: the policy changed before dispatch"
    );
}

/// Waits for the watch's first event about `job` that `pick` accepts; returns what it picked.
async fn watched<T>(
    watch: &mut QueueWatch,
    job: &str,
    pick: impl Fn(WatchEvent) -> Option<T>,
) -> T {
    loop {
        match tokio::time::timeout(Duration::from_secs(30), watch.next()).await {
            Ok(Some(event)) => {
                if let Some(picked) = pick(event) {
                    return picked;
                }
            }
            other => panic!("nothing expected about {job}: {other:?}"),
        }
    }
}

#[tokio::test]
async fn the_watch_announces_a_reopened_approval() {
    let h = Harness::start().await;
    let gateway = h.running().gateway().clone();
    let mut streamed = QueueWatch::spawn(
        h.client(ALICE),
        h.ledger("streamed"),
        crate::watch::config(true),
    );
    let mut polled = QueueWatch::spawn(
        h.client(ALICE),
        h.ledger("polled"),
        crate::watch::config(false),
    );
    gateway.set_engine_mode(EngineMode::Down);
    let job = h.submit().await;
    // Both watches see it arrive and leave, as a reviewer's would.
    for watch in [&mut streamed, &mut polled] {
        watched(watch, &job, |e| match e {
            WatchEvent::Arrived(item) => (item.job.id == job).then_some(()),
            _ => None,
        })
        .await;
    }
    approve(&h, &job).await;
    for watch in [&mut streamed, &mut polled] {
        watched(watch, &job, |e| match e {
            WatchEvent::Resolved { job_id, .. } => (job_id == job).then_some(()),
            _ => None,
        })
        .await;
    }
    gateway
        .publish_policy(POLICY_V2, "test")
        .await
        .expect("publish");
    gateway.set_engine_mode(EngineMode::Healthy);
    status_until(&h, &job, |s| *s == AfterApproval::Reopened).await;
    for watch in [&mut streamed, &mut polled] {
        let changes = watched(watch, &job, |e| match e {
            WatchEvent::Changed { item, changes } => (item.job.id == job).then_some(changes),
            WatchEvent::Arrived(item) if item.job.id == job => panic!("announced as new"),
            _ => None,
        })
        .await;
        assert!(changes.contains(&ItemChange::State), "{changes:?}");
        assert!(watch.pending().iter().any(|i| i.job.id == job));
    }
    streamed.stop().await;
    polled.stop().await;
}
