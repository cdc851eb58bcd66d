//! The `cordum.agent.v1.JobRequest` data model as plain Rust values that hold exactly what
//! protobuf-go holds after decoding, so that re-encoding reproduces Go's bytes: fields 1 to 16
//! of CAP v2.0.12 (Cordum v0.9), plus field 17 `compensation` of CAP v2.13.3 (the new
//! generation), which only a request read under [`Generation::New`] can carry.

use std::collections::BTreeMap;

/// Declares a proto3 *open* enum: a newtype over `i32` with the known values as constants.
///
/// Open because proto3 keeps numbers it has no name for (`"priority": 7` or a varint 7 on the
/// wire are legal) and Go hashes them as they are; a closed Rust enum would have to reject or
/// rewrite them.
macro_rules! open_enum {
    (
        $(#[$doc:meta])*
        $name:ident { $( $(#[$vdoc:meta])* $konst:ident = $num:literal => $text:literal, )* }
    ) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
        pub struct $name(pub i32);

        impl $name {
            $( $(#[$vdoc])* pub const $konst: Self = Self($num); )*

            /// The protojson name of a known value; `None` for a number without a name.
            pub fn name(self) -> Option<&'static str> {
                match self.0 {
                    $( $num => Some($text), )*
                    _ => None,
                }
            }

            /// The value with this exact protojson name.
            pub fn from_name(name: &str) -> Option<Self> {
                match name {
                    $( $text => Some(Self($num)), )*
                    _ => None,
                }
            }
        }
    };
}

open_enum! {
    /// `cordum.agent.v1.JobPriority`.
    JobPriority {
        UNSPECIFIED = 0 => "JOB_PRIORITY_UNSPECIFIED",
        INTERACTIVE = 1 => "JOB_PRIORITY_INTERACTIVE",
        BATCH = 2 => "JOB_PRIORITY_BATCH",
        CRITICAL = 3 => "JOB_PRIORITY_CRITICAL",
    }
}

open_enum! {
    /// `cordum.agent.v1.ActorType`.
    ActorType {
        UNSPECIFIED = 0 => "ACTOR_TYPE_UNSPECIFIED",
        HUMAN = 1 => "ACTOR_TYPE_HUMAN",
        SERVICE = 2 => "ACTOR_TYPE_SERVICE",
    }
}

/// Which Cordum's JobRequest schema and job-hash rules apply (jobhash-vectors.md).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Generation {
    /// Cordum v0.9 (CAP v2.0.12): fields 1 to 16; unknown fields are kept and hashed.
    V09,
    /// The newest Cordum (CAP v2.13.3): field 17 `compensation`, the label
    /// `policy.attachment_id` stripped too, unknown fields dropped before hashing.
    #[default]
    New,
}

impl Generation {
    /// The name the CLI and messages use: `v0.9` or `new`.
    pub fn name(self) -> &'static str {
        match self {
            Self::V09 => "v0.9",
            Self::New => "new",
        }
    }

    /// The generation with this [`Generation::name`].
    pub fn from_name(name: &str) -> Option<Self> {
        match name {
            "v0.9" => Some(Self::V09),
            "new" => Some(Self::New),
            _ => None,
        }
    }
}

/// `cordum.agent.v1.JobRequest`, the request whose hash a reviewer approves.
///
/// Nested messages are `Option`s because a present-but-empty message is encoded (and so
/// hashed) differently from an absent one. Maps are `BTreeMap`s because Go's deterministic
/// encoding sorts entries by key bytes, which is `String`'s order.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct JobRequest {
    /// Field 1.
    pub job_id: String,
    /// Field 2.
    pub topic: String,
    /// Field 3.
    pub priority: JobPriority,
    /// Field 4.
    pub context_ptr: String,
    /// Field 5.
    pub adapter_id: String,
    /// Field 6. The job hash ignores the key `CORDUM_EFFECTIVE_CONFIG`.
    pub env: BTreeMap<String, String>,
    /// Field 7.
    pub parent_job_id: String,
    /// Field 8.
    pub workflow_id: String,
    /// Field 9.
    pub step_index: i32,
    /// Field 10.
    pub memory_id: String,
    /// Field 11.
    pub context_hints: Option<ContextHints>,
    /// Field 12.
    pub budget: Option<Budget>,
    /// Field 13.
    pub tenant_id: String,
    /// Field 14.
    pub principal_id: String,
    /// Field 15. The job hash ignores `approval_*` (any case) and `cordum.bus_msg_id`.
    pub labels: BTreeMap<String, String>,
    /// Field 16.
    pub meta: Option<JobMetadata>,
    /// Field 17 (new generation only; under v0.9 a binary field 17 is an unknown field).
    pub compensation: Option<Compensation>,
    /// Fields this schema does not know, as raw wire bytes from [`JobRequest::from_wire`].
    /// protobuf-go keeps them and re-emits them after the known fields; v0.9 hashes them,
    /// the new generation drops them before hashing.
    pub unknown: Vec<u8>,
}

/// `cordum.agent.v1.Compensation` (JobRequest field 17, CAP v2.13.3): a saga step's rollback
/// template. Its field numbers are its own, not JobRequest's.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Compensation {
    /// Field 1.
    pub topic: String,
    /// Field 2.
    pub context_ptr: String,
    /// Field 3.
    pub priority: JobPriority,
    /// Field 4.
    pub adapter_id: String,
    /// Field 5. Hashed whole: nothing is stripped inside a compensation.
    pub env: BTreeMap<String, String>,
    /// Field 6.
    pub memory_id: String,
    /// Field 7.
    pub context_hints: Option<ContextHints>,
    /// Field 8.
    pub budget: Option<Budget>,
    /// Field 9.
    pub tenant_id: String,
    /// Field 10.
    pub principal_id: String,
    /// Field 11. Hashed whole.
    pub labels: BTreeMap<String, String>,
    /// Field 12.
    pub meta: Option<JobMetadata>,
    /// Unknown fields, as in [`JobRequest::unknown`].
    pub unknown: Vec<u8>,
}

/// `cordum.agent.v1.ContextHints` (JobRequest field 11).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ContextHints {
    /// Field 1.
    pub max_input_tokens: i32,
    /// Field 2.
    pub allow_summarization: bool,
    /// Field 3.
    pub allow_retrieval: bool,
    /// Field 4; order, empty strings and duplicates are significant.
    pub tags: Vec<String>,
    /// Unknown fields, as in [`JobRequest::unknown`].
    pub unknown: Vec<u8>,
}

/// `cordum.agent.v1.Budget` (JobRequest field 12).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Budget {
    /// Field 1.
    pub max_input_tokens: i64,
    /// Field 2.
    pub max_output_tokens: i64,
    /// Field 3.
    pub max_total_tokens: i64,
    /// Field 4.
    pub deadline_ms: i64,
    /// Unknown fields, as in [`JobRequest::unknown`].
    pub unknown: Vec<u8>,
}

/// `cordum.agent.v1.JobMetadata` (JobRequest field 16).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct JobMetadata {
    /// Field 1.
    pub tenant_id: String,
    /// Field 2.
    pub actor_id: String,
    /// Field 3.
    pub actor_type: ActorType,
    /// Field 4.
    pub idempotency_key: String,
    /// Field 5.
    pub capability: String,
    /// Field 6.
    pub risk_tags: Vec<String>,
    /// Field 7.
    pub requires: Vec<String>,
    /// Field 8.
    pub pack_id: String,
    /// Field 9. Hashed as it is: the job hash strips nothing here.
    pub labels: BTreeMap<String, String>,
    /// Unknown fields, as in [`JobRequest::unknown`].
    pub unknown: Vec<u8>,
}
