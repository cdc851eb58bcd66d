//! Getting evidence out: the whole ledger as JSON Lines, and one job's story as an evidence
//! pack. Both are written atomically (a temporary file beside the target, synced, then renamed
//! over it), so a reader never sees half a file.
//!
//! # JSON Lines format
//!
//! Line 1 is an [`ExportHeader`] (`"format": "countersign-ledger-export"`) with the head and a
//! verify report taken in the same read transaction as the entries. Every following line is
//! one [`Entry`] in seq order, hashes included. [`verify_export`] re-checks a file offline:
//! every hash, every link, and that the last line is the header's head (so a cut-off export is
//! caught too).

use std::fs::File;
use std::io::{BufRead, BufReader, BufWriter, Write};
use std::path::Path;

use rusqlite::Connection;
use serde::{Deserialize, Serialize};

use crate::body::{self, MAX_BODY_DEPTH};
use crate::chain::ChainHead;
use crate::entry::{entry_from_row, Entry, EntryKind, RawEntry, ENTRY_COLUMNS};
use crate::error::{LedgerError, Result};
use crate::ledger::{from_sql_seq, Ledger};
use crate::outbox::{intents_for_job, IntentRecord};
use crate::schema::SCHEMA_VERSION;
use crate::verify::{diagnose, verify_conn, ChainProblem, Neighbours, VerifyReport, Walk};

const EXPORT_FORMAT: &str = "countersign-ledger-export";
const EVIDENCE_FORMAT: &str = "countersign-evidence-pack";
const FORMAT_VERSION: u32 = 1;

/// The first line of a JSON Lines export.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExportHeader {
    pub format: String,
    pub version: u32,
    pub schema_version: i64,
    pub exported_at: i64,
    pub entry_count: u64,
    /// The head at export time: the last line's seq and hash.
    pub head: ChainHead,
    /// The ledger's own verification at export time.
    pub verify: VerifyReport,
}

/// Everything the ledger knows about one job, with the proof that it comes from the chain.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EvidencePack {
    pub format: String,
    pub version: u32,
    pub job_id: String,
    pub generated_at: i64,
    /// The item as the reviewer was shown it (one per distinct job hash seen).
    pub items_seen: Vec<Entry>,
    /// The job request as fetched for verification, if it was recorded.
    pub requests: Vec<Entry>,
    pub verdicts: Vec<Entry>,
    /// The decision intents as recorded before sending.
    pub intents: Vec<Entry>,
    /// The server's answers.
    pub outcomes: Vec<Entry>,
    pub conflicts: Vec<Entry>,
    /// The gateway's own audit events for the job, as mirrored.
    pub gateway_events: Vec<Entry>,
    /// How the decisions were made: notifications shown and actions taken from them.
    #[serde(default)]
    pub notifications: Vec<Entry>,
    /// What became of the job after its approval, as the gateway reported it.
    #[serde(default)]
    pub job_statuses: Vec<Entry>,
    /// The outbox rows: whether each decision is settled and how.
    pub decisions: Vec<IntentRecord>,
    pub proof: ChainProof,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChainProof {
    /// The pack's entries in chain order.
    pub links: Vec<ProofLink>,
    pub head: ChainHead,
    pub verify: VerifyReport,
}

/// One entry's place in the chain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProofLink {
    pub seq: u64,
    pub kind: EntryKind,
    pub prev_hash: String,
    pub entry_hash: String,
}

impl Ledger {
    /// Writes the whole ledger as JSON Lines to `path` (see the module docs for the format).
    pub fn export_jsonl(&self, path: &Path) -> Result<ExportHeader> {
        let exported_at = self.now_ms();
        self.read(|conn| {
            let verify = verify_conn(conn)?;
            let entry_count: i64 =
                conn.query_row("SELECT count(*) FROM entries", [], |row| row.get(0))?;
            let header = ExportHeader {
                format: EXPORT_FORMAT.into(),
                version: FORMAT_VERSION,
                schema_version: SCHEMA_VERSION,
                exported_at,
                entry_count: from_sql_seq(entry_count)?,
                head: ChainHead {
                    seq: verify.head_seq,
                    entry_hash: verify.head_hash.clone(),
                },
                verify,
            };
            write_atomically(path, |out| {
                write_json_line(out, &header, path)?;
                let mut stmt =
                    conn.prepare(&format!("SELECT {ENTRY_COLUMNS} FROM entries ORDER BY seq"))?;
                let mut rows = stmt.query([])?;
                while let Some(row) = rows.next()? {
                    write_json_line(out, &entry_from_row(row)?, path)?;
                }
                Ok(())
            })?;
            Ok(header)
        })
    }

    /// The evidence pack for one job: `ledger_not_found` when the ledger has nothing on it.
    pub fn evidence_pack(&self, job_id: &str) -> Result<EvidencePack> {
        let generated_at = self.now_ms();
        self.read(|conn| {
            let entries = entries_for_job(conn, job_id)?;
            let decisions = intents_for_job(conn, job_id)?;
            if entries.is_empty() && decisions.is_empty() {
                return Err(LedgerError::not_found(format!("job {job_id}")));
            }
            let verify = verify_conn(conn)?;
            let of_kind = |kind: EntryKind| -> Vec<Entry> {
                entries.iter().filter(|e| e.kind == kind).cloned().collect()
            };
            Ok(EvidencePack {
                format: EVIDENCE_FORMAT.into(),
                version: FORMAT_VERSION,
                job_id: job_id.to_owned(),
                generated_at,
                items_seen: of_kind(EntryKind::ItemSeen),
                requests: of_kind(EntryKind::JobRequest),
                verdicts: of_kind(EntryKind::Verdict),
                intents: of_kind(EntryKind::DecisionIntent),
                outcomes: of_kind(EntryKind::DecisionOutcome),
                conflicts: of_kind(EntryKind::Conflict),
                gateway_events: of_kind(EntryKind::GatewayAudit),
                notifications: of_kind(EntryKind::Notification),
                job_statuses: of_kind(EntryKind::JobStatus),
                decisions,
                proof: ChainProof {
                    links: entries
                        .iter()
                        .map(|entry| ProofLink {
                            seq: entry.seq,
                            kind: entry.kind,
                            prev_hash: entry.prev_hash.clone(),
                            entry_hash: entry.entry_hash.clone(),
                        })
                        .collect(),
                    head: ChainHead {
                        seq: verify.head_seq,
                        entry_hash: verify.head_hash.clone(),
                    },
                    verify,
                },
            })
        })
    }

    /// Writes [`Ledger::evidence_pack`] as pretty JSON to `path`, atomically.
    pub fn export_evidence_pack(&self, job_id: &str, path: &Path) -> Result<EvidencePack> {
        let pack = self.evidence_pack(job_id)?;
        write_atomically(path, |out| {
            serde_json::to_writer_pretty(&mut *out, &pack)
                .map_err(|err| LedgerError::Io(format!("{}: {err}", path.display())))?;
            out.write_all(b"\n")
                .map_err(|err| LedgerError::io(path, &err))
        })?;
        Ok(pack)
    }
}

/// Re-verifies a JSON Lines export offline, without the ledger it came from. A line that is not
/// an entry is reported as [`ChainProblem::Malformed`] at the seq where it stands; a header
/// that cannot be read is an error (`ledger_corrupt`).
pub fn verify_export(path: &Path) -> Result<VerifyReport> {
    let file = File::open(path).map_err(|err| LedgerError::io(path, &err))?;
    let mut lines = BufReader::new(file).lines();
    let header_line = lines
        .next()
        .ok_or_else(|| LedgerError::Corrupt(format!("{} is empty", path.display())))?
        .map_err(|err| LedgerError::io(path, &err))?;
    let header: ExportHeader = serde_json::from_str(&header_line)
        .ok()
        .filter(|h: &ExportHeader| h.format == EXPORT_FORMAT && h.version == FORMAT_VERSION)
        .ok_or_else(|| {
            LedgerError::Corrupt(format!(
                "{} is not a version {FORMAT_VERSION} ledger export",
                path.display()
            ))
        })?;
    // Everything is read before walking: telling a moved entry from an edited one needs the
    // entries after the break too.
    let mut rows = Vec::new();
    let mut unreadable = None;
    for (index, line) in lines.enumerate() {
        let line = line.map_err(|err| LedgerError::io(path, &err))?;
        // The entry object is one level around its body.
        match body::from_str::<Entry>(&line, MAX_BODY_DEPTH + 1) {
            Ok(entry) => rows.push(RawEntry::from_entry(&entry)),
            Err(err) => {
                unreadable = Some(format!("line {}: {err}", index + 2));
                break;
            }
        }
    }
    let anchor = Some(&header.head);
    let mut walk = Walk::new();
    for row in &rows {
        if let Some((at_seq, problem)) = walk.check(&row.stored()) {
            let problem = diagnose(at_seq, problem, row, anchor, &rows)?;
            return Ok(walk.report(anchor, at_seq, problem));
        }
    }
    Ok(match unreadable {
        Some(detail) => walk.report(anchor, walk.next_seq(), ChainProblem::Malformed { detail }),
        None => walk.finish(anchor),
    })
}

impl Neighbours for Vec<RawEntry> {
    fn seq_linking_to(&self, hash: &str) -> Result<Option<u64>> {
        Ok(self
            .iter()
            .find(|row| row.prev_hash == hash)
            .map(|row| row.seq))
    }

    fn seq_hashed(&self, hash: &str) -> Result<Option<u64>> {
        Ok(self
            .iter()
            .find(|row| row.entry_hash == hash)
            .map(|row| row.seq))
    }

    fn has_seq(&self, seq: u64) -> Result<bool> {
        Ok(self.iter().any(|row| row.seq == seq))
    }
}

fn entries_for_job(conn: &Connection, job_id: &str) -> Result<Vec<Entry>> {
    let mut stmt = conn.prepare(&format!(
        "SELECT {ENTRY_COLUMNS} FROM entries WHERE job_id = ?1 ORDER BY seq"
    ))?;
    let mut rows = stmt.query([job_id])?;
    let mut entries = Vec::new();
    while let Some(row) = rows.next()? {
        entries.push(entry_from_row(row)?);
    }
    Ok(entries)
}

fn write_json_line(out: &mut dyn Write, value: &impl Serialize, path: &Path) -> Result<()> {
    serde_json::to_writer(&mut *out, value)
        .map_err(|err| LedgerError::Io(format!("{}: {err}", path.display())))?;
    out.write_all(b"\n")
        .map_err(|err| LedgerError::io(path, &err))
}

/// Writes through `write` into a temporary file in the target's directory, syncs it, and
/// renames it over `path`; on any error the temporary file is removed and `path` is untouched.
fn write_atomically(path: &Path, write: impl FnOnce(&mut dyn Write) -> Result<()>) -> Result<()> {
    let dir = match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    };
    std::fs::create_dir_all(dir).map_err(|err| LedgerError::io(dir, &err))?;
    let mut temp =
        tempfile::NamedTempFile::new_in(dir).map_err(|err| LedgerError::io(dir, &err))?;
    {
        let mut out = BufWriter::new(temp.as_file_mut());
        write(&mut out)?;
        out.flush().map_err(|err| LedgerError::io(path, &err))?;
    }
    temp.as_file()
        .sync_all()
        .map_err(|err| LedgerError::io(path, &err))?;
    temp.persist(path)
        .map_err(|err| LedgerError::io(path, &err.error))?;
    sync_dir(dir);
    Ok(())
}

/// Makes the rename itself durable where the platform allows it; best effort, because the file
/// is complete either way and only its name could be lost in a crash.
fn sync_dir(dir: &Path) {
    #[cfg(unix)]
    if let Ok(handle) = File::open(dir) {
        let _ = handle.sync_all();
    }
    #[cfg(not(unix))]
    let _ = dir;
}
