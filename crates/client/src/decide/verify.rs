//! Step 1 of the protocol: fetch the item fresh, the current policy snapshots, the card
//! content and (when the gateway offers it) the full request, and compute
//! [`countersign_core::verify`] against what the reviewer saw.

use countersign_core::approval::ApprovalItem;
use countersign_core::verify::{verify, SeenItem, Verdict, VerifyInput};

use crate::error::Result;
use crate::http::{GatewayClient, RequestDoc};
use crate::review::{fetch_item, Review};

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
    // Drift on a resolved item is moot, so nothing more is fetched for one.
    let (snapshots, request, review) = match item.clone().filter(ApprovalItem::is_pending) {
        Some(pending) => {
            let (snapshots, request, review) = tokio::join!(
                client.policy_snapshots(),
                client.job_request(&seen.job_id),
                client.review_of(pending)
            );
            (snapshots?, request?, Some(review?))
        }
        None => (Vec::new(), None, None),
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
