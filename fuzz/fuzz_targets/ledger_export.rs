//! Arbitrary bytes as a JSON Lines ledger export, re-verified offline with `verify_export`:
//! the file a reviewer receives as evidence is the least trusted input the ledger reads.
//! Besides "no panic": a report that says intact has checked every entry up to its head.

#![no_main]

use std::path::PathBuf;
use std::sync::OnceLock;

use countersign_ledger::verify_export;
use libfuzzer_sys::fuzz_target;

/// One file per fuzzing process, rewritten for every input (`verify_export` reads a path).
fn scratch() -> &'static PathBuf {
    static PATH: OnceLock<PathBuf> = OnceLock::new();
    PATH.get_or_init(|| {
        std::env::temp_dir().join(format!(
            "countersign-fuzz-export-{}.jsonl",
            std::process::id()
        ))
    })
}

fuzz_target!(|data: &[u8]| {
    let path = scratch();
    std::fs::write(path, data).expect("scratch file writable");
    if let Ok(report) = verify_export(path) {
        if report.is_intact() {
            assert_eq!(report.entries_checked, report.head_seq, "{report:?}");
        }
    }
});
