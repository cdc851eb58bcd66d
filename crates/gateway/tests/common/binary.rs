//! The real `countersign-gateway` binary as a child process: started, stopped gracefully, or
//! left to the test to kill.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};

/// Starts the binary and waits for its "listening on" line; returns the child, the base URL
/// and the lines printed before it.
pub fn spawn_binary(args: &[&std::ffi::OsStr]) -> (Child, String, Vec<String>) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_countersign-gateway"))
        .args(args)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("binary starts");
    let stdout = child.stdout.take().expect("stdout");
    let mut lines = BufReader::new(stdout).lines();
    let mut before = Vec::new();
    let base = loop {
        let line = lines
            .next()
            .expect("gateway printed its address")
            .expect("line");
        match line.strip_prefix("listening on ") {
            Some(url) => break url.trim().to_owned(),
            None => before.push(line),
        }
    };
    // Keep draining stdout so the child never blocks on a full pipe.
    std::thread::spawn(move || lines.for_each(drop));
    (child, base, before)
}

pub fn spawn_gateway(dir: &Path) -> (Child, String) {
    let (db, policy, keys) = (
        dir.join("gw.db"),
        dir.join("policy.yaml"),
        dir.join("keys.yaml"),
    );
    let args: Vec<&std::ffi::OsStr> = vec![
        "--listen".as_ref(),
        "127.0.0.1:0".as_ref(),
        "--data".as_ref(),
        db.as_os_str(),
        "--policy".as_ref(),
        policy.as_os_str(),
        "--api-keys".as_ref(),
        keys.as_os_str(),
    ];
    let (child, base, _) = spawn_binary(&args);
    (child, base)
}

/// SIGTERM, then the process must exit successfully (graceful shutdown).
pub fn terminate(mut child: Child) {
    let status = Command::new("kill")
        .arg("-TERM")
        .arg(child.id().to_string())
        .status()
        .expect("kill");
    assert!(status.success());
    let exit = child.wait().expect("exited");
    assert!(exit.success(), "graceful exit: {exit:?}");
}
