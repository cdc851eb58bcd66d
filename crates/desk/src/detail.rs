//! The detail view of one item: the full request as the gateway serves it (secret-looking
//! environment values masked), the payload as text, the recomputed job hash beside the claimed
//! one, the policy snapshot seen versus current, the item's local history, and the preflight
//! checklist: every precondition of an approve with its state, failing closed (a check that
//! could not be made is not a pass).

use countersign_client::Review;
use countersign_core::approval::PriorApproval;
use countersign_core::jobhash::{job_hash, Generation};
use countersign_core::jobrequest::JobRequest;
use countersign_core::verify::{verify, SeenItem, Verdict, VerifyInput};
use serde::Serialize;
use serde_json::Value;
use ts_rs::TS;

use crate::card::Fact;
use crate::history::HistoryEntry;

/// Shown instead of a value that looks like a secret.
pub const MASK: &str = "••••••";
const SECRET_WORDS: [&str; 9] = [
    "secret",
    "token",
    "password",
    "passwd",
    "key",
    "credential",
    "auth",
    "cookie",
    "session",
];

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "snake_case")]
#[ts(export)]
pub enum CheckState {
    Pass,
    Fail,
    /// Could not be checked: an approve treats it as not passed unless it is informational.
    Unknown,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[ts(export)]
pub struct PreflightCheck {
    /// Stable id: `gateway_reachable`, `pending`, `policy_unchanged`, `request_unchanged`,
    /// `content_verified`, `not_expired`, `not_own_request`.
    pub id: String,
    pub label: String,
    pub state: CheckState,
    pub detail: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, TS)]
#[ts(export)]
pub struct DetailView {
    pub seen: SeenItem,
    /// The verdict an approve would get right now.
    pub verdict: Verdict,
    pub verdict_message: String,
    /// The item's payload (input, prompt, context) pretty-printed, as text.
    pub payload_text: String,
    /// The full request in protojson, pretty-printed with secret-looking env values masked;
    /// empty when the gateway does not serve it.
    pub request_text: String,
    pub labels: Vec<Fact>,
    pub env: Vec<Fact>,
    pub claimed_hash: String,
    pub recomputed_hash: Option<String>,
    pub snapshot_seen: String,
    pub snapshot_current: Option<String>,
    pub rollback_hint: String,
    /// Earlier decisions on the same topic, where the gateway lists them (`/context`).
    pub prior: Vec<PriorApproval>,
    pub preflight: Vec<PreflightCheck>,
    /// This item's entries in the local history, newest first.
    pub history: Vec<HistoryEntry>,
}

/// What the gateway said just now, and who we are.
#[derive(Debug)]
pub struct Fresh<'a> {
    /// The item with its content, as fetched now; `None` when it is not pending.
    pub review: Option<&'a Review>,
    pub snapshots: &'a [String],
    pub request: Option<&'a [u8]>,
    /// The job hash rules of the gateway's API generation.
    pub hash_rules: Generation,
    pub prior: &'a [PriorApproval],
    /// The gateway could not be asked; `item`/`snapshots`/`request` are then empty.
    pub unreachable: Option<String>,
    /// Our principal, when the gateway says.
    pub principal: Option<String>,
    pub deadline_ms: Option<i64>,
    pub now_ms: i64,
}

pub fn build(seen: &SeenItem, fresh: &Fresh<'_>, history: Vec<HistoryEntry>) -> DetailView {
    let item = fresh.review.map(|r| &r.item);
    let verdict = verify(&VerifyInput {
        seen,
        now: item,
        current_snapshots: fresh.snapshots,
        request: fresh.request,
        generation: fresh.hash_rules,
        content: fresh.review.map(|r| &r.content),
        payload: fresh.review.and_then(|r| r.payload.as_deref()),
    });
    let parsed = fresh
        .request
        .and_then(|bytes| serde_json::from_slice::<Value>(bytes).ok());
    let recomputed_hash = fresh
        .request
        .and_then(|bytes| JobRequest::from_protojson(bytes, fresh.hash_rules).ok())
        .map(|req| job_hash(&req, fresh.hash_rules));
    let (labels, env) = parsed.as_ref().map(labels_and_env).unwrap_or_default();
    let request_text = parsed
        .map(|mut doc| {
            mask_env(&mut doc);
            pretty(&doc)
        })
        .unwrap_or_default();
    let payload_text = fresh
        .review
        .map(|r| pretty(&r.content.payload))
        .unwrap_or_default();
    DetailView {
        seen: seen.clone(),
        verdict_message: verdict.message(),
        preflight: preflight(seen, fresh, &verdict),
        verdict,
        payload_text,
        request_text,
        labels,
        env,
        claimed_hash: item.map(|i| i.job_hash.clone()).unwrap_or_default(),
        recomputed_hash,
        snapshot_seen: seen.policy_snapshot.clone(),
        snapshot_current: fresh.snapshots.first().cloned(),
        rollback_hint: item.map(|i| i.rollback_hint.clone()).unwrap_or_default(),
        prior: fresh.prior.to_vec(),
        history,
    }
}

fn check(id: &str, label: &str, state: CheckState, detail: impl Into<String>) -> PreflightCheck {
    PreflightCheck {
        id: id.into(),
        label: label.into(),
        state,
        detail: detail.into(),
    }
}

fn preflight(seen: &SeenItem, fresh: &Fresh<'_>, verdict: &Verdict) -> Vec<PreflightCheck> {
    use CheckState::{Fail, Pass, Unknown};
    let mut checks = Vec::new();
    if let Some(why) = &fresh.unreachable {
        checks.push(check(
            "gateway_reachable",
            "Gateway reachable",
            Fail,
            why.clone(),
        ));
        for (id, label) in [
            ("pending", "Still waiting for a decision"),
            ("policy_unchanged", "Policy snapshot unchanged"),
            ("request_unchanged", "Request hash unchanged"),
            (
                "content_verified",
                "Content unchanged and bound to the hash",
            ),
        ] {
            checks.push(check(
                id,
                label,
                Unknown,
                "cannot be checked while the gateway is unreachable",
            ));
        }
    } else {
        checks.push(check("gateway_reachable", "Gateway reachable", Pass, ""));
        let pending = fresh.review.is_some_and(|r| r.item.is_pending());
        checks.push(match pending {
            true => check("pending", "Still waiting for a decision", Pass, ""),
            false => check(
                "pending",
                "Still waiting for a decision",
                Fail,
                "resolved, or no longer listed",
            ),
        });
        let (policy, request, content) = match verdict {
            Verdict::ContentVerified => (Pass, Pass, Pass),
            Verdict::IdentityChecked { .. } => (Pass, Pass, Unknown),
            Verdict::PolicyChanged { .. } => (Fail, Unknown, Unknown),
            Verdict::RequestChanged { .. } | Verdict::RequestForOtherJob { .. } => {
                (Unknown, Fail, Unknown)
            }
            Verdict::ContentChanged { .. }
            | Verdict::ContentMismatch { .. }
            | Verdict::PayloadMismatch { .. } => (Pass, Pass, Fail),
            Verdict::NoLongerPending { .. } | Verdict::Unverifiable { .. } => {
                (Unknown, Unknown, Unknown)
            }
        };
        let message = verdict.message();
        let detail = |state: CheckState| {
            if state == Pass {
                String::new()
            } else {
                message.clone()
            }
        };
        checks.push(check(
            "policy_unchanged",
            "Policy snapshot unchanged",
            policy,
            detail(policy),
        ));
        checks.push(check(
            "request_unchanged",
            "Request hash unchanged",
            request,
            detail(request),
        ));
        let content_detail = match verdict {
            Verdict::IdentityChecked { .. } => {
                "identity checked only: this gateway cannot prove the payload against the hash"
                    .to_owned()
            }
            _ => detail(content),
        };
        checks.push(check(
            "content_verified",
            "Content unchanged and bound to the hash",
            content,
            content_detail,
        ));
    }
    checks.push(match fresh.deadline_ms {
        Some(deadline) if deadline <= fresh.now_ms => {
            check("not_expired", "Not expired", Fail, "the deadline passed")
        }
        _ => check("not_expired", "Not expired", Pass, ""),
    });
    checks.push(own_request(seen, fresh));
    checks
}

fn own_request(_seen: &SeenItem, fresh: &Fresh<'_>) -> PreflightCheck {
    let (id, label) = ("not_own_request", "Not your own request");
    let Some(principal) = fresh.principal.as_deref().filter(|p| !p.is_empty()) else {
        return check(
            id,
            label,
            CheckState::Unknown,
            "the gateway does not say who you are",
        );
    };
    let Some(item) = fresh.review.map(|r| &r.item) else {
        return check(id, label, CheckState::Unknown, "the item could not be read");
    };
    let submitted_principal = item
        .submitted_by
        .rsplit_once("principal:")
        .map(|(_, p)| p)
        .unwrap_or_default();
    if item.job.principal == principal || submitted_principal == principal {
        check(
            id,
            label,
            CheckState::Fail,
            "you submitted this job; the gateway refuses self-approval",
        )
    } else {
        check(id, label, CheckState::Pass, "")
    }
}

/// Whether an environment key names something that must not be shown.
pub fn looks_secret(key: &str) -> bool {
    let key = key.to_ascii_lowercase();
    SECRET_WORDS.iter().any(|word| key.contains(word))
}

/// Masks the secret-looking values of a request's `env` (protojson), wherever it is shown.
pub fn mask_env(doc: &mut Value) {
    if let Some(Value::Object(env)) = doc.get_mut("env") {
        for (key, value) in env.iter_mut() {
            if looks_secret(key) {
                *value = Value::String(MASK.into());
            }
        }
    }
}

fn labels_and_env(doc: &Value) -> (Vec<Fact>, Vec<Fact>) {
    let facts = |key: &str, masked: bool| -> Vec<Fact> {
        doc.get(key)
            .and_then(Value::as_object)
            .map(|map| {
                map.iter()
                    .map(|(k, v)| Fact {
                        key: k.clone(),
                        value: if masked && looks_secret(k) {
                            MASK.into()
                        } else {
                            v.as_str().map_or_else(|| v.to_string(), str::to_owned)
                        },
                    })
                    .collect()
            })
            .unwrap_or_default()
    };
    (facts("labels", false), facts("env", true))
}

fn pretty(value: &Value) -> String {
    match value {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        other => serde_json::to_string_pretty(other).unwrap_or_default(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn secret_looking_env_values_are_masked_everywhere() {
        let doc = json!({"env": {"API_KEY": "k-123", "DB_PASSWORD": "hunter2", "REGION": "eu"},
                         "labels": {"token_hint": "visible label"}});
        let (labels, env) = labels_and_env(&doc);
        assert_eq!(
            labels[0].value, "visible label",
            "labels are not env: shown as sent"
        );
        let shown: Vec<(&str, &str)> = env
            .iter()
            .map(|f| (f.key.as_str(), f.value.as_str()))
            .collect();
        assert_eq!(
            shown,
            [("API_KEY", MASK), ("DB_PASSWORD", MASK), ("REGION", "eu")]
        );
        let mut masked = doc.clone();
        mask_env(&mut masked);
        let text = pretty(&masked);
        assert!(
            !text.contains("k-123") && !text.contains("hunter2"),
            "{text}"
        );
        assert!(text.contains("eu"));
    }

    fn pending_item() -> countersign_core::approval::ApprovalItem {
        let mut item = countersign_core::approval::ApprovalItem::default();
        item.job.id = "j".into();
        item.job.state = "APPROVAL_REQUIRED".into();
        item.job.principal = "agent-7".into();
        item.job_hash = "h1".into();
        item.policy_snapshot = "s1".into();
        item
    }

    fn states(view: &DetailView) -> Vec<(String, CheckState)> {
        view.preflight
            .iter()
            .map(|c| (c.id.clone(), c.state))
            .collect()
    }

    #[test]
    fn preflight_fails_closed_and_names_each_precondition() {
        let item = pending_item();
        let content =
            countersign_core::content::CardContent::new(&item, json!("hello"), &Default::default());
        let review = Review {
            item: item.clone(),
            content: content.clone(),
            payload: None,
        };
        let seen = SeenItem::from(&item).with_content(content);
        let snapshots = vec!["s1".to_owned()];
        let fresh = Fresh {
            review: Some(&review),
            snapshots: &snapshots,
            request: None,
            hash_rules: Generation::New,
            prior: &[],
            unreachable: None,
            principal: Some("alice".into()),
            deadline_ms: None,
            now_ms: 0,
        };
        let view = build(&seen, &fresh, Vec::new());
        use CheckState::*;
        assert_eq!(
            states(&view),
            [
                ("gateway_reachable".into(), Pass),
                ("pending".into(), Pass),
                ("policy_unchanged".into(), Pass),
                ("request_unchanged".into(), Pass),
                ("content_verified".into(), Unknown),
                ("not_expired".into(), Pass),
                ("not_own_request".into(), Pass),
            ]
        );

        let newer = vec!["s2".to_owned()];
        let mine = Fresh {
            snapshots: &newer,
            principal: Some("agent-7".into()),
            deadline_ms: Some(5),
            now_ms: 5,
            ..fresh
        };
        let view = build(&seen, &mine, Vec::new());
        let got = states(&view);
        assert!(got.contains(&("policy_unchanged".into(), Fail)), "{got:?}");
        assert!(got.contains(&("not_expired".into(), Fail)));
        assert!(got.contains(&("not_own_request".into(), Fail)));

        let offline = Fresh {
            review: None,
            snapshots: &[],
            unreachable: Some("connection refused".into()),
            principal: None,
            ..fresh
        };
        let view = build(&seen, &offline, Vec::new());
        let got = states(&view);
        assert_eq!(got[0], ("gateway_reachable".into(), Fail));
        assert!(got[1..5].iter().all(|(_, s)| *s == Unknown), "{got:?}");
        assert!(!view.verdict.is_verified());
    }
}
