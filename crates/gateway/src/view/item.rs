//! The approval item of `GET /api/v1/approvals` (and of `approval.required` /
//! `approval.updated` events), as typed views borrowing from the stored row. A list page is
//! written into one buffer straight from its rows: building a `serde_json::Value` tree per
//! item, serializing it and freeing it was most of what listing 10,000 items cost (issue 14).
//! `tests/items_golden.rs` pins the JSON to what the tree builder produced.

use std::borrow::Cow;
use std::collections::BTreeMap;

use serde::ser::SerializeSeq;
use serde::{Serialize, Serializer};
use serde_json::Value;

use super::{actionability, status};
use crate::request;
use crate::store::jobs::{JobRow, Listed};

/// A list page: `{"items": [...], "next_cursor": ...}`, sized for items of about 1.5 KB so
/// that a page of 500 is written without regrowing.
pub fn approval_page(rows: &[Listed], next_cursor: Option<i64>) -> serde_json::Result<Vec<u8>> {
    #[derive(Serialize)]
    struct Page<'a> {
        items: Items<'a>,
        next_cursor: Option<i64>,
    }
    let mut out = Vec::with_capacity(64 + rows.len() * 1600);
    serde_json::to_writer(
        &mut out,
        &Page {
            items: Items(rows),
            next_cursor,
        },
    )?;
    Ok(out)
}

/// The item of one row, as a `Value` (events carry it inside their data).
pub fn approval_item(job: &JobRow) -> Value {
    let labels = request::decode(&job.request).ok().map(|r| r.labels);
    serde_json::to_value(Item(job, labels.as_ref())).unwrap_or(Value::Null)
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

struct Items<'a>(&'a [Listed]);

impl Serialize for Items<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(Some(self.0.len()))?;
        for row in self.0 {
            let labels = match &row.item_labels {
                None => request::decode(&row.job.request).ok().map(|r| r.labels),
                Some(text) if text.is_empty() => None,
                Some(text) => serde_json::from_str(text).ok(),
            };
            seq.serialize_element(&Item(&row.job, labels.as_ref()))?;
        }
        seq.end()
    }
}

/// One row's item, with its stored request's labels (`None` when the request does not
/// decode).
struct Item<'a>(&'a JobRow, Option<&'a BTreeMap<String, String>>);

impl Serialize for Item<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        struct WithJob<'a> {
            #[serde(flatten)]
            fields: ApprovalFields<'a>,
            job: JobRecord<'a>,
        }
        WithJob {
            fields: ApprovalFields::new(self.0, self.1),
            job: JobRecord::new(self.0),
        }
        .serialize(s)
    }
}
fn empty<T>(list: &&[T]) -> bool {
    list.is_empty()
}

/// The embedded `model.JobRecord`.
#[derive(Serialize)]
struct JobRecord<'a> {
    id: &'a str,
    trace_id: &'a str,
    updated_at: i64,
    state: &'a str,
    topic: &'a str,
    tenant: &'a str,
    #[serde(skip_serializing_if = "str::is_empty")]
    principal: &'a str,
    #[serde(skip_serializing_if = "str::is_empty")]
    actor_id: &'a str,
    #[serde(skip_serializing_if = "str::is_empty")]
    actor_type: &'a str,
    #[serde(skip_serializing_if = "str::is_empty")]
    idempotency_key: &'a str,
    #[serde(skip_serializing_if = "str::is_empty")]
    capability: &'a str,
    #[serde(skip_serializing_if = "empty")]
    risk_tags: &'a [String],
    #[serde(skip_serializing_if = "empty")]
    requires: &'a [String],
    #[serde(skip_serializing_if = "str::is_empty")]
    pack_id: &'a str,
    #[serde(skip_serializing_if = "str::is_empty")]
    safety_decision: &'a str,
    #[serde(skip_serializing_if = "str::is_empty")]
    safety_reason: &'a str,
    #[serde(skip_serializing_if = "str::is_empty")]
    safety_rule_id: &'a str,
    #[serde(skip_serializing_if = "str::is_empty")]
    safety_snapshot: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    deadline_unix: Option<i64>,
}

impl<'a> JobRecord<'a> {
    fn new(job: &'a JobRow) -> Self {
        Self {
            id: &job.id,
            trace_id: &job.trace_id,
            updated_at: job.updated_at,
            state: &job.state,
            topic: &job.topic,
            tenant: &job.tenant,
            principal: &job.principal,
            actor_id: &job.actor_id,
            actor_type: &job.actor_type,
            idempotency_key: &job.idempotency_key,
            capability: &job.capability,
            risk_tags: &job.risk_tags,
            requires: &job.requires,
            pack_id: &job.pack_id,
            safety_decision: &job.safety.decision,
            safety_reason: &job.safety.reason,
            safety_rule_id: &job.safety.rule_id,
            safety_snapshot: &job.safety.snapshot,
            deadline_unix: (job.deadline_unix > 0).then_some(job.deadline_unix),
        }
    }
}

/// The fields shared by an item and the `/context` approval object.
#[derive(Serialize)]
pub(super) struct ApprovalFields<'a> {
    decision: &'a str,
    policy_snapshot: &'a str,
    policy_rule_id: &'a str,
    policy_reason: &'a str,
    constraints: Option<&'a Value>,
    job_hash: &'a str,
    approval_required: bool,
    approval_ref: &'a str,
    approval_status: &'a str,
    approval_actionability: &'static str,
    approval_revision: i64,
    #[serde(skip_serializing_if = "str::is_empty")]
    approval_decision: &'a str,
    #[serde(skip_serializing_if = "str::is_empty")]
    submitted_by: &'a str,
    #[serde(flatten)]
    resolution: Option<Resolution<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    resolved_at: Option<i64>,
    /// Only while the stored request decodes: the fields read from it and from the input.
    #[serde(flatten)]
    request: Option<FromRequest<'a>>,
}

#[derive(Serialize)]
struct Resolution<'a> {
    resolved_by: &'a str,
    resolved_comment: &'a str,
    resolution: &'a str,
}

#[derive(Serialize)]
struct FromRequest<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    workflow_id: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    workflow_run_id: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    workflow_step_id: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    step_name: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    gate_type: Option<&'a str>,
    job_input: JobInput<'a>,
    decision_summary: DecisionSummary<'a>,
    rollback_hint: &'a str,
}

impl<'a> ApprovalFields<'a> {
    /// `labels` are the stored request's, `None` when it does not decode.
    pub(super) fn new(job: &'a JobRow, labels: Option<&'a BTreeMap<String, String>>) -> Self {
        let approval = &job.approval;
        Self {
            decision: &job.safety.decision,
            policy_snapshot: &job.safety.snapshot,
            policy_rule_id: &job.safety.rule_id,
            policy_reason: &job.safety.reason,
            constraints: job.safety.constraints.as_ref(),
            job_hash: &job.safety.job_hash,
            approval_required: job.safety.approval_required,
            approval_ref: &job.id,
            approval_status: status(job),
            approval_actionability: actionability(job),
            approval_revision: approval.revision.max(1),
            approval_decision: &approval.decision,
            submitted_by: &job.submitted_by,
            resolution: (!approval.resolved_by.is_empty()).then(|| Resolution {
                resolved_by: &approval.resolved_by,
                resolved_comment: &approval.comment,
                resolution: &approval.resolution,
            }),
            resolved_at: (approval.resolved_at > 0).then_some(approval.resolved_at),
            request: labels.map(|labels| {
                let label = |key: &str| {
                    labels
                        .get(key)
                        .map(String::as_str)
                        .filter(|v| !v.is_empty())
                };
                FromRequest {
                    workflow_id: label("workflow_id"),
                    workflow_run_id: label("run_id"),
                    workflow_step_id: label("step_id"),
                    step_name: label("step_id"),
                    gate_type: label("gate_type"),
                    job_input: JobInput::of(job),
                    decision_summary: DecisionSummary::of(job),
                    rollback_hint: labels.get("rollback_hint").map_or("", String::as_str),
                }
            }),
        }
    }
}

/// The job's input payload: the submitted `context`, or the prompt alone.
#[derive(Serialize)]
#[serde(untagged)]
enum JobInput<'a> {
    Prompt { prompt: &'a str },
    Context(&'a Value),
}

impl<'a> JobInput<'a> {
    fn of(job: &'a JobRow) -> Self {
        match &job.context {
            Value::Null => Self::Prompt {
                prompt: &job.prompt,
            },
            context => Self::Context(context),
        }
    }
}

/// A compact decision summary (a subset of Cordum's `approvalDecisionSummary`).
#[derive(Serialize)]
struct DecisionSummary<'a> {
    source: &'static str,
    completeness: &'static str,
    context_status: &'static str,
    title: Cow<'a, str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    subject: Option<Cow<'a, str>>,
    #[serde(skip_serializing_if = "str::is_empty")]
    why: Cow<'a, str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    amount: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    currency: Option<Cow<'a, str>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    vendor: Option<Cow<'a, str>>,
}

/// The first of `keys` holding a non-blank string or a number, as text.
fn first_str<'a>(input: Option<&'a Value>, keys: &[&str]) -> Option<Cow<'a, str>> {
    let input = input?;
    keys.iter().find_map(|k| match input.get(*k)? {
        Value::String(s) if !s.trim().is_empty() => Some(Cow::Borrowed(s.as_str())),
        Value::Number(n) => Some(Cow::Owned(n.to_string())),
        _ => None,
    })
}

impl<'a> DecisionSummary<'a> {
    fn of(job: &'a JobRow) -> Self {
        // A job without a context has the prompt alone as its input, which holds none of the
        // keys below.
        let input = (!job.context.is_null()).then_some(&job.context);
        let subject = first_str(
            input,
            &["title", "subject", "summary", "request_name", "name"],
        );
        let vendor = first_str(
            input,
            &["vendor", "merchant", "supplier", "payee", "counterparty"],
        );
        let amount = input.and_then(|input| {
            ["amount", "total", "value", "subtotal"]
                .iter()
                .find_map(|k| input.get(*k).and_then(Value::as_f64))
        });
        let currency = first_str(input, &["currency", "currency_code"]);
        let why = first_str(
            input,
            &[
                "escalation_reason",
                "approval_reason",
                "business_reason",
                "justification",
                "reason",
                "why",
            ],
        )
        .unwrap_or(Cow::Borrowed(job.safety.reason.as_str()));
        let money = match (amount, &currency) {
            (Some(a), Some(c)) => Some(format!("{a} {c}")),
            _ => None,
        };
        let title = subject.clone().unwrap_or_else(|| {
            Cow::Owned(match (&money, &vendor) {
                (Some(m), Some(v)) => format!("Approve {m} request with {v}"),
                (Some(m), None) => format!("Approve {m} request"),
                (None, Some(v)) => format!("Approve request with {v}"),
                (None, None) => format!("Review {}", job.topic),
            })
        });
        let business = vendor.is_some() || money.is_some();
        Self {
            source: "policy_only",
            completeness: if business { "partial" } else { "minimal" },
            context_status: if input.is_some() {
                "available"
            } else {
                "absent"
            },
            title,
            subject,
            why,
            amount,
            currency,
            vendor,
        }
    }
}
