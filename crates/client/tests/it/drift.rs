//! Every drift branch refuses locally: no intent is recorded and the gateway never sees a
//! decision (the job stays APPROVAL_REQUIRED, nothing is dispatched).

use countersign_client::ClientError;
use countersign_core::verify::{UnverifiableReason, Verdict};
use countersign_ledger::{EntryKind, Query};

use crate::support::{Harness, ALICE, POLICY_V2};

async fn assert_refused_locally(h: &Harness, job: &str, error: ClientError) -> Verdict {
    let ClientError::Drift(verdict) = error else {
        panic!("drift expected, got {error:?}");
    };
    assert_eq!(h.job(job).await["state"], "APPROVAL_REQUIRED");
    assert_eq!(h.dispatches(job).await, 0);
    let ledger = h.ledger("alice");
    let entries = |kind| {
        ledger
            .query(&Query {
                kinds: vec![kind],
                job_id: Some(job.to_owned()),
                ..Query::default()
            })
            .expect("query")
            .entries
    };
    assert!(entries(EntryKind::DecisionIntent).is_empty(), "no intent");
    let recorded = entries(EntryKind::Verdict);
    assert_eq!(recorded.len(), 1, "the verdict is evidence");
    assert_eq!(recorded[0].outcome.as_deref(), Some(verdict.code()));
    verdict
}

#[tokio::test]
async fn every_drift_branch_refuses_without_sending() {
    let h = Harness::start().await;
    let decider = h.decider(ALICE, "alice");

    // The reviewer saw another hash than the gateway holds now.
    let job = h.submit().await;
    let mut seen = h.seen(&job).await;
    seen.job_hash = "0".repeat(64);
    let error = decider.approve(&seen, "", "").await.expect_err("drift");
    let verdict = assert_refused_locally(&h, &job, error).await;
    assert!(
        matches!(verdict, Verdict::RequestChanged { .. }),
        "{verdict:?}"
    );

    // The stored request changed under an unchanged claimed hash: only recomputing sees it.
    let job = h.submit().await;
    let seen = h.seen(&job).await;
    h.running()
        .gateway()
        .mutate_stored_request(&job, |req| {
            req.env.insert("region".into(), "attacker".into());
        })
        .await
        .expect("tamper");
    let error = decider.approve(&seen, "", "").await.expect_err("drift");
    let verdict = assert_refused_locally(&h, &job, error).await;
    assert!(
        matches!(verdict, Verdict::ContentMismatch { .. }),
        "{verdict:?}"
    );

    // A label the card shows changed in the stored request: the card content says which.
    let job = h.submit().await;
    let seen = h.seen(&job).await;
    h.running()
        .gateway()
        .mutate_stored_request(&job, |req| {
            req.labels.insert("env".into(), "attacker".into());
        })
        .await
        .expect("tamper");
    let error = decider.approve(&seen, "", "").await.expect_err("drift");
    let verdict = assert_refused_locally(&h, &job, error).await;
    let Verdict::ContentChanged { changes } = &verdict else {
        panic!("content_changed expected, got {verdict:?}");
    };
    assert_eq!(changes[0].field, "labels");
    assert!(changes[0].now.contains("attacker"), "{changes:?}");

    // Nothing the reviewer can sign: no hash.
    let job = h.submit().await;
    let mut seen = h.seen(&job).await;
    seen.job_hash.clear();
    let error = decider.approve(&seen, "", "").await.expect_err("drift");
    let verdict = assert_refused_locally(&h, &job, error).await;
    assert!(
        matches!(
            verdict,
            Verdict::Unverifiable {
                reason: UnverifiableReason::MissingJobHash,
                ..
            }
        ),
        "{verdict:?}"
    );

    // The policy changed after the reviewer looked (last: it changes every later item).
    let job = h.submit().await;
    let seen = h.seen(&job).await;
    // A decision recorded before the change and never sent (the app crashed) is re-verified
    // by recovery, and refused the same way.
    let crashed = h.submit().await;
    let crashed_seen = h.seen(&crashed).await;
    let ledger = h.ledger("alice");
    ledger
        .record_intent(&countersign_ledger::DecisionIntent {
            decision_id: countersign_ledger::new_decision_id(),
            job_id: crashed.clone(),
            topic: None,
            action: countersign_core::outcome::DecisionAction::Approve,
            job_hash: crashed_seen.job_hash.clone(),
            policy_snapshot: crashed_seen.policy_snapshot.clone(),
            reason: "before the change".into(),
            note: String::new(),
            workflow_gate: crashed_seen.workflow_gate,
            content_digest: crashed_seen.content_digest.clone(),
            content: crashed_seen.content.clone(),
        })
        .expect("intent");
    h.running()
        .gateway()
        .publish_policy(POLICY_V2, "test")
        .await
        .expect("publish");
    let error = decider.approve(&seen, "", "").await.expect_err("drift");
    let verdict = assert_refused_locally(&h, &job, error).await;
    assert!(
        matches!(verdict, Verdict::PolicyChanged { .. }),
        "{verdict:?}"
    );

    let recovered = decider.recover().await.expect("recover");
    assert_eq!(recovered.len(), 1);
    assert!(
        matches!(
            &recovered[0].result,
            Err(ClientError::Drift(Verdict::PolicyChanged { .. }))
        ),
        "{:?}",
        recovered[0].result
    );
    assert!(ledger.open_intents().expect("open").is_empty());
    assert_eq!(h.job(&crashed).await["state"], "APPROVAL_REQUIRED");
    assert_eq!(h.dispatches(&crashed).await, 0);
}

#[tokio::test]
async fn a_resend_is_refused_when_the_payload_changed_since_it_was_read() {
    let h = Harness::start().await;
    let decider = h.decider(ALICE, "alice");
    let job = h.submit().await;
    let seen = h.seen(&job).await;
    // Recorded and never sent (the app died); the payload then changes behind the gateway.
    h.ledger("alice")
        .record_intent(&countersign_ledger::DecisionIntent {
            decision_id: countersign_ledger::new_decision_id(),
            job_id: job.clone(),
            topic: None,
            action: countersign_core::outcome::DecisionAction::Approve,
            job_hash: seen.job_hash.clone(),
            policy_snapshot: seen.policy_snapshot.clone(),
            reason: "read the invoice".into(),
            note: String::new(),
            workflow_gate: seen.workflow_gate,
            content_digest: seen.content_digest.clone(),
            content: seen.content.clone(),
        })
        .expect("intent");
    h.running()
        .gateway()
        .mutate_stored_context(&job, |context| {
            context["amount"] = serde_json::json!(9_800_000);
        })
        .await
        .expect("tamper");
    let recovered = decider.recover().await.expect("recover");
    let Err(ClientError::Drift(Verdict::ContentChanged { changes })) = &recovered[0].result else {
        panic!("content_changed expected, got {:?}", recovered[0].result);
    };
    assert_eq!(changes[0].field, "payload");
    assert!(changes[0].seen.contains("1200") && changes[0].now.contains("9800000"));
    assert_eq!(h.job(&job).await["state"], "APPROVAL_REQUIRED");
    assert_eq!(h.dispatches(&job).await, 0);
    assert!(h.ledger("alice").open_intents().expect("open").is_empty());
}

#[tokio::test]
async fn the_reference_gateway_binds_the_payload_to_the_job_hash() {
    let h = Harness::start().await;
    let job = h.submit().await;
    let client = h.client(ALICE);
    let review = client.review(&job).await.expect("read").expect("pending");
    let payload = review
        .payload
        .clone()
        .expect("the extension serves the payload");
    let request = client
        .job_request(&job)
        .await
        .expect("read")
        .expect("served");
    let request = countersign_core::jobrequest::JobRequest::from_protojson(
        &request.job_request,
        countersign_core::jobrequest::Generation::New,
    )
    .expect("request");
    assert!(countersign_core::content::payload_matches(
        &request.context_ptr,
        &payload
    ));
    assert_eq!(review.content.payload["context"]["amount"], 1200);
    assert_eq!(client.capabilities().payload, Some(true));
    // It says so itself, so the approve preconditions go to it (and only to it).
    assert_eq!(client.capabilities().preconditions, Some(true));
}
