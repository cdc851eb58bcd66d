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

use common::Harness;
use serde_json::Value;

/// The job's approval item as a reviewer lists it, or `null` when it is not listed.
async fn item(h: &Harness, job_id: &str) -> Value {
    common::listed_item(h, "/api/v1/approvals", job_id).await
}
