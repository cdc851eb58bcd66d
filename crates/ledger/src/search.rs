//! The free-text search index: an FTS5 trigram index (`entry_text`, schema v5) over each
//! entry's body, topic and job id, keyed by seq, written in the transaction of the append.
//!
//! It narrows a search to candidates and never decides one: every candidate is matched again
//! against the entry's own columns with the `LIKE` a scan would use, so results are what the
//! scan gives (literal substrings, ASCII case folding) whatever the index holds. A stale,
//! damaged or forged index can hide entries from a search but never show one that does not
//! match, and the chain (`verify()`) does not read it.

use rusqlite::{params, Connection};

use crate::error::Result;

/// Shorter text has no trigram to look up: it is searched by the scan alone.
const TRIGRAM: usize = 3;

/// Entries with more text than this (requests and cards with their payload, up to megabytes)
/// are not broken into trigrams: that costs about a microsecond per ten bytes, inside the
/// append a decision waits for. They are indexed under [`UNINDEXED`] instead, which every
/// search includes, so they are always candidates and the re-check reads them as a scan would.
const INDEXED_BYTES_MAX: usize = 4096;

/// The one trigram of an entry not indexed by its text. Canonical JSON escapes control
/// characters, so no body holds it; a topic or job id that did would only add a candidate.
const UNINDEXED: &str = "\u{1}\u{1}\u{1}";

/// Indexes one appended entry; the migration to v5 indexes older entries the same way.
pub(crate) fn index_entry(
    conn: &Connection,
    seq: i64,
    body: &str,
    topic: Option<&str>,
    job_id: Option<&str>,
) -> Result<()> {
    let parts = [Some(body), topic, job_id];
    let size: usize = parts.iter().flatten().map(|part| part.len()).sum();
    let searchable = if size > INDEXED_BYTES_MAX {
        UNINDEXED.to_owned()
    } else {
        parts.into_iter().flatten().collect::<Vec<_>>().join("\n")
    };
    conn.prepare_cached("INSERT INTO entry_text (rowid, searchable) VALUES (?1, ?2)")?
        .execute(params![seq, searchable])?;
    Ok(())
}

/// The FTS5 query for entries whose text holds every trigram of `text` (anywhere, in any
/// order: the index keeps no positions) and for the entries too large to be indexed, or
/// `None` when `text` is too short to have a trigram. Each trigram is quoted, so no character
/// of `text` is query syntax.
pub(crate) fn match_expression(text: &str) -> Option<String> {
    let chars: Vec<char> = text.chars().collect();
    if chars.len() < TRIGRAM {
        return None;
    }
    let mut terms: Vec<String> = chars
        .windows(TRIGRAM)
        .map(|window| {
            let term: String = window.iter().collect();
            format!("\"{}\"", term.replace('"', "\"\""))
        })
        .collect();
    terms.sort_unstable();
    terms.dedup();
    Some(format!("({}) OR \"{UNINDEXED}\"", terms.join(" ")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_trigram_is_quoted_once() {
        assert_eq!(match_expression("ab"), None);
        let unindexed = format!(" OR \"{UNINDEXED}\"");
        assert_eq!(
            match_expression("abcab"),
            Some(format!(r#"("abc" "bca" "cab"){unindexed}"#))
        );
        assert_eq!(
            match_expression(r#"a"b OR"#),
            Some(format!(r#"(" OR" """b " "a""b" "b O"){unindexed}"#))
        );
    }
}
