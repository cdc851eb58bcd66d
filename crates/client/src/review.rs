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
//! (one call), else from walking the pending list up to [`MAX_PAGES`] pages. Only pending items
//! can be approved, so the pending list is enough: an item not in it is no longer pending.

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
use crate::paging::{Pager, Paging};

/// Pages walked to find one item (the dashboard walks 10 pages of 100).
pub(crate) const MAX_PAGES: usize = 20;
pub(crate) const PAGE_LIMIT: u32 = 500;

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
        match self.pending_item(job_id).await? {
            Some(item) => self.review_of(item).await.map(Some),
            None => Ok(None),
        }
    }

    /// The card content of `item`, fetched now, and the item completed from the job record.
    pub async fn review_of(&self, mut item: ApprovalItem) -> Result<Review> {
        let (job, payload) = tokio::join!(
            self.job_document(&item.job.id),
            self.job_payload(&item.job.id)
        );
        let (job, payload) = (job?, payload?);
        complete_from_job(&mut item, &job);
        // What is shown never depends on whether the raw bytes were served, so a card reads
        // the same through every route to the gateway; the verdict proves it against them.
        let shown = match job.get("context") {
            Some(context) if !context.is_null() => context.clone(),
            _ => item.job_input.clone(),
        };
        let content = CardContent::new(&item, shown, &labels_of(&job));
        Ok(Review {
            item,
            content,
            payload,
        })
    }

    /// `GET /api/v1/jobs/{id}` as JSON.
    pub(crate) async fn job_document(&self, job_id: &str) -> Result<Value> {
        let path = format!("api/v1/jobs/{}", path_segment(job_id)?);
        self.send_json(self.request(Method::GET, &path)?, DOCUMENT_BODY_BYTES)
            .await
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

/// The item as the gateway shows it now; `None` when it is not pending any more (or gone).
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
    // The shared pager: trusting `next_cursor` alone can skip items at a page boundary,
    // which would make a pending item look resolved.
    let mut pager = Pager::new(PAGE_LIMIT);
    for _ in 0..MAX_PAGES {
        let page = client
            .list_approvals(pager.cursor(), pager.limit(), false)
            .await?;
        if let Some(item) = pager.take(page)?.into_iter().find(|i| i.job.id == job_id) {
            return Ok(Some(item));
        }
        match pager.state() {
            Paging::More => {}
            Paging::Complete => return Ok(None),
            Paging::Stuck => {
                return Err(ClientError::GatewayProtocol(format!(
                    "the pending list stopped paging before job {job_id} was found"
                )))
            }
        }
    }
    Err(ClientError::GatewayProtocol(format!(
        "job {job_id} not found within {MAX_PAGES} pages of pending approvals"
    )))
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
