//! Item 9: streams are capped per principal (429 past it), every event is read once and fanned
//! out to all streams, and a stream opened with a session ends soon after the session does.

use std::time::Duration;

use countersign_gateway::Role;
use futures_util::StreamExt;
use reqwest::Method;
use serde_json::json;

use crate::common::*;

async fn stream_status(h: &Harness, key: &str) -> (u16, Option<reqwest::Response>) {
    let resp = sent(h.keyed(Method::GET, key, "/api/v1/approvals/events")).await;
    let status = resp.status().as_u16();
    (status, (status == 200).then_some(resp))
}

#[tokio::test]
async fn streams_are_capped_per_principal() {
    let h = Harness::start_with(|c| c.stream_limits.max_streams_per_principal = 3).await;
    let mut open = Vec::new();
    for _ in 0..3 {
        let (status, resp) = stream_status(&h, ALICE).await;
        assert_eq!(status, 200);
        open.push(resp);
    }
    let resp = sent(h.keyed(Method::GET, ALICE, "/api/v1/approvals/events")).await;
    assert_eq!(resp.status(), 429);
    assert!(resp.headers().contains_key("retry-after"));
    let body: serde_json::Value = resp.json().await.expect("json");
    assert_eq!(
        body["error"],
        "too many open event streams for this principal"
    );
    // Another principal has its own allowance.
    assert_eq!(stream_status(&h, BOB).await.0, 200);

    // A closed stream gives its place back (once the server sees the connection go).
    open.pop();
    let reopened = async {
        loop {
            if let (200, Some(resp)) = stream_status(&h, ALICE).await {
                return resp;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    };
    tokio::time::timeout(Duration::from_secs(30), reopened)
        .await
        .expect("a place is given back");
}

#[tokio::test]
async fn events_are_read_once_for_all_streams() {
    let h = Harness::start_with(|c| c.stream_limits.max_streams_per_principal = 100).await;
    let mut streams = Vec::new();
    for _ in 0..40 {
        streams.push(open_stream(&h, None).await);
    }
    let before = h.running.gateway().event_reads();
    let mut jobs = Vec::new();
    for _ in 0..5 {
        jobs.push(h.payment().await);
    }
    for stream in streams {
        let got = read_until(stream, "approval.required", 5).await;
        let ids: Vec<&str> = got
            .iter()
            .filter_map(|e| e.data["job"]["id"].as_str())
            .collect();
        assert_eq!(ids, jobs);
    }
    let after = h.running.gateway().event_reads();
    assert_eq!(
        after.catch_up, before.catch_up,
        "no stream read the database itself"
    );
    // One read per change at most, plus the read that finds nothing more: not one per stream.
    assert!(
        after.fan_out - before.fan_out <= 10,
        "{after:?} after {before:?}"
    );
}

#[tokio::test]
async fn a_session_stream_ends_after_logout() {
    let hash = cheap_hash("s3cret");
    let h = Harness::start_with(move |c| {
        c.credentials.users.push(user("rita", hash, Role::Operator));
        c.stream_limits.session_recheck = Duration::from_millis(100);
    })
    .await;
    let (status, session) = login(&h, json!({"username": "rita", "password": "s3cret"})).await;
    assert_eq!(status, 200, "{session}");
    let token = session["token"].as_str().expect("token").to_owned();
    let resp = sent(h.bearer(Method::GET, &token, "/api/v1/approvals/events")).await;
    assert_eq!(resp.status(), 200);
    let out = sent(h.bearer(Method::POST, &token, "/api/v1/auth/logout")).await;
    assert_eq!(out.status(), 204);
    // Events keep coming, but the logged-out stream ends instead of carrying them.
    for _ in 0..5 {
        h.payment().await;
    }
    let mut body = resp.bytes_stream();
    let mut delivered = String::new();
    let ended = tokio::time::timeout(Duration::from_secs(20), async {
        while let Some(Ok(chunk)) = body.next().await {
            delivered.push_str(&String::from_utf8_lossy(&chunk));
        }
    });
    ended.await.expect("the stream ended");
    assert!(
        !delivered.contains("approval.required"),
        "the stream carried events after logout: {delivered}"
    );
}
