//! `approve` and `show` tell what became of a job after its approval, against the real
//! reference gateway whose policy engine the test takes down.

use std::time::{Duration, Instant};

use countersign_gateway::engine::EngineMode;

use crate::support::{Harness, ALICE, POLICY};

/// `show`'s output once it satisfies `done` (at most 10 s).
fn shown_until(h: &Harness, job: &str, done: impl Fn(&str) -> bool) -> String {
    let start = Instant::now();
    loop {
        let run = h.cli(ALICE, &["show", job]);
        run.success();
        if done(&run.stdout) || start.elapsed() > Duration::from_secs(10) {
            return run.stdout;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn approve_and_show_say_dispatched() {
    let h = Harness::start();
    let job = h.submit();
    let approved = h.cli(ALICE, &["approve", &job, "--reason", "ok"]);
    approved.success();
    let lines: Vec<&str> = approved.stdout.lines().collect();
    assert_eq!(lines.len(), 2, "{approved:?}");
    assert!(
        lines[0].starts_with(&format!("approved {job}")),
        "{approved:?}"
    );
    assert_eq!(lines[1], "approved, dispatched", "{approved:?}");
    assert_eq!(
        h.cli(ALICE, &["show", &job]).stdout.trim(),
        "approved, dispatched"
    );
    let json = h.cli(ALICE, &["--json", "show", &job]).json();
    assert_eq!(json["after_approval"]["status"], "dispatched", "{json}");
    // A rejected job has no "after": show still says it is not pending.
    let other = h.submit();
    h.cli(ALICE, &["reject", &other, "--reason", "no"])
        .success();
    let refused = h.cli(ALICE, &["show", &other]);
    assert!(
        refused.stderr.contains("is not pending approval"),
        "{refused:?}"
    );
}

#[test]
fn an_outage_shows_waiting_then_dispatched() {
    let h = Harness::start();
    h.gateway().set_engine_mode(EngineMode::Down);
    let job = h.submit();
    let approved = h.cli(ALICE, &["approve", &job]);
    approved.success();
    assert!(
        approved.stdout.contains(
            "approved, waiting: policy engine unavailable (closed mode), attempt 1 of 50"
        ),
        "{approved:?}"
    );
    let shown = h.cli(ALICE, &["show", &job]);
    assert!(
        shown
            .stdout
            .starts_with("approved, waiting: policy engine unavailable (closed mode), attempt "),
        "{shown:?}"
    );
    h.gateway().set_engine_mode(EngineMode::Healthy);
    let shown = shown_until(&h, &job, |out| out.contains("dispatched"));
    assert_eq!(shown.trim(), "approved, dispatched");
}

#[test]
fn a_policy_change_before_dispatch_shows_denied_or_reopened() {
    let h = Harness::start();
    let publish = |yaml: &str| {
        h.runtime
            .block_on(h.gateway().publish_policy(yaml, "test"))
            .expect("publish");
    };
    h.gateway().set_engine_mode(EngineMode::Down);
    let denied = h.submit();
    h.cli(ALICE, &["approve", &denied]).success();
    publish(
        &POLICY
            .replace("decision: require_human", "decision: deny")
            .replace("Payments need a human.", "Payments are frozen."),
    );
    h.gateway().set_engine_mode(EngineMode::Healthy);
    let shown = shown_until(&h, &denied, |out| !out.contains("waiting"));
    assert_eq!(
        shown.trim(),
        "approved, then denied at dispatch: Payments are frozen."
    );

    publish(POLICY);
    h.gateway().set_engine_mode(EngineMode::Down);
    let reopened = h.submit();
    h.cli(ALICE, &["approve", &reopened]).success();
    publish(&POLICY.replace("Payments need a human.", "Payments need two looks."));
    h.gateway().set_engine_mode(EngineMode::Healthy);
    let shown = shown_until(&h, &reopened, |out| !out.contains("waiting"));
    let first = shown.lines().next().unwrap_or_default();
    assert_eq!(
        first, "approval re-opened: the policy changed before dispatch",
        "{shown}"
    );
    assert!(
        shown.contains("Payments need two looks."),
        "the new card: {shown}"
    );
}
