//! The gateway's own audit log (`GET /api/v1/audit/events`, CONTRACT.md §6), read page by page
//! and mirrored into the local ledger so the evidence can be read and exported offline. The
//! ledger keeps each event once, so overlapping reads are harmless.
//!
//! A page larger than the answer cap is asked for again with half as many events, so a log
//! with huge events still mirrors; after every page the cursor can be saved
//! ([`CursorFile`]), so a mirror that stopped (an error, a cap on pages) resumes there.

use std::path::{Path, PathBuf};
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

/// Events asked for per page at first.
const PAGE_LIMIT: u32 = 500;

impl GatewayClient {
    /// One page of `GET /api/v1/audit/events`.
    pub async fn audit_events(&self, cursor: Option<&str>, limit: u32) -> Result<AuditPage> {
        self.audit_page_within(cursor, limit).await?.ok_or_else(|| {
            ClientError::GatewayProtocol(format!("answer larger than {LIST_BODY_BYTES} bytes"))
        })
    }

    /// One page, or `None` when its answer is larger than the cap.
    async fn audit_page_within(
        &self,
        cursor: Option<&str>,
        limit: u32,
    ) -> Result<Option<AuditPage>> {
        let mut query = vec![("limit", limit.to_string())];
        if let Some(cursor) = cursor {
            query.push(("cursor", cursor.to_owned()));
        }
        let Some(answer) = self
            .send_raw_within(
                self.get_with_query("api/v1/audit/events", &query)?,
                LIST_BODY_BYTES,
            )
            .await?
        else {
            return Ok(None);
        };
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
        Ok(Some(AuditPage { items, next_cursor }))
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
    mirror_audit_with(client, ledger, cursor, max_pages, |_| Ok(())).await
}

/// [`mirror_audit`], calling `reached` with the cursor to resume from after every page the
/// ledger holds, so that progress survives an error on a later page.
pub async fn mirror_audit_with(
    client: &GatewayClient,
    ledger: &Arc<Ledger>,
    cursor: Option<String>,
    max_pages: usize,
    mut reached: impl FnMut(&str) -> Result<()>,
) -> Result<Mirrored> {
    let mut cursor = cursor;
    let mut added = 0;
    let mut limit = PAGE_LIMIT;
    for _ in 0..max_pages {
        let page = loop {
            match client.audit_page_within(cursor.as_deref(), limit).await? {
                Some(page) => break page,
                None if limit > 1 => {
                    limit /= 2;
                    tracing::warn!(limit, "audit page too large; asking for fewer events");
                }
                None => {
                    return Err(ClientError::GatewayProtocol(format!(
                        "one gateway audit event alone is larger than {LIST_BODY_BYTES} bytes"
                    )))
                }
            }
        };
        let items = page.items;
        added += ledger_call(ledger, move |l| l.mirror_gateway_events(&items)).await?;
        match page.next_cursor {
            Some(next) if Some(&next) != cursor.as_ref() => {
                reached(&next)?;
                cursor = Some(next);
            }
            _ => break,
        }
    }
    Ok(Mirrored { added, cursor })
}

/// Where a profile's mirror cursor is kept between runs: a small file next to its ledger.
#[derive(Debug, Clone)]
pub struct CursorFile {
    path: PathBuf,
}

impl CursorFile {
    /// The cursor file of the ledger at `ledger`.
    pub fn beside(ledger: &Path) -> Self {
        let mut name = ledger.file_name().unwrap_or_default().to_os_string();
        name.push(".audit-cursor");
        Self {
            path: ledger.with_file_name(name),
        }
    }

    /// The saved cursor; `None` when there is none (or it is unreadable: starting over is
    /// safe, the ledger keeps each event once).
    pub fn load(&self) -> Option<String> {
        std::fs::read_to_string(&self.path)
            .ok()
            .map(|text| text.trim().to_owned())
            .filter(|text| !text.is_empty())
    }

    /// Saves `cursor`, whole or not at all (written aside, then renamed over).
    pub fn save(&self, cursor: &str) -> Result<()> {
        let aside = self.path.with_extension("audit-cursor.tmp");
        std::fs::write(&aside, cursor)
            .and_then(|()| std::fs::rename(&aside, &self.path))
            .map_err(|e| ClientError::Io(format!("saving {}: {e}", self.path.display())))
    }

    /// Forgets the cursor (the next mirror starts from the first event).
    pub fn clear(&self) -> Result<()> {
        match std::fs::remove_file(&self.path) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(ClientError::Io(format!(
                "removing {}: {e}",
                self.path.display()
            ))),
        }
    }
}
