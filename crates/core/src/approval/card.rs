//! The compact card the UI shows for one approval item. Every string in it comes from the
//! agent or the gateway and is hostile: it is plain data here, and the UI renders it as text.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use ts_rs::TS;

use super::ApprovalItem;

/// One approval, as the reviewer sees it in the list.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct ApprovalCard {
    pub job_id: String,
    /// The gateway's summary title, else Cordum's own last-resort titles.
    pub title: String,
    pub topic: String,
    pub tenant: String,
    pub state: String,
    pub decision: String,
    /// The job's principal (else its actor id, else the composite `submitted_by`), and the
    /// authenticated `submitted_by` beside it when the two name different principals.
    pub requester: String,
    pub workflow: Option<WorkflowInfo>,
    pub rule_id: String,
    pub reason: String,
    pub risk_tags: Vec<String>,
    #[ts(type = "unknown")]
    pub constraints: Value,
    pub policy_snapshot: String,
    pub job_hash: String,
    #[ts(type = "number | null")]
    pub approval_revision: Option<i64>,
    /// Microseconds since the Unix epoch.
    #[ts(type = "number | null")]
    pub updated_at: Option<i64>,
    pub pending: bool,
    pub workflow_gate: bool,
}

/// Where a workflow approval gate sits; present when the item names any of these.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct WorkflowInfo {
    pub name: String,
    pub id: String,
    pub run_id: String,
    pub step_id: String,
    pub step_name: String,
}

fn first_non_empty<'a>(candidates: &[&'a str]) -> &'a str {
    candidates
        .iter()
        .copied()
        .find(|candidate| !candidate.is_empty())
        .unwrap_or_default()
}

impl ApprovalCard {
    /// Mirrors the tail of Cordum's title fallbacks (CONTRACT.md §1.1.1), which is all a v0.9
    /// item without a decision summary can support.
    fn title_of(item: &ApprovalItem) -> String {
        let summary_title = item
            .decision_summary
            .as_ref()
            .map(|summary| summary.title.as_str())
            .unwrap_or_default();
        if !summary_title.is_empty() {
            summary_title.to_owned()
        } else if !item.job.topic.is_empty() {
            format!("Review {}", item.job.topic)
        } else {
            "Approval requested".to_owned()
        }
    }

    /// The job's principal is whatever the submitter wrote; `submitted_by` is who the gateway
    /// authenticated (`apikey:<id>|principal:<p>`). When they disagree, both are named, so a
    /// requester cannot pass as someone else.
    fn requester_of(item: &ApprovalItem) -> String {
        let job = &item.job;
        let named = first_non_empty(&[&job.principal, &job.actor_id]);
        let submitted = item.submitted_by.as_str();
        if named.is_empty() || submitted.is_empty() {
            return first_non_empty(&[named, submitted]).to_owned();
        }
        let authenticated = submitted
            .split('|')
            .find_map(|part| part.strip_prefix("principal:"))
            .unwrap_or(submitted);
        if authenticated == named {
            named.to_owned()
        } else {
            format!("{named} (submitted by {submitted})")
        }
    }

    fn workflow_of(item: &ApprovalItem) -> Option<WorkflowInfo> {
        let workflow = WorkflowInfo {
            name: item.workflow_name.clone(),
            id: item.workflow_id.clone(),
            run_id: item.workflow_run_id.clone(),
            step_id: item.workflow_step_id.clone(),
            step_name: item.step_name.clone(),
        };
        (workflow != WorkflowInfo::default()).then_some(workflow)
    }
}

impl From<&ApprovalItem> for ApprovalCard {
    fn from(item: &ApprovalItem) -> Self {
        let job = &item.job;
        Self {
            job_id: job.id.clone(),
            title: Self::title_of(item),
            topic: job.topic.clone(),
            tenant: job.tenant.clone(),
            state: job.state.clone(),
            decision: item.decision.clone(),
            requester: Self::requester_of(item),
            workflow: Self::workflow_of(item),
            // The rule and reason are descriptive, so the job record's copy may stand in; the
            // snapshot and hash are identities and deliberately have no fallback.
            rule_id: first_non_empty(&[&item.policy_rule_id, &job.safety_rule_id]).to_owned(),
            reason: first_non_empty(&[&item.policy_reason, &job.safety_reason]).to_owned(),
            risk_tags: job.risk_tags.clone(),
            constraints: item.constraints.clone(),
            policy_snapshot: item.policy_snapshot.clone(),
            job_hash: item.job_hash.clone(),
            approval_revision: item.approval_revision,
            updated_at: job.updated_at,
            pending: item.is_pending(),
            workflow_gate: item.is_workflow_gate(),
        }
    }
}
