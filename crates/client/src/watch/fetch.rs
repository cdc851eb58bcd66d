//! The watch's two requests: the full pending list and the event stream.

use countersign_core::approval::ApprovalItem;
use reqwest::header::HeaderValue;

use super::WatchConfig;
use crate::error::Result;
use crate::generation::Feature;
use crate::http::{GatewayClient, RawAnswer};
use crate::paging::{Pager, Paging};

/// Every pending item, following the cursor (see [`crate::paging`]); `complete` is false
/// when the list was cut short (`max_pages`, `max_items`, `max_list_bytes`, or a cursor that
/// stopped moving),
/// and then nothing may be concluded from an item's absence.
pub(super) async fn list_all(
    client: &GatewayClient,
    config: &WatchConfig,
) -> Result<(Vec<ApprovalItem>, bool)> {
    let mut items = Vec::new();
    let mut bytes = 0usize;
    let mut pager = Pager::new(config.page_limit);
    for _ in 0..config.max_pages.max(1) {
        let (page, size) = client
            .list_page(pager.cursor(), pager.limit(), false)
            .await?;
        bytes = bytes.saturating_add(size);
        if !page.rejected.is_empty() {
            tracing::warn!(
                count = page.rejected.len(),
                "gateway sent unreadable approval items"
            );
        }
        items.extend(pager.take(page)?);
        if bytes > config.max_list_bytes {
            tracing::warn!(bytes, "pending list truncated by size");
            return Ok((items, false));
        }
        if items.len() >= config.max_items {
            tracing::warn!(count = items.len(), "pending list truncated");
            items.truncate(config.max_items);
            return Ok((items, false));
        }
        match pager.state() {
            Paging::More => {}
            Paging::Complete => return Ok((items, true)),
            Paging::Stuck => {
                tracing::warn!(
                    cursor = pager.cursor(),
                    "the gateway's list cursor stopped moving"
                );
                return Ok((items, false));
            }
        }
    }
    Ok((items, false))
}

/// `Ok(None)` when the gateway has no event stream.
pub(super) async fn open_stream(
    client: &GatewayClient,
    last_event_id: Option<&str>,
) -> Result<Option<reqwest::Response>> {
    let mut request = client
        .stream_request("api/v1/approvals/events")?
        .header("Accept", "text/event-stream");
    // The parser keeps only ids a header can carry; this is the last line of that defence.
    if let Some(id) = last_event_id.and_then(|id| HeaderValue::from_str(id).ok()) {
        request = request.header("Last-Event-ID", id);
    }
    let response = request.send().await?;
    let status = response.status().as_u16();
    let is_stream = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/event-stream"));
    let success = response.status().is_success();
    if success && is_stream {
        return Ok(Some(response));
    }
    if success || matches!(status, 404 | 405 | 501) {
        // The body says nothing useful about a missing route, so it is not read.
        let answer = RawAnswer {
            status,
            body: String::new(),
        };
        client.confirm_absent(Feature::Events, &answer)?;
        return Ok(None);
    }
    Err(client.refusal(response).await)
}
