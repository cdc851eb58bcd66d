//! Reading a JobRequest from protobuf binary the way protobuf-go's `proto.Unmarshal` does
//! (`internal/impl/decode.go`, `codec_gen.go`, `codec_map.go`, `encoding/protowire`), and the
//! wire-format primitives the job hash encoder shares.
//!
//! What protobuf-go does and this copies:
//! * a known field number with an unexpected wire type is an unknown field;
//! * unknown fields are kept, in order, in the message they appear in, with their tag
//!   re-encoded minimally and their value bytes as they were;
//! * scalars: last one wins; a message field given twice is merged; list elements append;
//! * map entries: missing key or value is `""`, a later entry for a key replaces an earlier
//!   one, and unknown fields inside an entry are dropped;
//! * int32 and enum varints are truncated to their low 32 bits, bools are "varint != 0";
//! * every string must be UTF-8.
//!
//! Field 17 (`compensation`) is a message under [`Generation::New`] and an unknown field, kept
//! as raw bytes, under [`Generation::V09`].

use std::collections::BTreeMap;

use super::error::{JobRequestError, Problem};
use super::model::{ActorType, Budget, Compensation, ContextHints, JobMetadata, JobPriority};
use super::model::{Generation, JobRequest};

pub(crate) const VARINT: u8 = 0;
const FIXED64: u8 = 1;
pub(crate) const LEN: u8 = 2;
const START_GROUP: u8 = 3;
const END_GROUP: u8 = 4;
const FIXED32: u8 = 5;

/// protowire's `MaxValidNumber`; message fields and map entry fields must not exceed it.
const MAX_FIELD_NUMBER: u64 = (1 << 29) - 1;
/// Fields inside an unknown group only pass `ConsumeTag`, which allows up to `MaxInt32`.
const MAX_GROUP_FIELD_NUMBER: u64 = i32::MAX as u64;
/// protowire's `DefaultRecursionLimit` of 10000 counts down from the outermost group and
/// fails below zero, so 10001 groups may be open at once.
const MAX_OPEN_GROUPS: usize = 10_001;

/// A varint's encoding, without allocating.
pub(crate) struct Varint {
    bytes: [u8; 10],
    len: usize,
}

impl Varint {
    pub(crate) fn new(mut value: u64) -> Self {
        let mut bytes = [0u8; 10];
        let mut len = 0;
        for slot in &mut bytes {
            len += 1;
            if value < 0x80 {
                *slot = value as u8;
                break;
            }
            // Truncation is the point: the low seven bits, plus the continuation bit.
            *slot = (value as u8) | 0x80;
            value >>= 7;
        }
        Self { bytes, len }
    }

    pub(crate) fn as_bytes(&self) -> &[u8] {
        self.bytes.get(..self.len).unwrap_or(&self.bytes)
    }
}

/// Reads protobuf-go's wire format from a byte slice.
struct Cursor<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Cursor<'a> {
    fn new(buf: &'a [u8]) -> Self {
        Self { buf, pos: 0 }
    }

    fn at_end(&self) -> bool {
        self.pos >= self.buf.len()
    }

    /// protowire's `ConsumeVarint`: at most ten bytes, and the tenth may only hold bit 63.
    /// Non-minimal encodings are accepted.
    fn varint(&mut self) -> Result<u64, Problem> {
        let mut value = 0u64;
        for i in 0..10 {
            let byte = *self
                .buf
                .get(self.pos + i)
                .ok_or(Problem::Wire("truncated varint"))?;
            if i == 9 && byte > 1 {
                return Err(Problem::Wire("varint overflows 64 bits"));
            }
            value |= u64::from(byte & 0x7f) << (7 * i);
            if byte < 0x80 {
                self.pos += i + 1;
                return Ok(value);
            }
        }
        Err(Problem::Wire("varint overflows 64 bits"))
    }

    fn take(&mut self, len: u64) -> Result<&'a [u8], Problem> {
        let end = usize::try_from(len)
            .ok()
            .and_then(|len| self.pos.checked_add(len))
            .filter(|&end| end <= self.buf.len())
            .ok_or(Problem::Wire("length runs past the end of the input"))?;
        let bytes = self.buf.get(self.pos..end).unwrap_or_default();
        self.pos = end;
        Ok(bytes)
    }

    fn len_prefixed(&mut self) -> Result<&'a [u8], Problem> {
        let len = self.varint()?;
        self.take(len)
    }

    /// A tag whose field number must lie in `1..=max_number`.
    fn tag(&mut self, max_number: u64) -> Result<(u32, u8), Problem> {
        let tag = self.varint()?;
        let number = tag >> 3;
        if number == 0 || number > max_number {
            return Err(Problem::Wire("invalid field number"));
        }
        let number = u32::try_from(number).map_err(|_| Problem::Wire("invalid field number"))?;
        Ok((number, (tag & 7) as u8))
    }

    /// protowire's `ConsumeFieldValue`: skips one value of an unknown field.
    fn skip_value(&mut self, number: u32, wire_type: u8) -> Result<(), Problem> {
        match wire_type {
            VARINT => self.varint().map(drop),
            FIXED64 => self.take(8).map(drop),
            LEN => self.len_prefixed().map(drop),
            FIXED32 => self.take(4).map(drop),
            START_GROUP => self.skip_group(number),
            END_GROUP => Err(Problem::Wire("end-group tag without a group")),
            _ => Err(Problem::Wire("reserved wire type")),
        }
    }

    /// Skips a group up to its matching end tag. Iterative, so that hostile nesting cannot
    /// exhaust the stack before the depth limit rejects it.
    fn skip_group(&mut self, number: u32) -> Result<(), Problem> {
        let mut open = vec![number];
        while let Some(&innermost) = open.last() {
            let (inner, wire_type) = self.tag(MAX_GROUP_FIELD_NUMBER)?;
            match wire_type {
                END_GROUP if inner == innermost => {
                    open.pop();
                }
                END_GROUP => return Err(Problem::Wire("mismatched end-group tag")),
                START_GROUP if open.len() >= MAX_OPEN_GROUPS => {
                    return Err(Problem::Wire("groups nested too deeply"));
                }
                START_GROUP => open.push(inner),
                _ => self.skip_value(inner, wire_type)?,
            }
        }
        Ok(())
    }
}

/// Walks the fields of one message. `known` reads a field it recognises by number and wire
/// type and returns `true`; everything else is appended to `unknown` as protobuf-go keeps it.
fn fields<'a>(
    buf: &'a [u8],
    unknown: &mut Vec<u8>,
    mut known: impl FnMut(u32, u8, &mut Cursor<'a>) -> Result<bool, JobRequestError>,
) -> Result<(), JobRequestError> {
    let mut c = Cursor::new(buf);
    while !c.at_end() {
        let (number, wire_type) = c.tag(MAX_FIELD_NUMBER)?;
        if known(number, wire_type, &mut c)? {
            continue;
        }
        let start = c.pos;
        c.skip_value(number, wire_type)?;
        let key = (u64::from(number) << 3) | u64::from(wire_type);
        unknown.extend_from_slice(Varint::new(key).as_bytes());
        unknown.extend_from_slice(buf.get(start..c.pos).unwrap_or_default());
    }
    Ok(())
}

/// Decodes a whole JobRequest with `generation`'s schema.
pub(super) fn decode(bytes: &[u8], generation: Generation) -> Result<JobRequest, JobRequestError> {
    let new = generation == Generation::New;
    let mut q = JobRequest::default();
    let mut unknown = Vec::new();
    fields(bytes, &mut unknown, |number, wire_type, c| {
        match (number, wire_type) {
            (1, LEN) => q.job_id = string(c, "jobId")?,
            (2, LEN) => q.topic = string(c, "topic")?,
            (3, VARINT) => q.priority = JobPriority(int32(c)?),
            (4, LEN) => q.context_ptr = string(c, "contextPtr")?,
            (5, LEN) => q.adapter_id = string(c, "adapterId")?,
            (6, LEN) => map_entry(c, &mut q.env, "env")?,
            (7, LEN) => q.parent_job_id = string(c, "parentJobId")?,
            (8, LEN) => q.workflow_id = string(c, "workflowId")?,
            (9, VARINT) => q.step_index = int32(c)?,
            (10, LEN) => q.memory_id = string(c, "memoryId")?,
            (11, LEN) => nested(c, "contextHints", &mut q.context_hints, context_hints)?,
            (12, LEN) => nested(c, "budget", &mut q.budget, budget)?,
            (13, LEN) => q.tenant_id = string(c, "tenantId")?,
            (14, LEN) => q.principal_id = string(c, "principalId")?,
            (15, LEN) => map_entry(c, &mut q.labels, "labels")?,
            (16, LEN) => nested(c, "meta", &mut q.meta, job_metadata)?,
            (17, LEN) if new => nested(c, "compensation", &mut q.compensation, compensation)?,
            _ => return Ok(false),
        }
        Ok(true)
    })?;
    q.unknown = unknown;
    Ok(q)
}

fn compensation(buf: &[u8], m: &mut Compensation) -> Result<(), JobRequestError> {
    let mut unknown = std::mem::take(&mut m.unknown);
    fields(buf, &mut unknown, |number, wire_type, c| {
        match (number, wire_type) {
            (1, LEN) => m.topic = string(c, "topic")?,
            (2, LEN) => m.context_ptr = string(c, "contextPtr")?,
            (3, VARINT) => m.priority = JobPriority(int32(c)?),
            (4, LEN) => m.adapter_id = string(c, "adapterId")?,
            (5, LEN) => map_entry(c, &mut m.env, "env")?,
            (6, LEN) => m.memory_id = string(c, "memoryId")?,
            (7, LEN) => nested(c, "contextHints", &mut m.context_hints, context_hints)?,
            (8, LEN) => nested(c, "budget", &mut m.budget, budget)?,
            (9, LEN) => m.tenant_id = string(c, "tenantId")?,
            (10, LEN) => m.principal_id = string(c, "principalId")?,
            (11, LEN) => map_entry(c, &mut m.labels, "labels")?,
            (12, LEN) => nested(c, "meta", &mut m.meta, job_metadata)?,
            _ => return Ok(false),
        }
        Ok(true)
    })?;
    m.unknown = unknown;
    Ok(())
}

fn context_hints(buf: &[u8], h: &mut ContextHints) -> Result<(), JobRequestError> {
    let mut unknown = std::mem::take(&mut h.unknown);
    fields(buf, &mut unknown, |number, wire_type, c| {
        match (number, wire_type) {
            (1, VARINT) => h.max_input_tokens = int32(c)?,
            (2, VARINT) => h.allow_summarization = c.varint()? != 0,
            (3, VARINT) => h.allow_retrieval = c.varint()? != 0,
            (4, LEN) => h.tags.push(string(c, "tags")?),
            _ => return Ok(false),
        }
        Ok(true)
    })?;
    h.unknown = unknown;
    Ok(())
}

fn budget(buf: &[u8], b: &mut Budget) -> Result<(), JobRequestError> {
    let mut unknown = std::mem::take(&mut b.unknown);
    fields(buf, &mut unknown, |number, wire_type, c| {
        match (number, wire_type) {
            (1, VARINT) => b.max_input_tokens = int64(c)?,
            (2, VARINT) => b.max_output_tokens = int64(c)?,
            (3, VARINT) => b.max_total_tokens = int64(c)?,
            (4, VARINT) => b.deadline_ms = int64(c)?,
            _ => return Ok(false),
        }
        Ok(true)
    })?;
    b.unknown = unknown;
    Ok(())
}

fn job_metadata(buf: &[u8], m: &mut JobMetadata) -> Result<(), JobRequestError> {
    let mut unknown = std::mem::take(&mut m.unknown);
    fields(buf, &mut unknown, |number, wire_type, c| {
        match (number, wire_type) {
            (1, LEN) => m.tenant_id = string(c, "tenantId")?,
            (2, LEN) => m.actor_id = string(c, "actorId")?,
            (3, VARINT) => m.actor_type = ActorType(int32(c)?),
            (4, LEN) => m.idempotency_key = string(c, "idempotencyKey")?,
            (5, LEN) => m.capability = string(c, "capability")?,
            (6, LEN) => m.risk_tags.push(string(c, "riskTags")?),
            (7, LEN) => m.requires.push(string(c, "requires")?),
            (8, LEN) => m.pack_id = string(c, "packId")?,
            (9, LEN) => map_entry(c, &mut m.labels, "labels")?,
            _ => return Ok(false),
        }
        Ok(true)
    })?;
    m.unknown = unknown;
    Ok(())
}

/// A message field: created on first sight, merged into on every later one.
fn nested<T: Default>(
    c: &mut Cursor<'_>,
    name: &str,
    slot: &mut Option<T>,
    decode: fn(&[u8], &mut T) -> Result<(), JobRequestError>,
) -> Result<(), JobRequestError> {
    let body = c.len_prefixed()?;
    decode(body, slot.get_or_insert_with(T::default)).map_err(|e| e.within(name))
}

/// protobuf-go stores `int32(v)`: the varint's low 32 bits.
fn int32(c: &mut Cursor<'_>) -> Result<i32, Problem> {
    Ok(c.varint()? as i32)
}

/// protobuf-go stores `int64(v)`: the varint's bits reinterpreted.
fn int64(c: &mut Cursor<'_>) -> Result<i64, Problem> {
    Ok(c.varint()? as i64)
}

fn string(c: &mut Cursor<'_>, name: &str) -> Result<String, JobRequestError> {
    let bytes = c.len_prefixed()?;
    utf8(bytes).map_err(|e| JobRequestError::from(e).within(name))
}

fn utf8(bytes: &[u8]) -> Result<String, Problem> {
    std::str::from_utf8(bytes)
        .map(str::to_owned)
        .map_err(|_| Problem::InvalidUtf8)
}

/// One map entry, a nested message with key 1 and value 2 (protobuf-go's `consumeMap`).
fn map_entry(
    c: &mut Cursor<'_>,
    map: &mut BTreeMap<String, String>,
    name: &str,
) -> Result<(), JobRequestError> {
    let entry = c.len_prefixed()?;
    read_entry(entry)
        .map(|(key, value)| {
            map.insert(key, value);
        })
        .map_err(|e| JobRequestError::from(e).within(name))
}

fn read_entry(entry: &[u8]) -> Result<(String, String), Problem> {
    let mut key = String::new();
    let mut value = String::new();
    let mut c = Cursor::new(entry);
    while !c.at_end() {
        match c.tag(MAX_FIELD_NUMBER)? {
            (1, LEN) => key = utf8(c.len_prefixed()?)?,
            (2, LEN) => value = utf8(c.len_prefixed()?)?,
            (number, wire_type) => c.skip_value(number, wire_type)?,
        }
    }
    Ok((key, value))
}
