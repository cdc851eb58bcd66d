//! JSON views of stored jobs: the approval item of `GET /api/v1/approvals` (and of
//! `approval.required` / `approval.updated` events; [`item`]), the job record of
//! `GET /api/v1/jobs/{id}` and the body of `/context`. Field names follow CONTRACT.md §1.1.1
//! and the live transcript.

mod item;
mod json;
mod stored;

pub use item::{
    approval_item, approval_item_json, stored_item_labels, ApprovalPage, LabelsText, StoredItem,
};

use serde_json::{json, Map, Value};

use crate::policy::Policy;
use crate::request;
use crate::store::jobs::{state, JobRow};
use crate::store::scheduling::Scheduling;

/// The approval status (and actionability) of an item a policy change refused.
pub const INVALIDATED: &str = "invalidated";
/// The approval status (and actionability) of an item whose deadline passed.
pub const EXPIRED: &str = "expired";

fn put_nonempty(map: &mut Map<String, Value>, key: &str, value: &str) {
    if !value.is_empty() {
        map.insert(key.into(), Value::String(value.into()));
    }
}

/// `approval_status` of a row in `job_state` (`pending` for an unresolved approval).
fn status<'a>(job_state: &str, approval_status: &'a str) -> &'a str {
    if approval_status.is_empty() && job_state == state::APPROVAL_REQUIRED {
        "pending"
    } else {
        approval_status
    }
}

fn actionability(job_state: &str, approval_status: &str) -> &'static str {
    if job_state == state::APPROVAL_REQUIRED {
        "actionable"
    } else if approval_status == INVALIDATED {
        INVALIDATED
    } else if approval_status == EXPIRED {
        EXPIRED
    } else {
        "resolved"
    }
}

/// The data of an `approval.resolved` event.
pub fn resolved_event(job: &JobRow) -> Value {
    json!({
        "job_id": job.id,
        "status": job.approval.status,
        "resolved_by": job.approval.resolved_by,
        "resolved_at": job.approval.resolved_at,
        "approval_revision": job.approval.revision,
        "item": approval_item(job),
    })
}

/// What became of a job after it was allowed or approved: the fields `GET /api/v1/jobs/{id}`
/// adds to the record and a `job.updated` event carries. `attempts` counts scheduling
/// attempts that requeued it; `dispatch_decision` is the dispatch-time gate's last verdict
/// with the snapshot it was taken under.
fn dispatch_status(
    job: &JobRow,
    sched: Option<&Scheduling>,
    max_attempts: u32,
) -> Map<String, Value> {
    let mut m = Map::new();
    m.insert("attempts".into(), json!(sched.map_or(0, |s| s.attempts)));
    if let Some(s) = sched {
        m.insert("max_attempts".into(), json!(max_attempts));
        put_nonempty(&mut m, "failure_reason", &s.failure_reason);
        if job.state == state::PENDING {
            put_nonempty(&mut m, "wait_reason", &s.wait_reason);
            put_nonempty(&mut m, "fail_mode", &s.fail_mode);
            if s.attempts > 0 {
                m.insert("next_attempt_at".into(), json!(s.next_attempt_at));
            }
        }
        if let Some(d) = &s.decision {
            m.insert("dispatch_decision".into(), d.clone());
        }
    }
    m
}

/// The data of a `job.updated` event.
pub fn job_update(job: &JobRow, sched: Option<&Scheduling>, max_attempts: u32) -> Value {
    let mut m = dispatch_status(job, sched, max_attempts);
    m.insert("job_id".into(), json!(job.id));
    m.insert("state".into(), json!(job.state));
    m.insert("topic".into(), json!(job.topic));
    m.insert("updated_at".into(), json!(job.updated_at));
    Value::Object(m)
}

/// The job record of `GET /api/v1/jobs/{id}` (the v0.9 transcript's shape, plus the
/// dispatch status).
pub fn job_view(job: &JobRow, sched: Option<&Scheduling>, max_attempts: u32) -> Value {
    let req = request::decode(&job.request).ok();
    let labels = req.as_ref().map(|r| r.labels.clone()).unwrap_or_default();
    let mut m = Map::new();
    m.insert("id".into(), json!(job.id));
    m.insert("trace_id".into(), json!(job.trace_id));
    m.insert("state".into(), json!(job.state));
    m.insert("topic".into(), json!(job.topic));
    m.insert("tenant".into(), json!(job.tenant));
    m.insert("principal".into(), json!(job.principal));
    m.insert("actor_id".into(), json!(job.actor_id));
    m.insert("actor_type".into(), json!(job.actor_type));
    m.insert("idempotency_key".into(), json!(job.idempotency_key));
    m.insert("capability".into(), json!(job.capability));
    m.insert("pack_id".into(), json!(job.pack_id));
    m.insert("risk_tags".into(), json!(job.risk_tags));
    m.insert("requires".into(), json!(job.requires));
    m.extend(dispatch_status(job, sched, max_attempts));
    m.insert("updated_at".into(), json!(job.updated_at));
    // Where v0.9 keeps the prompt: here the payload the content-addressed pointer names, so
    // every client shows the same input whether or not it reads the raw bytes too.
    m.insert(
        "context".into(),
        countersign_core::content::payload_value(&request::payload(&job.prompt, &job.context)),
    );
    m.insert(
        "context_ptr".into(),
        json!(req
            .as_ref()
            .map(|r| r.context_ptr.clone())
            .unwrap_or_default()),
    );
    m.insert("labels".into(), json!(labels));
    m.insert("approval_ref".into(), json!(job.id));
    m.insert(
        "approval_required".into(),
        json!(job.safety.approval_required),
    );
    m.insert("safety_decision".into(), json!(job.safety.decision));
    m.insert("safety_reason".into(), json!(job.safety.reason));
    m.insert("safety_rule_id".into(), json!(job.safety.rule_id));
    m.insert("safety_snapshot".into(), json!(job.safety.snapshot));
    m.insert("safety_job_hash".into(), json!(job.safety.job_hash));
    m.insert(
        "safety_constraints".into(),
        job.safety.constraints.clone().unwrap_or(Value::Null),
    );
    m.insert("submitted_by".into(), json!(job.submitted_by));
    if job.approval.status == "approved" {
        m.insert("approval_by".into(), json!(job.approval.resolved_by));
        m.insert("approval_at".into(), json!(job.approval.resolved_at));
        m.insert("approval_job_hash".into(), json!(job.approval.job_hash));
        m.insert(
            "approval_policy_snapshot".into(),
            json!(job.approval.snapshot),
        );
        m.insert("approval_reason".into(), json!(job.approval.resolution));
        m.insert("approval_note".into(), json!(job.approval.comment));
    }
    if job.approval.status == "rejected" {
        m.insert("rejected_by".into(), json!(job.approval.resolved_by));
        m.insert("rejected_at".into(), json!(job.approval.resolved_at));
    }
    Value::Object(m)
}

/// The body of `GET /api/v1/approvals/{id}/context`.
pub fn context_view(job: &JobRow, prior: &[JobRow], policy: Option<&Policy>, now_us: i64) -> Value {
    let req = request::decode(&job.request).ok();
    let mut approval = item::approval_fields(job);
    approval.insert("job_id".into(), json!(job.id));
    approval.insert("state".into(), json!(job.state));
    let prior: Vec<Value> = prior
        .iter()
        .map(|p| {
            json!({
                "job_id": p.id,
                "topic": p.topic,
                "tenant": p.tenant,
                "decision": p.approval.decision,
                "resolved_by": p.approval.resolved_by,
                "resolved_at": p.approval.resolved_at,
                "was_approved": p.approval.status == "approved",
            })
        })
        .collect();
    let labels = req.as_ref().map(|r| r.labels.clone()).unwrap_or_default();
    let systems: Vec<&String> = labels.get("system").into_iter().collect();
    let namespaces: Vec<&String> = labels.get("namespace").into_iter().collect();
    let resources: Vec<&String> = labels.get("resource").into_iter().collect();
    let scope = match labels.get("env") {
        Some(env) => format!("{} in {env}", job.topic),
        None => job.topic.clone(),
    };
    let matched = policy.and_then(|p| p.rule(&job.safety.rule_id));
    let time_remaining = (job.deadline_unix > 0).then(|| {
        job.deadline_unix
            .saturating_mul(1000)
            .saturating_sub(now_us / 1000)
            .max(0)
    });
    json!({
        "approval": approval,
        "blast_radius": {
            "systems": systems,
            "namespaces": namespaces,
            "resources": resources,
            "scope_description": scope,
        },
        "prior_approvals": prior,
        "rollback_hint": labels.get("rollback_hint").cloned().unwrap_or_default(),
        "policy_snapshot_summary": {
            "rule_count": policy.map_or(0, |p| p.rules.len()),
            "matched_rule": matched.map(|r| json!({
                "id": r.id,
                "description": r.description.clone().unwrap_or_default(),
                "decision": r.decision,
                "constraints_summary": r.constraints.as_ref().map(Value::to_string).unwrap_or_default(),
            })),
            "policy_version": countersign_core::snapshot::snapshot_base(&job.safety.snapshot),
        },
        "time_remaining_ms": time_remaining,
        "constraints": job.safety.constraints.clone().unwrap_or(Value::Null),
    })
}
