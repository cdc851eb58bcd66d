//! Opening files: new, existing, hostile.

use countersign_ledger::{EntryKind, Ledger, NewEntry, SCHEMA_VERSION};
use serde_json::json;

use crate::common::Fixture;

#[test]
fn open_creates_parent_directories_and_reopens() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("a").join("b").join("ledger.sqlite");
    let ledger = Ledger::open(&path).expect("open new");
    ledger
        .append(NewEntry::new(EntryKind::Login, json!({"principal": "ana"})))
        .expect("append");
    drop(ledger);
    let again = Ledger::open(&path).expect("reopen");
    assert_eq!(again.entry_count().expect("count"), 1);
    assert_eq!(again.path(), path);
}

#[test]
fn connection_settings_are_wal_and_full_sync() {
    let fixture = Fixture::new();
    let raw = fixture.raw();
    let mode: String = raw
        .pragma_query_value(None, "journal_mode", |row| row.get(0))
        .expect("journal mode");
    assert_eq!(mode, "wal");
    let version: i64 = raw
        .pragma_query_value(None, "user_version", |row| row.get(0))
        .expect("user_version");
    assert_eq!(version, SCHEMA_VERSION);
}

#[test]
fn garbage_bytes_are_a_corrupt_ledger_not_a_panic() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("ledger.sqlite");
    let garbage: Vec<u8> = (0..8192u32)
        .map(|n| (n.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    std::fs::write(&path, garbage).expect("write garbage");
    let err = Ledger::open(&path).expect_err("garbage must not open");
    assert_eq!(err.code(), "ledger_corrupt", "{err}");
}

#[test]
fn a_text_file_is_a_corrupt_ledger() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("ledger.sqlite");
    std::fs::write(&path, "SQLite format 3 but not really\n".repeat(200)).expect("write");
    assert_eq!(
        Ledger::open(&path).expect_err("refused").code(),
        "ledger_corrupt"
    );
}

#[test]
fn another_applications_database_is_left_alone() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("other.sqlite");
    let other = rusqlite::Connection::open(&path).expect("other db");
    other
        .execute_batch("CREATE TABLE notes (text TEXT); INSERT INTO notes VALUES ('mine');")
        .expect("other schema");
    drop(other);
    let err = Ledger::open(&path).expect_err("foreign file");
    assert_eq!(err.code(), "ledger_foreign_file");
    let other = rusqlite::Connection::open(&path).expect("reopen other");
    let tables: i64 = other
        .query_row(
            "SELECT count(*) FROM sqlite_schema WHERE type = 'table'",
            [],
            |r| r.get(0),
        )
        .expect("count tables");
    assert_eq!(tables, 1, "no ledger tables were added");
    let mode: String = other
        .pragma_query_value(None, "journal_mode", |row| row.get(0))
        .expect("journal mode");
    assert_eq!(mode, "delete", "its journal mode was not touched");
}

#[test]
fn a_newer_schema_is_refused() {
    let fixture = Fixture::new();
    fixture
        .raw()
        .pragma_update(None, "user_version", SCHEMA_VERSION + 1)
        .expect("bump version");
    let err = Ledger::open(&fixture.path).expect_err("too new");
    assert_eq!(err.code(), "ledger_schema_too_new");
}

#[test]
fn a_directory_is_an_io_error() {
    let dir = tempfile::tempdir().expect("temp dir");
    let err = Ledger::open(dir.path()).expect_err("a directory is not a ledger");
    assert_eq!(err.code(), "ledger_io", "{err}");
}

#[cfg(unix)]
#[test]
fn created_directories_are_0700_and_ledger_files_0600() {
    use std::os::unix::fs::PermissionsExt;
    let mode = |path: &std::path::Path| {
        std::fs::metadata(path)
            .expect("metadata")
            .permissions()
            .mode()
            & 0o777
    };
    let dir = tempfile::tempdir().expect("temp dir");
    let before = mode(dir.path());
    let path = dir.path().join("data").join("ledgers").join("work.ledger");
    let ledger = Ledger::open(&path).expect("open new");
    ledger
        .append(NewEntry::new(EntryKind::Login, json!({"principal": "ana"})))
        .expect("append");
    assert_eq!(mode(&dir.path().join("data")), 0o700);
    assert_eq!(mode(&dir.path().join("data").join("ledgers")), 0o700);
    assert_eq!(mode(&path), 0o600);
    let wal = path.with_file_name("work.ledger-wal");
    if wal.exists() {
        assert_eq!(mode(&wal), 0o600);
    }
    // A directory that already existed is not ours to change.
    assert_eq!(mode(dir.path()), before);
}
