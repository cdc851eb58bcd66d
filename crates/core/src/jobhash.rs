//! Cordum's job hash, byte-identical with `scheduler.HashJobRequest` (CONTRACT.md §8.1):
//! strip the keys the gateway and scheduler add after submission, encode the rest with
//! protobuf-go's deterministic marshalling, and SHA-256 the bytes.
//!
//! The encoder is written by hand because no Rust protobuf library reproduces Go's bytes:
//! protobuf-go writes both key and value of every map entry even when empty, sorts map keys
//! bytewise, and re-emits unknown fields after the known ones (jobhash-vectors.md). It writes
//! through a `Sink`, so hashing streams straight into SHA-256 without building the encoding,
//! and [`canonical_bytes`] sizes its buffer exactly before filling it.
//!
//! Stripping is a filter applied while encoding rather than a modified clone, so a
//! megabyte-sized request is never copied.

use std::collections::BTreeMap;

use sha2::{Digest, Sha256};

use crate::jobrequest::wire::{Varint, LEN, VARINT};
use crate::jobrequest::{Budget, ContextHints, JobMetadata, JobRequest};

/// The label the bus adds to a re-published job (`bus.LabelBusMsgID`).
const BUS_MSG_ID_LABEL: &str = "cordum.bus_msg_id";
/// The env entry the scheduler adds at dispatch (`config.EffectiveConfigEnvVar`).
const EFFECTIVE_CONFIG_ENV: &str = "CORDUM_EFFECTIVE_CONFIG";
const APPROVAL_PREFIX: &[u8] = b"approval_";

/// The job hash of `req`: lowercase hex SHA-256 of [`canonical_bytes`].
pub fn job_hash(req: &JobRequest) -> String {
    let mut hasher = Sha256::new();
    write_request(&mut hasher, req, Strip::Yes);
    to_hex(&hasher.finalize())
}

/// The exact bytes Cordum hashes: `req` without the ignored labels and env entries, in Go's
/// deterministic encoding.
pub fn canonical_bytes(req: &JobRequest) -> Vec<u8> {
    to_vec(req, Strip::Yes)
}

/// Go's deterministic encoding of `req` as it is, nothing stripped.
pub fn encode(req: &JobRequest) -> Vec<u8> {
    to_vec(req, Strip::No)
}

/// Whether the job hash ignores this key of `JobRequest.labels`: `approval_*` in any case
/// (Go lower-cases before comparing) and exactly `cordum.bus_msg_id`.
pub fn is_ignored_label(key: &str) -> bool {
    // Go's `strings.ToLower(key)` maps a non-ASCII rune to ASCII only for U+212A (to `k`) and
    // U+0130 (to `i`), neither in the prefix, so an ASCII case-insensitive comparison of the
    // first nine bytes decides exactly as Go does.
    let approval = key
        .as_bytes()
        .get(..APPROVAL_PREFIX.len())
        .is_some_and(|prefix| prefix.eq_ignore_ascii_case(APPROVAL_PREFIX));
    approval || key == BUS_MSG_ID_LABEL
}

/// Whether the job hash ignores this key of `JobRequest.env`: exactly `CORDUM_EFFECTIVE_CONFIG`.
pub fn is_ignored_env(key: &str) -> bool {
    key == EFFECTIVE_CONFIG_ENV
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Strip {
    Yes,
    No,
}

fn to_vec(req: &JobRequest, strip: Strip) -> Vec<u8> {
    let mut size = Counter(0);
    write_request(&mut size, req, strip);
    let mut out = Vec::with_capacity(size.0);
    write_request(&mut out, req, strip);
    out
}

/// Lowercase hex, the form Cordum writes hashes in.
pub fn to_hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for &b in bytes {
        out.push(char::from(DIGITS[usize::from(b >> 4)]));
        out.push(char::from(DIGITS[usize::from(b & 0x0f)]));
    }
    out
}

/// Where encoded bytes go.
trait Sink {
    fn put(&mut self, bytes: &[u8]);
}

impl Sink for Vec<u8> {
    fn put(&mut self, bytes: &[u8]) {
        self.extend_from_slice(bytes);
    }
}

impl Sink for Sha256 {
    fn put(&mut self, bytes: &[u8]) {
        self.update(bytes);
    }
}

/// Counts bytes instead of keeping them: the length prefix of a nested message, and the
/// capacity of [`canonical_bytes`], come from running the same encoder into a counter.
struct Counter(usize);

impl Sink for Counter {
    fn put(&mut self, bytes: &[u8]) {
        self.0 += bytes.len();
    }
}

/// A nested message's fields, in field-number order, followed by its unknown fields.
trait Message {
    fn write<S: Sink>(&self, s: &mut S);
}

fn write_request<S: Sink>(s: &mut S, q: &JobRequest, strip: Strip) {
    let keep_env = |key: &str| strip == Strip::No || !is_ignored_env(key);
    let keep_label = |key: &str| strip == Strip::No || !is_ignored_label(key);
    put_string(s, 1, &q.job_id);
    put_string(s, 2, &q.topic);
    put_int32(s, 3, q.priority.0);
    put_string(s, 4, &q.context_ptr);
    put_string(s, 5, &q.adapter_id);
    put_map(s, 6, &q.env, keep_env);
    put_string(s, 7, &q.parent_job_id);
    put_string(s, 8, &q.workflow_id);
    put_int32(s, 9, q.step_index);
    put_string(s, 10, &q.memory_id);
    put_message(s, 11, q.context_hints.as_ref());
    put_message(s, 12, q.budget.as_ref());
    put_string(s, 13, &q.tenant_id);
    put_string(s, 14, &q.principal_id);
    put_map(s, 15, &q.labels, keep_label);
    put_message(s, 16, q.meta.as_ref());
    s.put(&q.unknown);
}

impl Message for ContextHints {
    fn write<S: Sink>(&self, s: &mut S) {
        put_int32(s, 1, self.max_input_tokens);
        put_bool(s, 2, self.allow_summarization);
        put_bool(s, 3, self.allow_retrieval);
        put_strings(s, 4, &self.tags);
        s.put(&self.unknown);
    }
}

impl Message for Budget {
    fn write<S: Sink>(&self, s: &mut S) {
        put_int64(s, 1, self.max_input_tokens);
        put_int64(s, 2, self.max_output_tokens);
        put_int64(s, 3, self.max_total_tokens);
        put_int64(s, 4, self.deadline_ms);
        s.put(&self.unknown);
    }
}

impl Message for JobMetadata {
    fn write<S: Sink>(&self, s: &mut S) {
        put_string(s, 1, &self.tenant_id);
        put_string(s, 2, &self.actor_id);
        put_int32(s, 3, self.actor_type.0);
        put_string(s, 4, &self.idempotency_key);
        put_string(s, 5, &self.capability);
        put_strings(s, 6, &self.risk_tags);
        put_strings(s, 7, &self.requires);
        put_string(s, 8, &self.pack_id);
        put_map(s, 9, &self.labels, |_| true);
        s.put(&self.unknown);
    }
}

fn put_varint<S: Sink>(s: &mut S, value: u64) {
    // Nearly every tag and length fits in one byte; building a ten-byte `Varint` for those
    // measured as a fifth of the cost of hashing a 1 KB request.
    if let Ok(byte) = u8::try_from(value) {
        if byte < 0x80 {
            s.put(&[byte]);
            return;
        }
    }
    s.put(Varint::new(value).as_bytes());
}

fn put_key<S: Sink>(s: &mut S, field: u32, wire_type: u8) {
    put_varint(s, (u64::from(field) << 3) | u64::from(wire_type));
}

/// A length-delimited field, written even when empty (list elements and map entry parts).
fn put_bytes<S: Sink>(s: &mut S, field: u32, bytes: &[u8]) {
    put_key(s, field, LEN);
    put_varint(s, bytes.len() as u64);
    s.put(bytes);
}

/// A singular proto3 string: absent when empty.
fn put_string<S: Sink>(s: &mut S, field: u32, value: &str) {
    if !value.is_empty() {
        put_bytes(s, field, value.as_bytes());
    }
}

fn put_strings<S: Sink>(s: &mut S, field: u32, values: &[String]) {
    for value in values {
        put_bytes(s, field, value.as_bytes());
    }
}

/// int32 and enums: a negative value is sign-extended to ten bytes, as Go's `uint64(v)`.
fn put_int32<S: Sink>(s: &mut S, field: u32, value: i32) {
    put_int64(s, field, i64::from(value));
}

fn put_int64<S: Sink>(s: &mut S, field: u32, value: i64) {
    if value != 0 {
        put_key(s, field, VARINT);
        // Two's-complement reinterpretation is the wire format; no zigzag in this schema.
        put_varint(s, value as u64);
    }
}

fn put_bool<S: Sink>(s: &mut S, field: u32, value: bool) {
    if value {
        put_key(s, field, VARINT);
        s.put(&[1]);
    }
}

/// Map entries in key byte order (the `BTreeMap`'s order, and Go's deterministic order), each
/// with both key and value even when empty.
fn put_map<S: Sink>(
    s: &mut S,
    field: u32,
    map: &BTreeMap<String, String>,
    keep: impl Fn(&str) -> bool,
) {
    for (key, value) in map.iter().filter(|(key, _)| keep(key)) {
        let entry_len = bytes_field_len(key.len()) + bytes_field_len(value.len());
        put_key(s, field, LEN);
        put_varint(s, entry_len as u64);
        put_bytes(s, 1, key.as_bytes());
        put_bytes(s, 2, value.as_bytes());
    }
}

/// The encoded size of a length-delimited field 1 or 2 (one-byte key) holding `len` bytes.
fn bytes_field_len(len: usize) -> usize {
    let bits = usize::BITS - (len | 1).leading_zeros();
    1 + bits.div_ceil(7) as usize + len
}

/// A nested message, written whenever present: an empty one is still `tag 00`.
fn put_message<S: Sink, M: Message>(s: &mut S, field: u32, message: Option<&M>) {
    if let Some(message) = message {
        let mut len = Counter(0);
        message.write(&mut len);
        put_key(s, field, LEN);
        put_varint(s, len.0 as u64);
        message.write(s);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::jobrequest::{ActorType, JobPriority};

    fn labels(keys: &[&str]) -> BTreeMap<String, String> {
        keys.iter()
            .map(|k| (k.to_string(), "v".to_string()))
            .collect()
    }

    #[test]
    fn empty_request_hashes_the_empty_string() {
        let req = JobRequest::default();
        assert!(canonical_bytes(&req).is_empty());
        assert_eq!(
            job_hash(&req),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }

    #[test]
    fn ignored_labels_follow_go_rules() {
        for key in [
            "approval_",
            "approval_x",
            "APPROVAL_BY",
            "aPpRoVaL_note",
            "cordum.bus_msg_id",
        ] {
            assert!(is_ignored_label(key), "{key}");
        }
        for key in [
            "approval",
            "approvalgranted",
            "approval-id",
            " approval_x",
            "x_approval_y",
            "Cordum.Bus_Msg_Id",
            "cordum.bus_msg_id ",
            "CORDUM_EFFECTIVE_CONFIG",
            "appr\u{f6}val_x",
        ] {
            assert!(!is_ignored_label(key), "{key}");
        }
        assert!(is_ignored_env("CORDUM_EFFECTIVE_CONFIG"));
        assert!(!is_ignored_env("cordum_effective_config"));
        assert!(!is_ignored_env("approval_x"));
    }

    #[test]
    fn stripping_touches_only_top_level_labels_and_env() {
        let keys = [
            "approval_granted",
            "cordum.bus_msg_id",
            "CORDUM_EFFECTIVE_CONFIG",
            "keep",
        ];
        let req = JobRequest {
            labels: labels(&keys),
            env: labels(&keys),
            meta: Some(JobMetadata {
                labels: labels(&keys),
                ..JobMetadata::default()
            }),
            ..JobRequest::default()
        };
        let mut expected = req.clone();
        expected.labels = labels(&["CORDUM_EFFECTIVE_CONFIG", "keep"]);
        expected.env = labels(&["approval_granted", "cordum.bus_msg_id", "keep"]);
        assert_eq!(canonical_bytes(&req), encode(&expected));
        assert_eq!(job_hash(&req), job_hash(&expected));
    }

    #[test]
    fn encodes_go_deterministic_details() {
        let req = JobRequest {
            priority: JobPriority(-1),
            step_index: i32::MIN,
            env: [(String::new(), String::new())].into_iter().collect(),
            context_hints: Some(ContextHints::default()),
            budget: Some(Budget {
                deadline_ms: -2,
                ..Budget::default()
            }),
            meta: Some(JobMetadata {
                actor_type: ActorType::SERVICE,
                risk_tags: vec![String::new(), "a".into(), "a".into()],
                ..JobMetadata::default()
            }),
            unknown: vec![0x98, 0x06, 0x2a],
            ..JobRequest::default()
        };
        let mut want = vec![0x18];
        want.extend([0xff; 9]);
        want.push(0x01);
        want.extend([0x32, 0x04, 0x0a, 0x00, 0x12, 0x00]);
        want.extend([
            0x48, 0x80, 0x80, 0x80, 0x80, 0xf8, 0xff, 0xff, 0xff, 0xff, 0x01,
        ]);
        want.extend([0x5a, 0x00]);
        want.extend([0x62, 0x0b, 0x20]);
        want.extend([0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]);
        want.extend([
            0x82, 0x01, 0x0a, 0x18, 0x02, 0x32, 0x00, 0x32, 0x01, b'a', 0x32, 0x01, b'a',
        ]);
        want.extend([0x98, 0x06, 0x2a]);
        assert_eq!(encode(&req), want);
    }

    #[test]
    fn varint_lengths_cross_byte_boundaries() {
        for len in [0usize, 1, 127, 128, 16_383, 16_384, 2_097_151, 2_097_152] {
            let req = JobRequest {
                context_ptr: "x".repeat(len),
                ..JobRequest::default()
            };
            let bytes = encode(&req);
            assert_eq!(bytes.len(), bytes.capacity(), "pre-sized exactly");
            let decoded = JobRequest::from_wire(&bytes);
            assert_eq!(decoded.as_ref(), Ok(&req), "length {len}");
        }
    }
}
