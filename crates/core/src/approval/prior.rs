//! Earlier decisions on the same topic and tenant, as `/context` lists them (`prior_approvals`,
//! CONTRACT.md §1.1.2), so the reviewer sees how the last similar requests went.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use ts_rs::TS;

use super::parse::lenient;

/// A gateway lists up to 10; more than this many is not a list a reviewer reads.
const MAX_PRIOR: usize = 20;

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct PriorApproval {
    #[serde(default, deserialize_with = "lenient")]
    pub job_id: String,
    #[serde(default, deserialize_with = "lenient")]
    pub decision: String,
    #[serde(default, deserialize_with = "lenient")]
    pub resolved_by: String,
    /// Microseconds since the Unix epoch.
    #[serde(default, deserialize_with = "lenient")]
    #[ts(type = "number | null")]
    pub resolved_at: Option<i64>,
    #[serde(default, deserialize_with = "lenient")]
    pub was_approved: bool,
}

/// The `prior_approvals` of a `/context` answer: entries without a job id are left out, and
/// a missing or malformed list is empty (it only informs, it never decides).
pub fn prior_approvals(context: &Value) -> Vec<PriorApproval> {
    let Some(entries) = context.get("prior_approvals").and_then(Value::as_array) else {
        return Vec::new();
    };
    entries
        .iter()
        .filter(|entry| entry.is_object())
        .filter_map(|entry| PriorApproval::deserialize(entry).ok())
        .filter(|prior| !prior.job_id.is_empty())
        .take(MAX_PRIOR)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn reads_the_list_and_skips_what_is_not_an_entry() {
        let context = json!({"prior_approvals": [
            {"job_id": "j1", "topic": "t", "decision": "approve", "resolved_by": "alice",
             "resolved_at": 1_700_000_000_000_000_i64, "was_approved": true},
            {"job_id": "j2", "decision": 7, "resolved_by": null, "was_approved": "yes"},
            {"decision": "reject"},
            "j3",
            [1, 2]
        ]});
        let prior = prior_approvals(&context);
        assert_eq!(prior.len(), 2);
        assert_eq!(prior[0].resolved_by, "alice");
        assert!(prior[0].was_approved);
        assert_eq!(prior[0].resolved_at, Some(1_700_000_000_000_000));
        assert_eq!(
            prior[1],
            PriorApproval {
                job_id: "j2".into(),
                ..PriorApproval::default()
            }
        );
    }

    #[test]
    fn a_missing_or_hostile_list_is_empty_or_bounded() {
        assert!(prior_approvals(&json!({})).is_empty());
        assert!(prior_approvals(&json!({"prior_approvals": {"job_id": "x"}})).is_empty());
        let many: Vec<Value> = (0..1000)
            .map(|i| json!({"job_id": format!("j{i}")}))
            .collect();
        assert_eq!(
            prior_approvals(&json!({ "prior_approvals": many })).len(),
            MAX_PRIOR
        );
    }
}
