//! The HTTP layer against a scripted gateway: job ids cannot change the endpoint, the
//! `/request` document is judged on the bytes served, an endpoint seen working survives a
//! passing 404, answers are read with bounded memory, and headers a request cannot carry are
//! refused when the client is made.

use countersign_client::{Credential, GatewayClient, Secret};
use countersign_core::approval::ApprovalItem;
use countersign_core::content::CardContent;
use countersign_core::jobhash::{job_hash, Generation};
use countersign_core::jobrequest::JobRequest;
use countersign_core::verify::{verify, SeenItem, UnverifiableReason, Verdict, VerifyInput};
use serde_json::{json, Value};

use crate::support::scripted::Scripted;
use crate::support::{client_for, fast_http, ALICE, TENANT};

#[tokio::test]
async fn dot_segments_are_refused_before_anything_is_sent() {
    let gw = Scripted::start().await;
    let client = client_for(&gw.url(), ALICE, fast_http());
    for id in ["..", ".", ""] {
        let error = client.job_status(id).await.expect_err(id);
        assert_eq!(error.code(), "invalid_input", "{id:?}: {error}");
        let error = client.job_request(id).await.expect_err(id);
        assert_eq!(error.code(), "invalid_input", "{id:?}: {error}");
    }
    assert!(gw.received("GET").is_empty(), "{:?}", gw.received("GET"));
    // Dots inside an id are ordinary characters.
    gw.on(
        "GET /api/v1/jobs/a..b",
        &[(200, r#"{"id":"a..b","state":"PENDING"}"#)],
    );
    assert_eq!(client.job_status("a..b").await.expect("job").id, "a..b");
}

fn pending_item(job_hash: &str) -> ApprovalItem {
    ApprovalItem::from_value(json!({
        "job": {"id": "j1", "state": "APPROVAL_REQUIRED"},
        "job_hash": job_hash,
        "policy_snapshot": "s1",
    }))
    .expect("item")
}

fn verdict_for(item: &ApprovalItem, request: &[u8]) -> Verdict {
    let content = CardContent::new(item, Value::Null, &Default::default());
    verify(&VerifyInput {
        seen: &SeenItem::from(item).with_content(content.clone()),
        now: Some(item),
        current_snapshots: &["s1".to_owned()],
        request: Some(request),
        generation: Generation::New,
        content: Some(&content),
        payload: None,
    })
}

#[tokio::test]
async fn the_request_is_judged_on_the_bytes_served() {
    let gw = Scripted::start().await;
    let client = client_for(&gw.url(), ALICE, fast_http());
    let honest =
        r#"{"jobId": "j1",  "topic": "b", "budget": {"deadlineMs": "9223372036854775807"}}"#;
    let claimed = job_hash(
        &JobRequest::from_protojson(honest.as_bytes(), Generation::New).expect("request"),
        Generation::New,
    );
    let item = pending_item(&claimed);

    gw.on(
        "GET /api/v1/approvals/j1/request",
        &[(
            200,
            &format!(r#"{{"job_id":"j1","job_hash":"x","job_request":{honest}}}"#),
        )],
    );
    let doc = client
        .job_request("j1")
        .await
        .expect("doc")
        .expect("offered");
    assert_eq!(doc.job_request, honest.as_bytes(), "exactly as served");
    assert!(verdict_for(&item, &doc.job_request).is_verified());

    // A duplicate key collapses in a re-serialization (to the hash the item claims); as
    // served, the strict reader refuses it.
    let duplicate = r#"{"jobId": "j1", "topic": "a", "topic": "b", "budget": {"deadlineMs": "9223372036854775807"}}"#;
    gw.on(
        "GET /api/v1/approvals/j1/request",
        &[(200, &format!(r#"{{"job_request":{duplicate}}}"#))],
    );
    let doc = client
        .job_request("j1")
        .await
        .expect("doc")
        .expect("offered");
    assert_eq!(doc.job_request, duplicate.as_bytes());
    match verdict_for(&item, &doc.job_request) {
        Verdict::Unverifiable { reason, .. } => {
            assert_eq!(reason, UnverifiableReason::RequestUnparseable);
        }
        other => panic!("a duplicate key must not verify: {other:?}"),
    }

    for body in [
        // The answer itself with a duplicate key.
        format!(r#"{{"job_request":{honest},"job_request":{honest}}}"#),
        // Another job's document.
        format!(r#"{{"job_id":"j2","job_request":{honest}}}"#),
        r#"{"job_request": [1]}"#.to_owned(),
    ] {
        gw.on("GET /api/v1/approvals/j1/request", &[(200, &body)]);
        let error = client.job_request("j1").await.expect_err(&body);
        assert_eq!(error.code(), "gateway_protocol", "{body}: {error}");
    }
}

#[tokio::test]
async fn an_endpoint_seen_working_survives_a_passing_404() {
    let gw = Scripted::start().await;
    let client = client_for(&gw.url(), ALICE, fast_http());
    let doc = r#"{"job_request":{"jobId":"j1"}}"#;
    gw.on(
        "GET /api/v1/approvals/j1/request",
        &[(200, doc), (404, "404 page not found\n"), (200, doc)],
    );
    assert!(client.job_request("j1").await.expect("doc").is_some());
    let error = client
        .job_request("j1")
        .await
        .expect_err("a load balancer's 404");
    assert_eq!(error.code(), "gateway_unavailable", "{error}");
    assert!(error.is_transient());
    assert_eq!(client.capabilities().request_endpoint, Some(true));
    assert!(client.job_request("j1").await.expect("doc").is_some());

    // Never seen working: a missing route means the gateway lacks it.
    let fresh = client_for(&gw.url(), ALICE, fast_http());
    gw.on(
        "GET /api/v1/approvals/j2/request",
        &[(404, "404 page not found\n")],
    );
    assert_eq!(fresh.job_request("j2").await.expect("absent"), None);
    assert_eq!(fresh.capabilities().request_endpoint, Some(false));
}

#[tokio::test]
async fn answers_are_read_with_bounded_memory() {
    let gw = Scripted::start().await;
    let client = client_for(&gw.url(), ALICE, fast_http());
    // A huge error answer is cut to its message; the status still decides the error.
    let huge = "e".repeat(4 * 1024 * 1024);
    gw.on("GET /api/v1/jobs/j1", &[(503, &huge)]);
    let error = client.job_status("j1").await.expect_err("503");
    assert_eq!(error.code(), "gateway_unavailable");
    assert!(
        error.to_string().len() < 1000,
        "{} bytes",
        error.to_string().len()
    );
    // A job record carries the payload on v0.9, but no more than a document's ceiling.
    let padded = format!(
        r#"{{"id":"j1","state":"PENDING","pad":"{}"}}"#,
        "p".repeat(5 << 20)
    );
    gw.on("GET /api/v1/jobs/j1", &[(200, &padded)]);
    let error = client.job_status("j1").await.expect_err("too large");
    assert_eq!(error.code(), "gateway_protocol", "{error}");
    // A list page is allowed more.
    let page = format!(
        r#"{{"items":[],"next_cursor":null,"pad":"{}"}}"#,
        "p".repeat(2 << 20)
    );
    gw.on("GET /api/v1/approvals", &[(200, &page)]);
    client
        .list_approvals(None, 10, false)
        .await
        .expect("a big page");
}

#[tokio::test]
async fn headers_a_request_cannot_carry_are_refused_at_construction() {
    let config = fast_http();
    let make = |tenant: &str, key: &str| {
        GatewayClient::new(
            "http://127.0.0.1:1",
            tenant,
            Credential::ApiKey(Secret::new(key)),
            &config,
        )
    };
    for (tenant, key) in [
        ("t\nX-Evil: 1", ALICE),
        (TENANT, "key\r\nX-Evil: 1"),
        ("", ALICE),
    ] {
        let error = make(tenant, key).expect_err("refused");
        assert_eq!(error.code(), "invalid_profile", "{tenant:?} {error}");
        assert!(!error.to_string().contains("key\r\n"), "{error}");
    }
    let error = GatewayClient::new(
        "http://127.0.0.1:1",
        TENANT,
        Credential::Session(Secret::new("tok\0en")),
        &config,
    )
    .expect_err("refused");
    assert_eq!(error.code(), "invalid_profile");
}

#[tokio::test]
async fn localhost_is_loopback() {
    let gw = Scripted::start().await;
    gw.on(
        "GET /api/v1/policy/snapshots",
        &[(200, r#"{"snapshots":["s1"]}"#)],
    );
    let url = format!("http://localhost:{}", gw.addr.port());
    let client = client_for(&url, ALICE, fast_http());
    assert_eq!(client.policy_snapshots().await.expect("answers"), ["s1"]);
}

#[tokio::test]
async fn a_gateway_without_an_audit_api_says_so() {
    // Cordum v0.9 has no audit route: Go's mux answers "404 page not found".
    let gw = Scripted::start().await;
    let client = client_for(&gw.url(), ALICE, fast_http());
    let dir = tempfile::tempdir().expect("dir");
    let ledger = std::sync::Arc::new(
        countersign_ledger::Ledger::open(dir.path().join("l")).expect("ledger"),
    );
    let error = countersign_client::audit::mirror_audit(&client, &ledger, None, 1)
        .await
        .expect_err("no audit API");
    assert_eq!(error.code(), "not_offered", "{error}");
    assert!(error.to_string().contains("audit API"), "{error}");
}

fn audit_page(seqs: std::ops::RangeInclusive<u64>, next: &str) -> String {
    let items: Vec<Value> = seqs
        .map(|s| json!({"id": s.to_string(), "seq": s, "action": "submit", "tenant_id": TENANT}))
        .collect();
    json!({"items": items, "next_cursor": next, "returned": items.len()}).to_string()
}

/// A page past the answer cap is asked for again shorter; the cursor is reported after every
/// page, and a later mirror resumes from it.
#[tokio::test]
async fn audit_mirror_shrinks_oversized_pages_and_resumes() {
    let gw = Scripted::start().await;
    let huge =
        json!({"items": [{"id": "1", "blob": "x".repeat(17 * 1024 * 1024)}], "next_cursor": "1"})
            .to_string();
    let first = audit_page(1..=2, "2");
    let second = audit_page(3..=3, "3");
    gw.on(
        "GET /api/v1/audit/events",
        &[(200, &huge), (200, &first), (500, "{\"error\":\"boom\"}")],
    );
    let client = client_for(&gw.url(), ALICE, fast_http());
    let dir = tempfile::tempdir().expect("dir");
    let ledger = std::sync::Arc::new(
        countersign_ledger::Ledger::open(dir.path().join("l")).expect("ledger"),
    );
    let saved = countersign_client::audit::CursorFile::beside(&dir.path().join("l"));
    let failed =
        countersign_client::audit::mirror_audit_with(&client, &ledger, saved.load(), 10, |c| {
            saved.save(c)
        })
        .await;
    assert!(failed.is_err(), "the third answer fails");
    assert_eq!(
        saved.load().as_deref(),
        Some("2"),
        "progress survived the failure"
    );

    gw.on("GET /api/v1/audit/events", &[(200, &second)]);
    let resumed =
        countersign_client::audit::mirror_audit_with(&client, &ledger, saved.load(), 10, |c| {
            saved.save(c)
        })
        .await
        .expect("resumes");
    assert_eq!(resumed.added, 1, "only the event after the cursor is new");
    assert_eq!(saved.load().as_deref(), Some("3"));
    // Oversized, shortened, failed; then the resumed page and the repeat that ends the walk
    // (the same cursor again means there is nothing after it).
    let asked = gw.received("GET");
    assert_eq!(asked.iter().filter(|r| r.contains("audit")).count(), 5);
}
