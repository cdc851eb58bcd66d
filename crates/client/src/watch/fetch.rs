//! The watch's two requests: the full pending list and the event stream.

use countersign_core::approval::ApprovalItem;
use reqwest::header::HeaderValue;

use super::WatchConfig;
use crate::error::Result;
use crate::generation::Feature;
use crate::http::{GatewayClient, RawAnswer};
use crate::paging::{walk, Bounds};

/// Every pending item, newest first, following the cursor (see [`crate::paging`]); `complete`
/// is false when the list was cut short (`max_pages`, `max_items`, `max_list_bytes`, a cursor
/// that stopped moving, or a gateway that lists only its oldest items), and then nothing may
/// be concluded from an item's absence.
pub(super) async fn list_all(
    client: &GatewayClient,
    config: &WatchConfig,
) -> Result<(Vec<ApprovalItem>, bool)> {
    let bounds = Bounds {
        page_limit: config.page_limit,
        max_pages: config.max_pages,
        max_items: config.max_items,
        max_bytes: config.max_list_bytes,
    };
    let list = walk(client, bounds).await?;
    Ok((list.items, list.complete))
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
