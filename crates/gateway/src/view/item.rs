//! The approval item of `GET /api/v1/approvals` (and of `approval.required` /
//! `approval.updated` events), written from a [`StoredItem`]: the row's own text, borrowed from
//! SQLite while a list page is written, so that listing 10,000 items copies no row into owned
//! strings and parses no stored JSON that can be copied through (issue 14). Events and
//! `/context` write the same bytes from a `JobRow` and parse them. `tests/items_golden.rs`
//! pins the bytes to what the earlier `serde` views wrote.

use std::borrow::Cow;
use std::collections::BTreeMap;

use serde_json::{Map, Value};

use super::json::{self, Obj};
use super::stored::{Member, StoredJson};
use super::{actionability, status};
use crate::request;
use crate::store::jobs::JobRow;
use crate::store::to_json;

/// What an approval item shows of one job, borrowed. The JSON columns are their stored text.
#[derive(Debug, Clone, Copy)]
pub struct StoredItem<'a> {
    pub id: &'a str,
    pub trace_id: &'a str,
    pub state: &'a str,
    pub topic: &'a str,
    pub tenant: &'a str,
    pub principal: &'a str,
    pub actor_id: &'a str,
    pub actor_type: &'a str,
    pub idempotency_key: &'a str,
    pub capability: &'a str,
    pub pack_id: &'a str,
    /// A JSON list of strings.
    pub risk_tags: &'a str,
    /// A JSON list of strings.
    pub requires: &'a str,
    pub prompt: &'a str,
    /// The submit body's `context` as JSON (`null` for none).
    pub context: &'a str,
    pub submitted_by: &'a str,
    pub deadline_unix: i64,
    pub updated_at: i64,
    pub safety_decision: &'a str,
    pub safety_reason: &'a str,
    pub safety_rule_id: &'a str,
    pub safety_snapshot: &'a str,
    /// JSON (`null` for none).
    pub safety_constraints: &'a str,
    pub job_hash: &'a str,
    pub approval_required: bool,
    pub approval_status: &'a str,
    pub approval_revision: i64,
    pub approval_decision: &'a str,
    pub resolved_by: &'a str,
    pub resolved_at: i64,
    pub resolution: &'a str,
    pub resolved_comment: &'a str,
    pub labels: LabelsText<'a>,
}

/// Where an item's request labels come from.
#[derive(Debug, Clone, Copy)]
pub enum LabelsText<'a> {
    /// What [`stored_item_labels`] wrote beside the request.
    Stored(&'a str),
    /// The stored request itself (rows older than that column, and events).
    Request(&'a str),
}

/// A list page, `{"items": [...], "next_cursor": ...}`, written item by item.
#[derive(Debug)]
pub struct ApprovalPage {
    out: Vec<u8>,
    empty: bool,
}

impl ApprovalPage {
    /// A page for up to `items` items, sized for about 1.5 KB each so that a full page is
    /// written without regrowing.
    pub fn new(items: usize) -> Self {
        let mut out = Vec::with_capacity(64 + items.saturating_mul(1600));
        out.extend_from_slice(b"{\"items\":[");
        Self { out, empty: true }
    }

    pub fn push(&mut self, item: &StoredItem<'_>) -> serde_json::Result<()> {
        if !self.empty {
            self.out.push(b',');
        }
        self.empty = false;
        write_item(&mut self.out, item)
    }

    pub fn finish(mut self, next_cursor: Option<i64>) -> serde_json::Result<Vec<u8>> {
        self.out.extend_from_slice(b"],\"next_cursor\":");
        serde_json::to_writer(&mut self.out, &next_cursor)?;
        self.out.push(b'}');
        Ok(self.out)
    }
}

/// The item of one job, as a `Value` (events carry it inside their data).
pub fn approval_item(job: &JobRow) -> Value {
    approval_item_json(job)
        .ok()
        .and_then(|bytes| serde_json::from_slice(&bytes).ok())
        .unwrap_or(Value::Null)
}

/// The item of one job, as a list page writes it.
pub fn approval_item_json(job: &JobRow) -> serde_json::Result<Vec<u8>> {
    let texts = JobTexts::of(job);
    let mut out = Vec::with_capacity(2048);
    write_item(&mut out, &texts.item(job))?;
    Ok(out)
}

/// The fields an item shares with the `/context` approval object.
pub(super) fn approval_fields(job: &JobRow) -> Map<String, Value> {
    let texts = JobTexts::of(job);
    let mut out = Vec::with_capacity(2048);
    let mut obj = Obj::open(&mut out);
    if write_fields(&mut obj, &texts.item(job)).is_err() {
        return Map::new();
    }
    obj.close();
    serde_json::from_slice(&out).unwrap_or_default()
}

/// A `JobRow`'s JSON columns as the store writes them, for a [`StoredItem`] to borrow.
struct JobTexts {
    risk_tags: String,
    requires: String,
    context: String,
    constraints: String,
}

impl JobTexts {
    fn of(job: &JobRow) -> Self {
        Self {
            risk_tags: to_json(&job.risk_tags),
            requires: to_json(&job.requires),
            context: to_json(&job.context),
            constraints: to_json(&job.safety.constraints),
        }
    }

    fn item<'a>(&'a self, job: &'a JobRow) -> StoredItem<'a> {
        let (safety, approval) = (&job.safety, &job.approval);
        StoredItem {
            id: &job.id,
            trace_id: &job.trace_id,
            state: &job.state,
            topic: &job.topic,
            tenant: &job.tenant,
            principal: &job.principal,
            actor_id: &job.actor_id,
            actor_type: &job.actor_type,
            idempotency_key: &job.idempotency_key,
            capability: &job.capability,
            pack_id: &job.pack_id,
            risk_tags: &self.risk_tags,
            requires: &self.requires,
            prompt: &job.prompt,
            context: &self.context,
            submitted_by: &job.submitted_by,
            deadline_unix: job.deadline_unix,
            updated_at: job.updated_at,
            safety_decision: &safety.decision,
            safety_reason: &safety.reason,
            safety_rule_id: &safety.rule_id,
            safety_snapshot: &safety.snapshot,
            safety_constraints: &self.constraints,
            job_hash: &safety.job_hash,
            approval_required: safety.approval_required,
            approval_status: &approval.status,
            approval_revision: approval.revision,
            approval_decision: &approval.decision,
            resolved_by: &approval.resolved_by,
            resolved_at: approval.resolved_at,
            resolution: &approval.resolution,
            resolved_comment: &approval.comment,
            labels: LabelsText::Request(&job.request),
        }
    }
}

/// The labels of the stored request the item shows, written beside it so that a list need
/// not decode every request (a tenth of a listing's cost, issue 14): a JSON object of those
/// present, or empty when the request does not decode (the item then leaves out every field
/// read from it).
pub fn stored_item_labels(request_text: &str) -> String {
    match request::decode(request_text) {
        Ok(req) => {
            let labels: BTreeMap<&str, &str> = req
                .labels
                .iter()
                .filter(|(k, _)| ITEM_LABELS.contains(&k.as_str()))
                .map(|(k, v)| (k.as_str(), v.as_str()))
                .collect();
            serde_json::to_string(&labels).unwrap_or_default()
        }
        Err(_) => String::new(),
    }
}

/// The request labels an item reads.
const ITEM_LABELS: [&str; 5] = [
    "workflow_id",
    "run_id",
    "step_id",
    "gate_type",
    "rollback_hint",
];

/// The values of [`ITEM_LABELS`] that the request holds, in that order.
#[derive(Default)]
struct Labels<'a>([Option<Cow<'a, str>>; ITEM_LABELS.len()]);

impl<'a> Labels<'a> {
    /// `None` when the request (or the stored labels) do not decode.
    fn read(text: LabelsText<'a>) -> Option<Self> {
        match text {
            LabelsText::Stored("") => None,
            // Borrowed where no value holds an escape (always, in practice); the owned parse
            // reads the rest, and refuses what it always refused.
            LabelsText::Stored(text) => match serde_json::from_str::<BTreeMap<&str, &str>>(text) {
                Ok(labels) => Some(Self::of(labels)),
                Err(_) => serde_json::from_str::<BTreeMap<String, String>>(text)
                    .ok()
                    .map(Self::of),
            },
            LabelsText::Request(text) => request::decode(text).ok().map(|r| Self::of(r.labels)),
        }
    }

    fn of<K: AsRef<str>, V: Into<Cow<'a, str>>>(labels: BTreeMap<K, V>) -> Self {
        let mut picked = Self::default();
        for (key, value) in labels {
            if let Some(i) = ITEM_LABELS.iter().position(|l| *l == key.as_ref()) {
                picked.0[i] = Some(value.into());
            }
        }
        picked
    }

    fn get(&self, name: &str) -> Option<&str> {
        let i = ITEM_LABELS.iter().position(|l| *l == name)?;
        self.0.get(i)?.as_deref()
    }

    /// A label that is present and not empty.
    fn nonempty(&self, name: &str) -> Option<&str> {
        self.get(name).filter(|v| !v.is_empty())
    }
}

fn write_item(out: &mut Vec<u8>, item: &StoredItem<'_>) -> serde_json::Result<()> {
    let mut obj = Obj::open(out);
    write_fields(&mut obj, item)?;
    write_job_record(Obj::open(obj.key("job")), item)?;
    obj.close();
    Ok(())
}

/// The fields shared by an item and the `/context` approval object, in the order the item
/// has always had them.
fn write_fields(obj: &mut Obj<'_>, item: &StoredItem<'_>) -> serde_json::Result<()> {
    obj.str("decision", item.safety_decision)?;
    obj.str("policy_snapshot", item.safety_snapshot)?;
    obj.str("policy_rule_id", item.safety_rule_id)?;
    obj.str("policy_reason", item.safety_reason)?;
    StoredJson::read(item.safety_constraints).write(obj.key("constraints"))?;
    obj.str("job_hash", item.job_hash)?;
    obj.value("approval_required", &item.approval_required)?;
    obj.str("approval_ref", item.id)?;
    obj.str("approval_status", status(item.state, item.approval_status))?;
    obj.str(
        "approval_actionability",
        actionability(item.state, item.approval_status),
    )?;
    obj.value("approval_revision", &item.approval_revision.max(1))?;
    obj.str_nonempty("approval_decision", item.approval_decision)?;
    obj.str_nonempty("submitted_by", item.submitted_by)?;
    if !item.resolved_by.is_empty() {
        obj.str("resolved_by", item.resolved_by)?;
        obj.str("resolved_comment", item.resolved_comment)?;
        obj.str("resolution", item.resolution)?;
    }
    if item.resolved_at > 0 {
        obj.value("resolved_at", &item.resolved_at)?;
    }
    // Only while the stored request decodes: the fields read from it and from the input.
    let Some(labels) = Labels::read(item.labels) else {
        return Ok(());
    };
    for (name, label) in [
        ("workflow_id", "workflow_id"),
        ("workflow_run_id", "run_id"),
        ("workflow_step_id", "step_id"),
        ("step_name", "step_id"),
        ("gate_type", "gate_type"),
    ] {
        if let Some(value) = labels.nonempty(label) {
            obj.str(name, value)?;
        }
    }
    // The job's input payload: the submitted `context`, or the prompt alone.
    let context = StoredJson::read(item.context);
    if context.is_null() {
        let mut input = Obj::open(obj.key("job_input"));
        input.str("prompt", item.prompt)?;
        input.close();
    } else {
        context.write(obj.key("job_input"))?;
    }
    write_summary(Obj::open(obj.key("decision_summary")), item, &context)?;
    obj.str("rollback_hint", labels.get("rollback_hint").unwrap_or(""))
}

/// The embedded `model.JobRecord`.
fn write_job_record(mut job: Obj<'_>, item: &StoredItem<'_>) -> serde_json::Result<()> {
    job.str("id", item.id)?;
    job.str("trace_id", item.trace_id)?;
    job.value("updated_at", &item.updated_at)?;
    job.str("state", item.state)?;
    job.str("topic", item.topic)?;
    job.str("tenant", item.tenant)?;
    job.str_nonempty("principal", item.principal)?;
    job.str_nonempty("actor_id", item.actor_id)?;
    job.str_nonempty("actor_type", item.actor_type)?;
    job.str_nonempty("idempotency_key", item.idempotency_key)?;
    job.str_nonempty("capability", item.capability)?;
    write_string_list(&mut job, "risk_tags", item.risk_tags)?;
    write_string_list(&mut job, "requires", item.requires)?;
    job.str_nonempty("pack_id", item.pack_id)?;
    job.str_nonempty("safety_decision", item.safety_decision)?;
    job.str_nonempty("safety_reason", item.safety_reason)?;
    job.str_nonempty("safety_rule_id", item.safety_rule_id)?;
    job.str_nonempty("safety_snapshot", item.safety_snapshot)?;
    if item.deadline_unix > 0 {
        job.value("deadline_unix", &item.deadline_unix)?;
    }
    job.close();
    Ok(())
}

/// A stored list of strings, left out when empty; text that is not one reads as empty.
fn write_string_list(obj: &mut Obj<'_>, name: &'static str, text: &str) -> serde_json::Result<()> {
    let list: Vec<Cow<'_, str>> = match serde_json::from_str::<Vec<&str>>(text) {
        Ok(list) => list.into_iter().map(Cow::Borrowed).collect(),
        Err(_) => serde_json::from_str::<Vec<String>>(text)
            .unwrap_or_default()
            .into_iter()
            .map(Cow::Owned)
            .collect(),
    };
    if list.is_empty() {
        return Ok(());
    }
    let out = obj.key(name);
    out.push(b'[');
    for (i, s) in list.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        json::string(out, s)?;
    }
    out.push(b']');
    Ok(())
}

/// The input keys a decision summary reads, each list in order of preference.
const SUBJECT_KEYS: [&str; 5] = ["title", "subject", "summary", "request_name", "name"];
const VENDOR_KEYS: [&str; 5] = ["vendor", "merchant", "supplier", "payee", "counterparty"];
const AMOUNT_KEYS: [&str; 4] = ["amount", "total", "value", "subtotal"];
const CURRENCY_KEYS: [&str; 2] = ["currency", "currency_code"];
const WHY_KEYS: [&str; 6] = [
    "escalation_reason",
    "approval_reason",
    "business_reason",
    "justification",
    "reason",
    "why",
];

/// For each summary field, the most preferred key whose value qualifies, with that value.
#[derive(Default)]
struct Found<'a> {
    subject: Option<(usize, Cow<'a, str>)>,
    vendor: Option<(usize, Cow<'a, str>)>,
    amount: Option<(usize, f64)>,
    currency: Option<(usize, Cow<'a, str>)>,
    why: Option<(usize, Cow<'a, str>)>,
}

/// Takes `read`'s value for `slot` when `key` is one of `keys`, preferred over what the slot
/// holds, and the value qualifies. Keys are unique, so one pass over the members finds what
/// looking each key up in order would.
fn offer<T>(
    slot: &mut Option<(usize, T)>,
    keys: &[&str],
    key: &str,
    read: impl FnOnce() -> Option<T>,
) {
    let Some(rank) = keys.iter().position(|k| *k == key) else {
        return;
    };
    if slot.as_ref().is_none_or(|(held, _)| rank < *held) {
        if let Some(value) = read() {
            *slot = Some((rank, value));
        }
    }
}

impl<'a> Found<'a> {
    /// A job without a context has the prompt alone as its input, which holds none of the
    /// keys; nor does a context that is not an object.
    fn of(context: &'a StoredJson<'a>) -> Self {
        let mut found = Self::default();
        for (key, member) in context.members() {
            let text = || Member::text(member);
            offer(&mut found.subject, &SUBJECT_KEYS, key, text);
            offer(&mut found.vendor, &VENDOR_KEYS, key, text);
            offer(&mut found.amount, &AMOUNT_KEYS, key, || member.as_f64());
            offer(&mut found.currency, &CURRENCY_KEYS, key, text);
            offer(&mut found.why, &WHY_KEYS, key, text);
        }
        found
    }
}

/// A compact decision summary (a subset of Cordum's `approvalDecisionSummary`).
fn write_summary(
    mut obj: Obj<'_>,
    item: &StoredItem<'_>,
    context: &StoredJson<'_>,
) -> serde_json::Result<()> {
    let found = Found::of(context);
    let subject = found.subject.map(|(_, v)| v);
    let vendor = found.vendor.map(|(_, v)| v);
    let amount = found.amount.map(|(_, a)| a);
    let currency = found.currency.map(|(_, v)| v);
    let why = found
        .why
        .map_or(Cow::Borrowed(item.safety_reason), |(_, v)| v);
    // `{amount} {currency}` when both are there, formatted once, into the title.
    let title = subject.clone().unwrap_or_else(|| {
        Cow::Owned(match (amount.zip(currency.as_ref()), &vendor) {
            (Some((a, c)), Some(v)) => format!("Approve {a} {c} request with {v}"),
            (Some((a, c)), None) => format!("Approve {a} {c} request"),
            (None, Some(v)) => format!("Approve request with {v}"),
            (None, None) => format!("Review {}", item.topic),
        })
    });
    let business = vendor.is_some() || (amount.is_some() && currency.is_some());
    obj.str("source", "policy_only")?;
    obj.str("completeness", if business { "partial" } else { "minimal" })?;
    obj.str(
        "context_status",
        if context.is_null() {
            "absent"
        } else {
            "available"
        },
    )?;
    obj.str("title", &title)?;
    if let Some(subject) = &subject {
        obj.str("subject", subject)?;
    }
    obj.str_nonempty("why", &why)?;
    if let Some(amount) = amount {
        obj.value("amount", &amount)?;
    }
    if let Some(currency) = &currency {
        obj.str("currency", currency)?;
    }
    if let Some(vendor) = &vendor {
        obj.str("vendor", vendor)?;
    }
    obj.close();
    Ok(())
}
