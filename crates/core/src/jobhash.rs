//! Cordum's job hash in both generations, byte-identical with v0.9's
//! `scheduler.HashJobRequest` and the new generation's `reqhash.Hash` (CONTRACT.md §8.1,
//! jobhash-vectors.md): strip the keys the gateway and scheduler add after submission, encode
//! the rest with protobuf-go's deterministic marshalling, and SHA-256 the bytes.
//!
//! The generations differ in three ways ([`Generation`]): the new one also strips the label
//! `policy.attachment_id`, encodes field 17 `compensation` (which only a request read under
//! [`Generation::New`] carries), and drops unknown fields at every level before encoding,
//! where v0.9 writes them back after the known fields.
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
pub use crate::jobrequest::Generation;
use crate::jobrequest::{Budget, Compensation, ContextHints, JobMetadata, JobRequest};

/// The label the bus adds to a re-published job (`bus.LabelBusMsgID`).
const BUS_MSG_ID_LABEL: &str = "cordum.bus_msg_id";
/// The label a job-scoped policy attachment adds (`policylabels.PolicyAttachmentID`), stripped
/// by the new generation only.
const POLICY_ATTACHMENT_LABEL: &str = "policy.attachment_id";
/// The env entry the scheduler adds at dispatch (`config.EffectiveConfigEnvVar`).
const EFFECTIVE_CONFIG_ENV: &str = "CORDUM_EFFECTIVE_CONFIG";
const APPROVAL_PREFIX: &[u8] = b"approval_";

/// The job hash of `req` under `generation`'s rules: lowercase hex SHA-256 of
/// [`canonical_bytes`]. `req` must have been read with the same generation's schema.
pub fn job_hash(req: &JobRequest, generation: Generation) -> String {
    let mut hasher = Sha256::new();
    write_request(&mut hasher, req, Mode::hash(generation));
    to_hex(&hasher.finalize())
}

/// The exact bytes Cordum hashes under `generation`'s rules: `req` without the ignored labels
/// and env entries (and, in the new generation, without unknown fields), in Go's
/// deterministic encoding.
pub fn canonical_bytes(req: &JobRequest, generation: Generation) -> Vec<u8> {
    to_vec(req, Mode::hash(generation))
}

/// Go's deterministic encoding of `req` as it is, nothing stripped, unknown fields kept.
pub fn encode(req: &JobRequest) -> Vec<u8> {
    to_vec(
        req,
        Mode {
            strip: None,
            unknown: true,
        },
    )
}

/// Whether `generation`'s job hash ignores this key of `JobRequest.labels`: `approval_*` in
/// any case (Go lower-cases before comparing) and exactly `cordum.bus_msg_id`; in the new
/// generation also exactly `policy.attachment_id`.
pub fn is_ignored_label(key: &str, generation: Generation) -> bool {
    // Go's `strings.ToLower(key)` maps a non-ASCII rune to ASCII only for U+212A (to `k`) and
    // U+0130 (to `i`), neither in the prefix, so an ASCII case-insensitive comparison of the
    // first nine bytes decides exactly as Go does.
    let approval = key
        .as_bytes()
        .get(..APPROVAL_PREFIX.len())
        .is_some_and(|prefix| prefix.eq_ignore_ascii_case(APPROVAL_PREFIX));
    let attachment = generation == Generation::New && key == POLICY_ATTACHMENT_LABEL;
    approval || attachment || key == BUS_MSG_ID_LABEL
}

/// Whether the job hash ignores this key of `JobRequest.env`: exactly `CORDUM_EFFECTIVE_CONFIG`
/// (both generations).
pub fn is_ignored_env(key: &str) -> bool {
    key == EFFECTIVE_CONFIG_ENV
}

/// How to encode: which generation's stripping applies to the top-level labels and env (none
/// for [`encode`]), and whether unknown fields are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Mode {
    strip: Option<Generation>,
    unknown: bool,
}

impl Mode {
    fn hash(generation: Generation) -> Self {
        Self {
            strip: Some(generation),
            unknown: generation == Generation::V09,
        }
    }

    fn unknown(self, bytes: &[u8]) -> &[u8] {
        if self.unknown {
            bytes
        } else {
            &[]
        }
    }
}

fn to_vec(req: &JobRequest, mode: Mode) -> Vec<u8> {
    let mut size = Counter(0);
    write_request(&mut size, req, mode);
    let mut out = Vec::with_capacity(size.0);
    write_request(&mut out, req, mode);
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

/// A nested message's fields, in field-number order, followed by its unknown fields when
/// `mode` keeps them.
trait Message {
    fn write<S: Sink>(&self, s: &mut S, mode: Mode);
}

fn write_request<S: Sink>(s: &mut S, q: &JobRequest, mode: Mode) {
    let keep_env = |key: &str| mode.strip.is_none() || !is_ignored_env(key);
    let keep_label = |key: &str| mode.strip.is_none_or(|g| !is_ignored_label(key, g));
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
    put_message(s, 11, q.context_hints.as_ref(), mode);
    put_message(s, 12, q.budget.as_ref(), mode);
    put_string(s, 13, &q.tenant_id);
    put_string(s, 14, &q.principal_id);
    put_map(s, 15, &q.labels, keep_label);
    put_message(s, 16, q.meta.as_ref(), mode);
    put_message(s, 17, q.compensation.as_ref(), mode);
    s.put(mode.unknown(&q.unknown));
}

impl Message for Compensation {
    fn write<S: Sink>(&self, s: &mut S, mode: Mode) {
        put_string(s, 1, &self.topic);
        put_string(s, 2, &self.context_ptr);
        put_int32(s, 3, self.priority.0);
        put_string(s, 4, &self.adapter_id);
        put_map(s, 5, &self.env, |_| true);
        put_string(s, 6, &self.memory_id);
        put_message(s, 7, self.context_hints.as_ref(), mode);
        put_message(s, 8, self.budget.as_ref(), mode);
        put_string(s, 9, &self.tenant_id);
        put_string(s, 10, &self.principal_id);
        put_map(s, 11, &self.labels, |_| true);
        put_message(s, 12, self.meta.as_ref(), mode);
        s.put(mode.unknown(&self.unknown));
    }
}

impl Message for ContextHints {
    fn write<S: Sink>(&self, s: &mut S, mode: Mode) {
        put_int32(s, 1, self.max_input_tokens);
        put_bool(s, 2, self.allow_summarization);
        put_bool(s, 3, self.allow_retrieval);
        put_strings(s, 4, &self.tags);
        s.put(mode.unknown(&self.unknown));
    }
}

impl Message for Budget {
    fn write<S: Sink>(&self, s: &mut S, mode: Mode) {
        put_int64(s, 1, self.max_input_tokens);
        put_int64(s, 2, self.max_output_tokens);
        put_int64(s, 3, self.max_total_tokens);
        put_int64(s, 4, self.deadline_ms);
        s.put(mode.unknown(&self.unknown));
    }
}

impl Message for JobMetadata {
    fn write<S: Sink>(&self, s: &mut S, mode: Mode) {
        put_string(s, 1, &self.tenant_id);
        put_string(s, 2, &self.actor_id);
        put_int32(s, 3, self.actor_type.0);
        put_string(s, 4, &self.idempotency_key);
        put_string(s, 5, &self.capability);
        put_strings(s, 6, &self.risk_tags);
        put_strings(s, 7, &self.requires);
        put_string(s, 8, &self.pack_id);
        put_map(s, 9, &self.labels, |_| true);
        s.put(mode.unknown(&self.unknown));
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
fn put_message<S: Sink, M: Message>(s: &mut S, field: u32, message: Option<&M>, mode: Mode) {
    if let Some(message) = message {
        let mut len = Counter(0);
        message.write(&mut len, mode);
        put_key(s, field, LEN);
        put_varint(s, len.0 as u64);
        message.write(s, mode);
    }
}

#[cfg(test)]
mod tests;
