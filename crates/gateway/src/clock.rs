//! Time as the gateway sees it. Handlers never read the system clock directly, so tests and
//! the demo can inject a fixed or stepping clock and stay deterministic.

use std::fmt;
use std::time::{SystemTime, UNIX_EPOCH};

/// A source of wall-clock time in microseconds since the Unix epoch (Cordum's unit for
/// `updated_at`, `resolved_at` and list cursors).
pub trait Clock: Send + Sync + fmt::Debug {
    fn now_us(&self) -> i64;
}

/// The operating system's clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now_us(&self) -> i64 {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_micros()).unwrap_or(i64::MAX))
    }
}

/// A clock that moves only when told to: for tests and tools that need deadlines and
/// session expiry to pass without waiting.
#[derive(Debug, Default)]
pub struct ManualClock {
    now_us: std::sync::atomic::AtomicI64,
}

impl ManualClock {
    /// A clock showing `now_us`.
    pub fn at(now_us: i64) -> Self {
        Self {
            now_us: std::sync::atomic::AtomicI64::new(now_us),
        }
    }

    /// Moves the clock forward.
    pub fn advance(&self, by: std::time::Duration) {
        let us = duration_us(by);
        self.now_us
            .fetch_update(
                std::sync::atomic::Ordering::SeqCst,
                std::sync::atomic::Ordering::SeqCst,
                |t| Some(t.saturating_add(us)),
            )
            .ok();
    }
}

impl Clock for ManualClock {
    fn now_us(&self) -> i64 {
        self.now_us.load(std::sync::atomic::Ordering::SeqCst)
    }
}

/// A duration in the clock's unit, saturating (no configured duration comes near it).
pub fn duration_us(d: std::time::Duration) -> i64 {
    i64::try_from(d.as_micros()).unwrap_or(i64::MAX)
}

/// Formats microseconds since the epoch as RFC 3339 in UTC with microsecond precision,
/// the shape Go's `time.Time` JSON takes for these values.
pub fn rfc3339_us(us: i64) -> String {
    let secs = us.div_euclid(1_000_000);
    let micros = us.rem_euclid(1_000_000);
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let (year, month, day) = civil_from_days(days);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{micros:06}Z",
        rem / 3600,
        (rem % 3600) / 60,
        rem % 60
    )
}

/// Howard Hinnant's days-to-civil algorithm; avoids a date crate for one formatting need.
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_known_instants() {
        assert_eq!(rfc3339_us(0), "1970-01-01T00:00:00.000000Z");
        // 2026-11-21T05:17:45.936659Z, from the live transcript's updated_at.
        assert_eq!(
            rfc3339_us(1_795_238_265_936_659),
            "2026-11-21T05:17:45.936659Z"
        );
        assert_eq!(
            rfc3339_us(951_782_400_000_000),
            "2000-02-29T00:00:00.000000Z"
        );
    }
}
