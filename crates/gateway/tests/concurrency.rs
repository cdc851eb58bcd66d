//! 20 clients approve the same 50 jobs at once: every job is approved and dispatched exactly
//! once; every other attempt gets `already_approved` or a retryable lock conflict, which the
//! client retries.

mod common;

use std::sync::Arc;

use common::*;
use serde_json::{json, Value};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn twenty_clients_fifty_jobs_exactly_once() {
    let h = Arc::new(Harness::start().await);
    let mut jobs = Vec::new();
    for _ in 0..50 {
        jobs.push(h.payment().await);
    }
    let jobs = Arc::new(jobs);
    let mut clients = Vec::new();
    for client in 0..20usize {
        let (h, jobs) = (Arc::clone(&h), Arc::clone(&jobs));
        clients.push(tokio::spawn(async move {
            let key = if client % 2 == 0 { ALICE } else { BOB };
            let mut fresh = 0usize;
            // Each client walks the jobs from a different starting point.
            for i in 0..jobs.len() {
                let id = &jobs[(i + client * 7) % jobs.len()];
                loop {
                    let (status, body) = h
                        .approve(key, id, json!({"note": format!("client {client}")}))
                        .await;
                    match (status, body["status"].as_str(), body["code"].as_str()) {
                        (200, Some("already_approved"), _) => break,
                        (200, None, _) => {
                            fresh += 1;
                            break;
                        }
                        (409, _, Some("approval_retryable_lock")) => {
                            assert_eq!(body["retryable"], true);
                            continue;
                        }
                        _ => panic!("unexpected answer {status} {body}"),
                    }
                }
            }
            fresh
        }));
    }
    let mut fresh_total = 0;
    for c in clients {
        fresh_total += c.await.expect("client finished");
    }
    assert_eq!(fresh_total, 50, "each job approved freshly exactly once");
    for id in jobs.iter() {
        assert_eq!(h.dispatches(id).await, 1);
        let (_, job) = h.get(ALICE, &format!("/api/v1/jobs/{id}")).await;
        assert_eq!(job["state"], "SUCCEEDED", "{job}");
    }
    let (_, verify) = h.get(ALICE, "/api/v1/audit/verify").await;
    assert_eq!(verify["status"], "ok", "{verify}");
    let (_, pending) = h
        .get(ALICE, "/api/v1/approvals?include_resolved=false")
        .await;
    assert_eq!(pending["items"], Value::Array(Vec::new()));
}
