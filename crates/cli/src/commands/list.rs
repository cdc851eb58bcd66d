//! `list`: the pending approvals as a compact table, or as the gateway's items in JSON.
//! Listing records nothing: the reviewer has not looked at any item in full yet.
//!
//! An item the client cannot read (hostile nesting, a wrong type) never hides the others: it
//! is listed as `unreadable item <id>`, which can still be rejected by id. A job listed on
//! two pages is shown once; Cordum's oldest-first list is shown newest first, and when it
//! holds newer pending jobs than it can list, the list says so and is never called complete.

use clap::Args;
use countersign_client::GatewayClient;
use countersign_core::approval::{ApprovalCard, ApprovalItem};
use serde_json::json;

use super::output::{sanitize_for_terminal, table};
use super::time::{age, now_ms};
use super::{context, CliError, Output};

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
    let listed = pending(&session.client, args.limit).await?;
    let (items, truncated) = (listed.items, listed.truncated);
    if out.is_json() {
        out.json(&json!({
            "items": items,
            "truncated": truncated,
            "newer_unlisted": listed.newer_unlisted,
            "unreadable": listed.unreadable,
        }));
        return Ok(());
    }
    // v0.9 ignores `X-Tenant-ID` on this list: items of another tenant are not this
    // profile's to decide, and the reviewer must know the list is not filtered.
    let tenant = session.client.tenant();
    let foreign = foreign_items(&items, tenant);
    if foreign > 0 {
        out.note(&format!(
            "warning: {foreign} item(s) belong to another tenant than this profile's ({}); \
             the gateway did not filter the list by tenant",
            sanitize_for_terminal(tenant)
        ));
    }
    for id in &listed.unreadable {
        out.note(&format!(
            "unreadable item {}",
            sanitize_for_terminal(id.as_deref().unwrap_or("(no job id)"))
        ));
    }
    if items.is_empty() {
        out.note("no pending approvals");
        return Ok(());
    }
    out.line(&items_table(&items));
    if listed.newer_unlisted {
        out.note(&format!(
            "warning: the gateway lists only its oldest {} pending item(s) and holds newer ones \
             it cannot list (an unknown number, at least one); this list is not complete. \
             Deciding listed items brings newer ones in; `show JOB` works for any job id",
            items.len()
        ));
    } else if truncated {
        out.note(&format!("(first {} shown; use --limit)", items.len()));
    }
    Ok(())
}

/// What `list` found.
struct Listed {
    items: Vec<ApprovalItem>,
    /// More may be pending than are shown.
    truncated: bool,
    /// The gateway holds newer pending jobs than it can list (Cordum lists its oldest 500).
    newer_unlisted: bool,
    /// Items that could not be read, by job id where it could be.
    unreadable: Vec<Option<String>>,
}

/// Up to `limit` pending items, newest first, each job once (the client's shared walk).
async fn pending(client: &GatewayClient, limit: u32) -> Result<Listed, CliError> {
    let wanted = usize::try_from(limit).unwrap_or(usize::MAX);
    // One more than wanted tells a full list from a longer one.
    let list = client.pending_list(wanted.saturating_add(1)).await?;
    let mut items: Vec<ApprovalItem> = list.items.into_iter().filter(|i| i.is_pending()).collect();
    let truncated = !list.complete || items.len() > wanted;
    items.truncate(wanted);
    Ok(Listed {
        items,
        truncated,
        newer_unlisted: list.newer_unlisted,
        unreadable: list.unreadable.into_iter().map(|r| r.job_id).collect(),
    })
}

/// Items that name a tenant other than `tenant`.
fn foreign_items(items: &[ApprovalItem], tenant: &str) -> usize {
    items
        .iter()
        .filter(|item| !item.job.tenant.is_empty() && item.job.tenant != tenant)
        .count()
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn items_of_another_tenant_are_counted() {
        let item = |tenant: &str| {
            let mut item = ApprovalItem::default();
            item.job.id = "j".into();
            item.job.tenant = tenant.into();
            item
        };
        let items = [item("default"), item("acme"), item("")];
        assert_eq!(foreign_items(&items, "acme"), 1);
        assert_eq!(foreign_items(&items, "other"), 2);
    }
}
