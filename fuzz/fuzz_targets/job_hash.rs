//! Structured JobRequests, built from fuzzer bytes with `arbitrary`, hashed under both
//! generations. Label keys are drawn so that the stripped ones (`approval_*` in any case,
//! `cordum.bus_msg_id`, `policy.attachment_id`, env `CORDUM_EFFECTIVE_CONFIG`) come up often,
//! and unknown fields are well-formed wire fields, as the wire reader keeps them.
//!
//! Checked:
//!
//! * the hash is deterministic and is the SHA-256 of `canonical_bytes`;
//! * stripping while encoding equals encoding a stripped clone: `canonical_bytes` is `encode`
//!   of the request without the ignored labels and env entries (and, in the new generation,
//!   without unknown fields at any depth);
//! * binary round trip: the wire reader reads `encode`'s bytes back into an equal request;
//! * protojson round trip (unknown fields aside, which protojson cannot carry): equal request,
//!   equal hash.

#![no_main]

use std::collections::BTreeMap;

use arbitrary::Arbitrary;
use countersign_core::jobhash::{
    canonical_bytes, encode, is_ignored_env, is_ignored_label, job_hash, to_hex,
};
use countersign_core::jobrequest::{
    ActorType, Budget, Compensation, ContextHints, Generation, JobMetadata, JobPriority, JobRequest,
};
use libfuzzer_sys::fuzz_target;
use sha2::{Digest, Sha256};

#[derive(Debug, Arbitrary)]
enum Key {
    Approval(String),
    /// `approval_` with some letters upper-cased, as the bit mask says.
    ApprovalCased(u16, String),
    BusMsgId,
    PolicyAttachment,
    EffectiveConfig,
    Other(String),
}

impl Key {
    fn text(&self) -> String {
        match self {
            Self::Approval(rest) => format!("approval_{rest}"),
            Self::ApprovalCased(mask, rest) => {
                let prefix: String = "approval_"
                    .chars()
                    .enumerate()
                    .map(|(i, c)| {
                        if mask & (1 << i) != 0 {
                            c.to_ascii_uppercase()
                        } else {
                            c
                        }
                    })
                    .collect();
                format!("{prefix}{rest}")
            }
            Self::BusMsgId => "cordum.bus_msg_id".into(),
            Self::PolicyAttachment => "policy.attachment_id".into(),
            Self::EffectiveConfig => "CORDUM_EFFECTIVE_CONFIG".into(),
            Self::Other(text) => text.clone(),
        }
    }
}

fn map(entries: Vec<(Key, String)>) -> BTreeMap<String, String> {
    entries.into_iter().map(|(k, v)| (k.text(), v)).collect()
}

/// One unknown field: number (offset from the message's first unknown number), and value.
#[derive(Debug, Arbitrary)]
enum Unknown {
    Varint(u16, u64),
    Fixed64(u16, u64),
    Bytes(u16, Vec<u8>),
    Fixed32(u16, u32),
}

fn varint(mut value: u64, out: &mut Vec<u8>) {
    while value >= 0x80 {
        out.push((value as u8) | 0x80);
        value >>= 7;
    }
    out.push(value as u8);
}

/// Well-formed wire bytes for `fields`, numbered from `first` (below the reserved range).
fn unknown(fields: Vec<Unknown>, first: u32) -> Vec<u8> {
    let mut out = Vec::new();
    let key = |offset: u16, wire_type: u8, out: &mut Vec<u8>| {
        let number = first + u32::from(offset % 2000);
        varint((u64::from(number) << 3) | u64::from(wire_type), out);
    };
    for field in fields {
        match field {
            Unknown::Varint(n, v) => {
                key(n, 0, &mut out);
                varint(v, &mut out);
            }
            Unknown::Fixed64(n, v) => {
                key(n, 1, &mut out);
                out.extend(v.to_le_bytes());
            }
            Unknown::Bytes(n, bytes) => {
                key(n, 2, &mut out);
                varint(bytes.len() as u64, &mut out);
                out.extend(bytes);
            }
            Unknown::Fixed32(n, v) => {
                key(n, 5, &mut out);
                out.extend(v.to_le_bytes());
            }
        }
    }
    out
}

#[derive(Debug, Arbitrary)]
struct Hints {
    max_input_tokens: i32,
    allow_summarization: bool,
    allow_retrieval: bool,
    tags: Vec<String>,
    unknown: Vec<Unknown>,
}

impl Hints {
    fn build(self) -> ContextHints {
        ContextHints {
            max_input_tokens: self.max_input_tokens,
            allow_summarization: self.allow_summarization,
            allow_retrieval: self.allow_retrieval,
            tags: self.tags,
            unknown: unknown(self.unknown, 5),
        }
    }
}

#[derive(Debug, Arbitrary)]
struct Limits {
    tokens: (i64, i64, i64),
    deadline_ms: i64,
    unknown: Vec<Unknown>,
}

impl Limits {
    fn build(self) -> Budget {
        Budget {
            max_input_tokens: self.tokens.0,
            max_output_tokens: self.tokens.1,
            max_total_tokens: self.tokens.2,
            deadline_ms: self.deadline_ms,
            unknown: unknown(self.unknown, 5),
        }
    }
}

#[derive(Debug, Arbitrary)]
struct Meta {
    ids: (String, String, String, String, String),
    actor_type: i32,
    risk_tags: Vec<String>,
    requires: Vec<String>,
    labels: Vec<(Key, String)>,
    unknown: Vec<Unknown>,
}

impl Meta {
    fn build(self) -> JobMetadata {
        let (tenant_id, actor_id, idempotency_key, capability, pack_id) = self.ids;
        JobMetadata {
            tenant_id,
            actor_id,
            actor_type: ActorType(self.actor_type),
            idempotency_key,
            capability,
            risk_tags: self.risk_tags,
            requires: self.requires,
            pack_id,
            labels: map(self.labels),
            unknown: unknown(self.unknown, 10),
        }
    }
}

#[derive(Debug, Arbitrary)]
struct Rollback {
    texts: (String, String, String, String, String, String),
    priority: i32,
    env: Vec<(Key, String)>,
    labels: Vec<(Key, String)>,
    hints: Option<Hints>,
    budget: Option<Limits>,
    meta: Option<Meta>,
    unknown: Vec<Unknown>,
}

impl Rollback {
    fn build(self) -> Compensation {
        let (topic, context_ptr, adapter_id, memory_id, tenant_id, principal_id) = self.texts;
        Compensation {
            topic,
            context_ptr,
            priority: JobPriority(self.priority),
            adapter_id,
            env: map(self.env),
            memory_id,
            context_hints: self.hints.map(Hints::build),
            budget: self.budget.map(Limits::build),
            tenant_id,
            principal_id,
            labels: map(self.labels),
            meta: self.meta.map(Meta::build),
            unknown: unknown(self.unknown, 13),
        }
    }
}

#[derive(Debug, Arbitrary)]
struct Input {
    new_generation: bool,
    ids: (String, String, String, String, String, String),
    more: (String, String, String),
    priority: i32,
    step_index: i32,
    env: Vec<(Key, String)>,
    labels: Vec<(Key, String)>,
    hints: Option<Hints>,
    budget: Option<Limits>,
    meta: Option<Meta>,
    compensation: Option<Rollback>,
    unknown: Vec<Unknown>,
}

impl Input {
    fn build(self) -> (JobRequest, Generation) {
        let generation = if self.new_generation {
            Generation::New
        } else {
            Generation::V09
        };
        let (job_id, topic, context_ptr, adapter_id, parent_job_id, workflow_id) = self.ids;
        let (memory_id, tenant_id, principal_id) = self.more;
        let req = JobRequest {
            job_id,
            topic,
            priority: JobPriority(self.priority),
            context_ptr,
            adapter_id,
            env: map(self.env),
            parent_job_id,
            workflow_id,
            step_index: self.step_index,
            memory_id,
            context_hints: self.hints.map(Hints::build),
            budget: self.budget.map(Limits::build),
            tenant_id,
            principal_id,
            labels: map(self.labels),
            meta: self.meta.map(Meta::build),
            // Only the new schema has field 17; under v0.9 it can only be an unknown field.
            compensation: self
                .compensation
                .filter(|_| self.new_generation)
                .map(Rollback::build),
            unknown: unknown(self.unknown, 18),
        };
        (req, generation)
    }
}

fuzz_target!(|input: Input| {
    let (req, generation) = input.build();
    let hash = job_hash(&req, generation);
    assert_eq!(hash, job_hash(&req, generation), "hash not deterministic");
    let canonical = canonical_bytes(&req, generation);
    assert_eq!(hash, to_hex(&Sha256::digest(&canonical)));
    assert_eq!(
        canonical,
        encode(&stripped(&req, generation)),
        "filter and clone disagree"
    );

    let back = JobRequest::from_wire(&encode(&req), generation);
    assert_eq!(
        back.as_ref(),
        Ok(&req),
        "binary round trip changed the request"
    );

    let known = without_unknown(req);
    let json = known.to_protojson();
    let back = JobRequest::from_protojson(json.as_bytes(), generation);
    assert_eq!(
        back.as_ref(),
        Ok(&known),
        "protojson round trip changed the request: {json}"
    );
    let back = back.unwrap_or_default();
    assert_eq!(job_hash(&back, generation), job_hash(&known, generation));
});

/// `req` as the hash sees it, built the slow way: a clone with the ignored entries removed.
fn stripped(req: &JobRequest, generation: Generation) -> JobRequest {
    let mut out = req.clone();
    out.labels
        .retain(|key, _| !is_ignored_label(key, generation));
    out.env.retain(|key, _| !is_ignored_env(key));
    if generation == Generation::New {
        out = without_unknown(out);
    }
    out
}

fn without_unknown(mut req: JobRequest) -> JobRequest {
    fn hints(h: &mut Option<ContextHints>) {
        if let Some(h) = h {
            h.unknown.clear();
        }
    }
    fn budget(b: &mut Option<Budget>) {
        if let Some(b) = b {
            b.unknown.clear();
        }
    }
    fn meta(m: &mut Option<JobMetadata>) {
        if let Some(m) = m {
            m.unknown.clear();
        }
    }
    req.unknown.clear();
    hints(&mut req.context_hints);
    budget(&mut req.budget);
    meta(&mut req.meta);
    if let Some(c) = &mut req.compensation {
        c.unknown.clear();
        hints(&mut c.context_hints);
        budget(&mut c.budget);
        meta(&mut c.meta);
    }
    req
}
