//! What approving a draft snapshot would do to the tenant's pending approvals: each one
//! re-evaluated under the draft's policy exactly as the publish would
//! ([`super::super::reevaluate::reevaluate`]), nothing written.

use countersign_core::governance::{DraftImpact, ImpactEffect, ImpactItem, ImpactVerdict};

use super::super::reevaluate::{reevaluate, Reevaluation};
use super::check::Refusal;
use super::readable;
use crate::error::GatewayError;
use crate::service::Gateway;
use crate::store::jobs::{self, JobRow};

/// Items listed at most; the counts cover all.
const MAX_ITEMS: usize = 500;

fn verdict_of(job: &JobRow) -> ImpactVerdict {
    ImpactVerdict {
        decision: job.safety.decision.clone(),
        rule_id: job.safety.rule_id.clone(),
        reason: job.safety.reason.clone(),
    }
}

impl Gateway {
    /// The impact of approving the snapshot (the active one when `None`).
    pub async fn draft_impact(
        &self,
        tenant: &str,
        draft_id: &str,
        snapshot_id: Option<&str>,
    ) -> Result<Result<DraftImpact, Refusal>, GatewayError> {
        let Some(snapshot) = self.draft_snapshot(tenant, draft_id, snapshot_id).await? else {
            return Ok(Err(Refusal::not_found()));
        };
        let Some(policy) = readable(&snapshot) else {
            return Ok(Err(Refusal::unreadable(&snapshot)));
        };
        let would_be = self.snapshot_id_for(&policy);
        let current_snapshot = self.current_snapshot(tenant);
        let owner = tenant.to_owned();
        let pending = self
            .store()
            .run(move |c| Ok::<_, GatewayError>(jobs::pending(&c.db, &owner)?))
            .await?;
        let mut impact = DraftImpact {
            draft_id: snapshot.draft_id.clone(),
            snapshot_id: snapshot.snapshot_id.clone(),
            current_snapshot,
            pending: u32::try_from(pending.len()).unwrap_or(u32::MAX),
            unchanged: 0,
            reevaluated: 0,
            invalidated: 0,
            items: Vec::new(),
            truncated: false,
        };
        let mut unchanged = Vec::new();
        for job in &pending {
            let before = verdict_of(job);
            let (effect, after) = match reevaluate(job, &policy, &would_be) {
                Reevaluation::Proceeds(verdict) => {
                    let same = verdict.decision.wire_name() == job.safety.decision
                        && verdict.rule_id == job.safety.rule_id
                        && verdict.reason == job.safety.reason
                        && verdict.constraints == job.safety.constraints;
                    let effect = if same {
                        ImpactEffect::Unchanged
                    } else {
                        ImpactEffect::Reevaluated
                    };
                    (effect, Some(verdict))
                }
                Reevaluation::Refused { verdict, .. } => (ImpactEffect::Invalidated, verdict),
            };
            let item = ImpactItem {
                job_id: job.id.clone(),
                topic: job.topic.clone(),
                effect,
                before,
                after: after.map(|v| ImpactVerdict {
                    decision: v.decision.wire_name().to_owned(),
                    rule_id: v.rule_id,
                    reason: v.reason,
                }),
            };
            match effect {
                ImpactEffect::Unchanged => {
                    impact.unchanged += 1;
                    unchanged.push(item);
                }
                ImpactEffect::Reevaluated => {
                    impact.reevaluated += 1;
                    impact.items.push(item);
                }
                ImpactEffect::Invalidated => {
                    impact.invalidated += 1;
                    impact.items.push(item);
                }
            }
        }
        impact.items.extend(unchanged);
        impact.truncated = impact.items.len() > MAX_ITEMS;
        impact.items.truncate(MAX_ITEMS);
        Ok(Ok(impact))
    }
}
