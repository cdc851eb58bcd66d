//! Per-job decision locks (Cordum's `withApprovalLock`, in-process). Approve and reject of one
//! job run one at a time; a caller waits up to the configured time and then gets a retryable
//! 409. The database update is additionally guarded by the job's state, so even two gateway
//! processes on one file cannot both resolve a job.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::OwnedMutexGuard;

/// Entries beyond this many are pruned of unused locks on the next acquire.
const PRUNE_ABOVE: usize = 1024;

#[derive(Debug, Default)]
pub(super) struct JobLocks {
    map: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
}

impl JobLocks {
    /// The job's lock, or `None` if it stayed busy for `wait`.
    pub(super) async fn acquire(
        &self,
        job_id: &str,
        wait: Duration,
    ) -> Option<OwnedMutexGuard<()>> {
        let lock = {
            let mut map = self.map.lock().unwrap_or_else(|p| p.into_inner());
            if map.len() > PRUNE_ABOVE {
                // Only the map holds a count-1 lock: nobody owns or awaits it.
                map.retain(|_, l| Arc::strong_count(l) > 1);
            }
            Arc::clone(map.entry(job_id.to_owned()).or_default())
        };
        tokio::time::timeout(wait, lock.lock_owned()).await.ok()
    }
}
