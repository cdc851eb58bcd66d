//! What the proxy's v0.9 mode does to listing, from v09-observed.md and CONTRACT.md §1.1.1:
//! `GET /api/v1/approvals` lists pending jobs **oldest first** with an upper-bound cursor
//! (fetch the oldest `limit + 10` at or before the cursor, return the first `limit`, and
//! `next_cursor` = the last fetched job's `updated_at` - 1 when at least `limit` were fetched),
//! `limit` clamped to 500, items without the new generation's keys; and
//! `GET /api/v1/jobs/{id}/decisions` lists the job's safety decision. The pending jobs are read
//! from the reference gateway behind the proxy, whole, for every request.

use std::collections::HashSet;
use std::net::SocketAddr;

use serde_json::{json, Value};

use super::proxy::{forward_get, respond_json};

/// v0.9's clamp on `limit`.
const MAX_LIMIT: usize = 500;
/// Keys only the new generation puts on list items.
const NEW_GENERATION_KEYS: &[&str] = &[
    "approval_status",
    "approval_actionability",
    "approval_revision",
    "approval_decision",
    "submitted_by",
];

fn query_value(target: &str, key: &str) -> Option<String> {
    let query = target.split_once('?')?.1;
    query.split('&').find_map(|pair| {
        let (k, v) = pair.split_once('=')?;
        (k == key).then(|| v.to_owned())
    })
}

fn updated_at(item: &Value) -> i64 {
    item.pointer("/job/updated_at")
        .and_then(Value::as_i64)
        .unwrap_or(0)
}

/// Every pending item of the gateway behind, oldest first, each once.
async fn all_pending(upstream: SocketAddr, head: &str) -> Option<Vec<Value>> {
    let mut items: Vec<Value> = Vec::new();
    let mut ids = HashSet::new();
    let mut cursor: Option<i64> = None;
    loop {
        let mut target = "/api/v1/approvals?include_resolved=false&limit=500".to_owned();
        if let Some(cursor) = cursor {
            target.push_str(&format!("&cursor={cursor}"));
        }
        let page = forward_get(upstream, head, &target).await?;
        for item in page["items"].as_array()? {
            let id = item.pointer("/job/id")?.as_str()?.to_owned();
            if ids.insert(id) {
                items.push(item.clone());
            }
        }
        match page["next_cursor"].as_i64() {
            Some(next) if Some(next) != cursor => cursor = Some(next),
            _ => break,
        }
    }
    items.sort_by_key(updated_at);
    Some(items)
}

/// v0.9's answer to `GET /api/v1/approvals` at `target`.
pub async fn list(upstream: SocketAddr, head: &str, target: &str) -> Vec<u8> {
    let Some(pending) = all_pending(upstream, head).await else {
        return respond_json("502 Bad Gateway", &json!({"error": "upstream"}));
    };
    let limit = query_value(target, "limit")
        .and_then(|v| v.parse::<usize>().ok())
        .filter(|&n| n > 0)
        .unwrap_or(100)
        .min(MAX_LIMIT);
    let cursor = query_value(target, "cursor").and_then(|v| v.parse::<i64>().ok());
    let fetched: Vec<Value> = pending
        .into_iter()
        .filter(|item| cursor.is_none_or(|c| updated_at(item) <= c))
        .take(limit + 10)
        .collect();
    let next_cursor = match fetched.last() {
        Some(last) if fetched.len() >= limit => json!(updated_at(last) - 1),
        _ => Value::Null,
    };
    let items: Vec<Value> = fetched
        .into_iter()
        .take(limit)
        .map(|mut item| {
            if let Some(map) = item.as_object_mut() {
                for key in NEW_GENERATION_KEYS {
                    map.remove(*key);
                }
            }
            item
        })
        .collect();
    respond_json(
        "200 OK",
        &json!({"items": items, "next_cursor": next_cursor}),
    )
}

/// v0.9's `GET /api/v1/jobs/{id}/decisions`: the job's safety decision, as v0.9 lists it.
pub async fn decisions(upstream: SocketAddr, head: &str, job: &str) -> Vec<u8> {
    let Some(doc) = forward_get(upstream, head, &format!("/api/v1/jobs/{job}")).await else {
        return respond_json("404 Not Found", &json!({"error": "job not found"}));
    };
    let text = |key: &str| doc.get(key).cloned().unwrap_or(Value::Null);
    respond_json(
        "200 OK",
        &json!([{
            "decision": text("safety_decision"),
            "reason": text("safety_reason"),
            "rule_id": text("safety_rule_id"),
            "policy_snapshot": text("safety_snapshot"),
            "approval_required": true,
            "approval_ref": text("id"),
            "job_hash": text("safety_job_hash"),
            "checked_at": text("updated_at"),
        }]),
    )
}
