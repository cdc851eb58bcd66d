//! Cordum's published job-hash vectors (`shared/cordum/jobhash-vectors.json`, produced by
//! Cordum's own `HashJobRequest`): every vector must parse, encode and hash exactly as Go
//! does, or fail where Go fails. A missing or shrunken vector file fails the test.

use std::collections::HashMap;

use countersign_core::jobhash::{canonical_bytes, encode, job_hash};
use countersign_core::jobrequest::JobRequest;
use serde_json::Value;

const VECTORS: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../../shared/cordum/jobhash-vectors.json"
);
const PUBLISHED_VECTORS: usize = 39;

fn hex_decode(text: &str) -> Vec<u8> {
    assert!(text.len().is_multiple_of(2), "odd-length hex");
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16).expect("hex digit"))
        .collect()
}

fn hex_encode(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn text<'a>(vector: &'a Value, key: &str) -> Option<&'a str> {
    vector.get(key).and_then(Value::as_str)
}

fn parse(name: &str, vector: &Value) -> Result<JobRequest, String> {
    let parsed = match (text(vector, "protojson"), text(vector, "input_wire_hex")) {
        (Some(json), None) => JobRequest::from_protojson(json.as_bytes()),
        (None, Some(hex)) => JobRequest::from_wire(&hex_decode(hex)),
        _ => panic!("{name}: needs exactly one of protojson and input_wire_hex"),
    };
    parsed.map_err(|e| e.to_string())
}

fn load() -> Vec<Value> {
    let raw =
        std::fs::read_to_string(VECTORS).unwrap_or_else(|e| panic!("cannot read {VECTORS}: {e}"));
    let doc: Value = serde_json::from_str(&raw).expect("vector file is JSON");
    let vectors = doc["vectors"].as_array().expect("`vectors` array").clone();
    assert!(
        vectors.len() >= PUBLISHED_VECTORS,
        "expected at least {PUBLISHED_VECTORS} vectors, found {}",
        vectors.len()
    );
    vectors
}

#[test]
fn every_vector_matches_cordum() {
    let vectors = load();
    let mut hashes: HashMap<String, String> = HashMap::new();
    let mut failures = Vec::new();
    for vector in &vectors {
        let name = text(vector, "name").expect("vector name");
        let parsed = parse(name, vector);
        if let Some(expected_error) = text(vector, "expected_error") {
            match parsed {
                Ok(req) => failures.push(format!(
                    "{name}: expected error {expected_error:?}, got hash {}",
                    job_hash(&req)
                )),
                Err(e) if !e.contains(expected_error) => {
                    failures.push(format!("{name}: error {e:?} lacks {expected_error:?}"));
                }
                Err(_) => {}
            }
            continue;
        }
        let req = match parsed {
            Ok(req) => req,
            Err(e) => {
                failures.push(format!("{name}: does not parse: {e}"));
                continue;
            }
        };
        let hash = job_hash(&req);
        let expected = text(vector, "expected_sha256").expect("expected_sha256");
        if hash != expected {
            failures.push(format!("{name}: hash {hash} != expected {expected}"));
        }
        let canonical = canonical_bytes(&req);
        if let Some(want) = text(vector, "canonical_wire_hex") {
            let got = hex_encode(&canonical);
            if got != want {
                failures.push(format!(
                    "{name}: canonical bytes\n  got  {got}\n  want {want}"
                ));
            }
        }
        if let Some(want) = vector["canonical_wire_len"].as_u64() {
            if canonical.len() as u64 != want {
                failures.push(format!(
                    "{name}: canonical length {} != {want}",
                    canonical.len()
                ));
            }
        }
        let original = encode(&req);
        if let Some(want) = text(vector, "original_wire_hex") {
            let got = hex_encode(&original);
            if got != want {
                failures.push(format!(
                    "{name}: original bytes\n  got  {got}\n  want {want}"
                ));
            }
        }
        if let Some(want) = vector["original_wire_len"].as_u64() {
            if original.len() as u64 != want {
                failures.push(format!(
                    "{name}: original length {} != {want}",
                    original.len()
                ));
            }
        }
        if let Some(live) = text(vector, "live_observed_job_hash") {
            if hash != live {
                failures.push(format!("{name}: hash {hash} != live job_hash {live}"));
            }
        }
        if let Some(live) = text(vector, "live_observed_job_hash_differs") {
            if hash == live {
                failures.push(format!(
                    "{name}: hash equals live job_hash {live}, must differ"
                ));
            }
        }
        hashes.insert(name.to_owned(), hash);
    }
    for vector in &vectors {
        let name = text(vector, "name").expect("vector name");
        for (relation, must_equal) in [("equal_to", true), ("differs_from", false)] {
            let Some(other) = text(vector, relation) else {
                continue;
            };
            match (hashes.get(name), hashes.get(other)) {
                (Some(a), Some(b)) if (a == b) == must_equal => {}
                (Some(a), Some(b)) => {
                    failures.push(format!("{name}: {relation} {other} broken ({a} vs {b})"))
                }
                _ => failures.push(format!("{name}: {relation} {other}: a hash is missing")),
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} vector failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// The gateway stores requests as protojson and serves them back; writing one out and
/// reading it in again must not move its hash.
#[test]
fn vectors_survive_protojson_and_wire_round_trips() {
    for vector in load() {
        let name = text(&vector, "name").expect("vector name");
        let Ok(req) = parse(name, &vector) else {
            continue;
        };
        let via_wire = JobRequest::from_wire(&encode(&req)).expect("own encoding decodes");
        assert_eq!(via_wire, req, "{name}: wire round trip");
        if req.unknown.is_empty() {
            let via_json = JobRequest::from_protojson(req.to_protojson().as_bytes())
                .unwrap_or_else(|e| panic!("{name}: own protojson does not parse: {e}"));
            assert_eq!(via_json, req, "{name}: protojson round trip");
            assert_eq!(job_hash(&via_json), job_hash(&req), "{name}");
        }
    }
}
