//! What the reviewer reads on a card, bound by a digest.
//!
//! Cordum's job hash covers the `JobRequest`, whose `context_ptr` only points at the payload
//! (the prompt, the input), so the hash alone does not bind what the reviewer read: the payload
//! can change behind an unchanged hash. [`CardContent`] is every field a card displays, and
//! [`CardContent::digest`] is a SHA-256 over its canonical encoding. The client records the
//! content the reviewer saw, fetches it fresh before every approve and every re-send, and
//! refuses when the digests differ ([`crate::verify::Verdict::ContentChanged`]).
//!
//! The canonical encoding is JSON without whitespace, object keys sorted bytewise and strings
//! escaped as `serde_json` does; it does not depend on how a map preserved its order, so the
//! same content always hashes the same wherever it was parsed.
//!
//! [`payload_pointer`] and [`pointer_digest`] are the content-addressed payload pointer of the
//! reference gateway (`sqlite://ctx:sha256:<hex>`): since the job hash covers the pointer, a
//! payload whose SHA-256 matches it is bound by the job hash too.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};
use ts_rs::TS;

use crate::approval::{ApprovalCard, ApprovalItem, WorkflowInfo};
use crate::canonical::{canonical_json, write_canonical, write_string};
use crate::jobhash::{is_ignored_label, Generation};

/// The labels a card's content leaves out: those v0.9's job hash ignores, the ones a gateway
/// adds on approval. The new generation's extra `policy.attachment_id` stays in, so a policy
/// attached while the card is open reads as changed content (a refusal, never a silent pass).
const CONTENT_LABEL_RULES: Generation = Generation::V09;

/// Versions the encoding, so a digest of another layout can never collide with this one.
const DIGEST_DOMAIN: &str = "countersign-card-content/1\n";

/// The prefix of a content-addressed payload pointer.
pub const POINTER_PREFIX: &str = "sqlite://ctx:sha256:";

/// How much of a changed value a verdict quotes: a payload can be megabytes of hostile text.
const QUOTE_MAX_BYTES: usize = 240;

/// Every field a card displays.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(default)]
#[ts(export)]
pub struct CardContent {
    pub title: String,
    /// The input: the prompt and context payload as the gateway serves it.
    #[ts(type = "unknown")]
    pub payload: Value,
    /// The request's labels, without the ones the gateway writes on resolution
    /// (`approval_*`, `cordum.bus_msg_id`): those change legitimately when a decision lands.
    pub labels: BTreeMap<String, String>,
    pub risk_tags: Vec<String>,
    #[ts(type = "unknown")]
    pub constraints: Value,
    pub rule: String,
    pub reason: String,
    pub workflow: Option<WorkflowInfo>,
    pub requester: String,
}

/// One field that differs between what the reviewer saw and what the gateway holds now.
/// `seen` and `now` are canonical JSON, cut to a few hundred bytes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct FieldChange {
    pub field: String,
    pub seen: String,
    pub now: String,
}

impl CardContent {
    /// The content of `item`, with the payload and labels fetched beside it (the list item
    /// does not carry them on every gateway).
    pub fn new(item: &ApprovalItem, payload: Value, labels: &BTreeMap<String, String>) -> Self {
        let card = ApprovalCard::from(item);
        Self {
            title: card.title,
            payload,
            labels: labels
                .iter()
                .filter(|(key, _)| !is_ignored_label(key, CONTENT_LABEL_RULES))
                .map(|(key, value)| (key.clone(), value.clone()))
                .collect(),
            risk_tags: card.risk_tags,
            constraints: card.constraints,
            rule: card.rule_id,
            reason: card.reason,
            workflow: card.workflow,
            requester: card.requester,
        }
    }

    /// The fields by name, in the order the encoding uses (sorted).
    fn fields(&self) -> [(&'static str, Value); 9] {
        [
            ("constraints", self.constraints.clone()),
            ("labels", to_value(&self.labels)),
            ("payload", self.payload.clone()),
            ("reason", Value::String(self.reason.clone())),
            ("requester", Value::String(self.requester.clone())),
            ("risk_tags", to_value(&self.risk_tags)),
            ("rule", Value::String(self.rule.clone())),
            ("title", Value::String(self.title.clone())),
            ("workflow", to_value(&self.workflow)),
        ]
    }

    /// SHA-256 (lowercase hex) over the canonical encoding of every field.
    pub fn digest(&self) -> String {
        let mut text = String::from(DIGEST_DOMAIN);
        text.push('{');
        for (index, (name, value)) in self.fields().iter().enumerate() {
            if index > 0 {
                text.push(',');
            }
            write_string(name, &mut text);
            text.push(':');
            write_canonical(value, &mut text);
        }
        text.push('}');
        hex_sha256(text.as_bytes())
    }

    /// The fields that differ from `now`, each with both values quoted.
    pub fn changes(&self, now: &CardContent) -> Vec<FieldChange> {
        self.fields()
            .into_iter()
            .zip(now.fields())
            .filter(|((_, seen), (_, now))| canonical_json(seen) != canonical_json(now))
            .map(|((field, seen), (_, now))| FieldChange {
                field: field.to_owned(),
                seen: quote(&seen),
                now: quote(&now),
            })
            .collect()
    }
}

/// `serde_json::to_value` of plain data cannot fail; a failure would read as `null`, which
/// still compares (and hashes) deterministically.
fn to_value<T: Serialize>(value: &T) -> Value {
    serde_json::to_value(value).unwrap_or(Value::Null)
}

fn quote(value: &Value) -> String {
    let text = canonical_json(value);
    if text.len() <= QUOTE_MAX_BYTES {
        return text;
    }
    let mut end = QUOTE_MAX_BYTES;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &text[..end])
}

fn hex_sha256(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

/// The content-addressed pointer of a payload: `sqlite://ctx:sha256:<hex>`.
pub fn payload_pointer(payload: &[u8]) -> String {
    format!("{POINTER_PREFIX}{}", hex_sha256(payload))
}

/// The SHA-256 a content-addressed pointer names; `None` for any other pointer (Cordum's own
/// `redis://ctx:<id>` names no digest).
pub fn pointer_digest(pointer: &str) -> Option<&str> {
    let hex = pointer.strip_prefix(POINTER_PREFIX)?;
    (hex.len() == 64 && hex.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))).then_some(hex)
}

/// The payload bytes as a card shows them: their JSON, or the text itself when they are not
/// JSON (a gateway may store a bare prompt).
pub fn payload_value(payload: &[u8]) -> Value {
    serde_json::from_slice(payload)
        .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(payload).into_owned()))
}

/// Whether `payload` is exactly the bytes `pointer` names.
pub fn payload_matches(pointer: &str, payload: &[u8]) -> bool {
    pointer_digest(pointer) == Some(hex_sha256(payload).as_str())
}

#[cfg(test)]
mod tests;
