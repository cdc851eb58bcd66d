//! Reading approval JSON with the per-field tolerance described in the parent module: identity
//! fields are strict about their type, every other field degrades to its empty value.

use serde::de::{DeserializeOwned, Error as _};
use serde::{Deserialize, Deserializer};
use serde_json::value::RawValue;
use serde_json::{Map, Value};

use super::{ApprovalError, ApprovalItem, ApprovalPage, JobRecord, RejectedItem};

/// `deserialize_with` for descriptive fields: a value of the wrong type reads as the default.
pub(super) fn lenient<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: DeserializeOwned + Default,
{
    Value::deserialize(deserializer).map(or_default)
}

fn or_default<T: DeserializeOwned + Default>(value: Value) -> T {
    T::deserialize(value).unwrap_or_default()
}

fn json_kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// The keys of one JSON object, consumed one by one so that large values move instead of
/// being copied.
struct Fields {
    map: Map<String, Value>,
    /// Prefix for error messages (`"job."` inside the job record).
    path: &'static str,
}

impl Fields {
    fn of(value: Value, name: &'static str, path: &'static str) -> Result<Self, ApprovalError> {
        match value {
            Value::Object(map) => Ok(Self { map, path }),
            other => Err(wrong_type(name.to_owned(), "an object", &other)),
        }
    }

    fn take(&mut self, key: &str) -> Value {
        self.map.remove(key).unwrap_or(Value::Null)
    }

    /// An identity string: absent or `null` reads as empty, any other non-string is an error.
    fn identity(&mut self, key: &'static str) -> Result<String, ApprovalError> {
        match self.take(key) {
            Value::String(text) => Ok(text),
            Value::Null => Ok(String::new()),
            other => Err(wrong_type(
                format!("{}{key}", self.path),
                "a string",
                &other,
            )),
        }
    }

    fn lenient<T: DeserializeOwned + Default>(&mut self, key: &str) -> T {
        or_default(self.take(key))
    }

    /// A descriptive nested object; anything but an object (an array would otherwise fill the
    /// struct positionally) reads as `None`.
    fn nested<T: DeserializeOwned>(&mut self, key: &str) -> Option<T> {
        match self.take(key) {
            object @ Value::Object(_) => T::deserialize(object).ok(),
            _ => None,
        }
    }
}

fn wrong_type(field: String, expected: &'static str, found: &Value) -> ApprovalError {
    ApprovalError::WrongType {
        field,
        expected,
        found: json_kind(found),
    }
}

impl JobRecord {
    fn from_value(value: Value) -> Result<Self, ApprovalError> {
        let mut f = Fields::of(value, "job", "job.")?;
        Ok(Self {
            id: f.identity("id")?,
            state: f.identity("state")?,
            worker_id: f.lenient("worker_id"),
            trace_id: f.lenient("trace_id"),
            updated_at: f.lenient("updated_at"),
            topic: f.lenient("topic"),
            tenant: f.lenient("tenant"),
            team: f.lenient("team"),
            principal: f.lenient("principal"),
            actor_id: f.lenient("actor_id"),
            actor_type: f.lenient("actor_type"),
            idempotency_key: f.lenient("idempotency_key"),
            capability: f.lenient("capability"),
            risk_tags: f.lenient("risk_tags"),
            requires: f.lenient("requires"),
            pack_id: f.lenient("pack_id"),
            attempts: f.lenient("attempts"),
            safety_decision: f.lenient("safety_decision"),
            safety_reason: f.lenient("safety_reason"),
            safety_rule_id: f.lenient("safety_rule_id"),
            safety_snapshot: f.lenient("safety_snapshot"),
            deadline_unix: f.lenient("deadline_unix"),
            failure_reason: f.lenient("failure_reason"),
        })
    }
}

impl ApprovalItem {
    /// Reads one item of the `items` array.
    pub fn from_value(value: Value) -> Result<Self, ApprovalError> {
        let mut f = Fields::of(value, "item", "")?;
        let job = match f.take("job") {
            Value::Null => JobRecord::default(),
            job => JobRecord::from_value(job)?,
        };
        if job.id.is_empty() {
            return Err(ApprovalError::MissingJobId);
        }
        Ok(Self {
            job,
            job_hash: f.identity("job_hash")?,
            policy_snapshot: f.identity("policy_snapshot")?,
            decision: f.lenient("decision"),
            policy_rule_id: f.lenient("policy_rule_id"),
            policy_reason: f.lenient("policy_reason"),
            constraints: f.take("constraints"),
            approval_required: f.lenient("approval_required"),
            approval_ref: f.lenient("approval_ref"),
            approval_status: f.lenient("approval_status"),
            approval_actionability: f.lenient("approval_actionability"),
            approval_revision: f.lenient("approval_revision"),
            approval_decision: f.lenient("approval_decision"),
            submitted_by: f.lenient("submitted_by"),
            resolved_by: f.lenient("resolved_by"),
            resolved_comment: f.lenient("resolved_comment"),
            resolution: f.lenient("resolution"),
            resolved_at: f.lenient("resolved_at"),
            workflow_id: f.lenient("workflow_id"),
            workflow_run_id: f.lenient("workflow_run_id"),
            workflow_step_id: f.lenient("workflow_step_id"),
            step_name: f.lenient("step_name"),
            gate_type: f.lenient("gate_type"),
            workflow_name: f.lenient("workflow_name"),
            context_ptr: f.lenient("context_ptr"),
            job_input: f.take("job_input"),
            decision_summary: f.nested("decision_summary"),
            blast_radius: f.nested("blast_radius"),
            rollback_hint: f.lenient("rollback_hint"),
            policy_snapshot_summary: f.nested("policy_snapshot_summary"),
        })
    }
}

impl ApprovalPage {
    /// Reads a `GET /api/v1/approvals` response body, each item on its own: the JSON
    /// parser's nesting limit counts from the start of what it parses, so one agent's deeply
    /// nested context read as part of the page would make the whole page unreadable. An item
    /// that cannot be parsed is rejected with its job id when that can still be read.
    pub fn from_json(body: &[u8]) -> Result<Self, ApprovalError> {
        let Some((entries, next_cursor)) = split_page(body) else {
            // Not a page of items at all: the whole-body reader names what is wrong.
            let value = serde_json::from_slice(body)
                .map_err(|error| ApprovalError::NotJson(error.to_string()))?;
            return Self::from_value(value);
        };
        let mut page = Self::from_value(serde_json::json!({ "next_cursor": next_cursor }))?;
        for (index, entry) in entries.into_iter().enumerate() {
            let parsed = serde_json::from_str::<Value>(entry.get())
                .map_err(|error| ApprovalError::NotJson(error.to_string()))
                .and_then(ApprovalItem::from_value);
            match parsed {
                Ok(item) => page.items.push(item),
                Err(error) => page.rejected.push(RejectedItem {
                    index,
                    job_id: job_id_of(entry.get()),
                    error,
                }),
            }
        }
        Ok(page)
    }

    /// Reads an already parsed response body.
    pub fn from_value(value: Value) -> Result<Self, ApprovalError> {
        let mut f = Fields::of(value, "page", "")?;
        let next_cursor = match f.take("next_cursor") {
            Value::Null => None,
            Value::Number(number) if number.is_i64() => number.as_i64(),
            other => return Err(wrong_type("next_cursor".into(), "an integer", &other)),
        };
        let entries = match f.take("items") {
            Value::Null => Vec::new(),
            Value::Array(entries) => entries,
            other => return Err(wrong_type("items".into(), "an array", &other)),
        };
        let mut page = Self {
            next_cursor,
            ..Self::default()
        };
        for (index, entry) in entries.into_iter().enumerate() {
            let job_id = entry
                .pointer("/job/id")
                .and_then(Value::as_str)
                .map(str::to_owned);
            match ApprovalItem::from_value(entry) {
                Ok(item) => page.items.push(item),
                Err(error) => page.rejected.push(RejectedItem {
                    index,
                    job_id,
                    error,
                }),
            }
        }
        Ok(page)
    }
}

/// A page object's items still unparsed, and its cursor; `None` when the body is not an
/// object whose `items` is an array (or absent, or null).
fn split_page(body: &[u8]) -> Option<(Vec<&RawValue>, Value)> {
    let fields: std::collections::HashMap<&str, &RawValue> = serde_json::from_slice(body).ok()?;
    let items = match fields.get("items") {
        None => Vec::new(),
        Some(raw) if raw.get() == "null" => Vec::new(),
        Some(raw) => serde_json::from_str(raw.get()).ok()?,
    };
    let next_cursor = match fields.get("next_cursor") {
        None => Value::Null,
        Some(raw) => serde_json::from_str(raw.get()).ok()?,
    };
    Some((items, next_cursor))
}

/// Only the job id of an item; everything else is skipped without being built, which has
/// no nesting limit.
#[derive(Deserialize)]
struct IdOnly {
    job: IdOnlyJob,
}

#[derive(Deserialize)]
struct IdOnlyJob {
    id: String,
}

fn job_id_of(item: &str) -> Option<String> {
    serde_json::from_str::<IdOnly>(item)
        .ok()
        .map(|only| only.job.id)
        .filter(|id| !id.is_empty())
}

impl<'de> Deserialize<'de> for ApprovalItem {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Self::from_value(Value::deserialize(deserializer)?).map_err(D::Error::custom)
    }
}

impl<'de> Deserialize<'de> for ApprovalPage {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Self::from_value(Value::deserialize(deserializer)?).map_err(D::Error::custom)
    }
}
