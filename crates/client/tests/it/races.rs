//! Races (issue 13): ten reviewers, each with their own client and ledger, decide the same 200
//! jobs at once, each job approved or rejected at random by each reviewer. Every job ends with
//! exactly one decision, made by exactly one reviewer; every other reviewer is told that someone
//! else resolved it (by the list no longer showing it, by the fresh check before sending, or
//! by the gateway's answer); nothing is dispatched twice.

use countersign_client::{ClientError, Decider, DecisionReport, Settlement};
use countersign_core::outcome::{DecisionAction, GatewayOutcome};
use countersign_core::verify::Verdict;
use futures_util::future::join_all;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{RngExt, SeedableRng};

use crate::support::{burst, client_for, fast_http, fast_retry, reviewer_key, Harness, REVIEWERS};

const JOBS: usize = 200;
const SEED: u64 = 0x5ACE;

/// What one reviewer's click on one job came to.
#[derive(Debug)]
enum Attempt {
    /// The item was gone from the reviewer's queue before they could click.
    GoneBeforeClick,
    Decided(DecisionAction, countersign_client::Result<DecisionReport>),
}

/// How `attempt` told its reviewer that someone else resolved the job; `None` if it did not.
fn told_resolved_elsewhere(attempt: &Attempt) -> Option<&'static str> {
    match attempt {
        Attempt::GoneBeforeClick => Some("gone_before_click"),
        Attempt::Decided(_, Ok(report)) => matches!(
            report.settlement,
            Settlement::AlreadyApplied {
                by_us: Some(false),
                earlier_attempt: false,
                ..
            }
        )
        .then_some("replay_named_the_winner"),
        Attempt::Decided(_, Err(ClientError::Drift(Verdict::NoLongerPending { .. }))) => {
            Some("fresh_check_saw_it_resolved")
        }
        Attempt::Decided(_, Err(ClientError::Conflict(outcome))) => matches!(
            outcome,
            GatewayOutcome::AlreadyApproved { .. }
                | GatewayOutcome::AlreadyRejected { .. }
                | GatewayOutcome::NotActionable { .. }
        )
        .then_some("gateway_refused"),
        Attempt::Decided(..) => None,
    }
}

fn won(attempt: &Attempt) -> Option<DecisionAction> {
    match attempt {
        Attempt::Decided(action, Ok(report)) if report.settlement == Settlement::Applied => {
            Some(*action)
        }
        _ => None,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_reviewers_racing_on_the_same_jobs_decide_each_exactly_once() {
    let h = Harness::start().await;
    let jobs = burst(&h, JOBS).await;
    let reviewers = (0..REVIEWERS).map(|r| {
        let decider = Decider::new(
            client_for(&h.url(), &reviewer_key(r), fast_http()),
            h.ledger(&format!("reviewer-{r}")),
            fast_retry(),
        );
        let mut rng = StdRng::seed_from_u64(SEED + r as u64);
        let mut order = jobs.clone();
        // Half walk the queue in the same order (the tightest races), half shuffled.
        if r % 2 == 1 {
            order.shuffle(&mut rng);
        }
        async move {
            let mut attempts = Vec::new();
            for job in order {
                let action = if rng.random_bool(0.3) {
                    DecisionAction::Reject
                } else {
                    DecisionAction::Approve
                };
                let Some(item) = decider.client().review(&job).await.expect("review") else {
                    attempts.push((job, Attempt::GoneBeforeClick));
                    continue;
                };
                let seen = item.seen();
                let result = match action {
                    DecisionAction::Approve => decider.approve(&seen, "race", "").await,
                    DecisionAction::Reject => decider.reject(&seen, "race", "").await,
                };
                attempts.push((job, Attempt::Decided(action, result)));
            }
            (r, attempts)
        }
    });
    let all = join_all(reviewers).await;

    let mut problems = Vec::new();
    let (mut decided, mut losers, mut told_elsewhere, mut double_dispatch) = (0usize, 0, 0, 0);
    let mut paths = std::collections::BTreeMap::new();
    for job in &jobs {
        let attempts: Vec<(usize, &Attempt)> = all
            .iter()
            .flat_map(|(r, attempts)| {
                attempts
                    .iter()
                    .filter(move |(j, _)| j == job)
                    .map(move |(_, a)| (*r, a))
            })
            .collect();
        let winners: Vec<(usize, DecisionAction)> = attempts
            .iter()
            .filter_map(|(r, a)| won(a).map(|action| (*r, action)))
            .collect();
        let record = h.job(job).await;
        let dispatched = h.dispatches(job).await;
        double_dispatch += usize::from(dispatched > 1);
        let [(winner, action)] = winners[..] else {
            problems.push(format!("{job}: winners {winners:?}, {record}"));
            continue;
        };
        decided += 1;
        let in_effect = match action {
            DecisionAction::Approve => {
                record["approval_by"] == format!("reviewer-{winner}") && dispatched == 1
            }
            DecisionAction::Reject => record["state"] == "DENIED" && dispatched == 0,
        };
        if !in_effect {
            problems.push(format!(
                "{job}: reviewer-{winner} won {action:?} but {record}"
            ));
        }
        for (r, attempt) in attempts.iter().filter(|(r, _)| *r != winner) {
            losers += 1;
            if let Some(how) = told_resolved_elsewhere(attempt) {
                told_elsewhere += 1;
                *paths.entry(how).or_insert(0usize) += 1;
            } else {
                problems.push(format!("{job}: reviewer-{r} lost and was told {attempt:?}"));
            }
        }
    }
    println!(
        "RELIABILITY races reviewers={REVIEWERS} jobs={JOBS} decided_once={decided} \
         losers={losers} losers_told_resolved_elsewhere={told_elsewhere} \
         double_dispatch={double_dispatch} {}",
        paths
            .iter()
            .map(|(how, n)| format!("losers_{how}={n}"))
            .collect::<Vec<_>>()
            .join(" ")
    );
    assert!(problems.is_empty(), "{problems:#?}");
    assert_eq!(decided, JOBS);
    // The race was real: losers clicked while the winner's decision was being made.
    let clicked = losers - paths.get("gone_before_click").copied().unwrap_or(0);
    assert!(clicked > 0, "{paths:?}");
    assert_eq!(double_dispatch, 0);
}
