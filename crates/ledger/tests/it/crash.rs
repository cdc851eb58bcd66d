//! Proving ground, suite "ledger kill -9" (issue 13): kill -9 during 10,000 appends, 100
//! times; the chain verifies every time and no acknowledged entry is missing.
//!
//! Each round re-executes this very test binary as a child writer (`--exact
//! crash::child_writer`, the ledger path in `COUNTERSIGN_LEDGER_CHILD_WRITER`; without that
//! variable the child test returns at once, so a normal run just passes it). The child would
//! append 10,000 entries and reports each commit on stdout; the parent kills it with SIGKILL
//! once a kill point drawn from a seeded generator has been acknowledged, anywhere from 0
//! (killed as it starts, maybe before it even opened the file) to the last append. Then it
//! reopens the file, verifies the chain and checks that every acknowledged entry is there
//! with the content the child wrote.
//!
//! Every round starts from a fresh file: a kill at append k of a run is then tested on its
//! own, with every point of the range equally likely, and a verify costs at most 10,000
//! entries (a file grown over 100 rounds would make the last verifies cost ~50 times that and
//! test mostly kills deep into a large file). Appending on top of what a kill left behind is
//! therefore not what this suite measures.
//!
//! The files live on tmpfs when there is one: a SIGKILL ends the process, not the kernel, so
//! written pages survive it whether or not they were synced, and what is tested (SQLite's
//! atomic commit under process death, and the chain's hashing) is the same as on disk while
//! 500,000 fsyncs would take most of an hour. Power loss is not what this suite tests.
//!
//! `COUNTERSIGN_SOAK=1` multiplies the rounds by 10 (for `make soak`).
//! The suite prints one `RELIABILITY ledger_kill9 …` line with its own figures.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use countersign_ledger::{EntryKind, Ledger, NewEntry};
use serde_json::json;

const CHILD_ENV: &str = "COUNTERSIGN_LEDGER_CHILD_WRITER";
const SOAK_ENV: &str = "COUNTERSIGN_SOAK";
const ROUNDS: u64 = 100;
/// The appends each child would make, were it not killed.
const APPENDS: u64 = 10_000;
/// Per entry: enough that an entry spans more than a trivial row, small enough that 100
/// rounds of up to 10,000 appends stay within a few minutes in a debug build.
const PADDING: usize = 64;
/// How long one child may take to reach its kill point before the round fails.
const ROUND_BOUND: Duration = Duration::from_secs(60);
const SEED: u64 = 0x5eed_13c0_ffee;

#[test]
fn child_writer() {
    let Ok(path) = std::env::var(CHILD_ENV) else {
        return;
    };
    let ledger = Ledger::open(&path).expect("child opens the ledger");
    // Written straight to stdout (not print!) so the parent sees each line as it happens.
    let mut out = std::io::stdout().lock();
    for n in 0..APPENDS {
        let entry = ledger.append(entry(n)).expect("child appends");
        writeln!(out, "committed {} {n}", entry.seq).expect("child reports");
        out.flush().expect("child flushes");
    }
}

fn entry(n: u64) -> NewEntry {
    NewEntry::new(
        EntryKind::GatewayAudit,
        json!({ "n": n, "padding": "x".repeat(PADDING) }),
    )
    .job_id(format!("job-{n}"))
}

/// SplitMix64: a seeded generator the suite can name, so a failing round can be replayed.
struct SplitMix(u64);

impl SplitMix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
}

/// Where the round's files go: tmpfs when there is one (see the module comment).
fn scratch() -> tempfile::TempDir {
    let shm = Path::new("/dev/shm");
    if shm.is_dir() {
        if let Ok(dir) = tempfile::tempdir_in(shm) {
            return dir;
        }
    }
    tempfile::tempdir().expect("temp dir")
}

/// Runs one child until it has acknowledged `kill_at` appends, kills it with SIGKILL and
/// returns every (seq, n) it acknowledged, those written between the kill point and the
/// kill included.
fn run_and_kill(path: &Path, kill_at: u64) -> Vec<(u64, u64)> {
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
    let started = Instant::now();
    let mut lines = BufReader::new(child.stdout.take().expect("child stdout")).lines();
    let mut acknowledged = Vec::new();
    let parse = |line: &str| -> Option<(u64, u64)> {
        let (seq, n) = line.strip_prefix("committed ")?.split_once(' ')?;
        Some((seq.parse().expect("seq"), n.parse().expect("n")))
    };
    while (acknowledged.len() as u64) < kill_at {
        let Some(line) = lines.next() else { break };
        if let Some(ack) = parse(&line.expect("read child output")) {
            acknowledged.push(ack);
        }
        assert!(
            started.elapsed() < ROUND_BOUND,
            "the child took over {ROUND_BOUND:?} to reach {kill_at} appends"
        );
    }
    // Child::kill is SIGKILL on Unix: no destructor, no rollback, no WAL checkpoint.
    child.kill().expect("kill child");
    acknowledged.extend(lines.map_while(Result::ok).filter_map(|l| parse(&l)));
    child.wait().expect("reap child");
    assert!(
        acknowledged.len() as u64 >= kill_at.min(APPENDS),
        "the child stopped after {} of {kill_at} appends",
        acknowledged.len()
    );
    acknowledged
}

/// What one round found wrong: missing or altered acknowledged entries, and whether the
/// chain failed to verify.
fn check_round(path: &Path, acknowledged: &[(u64, u64)]) -> (usize, bool) {
    // A child killed before it created the file leaves nothing, which opens as empty.
    let ledger = Ledger::open(path).expect("reopen after kill");
    let report = ledger.verify().expect("verify");
    let count = ledger.entry_count().expect("count");
    let intact = report.is_intact() && report.head_seq == count;
    // The chain just verified every row, so what the rows say is what was appended; one
    // pass reads them all (an entry read per acknowledgement would double the suite's time).
    let conn = rusqlite::Connection::open(path).expect("raw connection");
    let mut stmt = conn
        .prepare("SELECT seq, job_id, json_extract(body, '$.n') FROM entries")
        .expect("select");
    let stored: HashMap<i64, (Option<String>, Option<i64>)> = stmt
        .query_map([], |row| Ok((row.get(0)?, (row.get(1)?, row.get(2)?))))
        .expect("rows")
        .map(|row| row.expect("row"))
        .collect();
    let missing = acknowledged
        .iter()
        .filter(|&&(seq, n)| {
            let (seq, n) = (
                i64::try_from(seq).expect("seq"),
                i64::try_from(n).expect("n"),
            );
            stored.get(&seq) != Some(&(Some(format!("job-{n}")), Some(n)))
        })
        .count();
    (missing, !intact)
}

#[test]
fn kill_9_mid_write_leaves_a_verifiable_chain() {
    let started = Instant::now();
    let soak = std::env::var(SOAK_ENV).is_ok_and(|v| v == "1");
    let rounds = if soak { ROUNDS * 10 } else { ROUNDS };
    let mut rng = SplitMix(SEED);
    let (mut acked, mut missing, mut verify_failures) = (0, 0, 0);
    let (mut earliest, mut latest) = (u64::MAX, 0);
    for round in 0..rounds {
        let dir = scratch();
        let path = dir.path().join("ledger.sqlite");
        // The first round kills at once: the earliest point there is.
        let kill_at = if round == 0 { 0 } else { rng.next() % APPENDS };
        earliest = earliest.min(kill_at);
        latest = latest.max(kill_at);
        let acknowledged = run_and_kill(&path, kill_at);
        let (lost, broken) = check_round(&path, &acknowledged);
        assert_eq!(
            (lost, broken),
            (0, false),
            "round {round} (seed {SEED:#x}, kill at {kill_at}): {lost} acknowledged entries \
             missing or altered, chain broken: {broken}"
        );
        acked += acknowledged.len();
        missing += lost;
        verify_failures += usize::from(broken);
    }
    println!(
        "RELIABILITY ledger_kill9 rounds={rounds} appends_per_child={APPENDS} \
         appends_acknowledged={acked} missing={missing} verify_failures={verify_failures} \
         earliest_kill={earliest} latest_kill={latest} wall_s={}",
        started.elapsed().as_secs()
    );
}
