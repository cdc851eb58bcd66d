//! What every CLI test binary needs: running the real `countersign-cli` process.

use std::io::Write;
use std::process::{Command, Output, Stdio};

/// Runs `command` to completion with `input` on its standard input.
pub fn output_with_stdin(mut command: Command, input: &[u8]) -> Output {
    let mut child = command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("cli starts");
    child
        .stdin
        .take()
        .expect("stdin piped")
        .write_all(input)
        .expect("stdin written");
    child.wait_with_output().expect("cli finishes")
}
