//! Offline queries over the history, newest first, paged by a seq cursor.

use rusqlite::params_from_iter;
use rusqlite::types::Value as SqlValue;
use serde::{Deserialize, Serialize};

use crate::entry::{entry_from_row, Entry, EntryKind, ENTRY_COLUMNS};
use crate::error::{LedgerError, Result};
use crate::ledger::{to_sql_seq, Ledger};
use crate::search;

/// Page size when a query names none.
pub const DEFAULT_LIMIT: u32 = 50;
/// Largest page; larger limits are clamped to it (and 0 to 1).
pub const MAX_LIMIT: u32 = 500;
/// Longest free-text search accepted.
const MAX_TEXT_CHARS: usize = 1000;

/// Filters combine with AND; an absent filter matches everything.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Query {
    /// Entries recorded at or after this time (ms since the Unix epoch).
    pub since_ms: Option<i64>,
    /// Entries recorded before this time (exclusive).
    pub until_ms: Option<i64>,
    /// Any of these kinds; empty means all.
    pub kinds: Vec<EntryKind>,
    pub job_id: Option<String>,
    pub topic: Option<String>,
    pub decision: Option<String>,
    pub outcome: Option<String>,
    /// A substring of the body, topic or job id, matched literally (`%` and `_` are not
    /// wildcards) and case-insensitively for ASCII letters. Empty means no text filter.
    pub text: Option<String>,
    /// The cursor: only entries older than this seq ([`Page::next_cursor`] of the previous page).
    pub before_seq: Option<u64>,
    /// Page size, clamped to `1..=MAX_LIMIT`; [`DEFAULT_LIMIT`] when absent.
    pub limit: Option<u32>,
}

/// One page of results, newest first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Page {
    pub entries: Vec<Entry>,
    /// Pass as [`Query::before_seq`] for the next page; `None` on the last page.
    pub next_cursor: Option<u64>,
}

impl Query {
    /// The page size actually used.
    pub fn effective_limit(&self) -> u32 {
        self.limit.unwrap_or(DEFAULT_LIMIT).clamp(1, MAX_LIMIT)
    }

    fn to_sql(&self) -> Result<(String, Vec<SqlValue>)> {
        if let (Some(since), Some(until)) = (self.since_ms, self.until_ms) {
            if since > until {
                return Err(LedgerError::InvalidQuery(format!(
                    "since_ms {since} is after until_ms {until}"
                )));
            }
        }
        let mut clauses: Vec<String> = Vec::new();
        let mut values: Vec<SqlValue> = Vec::new();
        let mut bind = |clause: &str, value: SqlValue, values: &mut Vec<SqlValue>| {
            values.push(value);
            clauses.push(clause.replace('?', &format!("?{}", values.len())));
        };
        if let Some(since) = self.since_ms {
            bind("recorded_at >= ?", since.into(), &mut values);
        }
        if let Some(until) = self.until_ms {
            bind("recorded_at < ?", until.into(), &mut values);
        }
        let mut before_param = None;
        if let Some(before) = self.before_seq {
            bind("seq < ?", to_sql_seq(before)?.into(), &mut values);
            before_param = Some(values.len());
        }
        for (column, value) in [
            ("job_id", &self.job_id),
            ("topic", &self.topic),
            ("decision", &self.decision),
            ("outcome", &self.outcome),
        ] {
            if let Some(value) = value {
                bind(&format!("{column} = ?"), value.clone().into(), &mut values);
            }
        }
        // Without an index to narrow it, a search walks entries newest first.
        let mut source = "entries";
        let mut order = "seq";
        if let Some(text) = self.text.as_deref().filter(|text| !text.is_empty()) {
            if text.chars().count() > MAX_TEXT_CHARS {
                return Err(LedgerError::InvalidQuery(format!(
                    "search text is longer than {MAX_TEXT_CHARS} characters"
                )));
            }
            if let Some(expression) = search::match_expression(text) {
                values.push(expression.into());
                clauses.push(format!("entry_text MATCH ?{}", values.len()));
                // The cursor bounds the index walk too, so a later page does not pass over
                // the candidates of the pages before it.
                if let Some(n) = before_param {
                    clauses.push(format!("entry_text.rowid < ?{n}"));
                }
                source = "entry_text JOIN entries ON entries.seq = entry_text.rowid";
                // The index hands candidates over newest first, so a full page ends the walk.
                order = "entry_text.rowid";
            }
            let pattern = format!("%{}%", escape_like(text));
            values.push(pattern.into());
            let n = values.len();
            clauses.push(format!(
                "(body LIKE ?{n} ESCAPE '\\' OR topic LIKE ?{n} ESCAPE '\\' \
                 OR job_id LIKE ?{n} ESCAPE '\\')"
            ));
        }
        if !self.kinds.is_empty() {
            let mut placeholders = Vec::new();
            for kind in &self.kinds {
                values.push(kind.as_str().to_owned().into());
                placeholders.push(format!("?{}", values.len()));
            }
            clauses.push(format!("kind IN ({})", placeholders.join(", ")));
        }
        let filter = if clauses.is_empty() {
            String::new()
        } else {
            format!("WHERE {}", clauses.join(" AND "))
        };
        // One row more than the page tells whether another page follows.
        values.push(i64::from(self.effective_limit() + 1).into());
        let sql = format!(
            "SELECT {ENTRY_COLUMNS} FROM {source} {filter} ORDER BY {order} DESC LIMIT ?{}",
            values.len()
        );
        Ok((sql, values))
    }
}

/// `%`, `_` and the escape character itself match only themselves.
fn escape_like(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for ch in text.chars() {
        if matches!(ch, '\\' | '%' | '_') {
            escaped.push('\\');
        }
        escaped.push(ch);
    }
    escaped
}

impl Ledger {
    /// Runs a query. A stored entry that cannot be read fails the query with an error naming
    /// its seq.
    pub fn query(&self, query: &Query) -> Result<Page> {
        let (sql, values) = query.to_sql()?;
        let limit = usize::try_from(query.effective_limit()).unwrap_or(usize::MAX);
        self.read(|conn| {
            let mut stmt = conn.prepare(&sql)?;
            let mut rows = stmt.query(params_from_iter(values))?;
            let mut entries = Vec::new();
            while let Some(row) = rows.next()? {
                entries.push(entry_from_row(row)?);
            }
            let more = entries.len() > limit;
            entries.truncate(limit);
            let next_cursor = more.then(|| entries.last().map(|e| e.seq)).flatten();
            Ok(Page {
                entries,
                next_cursor,
            })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn like_escaping_covers_wildcards_and_the_escape() {
        assert_eq!(escape_like(r"50%_a\b"), r"50\%\_a\\b");
    }

    #[test]
    fn limits_clamp() {
        let with = |limit| Query {
            limit,
            ..Query::default()
        };
        assert_eq!(with(None).effective_limit(), DEFAULT_LIMIT);
        assert_eq!(with(Some(0)).effective_limit(), 1);
        assert_eq!(with(Some(10_000)).effective_limit(), MAX_LIMIT);
    }
}
