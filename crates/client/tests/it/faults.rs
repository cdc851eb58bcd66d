//! Fault injection: answers lost after the gateway committed, 503s, answers stalled past the
//! client's timeout, and clients killed between recording the intent and sending, through a
//! loopback proxy, against both a modern and a v0.9-looking gateway. After recovery every job
//! has exactly one decision, none lost, in at least 200 seeded random runs.
//!
//! The gateway's own idempotency hides a client that sends twice (its dispatch count stays
//! 1), so the proxy also judges every decision POST by the gateway's answer, and the test
//! holds the client to this invariant: exactly one POST per job committed the decision, and
//! a POST the gateway answered as a replay (the decision already in effect) is one the
//! protocol needed. An approve never needs one: every retry is re-verified and a recovered
//! row is read back before sending, and both find a committed approval. A reject is re-sent
//! blind after a lost answer, so it may meet at most one replay per answer lost.

use std::sync::Arc;
use std::time::Duration;

use countersign_client::{ClientError, Decider, HttpConfig, RetryPolicy};
use countersign_core::outcome::DecisionAction;
use countersign_core::verify::SeenItem;
use countersign_ledger::{new_decision_id, DecisionIntent, EntryKind, Ledger, Query};
use futures_util::StreamExt;
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};

use crate::support::proxy::{Fault, Post, Proxy};
use crate::support::{client_for, Harness, ALICE};

const RUNS: usize = 200;
const SEED: u64 = 0x00C0_FFEE;
// Long enough that a busy machine (two cores, builds beside) rarely times out an answer the
// test did not mean to lose: such a timeout is an unplanned lost answer, which the replay
// count below does not allow for.
const CLIENT_TIMEOUT: Duration = Duration::from_millis(2_000);
const STALL: Duration = Duration::from_millis(2_500);

#[derive(Debug)]
struct Run {
    job: String,
    action: DecisionAction,
    v09: bool,
    faults: Vec<Fault>,
    /// Record the intent and "die" before sending.
    crash: bool,
}

fn plan(rng: &mut StdRng, job: String) -> Run {
    let faults = (0..rng.random_range(0..=3usize))
        .map(|_| match rng.random_range(0..3u8) {
            0 => Fault::DropAfterCommit,
            1 => Fault::Unavailable,
            _ => Fault::Stall(STALL),
        })
        .collect();
    Run {
        job,
        action: if rng.random_bool(0.25) {
            DecisionAction::Reject
        } else {
            DecisionAction::Approve
        },
        v09: rng.random_bool(0.5),
        faults,
        crash: rng.random_bool(0.15),
    }
}

async fn execute(run: &Run, seen: SeenItem, decider: &Decider, ledger: &Ledger) {
    if run.crash {
        ledger
            .record_intent(&DecisionIntent {
                decision_id: new_decision_id(),
                job_id: run.job.clone(),
                topic: None,
                action: run.action,
                job_hash: seen.job_hash.clone(),
                policy_snapshot: seen.policy_snapshot.clone(),
                reason: "recorded, then the client died".into(),
                note: "the note survives the crash".into(),
                workflow_gate: seen.workflow_gate,
                content_digest: seen.content_digest.clone(),
                content: seen.content.clone(),
            })
            .expect("intent");
        return;
    }
    // Errors before the intent (a timed-out verification read) send nothing: try again. A
    // v0.9 verification reads the whole list and the job through the short client timeout,
    // so on a busy machine it may take many tries; none of them can send anything.
    for _ in 0..50 {
        let result = match run.action {
            DecisionAction::Approve => decider.approve(&seen, "ok", "").await,
            DecisionAction::Reject => decider.reject(&seen, "no", "").await,
        };
        match result {
            Ok(_) | Err(ClientError::OutcomeUnknown { .. }) => return,
            Err(error) if error.is_transient() => continue,
            Err(error) => panic!("run {run:?} failed: {error:?}"),
        }
    }
    panic!("run {run:?} never got past verification");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn faults_never_lose_or_double_a_decision() {
    let h = Harness::start().await;
    let proxies = [
        Proxy::start(h.addr, false).await,
        Proxy::start(h.addr, true).await,
    ];
    let ledger = h.ledger("alice");
    let http = HttpConfig {
        timeout: CLIENT_TIMEOUT,
        ..crate::support::fast_http()
    };
    let retry = RetryPolicy {
        max_attempts: 3,
        initial_delay: Duration::from_millis(2),
        max_delay: Duration::from_millis(20),
    };
    let deciders: Vec<Decider> = proxies
        .iter()
        .map(|p| {
            Decider::new(
                client_for(&p.url(), ALICE, http.clone()),
                Arc::clone(&ledger),
                retry,
            )
        })
        .collect();

    let jobs: Vec<String> = futures_util::stream::iter(0..RUNS)
        .map(|_| h.submit())
        .buffer_unordered(8)
        .collect()
        .await;
    let mut rng = StdRng::seed_from_u64(SEED);
    let runs: Vec<Run> = jobs.into_iter().map(|job| plan(&mut rng, job)).collect();

    futures_util::stream::iter(&runs)
        .for_each_concurrent(10, |run| {
            let (h, ledger, proxies, deciders) = (&h, &ledger, &proxies, &deciders);
            async move {
                let seen = h.seen(&run.job).await;
                let index = usize::from(run.v09);
                proxies[index].set_faults(&run.job, run.faults.clone());
                execute(run, seen, &deciders[index], ledger).await;
            }
        })
        .await;

    let left_open = ledger.open_intents().expect("open").len();
    for proxy in &proxies {
        proxy.heal();
    }
    // Recovery reads through the same short client timeout; a timed-out read leaves the
    // intent open for the next round, which is exactly what the app would do.
    let mut recovered_ok = 0;
    for _ in 0..5 {
        for r in deciders[0].recover().await.expect("recover") {
            match r.result {
                Ok(_) => recovered_ok += 1,
                Err(error) if error.is_transient() || error.code() == "outcome_unknown" => {}
                Err(error) => panic!("recovery of {} failed: {error:?}", r.job_id),
            }
        }
        if recovered_ok == left_open {
            break;
        }
    }
    assert_eq!(recovered_ok, left_open);
    assert!(ledger.open_intents().expect("open").is_empty());

    for run in &runs {
        let record = h.job(&run.job).await;
        let dispatched = h.dispatches(&run.job).await;
        match run.action {
            DecisionAction::Approve => {
                assert_eq!(record["approval_by"], "alice", "{run:?}: {record}");
                assert_eq!(dispatched, 1, "{run:?}");
            }
            DecisionAction::Reject => {
                assert_eq!(record["state"], "DENIED", "{run:?}: {record}");
                assert_eq!(dispatched, 0, "{run:?}");
            }
        }
        let intents = ledger
            .query(&Query {
                kinds: vec![EntryKind::DecisionIntent],
                job_id: Some(run.job.clone()),
                ..Query::default()
            })
            .expect("query")
            .entries;
        assert_eq!(intents.len(), 1, "{run:?}");

        let posts: Vec<Post> = proxies.iter().flat_map(|p| p.posts(&run.job)).collect();
        let count = |kind| posts.iter().filter(|p| **p == kind).count();
        assert_eq!(count(Post::Fresh), 1, "{run:?}: {posts:?}");
        let lost_answers = run
            .faults
            .iter()
            .filter(|f| matches!(f, Fault::DropAfterCommit | Fault::Stall(_)))
            .count();
        let allowed = match run.action {
            DecisionAction::Approve => 0,
            DecisionAction::Reject => lost_answers,
        };
        assert!(count(Post::Replay) <= allowed, "{run:?}: {posts:?}");
    }
    let crashes = runs.iter().filter(|r| r.crash).count();
    println!(
        "{RUNS} runs: {crashes} crashes, {left_open} left open and recovered, {} faults injected",
        runs.iter().map(|r| r.faults.len()).sum::<usize>()
    );
}
