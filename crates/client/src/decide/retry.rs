//! Bounded exponential backoff with full jitter, injectable so tests run in milliseconds.

use std::time::Duration;

use rand::RngExt;

/// How often and how patiently a decision is re-sent after a retryable failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Sends per decision, the first included (at least 1).
    pub max_attempts: u32,
    pub initial_delay: Duration,
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_attempts: 6,
            initial_delay: Duration::from_millis(250),
            max_delay: Duration::from_secs(8),
        }
    }
}

impl RetryPolicy {
    /// The wait before attempt `attempt + 1`, after `attempt` failed ones (1-based): a random
    /// point in `[cap/2, cap]` where `cap` doubles per attempt up to `max_delay`. Half the cap
    /// is kept so that a retry never comes back instantly against a struggling gateway.
    pub fn delay(&self, attempt: u32) -> Duration {
        backoff(self.initial_delay, self.max_delay, attempt)
    }

    pub(crate) fn attempts(&self) -> u32 {
        self.max_attempts.max(1)
    }
}

/// `initial * 2^(attempt-1)` capped at `max`, jittered into its upper half.
pub(crate) fn backoff(initial: Duration, max: Duration, attempt: u32) -> Duration {
    let shift = attempt.saturating_sub(1).min(20);
    let cap = initial.saturating_mul(1 << shift).min(max);
    let cap_ms = u64::try_from(cap.as_millis()).unwrap_or(u64::MAX);
    if cap_ms < 2 {
        return cap;
    }
    Duration::from_millis(rand::rng().random_range(cap_ms / 2..=cap_ms))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_grow_and_stay_bounded() {
        let policy = RetryPolicy {
            max_attempts: 10,
            initial_delay: Duration::from_millis(100),
            max_delay: Duration::from_secs(1),
        };
        for attempt in 1..40 {
            let cap = Duration::from_millis(100)
                .saturating_mul(1 << (attempt - 1).min(20))
                .min(Duration::from_secs(1));
            let d = policy.delay(attempt);
            assert!(d <= cap && d >= cap / 2, "attempt {attempt}: {d:?}");
        }
        assert_eq!(backoff(Duration::ZERO, Duration::ZERO, 3), Duration::ZERO);
        assert_eq!(
            RetryPolicy {
                max_attempts: 0,
                ..policy
            }
            .attempts(),
            1
        );
    }
}
