//! How often a refused (forged) notification signal is written to the ledger. Any local
//! process can emit such signals as fast as it likes; each is refused, but recording every
//! one would let it fill the reviewer's audit history. One entry per window says how many
//! more were refused since the last.

/// At most one ledger entry for forged signals per this many milliseconds.
pub const FORGERY_RECORD_WINDOW_MS: i64 = 10_000;

#[derive(Debug, Default)]
pub struct ForgeryLog {
    last_recorded_ms: Option<i64>,
    suppressed: u64,
}

impl ForgeryLog {
    /// A forged signal at `now_ms`: `Some(n)` when it is to be recorded, `n` being how many
    /// were refused without a record since the last one; `None` when it is only counted.
    pub fn refused(&mut self, now_ms: i64) -> Option<u64> {
        let due = self
            .last_recorded_ms
            .is_none_or(|last| now_ms.saturating_sub(last) >= FORGERY_RECORD_WINDOW_MS);
        if due {
            self.last_recorded_ms = Some(now_ms);
            Some(std::mem::take(&mut self.suppressed))
        } else {
            self.suppressed += 1;
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_flood_of_forged_signals_is_one_entry_per_window_with_the_count() {
        let mut log = ForgeryLog::default();
        assert_eq!(log.refused(1_000), Some(0));
        for n in 1..=500 {
            assert_eq!(log.refused(1_000 + n), None);
        }
        assert_eq!(log.refused(1_000 + FORGERY_RECORD_WINDOW_MS - 1), None);
        assert_eq!(log.refused(1_000 + FORGERY_RECORD_WINDOW_MS), Some(501));
        assert_eq!(log.refused(1_000 + 3 * FORGERY_RECORD_WINDOW_MS), Some(0));
    }
}
