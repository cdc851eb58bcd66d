//! Bounds on repeated and concurrent work.
//!
//! [`FailureLimiter`] counts failures per key (a username, a source address) in fixed
//! windows: past the allowance a key is refused until its window ends. The table is bounded,
//! so a flood of distinct keys (random usernames, many addresses) cannot grow memory without
//! limit: past the bound, expired windows go first, then the oldest.
//!
//! [`WorkGate`] runs blocking work (password hashing) with at most a few jobs at once.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// A key's window: when it started and how many failures it saw.
#[derive(Debug, Clone, Copy)]
struct Window {
    start_us: i64,
    count: u32,
}

/// Fixed-window failure counters.
#[derive(Debug)]
pub(crate) struct FailureLimiter {
    allowance: u32,
    window_us: i64,
    max_keys: usize,
    windows: Mutex<HashMap<String, Window>>,
}

impl FailureLimiter {
    /// Allows `allowance` failures per key per `window`, tracking at most `max_keys` keys.
    pub(crate) fn new(allowance: u32, window: Duration, max_keys: usize) -> Self {
        Self {
            allowance,
            window_us: i64::try_from(window.as_micros()).unwrap_or(i64::MAX),
            max_keys: max_keys.max(1),
            windows: Mutex::new(HashMap::new()),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Window>> {
        self.windows.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn seconds_left(&self, w: Window, now_us: i64) -> u64 {
        let end = w.start_us.saturating_add(self.window_us);
        let left_us = end.saturating_sub(now_us).max(0);
        u64::try_from(left_us.saturating_add(999_999) / 1_000_000)
            .unwrap_or(u64::MAX)
            .max(1)
    }

    fn live(&self, w: Window, now_us: i64) -> bool {
        now_us.saturating_sub(w.start_us) < self.window_us
    }

    /// Seconds until `key` may try again, if it is refused now.
    pub(crate) fn retry_after(&self, key: &str, now_us: i64) -> Option<u64> {
        let windows = self.lock();
        let w = *windows.get(key)?;
        (self.live(w, now_us) && w.count >= self.allowance).then(|| self.seconds_left(w, now_us))
    }

    /// Counts one failure of `key`; returns the seconds to wait if that used up the allowance.
    pub(crate) fn record(&self, key: &str, now_us: i64) -> Option<u64> {
        let mut windows = self.lock();
        if !windows.contains_key(key) && windows.len() >= self.max_keys {
            windows.retain(|_, w| self.live(*w, now_us));
            if windows.len() >= self.max_keys {
                let oldest = windows
                    .iter()
                    .min_by_key(|(_, w)| w.start_us)
                    .map(|(k, _)| k.clone());
                if let Some(oldest) = oldest {
                    windows.remove(&oldest);
                }
            }
        }
        let w = windows.entry(key.to_owned()).or_insert(Window {
            start_us: now_us,
            count: 0,
        });
        if !self.live(*w, now_us) {
            *w = Window {
                start_us: now_us,
                count: 0,
            };
        }
        w.count = w.count.saturating_add(1);
        let w = *w;
        (w.count >= self.allowance).then(|| self.seconds_left(w, now_us))
    }

    /// Forgets `key`'s failures (a success).
    pub(crate) fn clear(&self, key: &str) {
        self.lock().remove(key);
    }

    #[cfg(test)]
    fn tracked(&self) -> usize {
        self.lock().len()
    }
}

/// Runs blocking work on the blocking pool with at most `permits` jobs at once; the rest
/// wait their turn (argon2 holds ~19 MiB per hash, so a login flood must queue, not fan out).
#[derive(Debug)]
pub(crate) struct WorkGate {
    permits: tokio::sync::Semaphore,
}

impl WorkGate {
    pub(crate) fn new(permits: usize) -> Self {
        Self {
            permits: tokio::sync::Semaphore::new(permits.max(1)),
        }
    }

    pub(crate) async fn run<R, F>(&self, work: F) -> Result<R, crate::error::GatewayError>
    where
        R: Send + 'static,
        F: FnOnce() -> R + Send + 'static,
    {
        let task =
            |e: &dyn std::fmt::Display| crate::error::GatewayError::StorageTask(e.to_string());
        let _permit = self.permits.acquire().await.map_err(|e| task(&e))?;
        tokio::task::spawn_blocking(work)
            .await
            .map_err(|e| task(&e))
    }
}

/// Counts open streams per key and refuses one past the cap. A [`Slot`] gives its place back
/// when dropped, however the stream ends.
#[derive(Debug, Default)]
pub(crate) struct Slots {
    open: Arc<Mutex<HashMap<String, usize>>>,
}

/// One open stream's place.
#[derive(Debug)]
pub struct Slot {
    key: String,
    open: Arc<Mutex<HashMap<String, usize>>>,
}

impl Slots {
    /// A place for `key`, unless it already holds `max`.
    pub(crate) fn take(&self, key: &str, max: usize) -> Option<Slot> {
        let mut open = self.open.lock().unwrap_or_else(|p| p.into_inner());
        let count = open.entry(key.to_owned()).or_default();
        if *count >= max {
            return None;
        }
        *count += 1;
        Some(Slot {
            key: key.to_owned(),
            open: Arc::clone(&self.open),
        })
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut open = self.open.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(count) = open.get_mut(&self.key) {
            *count = count.saturating_sub(1);
            if *count == 0 {
                open.remove(&self.key);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[test]
    fn slots_are_capped_per_key_and_given_back() {
        let slots = Slots::default();
        let a = slots.take("a", 2).expect("first");
        let _b = slots.take("a", 2).expect("second");
        assert!(slots.take("a", 2).is_none());
        assert!(slots.take("other", 2).is_some());
        drop(a);
        assert!(slots.take("a", 2).is_some());
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn the_gate_bounds_concurrent_work() {
        let gate = Arc::new(WorkGate::new(2));
        let (running, most) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
        let jobs: Vec<_> = (0..12)
            .map(|_| {
                let (gate, running, most) = (gate.clone(), running.clone(), most.clone());
                tokio::spawn(async move {
                    gate.run(move || {
                        let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                        most.fetch_max(now, Ordering::SeqCst);
                        std::thread::sleep(Duration::from_millis(20));
                        running.fetch_sub(1, Ordering::SeqCst);
                    })
                    .await
                })
            })
            .collect();
        for job in jobs {
            job.await.expect("joined").expect("ran");
        }
        let most = most.load(Ordering::SeqCst);
        assert!((1..=2).contains(&most), "{most} ran at once");
    }

    const S: i64 = 1_000_000;

    #[test]
    fn refuses_past_the_allowance_until_the_window_ends() {
        let limiter = FailureLimiter::new(3, Duration::from_secs(60), 100);
        assert_eq!(limiter.record("k", 0), None);
        assert_eq!(limiter.record("k", S), None);
        assert_eq!(limiter.retry_after("k", S), None);
        assert_eq!(limiter.record("k", 10 * S), Some(50));
        assert_eq!(limiter.retry_after("k", 10 * S), Some(50));
        assert_eq!(limiter.retry_after("other", 10 * S), None);
        assert_eq!(limiter.retry_after("k", 60 * S), None, "the window ended");
        limiter.record("k", 61 * S);
        limiter.clear("k");
        assert_eq!(limiter.retry_after("k", 61 * S), None);
    }

    #[test]
    fn the_table_stays_bounded() {
        let limiter = FailureLimiter::new(1, Duration::from_secs(60), 10);
        for i in 0..1000 {
            limiter.record(&format!("k{i}"), i);
        }
        assert_eq!(limiter.tracked(), 10);
        // The newest keys are the ones kept.
        assert!(limiter.retry_after("k999", 1000).is_some());
        assert!(limiter.retry_after("k0", 1000).is_none());
    }
}
