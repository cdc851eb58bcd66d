//! A writer killed with SIGKILL in the middle of appending leaves a chain that verifies and
//! holds every entry it reported as committed.
//!
//! The child writer is this very test binary, re-executed with `--exact crash::child_writer`
//! and the ledger path in `COUNTERSIGN_LEDGER_CHILD_WRITER`; without that variable the child
//! test returns at once, so a normal run just passes it.

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};

use countersign_ledger::{EntryKind, Ledger, NewEntry};
use serde_json::json;

const CHILD_ENV: &str = "COUNTERSIGN_LEDGER_CHILD_WRITER";
const ROUNDS: usize = 3;
/// Commits to wait for before each kill; the child keeps appending past it.
const COMMITS_BEFORE_KILL: u64 = 40;
/// A bound so that a child whose parent vanished does not write forever.
const CHILD_MAX_APPENDS: u64 = 100_000;

#[test]
fn child_writer() {
    let Ok(path) = std::env::var(CHILD_ENV) else {
        return;
    };
    let ledger = Ledger::open(&path).expect("child opens the ledger");
    // Written straight to stdout (not print!) so the parent sees each line as it happens.
    let mut out = std::io::stdout().lock();
    for n in 0..CHILD_MAX_APPENDS {
        let entry = ledger
            .append(
                NewEntry::new(
                    EntryKind::GatewayAudit,
                    json!({ "n": n, "padding": "x".repeat(2048) }),
                )
                .job_id(format!("job-{n}")),
            )
            .expect("child appends");
        writeln!(out, "committed {}", entry.seq).expect("child reports");
        out.flush().expect("child flushes");
    }
}

/// Runs one child until it has reported `COMMITS_BEFORE_KILL` new commits, kills it with
/// SIGKILL, and returns the highest seq it reported committed.
fn run_and_kill(path: &std::path::Path, already: u64) -> u64 {
    let exe = std::env::current_exe().expect("test binary path");
    let mut child = Command::new(exe)
        .args([
            "--exact",
            "crash::child_writer",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD_ENV, path)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("spawn child writer");
    let stdout = child.stdout.take().expect("child stdout");
    let mut lines = BufReader::new(stdout).lines();
    let mut committed = already;
    for line in lines.by_ref() {
        let line = line.expect("read child output");
        if let Some(seq) = line.strip_prefix("committed ") {
            committed = seq.parse().expect("seq");
            if committed >= already + COMMITS_BEFORE_KILL {
                break;
            }
        }
    }
    // Child::kill is SIGKILL on Unix: no destructor, no rollback, no WAL checkpoint.
    child.kill().expect("kill child");
    // Lines written between the break and the kill are commits too.
    for line in lines.map_while(Result::ok) {
        if let Some(seq) = line.strip_prefix("committed ") {
            committed = seq.parse().expect("seq");
        }
    }
    child.wait().expect("reap child");
    assert!(
        committed >= already + COMMITS_BEFORE_KILL,
        "the child stopped early after {committed} commits"
    );
    committed
}

#[test]
fn kill_9_mid_write_leaves_a_verifiable_chain() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("ledger.sqlite");
    let mut committed = 0;
    for _ in 0..ROUNDS {
        committed = run_and_kill(&path, committed);
        let ledger = Ledger::open(&path).expect("reopen after kill");
        let report = ledger.verify().expect("verify");
        assert!(report.is_intact(), "{report:?}");
        let count = ledger.entry_count().expect("count");
        assert!(
            count >= committed,
            "{count} entries < {committed} committed"
        );
        assert_eq!(report.head_seq, count);
        // The next round appends on top of whatever the kill left behind.
        committed = count;
    }
}
