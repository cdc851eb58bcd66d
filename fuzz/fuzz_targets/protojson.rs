//! Arbitrary bytes read as a protojson JobRequest (the body of a gateway's `/request`
//! answer), under both generations' schemas. Whatever a reader accepts must hash the way the
//! reviewer's verdict relies on:
//!
//! * the hash is deterministic and is the SHA-256 of `canonical_bytes`;
//! * the request written back as protojson reads back equal, with the same hash;
//! * the request encoded as protobuf binary reads back equal (the wire reader and the
//!   encoder agree on every request the protojson reader can produce);
//! * the new generation's schema is v0.9's plus `compensation`, so a document v0.9 accepts
//!   reads the same under the new one.

#![no_main]

use countersign_core::jobhash::{canonical_bytes, encode, job_hash, to_hex};
use countersign_core::jobrequest::{Generation, JobRequest};
use libfuzzer_sys::fuzz_target;
use sha2::{Digest, Sha256};

fuzz_target!(|data: &[u8]| {
    let v09 = JobRequest::from_protojson(data, Generation::V09);
    let new = JobRequest::from_protojson(data, Generation::New);
    if let Ok(req) = &v09 {
        check(req, Generation::V09);
        assert_eq!(
            new.as_ref(),
            Ok(req),
            "v0.9 accepted what the new schema reads differently"
        );
    }
    if let Ok(req) = &new {
        check(req, Generation::New);
    }
});

fn check(req: &JobRequest, generation: Generation) {
    let hash = job_hash(req, generation);
    assert_eq!(hash, job_hash(req, generation), "hash not deterministic");
    assert_eq!(
        hash,
        to_hex(&Sha256::digest(canonical_bytes(req, generation)))
    );

    let json = req.to_protojson();
    let back = JobRequest::from_protojson(json.as_bytes(), generation);
    assert_eq!(
        back.as_ref(),
        Ok(req),
        "protojson round trip changed the request: {json}"
    );
    assert_eq!(job_hash(&back.unwrap_or_default(), generation), hash);

    let wire = JobRequest::from_wire(&encode(req), generation);
    assert_eq!(
        wire.as_ref(),
        Ok(req),
        "binary round trip changed the request"
    );
}
