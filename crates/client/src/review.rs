//! One item as a reviewer reads it: the item fetched fresh by id, and [`Review`], the item with
//! the content its card shows ([`CardContent`]) fetched beside it.
//!
//! The list item does not carry everything a card shows: the payload (the prompt, the input)
//! and the request's labels live in `GET /api/v1/jobs/{id}` on every generation, and the
//! reference gateway also serves the payload's raw bytes (extension
//! `GET /api/v1/approvals/{id}/payload`), which its content-addressed `context_ptr` names.
//! The payload shown is the job's `context` (where v0.9 keeps the prompt, and where the
//! reference gateway puts the payload its pointer names), else the item's `job_input`; the
//! raw bytes, when served, are what the verdict proves the shown payload against.
//!
//! Cordum has no single-item endpoint: the item comes from `/context` when the gateway has it
//! (one call), else from the job record and its safety decisions (v0.9), whatever its place in
//! the pending list.

use std::collections::BTreeMap;

use countersign_core::approval::ApprovalItem;
use countersign_core::content::CardContent;
use countersign_core::verify::SeenItem;
use reqwest::Method;
use serde_json::{Map, Value};

use crate::body::DOCUMENT_BODY_BYTES;
use crate::error::{ClientError, Result};
use crate::generation::{is_missing_route, Feature};
use crate::http::{path_segment, GatewayClient};

/// An item with the content its card shows, as fetched now.
#[derive(Debug, Clone, PartialEq)]
pub struct Review {
    pub item: ApprovalItem,
    pub content: CardContent,
    /// The payload's raw bytes, when the gateway serves them.
    pub payload: Option<Vec<u8>>,
}

impl Review {
    /// What the reviewer saw, once this review is on their screen: bind decisions to it.
    pub fn seen(&self) -> SeenItem {
        SeenItem::from(&self.item).with_content(self.content.clone())
    }
}

impl GatewayClient {
    /// One pending item, fresh; `None` when it is not pending.
    pub async fn pending_item(&self, job_id: &str) -> Result<Option<ApprovalItem>> {
        Ok(fetch_item(self, job_id)
            .await?
            .filter(ApprovalItem::is_pending))
    }

    /// One pending item with its card content, fresh; `None` when it is not pending.
    pub async fn review(&self, job_id: &str) -> Result<Option<Review>> {
        Ok(self.item_and_review(job_id).await?.1)
    }

    /// The item as it is now (pending or not), and its review when it is pending. The item,
    /// the job record and the payload are fetched at once rather than one after the other:
    /// a decision waits on this, and for an item no longer pending the extra answers are
    /// dropped unread (their errors too, since a resolved job may no longer serve them).
    pub(crate) async fn item_and_review(
        &self,
        job_id: &str,
    ) -> Result<(Option<ApprovalItem>, Option<Review>)> {
        let (item, job, payload) = tokio::join!(
            fetch_item(self, job_id),
            self.job_document(job_id),
            self.job_payload(job_id)
        );
        match item? {
            Some(item) if item.is_pending() => {
                let review = assemble(item.clone(), &job?, payload?);
                Ok((Some(item), Some(review)))
            }
            other => Ok((other, None)),
        }
    }

    /// The card content of `item`, fetched now, and the item completed from the job record.
    pub async fn review_of(&self, item: ApprovalItem) -> Result<Review> {
        let (job, payload) = tokio::join!(
            self.job_document(&item.job.id),
            self.job_payload(&item.job.id)
        );
        Ok(assemble(item, &job?, payload?))
    }

    /// `GET /api/v1/jobs/{id}` as JSON.
    pub(crate) async fn job_document(&self, job_id: &str) -> Result<Value> {
        let path = format!("api/v1/jobs/{}", path_segment(job_id)?);
        self.send_json(self.request(Method::GET, &path)?, DOCUMENT_BODY_BYTES)
            .await
    }

    /// `GET /api/v1/jobs/{id}/decisions` (v0.9): the job's safety decisions, or `None` when
    /// the gateway has no such route.
    pub(crate) async fn job_decisions(&self, job_id: &str) -> Result<Option<Value>> {
        let path = format!("api/v1/jobs/{}/decisions", path_segment(job_id)?);
        let answer = self
            .send_raw(self.request(Method::GET, &path)?, DOCUMENT_BODY_BYTES)
            .await?;
        if is_missing_route(&answer) {
            return Ok(None);
        }
        if !(200..300).contains(&answer.status) {
            return Err(self.error_for(&answer));
        }
        serde_json::from_str(&answer.body)
            .map(Some)
            .map_err(|e| ClientError::GatewayProtocol(format!("decisions answer: {e}")))
    }

    /// The extension `GET /api/v1/approvals/{id}/payload`: the payload's bytes as stored, or
    /// `None` when the gateway does not serve them.
    pub async fn job_payload(&self, job_id: &str) -> Result<Option<Vec<u8>>> {
        if self.detected().get(Feature::Payload) == Some(false) {
            return Ok(None);
        }
        let path = format!("api/v1/approvals/{}/payload", path_segment(job_id)?);
        let answer = self
            .send_raw(self.request(Method::GET, &path)?, DOCUMENT_BODY_BYTES)
            .await?;
        if is_missing_route(&answer) {
            self.confirm_absent(Feature::Payload, &answer)?;
            return Ok(None);
        }
        if !(200..300).contains(&answer.status) {
            return Err(self.error_for(&answer));
        }
        self.detected().set(Feature::Payload, true);
        Ok(Some(answer.body.into_bytes()))
    }
}

/// Fills what an item left empty from its job record: the newest generation's `/context`
/// names no job hash, topic, tenant, requester or risk tags (new-observed.md), and without
/// them every item would be unverifiable and every card would name the wrong requester.
/// Only empty fields are filled: what the item itself says is never overridden.
fn complete_from_job(item: &mut ApprovalItem, job: &Value) {
    let text = |key: &str| job.get(key).and_then(Value::as_str).unwrap_or_default();
    let record = &mut item.job;
    for (field, key) in [
        (&mut record.topic, "topic"),
        (&mut record.tenant, "tenant"),
        (&mut record.principal, "principal"),
        (&mut record.actor_id, "actor_id"),
        (&mut record.safety_rule_id, "safety_rule_id"),
        (&mut record.safety_reason, "safety_reason"),
        (&mut item.job_hash, "safety_job_hash"),
        (&mut item.submitted_by, "submitted_by"),
    ] {
        if field.is_empty() {
            text(key).clone_into(field);
        }
    }
    if record.risk_tags.is_empty() {
        if let Some(tags) = job.get("risk_tags").and_then(Value::as_array) {
            record.risk_tags = tags
                .iter()
                .filter_map(|tag| tag.as_str().map(str::to_owned))
                .collect();
        }
    }
}

/// The request's labels from a job document; values that are not strings are not labels.
fn labels_of(job: &Value) -> BTreeMap<String, String> {
    job.get("labels")
        .and_then(Value::as_object)
        .map(|labels| {
            labels
                .iter()
                .filter_map(|(key, value)| Some((key.clone(), value.as_str()?.to_owned())))
                .collect()
        })
        .unwrap_or_default()
}

/// The item as the gateway shows it now; `None` when the job does not exist. A resolved item
/// is returned as it is (not pending), so callers can tell resolved from gone.
///
/// From `/context` where the gateway has it; else (Cordum v0.9) from the job record and its
/// safety decisions, never from the pending list: v0.9 lists only its oldest 500 pending
/// items (see [`crate::paging`]), so a walk cannot find a newer one.
/// The review of `item` from its job record and payload bytes.
fn assemble(mut item: ApprovalItem, job: &Value, payload: Option<Vec<u8>>) -> Review {
    complete_from_job(&mut item, job);
    // What is shown never depends on whether the raw bytes were served, so a card reads
    // the same through every route to the gateway; the verdict proves it against them.
    let shown = match job.get("context") {
        Some(context) if !context.is_null() => context.clone(),
        _ => item.job_input.clone(),
    };
    let content = CardContent::new(&item, shown, &labels_of(job));
    Review {
        item,
        content,
        payload,
    }
}

pub(crate) async fn fetch_item(
    client: &GatewayClient,
    job_id: &str,
) -> Result<Option<ApprovalItem>> {
    match client.approval_context(job_id).await {
        Ok(Some(context)) => return item_from_context(context).map(Some),
        Ok(None) => {}
        Err(ClientError::NotFound(_)) => return Ok(None),
        Err(error) => return Err(error),
    }
    let job = match client.job_document(job_id).await {
        Ok(job) => job,
        Err(ClientError::NotFound(_)) => return Ok(None),
        Err(error) => return Err(error),
    };
    let decisions = client.job_decisions(job_id).await?;
    item_from_job(job_id, &job, decisions.as_ref()).map(Some)
}

/// An approval item built from `GET /api/v1/jobs/{id}` and, where the gateway has it,
/// `GET /api/v1/jobs/{id}/decisions`, in the shape of a v0.9 list item (CONTRACT.md §1.1.1):
/// the latest decision that required approval names the snapshot, rule, reason and job hash
/// the list would show; without one, the job's own `safety_*` fields do. A decision and a job
/// that name different job hashes are refused: which one the list would show is unknown.
fn item_from_job(job_id: &str, job: &Value, decisions: Option<&Value>) -> Result<ApprovalItem> {
    let protocol = |why: &str| ClientError::GatewayProtocol(format!("job {job_id}: {why}"));
    if job.get("id").and_then(Value::as_str) != Some(job_id) {
        return Err(protocol("the job record names another job"));
    }
    let decision = match decisions {
        None | Some(Value::Null) => None,
        Some(Value::Array(list)) => list
            .iter()
            .filter(|d| d.get("approval_required").and_then(Value::as_bool) == Some(true))
            .max_by_key(|d| {
                d.get("checked_at")
                    .and_then(Value::as_i64)
                    .unwrap_or(i64::MIN)
            }),
        Some(_) => return Err(protocol("the decisions answer is not a list")),
    };
    let text = |doc: Option<&Value>, key: &str| {
        doc.and_then(|d| d.get(key))
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
    };
    let pick = |decision_key: &str, job_key: &str| {
        text(decision, decision_key)
            .or_else(|| text(Some(job), job_key))
            .unwrap_or_default()
    };
    let job_hash = pick("job_hash", "safety_job_hash");
    if let (Some(a), Some(b)) = (
        text(decision, "job_hash"),
        text(Some(job), "safety_job_hash"),
    ) {
        if a != b {
            return Err(protocol(
                "its decision and its record name different job hashes",
            ));
        }
    }
    let mut record = Map::new();
    for key in [
        "id",
        "updated_at",
        "state",
        "topic",
        "tenant",
        "principal",
        "actor_id",
        "risk_tags",
        "safety_decision",
        "safety_reason",
        "safety_rule_id",
        "safety_snapshot",
    ] {
        if let Some(value) = job.get(key).filter(|v| !v.is_null()) {
            record.insert(key.into(), value.clone());
        }
    }
    let mut item = Map::new();
    item.insert("job".into(), Value::Object(record));
    item.insert("job_hash".into(), Value::String(job_hash));
    for (key, from_decision, from_job) in [
        ("decision", "decision", "safety_decision"),
        ("policy_snapshot", "policy_snapshot", "safety_snapshot"),
        ("policy_rule_id", "rule_id", "safety_rule_id"),
        ("policy_reason", "reason", "safety_reason"),
        ("approval_ref", "approval_ref", "approval_ref"),
    ] {
        item.insert(key.into(), pick(from_decision, from_job).into());
    }
    if let Some(gate) = job.pointer("/labels/gate_type").filter(|v| v.is_string()) {
        item.insert("gate_type".into(), gate.clone());
    }
    if let Some(constraints) = job.get("safety_constraints").filter(|v| v.is_object()) {
        item.insert("constraints".into(), constraints.clone());
    }
    ApprovalItem::from_value(Value::Object(item)).map_err(|e| protocol(&e.to_string()))
}

/// `/context` carries the item's fields in `approval`, with `job_id` and `state` where a list
/// item has its `job` record; rebuilt into an item so one parser and one verdict serve both.
fn item_from_context(context: Value) -> Result<ApprovalItem> {
    let Some(Value::Object(mut approval)) = context.get("approval").cloned() else {
        return Err(ClientError::GatewayProtocol(
            "context answer has no `approval` object".into(),
        ));
    };
    let mut job = Map::new();
    for (from, to) in [("job_id", "id"), ("state", "state")] {
        if let Some(value) = approval.remove(from) {
            job.insert(to.into(), value);
        }
    }
    approval.insert("job".into(), Value::Object(job));
    ApprovalItem::from_value(Value::Object(approval))
        .map_err(|e| ClientError::GatewayProtocol(format!("context answer: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn context_becomes_an_item() {
        let item = item_from_context(json!({
            "approval": {
                "job_id": "j1", "state": "APPROVAL_REQUIRED", "job_hash": "h",
                "policy_snapshot": "s|cfg:1", "gate_type": "workflow_approval"
            },
            "prior_approvals": []
        }))
        .expect("item");
        assert_eq!(item.job.id, "j1");
        assert_eq!(item.job_hash, "h");
        assert!(item.is_pending());
        assert!(item.is_workflow_gate());
    }

    /// The live v0.9 job and its decisions (live-transcript.md) make the list item v0.9 gave.
    #[test]
    fn a_v09_job_and_its_decisions_become_the_list_item() {
        let job = json!({
            "id": "b59", "state": "APPROVAL_REQUIRED", "topic": "job.peer.write",
            "tenant": "default", "principal": "alice", "actor_id": "alice",
            "risk_tags": ["write"], "labels": {"team": "peer"}, "updated_at": 17,
            "safety_decision": "REQUIRE_APPROVAL", "safety_reason": "Writes need a human.",
            "safety_rule_id": "peer-test-approval", "safety_snapshot": "acdc",
            "safety_job_hash": "1914", "approval_ref": "b59", "requires": null
        });
        let decisions = json!([
            {"decision": "ALLOW", "approval_required": false, "job_hash": "old", "checked_at": 9},
            {"decision": "REQUIRE_APPROVAL", "reason": "Writes need a human.",
             "rule_id": "peer-test-approval", "policy_snapshot": "acdc",
             "approval_required": true, "approval_ref": "b59", "job_hash": "1914",
             "checked_at": 5}
        ]);
        let item = item_from_job("b59", &job, Some(&decisions)).expect("item");
        assert_eq!(item.job.id, "b59");
        assert!(item.is_pending());
        assert_eq!(item.job_hash, "1914");
        assert_eq!(item.policy_snapshot, "acdc");
        assert_eq!(item.policy_rule_id, "peer-test-approval");
        assert_eq!(item.job.risk_tags, ["write"]);
        assert_eq!(item.job.updated_at, Some(17));
        // Without the decisions route, the job's own fields say the same.
        let bare = item_from_job("b59", &job, None).expect("item");
        assert_eq!(bare.job_hash, "1914");
        assert_eq!(bare.policy_snapshot, "acdc");
        // A decision naming another hash than the record is refused, and so is another job.
        let other = json!([{"approval_required": true, "job_hash": "ffff"}]);
        let error = item_from_job("b59", &job, Some(&other)).expect_err("refused");
        assert_eq!(error.code(), "gateway_protocol");
        let error = item_from_job("x", &job, None).expect_err("refused");
        assert_eq!(error.code(), "gateway_protocol");
    }

    #[test]
    fn hostile_context_is_a_protocol_error() {
        for body in [
            json!({}),
            json!({"approval": []}),
            json!({"approval": {"state": "APPROVAL_REQUIRED"}}),
            json!({"approval": {"job_id": 5}}),
            json!({"approval": {"job_id": "j", "job_hash": ["x"]}}),
        ] {
            let error = item_from_context(body.clone()).expect_err("refused");
            assert_eq!(error.code(), "gateway_protocol", "{body}");
        }
    }
}
