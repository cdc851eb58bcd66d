//! The job a submit describes: validation of the submit body, and the Cordum `JobRequest` the
//! gateway stores for it (CONTRACT.md §8, last paragraph), whose hash (computed by
//! `countersign-core`, never here) is what a reviewer approves.

use std::collections::BTreeMap;

use countersign_core::canonical::canonical_json;
use countersign_core::content::payload_pointer;
use countersign_core::jobrequest::{
    ActorType, Budget, ContextHints, Generation, JobMetadata, JobPriority, JobRequest,
};
use serde::Deserialize;
use serde_json::Value;

use crate::config::SubmitLimits;
use crate::error::GatewayError;

const MAX_PROMPT_CHARS: usize = 50_000;
const MAX_TOPIC_CHARS: usize = 256;
const DEFAULT_TOPIC: &str = "job.default";
const DEFAULT_MAX_INPUT_TOKENS: i64 = 8000;
const DEFAULT_MAX_OUTPUT_TOKENS: i64 = 1024;

/// The body of `POST /api/v1/jobs` (unknown fields are ignored, as Cordum does).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct SubmitBody {
    pub prompt: String,
    pub topic: Option<String>,
    pub adapter_id: String,
    pub priority: String,
    pub context: Option<Value>,
    pub memory_id: String,
    pub context_mode: String,
    pub tenant_id: String,
    pub team_id: String,
    pub project_id: String,
    pub principal_id: String,
    pub actor_id: String,
    pub actor_type: String,
    pub idempotency_key: String,
    pub pack_id: String,
    pub capability: String,
    pub risk_tags: Vec<String>,
    pub requires: Vec<String>,
    pub labels: BTreeMap<String, String>,
    pub max_input_tokens: Option<i64>,
    pub allow_summarization: bool,
    pub allow_retrieval: bool,
    pub tags: Vec<String>,
    pub max_output_tokens: Option<i64>,
    pub max_total_tokens: i64,
    pub deadline_ms: i64,
}

impl SubmitBody {
    /// Checks the body against `limits`; the error text is what the client sees in a 400 and
    /// names the limit that was passed.
    pub fn validate(&self, limits: &SubmitLimits) -> Result<(), String> {
        if self.prompt.trim().is_empty() {
            return Err("prompt is required".into());
        }
        if self.prompt.chars().count() > MAX_PROMPT_CHARS {
            return Err(format!(
                "prompt too long (max {MAX_PROMPT_CHARS} characters)"
            ));
        }
        if let Some(topic) = &self.topic {
            check_topic(topic)?;
        }
        self.validate_labels(limits)?;
        self.validate_fields(limits)?;
        if !matches!(self.actor_type.as_str(), "" | "human" | "service") {
            return Err("actor_type must be \"human\" or \"service\"".into());
        }
        self.validate_numbers(limits)?;
        self.validate_context(limits)
    }

    fn validate_labels(&self, limits: &SubmitLimits) -> Result<(), String> {
        if self.labels.len() > limits.max_labels {
            return Err(format!("too many labels (max {})", limits.max_labels));
        }
        for (k, v) in &self.labels {
            if k.is_empty() || k.len() > limits.max_label_key_bytes {
                return Err(format!(
                    "label key must be 1 to {} bytes",
                    limits.max_label_key_bytes
                ));
            }
            if v.len() > limits.max_label_value_bytes {
                return Err(format!(
                    "label {k:?}: value longer than {} bytes",
                    limits.max_label_value_bytes
                ));
            }
        }
        Ok(())
    }

    /// Lists and the identifier-like strings, which nobody reads in bulk: a reviewer's client
    /// shows them whole.
    fn validate_fields(&self, limits: &SubmitLimits) -> Result<(), String> {
        let max = limits.max_field_bytes;
        for (name, list) in [
            ("tags", &self.tags),
            ("risk_tags", &self.risk_tags),
            ("requires", &self.requires),
        ] {
            if list.len() > limits.max_list_items {
                return Err(format!("too many {name} (max {})", limits.max_list_items));
            }
            if list.iter().any(|entry| entry.len() > max) {
                return Err(format!("{name}: an entry is longer than {max} bytes"));
            }
        }
        for (name, value) in [
            ("adapter_id", &self.adapter_id),
            ("priority", &self.priority),
            ("memory_id", &self.memory_id),
            ("context_mode", &self.context_mode),
            ("tenant_id", &self.tenant_id),
            ("team_id", &self.team_id),
            ("project_id", &self.project_id),
            ("principal_id", &self.principal_id),
            ("actor_id", &self.actor_id),
            ("idempotency_key", &self.idempotency_key),
            ("pack_id", &self.pack_id),
            ("capability", &self.capability),
        ] {
            if value.len() > max {
                return Err(format!("{name} longer than {max} bytes"));
            }
        }
        Ok(())
    }

    /// Every number an agent sends is range-checked here, so that no arithmetic on it later
    /// can overflow.
    fn validate_numbers(&self, limits: &SubmitLimits) -> Result<(), String> {
        for (name, n, max) in [
            (
                "max_input_tokens",
                self.max_input_tokens.unwrap_or(0),
                limits.max_tokens.min(i64::from(i32::MAX)),
            ),
            (
                "max_output_tokens",
                self.max_output_tokens.unwrap_or(0),
                limits.max_tokens,
            ),
            ("max_total_tokens", self.max_total_tokens, limits.max_tokens),
            ("deadline_ms", self.deadline_ms, limits.max_deadline_ms),
        ] {
            if !(0..=max).contains(&n) {
                return Err(format!("{name} out of range (0 to {max})"));
            }
        }
        Ok(())
    }

    fn validate_context(&self, limits: &SubmitLimits) -> Result<(), String> {
        let context = self.context.as_ref().unwrap_or(&Value::Null);
        if json_depth(context) > limits.max_context_depth {
            return Err(format!(
                "context nested too deep (max {} levels)",
                limits.max_context_depth
            ));
        }
        let size = payload(&self.prompt, context).len();
        if size > limits.max_payload_bytes {
            return Err(format!(
                "payload too large ({size} bytes; max {} bytes of prompt and context)",
                limits.max_payload_bytes
            ));
        }
        Ok(())
    }

    /// The topic, defaulted like Cordum.
    pub fn topic(&self) -> &str {
        self.topic.as_deref().unwrap_or(DEFAULT_TOPIC)
    }

    /// Client labels without `_`-prefixed keys, which are reserved for the gateway.
    /// Refuses labels the gateway or Cordum write themselves: an agent that could set
    /// `approval_granted` or `cordum.*` would speak for the gateway, and one that could set
    /// `gate_type` would mark its job a workflow gate (which skips the snapshot check on
    /// Cordum). `may_gate`: the caller is the workflow engine (see [`crate::Role::may_mark_gates`]).
    pub fn check_reserved_labels(&self, may_gate: bool) -> Result<(), String> {
        for key in self.labels.keys() {
            let lower = key.to_ascii_lowercase();
            let reserved = lower.starts_with("approval_")
                || lower.starts_with("cordum.")
                || (lower == "gate_type" && !may_gate);
            if reserved {
                return Err(format!("label {key:?} is reserved for the gateway"));
            }
        }
        Ok(())
    }

    pub fn client_labels(&self) -> BTreeMap<String, String> {
        self.labels
            .iter()
            .filter(|(k, _)| !k.starts_with('_'))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    }
}

/// Who a job is submitted for, after defaults.
#[derive(Debug, Clone)]
pub struct Requester {
    pub tenant: String,
    pub principal: String,
    pub actor_id: String,
}

fn priority(text: &str) -> JobPriority {
    match text.trim().to_ascii_lowercase().as_str() {
        "batch" | "low" | "job_priority_batch" => JobPriority::BATCH,
        "critical" | "high" | "urgent" | "job_priority_critical" => JobPriority::CRITICAL,
        _ => JobPriority::INTERACTIVE,
    }
}

/// Builds the JobRequest the gateway stores, as Cordum's submit handler does.
pub fn build(
    job_id: &str,
    body: &SubmitBody,
    who: &Requester,
    idempotency_key: &str,
) -> JobRequest {
    let max_in = body.max_input_tokens.unwrap_or(DEFAULT_MAX_INPUT_TOKENS);
    let max_out = body.max_output_tokens.unwrap_or(DEFAULT_MAX_OUTPUT_TOKENS);
    let memory_id = if body.memory_id.is_empty() {
        format!("mem:{job_id}")
    } else {
        body.memory_id.clone()
    };
    let mut env = BTreeMap::from([
        ("tenant_id".to_owned(), who.tenant.clone()),
        ("max_input_tokens".to_owned(), max_in.to_string()),
        ("max_output_tokens".to_owned(), max_out.to_string()),
        ("memory_id".to_owned(), memory_id.clone()),
    ]);
    for (key, value) in [
        ("team_id", &body.team_id),
        ("project_id", &body.project_id),
        ("context_mode", &body.context_mode),
    ] {
        if !value.is_empty() {
            env.insert(key.to_owned(), value.clone());
        }
    }
    let client_labels = body.client_labels();
    let mut labels = client_labels.clone();
    labels.insert("_source".to_owned(), "api".to_owned());
    JobRequest {
        job_id: job_id.to_owned(),
        topic: body.topic().to_owned(),
        priority: priority(&body.priority),
        context_ptr: payload_pointer(&payload(
            &body.prompt,
            body.context.as_ref().unwrap_or(&Value::Null),
        )),
        adapter_id: body.adapter_id.clone(),
        env,
        memory_id,
        context_hints: Some(ContextHints {
            max_input_tokens: i32::try_from(max_in).unwrap_or(i32::MAX),
            allow_summarization: body.allow_summarization,
            allow_retrieval: body.allow_retrieval,
            tags: body.tags.clone(),
            unknown: Vec::new(),
        }),
        budget: Some(Budget {
            max_input_tokens: max_in,
            max_output_tokens: max_out,
            max_total_tokens: body.max_total_tokens,
            deadline_ms: body.deadline_ms,
            unknown: Vec::new(),
        }),
        tenant_id: who.tenant.clone(),
        principal_id: who.principal.clone(),
        labels,
        meta: Some(JobMetadata {
            tenant_id: who.tenant.clone(),
            actor_id: who.actor_id.clone(),
            actor_type: match body.actor_type.as_str() {
                "human" => ActorType::HUMAN,
                "service" => ActorType::SERVICE,
                _ => ActorType::UNSPECIFIED,
            },
            idempotency_key: idempotency_key.to_owned(),
            capability: body.capability.clone(),
            risk_tags: body.risk_tags.clone(),
            requires: body.requires.clone(),
            pack_id: body.pack_id.clone(),
            labels: client_labels,
            unknown: Vec::new(),
        }),
        ..JobRequest::default()
    }
}

/// How deeply a JSON value nests: 0 for a scalar, 1 for a flat object or array. Walked with an
/// explicit stack, so no input can exhaust the call stack.
pub fn json_depth(value: &Value) -> usize {
    let mut deepest = 0;
    let mut stack = vec![(value, 0_usize)];
    while let Some((v, depth)) = stack.pop() {
        let children: Box<dyn Iterator<Item = &Value>> = match v {
            Value::Array(items) => Box::new(items.iter()),
            Value::Object(map) => Box::new(map.values()),
            _ => continue,
        };
        let inner = depth.saturating_add(1);
        deepest = deepest.max(inner);
        stack.extend(children.map(|c| (c, inner)));
    }
    deepest
}

/// A topic as submit accepts it (and simulate and the worker switch, so that a topic they
/// name is one a job can have): 1 to 256 characters of `[A-Za-z0-9._:-]`.
pub fn check_topic(topic: &str) -> Result<(), String> {
    let valid_chars = topic
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | ':' | '-'));
    if topic.is_empty() || topic.chars().count() > MAX_TOPIC_CHARS || !valid_chars {
        return Err(format!(
            "invalid topic: 1 to {MAX_TOPIC_CHARS} characters of [A-Za-z0-9._:-]"
        ));
    }
    Ok(())
}

/// The payload a job's `context_ptr` names: the prompt and the submitted context in the
/// canonical encoding, so the same stored columns always give the same bytes. The pointer
/// carries their SHA-256 and the job hash covers the pointer, so a payload changed in the
/// store no longer matches the hash the reviewer approved.
pub fn payload(prompt: &str, context: &Value) -> Vec<u8> {
    canonical_json(&serde_json::json!({ "context": context, "prompt": prompt })).into_bytes()
}

/// Whether the stored prompt and context are still the payload the request's `context_ptr`
/// names (what the job hash, and so the reviewer's approval, covers).
pub fn payload_intact(req: &JobRequest, prompt: &str, context: &Value) -> bool {
    countersign_core::content::payload_matches(&req.context_ptr, &payload(prompt, context))
}

/// The JobRequest schema and job-hash rules this gateway follows: the newest Cordum's, like
/// the rest of its API.
pub const GENERATION: Generation = Generation::New;

/// The job hash of a request, by [`GENERATION`]'s rules.
pub fn job_hash(req: &JobRequest) -> String {
    countersign_core::jobhash::job_hash(req, GENERATION)
}

/// Reads a stored request back.
pub fn decode(text: &str) -> Result<JobRequest, GatewayError> {
    JobRequest::from_protojson(text.as_bytes(), GENERATION)
        .map_err(|e| GatewayError::StoredRequest(e.to_string()))
}

/// The labels policy evaluation sees for a stored request: its labels without the ones the
/// gateway adds on approval, so re-evaluation judges what the requester asked for.
pub fn policy_labels(req: &JobRequest) -> BTreeMap<String, String> {
    req.labels
        .iter()
        .filter(|(k, _)| !countersign_core::jobhash::is_ignored_label(k, GENERATION))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

/// The original requester of a stored request: its principal, else its actor.
pub fn requester_of(req: &JobRequest) -> String {
    if req.principal_id.is_empty() {
        req.meta
            .as_ref()
            .map(|m| m.actor_id.clone())
            .unwrap_or_default()
    } else {
        req.principal_id.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn depth_counts_containers() {
        assert_eq!(json_depth(&serde_json::json!(1)), 0);
        assert_eq!(json_depth(&serde_json::json!({"a": 1})), 1);
        assert_eq!(json_depth(&serde_json::json!({"a": [1, {"b": []}]})), 4);
    }
}
