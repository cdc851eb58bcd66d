//! The simulated worker's side of a dispatch: `SCHEDULED` → `DISPATCHED` (the worker took it)
//! → `RUNNING` → `SUCCEEDED` (or `FAILED` when the topic's workers fail). The side effect is
//! keyed on `approval_ref:job_hash` (seed 001's `executeAfterApproval`) and recorded in the
//! same transaction that finishes the job, so a job delivered twice (a replay after a restart
//! cut delivery short, or a bus redelivery) executes once.

use serde::Serialize;

use super::dispatcher::move_to;
use super::Gateway;
use crate::error::GatewayError;
use crate::store::jobs::{self, state, JobRow};
use crate::store::scheduling;
use crate::workers::WorkerMode;

/// The failure reason of a job its worker failed.
pub const WORKER_FAILED: &str = "worker_failed";

/// What a (re)delivery did, as `POST /api/v1/admin/workers/redeliver` answers it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Delivery {
    pub job_id: String,
    pub key: String,
    /// Whether this delivery ran the side effect (false: it had already run).
    pub executed: bool,
    /// Side effects ever run for the job (at most 1).
    pub side_effects: i64,
}

/// The idempotency key of a job's side effect. The approval ref is the job id in this
/// gateway, as in Cordum.
fn side_effect_key(job: &JobRow) -> String {
    format!("{}:{}", job.id, job.safety.job_hash)
}

impl Gateway {
    /// Delivers a scheduled (or half-delivered) job to its topic's worker and runs it to the
    /// end. Returns false when no worker serves the topic (the job stays where it is and is
    /// tried again later).
    pub(super) async fn deliver(&self, job: &JobRow) -> Result<bool, GatewayError> {
        let mode = self.inner.workers.mode(&job.topic);
        if mode == WorkerMode::Absent {
            return Ok(false);
        }
        for (from, to) in [
            (state::SCHEDULED, state::DISPATCHED),
            (state::DISPATCHED, state::RUNNING),
        ] {
            self.commit_progress(
                &job.id,
                Box::new(move |tx, job, stamp| move_to(tx, job, from, to, stamp)),
            )
            .await?;
        }
        let written = self
            .commit_progress(
                &job.id,
                Box::new(move |tx, job, stamp| {
                    if job.state != state::RUNNING {
                        return Ok(false);
                    }
                    if mode == WorkerMode::Fail {
                        if let Some(mut sched) = scheduling::get(tx, &job.id)? {
                            sched.failure_reason = WORKER_FAILED.to_owned();
                            scheduling::save(tx, &sched)?;
                        }
                        return move_to(tx, job, state::RUNNING, state::FAILED, stamp);
                    }
                    scheduling::side_effect(tx, &side_effect_key(job), &job.id, stamp)?;
                    move_to(tx, job, state::RUNNING, state::SUCCEEDED, stamp)
                }),
            )
            .await?;
        if let Some((job, _)) = written {
            self.inner.metrics.delivered(job.state == state::SUCCEEDED);
        }
        Ok(true)
    }

    /// Delivers an already dispatched job of `tenant` to its worker once more, as an
    /// at-least-once bus may: the side effect must not run again. `None` when the job is not
    /// the tenant's or was never dispatched.
    pub async fn redeliver(
        &self,
        tenant: &str,
        job_id: &str,
    ) -> Result<Option<Delivery>, GatewayError> {
        let (tenant, id) = (tenant.to_owned(), job_id.to_owned());
        let now = self.now_us();
        let delivery = self
            .store()
            .run(move |c| {
                let stamp = c.stamp(now);
                let tx = c.db.transaction()?;
                let job = jobs::get(&tx, &id)?.filter(|j| j.tenant == tenant);
                let Some(job) = job else {
                    return Ok::<_, GatewayError>(None);
                };
                if crate::dispatch::count(&tx, &id)? == 0 {
                    return Ok(None);
                }
                let key = side_effect_key(&job);
                let executed = scheduling::side_effect(&tx, &key, &id, stamp)?;
                let side_effects = scheduling::side_effects_of(&tx, &id)?;
                tx.commit()?;
                Ok(Some(Delivery {
                    job_id: id,
                    key,
                    executed,
                    side_effects,
                }))
            })
            .await?;
        if let Some(d) = &delivery {
            self.inner.metrics.delivered(d.executed);
        }
        Ok(delivery)
    }
}
