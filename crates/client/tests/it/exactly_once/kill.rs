//! A real client process killed with SIGKILL at a random point of a decision: before or
//! during its verification reads, between recording the intent and sending, and with its
//! decision POST in flight (then either delivered to the gateway after the client died, or
//! lost with it). The app then starts again on the same ledger: recovery finishes what was
//! recorded, and a decision killed before its intent is simply still to be made (the
//! reviewer was never told it landed), so the reviewer decides again. Each run ends with the
//! decision in effect exactly once, judged by [`Tally`].
//!
//! The client process is this test binary, re-executed with `--exact
//! exactly_once::kill::child_decider` and its orders in `COUNTERSIGN_KILL_CHILD`; without that
//! variable the child test returns at once, so a normal run just passes it.

use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use countersign_client::Decider;
use countersign_core::outcome::DecisionAction;
use countersign_ledger::{EntryKind, Ledger, Query};
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};

use super::{soak_factor, Tally, Told, REVIEWER};
use crate::support::proxy::{Intercept, Post, Proxy, Resume};
use crate::support::{client_for, fast_http, fast_retry, Harness};

const CHILD_ENV: &str = "COUNTERSIGN_KILL_CHILD";
const KILLS: usize = 60;
const SEED: u64 = 0x0DEA_D0CE;

/// Where the client dies.
#[derive(Debug, Clone, Copy)]
enum KillPoint {
    /// This long after it started: anywhere from starting up to having finished.
    After(Duration),
    /// With its decision POST held by the proxy, which then forwards it (`delivered`) or drops it.
    InFlight { delivered: bool },
}

#[test]
fn child_decider() {
    let Ok(orders) = std::env::var(CHILD_ENV) else {
        return;
    };
    let mut parts = orders.splitn(4, '\n');
    let (url, job, action, ledger) = (
        parts.next().expect("url"),
        parts.next().expect("job"),
        parts.next().expect("action"),
        parts.next().expect("ledger"),
    );
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        let client = client_for(url, REVIEWER, fast_http());
        let seen = client
            .review(job)
            .await
            .expect("read")
            .expect("pending")
            .seen();
        let ledger = Arc::new(Ledger::open(ledger).expect("ledger"));
        let decider = Decider::new(client, ledger, fast_retry());
        let result = match action {
            "approve" => decider.approve(&seen, "ok", "").await,
            _ => decider.reject(&seen, "no", "").await,
        };
        // What the app would now show the reviewer, for the parent to judge.
        println!("told {:?}", Told::of(&result));
    });
}

fn spawn_child(
    url: &str,
    job: &str,
    action: DecisionAction,
    ledger: &std::path::Path,
) -> std::process::Child {
    let action = match action {
        DecisionAction::Approve => "approve",
        DecisionAction::Reject => "reject",
    };
    Command::new(std::env::current_exe().expect("test binary"))
        .args([
            "--exact",
            "exactly_once::kill::child_decider",
            "--test-threads=1",
            "--quiet",
        ])
        .env(
            CHILD_ENV,
            format!("{url}\n{job}\n{action}\n{}", ledger.display()),
        )
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("child starts")
}

/// Kills the child and reaps it; what it told the reviewer before it died, if anything.
async fn kill_and_reap(mut child: std::process::Child) -> Option<Told> {
    // Killing a child that already finished is no error worth stopping for.
    let _ = child.kill();
    let output = tokio::task::spawn_blocking(move || child.wait_with_output())
        .await
        .expect("join")
        .expect("child reaped");
    let printed = String::from_utf8_lossy(&output.stdout);
    [Told::Landed, Told::Unknown, Told::NotLanded]
        .into_iter()
        .find(|told| printed.contains(&format!("told {told:?}")))
}

/// What the restarted app's history says of a decision closed before the kill, when the
/// child died before it could say so itself.
fn told_by_history(ledger: &Ledger, job: &str) -> Told {
    let intents = ledger
        .query(&Query {
            kinds: vec![EntryKind::DecisionIntent],
            job_id: Some(job.to_owned()),
            ..Query::default()
        })
        .expect("query")
        .entries;
    let Some(entry) = intents.last() else {
        return Told::NotLanded;
    };
    let id = entry.body["decision_id"].as_str().unwrap_or_default();
    let Ok(row) = ledger.intent(id) else {
        return Told::Unknown;
    };
    let landed = [
        "success",
        "reconciled",
        "already_approved",
        "already_rejected",
    ];
    match (row.closed_at, row.last_code.as_deref()) {
        (None, _) => Told::Unknown,
        (Some(_), Some(code)) if landed.contains(&code) => Told::Landed,
        (Some(_), _) => Told::NotLanded,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_killed_anywhere_in_a_decision_never_doubles_or_loses_it() {
    let h = Harness::start().await;
    let proxies = [
        Proxy::start(h.addr, false).await,
        Proxy::start(h.addr, true).await,
    ];
    let mut rng = StdRng::seed_from_u64(SEED);
    let mut tally = Tally::default();
    let mut problems = Vec::new();
    let (mut in_flight, mut redecided) = (0usize, 0usize);
    // Where the children died: before recording the intent, with it open, after closing it.
    let mut died_at = [0usize; 3];
    for run in 0..KILLS * soak_factor() {
        let proxy = &proxies[run % 2];
        let job = h.submit().await;
        let action = if rng.random_bool(0.25) {
            DecisionAction::Reject
        } else {
            DecisionAction::Approve
        };
        let point = if rng.random_bool(0.5) {
            KillPoint::InFlight {
                delivered: rng.random_bool(0.5),
            }
        } else {
            KillPoint::After(Duration::from_millis(rng.random_range(0..600)))
        };
        let ledger_path = h.ledger_path(&format!("killed-{run}"));
        std::fs::create_dir_all(ledger_path.parent().expect("dir")).expect("data dir");
        // Only an in-flight kill holds the POST: a held request left behind would reach the
        // gateway after recovery.
        let held = matches!(point, KillPoint::InFlight { .. })
            .then(|| proxy.intercept(Intercept::DecisionOf(job.clone())));
        let child = spawn_child(&proxy.url(), &job, action, &ledger_path);
        let child_told = match point {
            KillPoint::After(delay) => {
                tokio::time::sleep(delay).await;
                kill_and_reap(child).await
            }
            KillPoint::InFlight { delivered } => {
                let held = held.expect("intercepted");
                let held = tokio::time::timeout(Duration::from_secs(30), held)
                    .await
                    .expect("the child's decision POST arrives")
                    .expect("held");
                let told = kill_and_reap(child).await;
                let resume = if delivered {
                    Resume::Forward
                } else {
                    Resume::Drop
                };
                held.resume.send(resume).expect("the proxy waits");
                in_flight += 1;
                told
            }
        };
        // The app starts again on the same ledger.
        let ledger = Arc::new(Ledger::open(&ledger_path).expect("ledger reopens"));
        let decider = Decider::new(
            client_for(&proxy.url(), REVIEWER, fast_http()),
            Arc::clone(&ledger),
            fast_retry(),
        );
        let intents = ledger
            .query(&Query {
                kinds: vec![EntryKind::DecisionIntent],
                job_id: Some(job.clone()),
                ..Query::default()
            })
            .expect("query")
            .entries
            .len();
        let stage = match (intents, ledger.open_intents().expect("open").len()) {
            (0, _) => 0,
            (_, 1) => 1,
            _ => 2,
        };
        died_at[stage] += 1;
        let mut told = child_told.unwrap_or_else(|| told_by_history(&ledger, &job));
        for recovered in decider.recover().await.expect("recover") {
            told = Told::of(&recovered.result);
        }
        if h.job(&job).await["state"] == "APPROVAL_REQUIRED" && told != Told::Landed {
            // Killed before it was recorded, or its recovery was refused: still the reviewer's
            // to decide, and the card is still there.
            redecided += 1;
            let seen = h.seen(&job).await;
            let result = match action {
                DecisionAction::Approve => decider.approve(&seen, "again", "").await,
                DecisionAction::Reject => decider.reject(&seen, "again", "").await,
            };
            told = Told::of(&result);
        }
        let fresh = proxy
            .posts(&job)
            .iter()
            .filter(|p| **p == Post::Fresh)
            .count();
        if !tally.judge(&h, &job, action, fresh, told).await {
            problems.push(format!(
                "run {run} {action:?} {point:?}: told {told:?}, {:?}",
                proxy.posts(&job)
            ));
        }
        if !ledger.open_intents().expect("open").is_empty() {
            problems.push(format!("run {run}: an intent stays open"));
        }
    }
    println!(
        "{}",
        tally.line(
            "exactly_once_kill9",
            &format!(
                " killed_in_flight={in_flight} died_before_intent={} died_with_intent_open={} \
                 died_after_closing={} decided_again_after_restart={redecided}",
                died_at[0], died_at[1], died_at[2]
            )
        )
    );
    assert!(problems.is_empty(), "{problems:#?}");
    tally.assert_clean();
}
