//! Cordum's published job-hash vectors, produced by Cordum's own code: v0.9's
//! `HashJobRequest` (`shared/cordum/jobhash-vectors.json`) and the new generation's
//! `reqhash.Hash` (`jobhash-vectors-new.json`). Every vector must parse, encode and hash
//! exactly as Go does under its own generation's rules, or fail where Go fails; the new file's
//! `v09_*` values must come out of the v0.9 rules too. A missing or shrunken vector file fails
//! the test.

use std::collections::HashMap;

use countersign_core::jobhash::{canonical_bytes, encode, job_hash};
use countersign_core::jobrequest::{Generation, JobRequest};
use serde_json::Value;

const V09_VECTORS: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../../shared/cordum/jobhash-vectors.json"
);
const V09_PUBLISHED: usize = 39;
const NEW_VECTORS: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../../shared/cordum/jobhash-vectors-new.json"
);
const NEW_PUBLISHED: usize = 62;

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

fn parse(name: &str, vector: &Value, generation: Generation) -> Result<JobRequest, String> {
    let parsed = match (text(vector, "protojson"), text(vector, "input_wire_hex")) {
        (Some(json), None) => JobRequest::from_protojson(json.as_bytes(), generation),
        (None, Some(hex)) => JobRequest::from_wire(&hex_decode(hex), generation),
        _ => panic!("{name}: needs exactly one of protojson and input_wire_hex"),
    };
    parsed.map_err(|e| e.to_string())
}

fn load(path: &str, published: usize) -> Vec<Value> {
    let raw = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("cannot read {path}: {e}"));
    let doc: Value = serde_json::from_str(&raw).expect("vector file is JSON");
    let vectors = doc["vectors"].as_array().expect("`vectors` array").clone();
    assert!(
        vectors.len() >= published,
        "expected at least {published} vectors in {path}, found {}",
        vectors.len()
    );
    vectors
}

#[test]
fn every_v09_vector_matches_cordum_v09() {
    check_all(&load(V09_VECTORS, V09_PUBLISHED), Generation::V09);
}

#[test]
fn every_new_vector_matches_the_newest_cordum() {
    check_all(&load(NEW_VECTORS, NEW_PUBLISHED), Generation::New);
}

/// The new file says what v0.9 gives for each of its inputs: read as v0.9 reads them (so any
/// text naming `compensation` is refused) and handed over in binary, where field 17 is an
/// unknown field that v0.9 hashes raw.
#[test]
fn new_vectors_hash_as_v09_under_the_v09_rules() {
    let mut failures = Vec::new();
    for vector in load(NEW_VECTORS, NEW_PUBLISHED) {
        let name = text(&vector, "name").expect("vector name");
        let as_v09 = parse(name, &vector, Generation::V09).map(|r| job_hash(&r, Generation::V09));
        match (as_v09, text(&vector, "v09_sha256")) {
            (Ok(got), Some(want)) if got == want => {}
            (Err(_), None) => {}
            (got, want) => failures.push(format!("{name}: v0.9 gives {got:?}, expected {want:?}")),
        }
        // `original_wire_hex` is left out over 64 KiB.
        let (Some(want), Some(wire)) = (
            text(&vector, "v09_sha256_from_wire"),
            text(&vector, "original_wire_hex"),
        ) else {
            continue;
        };
        let wire = hex_decode(wire);
        match JobRequest::from_wire(&wire, Generation::V09) {
            Ok(req) if job_hash(&req, Generation::V09) == want => {}
            other => failures.push(format!("{name}: v0.9 from wire gives {other:?}")),
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

fn check_all(vectors: &[Value], generation: Generation) {
    let mut hashes: HashMap<String, String> = HashMap::new();
    let mut failures = Vec::new();
    for vector in vectors {
        let name = text(vector, "name").expect("vector name");
        let parsed = parse(name, vector, generation);
        if let Some(expected_error) = text(vector, "expected_error") {
            match parsed {
                Ok(req) => failures.push(format!(
                    "{name}: expected error {expected_error:?}, got hash {}",
                    job_hash(&req, generation)
                )),
                // The new file quotes Go's protojson errors, with Go's line:column positions;
                // a refusal is what must match there. v0.9's one refusal names the problem.
                Err(e) if generation == Generation::V09 && !e.contains(expected_error) => {
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
        let hash = job_hash(&req, generation);
        let expected = text(vector, "expected_sha256").expect("expected_sha256");
        if hash != expected {
            failures.push(format!("{name}: hash {hash} != expected {expected}"));
        }
        let canonical = canonical_bytes(&req, generation);
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
    for vector in vectors {
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
    for (path, published, generation) in [
        (V09_VECTORS, V09_PUBLISHED, Generation::V09),
        (NEW_VECTORS, NEW_PUBLISHED, Generation::New),
    ] {
        for vector in load(path, published) {
            let name = text(&vector, "name").expect("vector name");
            let Ok(req) = parse(name, &vector, generation) else {
                continue;
            };
            let via_wire =
                JobRequest::from_wire(&encode(&req), generation).expect("own encoding decodes");
            assert_eq!(via_wire, req, "{name}: wire round trip");
            let hash = job_hash(&req, generation);
            let via_json = JobRequest::from_protojson(req.to_protojson().as_bytes(), generation)
                .unwrap_or_else(|e| panic!("{name}: own protojson does not parse: {e}"));
            if req.unknown.is_empty() {
                assert_eq!(via_json, req, "{name}: protojson round trip");
            }
            if req.unknown.is_empty() || generation == Generation::New {
                // The new generation drops unknown fields before hashing, as protojson does.
                assert_eq!(job_hash(&via_json, generation), hash, "{name}");
            }
        }
    }
}
