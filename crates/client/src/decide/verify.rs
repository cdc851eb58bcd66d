//! Step 1 of the protocol: fetch the item fresh, the current policy snapshots and (when the
//! gateway offers it) the full request, and compute [`countersign_core::verify`] against what
//! the reviewer saw.
//!
//! Cordum has no single-item endpoint: the item comes from `/context` when the gateway has it
//! (one call), else from walking the pending list up to [`MAX_PAGES`] pages. Only pending items
//! can be approved, so the pending list is enough: an item not in it is no longer pending.

use countersign_core::approval::ApprovalItem;
use countersign_core::verify::{verify, SeenItem, Verdict, VerifyInput};
use serde_json::{Map, Value};

use crate::error::{ClientError, Result};
use crate::http::{GatewayClient, RequestDoc};
use crate::paging::{Pager, Paging};

/// Pages walked to find one item (the dashboard walks 10 pages of 100).
pub(crate) const MAX_PAGES: usize = 20;
pub(crate) const PAGE_LIMIT: u32 = 500;

/// The verdict and the evidence it was computed from.
#[derive(Debug)]
pub(crate) struct Fresh {
    pub verdict: Verdict,
    pub item: Option<ApprovalItem>,
    pub request: Option<RequestDoc>,
}

/// Fetches everything and computes the verdict for `seen`.
pub(crate) async fn check(client: &GatewayClient, seen: &SeenItem) -> Result<Fresh> {
    let item = fetch_item(client, &seen.job_id).await?;
    let pending = item.as_ref().is_some_and(ApprovalItem::is_pending);
    // Drift on a resolved item is moot, so nothing more is fetched for one.
    let (snapshots, request) = if pending {
        let (snapshots, request) =
            tokio::join!(client.policy_snapshots(), client.job_request(&seen.job_id));
        (snapshots?, request?)
    } else {
        (Vec::new(), None)
    };
    let verdict = verify(&VerifyInput {
        seen,
        now: item.as_ref(),
        current_snapshots: &snapshots,
        request: request.as_ref().map(|r| r.job_request.as_slice()),
    });
    Ok(Fresh {
        verdict,
        item,
        request,
    })
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
