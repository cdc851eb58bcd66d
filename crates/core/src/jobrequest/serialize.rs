//! Writing a JobRequest as protojson, in the shape protobuf-go's `protojson.Marshal` gives
//! it: fields in field-number order under their lowerCamelCase names, int64 as strings, enums
//! by name (by number when they have none), zero values left out.
//!
//! Unknown fields have no protojson form and are left out, as Go leaves them out. Everything
//! else survives [`JobRequest::from_protojson`] unchanged, including a present-but-empty
//! nested message, which is written as `{}`.

use std::collections::BTreeMap;

use serde::ser::{Serialize, SerializeMap, Serializer};

use super::model::JobRequest;
use super::model::{ActorType, Budget, Compensation, ContextHints, JobMetadata, JobPriority};

/// Writes the members of one JSON object, leaving out proto3 zero values.
struct Members<M>(M);

impl<M: SerializeMap> Members<M> {
    fn entry<V: Serialize + ?Sized>(
        &mut self,
        key: &str,
        value: &V,
        present: bool,
    ) -> Result<(), M::Error> {
        if present {
            self.0.serialize_entry(key, value)?;
        }
        Ok(())
    }

    fn string(&mut self, key: &str, value: &str) -> Result<(), M::Error> {
        self.entry(key, value, !value.is_empty())
    }

    fn int32(&mut self, key: &str, value: i32) -> Result<(), M::Error> {
        self.entry(key, &value, value != 0)
    }

    /// protojson writes int64 as a string, since JSON numbers lose precision past 2^53.
    fn int64(&mut self, key: &str, value: i64) -> Result<(), M::Error> {
        self.entry(key, &value.to_string(), value != 0)
    }

    fn boolean(&mut self, key: &str, value: bool) -> Result<(), M::Error> {
        self.entry(key, &value, value)
    }

    fn strings(&mut self, key: &str, value: &[String]) -> Result<(), M::Error> {
        self.entry(key, value, !value.is_empty())
    }

    fn map(&mut self, key: &str, value: &BTreeMap<String, String>) -> Result<(), M::Error> {
        self.entry(key, value, !value.is_empty())
    }

    fn message<T: Serialize>(&mut self, key: &str, value: Option<&T>) -> Result<(), M::Error> {
        match value {
            Some(message) => self.entry(key, message, true),
            None => Ok(()),
        }
    }

    fn priority(&mut self, value: JobPriority) -> Result<(), M::Error> {
        self.entry("priority", &value, value != JobPriority::UNSPECIFIED)
    }

    fn end(self) -> Result<M::Ok, M::Error> {
        self.0.end()
    }
}

fn members<S: Serializer>(serializer: S) -> Result<Members<S::SerializeMap>, S::Error> {
    serializer.serialize_map(None).map(Members)
}

impl Serialize for JobRequest {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut m = members(serializer)?;
        m.string("jobId", &self.job_id)?;
        m.string("topic", &self.topic)?;
        m.priority(self.priority)?;
        m.string("contextPtr", &self.context_ptr)?;
        m.string("adapterId", &self.adapter_id)?;
        m.map("env", &self.env)?;
        m.string("parentJobId", &self.parent_job_id)?;
        m.string("workflowId", &self.workflow_id)?;
        m.int32("stepIndex", self.step_index)?;
        m.string("memoryId", &self.memory_id)?;
        m.message("contextHints", self.context_hints.as_ref())?;
        m.message("budget", self.budget.as_ref())?;
        m.string("tenantId", &self.tenant_id)?;
        m.string("principalId", &self.principal_id)?;
        m.map("labels", &self.labels)?;
        m.message("meta", self.meta.as_ref())?;
        m.message("compensation", self.compensation.as_ref())?;
        m.end()
    }
}

impl Serialize for Compensation {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut m = members(serializer)?;
        m.string("topic", &self.topic)?;
        m.string("contextPtr", &self.context_ptr)?;
        m.priority(self.priority)?;
        m.string("adapterId", &self.adapter_id)?;
        m.map("env", &self.env)?;
        m.string("memoryId", &self.memory_id)?;
        m.message("contextHints", self.context_hints.as_ref())?;
        m.message("budget", self.budget.as_ref())?;
        m.string("tenantId", &self.tenant_id)?;
        m.string("principalId", &self.principal_id)?;
        m.map("labels", &self.labels)?;
        m.message("meta", self.meta.as_ref())?;
        m.end()
    }
}

impl Serialize for ContextHints {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut m = members(serializer)?;
        m.int32("maxInputTokens", self.max_input_tokens)?;
        m.boolean("allowSummarization", self.allow_summarization)?;
        m.boolean("allowRetrieval", self.allow_retrieval)?;
        m.strings("tags", &self.tags)?;
        m.end()
    }
}

impl Serialize for Budget {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut m = members(serializer)?;
        m.int64("maxInputTokens", self.max_input_tokens)?;
        m.int64("maxOutputTokens", self.max_output_tokens)?;
        m.int64("maxTotalTokens", self.max_total_tokens)?;
        m.int64("deadlineMs", self.deadline_ms)?;
        m.end()
    }
}

impl Serialize for JobMetadata {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut m = members(serializer)?;
        m.string("tenantId", &self.tenant_id)?;
        m.string("actorId", &self.actor_id)?;
        m.entry(
            "actorType",
            &self.actor_type,
            self.actor_type != ActorType::UNSPECIFIED,
        )?;
        m.string("idempotencyKey", &self.idempotency_key)?;
        m.string("capability", &self.capability)?;
        m.strings("riskTags", &self.risk_tags)?;
        m.strings("requires", &self.requires)?;
        m.string("packId", &self.pack_id)?;
        m.map("labels", &self.labels)?;
        m.end()
    }
}

/// Serializes an open enum by name, or by number when the number has no name.
macro_rules! serialize_open_enum {
    ($($name:ty),*) => {$(
        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                match self.name() {
                    Some(name) => serializer.serialize_str(name),
                    None => serializer.serialize_i32(self.0),
                }
            }
        }
    )*};
}

serialize_open_enum!(JobPriority, ActorType);
