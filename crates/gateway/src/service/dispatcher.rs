//! The dispatcher and the pending replayer (seed 001 step 5, seed 003's scheduler).
//!
//! Approvals and allowed submits put their job into an in-memory queue (the bus) after their
//! transaction commits. One dispatcher task takes due jobs one at a time: a `PENDING` job goes
//! through the dispatch-time gate (`gate.rs`), a job the gate already handed to a worker
//! (`SCHEDULED`, `DISPATCHED`, `RUNNING`: a restart cut it short) goes to its worker again
//! (`worker.rs`, whose side effect is idempotent). A requeued job comes back when its backoff
//! is over.
//!
//! The queue is lost with the process, as a bus message can be. The replayer therefore reads
//! the database at start-up and every `replay_every` for jobs in flight that the queue does
//! not hold, and queues them: each is queued at most once (the queue is keyed on the job id)
//! and every state move is guarded in SQL, so a replayed job is still dispatched exactly once.

use std::collections::HashMap;
use std::sync::Mutex;

use tokio::sync::Notify;

use super::Gateway;
use crate::error::GatewayError;
use crate::store::jobs::{self, state};
use crate::store::scheduling;

/// What the dispatcher does next with a job.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Next {
    /// Nothing: it left the dispatcher's hands (dispatched and finished, denied, failed,
    /// re-opened, or moved on by someone else).
    Done,
    /// Try again at this time (µs).
    RetryAt(i64),
}

#[derive(Debug, Clone, Copy)]
struct Entry {
    due_us: i64,
    /// Taken by the dispatcher right now: the replayer must not queue it a second time.
    busy: bool,
}

/// The in-memory queue of job ids.
#[derive(Debug, Default)]
pub(super) struct Queue {
    entries: Mutex<HashMap<String, Entry>>,
    wake: Notify,
}

impl Queue {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Entry>> {
        self.entries.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Queues a job unless it is queued or being worked on; returns whether it was added.
    pub(super) fn enqueue(&self, job_id: &str, due_us: i64) -> bool {
        let added = {
            let mut entries = self.lock();
            if entries.contains_key(job_id) {
                false
            } else {
                entries.insert(
                    job_id.to_owned(),
                    Entry {
                        due_us,
                        busy: false,
                    },
                );
                true
            }
        };
        if added {
            self.wake.notify_one();
        }
        added
    }

    /// Marks every due job busy and returns them, oldest due first.
    fn take_due(&self, now_us: i64) -> Vec<String> {
        let mut entries = self.lock();
        let mut due: Vec<(i64, String)> = entries
            .iter_mut()
            .filter(|(_, e)| !e.busy && e.due_us <= now_us)
            .map(|(id, e)| {
                e.busy = true;
                (e.due_us, id.clone())
            })
            .collect();
        due.sort();
        due.into_iter().map(|(_, id)| id).collect()
    }

    fn finish(&self, job_id: &str, next: Next) {
        let mut entries = self.lock();
        match next {
            Next::Done => {
                entries.remove(job_id);
            }
            Next::RetryAt(due_us) => {
                entries.insert(
                    job_id.to_owned(),
                    Entry {
                        due_us,
                        busy: false,
                    },
                );
            }
        }
    }

    /// Makes every waiting job due now (their reason to wait went away).
    pub(super) fn wake_now(&self) {
        for entry in self.lock().values_mut() {
            entry.due_us = i64::MIN;
        }
        self.wake.notify_one();
    }

    pub(super) fn len(&self) -> usize {
        self.lock().len()
    }
}

/// Runs the dispatcher until the gateway shuts down.
pub async fn run_dispatcher(gateway: Gateway) {
    let mut closing = gateway.closing();
    let tick = gateway.inner.dispatch.tick;
    loop {
        tokio::select! {
            () = gateway.inner.queue.wake.notified() => {}
            () = tokio::time::sleep(tick) => {}
            _ = closing.changed() => return,
        }
        for job_id in gateway.inner.queue.take_due(gateway.now_us()) {
            let next = match gateway.advance(&job_id).await {
                Ok(next) => next,
                Err(e) => {
                    // A storage failure: try again after the longest backoff rather than spin.
                    tracing::error!(error = %e, %job_id, "dispatch attempt failed");
                    Next::RetryAt(gateway.retry_time(u32::MAX))
                }
            };
            gateway.inner.queue.finish(&job_id, next);
        }
    }
}

/// Runs the pending replayer: once at once (start-up), then every `replay_every`.
pub async fn run_replayer(gateway: Gateway) {
    let every = gateway.inner.dispatch.replay_every;
    let mut closing = gateway.closing();
    loop {
        match gateway.replay_pending().await {
            Ok(0) => {}
            Ok(n) => tracing::info!(replayed = n, "pending replayer queued jobs in flight"),
            Err(e) => tracing::error!(error = %e, "pending replayer failed"),
        }
        tokio::select! {
            () = tokio::time::sleep(every) => {}
            _ = closing.changed() => return,
        }
    }
}

impl Gateway {
    /// Queues every job in flight that the dispatcher does not hold; returns how many.
    pub async fn replay_pending(&self) -> Result<usize, GatewayError> {
        let in_flight = self
            .store()
            .run(|c| Ok::<_, GatewayError>(scheduling::in_flight(&c.db)?))
            .await?;
        let mut replayed = 0usize;
        for (job_id, due_us) in in_flight {
            if self.inner.queue.enqueue(&job_id, due_us) {
                self.inner.metrics.replayed();
                replayed = replayed.saturating_add(1);
            }
        }
        Ok(replayed)
    }

    /// Hands a job that just became dispatchable to the dispatcher.
    pub(super) fn queue_dispatch(&self, job_id: &str, now_us: i64) {
        self.inner.queue.enqueue(job_id, now_us);
    }

    /// One step for one job.
    async fn advance(&self, job_id: &str) -> Result<Next, GatewayError> {
        let id = job_id.to_owned();
        let job = self
            .store()
            .run(move |c| Ok::<_, GatewayError>(jobs::get(&c.db, &id)?))
            .await?;
        let Some(job) = job else {
            return Ok(Next::Done);
        };
        match job.state.as_str() {
            state::PENDING => self.gate(job).await,
            state::SCHEDULED | state::DISPATCHED | state::RUNNING => {
                self.deliver(&job).await?;
                Ok(Next::Done)
            }
            _ => Ok(Next::Done),
        }
    }

    /// Waits (at most `within`) until a job is no longer due for a dispatch step: dispatched
    /// and finished, stopped, or waiting for a retry. For tests and tools that check what a
    /// decision led to.
    pub async fn dispatch_settled(&self, job_id: &str, within: std::time::Duration) {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            let id = job_id.to_owned();
            let now = self.now_us();
            let busy = self
                .store()
                .run(move |c| {
                    let job = jobs::get(&c.db, &id)?;
                    let sched = scheduling::get(&c.db, &id)?;
                    Ok::<_, GatewayError>(match job {
                        Some(j) if scheduling::IN_FLIGHT.contains(&j.state.as_str()) => {
                            sched.is_none_or(|s| s.next_attempt_at <= now)
                        }
                        _ => false,
                    })
                })
                .await
                .unwrap_or(false);
            if !busy || tokio::time::Instant::now() >= deadline {
                return;
            }
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        }
    }
}

/// A change of a job in flight, written by [`Gateway::commit_progress`].
pub(super) type Progress = Box<
    dyn FnOnce(&rusqlite::Transaction<'_>, &mut jobs::JobRow, i64) -> Result<bool, GatewayError>
        + Send,
>;

impl Gateway {
    /// Re-reads the job in one immediate transaction and lets `write` change it (it returns
    /// false to change nothing: the job moved on meanwhile). A change is announced as
    /// `job.updated` with the job's status, in the same transaction. Returns the job and its
    /// scheduling record as written.
    pub(super) async fn commit_progress(
        &self,
        job_id: &str,
        write: Progress,
    ) -> Result<Option<(jobs::JobRow, Option<scheduling::Scheduling>)>, GatewayError> {
        let id = job_id.to_owned();
        let now = self.now_us();
        let max_attempts = self.inner.dispatch.max_scheduling_attempts;
        let written = self
            .store()
            .run(move |c| {
                let stamp = c.stamp(now);
                let tx =
                    c.db.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
                let Some(mut job) = jobs::get(&tx, &id)? else {
                    return Ok::<_, GatewayError>(None);
                };
                if !write(&tx, &mut job, stamp)? {
                    return Ok(None);
                }
                let sched = scheduling::get(&tx, &id)?;
                let event = crate::view::job_update(&job, sched.as_ref(), max_attempts);
                let event_id = crate::store::events::append(
                    &tx,
                    &job.tenant,
                    crate::store::events::kind::JOB_UPDATED,
                    &event,
                    now,
                )?;
                tx.commit()?;
                Ok(Some((job, sched, event_id)))
            })
            .await?;
        Ok(written.map(|(job, sched, event_id)| {
            self.notify_events(Some(event_id));
            (job, sched)
        }))
    }
}

/// Moves `job` from `from` to `to` (in memory; the caller's transaction writes it with
/// `jobs::update_guarded`). Returns false when the job is not in `from`.
pub(super) fn move_to(
    tx: &rusqlite::Transaction<'_>,
    job: &mut jobs::JobRow,
    from: &str,
    to: &str,
    stamp: i64,
) -> Result<bool, GatewayError> {
    if job.state != from {
        return Ok(false);
    }
    job.state = to.to_owned();
    job.updated_at = stamp;
    Ok(jobs::update_guarded(tx, job, from)?)
}
