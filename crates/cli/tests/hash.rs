//! `countersign-cli hash` as a reviewer runs it: a real process, real files, real pipes.

use std::process::{Command, Output};

mod common;

const CLI: &str = env!("CARGO_BIN_EXE_countersign-cli");

/// The live Cordum request from ../shared/cordum/live-transcript.md and the job_hash the
/// running Cordum reported for it.
const LIVE_REQUEST: &str = r#"{"jobId":"b5901a94-eff3-4c36-b743-4c98be5e9d4f","topic":"job.peer.write","priority":"JOB_PRIORITY_INTERACTIVE","contextPtr":"redis://ctx:b5901a94-eff3-4c36-b743-4c98be5e9d4f","adapterId":"","env":{"max_input_tokens":"8000","max_output_tokens":"1024","memory_id":"mem:b5901a94-eff3-4c36-b743-4c98be5e9d4f","tenant_id":"default"},"parentJobId":"","workflowId":"","stepIndex":0,"memoryId":"mem:b5901a94-eff3-4c36-b743-4c98be5e9d4f","contextHints":{"maxInputTokens":8000,"allowSummarization":false,"allowRetrieval":false,"tags":[]},"budget":{"maxInputTokens":"8000","maxOutputTokens":"1024","maxTotalTokens":"0","deadlineMs":"0"},"tenantId":"default","principalId":"alice","labels":{"approval_granted":"true","team":"peer"},"meta":{"tenantId":"default","actorId":"alice","actorType":"ACTOR_TYPE_UNSPECIFIED","idempotencyKey":"","capability":"","riskTags":["write"],"requires":[],"packId":"","labels":{"team":"peer"}}}"#;
const LIVE_HASH: &str = "1914b6c1b23f727454dd6ed99703d9f71e6e412653dc651c209ef7f54b3dd41e";

fn run_with_stdin(args: &[&str], stdin: &[u8]) -> Output {
    let mut command = Command::new(CLI);
    command.args(args);
    common::output_with_stdin(command, stdin)
}

fn stdout_line(output: &Output) -> String {
    String::from_utf8(output.stdout.clone())
        .expect("utf-8 output")
        .trim_end()
        .to_owned()
}

#[test]
fn hashes_a_file_like_cordum_did() {
    let dir = std::env::temp_dir().join(format!("cs-cli-hash-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let file = dir.join("request.json");
    std::fs::write(&file, LIVE_REQUEST).expect("request written");

    let output = Command::new(CLI)
        .arg("hash")
        .arg(&file)
        .output()
        .expect("cli runs");
    assert!(
        output.status.success(),
        "stderr: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(stdout_line(&output), LIVE_HASH);
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn reads_standard_input_and_prints_canonical_bytes() {
    let hashed = run_with_stdin(&["hash"], LIVE_REQUEST.as_bytes());
    assert_eq!(stdout_line(&hashed), LIVE_HASH);

    let canonical = run_with_stdin(&["hash", "--canonical", "-"], LIVE_REQUEST.as_bytes());
    assert!(canonical.status.success());
    let hex = stdout_line(&canonical);
    // The canonical bytes start with field 1 (tag 0x0a), a 36-byte job id (0x24).
    assert!(hex.starts_with("0a24"), "{hex}");
    // approval_* labels are stripped before hashing, so they are not in the bytes.
    assert!(!hex.contains(&to_hex(b"approval_granted")), "{hex}");
    assert!(hex.contains(&to_hex(b"team")), "{hex}");
}

#[test]
fn invalid_input_fails_with_the_field_named() {
    let output = run_with_stdin(&["hash"], br#"{"jobId": 7}"#);
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("jobId"), "stderr: {stderr}");
    assert_eq!(stderr.matches("invalid JobRequest").count(), 1, "{stderr}");
    assert!(output.stdout.is_empty());

    let missing = Command::new(CLI)
        .args(["hash", "/nonexistent/countersign/request.json"])
        .output()
        .expect("cli runs");
    assert_eq!(missing.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&missing.stderr).contains("/nonexistent/countersign"));
}

fn to_hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

const NEW_VECTORS: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../../shared/cordum/jobhash-vectors-new.json"
);

/// A vector of the newest Cordum's own set, by name: its protojson and expected hash.
fn new_vector(name: &str) -> (String, Option<String>, Option<String>) {
    let raw = std::fs::read_to_string(NEW_VECTORS).expect("new vectors");
    let doc: serde_json::Value = serde_json::from_str(&raw).expect("JSON");
    let vector = doc["vectors"]
        .as_array()
        .expect("vectors")
        .iter()
        .find(|v| v["name"] == name)
        .unwrap_or_else(|| panic!("vector {name}"))
        .clone();
    let text = |key: &str| vector[key].as_str().map(str::to_owned);
    (
        text("protojson").expect("protojson"),
        text("expected_sha256"),
        text("v09_sha256"),
    )
}

#[test]
fn hashes_the_newest_cordums_stored_requests_by_default() {
    // As the new store writes it: every member present, `"compensation": null`.
    for name in [
        "stored_0",
        "live_job_pending",
        "compensation_full",
        "variant_attach",
    ] {
        let (json, expected, _) = new_vector(name);
        let output = run_with_stdin(&["hash"], json.as_bytes());
        assert!(
            output.status.success(),
            "{name}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        assert_eq!(Some(stdout_line(&output)), expected, "{name}");
        let explicit = run_with_stdin(&["hash", "--generation", "new"], json.as_bytes());
        assert_eq!(Some(stdout_line(&explicit)), expected, "{name}");
    }
}

#[test]
fn generation_v09_keeps_v09s_rules() {
    // v0.9 keeps `policy.attachment_id` in the hash; the new generation strips it.
    let (json, new_hash, v09_hash) = new_vector("labels_policy_attachment_id_only");
    let v09 = run_with_stdin(&["hash", "--generation", "v0.9"], json.as_bytes());
    assert!(
        v09.status.success(),
        "{}",
        String::from_utf8_lossy(&v09.stderr)
    );
    assert_eq!(Some(stdout_line(&v09)), v09_hash);
    assert_ne!(v09_hash, new_hash);
    // And v0.9 cannot read what the new store writes: `compensation` is unknown to it.
    let (stored, _, _) = new_vector("stored_0");
    let refused = run_with_stdin(&["hash", "--generation", "v0.9"], stored.as_bytes());
    assert_eq!(refused.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(stderr.contains("compensation"), "{stderr}");
    // The live v0.9 request hashes the same under both.
    let live = run_with_stdin(&["hash", "--generation", "v0.9"], LIVE_REQUEST.as_bytes());
    assert_eq!(stdout_line(&live), LIVE_HASH);
}

#[test]
fn a_bad_generation_is_refused_naming_the_choices() {
    let output = run_with_stdin(&["hash", "--generation", "v1"], LIVE_REQUEST.as_bytes());
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("\"v1\""), "{stderr}");
    assert!(
        stderr.contains("v0.9") && stderr.contains("new"),
        "{stderr}"
    );
    assert!(output.stdout.is_empty());
}
