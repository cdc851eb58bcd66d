//! The Policy section: policy drafts awaiting a countersign (seed 004), one draft reviewed in
//! full (its text checked against its source hash, the structured diff against the current
//! policy, the impact on pending approvals, blockers and advisories), and approve or reject
//! bound to the snapshot on screen.
//!
//! A click names the snapshot it was made on (id and source hash); the desk sends the decision
//! only when that is the snapshot it last reviewed for the draft, and the client then checks
//! the draft fetched fresh against it before anything leaves the laptop. Governance is never
//! decided from a notification: a new draft's notification only opens this section.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use countersign_client::{
    ClientError, DraftFilter, GatewayClient, GovernanceDecider, GovernanceReport, RetryPolicy,
};
use countersign_core::governance::{
    DraftBinding, DraftImpact, DraftStatus, GovernanceAnswer, GovernanceChannel, PolicyDiff,
    PolicyDraft,
};
use countersign_core::outcome::DecisionAction;
use countersign_core::snapshot::same_policy;
use countersign_ledger::Ledger;
use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crate::error::{codes, DeskError, Result};

/// One draft as the Policy section shows it in full.
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
#[ts(export)]
pub struct DraftReview {
    /// Active snapshot with its YAML, every snapshot, the decision records.
    pub draft: PolicyDraft,
    /// What an approve or reject from this screen is bound to.
    pub binding: DraftBinding,
    /// Whether the YAML shown hashes to the snapshot's source hash (never shown as the
    /// snapshot's text otherwise).
    pub text_verified: bool,
    pub diff: Option<PolicyDiff>,
    pub impact: Option<DraftImpact>,
    /// The tenant's current policy snapshot, when it could be read.
    pub current_policy: Option<String>,
    /// Whether the current policy is still the one the draft was written against.
    pub base_is_current: Option<bool>,
    /// Whether the signed-in reviewer wrote the draft (the gateway refuses self-approval).
    pub by_you: Option<bool>,
    /// What could not be read (the diff of an unparsable draft, an unreachable gateway).
    pub problems: Vec<String>,
}

/// An approve or reject clicked on a draft.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, TS)]
#[ts(export)]
pub struct DraftDecisionRequest {
    #[ts(type = "number")]
    pub desk: u64,
    pub draft_id: String,
    /// The snapshot on screen.
    pub snapshot_id: String,
    pub source_snapshot_hash: String,
    pub action: DecisionAction,
    /// The rationale of an approve (optional), the reason of a reject (required).
    pub reason: String,
}

/// A governance decision in effect.
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
#[ts(export)]
pub struct DraftDecisionView {
    pub draft_id: String,
    pub snapshot_id: String,
    pub draft_version: u32,
    pub action: DecisionAction,
    /// `approved`, `already_approved`, `rejected` or `already_rejected`.
    pub code: String,
    pub actor: String,
    pub by_us: Option<bool>,
    /// The policy snapshot an approval made current.
    pub published_snapshot: Option<String>,
    /// The sentence the Policy section shows.
    pub message: String,
}

impl From<&GovernanceReport> for DraftDecisionView {
    fn from(report: &GovernanceReport) -> Self {
        let version = report.binding.draft_version;
        let who = match (report.by_us, report.actor()) {
            (Some(true), _) => "you".to_owned(),
            (_, "") => "someone else".to_owned(),
            (_, actor) => actor.to_owned(),
        };
        let message = match &report.answer {
            GovernanceAnswer::Approved { repeat: false, .. } => {
                format!("Approved version {version}; it is now the current policy.")
            }
            GovernanceAnswer::Approved { repeat: true, .. } => {
                format!(
                    "Version {version} was already approved by {who}; it is the current policy."
                )
            }
            GovernanceAnswer::Rejected { repeat: false, .. } => {
                format!("Rejected version {version}; the draft is closed.")
            }
            _ => format!("Version {version} was already rejected by {who}."),
        };
        Self {
            draft_id: report.binding.draft_id.clone(),
            snapshot_id: report.binding.snapshot_id.clone(),
            draft_version: version,
            action: report.action,
            code: report.answer.code().to_owned(),
            actor: report.actor().to_owned(),
            by_us: report.by_us,
            published_snapshot: report.published_snapshot().map(str::to_owned),
            message,
        }
    }
}

/// The Policy section of one open profile.
#[derive(Debug)]
pub struct PolicyDesk {
    decider: GovernanceDecider,
    /// The binding last reviewed per draft: what a click may decide.
    reviewed: Mutex<HashMap<String, DraftBinding>>,
}

impl PolicyDesk {
    pub fn new(client: GatewayClient, ledger: Arc<Ledger>) -> Self {
        Self {
            decider: GovernanceDecider::new(client, ledger, RetryPolicy::default()),
            reviewed: Mutex::new(HashMap::new()),
        }
    }

    fn reviewed(&self) -> std::sync::MutexGuard<'_, HashMap<String, DraftBinding>> {
        self.reviewed.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Every draft, open ones first, then the newest decided ones. A gateway without
    /// governance has none.
    pub async fn drafts(&self) -> Result<Vec<PolicyDraft>> {
        let mut drafts = match self.decider.client().policy_drafts(DraftFilter::All).await {
            Err(ClientError::NotOffered(_)) => Vec::new(),
            other => other?,
        };
        drafts.sort_by_key(|d| d.status != DraftStatus::Open);
        Ok(drafts)
    }

    /// One draft in full, recorded as seen; becomes what a click on it is bound to.
    pub async fn review(&self, draft_id: &str) -> Result<DraftReview> {
        let client = self.decider.client();
        // The current policy before the draft: a rival's approval that lands between the two
        // reads then shows as the draft approved, never as "a new policy was published, the
        // draft must be proposed again" over a draft that is still open.
        let snapshots = client.policy_snapshots().await;
        let draft = self.decider.show(draft_id).await?;
        let (diff, impact) = tokio::join!(
            client.draft_diff(draft_id, Some(&draft.active_snapshot.snapshot_id)),
            client.draft_impact(draft_id, Some(&draft.active_snapshot.snapshot_id)),
        );
        let mut problems = Vec::new();
        let mut keep = |what: &str, error: ClientError| {
            problems.push(format!("The {what} could not be read: {error}"));
        };
        let diff = diff.map_err(|e| keep("diff", e)).ok();
        let impact = impact
            .map_err(|e| keep("impact on pending approvals", e))
            .ok();
        let current_policy = snapshots
            .map_err(|e| keep("current policy", e))
            .ok()
            .and_then(|s| s.into_iter().next());
        let binding = DraftBinding::of(&draft);
        let text_verified = draft.active_snapshot.yaml_matches_hash();
        if !text_verified {
            problems.push(
                "The policy text the gateway serves does not hash to this snapshot's source \
                 hash: it is not shown as the snapshot's, and approving is refused."
                    .into(),
            );
        }
        let by_you = client
            .identity()
            .await
            .map(|me| me.principal == draft.author);
        let base_is_current = current_policy
            .as_deref()
            .map(|current| same_policy(current, &draft.active_snapshot.base_snapshot));
        self.reviewed().insert(draft_id.to_owned(), binding.clone());
        Ok(DraftReview {
            draft,
            binding,
            text_verified,
            diff,
            impact,
            current_policy,
            base_is_current,
            by_you,
            problems,
        })
    }

    /// A click on the snapshot the desk last reviewed for the draft.
    pub async fn decide(&self, request: &DraftDecisionRequest) -> Result<DraftDecisionView> {
        let reviewed = self.reviewed().get(&request.draft_id).cloned();
        let Some(binding) = reviewed.filter(|b| {
            b.snapshot_id == request.snapshot_id
                && b.source_snapshot_hash == request.source_snapshot_hash
        }) else {
            return Err(DeskError::new(
                codes::CARD_CHANGED,
                "this is not the draft version last reviewed here; review it again. Nothing was sent",
            ));
        };
        let report = match request.action {
            DecisionAction::Approve => {
                self.decider
                    .approve(&binding, &request.reason, GovernanceChannel::Desktop)
                    .await
            }
            DecisionAction::Reject => {
                self.decider
                    .reject(&binding, &request.reason, GovernanceChannel::Desktop)
                    .await
            }
        }?;
        Ok(DraftDecisionView::from(&report))
    }

    /// Finishes governance decisions an outage or a crash left open.
    pub async fn recover(&self) -> Vec<(String, Result<DraftDecisionView>)> {
        match self.decider.recover().await {
            Ok(done) => done
                .into_iter()
                .map(|(id, result)| {
                    let view = result
                        .map(|report| DraftDecisionView::from(&report))
                        .map_err(DeskError::from);
                    (id, view)
                })
                .collect(),
            Err(error) => {
                tracing::warn!(%error, "recovering open governance decisions failed");
                Vec::new()
            }
        }
    }
}
