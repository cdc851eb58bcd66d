//! `watch` prints items as they arrive, one line (or one JSON object) each, until killed.

use std::process::Stdio;
use std::time::Duration;

use serde_json::Value;

use crate::support::{line_reader, wait_for_line, Harness, ALICE};

const PATIENCE: Duration = Duration::from_secs(20);

#[test]
fn watch_prints_items_submitted_after_it_started() {
    let h = Harness::start();
    let mut child = h
        .command(ALICE)
        .args(["watch", "--json"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("watch starts");
    let lines = line_reader(child.stdout.take().expect("stdout"));
    let is_kind = |line: &str, kind: &str| {
        serde_json::from_str::<Value>(line).is_ok_and(|event| event["kind"] == kind)
    };
    let (synced, _) = wait_for_line(&lines, PATIENCE, |line| is_kind(line, "synced"));
    assert!(synced.is_some(), "the watch never synced");

    let job = h.submit();
    let (arrived, seen) = wait_for_line(&lines, PATIENCE, |line| {
        is_kind(line, "arrived") && line.contains(&job)
    });
    child.kill().expect("killed");
    child.wait().expect("reaped");
    for line in &seen {
        h.keep(line);
    }
    let arrived: Value = serde_json::from_str(&arrived.expect("arrival printed")).expect("JSON");
    assert_eq!(arrived["job"]["id"], job.as_str());

    // In text mode an item never shown before is one line starting with "new".
    let other = h.submit();
    let mut child = h
        .command(ALICE)
        .arg("watch")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("watch starts");
    let lines = line_reader(child.stdout.take().expect("stdout"));
    let (line, _) = wait_for_line(&lines, PATIENCE, |line| line.contains(&other));
    // Ctrl-C ends a watch normally.
    let interrupted = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .expect("kill runs");
    assert!(interrupted.success());
    assert_eq!(child.wait().expect("reaped").code(), Some(0));
    let line = line.expect("arrival printed");
    h.keep(&line);
    assert!(line.starts_with("new"), "{line}");
    assert!(line.contains("finance.payment.execute"), "{line}");
    h.assert_no_secret_leaked();
}
