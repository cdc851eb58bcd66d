//! Governance decisions on policy drafts against the reference gateway: bound to the snapshot
//! seen, refused locally when it moved, idempotent across a lost answer, never believed for
//! another snapshot.

use countersign_client::{ClientError, DraftFilter, GovernanceDecider};
use countersign_core::governance::{
    code, source_snapshot_hash, DraftBinding, GovernanceAnswer, GovernanceChannel,
};
use countersign_core::outcome::DecisionAction;
use countersign_ledger::{EntryKind, GovernanceIntent, Query};
use serde_json::json;

use crate::support::proxy::{Intercept, Proxy, Resume};
use crate::support::scripted::Scripted;
use crate::support::{
    client_for, fast_http, fast_retry, reviewer_key, Harness, ALICE, BOB, POLICY,
};

/// The current policy with one more rule: ready for approval.
const TIGHTER: &str = r#"version: v1
rules:
  - id: require-approval-prod-finance
    when: { topic: finance.payment.execute }
    decision: require_human
    reason: Payments need a human.
  - id: deploys-need-a-human
    when: { topic: deploy.production }
    decision: require_human
    reason: Production deploys need a human.
"#;

/// A rule that allows everything: a blocker.
const OPEN_DOOR: &str = r#"version: v1
rules:
  - id: anything-goes
    decision: allow
"#;

fn governance(h: &Harness, key: &str, ledger: &str) -> GovernanceDecider {
    GovernanceDecider::new(h.client(key), h.ledger(ledger), fast_retry())
}

fn kinds(ledger: &countersign_ledger::Ledger, draft_id: &str) -> Vec<EntryKind> {
    let page = ledger
        .query(&Query {
            job_id: Some(draft_id.to_owned()),
            ..Query::default()
        })
        .expect("query");
    page.entries.iter().rev().map(|e| e.kind).collect()
}

fn refusal_code(error: &ClientError) -> &str {
    match error {
        ClientError::GovernanceRefused { code, .. } => code,
        other => panic!("not a governance refusal: {other:?}"),
    }
}

#[tokio::test]
async fn a_draft_approved_as_seen_becomes_the_policy_and_a_repeat_reads_the_approval_back() {
    let h = Harness::start().await;
    let proposed = h
        .client(BOB)
        .propose_draft("Production deploys need a human", TIGHTER)
        .await
        .expect("proposed");
    let alice = governance(&h, ALICE, "alice");
    let listed = alice
        .client()
        .policy_drafts(DraftFilter::Open)
        .await
        .expect("drafts");
    assert_eq!(listed.len(), 1);
    let draft = alice.show(&proposed.draft_id).await.expect("shown");
    assert!(draft.active_snapshot.yaml_matches_hash());
    let seen = DraftBinding::of(&draft);

    let report = alice
        .approve(&seen, "deploys are risky", GovernanceChannel::Cli)
        .await
        .expect("approved");
    let GovernanceAnswer::Approved { approval, repeat } = &report.answer else {
        panic!("{report:?}");
    };
    assert!(!repeat);
    assert_eq!(approval.actor, "alice");
    assert_eq!(approval.snapshot_id, seen.snapshot_id);
    assert_eq!(approval.source_snapshot_hash, source_snapshot_hash(TIGHTER));
    assert_eq!(approval.rationale.as_deref(), Some("deploys are risky"));
    assert_eq!(report.by_us, Some(true));
    let current = alice.client().policy_snapshots().await.expect("snapshots");
    assert_eq!(
        current[0], approval.published_snapshot,
        "the draft is the policy now"
    );

    let again = alice
        .approve(&seen, "", GovernanceChannel::Cli)
        .await
        .expect("idempotent");
    let GovernanceAnswer::Approved {
        approval: same,
        repeat: true,
    } = &again.answer
    else {
        panic!("{again:?}");
    };
    assert_eq!(
        same.approval_id, approval.approval_id,
        "one approval, read back"
    );

    let ledger = h.ledger("alice");
    assert!(ledger.open_governance_intents().expect("open").is_empty());
    assert_eq!(
        kinds(&ledger, &proposed.draft_id),
        [
            EntryKind::PolicyDraftSeen,
            EntryKind::GovernanceIntent,
            EntryKind::GovernanceOutcome,
            EntryKind::GovernanceIntent,
            EntryKind::GovernanceOutcome,
        ]
    );
    assert!(ledger.verify().expect("verify").is_intact());
}

#[tokio::test]
async fn a_draft_that_moved_since_it_was_seen_is_refused_here_and_nothing_is_sent() {
    let h = Harness::start().await;
    let bob = h.client(BOB);
    let proposed = bob
        .propose_draft("Deploys", TIGHTER)
        .await
        .expect("proposed");
    let alice = governance(&h, ALICE, "alice");
    let seen = DraftBinding::of(&alice.show(&proposed.draft_id).await.expect("shown"));
    let moved = bob
        .update_draft(
            &proposed.draft_id,
            &TIGHTER.replace("Production deploys", "Deploys"),
        )
        .await
        .expect("updated");
    assert_eq!(moved.active_snapshot.version, 2);

    let error = alice
        .approve(&seen, "", GovernanceChannel::Cli)
        .await
        .expect_err("moved");
    assert_eq!(refusal_code(&error), code::STALE_LINEAGE);
    let ledger = h.ledger("alice");
    let history = kinds(&ledger, &proposed.draft_id);
    assert!(
        !history.contains(&EntryKind::GovernanceIntent),
        "{history:?}"
    );
    assert!(
        history.contains(&EntryKind::Conflict),
        "the refusal is on record"
    );
    let draft = alice
        .client()
        .policy_draft(&proposed.draft_id)
        .await
        .expect("draft");
    assert!(draft.approval.is_none());
}

#[tokio::test]
async fn a_publish_since_the_draft_was_written_blockers_and_self_approval_are_refused() {
    let h = Harness::start().await;
    let bob = h.client(BOB);
    let alice = governance(&h, ALICE, "alice");

    let blocked = bob
        .propose_draft("Open the door", OPEN_DOOR)
        .await
        .expect("proposed");
    assert!(!blocked.active_snapshot.ready_for_approval);
    let seen = DraftBinding::of(&alice.show(&blocked.draft_id).await.expect("shown"));
    let error = alice
        .approve(&seen, "", GovernanceChannel::Cli)
        .await
        .expect_err("blockers");
    assert_eq!(refusal_code(&error), code::NOT_READY);
    let rejected = alice
        .reject(&seen, "allows everything", GovernanceChannel::Cli)
        .await
        .expect("a draft with blockers can be rejected");
    assert!(matches!(
        rejected.answer,
        GovernanceAnswer::Rejected { repeat: false, .. }
    ));

    let own = bob.propose_draft("Mine", TIGHTER).await.expect("proposed");
    let bob_decider = governance(&h, BOB, "bob");
    let seen = DraftBinding::of(&bob_decider.show(&own.draft_id).await.expect("shown"));
    let error = bob_decider
        .approve(&seen, "", GovernanceChannel::Cli)
        .await
        .expect_err("own draft");
    assert_eq!(refusal_code(&error), code::SELF_APPROVAL_DENIED);
    let ledger = h.ledger("bob");
    let record = &ledger
        .query(&Query {
            kinds: vec![EntryKind::GovernanceOutcome],
            job_id: Some(own.draft_id.clone()),
            ..Query::default()
        })
        .expect("query")
        .entries[0];
    assert_eq!(record.outcome.as_deref(), Some(code::SELF_APPROVAL_DENIED));
    assert!(
        ledger.open_governance_intents().expect("open").is_empty(),
        "a refusal is final"
    );

    let seen = DraftBinding::of(&alice.show(&own.draft_id).await.expect("shown"));
    h.running()
        .gateway()
        .publish_policy(
            &POLICY.replace("Payments need", "Payments still need"),
            "test",
        )
        .await
        .expect("published meanwhile");
    let error = alice
        .approve(&seen, "", GovernanceChannel::Cli)
        .await
        .expect_err("stale base");
    assert_eq!(refusal_code(&error), code::STALE_BASE);
}

#[tokio::test]
async fn a_decision_whose_answer_was_lost_is_finished_by_recovery_without_a_second_approval() {
    let h = Harness::start().await;
    let proposed = h
        .client(BOB)
        .propose_draft("Deploys", TIGHTER)
        .await
        .expect("proposed");
    let alice = governance(&h, ALICE, "alice");
    let seen = DraftBinding::of(&alice.show(&proposed.draft_id).await.expect("shown"));
    // The run that crashed: its intent is on record, and its approve reached the gateway.
    h.ledger("alice")
        .record_governance_intent(&GovernanceIntent {
            decision_id: "d-crashed".into(),
            binding: seen.clone(),
            action: DecisionAction::Approve,
            reason: "checked".into(),
            channel: GovernanceChannel::Desktop,
        })
        .expect("intent");
    let landed = h
        .http
        .post(format!(
            "{}/api/v1/policy/drafts/{}/approve",
            h.url(),
            proposed.draft_id
        ))
        .header("X-API-Key", ALICE)
        .json(&json!({
            "expected_snapshot_id": seen.snapshot_id,
            "expected_source_snapshot_hash": seen.source_snapshot_hash,
            "channel": "desktop",
        }))
        .send()
        .await
        .expect("sent");
    assert_eq!(landed.status(), 200);

    assert!(
        alice.recover().await.expect("young rows wait").is_empty(),
        "a row just recorded may still be being sent by its process"
    );
    let finished = alice
        .recover_older_than(std::time::Duration::ZERO)
        .await
        .expect("recovered");
    assert_eq!(finished.len(), 1);
    let report = finished[0].1.as_ref().expect("settled");
    let GovernanceAnswer::Approved { approval, repeat } = &report.answer else {
        panic!("{report:?}");
    };
    assert!(repeat, "read back, not approved again");
    assert_eq!(approval.actor, "alice");
    assert_eq!(report.by_us, Some(true));
    assert!(h
        .ledger("alice")
        .open_governance_intents()
        .expect("open")
        .is_empty());
    assert!(alice
        .recover_older_than(std::time::Duration::ZERO)
        .await
        .expect("nothing left")
        .is_empty());
}

/// Proposes a draft of its own text (`round`) and has `reviewer` see it.
async fn seen_draft(h: &Harness, reviewer: &GovernanceDecider, round: usize) -> DraftBinding {
    let yaml = TIGHTER.replace(
        "Production deploys need",
        &format!("Round {round}, production deploys need"),
    );
    let proposed = h
        .client(BOB)
        .propose_draft(&format!("Round {round}"), &yaml)
        .await
        .expect("proposed");
    DraftBinding::of(&reviewer.show(&proposed.draft_id).await.expect("shown"))
}

/// The approval a report settled on, and whether it was read back.
fn settled_on(
    who: &str,
    result: &Result<countersign_client::GovernanceReport, ClientError>,
) -> (String, bool) {
    match result {
        Ok(report) => match &report.answer {
            GovernanceAnswer::Approved { approval, repeat } => {
                (approval.approval_id.clone(), *repeat)
            }
            other => panic!("{who}: not an approval: {other:?}"),
        },
        Err(e) => panic!("{who}: refused for a draft that was approved: {e:?}"),
    }
}

/// Two reviewers approve one snapshot, the second's approval landing while the proxy holds
/// each request of the first's approve in turn (its check's reads, the POST, what follows):
/// one approval lands and both read it, never a refusal. Before the check read the current
/// policy ahead of the draft, an approval landing between the two reads was refused here as
/// `stale_base`: the draft read open, the policy read as the rival's publish.
#[tokio::test]
async fn a_rival_approval_landing_at_any_request_of_an_approve_is_read_back_not_refused() {
    let h = Harness::start().await;
    let proxy = Proxy::start(h.addr, false).await;
    let amy = GovernanceDecider::new(
        client_for(&proxy.url(), &reviewer_key(0), fast_http()),
        h.ledger("amy"),
        fast_retry(),
    );
    let rival = governance(&h, &reviewer_key(1), "rival");

    // How many requests one approve makes through the proxy: measured on the second, since
    // the first also learns who the reviewer is.
    let mut steps = 0;
    for round in 0..2 {
        let seen = seen_draft(&h, &amy, round).await;
        let start = proxy.received().len();
        amy.approve(&seen, "", GovernanceChannel::Cli)
            .await
            .expect("approved");
        steps = proxy.received().len() - start;
    }
    assert!(steps >= 3, "two reads and the POST at least: {steps}");

    for step in 0..steps {
        let seen = seen_draft(&h, &amy, step + 2).await;
        let held = proxy.intercept(Intercept::Nth(step));
        let approve = amy.approve(&seen, "", GovernanceChannel::Cli);
        tokio::pin!(approve);
        let (mine, theirs) = tokio::select! {
            result = &mut approve => panic!("step {step}: never reached: {result:?}"),
            held = held => {
                let held = held.expect("held");
                let theirs = rival.approve(&seen, "", GovernanceChannel::Cli).await;
                held.resume.send(Resume::Forward).expect("proxy waits");
                (approve.await, theirs)
            }
        };
        let (mine, mine_repeat) = settled_on(&format!("step {step}: amy"), &mine);
        let (theirs, theirs_repeat) = settled_on(&format!("step {step}: rival"), &theirs);
        assert_eq!(mine, theirs, "step {step}: one approval, read by both");
        assert!(
            mine_repeat != theirs_repeat,
            "step {step}: exactly one of them made it (amy read back: {mine_repeat})"
        );
    }
}

/// A gateway that serves one draft, answers approve as scripted, and has policy `base`.
async fn scripted_draft(approve: &[(u16, &str)]) -> (Scripted, DraftBinding) {
    let gateway = Scripted::start().await;
    let yaml = "version: v1\nrules: []\n";
    let draft = json!({
        "draft_id": "drf-1", "tenant": "default", "title": "t", "author": "bob",
        "status": "open", "created_at": "t", "updated_at": "t",
        "active_snapshot": {
            "snapshot_id": "dsn-1", "draft_id": "drf-1", "version": 1,
            "source_snapshot_hash": source_snapshot_hash(yaml), "base_snapshot": "base",
            "author": "bob", "created_at": "t", "status": "ready_for_approval",
            "ready_for_approval": true, "blocker_ids": [], "advisory_ids": [],
            "findings": [], "rule_count": 0, "yaml": yaml
        }
    });
    gateway.on(
        "GET /api/v1/policy/drafts/drf-1",
        &[(200, &draft.to_string())],
    );
    gateway.on(
        "GET /api/v1/policy/snapshots",
        &[(200, r#"{"snapshots":["base"]}"#)],
    );
    gateway.on("POST /api/v1/policy/drafts/drf-1/approve", approve);
    let binding = DraftBinding::of(&serde_json::from_value(draft).expect("draft"));
    (gateway, binding)
}

fn approval_of(snapshot_id: &str, hash: &str) -> String {
    json!({"code": "approved", "approval": {
        "approval_id": "gva-1", "tenant": "default", "draft_id": "drf-1",
        "snapshot_id": snapshot_id, "draft_version": 1, "source_snapshot_hash": hash,
        "base_snapshot": "base", "published_snapshot": "next", "blocker_ids": [],
        "advisory_ids": [], "actor": "alice", "channel": "cli", "approved_at": "t"
    }})
    .to_string()
}

#[tokio::test]
async fn transient_answers_are_re_sent_and_a_success_for_another_snapshot_is_not_believed() {
    let dir = tempfile::tempdir().expect("dir");
    let ledger = std::sync::Arc::new(
        countersign_ledger::Ledger::open(dir.path().join("l.sqlite")).expect("ledger"),
    );
    let hash = source_snapshot_hash("version: v1\nrules: []\n");
    let good = approval_of("dsn-1", &hash);
    let (gateway, seen) = scripted_draft(&[
        (503, "busy"),
        (502, "<html>bad gateway</html>"),
        (200, &good),
    ])
    .await;
    let decider = GovernanceDecider::new(
        client_for(&gateway.url(), ALICE, fast_http()),
        std::sync::Arc::clone(&ledger),
        fast_retry(),
    );
    let report = decider
        .approve(&seen, "", GovernanceChannel::Api)
        .await
        .expect("settled after two transient answers");
    assert_eq!(report.attempts, 3);
    let bodies = gateway.bodies("POST /api/v1/policy/drafts/drf-1/approve");
    assert_eq!(bodies.len(), 3);
    let sent: serde_json::Value = serde_json::from_str(&bodies[0]).expect("json");
    assert_eq!(sent["expected_snapshot_id"], "dsn-1");
    assert_eq!(sent["expected_source_snapshot_hash"], hash.as_str());

    let other = approval_of("dsn-other", &hash);
    let (liar, seen) = scripted_draft(&[(200, &other)]).await;
    let decider = GovernanceDecider::new(
        client_for(&liar.url(), ALICE, fast_http()),
        std::sync::Arc::clone(&ledger),
        fast_retry(),
    );
    let error = decider
        .approve(&seen, "", GovernanceChannel::Api)
        .await
        .expect_err("a record of another snapshot");
    assert_eq!(error.code(), "gateway_protocol", "{error}");
    assert!(ledger.open_governance_intents().expect("open").is_empty());
}

#[tokio::test]
async fn a_gateway_without_governance_says_so() {
    let gateway = Scripted::start().await;
    let client = client_for(&gateway.url(), ALICE, fast_http());
    let error = client
        .policy_drafts(DraftFilter::Open)
        .await
        .expect_err("no drafts endpoint");
    assert_eq!(error.code(), "not_offered", "{error}");
}
