//! Step 1 of the protocol: fetch the item fresh, the current policy snapshots, the card
//! content and (when the gateway offers it) the full request, and compute
//! [`countersign_core::verify`] against what the reviewer saw.

use countersign_core::approval::ApprovalItem;
use countersign_core::verify::{verify, SeenItem, Verdict, VerifyInput};
use countersign_ledger::NewEntry;
use serde_json::Value;

use crate::error::Result;
use crate::http::{GatewayClient, RequestDoc};
use crate::review::Review;

/// The verdict and the evidence it was computed from.
#[derive(Debug)]
pub(crate) struct Fresh {
    pub verdict: Verdict,
    pub item: Option<ApprovalItem>,
    pub request: Option<RequestDoc>,
}

impl Fresh {
    /// The ledger entries that record this check: the request it was made against (when the
    /// gateway served it) and the verdict.
    pub fn evidence(&self, seen: &SeenItem) -> Result<Vec<NewEntry>> {
        let mut entries = Vec::with_capacity(2);
        if let Some(doc) = &self.request {
            let body = serde_json::from_slice(&doc.job_request).unwrap_or(Value::Null);
            entries.push(NewEntry::job_request(&seen.job_id, body));
        }
        entries.push(NewEntry::verdict(seen, &self.verdict)?);
        Ok(entries)
    }
}

/// Fetches everything at once and computes the verdict for `seen`.
pub(crate) async fn check(client: &GatewayClient, seen: &SeenItem) -> Result<Fresh> {
    let (now, snapshots, request) = tokio::join!(
        client.item_and_review(&seen.job_id),
        client.policy_snapshots(),
        client.job_request(&seen.job_id)
    );
    let (item, review) = now?;
    // Drift on a resolved item is moot: what else was fetched for it is dropped, errors too.
    let (snapshots, request) = match review {
        Some(_) => (snapshots?, request?),
        None => (Vec::new(), None),
    };
    let review: Option<&Review> = review.as_ref();
    let verdict = verify(&VerifyInput {
        seen,
        now: review.map(|r| &r.item).or(item.as_ref()),
        current_snapshots: &snapshots,
        request: request.as_ref().map(|r| r.job_request.as_slice()),
        generation: client.capabilities().generation.hash_rules(),
        content: review.map(|r| &r.content),
        payload: review.and_then(|r| r.payload.as_deref()),
    });
    Ok(Fresh {
        verdict,
        item: review.map(|r| r.item.clone()).or(item),
        request,
    })
}
