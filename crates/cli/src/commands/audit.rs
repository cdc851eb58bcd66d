//! `audit list | verify | export | mirror`: the profile's local ledger. Everything but
//! `mirror` opens only the ledger file, so it works offline and without credentials.

use std::path::PathBuf;

use anyhow::anyhow;
use clap::{Args, Subcommand};
use countersign_client::audit::{mirror_audit_with, CursorFile};
use countersign_ledger::{ChainStatus, Entry, EntryKind, Query, VerifyReport};
use serde_json::{json, Value};

use super::output::table;
use super::time::{format_ms, parse_instant};
use super::{context, CliError, Output};

/// Pages of the gateway's audit log copied by one `audit mirror`.
const MIRROR_MAX_PAGES: usize = 1000;
/// Characters of an entry body shown in the text table.
const SUMMARY_CHARS: usize = 80;

#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// List ledger entries, newest first.
    List(ListArgs),
    /// Check the hash chain; exits 7 naming the first broken entry.
    Verify,
    /// Export the ledger as JSON Lines, or one job's evidence pack with --job.
    Export(ExportArgs),
    /// Copy the gateway's audit log into the ledger (needs the gateway); continues where the
    /// last mirror stopped.
    Mirror(MirrorArgs),
}

#[derive(Debug, Args)]
pub struct MirrorArgs {
    /// Read the gateway's log from its first event again (events already mirrored are kept
    /// once).
    #[arg(long)]
    from_start: bool,
}

#[derive(Debug, Args)]
pub struct ListArgs {
    #[arg(long, value_name = "JOB")]
    job: Option<String>,
    #[arg(long, value_name = "TOPIC")]
    topic: Option<String>,
    /// An entry kind (item_seen, job_request, verdict, decision_intent, decision_outcome,
    /// conflict, login, logout, gateway_audit); repeatable.
    #[arg(long, value_name = "KIND", value_parser = parse_kind)]
    kind: Vec<EntryKind>,
    /// Recorded at or after (RFC 3339 or Unix milliseconds).
    #[arg(long, value_name = "TIME", value_parser = parse_instant)]
    since: Option<i64>,
    /// Recorded before (RFC 3339 or Unix milliseconds).
    #[arg(long, value_name = "TIME", value_parser = parse_instant)]
    until: Option<i64>,
    /// A substring of the body, topic or job id.
    #[arg(long, value_name = "TEXT")]
    text: Option<String>,
    /// Entries per page (at most 500).
    #[arg(long, value_name = "N")]
    limit: Option<u32>,
    /// Continue after a previous page (its next_cursor).
    #[arg(long, value_name = "SEQ")]
    cursor: Option<u64>,
}

#[derive(Debug, Args)]
pub struct ExportArgs {
    /// The file to write (replaced atomically).
    #[arg(long, value_name = "FILE")]
    out: PathBuf,
    /// Export this job's evidence pack instead of the whole ledger.
    #[arg(long, value_name = "JOB")]
    job: Option<String>,
}

fn parse_kind(text: &str) -> Result<EntryKind, String> {
    text.parse()
        .map_err(|e: countersign_ledger::LedgerError| e.to_string())
}

pub fn run(out: &Output, flag: Option<&str>, command: AuditCommand) -> Result<(), CliError> {
    match command {
        AuditCommand::List(args) => list(out, flag, args),
        AuditCommand::Verify => verify(out, flag),
        AuditCommand::Export(args) => export(out, flag, &args),
        AuditCommand::Mirror(args) => super::block_on(mirror(out, flag, &args)),
    }
}

/// The profile's ledger, which must exist: offline, no credentials needed.
fn ledger(flag: Option<&str>) -> Result<std::sync::Arc<countersign_ledger::Ledger>, CliError> {
    let (data, name) = context::ledger_name(flag)?;
    context::existing_ledger(&data, &name)
}

fn list(out: &Output, flag: Option<&str>, args: ListArgs) -> Result<(), CliError> {
    let page = ledger(flag)?.query(&Query {
        since_ms: args.since,
        until_ms: args.until,
        kinds: args.kind,
        job_id: args.job,
        topic: args.topic,
        text: args.text,
        before_seq: args.cursor,
        limit: args.limit,
        ..Query::default()
    })?;
    if out.is_json() {
        out.json(&page);
    } else {
        out.line(&entries_table(&page.entries));
        if let Some(cursor) = page.next_cursor {
            out.note(&format!("more: --cursor {cursor}"));
        }
    }
    Ok(())
}

/// `Some` for a broken chain: the error naming the first broken seq and the problem by its
/// code and details (`entry_missing next_seq=9`), never by a Rust type name.
fn broken(report: &VerifyReport, context: &str) -> Option<CliError> {
    let ChainStatus::Broken { at_seq, .. } = &report.status else {
        return None;
    };
    let detail = serde_json::to_value(report).unwrap_or(Value::Null);
    let problem = &detail["status"]["problem"];
    let code = problem["code"].as_str().unwrap_or("broken");
    let mut words = vec![code.to_owned()];
    if let Some(fields) = problem.as_object() {
        words.extend(
            fields
                .iter()
                .filter(|(key, _)| *key != "code")
                .map(|(key, value)| format!("{key}={value}")),
        );
    }
    Some(
        CliError::new(
            "ledger_tampered",
            anyhow!(
                "{context}the ledger is broken at seq {at_seq}: {}",
                words.join(" ")
            ),
        )
        .with_detail(detail),
    )
}

fn verify(out: &Output, flag: Option<&str>) -> Result<(), CliError> {
    let report = ledger(flag)?.verify()?;
    if let Some(error) = broken(&report, "") {
        return Err(error);
    }
    if out.is_json() {
        out.json(&report);
    } else {
        out.line(&format!(
            "intact: {} entries, head seq {} hash {}",
            report.entries_checked, report.head_seq, report.head_hash
        ));
    }
    Ok(())
}

fn export(out: &Output, flag: Option<&str>, args: &ExportArgs) -> Result<(), CliError> {
    let ledger = ledger(flag)?;
    let summary = match &args.job {
        Some(job) => {
            let pack = ledger.export_evidence_pack(job, &args.out)?;
            json!({ "path": args.out, "job_id": job, "entries": pack.proof.links.len(),
                    "proof": pack.proof })
        }
        None => {
            let header = ledger.export_jsonl(&args.out)?;
            // The export is still evidence, but nobody may take it for a sound history.
            let context = format!(
                "wrote {} entries to {}, but ",
                header.entry_count,
                args.out.display()
            );
            if let Some(error) = broken(&header.verify, &context) {
                return Err(error);
            }
            json!({ "path": args.out, "entries": header.entry_count, "header": header })
        }
    };
    if out.is_json() {
        out.json(&summary);
    } else {
        out.line(&format!(
            "wrote {} entries to {}",
            summary["entries"],
            args.out.display()
        ));
    }
    Ok(())
}

async fn mirror(out: &Output, flag: Option<&str>, args: &MirrorArgs) -> Result<(), CliError> {
    let session = context::connect(flag)?;
    let (data, name) = context::ledger_name(flag)?;
    let saved = CursorFile::beside(&context::ledger_path(&data, &name));
    if args.from_start {
        saved.clear()?;
    }
    // Saved after every page, so a run that fails part-way resumes after what it copied; the
    // ledger keeps each event once, so re-reading the last page is harmless.
    let mirrored = mirror_audit_with(
        &session.client,
        &session.ledger,
        saved.load(),
        MIRROR_MAX_PAGES,
        |cursor| saved.save(cursor),
    )
    .await?;
    if out.is_json() {
        out.json(&json!({ "added": mirrored.added, "cursor": mirrored.cursor }));
    } else {
        out.line(&format!(
            "mirrored {} new gateway audit events",
            mirrored.added
        ));
    }
    Ok(())
}

fn entries_table(entries: &[Entry]) -> String {
    let rows: Vec<Vec<String>> = entries
        .iter()
        .map(|entry| {
            let body = entry.body.to_string();
            vec![
                entry.seq.to_string(),
                format_ms(entry.recorded_at),
                entry.kind.to_string(),
                entry.job_id.clone().unwrap_or_default(),
                entry
                    .outcome
                    .clone()
                    .or_else(|| entry.decision.clone())
                    .unwrap_or_default(),
                body.chars().take(SUMMARY_CHARS).collect(),
            ]
        })
        .collect();
    table(
        &["SEQ", "RECORDED", "KIND", "JOB", "OUTCOME", "BODY"],
        &rows,
    )
}
