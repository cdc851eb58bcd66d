//! Deadlines (`deadline_ms` at submit). A pending item whose deadline passed is expired, as
//! Cordum does with its `TIMEOUT` gates: the job becomes `TIMEOUT`, the approval `expired`
//! (status and actionability, decision `expire`), it leaves the pending list, and approve or
//! reject answers 409 `approval_not_actionable` "approval expired". A sweep does this on a
//! timer so that streams hear of it; listing and deciding sweep first, so no answer ever shows
//! an overdue item as actionable between two sweeps.

use serde_json::json;

use super::Gateway;
use crate::error::GatewayError;
use crate::store::jobs::{self, state, JobRow};
use crate::store::{audit, events};
use crate::view;

/// `resolved_by` of an item its deadline expired.
const RESOLVED_BY_DEADLINE: &str = "deadline";

/// The message approve and reject answer for an expired item (CONTRACT.md §2.2).
pub const APPROVAL_EXPIRED: &str = "approval expired";

const US_PER_S: i64 = 1_000_000;

/// The deadline in Unix seconds of a job submitted at `now_us` with `deadline_ms`, rounded up
/// so that a deadline under a second is not already past; 0 for none.
pub(crate) fn deadline_unix(now_us: i64, deadline_ms: i64) -> i64 {
    if deadline_ms <= 0 {
        return 0;
    }
    let at_us = now_us.saturating_add(deadline_ms.saturating_mul(1000));
    at_us / US_PER_S + i64::from(at_us % US_PER_S != 0)
}

/// Whether a job's deadline has passed at `now_us`.
pub(crate) fn is_overdue(job: &JobRow, now_us: i64) -> bool {
    job.deadline_unix > 0 && job.deadline_unix <= now_us / US_PER_S
}

fn expire(job: &mut JobRow, now_us: i64) {
    job.state = state::TIMEOUT.into();
    job.approval.status = view::EXPIRED.into();
    job.approval.decision = "expire".into();
    job.approval.bump_revision();
    job.approval.resolved_by = RESOLVED_BY_DEADLINE.into();
    job.approval.resolved_at = now_us;
    job.approval.resolution = APPROVAL_EXPIRED.into();
    job.approval.comment.clear();
    job.approval.job_hash = job.safety.job_hash.clone();
    job.approval.snapshot = job.safety.snapshot.clone();
}

impl Gateway {
    /// Expires every overdue pending item (of one tenant, or of all); returns how many.
    pub async fn expire_overdue(&self, tenant: Option<&str>) -> Result<usize, GatewayError> {
        let now = self.now_us();
        let tenant = tenant.map(str::to_owned);
        let (expired, last_event) = self
            .store()
            .run(move |c| {
                let overdue = jobs::overdue(&c.db, tenant.as_deref(), now / US_PER_S)?;
                if overdue.is_empty() {
                    return Ok::<_, GatewayError>((0, None));
                }
                let mut changes = Vec::with_capacity(overdue.len());
                for mut job in overdue {
                    expire(&mut job, now);
                    job.updated_at = c.stamp(now);
                    changes.push(job);
                }
                let tx = c.db.transaction()?;
                let (mut expired, mut last_event) = (0, None);
                for job in changes {
                    // An approve or reject that won the race already decided this row.
                    if !jobs::update_guarded(&tx, &job, state::APPROVAL_REQUIRED)? {
                        continue;
                    }
                    let mut event = super::stamped_audit_event(
                        now,
                        &job.tenant,
                        "approval",
                        "approval_expired",
                    );
                    event.job_id = job.id.clone();
                    event.agent_id = job.actor_id.clone();
                    event.decision = view::EXPIRED.into();
                    event.reason = APPROVAL_EXPIRED.into();
                    event.policy_version = job.safety.snapshot.clone();
                    event
                        .extra
                        .insert("deadline_unix".into(), json!(job.deadline_unix));
                    audit::append(&tx, event)?;
                    last_event = Some(events::append(
                        &tx,
                        &job.tenant,
                        events::kind::APPROVAL_RESOLVED,
                        &view::resolved_event(&job),
                        now,
                    )?);
                    expired += 1;
                }
                tx.commit()?;
                Ok((expired, last_event))
            })
            .await?;
        self.notify_events(last_event);
        if expired > 0 {
            tracing::info!(expired, "approvals expired at their deadline");
        }
        Ok(expired)
    }
}

/// Expires overdue items every `every` until the task is aborted.
pub async fn sweep_expired(gateway: Gateway, every: std::time::Duration) {
    loop {
        tokio::time::sleep(every).await;
        if let Err(e) = gateway.expire_overdue(None).await {
            tracing::warn!(error = %e, "expiry sweep failed");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deadlines_round_up_and_never_overflow() {
        assert_eq!(deadline_unix(5_000_000, 0), 0);
        assert_eq!(deadline_unix(5_000_000, 1), 6);
        assert_eq!(deadline_unix(5_000_000, 1000), 6);
        assert_eq!(deadline_unix(5_500_000, 1000), 7);
        assert_eq!(
            deadline_unix(i64::MAX - 5, i64::MAX),
            i64::MAX / US_PER_S + 1
        );
        let job = JobRow {
            deadline_unix: 6,
            ..JobRow::default()
        };
        assert!(!is_overdue(&job, 5_999_999));
        assert!(is_overdue(&job, 6_000_000));
        assert!(!is_overdue(&JobRow::default(), i64::MAX));
    }
}
