//! The gateway's own audit log (`GET /api/v1/audit/events`, CONTRACT.md §6), read page by page
//! and mirrored into the local ledger so the evidence can be read and exported offline. The
//! ledger keeps each event once, so overlapping reads are harmless.

use std::sync::Arc;

use countersign_ledger::Ledger;
use serde_json::Value;

use crate::body::LIST_BODY_BYTES;
use crate::error::{ClientError, Result};
use crate::generation::is_missing_route;
use crate::http::GatewayClient;
use crate::ledger_call;

/// One page of audit events.
#[derive(Debug, Clone, PartialEq)]
pub struct AuditPage {
    /// The events as the gateway sent them.
    pub items: Vec<Value>,
    /// Where the next page starts; `None` at the end (Cordum sends `""`).
    pub next_cursor: Option<String>,
}

/// What one [`mirror_audit`] call did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mirrored {
    /// Events new to the ledger.
    pub added: usize,
    /// Pass to the next call to continue where this one stopped (not secret; the caller may
    /// persist it).
    pub cursor: Option<String>,
}

impl GatewayClient {
    /// One page of `GET /api/v1/audit/events`.
    pub async fn audit_events(&self, cursor: Option<&str>, limit: u32) -> Result<AuditPage> {
        let mut query = vec![("limit", limit.to_string())];
        if let Some(cursor) = cursor {
            query.push(("cursor", cursor.to_owned()));
        }
        let answer = self
            .send_raw(
                self.get_with_query("api/v1/audit/events", &query)?,
                LIST_BODY_BYTES,
            )
            .await?;
        if is_missing_route(&answer) {
            return Err(ClientError::NotOffered(
                "an audit API (GET /api/v1/audit/events), so there is nothing to mirror".into(),
            ));
        }
        if !(200..300).contains(&answer.status) {
            return Err(self.error_for(&answer));
        }
        let body: Value = serde_json::from_str(&answer.body)
            .map_err(|e| ClientError::GatewayProtocol(format!("audit answer: {e}")))?;
        let items = match body.get("items") {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::Array(items)) => items.clone(),
            Some(_) => {
                return Err(ClientError::GatewayProtocol(
                    "audit `items` is not an array".into(),
                ))
            }
        };
        let next_cursor = match body.get("next_cursor") {
            Some(Value::String(c)) if !c.is_empty() => Some(c.clone()),
            Some(Value::Number(n)) => Some(n.to_string()),
            _ => None,
        };
        Ok(AuditPage { items, next_cursor })
    }
}

/// Copies the gateway's audit events into the ledger, from `cursor` (the start when `None`)
/// for at most `max_pages` pages.
pub async fn mirror_audit(
    client: &GatewayClient,
    ledger: &Arc<Ledger>,
    cursor: Option<String>,
    max_pages: usize,
) -> Result<Mirrored> {
    let mut cursor = cursor;
    let mut added = 0;
    for _ in 0..max_pages {
        let page = client.audit_events(cursor.as_deref(), 500).await?;
        let items = page.items;
        added += ledger_call(ledger, move |l| l.mirror_gateway_events(&items)).await?;
        match page.next_cursor {
            Some(next) if Some(&next) != cursor.as_ref() => cursor = Some(next),
            _ => break,
        }
    }
    Ok(Mirrored { added, cursor })
}
