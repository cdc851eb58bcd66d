//! Randomized decisions through the fault proxy, against both a modern and a v0.9-looking
//! gateway: connections dropped before and after the gateway commits, 502/503/504 before
//! forwarding, 502/504 after the gateway committed, answers stalled past the client's timeout,
//! requests the network repeats, and clients that die between recording the intent and
//! sending. After recovery every decision is judged by [`Tally`].
//!
//! The gateway's own idempotency hides a client that sends twice (its dispatch count stays
//! 1), so the proxy also judges every decision POST by the gateway's answer, and the test
//! holds the client to this invariant: exactly one POST per job committed the decision, and
//! a POST the gateway answered as a replay (the decision already in effect) is one the
//! protocol needed, or one the network repeated. An approve never needs one: every retry is
//! re-verified and a recovered row is read back before sending, and both find a committed
//! approval. A reject is re-sent blind after an uncertain answer (lost, timed out, 5xx), so it
//! may meet at most one replay per uncertain answer its ledger recorded.

use std::sync::Arc;
use std::time::Duration;

use countersign_client::{ClientError, Decider, HttpConfig, RetryPolicy};
use countersign_core::outcome::DecisionAction;
use countersign_core::verify::SeenItem;
use countersign_ledger::{new_decision_id, DecisionIntent, EntryKind, Ledger, Query};
use futures_util::StreamExt;
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};

use super::{soak_factor, Tally, Told, REVIEWER};
use crate::support::proxy::{Fault, Post, Proxy};
use crate::support::{client_for, Harness};

const RUNS: usize = 1_000;
const SEED: u64 = 0x00C0_FFEE;
const CONCURRENT: usize = 16;
// Long enough that a busy machine (two cores, builds beside) rarely times out an answer the
// test did not mean to lose (the replay bound counts such a timeout as the uncertain answer
// it is).
const CLIENT_TIMEOUT: Duration = Duration::from_millis(2_000);
const STALL: Duration = Duration::from_millis(2_500);
/// Outcome codes of a send whose answer left open whether the gateway committed.
const UNCERTAIN: &[&str] = &["network", "timeout", "gateway_unavailable", "unavailable"];

#[derive(Debug)]
struct Run {
    job: String,
    action: DecisionAction,
    v09: bool,
    faults: Vec<Fault>,
    /// Record the intent and "die" before sending.
    crash: bool,
}

fn fault(rng: &mut StdRng) -> Fault {
    match rng.random_range(0..8u8) {
        0 => Fault::DropBeforeCommit,
        1 => Fault::DropAfterCommit,
        2 => Fault::Status([502, 503, 504][rng.random_range(0..3usize)]),
        3 => Fault::StatusAfterCommit([502, 504][rng.random_range(0..2usize)]),
        4 => Fault::Stall(STALL),
        5 => Fault::Duplicate,
        _ => Fault::Status(503),
    }
}

fn plan(rng: &mut StdRng, job: String) -> Run {
    let faults = (0..rng.random_range(0..=3usize))
        .map(|_| fault(rng))
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

/// Decides as the reviewer would, clicking again after an error that sent nothing; `None`
/// when the client "died" before sending.
async fn execute(run: &Run, seen: SeenItem, decider: &Decider, ledger: &Ledger) -> Option<Told> {
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
        return None;
    }
    // Errors before the intent (a timed-out verification read) send nothing: try again. A
    // v0.9 verification reads the whole list and the job through the short client timeout,
    // so on a busy machine it may take many tries; none of them can send anything.
    for _ in 0..50 {
        let result = match run.action {
            DecisionAction::Approve => decider.approve(&seen, "ok", "").await,
            DecisionAction::Reject => decider.reject(&seen, "no", "").await,
        };
        match &result {
            Err(error) if error.is_transient() => continue,
            Ok(_) | Err(ClientError::OutcomeUnknown { .. }) => return Some(Told::of(&result)),
            Err(error) => panic!("run {run:?} failed: {error:?}"),
        }
    }
    panic!("run {run:?} never got past verification");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn faults_never_lose_double_or_misreport_a_decision() {
    let runs_wanted = RUNS * soak_factor();
    let h = Harness::start().await;
    let proxies = [
        Proxy::start(h.addr, false).await,
        Proxy::start(h.addr, true).await,
    ];
    // One ledger per generation, so each crashed row is recovered against the gateway it
    // was meant for.
    let ledgers = [h.ledger("alice"), h.ledger("alice-v09")];
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
        .zip(&ledgers)
        .map(|(p, ledger)| {
            Decider::new(
                client_for(&p.url(), REVIEWER, http.clone()),
                Arc::clone(ledger),
                retry,
            )
        })
        .collect();

    let jobs: Vec<String> = futures_util::stream::iter(0..runs_wanted)
        .map(|_| h.submit())
        .buffer_unordered(8)
        .collect()
        .await;
    let mut rng = StdRng::seed_from_u64(SEED);
    let runs: Vec<Run> = jobs.into_iter().map(|job| plan(&mut rng, job)).collect();

    let told: Vec<Option<Told>> = futures_util::stream::iter(&runs)
        .map(|run| {
            let (h, ledgers, proxies, deciders) = (&h, &ledgers, &proxies, &deciders);
            async move {
                let seen = h.seen(&run.job).await;
                let index = usize::from(run.v09);
                proxies[index].set_faults(&run.job, run.faults.clone());
                execute(run, seen, &deciders[index], &ledgers[index]).await
            }
        })
        .buffered(CONCURRENT)
        .collect()
        .await;
    let mut told: std::collections::HashMap<String, Told> = runs
        .iter()
        .zip(told)
        .filter_map(|(run, told)| Some((run.job.clone(), told?)))
        .collect();

    let open = |ledgers: &[Arc<Ledger>]| -> usize {
        ledgers
            .iter()
            .map(|l| l.open_intents().expect("open").len())
            .sum()
    };
    let left_open = open(&ledgers);
    // Recovery meets the faults the crashed clients never sent into, through the same short
    // client timeout; what it cannot settle yet stays open for its next round, as in the app.
    let mut recovered_ok = 0;
    for _ in 0..10 {
        for decider in &deciders {
            for r in decider.recover().await.expect("recover") {
                match &r.result {
                    Ok(_) => recovered_ok += 1,
                    Err(error) if error.is_transient() || error.code() == "outcome_unknown" => {}
                    Err(error) => panic!("recovery of {} failed: {error:?}", r.job_id),
                }
                told.insert(r.job_id.clone(), Told::of(&r.result));
            }
        }
        if open(&ledgers) == 0 {
            break;
        }
    }
    assert_eq!(recovered_ok, left_open);
    assert_eq!(open(&ledgers), 0);

    let mut tally = Tally::default();
    let mut problems = Vec::new();
    for run in &runs {
        let posts: Vec<Post> = proxies.iter().flat_map(|p| p.posts(&run.job)).collect();
        let count = |kind| posts.iter().filter(|p| **p == kind).count();
        let told = told.get(&run.job).copied().unwrap_or(Told::Unknown);
        if !tally
            .judge(&h, &run.job, run.action, count(Post::Fresh), told)
            .await
        {
            problems.push(format!("{run:?} told {told:?}: {posts:?}"));
        }
        let intents = ledgers[usize::from(run.v09)]
            .query(&Query {
                kinds: vec![EntryKind::DecisionIntent],
                job_id: Some(run.job.clone()),
                ..Query::default()
            })
            .expect("query")
            .entries;
        if intents.len() != 1 {
            problems.push(format!("{run:?}: {} intents", intents.len()));
        }
        // The answers the client itself found uncertain, as its ledger recorded them: the
        // planned lost answers, and any a busy machine added by timing out an answer.
        let uncertain = ledgers[usize::from(run.v09)]
            .query(&Query {
                kinds: vec![EntryKind::DecisionOutcome],
                job_id: Some(run.job.clone()),
                ..Query::default()
            })
            .expect("query")
            .entries
            .iter()
            .filter(|e| UNCERTAIN.contains(&e.outcome.as_deref().unwrap_or_default()))
            .count();
        let repeated = run
            .faults
            .iter()
            .filter(|f| **f == Fault::Duplicate)
            .count();
        let needed = match run.action {
            DecisionAction::Approve => 0,
            DecisionAction::Reject => uncertain,
        };
        if count(Post::Replay) > needed + repeated {
            problems.push(format!("{run:?}: a replay no fault needed: {posts:?}"));
        }
    }
    let crashes = runs.iter().filter(|r| r.crash).count();
    let faults = proxies.iter().map(Proxy::faults_applied).sum::<usize>();
    println!(
        "{}",
        tally.line(
            "exactly_once_faults",
            &format!(" faults_met={faults} crashed_before_send={crashes} recovered={left_open}")
        )
    );
    assert!(problems.is_empty(), "{problems:#?}");
    tally.assert_clean();
}
