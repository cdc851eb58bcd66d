//! Approve/reject semantics over real HTTP: every branch of the validation runbook (seed 000)
//! and of CONTRACT.md §2 that this gateway can reach.

#[path = "../common/mod.rs"]
mod common;

mod access;
mod drift;
mod items;
mod reevaluation;
mod resolution;
mod validation;

use common::{Harness, ALICE};
use serde_json::Value;

/// The job's approval item as a reviewer lists it, or `null` when it is not listed.
async fn item(h: &Harness, job_id: &str) -> Value {
    let (status, body) = h.get(ALICE, "/api/v1/approvals").await;
    assert_eq!(status, 200, "{body}");
    body["items"]
        .as_array()
        .expect("items")
        .iter()
        .find(|i| i["job"]["id"] == job_id)
        .cloned()
        .unwrap_or(Value::Null)
}
