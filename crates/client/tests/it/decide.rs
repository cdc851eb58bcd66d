//! The decision protocol's happy paths, races, rejects and the v0.9 fallbacks.

use countersign_client::audit::mirror_audit;
use countersign_client::{ClientError, Settlement};
use countersign_core::verify::Verdict;
use countersign_ledger::{EntryKind, Query};

use std::time::Duration;

use crate::support::proxy::{Fault, Post, Proxy};
use crate::support::{client_for, fast_http, fast_retry, Harness, ALICE, BOB};

fn intents(ledger: &countersign_ledger::Ledger, job_id: &str) -> usize {
    ledger
        .query(&Query {
            kinds: vec![EntryKind::DecisionIntent],
            job_id: Some(job_id.to_owned()),
            ..Query::default()
        })
        .expect("query")
        .entries
        .len()
}

#[tokio::test]
async fn approve_verifies_records_and_lands_once() {
    let h = Harness::start().await;
    let job = h.submit().await;
    let seen = h.seen(&job).await;
    let decider = h.decider(ALICE, "alice");
    let report = decider
        .approve(&seen, "checked the invoice", "fine")
        .await
        .expect("approved");
    assert_eq!(report.settlement, Settlement::Applied);
    // The reference gateway's pointer names the payload: the hash binds what was read.
    assert_eq!(report.verdict, Some(Verdict::ContentVerified));
    assert_eq!(report.attempts, 1);
    let record = h.job(&job).await;
    assert_eq!(record["approval_by"], "alice");
    assert_eq!(record["approval_reason"], "checked the invoice");
    assert_eq!(h.dispatches(&job).await, 1);

    let ledger = h.ledger("alice");
    assert!(ledger.open_intents().expect("open").is_empty());
    let id = report.decision_id.expect("decision id");
    assert_eq!(
        ledger.intent(&id).expect("intent").last_code.as_deref(),
        Some("success")
    );
    assert_eq!(intents(&ledger, &job), 1);

    // Approving again is not an error: it is already in effect, by us, and nothing is sent.
    let again = decider.approve(&seen, "", "").await.expect("idempotent");
    assert_eq!(
        again.settlement,
        Settlement::AlreadyApplied {
            by: "alice".into(),
            by_us: Some(true),
            earlier_attempt: true
        }
    );
    assert_eq!(again.decision_id, None);
    assert_eq!(h.dispatches(&job).await, 1);

    // The gateway's audit log mirrors into the ledger once, however often it is read.
    let client = h.client(ALICE);
    let first = mirror_audit(&client, &ledger, None, 10)
        .await
        .expect("mirror");
    assert!(first.added >= 2, "submit and approve at least: {first:?}");
    let again = mirror_audit(&client, &ledger, None, 10)
        .await
        .expect("mirror again");
    assert_eq!(again.added, 0);
    let mirrored = ledger
        .query(&Query {
            kinds: vec![EntryKind::GatewayAudit],
            job_id: Some(job.clone()),
            ..Query::default()
        })
        .expect("query")
        .entries;
    assert!(mirrored.iter().any(|e| e.body["action"] == "approve"));
}

#[tokio::test]
async fn reject_needs_a_reason_and_lands() {
    let h = Harness::start().await;
    let job = h.submit().await;
    let seen = h.seen(&job).await;
    let decider = h.decider(ALICE, "alice");
    let error = decider
        .reject(&seen, "  ", "")
        .await
        .expect_err("no reason");
    assert_eq!(error.code(), "invalid_input");
    assert_eq!(h.job(&job).await["state"], "APPROVAL_REQUIRED");

    // A reason Cordum would cut or redact is refused, not truncated silently.
    let long = "é".repeat(400);
    let error = decider
        .reject(&seen, &long, "note")
        .await
        .expect_err("too long");
    assert_eq!(error.code(), "invalid_input");
    assert!(error.to_string().contains("at most 512"), "{error}");
    let error = decider
        .approve(&seen, "ok", &long)
        .await
        .expect_err("too long");
    assert_eq!(error.code(), "invalid_input");
    assert_eq!(h.job(&job).await["state"], "APPROVAL_REQUIRED");
    let fits = "é".repeat(256);
    let report = decider
        .reject(&seen, &fits, "note")
        .await
        .expect("rejected");
    assert_eq!(report.settlement, Settlement::Applied);
    let record = h.job(&job).await;
    assert_eq!(record["state"], "DENIED");
    assert_eq!(record["rejected_by"], "alice");
    assert_eq!(h.dispatches(&job).await, 0);

    // Approving a rejected job is refused without sending.
    let error = decider.approve(&seen, "", "").await.expect_err("rejected");
    assert_eq!(error.code(), "conflict", "{error}");
}

#[tokio::test]
async fn racing_clients_both_succeed_once() {
    let h = Harness::start().await;
    for (first, second, same) in [(ALICE, BOB, false), (ALICE, ALICE, true)] {
        let job = h.submit().await;
        let seen = h.seen(&job).await;
        let a = h.decider(first, &format!("{job}-a"));
        let b = h.decider(second, &format!("{job}-b"));
        let (ra, rb) = tokio::join!(a.approve(&seen, "a", ""), b.approve(&seen, "b", ""));
        let (ra, rb) = (ra.expect("first ok"), rb.expect("second ok"));
        let applied = [&ra, &rb]
            .iter()
            .filter(|r| r.settlement == Settlement::Applied)
            .count();
        assert_eq!(applied, 1, "{ra:?} {rb:?}");
        let other = if ra.settlement == Settlement::Applied {
            &rb
        } else {
            &ra
        };
        let Settlement::AlreadyApplied { by, by_us, .. } = &other.settlement else {
            panic!("already applied expected: {other:?}");
        };
        let winner = h.job(&job).await["approval_by"]
            .as_str()
            .expect("by")
            .to_owned();
        assert_eq!(by, &winner);
        assert_eq!(*by_us, Some(same));
        assert_eq!(h.dispatches(&job).await, 1);
    }
}

#[tokio::test]
async fn self_approval_is_a_typed_refusal() {
    let h = Harness::start().await;
    // bob (admin) may both submit and approve, but not his own job.
    let job = h.submit_as(BOB).await;
    let seen = h.seen(&job).await;
    let ledger = h.ledger("bob");
    let decider = countersign_client::Decider::new(h.client(BOB), ledger.clone(), fast_retry());
    let error = decider.approve(&seen, "", "").await.expect_err("refused");
    assert_eq!(error.code(), "self_approval_denied", "{error}");
    assert_eq!(h.dispatches(&job).await, 0);
    // Refused is final: the outbox row is closed, nothing left to recover.
    assert!(ledger.open_intents().expect("open").is_empty());
    // The agent lacks jobs.approve altogether.
    let error = h
        .decider(crate::support::AGENT, "agent")
        .approve(&seen, "", "")
        .await
        .expect_err("refused");
    assert_eq!(error.code(), "forbidden", "{error}");
}

#[tokio::test]
async fn v09_gateway_falls_back_and_reconciles_repeats() {
    let h = Harness::start().await;
    let proxy = Proxy::start(h.addr, true).await;
    let job = h.submit().await;
    let client = client_for(&proxy.url(), ALICE, fast_http());
    let seen = client
        .review(&job)
        .await
        .expect("list walk")
        .expect("pending")
        .seen();
    let decider = countersign_client::Decider::new(client.clone(), h.ledger("alice"), fast_retry());
    let report = decider.approve(&seen, "ok", "").await.expect("approved");
    assert_eq!(
        report.verdict,
        Some(Verdict::IdentityChecked {
            hash_recomputed: false
        })
    );
    let caps = client.capabilities();
    assert_eq!(caps.request_endpoint, Some(false));
    assert_eq!(caps.context, Some(false));

    // A second device approving the same job meets v0.9's bare 409 on the repeat; the job
    // record says the approval is in effect, so it is not an error.
    let job2 = h.submit().await;
    let seen2 = h.seen(&job2).await;
    let ledger = h.ledger("alice");
    let intent = countersign_ledger::DecisionIntent {
        decision_id: countersign_ledger::new_decision_id(),
        job_id: job2.clone(),
        topic: None,
        action: countersign_core::outcome::DecisionAction::Approve,
        job_hash: seen2.job_hash.clone(),
        policy_snapshot: seen2.policy_snapshot.clone(),
        reason: "ok".into(),
        note: String::new(),
        workflow_gate: false,
        content_digest: seen.content_digest.clone(),
        content: seen.content.clone(),
    };
    ledger.record_intent(&intent).expect("intent");
    h.decider(ALICE, "other-device")
        .approve(&seen2, "", "")
        .await
        .expect("approved elsewhere");
    let recovered = decider.recover().await.expect("recover");
    assert_eq!(recovered.len(), 1);
    let result = recovered[0].result.as_ref().expect("reconciled");
    assert!(
        matches!(result.settlement, Settlement::AlreadyApplied { .. }),
        "{result:?}"
    );
    assert_eq!(h.dispatches(&job2).await, 1);
    assert!(ledger.open_intents().expect("open").is_empty());
    assert!(matches!(
        decider.reject(&seen2, "too late", "").await,
        Err(ClientError::Conflict(_))
    ));

    // The answer to a committed approve is lost; the re-verification before the retry finds
    // the item no longer pending and the job record shows the approval landed, so nothing is
    // sent again.
    let job3 = h.submit().await;
    let seen3 = h.seen(&job3).await;
    proxy.set_faults(&job3, vec![crate::support::proxy::Fault::DropAfterCommit]);
    let report = decider.approve(&seen3, "ok", "").await.expect("reconciled");
    assert_eq!(
        report.settlement,
        Settlement::AlreadyApplied {
            by: "alice".into(),
            by_us: None,
            earlier_attempt: true
        },
        "v0.9 cannot say who we are"
    );
    assert_eq!(report.attempts, 1);
    assert_eq!(h.dispatches(&job3).await, 1);
}

/// A decision recorded and never sent, as a crash between recording and sending leaves it.
fn crashed_intent(seen: &countersign_core::verify::SeenItem) -> countersign_ledger::DecisionIntent {
    countersign_ledger::DecisionIntent {
        decision_id: countersign_ledger::new_decision_id(),
        job_id: seen.job_id.clone(),
        topic: None,
        action: countersign_core::outcome::DecisionAction::Approve,
        job_hash: seen.job_hash.clone(),
        policy_snapshot: seen.policy_snapshot.clone(),
        reason: "recorded, then the app died".into(),
        note: "sent on recovery".into(),
        workflow_gate: seen.workflow_gate,
        content_digest: seen.content_digest.clone(),
        content: seen.content.clone(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_processes_recovering_one_ledger_send_once() {
    let h = Harness::start().await;
    let proxy = Proxy::start(h.addr, false).await;
    let job = h.submit().await;
    let seen = h.seen(&job).await;
    h.ledger("shared")
        .record_intent(&crashed_intent(&seen))
        .expect("intent");
    // Two processes (the app and a CLI run): their own Decider and their own ledger handle.
    let process = || {
        countersign_client::Decider::new(
            client_for(&proxy.url(), ALICE, fast_http()),
            h.ledger("shared"),
            fast_retry(),
        )
    };
    let (a, b) = (process(), process());
    let (ra, rb) = tokio::join!(a.recover(), b.recover());
    let finished: Vec<_> = ra
        .expect("recover a")
        .into_iter()
        .chain(rb.expect("recover b"))
        .collect();
    assert_eq!(
        finished.len(),
        1,
        "only the lease holder drives it: {finished:?}"
    );
    let report = finished[0].result.as_ref().expect("recovered");
    assert_eq!(report.settlement, Settlement::Applied);
    assert_eq!(proxy.posts(&job), [Post::Fresh]);
    assert_eq!(h.job(&job).await["approval_note"], "sent on recovery");
    assert_eq!(h.dispatches(&job).await, 1);
    assert!(h.ledger("shared").open_intents().expect("open").is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn recovery_leaves_a_live_decision_alone() {
    let h = Harness::start().await;
    let proxy = Proxy::start(h.addr, false).await;
    let job = h.submit().await;
    let seen = h.seen(&job).await;
    // The gateway commits, and its answer takes a while: the decision is live meanwhile.
    proxy.set_faults(&job, vec![Fault::Stall(Duration::from_millis(400))]);
    let decider = countersign_client::Decider::new(
        client_for(&proxy.url(), ALICE, fast_http()),
        h.ledger("alice"),
        fast_retry(),
    );
    let other_process = countersign_client::Decider::new(
        client_for(&proxy.url(), ALICE, fast_http()),
        h.ledger("alice"),
        fast_retry(),
    );
    let ledger = h.ledger("alice");
    let recovering = async {
        for _ in 0..400 {
            if !ledger.open_intents().expect("open").is_empty() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        let same = decider.recover().await.expect("recover");
        let other = other_process.recover().await.expect("recover");
        (same, other)
    };
    let (live, (same, other)) = tokio::join!(decider.approve(&seen, "ok", ""), recovering);
    assert_eq!(live.expect("approved").settlement, Settlement::Applied);
    assert!(same.is_empty(), "{same:?}");
    assert!(other.is_empty(), "{other:?}");
    assert_eq!(proxy.posts(&job), [Post::Fresh]);
    assert!(ledger.open_intents().expect("open").is_empty());
}
