//! Walking the chain: [`Ledger::verify`] recomputes every entry hash, checks every link and
//! compares the end of the chain with the `chain_head` anchor, and reports the first break.
//!
//! # What can and cannot be detected
//!
//! * An edited entry, a deleted entry, entries swapped or moved, and a truncated tail are all
//!   detected, and the report says which, at which seq.
//! * The tail is covered by the `chain_head` row, written in the same transaction as each
//!   append: deleting the last entries leaves the anchor pointing past the end.
//! * Someone with write access who rewrites the whole file consistently (recomputing every
//!   hash and the anchor) cannot be caught by the file alone. Copy [`Ledger::head`] somewhere
//!   else (it is in every export and evidence pack) and check it later with
//!   [`Ledger::verify_against`]: a rewrite that changes or drops any entry up to that head
//!   then shows as [`ChainProblem::AnchorMismatch`].

use rusqlite::{Connection, OptionalExtension};
use serde::{Deserialize, Serialize};

use crate::body::{self, MAX_BODY_DEPTH};
use crate::chain::{ChainHead, HashInput, GENESIS_HASH};
use crate::entry::{EntryKind, RawEntry, StoredEntry, ENTRY_COLUMNS};
use crate::error::{LedgerError, Result};
use crate::ledger::{from_sql_seq, read_anchor, to_sql_seq, Ledger};

/// The result of walking the chain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VerifyReport {
    /// Entries that passed every check before the first break (all of them when intact).
    pub entries_checked: u64,
    /// The recorded head (the `chain_head` anchor; the last entry when the anchor is missing).
    pub head_seq: u64,
    pub head_hash: String,
    pub status: ChainStatus,
}

impl VerifyReport {
    pub fn is_intact(&self) -> bool {
        self.status == ChainStatus::Intact
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum ChainStatus {
    Intact,
    Broken { at_seq: u64, problem: ChainProblem },
}

/// Why the chain is broken at `at_seq`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "code", rename_all = "snake_case")]
pub enum ChainProblem {
    /// The entry's fields no longer hash to its stored `entry_hash`: it was edited.
    EntryEdited,
    /// Entries from `at_seq` up to `next_seq` (exclusive) are gone.
    EntryMissing { next_seq: u64 },
    /// The entry is intact but was recorded at `belongs_at`: entries were reordered.
    EntryMoved { belongs_at: u64 },
    /// The entry hashes correctly but does not follow the entry before it: an earlier entry was
    /// deleted and later ones renumbered, or the previous entry was replaced and re-hashed.
    BrokenLink {
        expected_prev: String,
        found_prev: String,
    },
    /// The chain stops before the recorded head: entries from `at_seq` on were cut off.
    TailTruncated { head_seq: u64 },
    /// The `chain_head` anchor is missing or disagrees with the end of the chain.
    HeadMismatch { detail: String },
    /// A stored row cannot be read (wrong column type, unknown kind, body not JSON).
    Malformed { detail: String },
    /// The chain verifies on its own but does not contain the head exported earlier.
    AnchorMismatch {
        expected_hash: String,
        found_hash: Option<String>,
    },
}

impl Ledger {
    /// Walks the whole chain. Runs in one read transaction, so appends from other handles and
    /// processes neither block it nor show up half-way; calls on this same handle wait for it
    /// (open a second handle to verify a large ledger in the background).
    pub fn verify(&self) -> Result<VerifyReport> {
        self.read(verify_conn)
    }

    /// [`Ledger::verify`], then checks that the entry at `anchor.seq` still has
    /// `anchor.entry_hash`: the way to catch a consistent rewrite of the whole file, given a
    /// head that was kept elsewhere.
    pub fn verify_against(&self, anchor: &ChainHead) -> Result<VerifyReport> {
        self.read(|conn| {
            let mut report = verify_conn(conn)?;
            if !report.is_intact() {
                return Ok(report);
            }
            let found_hash = if anchor.seq == 0 {
                Some(GENESIS_HASH.to_owned())
            } else {
                conn.query_row(
                    "SELECT entry_hash FROM entries WHERE seq = ?1",
                    [to_sql_seq(anchor.seq)?],
                    |row| row.get::<_, String>(0),
                )
                .optional()?
            };
            if found_hash.as_deref() != Some(anchor.entry_hash.as_str()) {
                report.status = ChainStatus::Broken {
                    at_seq: anchor.seq,
                    problem: ChainProblem::AnchorMismatch {
                        expected_hash: anchor.entry_hash.clone(),
                        found_hash,
                    },
                };
            }
            Ok(report)
        })
    }
}

pub(crate) fn verify_conn(conn: &Connection) -> Result<VerifyReport> {
    let anchor = read_anchor(conn)?;
    let mut walk = Walk::new();
    let mut stmt = conn.prepare(&format!("SELECT {ENTRY_COLUMNS} FROM entries ORDER BY seq"))?;
    let mut rows = stmt.query([])?;
    while let Some(row) = rows.next()? {
        let row = match StoredEntry::from_row(row) {
            Ok(row) => row,
            Err(err) => return walk.unreadable_row(err, anchor.as_ref()),
        };
        if let Some((at_seq, problem)) = walk.check(&row) {
            let row = row.to_raw();
            let problem = diagnose(at_seq, problem, &row, anchor.as_ref(), &SqlNeighbours(conn))?;
            return Ok(walk.report(anchor.as_ref(), at_seq, problem));
        }
    }
    Ok(walk.finish(anchor.as_ref()))
}

/// Finds other rows by their hashes, to tell a moved entry from an edited one.
pub(crate) trait Neighbours {
    /// The seq of the row whose `prev_hash` is `hash`.
    fn seq_linking_to(&self, hash: &str) -> Result<Option<u64>>;
    /// The seq of the row whose `entry_hash` is `hash`.
    fn seq_hashed(&self, hash: &str) -> Result<Option<u64>>;
    /// Whether some row carries this seq.
    fn has_seq(&self, seq: u64) -> Result<bool>;
}

struct SqlNeighbours<'a>(&'a Connection);

impl SqlNeighbours<'_> {
    fn first_seq(&self, sql: &str, hash: &str) -> Result<Option<u64>> {
        let seq: Option<i64> = self.0.query_row(sql, [hash], |row| row.get(0)).optional()?;
        seq.map(from_sql_seq).transpose()
    }
}

impl Neighbours for SqlNeighbours<'_> {
    fn seq_linking_to(&self, hash: &str) -> Result<Option<u64>> {
        self.first_seq(
            "SELECT seq FROM entries WHERE prev_hash = ?1 ORDER BY seq LIMIT 1",
            hash,
        )
    }

    fn seq_hashed(&self, hash: &str) -> Result<Option<u64>> {
        self.first_seq(
            "SELECT seq FROM entries WHERE entry_hash = ?1 ORDER BY seq LIMIT 1",
            hash,
        )
    }

    fn has_seq(&self, seq: u64) -> Result<bool> {
        let found: Option<i64> = self
            .0
            .query_row(
                "SELECT seq FROM entries WHERE seq = ?1",
                [to_sql_seq(seq)?],
                |row| row.get(0),
            )
            .optional()?;
        Ok(found.is_some())
    }
}

/// Refines the walk's first finding with a look at the other rows: an "edited" entry that is
/// intact at another seq was moved, and a "missing" entry that is present further on was
/// reordered (possible in an export, whose lines have no enforced order).
pub(crate) fn diagnose(
    at_seq: u64,
    problem: ChainProblem,
    row: &RawEntry,
    anchor: Option<&ChainHead>,
    neighbours: &dyn Neighbours,
) -> Result<ChainProblem> {
    Ok(match problem {
        ChainProblem::EntryEdited => moved_to(row, anchor, neighbours)?.unwrap_or(problem),
        ChainProblem::EntryMissing { next_seq } if neighbours.has_seq(at_seq)? => {
            ChainProblem::EntryMoved {
                belongs_at: next_seq,
            }
        }
        other => other,
    })
}

/// If `row` is an intact entry stored at the wrong seq, the seq it was recorded at. The
/// candidates come from its neighbours in the original chain (the entry it linked to, the entry
/// that linked to it, the anchor) and from a shift by one (a deleted or inserted entry with the
/// rest renumbered). Only consulted once, at the first break, so a few lookups are cheap.
fn moved_to(
    row: &RawEntry,
    anchor: Option<&ChainHead>,
    neighbours: &dyn Neighbours,
) -> Result<Option<ChainProblem>> {
    let mut candidates = vec![row.seq.saturating_add(1), row.seq.saturating_sub(1)];
    if row.prev_hash == GENESIS_HASH {
        candidates.push(1);
    }
    if let Some(seq) = neighbours.seq_hashed(&row.prev_hash)? {
        candidates.push(seq.saturating_add(1));
    }
    if let Some(seq) = neighbours.seq_linking_to(&row.entry_hash)? {
        candidates.push(seq.saturating_sub(1));
    }
    if let Some(anchor) = anchor.filter(|a| a.entry_hash == row.entry_hash) {
        candidates.push(anchor.seq);
    }
    Ok(candidates
        .into_iter()
        .filter(|&seq| seq != row.seq && seq > 0)
        .find(|&seq| {
            let mut input = row.hash_input();
            input.seq = seq;
            input.entry_hash() == row.entry_hash
        })
        .map(|belongs_at| ChainProblem::EntryMoved { belongs_at }))
}

/// The state of a walk in seq order; shared by the ledger and by exported files.
#[derive(Debug)]
pub(crate) struct Walk {
    checked: u64,
    last: ChainHead,
}

impl Walk {
    pub fn new() -> Self {
        Self {
            checked: 0,
            last: ChainHead::genesis(),
        }
    }

    pub fn next_seq(&self) -> u64 {
        self.last.seq + 1
    }

    /// Checks the next row; on success it becomes the new end of the walk.
    pub fn check(&mut self, row: &StoredEntry<'_>) -> Option<(u64, ChainProblem)> {
        let fields = &row.fields;
        let expected = self.next_seq();
        if fields.seq != expected {
            return Some((
                expected,
                ChainProblem::EntryMissing {
                    next_seq: fields.seq,
                },
            ));
        }
        if !fields.hashes_to(row.entry_hash) {
            return Some((fields.seq, ChainProblem::EntryEdited));
        }
        if fields.prev_hash != self.last.entry_hash {
            return Some((
                fields.seq,
                ChainProblem::BrokenLink {
                    expected_prev: self.last.entry_hash.clone(),
                    found_prev: fields.prev_hash.to_owned(),
                },
            ));
        }
        if let Err(detail) = well_formed(fields) {
            return Some((fields.seq, ChainProblem::Malformed { detail }));
        }
        self.checked += 1;
        self.last.seq = fields.seq;
        // Reuses the buffer: no allocation per entry.
        self.last.entry_hash.clear();
        self.last.entry_hash.push_str(row.entry_hash);
        None
    }

    /// A row that could not even be read as text: malformed, unless rows before it are missing.
    pub fn unreadable_row(
        &self,
        err: LedgerError,
        anchor: Option<&ChainHead>,
    ) -> Result<VerifyReport> {
        let (at_seq, problem) = match err {
            LedgerError::MalformedEntry { seq, .. } if seq > self.next_seq() => (
                self.next_seq(),
                ChainProblem::EntryMissing { next_seq: seq },
            ),
            LedgerError::MalformedEntry { seq, detail } => {
                (seq, ChainProblem::Malformed { detail })
            }
            LedgerError::Corrupt(detail) => (self.next_seq(), ChainProblem::Malformed { detail }),
            other => return Err(other),
        };
        Ok(self.report(anchor, at_seq, problem))
    }

    pub fn report(
        &self,
        anchor: Option<&ChainHead>,
        at_seq: u64,
        problem: ChainProblem,
    ) -> VerifyReport {
        let head = anchor.unwrap_or(&self.last);
        VerifyReport {
            entries_checked: self.checked,
            head_seq: head.seq,
            head_hash: head.entry_hash.clone(),
            status: ChainStatus::Broken { at_seq, problem },
        }
    }

    /// The end of the rows: compares where the chain stopped with the recorded head.
    pub fn finish(self, anchor: Option<&ChainHead>) -> VerifyReport {
        let broken = match anchor {
            None => Some((
                self.last.seq.max(1),
                ChainProblem::HeadMismatch {
                    detail: "the chain head record is missing".into(),
                },
            )),
            Some(anchor) if anchor.seq > self.last.seq => Some((
                self.next_seq(),
                ChainProblem::TailTruncated {
                    head_seq: anchor.seq,
                },
            )),
            Some(anchor) if anchor.seq < self.last.seq => Some((
                anchor.seq + 1,
                ChainProblem::HeadMismatch {
                    detail: format!(
                        "entries {}..={} follow the recorded head {}",
                        anchor.seq + 1,
                        self.last.seq,
                        anchor.seq
                    ),
                },
            )),
            Some(anchor) if anchor.entry_hash != self.last.entry_hash => Some((
                anchor.seq,
                ChainProblem::HeadMismatch {
                    detail: format!(
                        "the recorded head hash {} differs from entry {}'s hash {}",
                        anchor.entry_hash, self.last.seq, self.last.entry_hash
                    ),
                },
            )),
            Some(_) => None,
        };
        match broken {
            Some((at_seq, problem)) => self.report(anchor, at_seq, problem),
            None => VerifyReport {
                entries_checked: self.checked,
                head_seq: self.last.seq,
                head_hash: self.last.entry_hash,
                status: ChainStatus::Intact,
            },
        }
    }
}

/// The hash covers the text as stored, so a row can hash correctly and still be unreadable by
/// this build (an entry written by hand, or a kind from a newer schema).
fn well_formed(row: &HashInput<'_>) -> Result<(), String> {
    row.kind
        .parse::<EntryKind>()
        .map_err(|_| format!("unknown kind {:?}", row.kind))?;
    // The reader's limit, not serde_json's: well formed means readable back.
    body::from_str::<serde::de::IgnoredAny>(row.body, MAX_BODY_DEPTH)
        .map_err(|err| format!("body is not valid JSON: {err}"))?;
    Ok(())
}
