//! The reviewer's whole job from a terminal: list, show, approve, reject, and every way a
//! decision can be refused.

use crate::support::{Harness, AGENT, ALICE, AUTH, BOB, CONFLICT};

const V2_STILL_HUMAN: &str = r#"version: v1
rules:
  - id: require-approval-finance-v2
    when: { topic: finance.payment.execute }
    decision: require_human
    reason: Payments still need a human.
"#;

#[test]
fn list_show_approve_reject_and_repeat() {
    let h = Harness::start();
    let paid = h.submit();
    let hostile = h.submit_as(
        AGENT,
        "\u{1b}[2J\u{1b}]0;owned\u{7}fake line\nVerified: trust me",
    );

    let list = h.cli(ALICE, &["list"]);
    list.success();
    assert!(
        list.stdout.contains(&paid) && list.stdout.contains(&hostile),
        "{list:?}"
    );
    assert!(list.stdout.contains("finance.payment.execute"), "{list:?}");
    let listed = h.cli(ALICE, &["--json", "list"]).json();
    let ids: Vec<&str> = listed["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter_map(|item| item["job"]["id"].as_str())
        .collect();
    assert!(
        ids.contains(&paid.as_str()) && ids.contains(&hostile.as_str()),
        "{listed}"
    );

    let shown = h.cli(ALICE, &["show", &hostile]);
    shown.success();
    assert!(
        !shown.stdout.contains('\u{1b}') && !shown.stdout.contains('\u{7}'),
        "{shown:?}"
    );
    assert!(shown.stdout.contains("content verified"), "{shown:?}");
    assert!(
        !shown
            .stdout
            .lines()
            .any(|line| line.starts_with("Verified: trust me")),
        "a forged line: {shown:?}"
    );
    let shown = h.cli(ALICE, &["show", &paid, "--json"]).json();
    assert_eq!(shown["verdict"]["code"], "content_verified", "{shown}");
    assert_eq!(shown["verdict_level"], "content_verified", "{shown}");
    assert_eq!(shown["content"]["payload"]["prompt"], "pay the invoice");
    assert_eq!(shown["card"]["job_id"], paid.as_str());

    let approved = h.cli(ALICE, &["approve", &paid, "--reason", "invoice checked"]);
    approved.success();
    assert!(
        approved.stdout.contains(&format!("approved {paid}")),
        "{approved:?}"
    );
    assert_ne!(h.state(&paid), "APPROVAL_REQUIRED");

    // Again: already in effect, which is not an error.
    let again = h.cli(ALICE, &["approve", &paid, "--json"]);
    again.success();
    let again = again.json();
    assert_eq!(
        again["decision"]["settlement"]["code"], "already_applied",
        "{again}"
    );
    assert_eq!(again["decision"]["settlement"]["by"], "alice", "{again}");

    // A reject needs a reason (clap refuses the call), then goes through.
    h.cli(ALICE, &["reject", &hostile]).failed_with(2);
    let unparsed = h.cli(ALICE, &["--json", "reject", &hostile]);
    unparsed.failed_with(2);
    assert_eq!(
        unparsed.json()["error"]["code"],
        "invalid_input",
        "{unparsed:?}"
    );
    let rejected = h.cli(
        ALICE,
        &["--json", "reject", &hostile, "--reason", "not ours"],
    );
    rejected.success();
    let rejected = rejected.json();
    assert_eq!(rejected["decision"]["action"], "reject", "{rejected}");
    assert_eq!(
        rejected["decision"]["settlement"]["code"], "applied",
        "{rejected}"
    );
    assert_eq!(h.state(&hostile), "DENIED");

    // Approving what someone rejected is a conflict; showing it, not found.
    let crossed = h.cli(ALICE, &["approve", &hostile]);
    crossed.failed_with(CONFLICT);
    assert!(
        crossed.stderr.starts_with("countersign-cli: conflict: "),
        "{crossed:?}"
    );
    h.cli(ALICE, &["show", &hostile]).failed_with(6);
    h.assert_no_secret_leaked();
}

#[test]
fn self_approval_and_wrong_keys_are_auth_failures() {
    let h = Harness::start();
    let own = h.submit_as(BOB, "mine");
    let refused = h.cli(BOB, &["--json", "approve", &own]);
    refused.failed_with(AUTH);
    assert_eq!(
        refused.json()["error"]["code"],
        "self_approval_denied",
        "{refused:?}"
    );
    assert!(
        refused.stderr.contains("self_approval_denied"),
        "{refused:?}"
    );
    assert_eq!(h.state(&own), "APPROVAL_REQUIRED");

    let wrong = h.cli("not-a-key-at-all-0000", &["list"]);
    wrong.failed_with(AUTH);
    assert!(
        wrong.stderr.starts_with("countersign-cli: unauthorized: "),
        "{wrong:?}"
    );
    h.assert_no_secret_leaked();
}

#[test]
fn drift_between_show_and_approve_is_refused_without_sending() {
    let h = Harness::start();

    // The stored request changes under its recorded hash, where the card does not show it.
    let job = h.submit();
    h.cli(ALICE, &["show", &job]).success();
    h.runtime
        .block_on(h.gateway().mutate_stored_request(&job, |request| {
            request.env.insert("region".into(), "attacker".into());
        }))
        .expect("mutated");
    let refused = h.cli(ALICE, &["--json", "approve", &job]);
    refused.failed_with(CONFLICT);
    let error = refused.json();
    assert_eq!(error["error"]["code"], "drift", "{error}");
    assert_eq!(
        error["error"]["detail"]["code"], "content_mismatch",
        "{error}"
    );
    assert_eq!(h.state(&job), "APPROVAL_REQUIRED");

    // The payload the reviewer read changes behind the gateway (its hash does not cover it):
    // refused, naming the field, seen vs now.
    let job = h.submit();
    h.cli(ALICE, &["show", &job]).success();
    h.runtime
        .block_on(h.gateway().mutate_stored_context(&job, |context| {
            *context = serde_json::json!({"note": "wire 9800000 to Mallory"});
        }))
        .expect("mutated");
    let refused = h.cli(ALICE, &["approve", &job]);
    refused.failed_with(CONFLICT);
    assert!(
        refused.stderr.contains("refused locally (content_changed)")
            && refused.stderr.contains("payload (was")
            && refused.stderr.contains("Mallory"),
        "{refused:?}"
    );
    assert_eq!(h.state(&job), "APPROVAL_REQUIRED");

    // The policy changes between show and approve: refused, until the reviewer looks again.
    let job = h.submit();
    h.cli(ALICE, &["show", &job]).success();
    h.runtime
        .block_on(h.gateway().publish_policy(V2_STILL_HUMAN, "test"))
        .expect("published");
    let refused = h.cli(ALICE, &["approve", &job]);
    refused.failed_with(CONFLICT);
    assert!(
        refused
            .stderr
            .contains("drift: refused locally (policy_changed)"),
        "{refused:?}"
    );
    assert_eq!(h.state(&job), "APPROVAL_REQUIRED");
    // The gateway re-evaluated the pending item under the new policy; looking again binds
    // the next approve to what is shown now, so it verifies and goes through.
    let again = h.cli(ALICE, &["--json", "show", &job]).json();
    assert_eq!(again["verdict"]["code"], "content_verified", "{again}");
    h.cli(ALICE, &["approve", &job]).success();
    assert_ne!(h.state(&job), "APPROVAL_REQUIRED");
    h.assert_no_secret_leaked();
}

/// One agent's context nested 126 levels (the gateway accepts it) made the whole page
/// unreadable for every reviewer; now only that item may be, and it is named.
#[test]
fn one_deeply_nested_job_does_not_blind_the_list() {
    // The reference gateway refuses contexts deeper than 32 levels; other gateways may not.
    let h = Harness::start_configured(Vec::new(), |c| c.submit_limits.max_context_depth = 128);
    let fine = h.submit();
    let deep: serde_json::Value =
        serde_json::from_str(&format!("{}1{}", "[".repeat(126), "]".repeat(126)))
            .expect("126 levels parse");
    let nested = h.submit_context(AGENT, deep);
    let listed = h.cli(ALICE, &["list"]);
    listed.success();
    assert!(listed.stdout.contains(fine.as_str()), "{listed:?}");
    // Readable on its own, so listed; at worst it would be named as unreadable.
    assert!(
        listed.stdout.contains(nested.as_str())
            || listed.stderr.contains(&format!("unreadable item {nested}")),
        "{listed:?}"
    );
}
