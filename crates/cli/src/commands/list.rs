//! `list`: the pending approvals as a compact table, or as the gateway's items in JSON.
//! Listing records nothing: the reviewer has not looked at any item in full yet.

use clap::Args;
use countersign_client::GatewayClient;
use countersign_core::approval::{ApprovalCard, ApprovalItem};
use serde_json::json;

use super::output::table;
use super::time::{age, now_ms};
use super::{context, CliError, Output};

/// Items per request; the gateway's maximum.
const PAGE_LIMIT: u32 = 500;
/// Characters of the job hash shown in tables; enough to tell items apart at a glance.
pub const SHORT_HASH: usize = 12;

#[derive(Debug, Args)]
pub struct ListArgs {
    /// At most this many items (newest first).
    #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u32).range(1..))]
    limit: u32,
}

pub async fn run(out: &Output, flag: Option<&str>, args: &ListArgs) -> Result<(), CliError> {
    let session = context::connect(flag)?;
    let (items, truncated) = pending(&session.client, args.limit).await?;
    if out.is_json() {
        out.json(&json!({ "items": items, "truncated": truncated }));
        return Ok(());
    }
    if items.is_empty() {
        out.note("no pending approvals");
        return Ok(());
    }
    out.line(&items_table(&items));
    if truncated {
        out.note(&format!("(first {} shown; use --limit)", items.len()));
    }
    Ok(())
}

/// Up to `limit` pending items following `next_cursor`; `true` when more remain.
async fn pending(
    client: &GatewayClient,
    limit: u32,
) -> Result<(Vec<ApprovalItem>, bool), CliError> {
    let wanted = usize::try_from(limit).unwrap_or(usize::MAX);
    let mut items = Vec::new();
    let mut cursor = None;
    loop {
        let page = client
            .list_approvals(cursor, PAGE_LIMIT.min(limit), false)
            .await?;
        items.extend(page.items.into_iter().filter(ApprovalItem::is_pending));
        if items.len() >= wanted {
            let more = items.len() > wanted || page.next_cursor.is_some();
            items.truncate(wanted);
            return Ok((items, more));
        }
        match page.next_cursor {
            Some(next) if Some(next) != cursor => cursor = Some(next),
            _ => return Ok((items, false)),
        }
    }
}

/// JOB, TOPIC, REQUESTER, RULE, AGE, HASH; shared with `watch`.
pub fn items_table(items: &[ApprovalItem]) -> String {
    let now = now_ms();
    let rows: Vec<Vec<String>> = items.iter().map(|item| row(item, now)).collect();
    table(&["JOB", "TOPIC", "REQUESTER", "RULE", "AGE", "HASH"], &rows)
}

/// One item as table cells (sanitized by [`table`]).
pub fn row(item: &ApprovalItem, now_ms: i64) -> Vec<String> {
    let card = ApprovalCard::from(item);
    // `updated_at` is in microseconds.
    let elapsed = card.updated_at.map(|us| now_ms - us / 1000);
    vec![
        card.job_id,
        card.topic,
        card.requester,
        card.rule_id,
        age(elapsed),
        short_hash(&card.job_hash),
    ]
}

pub fn short_hash(hash: &str) -> String {
    if hash.is_empty() {
        "-".into()
    } else {
        hash.chars().take(SHORT_HASH).collect()
    }
}
