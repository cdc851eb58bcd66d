//! Reading a JobRequest from protojson the way protobuf-go's `protojson.Unmarshal` (with
//! `DiscardUnknown: false`) does, so that whatever Cordum accepted and hashed is read into the
//! same message here, and whatever Cordum would reject is rejected.
//!
//! The rules that matter, all from protobuf-go's `encoding/protojson/decode.go`:
//! * a member may use the field's JSON name or its proto name, and a field may appear once
//!   (by either name); unknown names are errors;
//! * `null` means "not set" for every field, including messages, maps and lists, but map
//!   values and list elements may not be `null`;
//! * int32 and int64 accept a JSON number or a string holding one, in any notation that
//!   denotes an integer in range (`1e3`, `5.0`); bools accept only `true` and `false`;
//! * enums accept a value name, or a JSON number (any int32, named or not).
//!
//! The schema is the generation's: v0.9 knows fields 1 to 16 and refuses `compensation`
//! (even as `null`), the new generation knows field 17 too.

use std::collections::BTreeMap;

use super::error::{JobRequestError, Problem};
use super::json::{string_integer, token_integer, Reader, Value};
use super::model::{ActorType, Budget, Compensation, ContextHints, JobMetadata, JobPriority};
use super::model::{Generation, JobRequest};

/// A field's two protojson names. A message's table lists its fields in field-number order,
/// with no gaps, so a field's number is its index plus one.
struct Field {
    json: &'static str,
    proto: &'static str,
}

const fn field(json: &'static str, proto: &'static str) -> Field {
    Field { json, proto }
}

const JOB_REQUEST: &[Field] = &[
    field("jobId", "job_id"),
    field("topic", "topic"),
    field("priority", "priority"),
    field("contextPtr", "context_ptr"),
    field("adapterId", "adapter_id"),
    field("env", "env"),
    field("parentJobId", "parent_job_id"),
    field("workflowId", "workflow_id"),
    field("stepIndex", "step_index"),
    field("memoryId", "memory_id"),
    field("contextHints", "context_hints"),
    field("budget", "budget"),
    field("tenantId", "tenant_id"),
    field("principalId", "principal_id"),
    field("labels", "labels"),
    field("meta", "meta"),
    field("compensation", "compensation"),
];

/// v0.9's JobRequest: the same table without field 17.
const V09_FIELDS: usize = 16;

const COMPENSATION: &[Field] = &[
    field("topic", "topic"),
    field("contextPtr", "context_ptr"),
    field("priority", "priority"),
    field("adapterId", "adapter_id"),
    field("env", "env"),
    field("memoryId", "memory_id"),
    field("contextHints", "context_hints"),
    field("budget", "budget"),
    field("tenantId", "tenant_id"),
    field("principalId", "principal_id"),
    field("labels", "labels"),
    field("meta", "meta"),
];

const CONTEXT_HINTS: &[Field] = &[
    field("maxInputTokens", "max_input_tokens"),
    field("allowSummarization", "allow_summarization"),
    field("allowRetrieval", "allow_retrieval"),
    field("tags", "tags"),
];

const BUDGET: &[Field] = &[
    field("maxInputTokens", "max_input_tokens"),
    field("maxOutputTokens", "max_output_tokens"),
    field("maxTotalTokens", "max_total_tokens"),
    field("deadlineMs", "deadline_ms"),
];

const JOB_METADATA: &[Field] = &[
    field("tenantId", "tenant_id"),
    field("actorId", "actor_id"),
    field("actorType", "actor_type"),
    field("idempotencyKey", "idempotency_key"),
    field("capability", "capability"),
    field("riskTags", "risk_tags"),
    field("requires", "requires"),
    field("packId", "pack_id"),
    field("labels", "labels"),
];

/// Parses a whole protojson document with `generation`'s schema.
pub(super) fn decode(bytes: &[u8], generation: Generation) -> Result<JobRequest, JobRequestError> {
    let fields = match generation {
        Generation::V09 => JOB_REQUEST.get(..V09_FIELDS).unwrap_or(JOB_REQUEST),
        Generation::New => JOB_REQUEST,
    };
    let mut reader = Reader::new(bytes);
    let request = job_request(&mut reader, fields)?;
    reader.finish()?;
    Ok(request)
}

fn job_request(r: &mut Reader<'_>, fields: &[Field]) -> Result<JobRequest, JobRequestError> {
    let mut q = JobRequest::default();
    message(r, fields, |r, number| {
        match number {
            1 => q.job_id = string(r)?,
            2 => q.topic = string(r)?,
            3 => q.priority = priority(r)?,
            4 => q.context_ptr = string(r)?,
            5 => q.adapter_id = string(r)?,
            6 => q.env = string_map(r)?,
            7 => q.parent_job_id = string(r)?,
            8 => q.workflow_id = string(r)?,
            9 => q.step_index = int32(r)?,
            10 => q.memory_id = string(r)?,
            11 => q.context_hints = Some(context_hints(r)?),
            12 => q.budget = Some(budget(r)?),
            13 => q.tenant_id = string(r)?,
            14 => q.principal_id = string(r)?,
            15 => q.labels = string_map(r)?,
            16 => q.meta = Some(job_metadata(r)?),
            17 => q.compensation = Some(compensation(r)?),
            // `message` only passes numbers from the table.
            _ => {}
        }
        Ok(())
    })?;
    Ok(q)
}

fn compensation(r: &mut Reader<'_>) -> Result<Compensation, JobRequestError> {
    let mut c = Compensation::default();
    message(r, COMPENSATION, |r, number| {
        match number {
            1 => c.topic = string(r)?,
            2 => c.context_ptr = string(r)?,
            3 => c.priority = priority(r)?,
            4 => c.adapter_id = string(r)?,
            5 => c.env = string_map(r)?,
            6 => c.memory_id = string(r)?,
            7 => c.context_hints = Some(context_hints(r)?),
            8 => c.budget = Some(budget(r)?),
            9 => c.tenant_id = string(r)?,
            10 => c.principal_id = string(r)?,
            11 => c.labels = string_map(r)?,
            12 => c.meta = Some(job_metadata(r)?),
            _ => {}
        }
        Ok(())
    })?;
    Ok(c)
}

fn priority(r: &mut Reader<'_>) -> Result<JobPriority, JobRequestError> {
    enumeration(r, |n| JobPriority::from_name(n).map(|e| e.0)).map(JobPriority)
}

fn context_hints(r: &mut Reader<'_>) -> Result<ContextHints, JobRequestError> {
    let mut h = ContextHints::default();
    message(r, CONTEXT_HINTS, |r, number| {
        match number {
            1 => h.max_input_tokens = int32(r)?,
            2 => h.allow_summarization = boolean(r)?,
            3 => h.allow_retrieval = boolean(r)?,
            4 => h.tags = string_list(r)?,
            _ => {}
        }
        Ok(())
    })?;
    Ok(h)
}

fn budget(r: &mut Reader<'_>) -> Result<Budget, JobRequestError> {
    let mut b = Budget::default();
    message(r, BUDGET, |r, number| {
        match number {
            1 => b.max_input_tokens = int64(r)?,
            2 => b.max_output_tokens = int64(r)?,
            3 => b.max_total_tokens = int64(r)?,
            4 => b.deadline_ms = int64(r)?,
            _ => {}
        }
        Ok(())
    })?;
    Ok(b)
}

fn job_metadata(r: &mut Reader<'_>) -> Result<JobMetadata, JobRequestError> {
    let mut m = JobMetadata::default();
    message(r, JOB_METADATA, |r, number| {
        match number {
            1 => m.tenant_id = string(r)?,
            2 => m.actor_id = string(r)?,
            3 => {
                m.actor_type = ActorType(enumeration(r, |n| ActorType::from_name(n).map(|e| e.0))?)
            }
            4 => m.idempotency_key = string(r)?,
            5 => m.capability = string(r)?,
            6 => m.risk_tags = string_list(r)?,
            7 => m.requires = string_list(r)?,
            8 => m.pack_id = string(r)?,
            9 => m.labels = string_map(r)?,
            _ => {}
        }
        Ok(())
    })?;
    Ok(m)
}

/// Reads one JSON object as a message: resolves each member name against `fields`, rejects
/// unknown and repeated fields, skips `null`s, and hands every other value to `read_field`
/// with the field's number. Errors from a field are placed under the field's JSON name.
fn message<'a>(
    r: &mut Reader<'a>,
    fields: &[Field],
    mut read_field: impl FnMut(&mut Reader<'a>, usize) -> Result<(), JobRequestError>,
) -> Result<(), JobRequestError> {
    expect(r, Value::ObjectStart, "an object")?;
    // Field numbers seen so far, as bits; Go tracks numbers rather than names, which is what
    // makes `jobId` together with `job_id` a duplicate.
    let mut seen = 0u64;
    let mut first = true;
    while let Some(name) = r.next_name(&mut first)? {
        // Go tries every JSON name before any proto name.
        let found = fields
            .iter()
            .enumerate()
            .find(|(_, f)| f.json == name)
            .or_else(|| fields.iter().enumerate().find(|(_, f)| f.proto == name));
        let Some((index, field)) = found else {
            return Err(JobRequestError::from(Problem::UnknownField).within(&name));
        };
        let bit = 1u64 << index;
        if seen & bit != 0 {
            return Err(JobRequestError::from(Problem::DuplicateField).within(field.json));
        }
        seen |= bit;
        if r.take_null()
            .map_err(|e| JobRequestError::from(e).within(field.json))?
        {
            continue;
        }
        read_field(r, index + 1).map_err(|e| e.within(field.json))?;
    }
    Ok(())
}

/// Reads the opening bracket of a container, or fails with `expected`.
fn expect(
    r: &mut Reader<'_>,
    want: Value<'_>,
    expected: &'static str,
) -> Result<(), JobRequestError> {
    let got = r.value()?;
    if std::mem::discriminant(&got) == std::mem::discriminant(&want) {
        Ok(())
    } else {
        Err(invalid(expected))
    }
}

fn invalid(expected: &'static str) -> JobRequestError {
    Problem::InvalidValue { expected }.into()
}

fn string(r: &mut Reader<'_>) -> Result<String, JobRequestError> {
    match r.value()? {
        Value::String(s) => Ok(s.into_owned()),
        _ => Err(invalid("a string")),
    }
}

fn boolean(r: &mut Reader<'_>) -> Result<bool, JobRequestError> {
    match r.value()? {
        Value::Bool(b) => Ok(b),
        _ => Err(invalid("true or false")),
    }
}

/// Any integer protojson accepts for an int32 or int64 field, before the range check.
fn integer(r: &mut Reader<'_>) -> Result<Option<i64>, JobRequestError> {
    Ok(match r.value()? {
        Value::Number(raw) => token_integer(raw),
        Value::String(text) => string_integer(&text),
        _ => None,
    })
}

fn int32(r: &mut Reader<'_>) -> Result<i32, JobRequestError> {
    integer(r)?
        .and_then(|n| i32::try_from(n).ok())
        .ok_or_else(|| invalid("a 32-bit integer, as a JSON number or string"))
}

fn int64(r: &mut Reader<'_>) -> Result<i64, JobRequestError> {
    integer(r)?.ok_or_else(|| invalid("a 64-bit integer, as a JSON number or string"))
}

/// An enum value by name, or by number; a number need not have a name (proto3 enums are
/// open), but it must be a JSON number: Go looks a string up only as a name.
fn enumeration(
    r: &mut Reader<'_>,
    by_name: impl Fn(&str) -> Option<i32>,
) -> Result<i32, JobRequestError> {
    let number = match r.value()? {
        Value::String(name) => by_name(&name),
        Value::Number(raw) => token_integer(raw).and_then(|n| i32::try_from(n).ok()),
        _ => None,
    };
    number.ok_or_else(|| invalid("an enum value name or a 32-bit integer"))
}

fn string_map(r: &mut Reader<'_>) -> Result<BTreeMap<String, String>, JobRequestError> {
    expect(r, Value::ObjectStart, "an object")?;
    let mut map = BTreeMap::new();
    let mut first = true;
    while let Some(key) = r.next_name(&mut first)? {
        let key = key.into_owned();
        let segment = || format!("[{key:?}]");
        if map.contains_key(&key) {
            return Err(JobRequestError::from(Problem::DuplicateMapKey).within(&segment()));
        }
        let value = string(r).map_err(|e| e.within(&segment()))?;
        map.insert(key, value);
    }
    Ok(map)
}

fn string_list(r: &mut Reader<'_>) -> Result<Vec<String>, JobRequestError> {
    expect(r, Value::ArrayStart, "an array")?;
    let mut list = Vec::new();
    let mut first = true;
    while r.next_element(&mut first)? {
        let item = string(r).map_err(|e| e.within(&format!("[{}]", list.len())))?;
        list.push(item);
    }
    Ok(list)
}
