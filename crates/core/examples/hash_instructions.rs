//! Counts CPU instructions of `job_hash` against a bare SHA-256 of the same canonical bytes,
//! under callgrind. Instruction counts do not depend on what else the machine is doing, so
//! this checks the 1.25x target where wall-clock timings on a busy machine cannot.
//!
//! Run through `scripts/bench-instructions.sh`; by hand:
//! `valgrind --tool=callgrind --toggle-collect='*measured_*' hash_instructions job-hash 1048576`.

use std::hint::black_box;
use std::process::ExitCode;

use countersign_core::jobhash::{canonical_bytes, job_hash, Generation};
use countersign_core::jobrequest::JobRequest;
use sha2::{Digest, Sha256};

#[path = "../benches/support/mod.rs"]
mod support;

// Never inlined, so callgrind's --toggle-collect can count exactly these calls.
#[inline(never)]
fn measured_job_hash(req: &JobRequest) -> String {
    job_hash(req, Generation::New)
}

#[inline(never)]
fn measured_sha256(bytes: &[u8]) -> [u8; 32] {
    Sha256::digest(bytes).into()
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    let (Some(mode), Some(Ok(size))) = (args.get(1), args.get(2).map(|s| s.parse::<usize>()))
    else {
        eprintln!("usage: hash_instructions job-hash|sha256 SIZE_BYTES");
        return ExitCode::from(2);
    };
    let req = support::request(size);
    match mode.as_str() {
        "job-hash" => {
            black_box(measured_job_hash(black_box(&req)));
        }
        "sha256" => {
            let bytes = canonical_bytes(&req, Generation::New);
            black_box(measured_sha256(black_box(&bytes)));
        }
        other => {
            eprintln!("unknown mode {other}: expected job-hash or sha256");
            return ExitCode::from(2);
        }
    }
    ExitCode::SUCCESS
}
