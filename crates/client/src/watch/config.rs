//! [`WatchConfig`]: the watch's timings and the bounds on what one full list may hold.

use std::time::Duration;

/// Tuning; the defaults suit the app.
#[derive(Debug, Clone)]
pub struct WatchConfig {
    /// Time between polls when polling.
    pub poll_interval: Duration,
    /// First wait after a failure; doubles per failure.
    pub initial_backoff: Duration,
    /// Longest wait after repeated failures.
    pub max_backoff: Duration,
    /// Items per list page (the gateway caps at 500).
    pub page_limit: u32,
    /// Pages per full list; a longer queue is shown truncated (and nothing is reported
    /// resolved from an incomplete list).
    pub max_pages: usize,
    /// Items per full list, for the same reason and to bound memory: a gateway may send
    /// pages of large items.
    pub max_items: usize,
    /// Bytes of list bodies per full list, as received: the memory bound that holds however
    /// large the items are (parsed items take a small multiple of it).
    pub max_list_bytes: usize,
    /// Use the event stream when the gateway offers it.
    pub use_events: bool,
}

impl Default for WatchConfig {
    fn default() -> Self {
        Self {
            poll_interval: Duration::from_secs(2),
            initial_backoff: Duration::from_millis(500),
            max_backoff: Duration::from_secs(30),
            page_limit: 500,
            max_pages: 100,
            // The app shows queues of 10,000 pending items; the byte bound keeps that safe.
            max_items: 20_000,
            max_list_bytes: 128 * 1024 * 1024,
            use_events: true,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_defaults_hold_ten_thousand_pending_items() {
        let config = WatchConfig::default();
        assert!(config.max_items >= 10_000);
        assert!(config.max_pages * config.page_limit as usize >= 10_000);
        // 10,000 items of a few kilobytes each fit the byte bound.
        assert!(config.max_list_bytes >= 10_000 * 8 * 1024);
    }
}
