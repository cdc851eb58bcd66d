//! The history view: the profile's ledger, read offline. Everything here works with the
//! gateway unreachable or without any credentials, because it reads only the local file.

use std::path::Path;

use countersign_ledger::{ChainStatus, Entry, EntryKind, Ledger, Query};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use ts_rs::TS;

use crate::error::{codes, DeskError, Result};

/// What the history list asks for; every filter is optional.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, TS)]
#[serde(default)]
#[ts(export)]
pub struct HistoryQuery {
    /// Entry kinds by code (`item_seen`, `verdict`, `decision_intent`, `decision_outcome`,
    /// `conflict`, ...); empty means all.
    pub kinds: Vec<String>,
    pub job_id: Option<String>,
    pub topic: Option<String>,
    pub text: Option<String>,
    #[ts(type = "number | null")]
    pub since_ms: Option<i64>,
    #[ts(type = "number | null")]
    pub until_ms: Option<i64>,
    /// The cursor from the previous page.
    #[ts(type = "number | null")]
    pub before_seq: Option<u64>,
    pub limit: Option<u32>,
}

#[derive(Debug, Clone, PartialEq, Serialize, TS)]
#[ts(export)]
pub struct HistoryEntry {
    #[ts(type = "number")]
    pub seq: u64,
    #[ts(type = "number")]
    pub recorded_at_ms: i64,
    pub kind: String,
    pub job_id: Option<String>,
    pub topic: Option<String>,
    pub decision: Option<String>,
    pub outcome: Option<String>,
    /// The card as seen, the verdict, the intent or the gateway's answer, as recorded.
    #[ts(type = "unknown")]
    pub body: Value,
    pub entry_hash: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, TS)]
#[ts(export)]
pub struct HistoryPage {
    pub entries: Vec<HistoryEntry>,
    #[ts(type = "number | null")]
    pub next_cursor: Option<u64>,
}

/// The result of "Verify chain".
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[ts(export)]
pub struct ChainCheck {
    pub intact: bool,
    #[ts(type = "number")]
    pub entries_checked: u64,
    #[ts(type = "number")]
    pub head_seq: u64,
    pub head_hash: String,
    /// The first broken entry, when the chain is broken.
    #[ts(type = "number | null")]
    pub broken_at: Option<u64>,
    /// The kind of damage (`entry_edited`, `entry_missing`, `tail_truncated`, ...).
    pub problem: Option<String>,
    /// The damage in a sentence.
    pub message: String,
}

/// What an export wrote.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[ts(export)]
pub struct ExportResult {
    pub path: String,
    #[ts(type = "number")]
    pub entries: u64,
    pub head_hash: String,
}

pub fn query(ledger: &Ledger, query: HistoryQuery) -> Result<HistoryPage> {
    let kinds = query
        .kinds
        .iter()
        .map(|code| code.parse::<EntryKind>())
        .collect::<Result<Vec<_>, _>>()?;
    let non_empty = |s: Option<String>| s.filter(|s| !s.trim().is_empty());
    let page = ledger.query(&Query {
        since_ms: query.since_ms,
        until_ms: query.until_ms,
        kinds,
        job_id: non_empty(query.job_id),
        topic: non_empty(query.topic),
        decision: None,
        outcome: None,
        text: non_empty(query.text),
        before_seq: query.before_seq,
        limit: query.limit,
    })?;
    Ok(HistoryPage {
        entries: page.entries.into_iter().map(entry_view).collect(),
        next_cursor: page.next_cursor,
    })
}

fn entry_view(entry: Entry) -> HistoryEntry {
    let mut body = entry.body;
    // A recorded request keeps its env as the gateway served it; the screen never shows the
    // secret-looking values (the detail view masks them the same way).
    if entry.kind == EntryKind::JobRequest {
        crate::detail::mask_env(&mut body);
    }
    HistoryEntry {
        seq: entry.seq,
        recorded_at_ms: entry.recorded_at,
        kind: entry.kind.as_str().to_owned(),
        job_id: entry.job_id,
        topic: entry.topic,
        decision: entry.decision,
        outcome: entry.outcome,
        body,
        entry_hash: entry.entry_hash,
    }
}

pub fn verify(ledger: &Ledger) -> Result<ChainCheck> {
    let report = ledger.verify()?;
    let (broken_at, problem, message) = match &report.status {
        ChainStatus::Intact => (
            None,
            None,
            format!(
                "Intact: {} entries, head #{} {}",
                report.entries_checked, report.head_seq, report.head_hash
            ),
        ),
        ChainStatus::Broken { at_seq, problem } => {
            let code = serde_json::to_value(problem)
                .ok()
                .and_then(|v| v.get("code").and_then(Value::as_str).map(str::to_owned))
                .unwrap_or_else(|| "broken".to_owned());
            let message = format!(
                "Broken at entry #{at_seq} ({}): {}",
                code.replace('_', " "),
                problem_sentence(problem)
            );
            (Some(*at_seq), Some(code), message)
        }
    };
    Ok(ChainCheck {
        intact: report.is_intact(),
        entries_checked: report.entries_checked,
        head_seq: report.head_seq,
        head_hash: report.head_hash,
        broken_at,
        problem,
        message,
    })
}

fn problem_sentence(problem: &countersign_ledger::ChainProblem) -> String {
    use countersign_ledger::ChainProblem as P;
    match problem {
        P::EntryEdited => "the entry was changed after it was recorded".into(),
        P::EntryMissing { next_seq } => format!("entries up to #{next_seq} are missing"),
        P::EntryMoved { belongs_at } => format!("the entry belongs at #{belongs_at}"),
        P::BrokenLink { .. } => "the entry does not follow the one before it".into(),
        P::TailTruncated { head_seq } => {
            format!("entries after it, up to #{head_seq}, were cut off")
        }
        P::HeadMismatch { detail } | P::Malformed { detail } => detail.clone(),
        P::AnchorMismatch { .. } => "the chain does not contain the head exported earlier".into(),
    }
}

pub fn export_all(ledger: &Ledger, path: &Path) -> Result<ExportResult> {
    let header = ledger.export_jsonl(path)?;
    Ok(ExportResult {
        path: path.display().to_string(),
        entries: header.entry_count,
        head_hash: header.head.entry_hash,
    })
}

pub fn export_evidence(ledger: &Ledger, job_id: &str, path: &Path) -> Result<ExportResult> {
    if job_id.trim().is_empty() {
        return Err(DeskError::new(codes::INVALID_INPUT, "no job id given"));
    }
    let pack = ledger.export_evidence_pack(job_id, path)?;
    let entries = [
        &pack.items_seen,
        &pack.requests,
        &pack.verdicts,
        &pack.intents,
        &pack.outcomes,
        &pack.conflicts,
    ]
    .iter()
    .map(|list| list.len() as u64)
    .sum();
    let head_hash = pack.proof.head.entry_hash;
    Ok(ExportResult {
        path: path.display().to_string(),
        entries,
        head_hash,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use countersign_ledger::NewEntry;
    use serde_json::json;

    #[test]
    fn a_recorded_request_shows_without_its_secrets() {
        let dir = tempfile::tempdir().expect("dir");
        let ledger = Ledger::open(dir.path().join("l.sqlite")).expect("ledger");
        let request = json!({"jobId": "j1", "env": {"API_KEY": "k-123", "REGION": "eu"}});
        ledger
            .append(NewEntry::job_request("j1", request))
            .expect("append");
        let page = query(&ledger, HistoryQuery::default()).expect("query");
        let body = &page.entries[0].body;
        assert_eq!(body["env"]["API_KEY"], crate::detail::MASK);
        assert_eq!(body["env"]["REGION"], "eu");
        assert!(
            verify(&ledger).expect("verify").intact,
            "the file itself is untouched"
        );
    }
}
