//! The gateway's Prometheus metrics (`GET /metrics`, OpenMetrics text via `prometheus-client`):
//! what seed 000 asks to watch as SLIs (already-approved repeats and the drift conflicts by
//! kind), the dispatch-time gate (fail-open dispatches under Cordum's own metric name, the
//! breaker, replays, scheduling retries, dispatch latency, outcomes) and the pending approvals
//! by age.

use std::fmt;

use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;

use crate::engine::{BreakerState, Transition};

type Labels = Vec<(&'static str, String)>;

fn label(name: &'static str, value: &str) -> Labels {
    vec![(name, value.to_owned())]
}

/// The age buckets of pending approvals, as `(label, upper bound in seconds)`.
pub const PENDING_AGE_BUCKETS: [(&str, i64); 4] = [
    ("lt_1m", 60),
    ("1m_to_5m", 300),
    ("5m_to_1h", 3600),
    ("ge_1h", i64::MAX),
];

/// Every metric the gateway keeps.
pub struct Metrics {
    registry: Registry,
    already_approved: Counter,
    conflicts: Family<Labels, Counter>,
    fail_open: Family<Labels, Counter>,
    breaker_state: Gauge,
    breaker_transitions: Family<Labels, Counter>,
    replays: Counter,
    scheduling_retries: Family<Labels, Counter>,
    dispatch_outcomes: Family<Labels, Counter>,
    dispatch_latency: Histogram,
    deliveries: Counter,
    side_effects: Counter,
    pending_approvals: Family<Labels, Gauge>,
}

impl fmt::Debug for Metrics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Metrics").finish_non_exhaustive()
    }
}

/// The kind of an approve refused for drift.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Conflict {
    /// The policy snapshot moved (`approval_stale_snapshot`).
    Snapshot,
    /// The request no longer hashes to the approved hash (`approval_stale_request`).
    Hash,
    /// The payload no longer matches its content-addressed pointer (found at dispatch).
    Content,
}

impl Conflict {
    fn as_str(self) -> &'static str {
        match self {
            Self::Snapshot => "snapshot",
            Self::Hash => "hash",
            Self::Content => "content",
        }
    }
}

impl Default for Metrics {
    fn default() -> Self {
        let mut registry = Registry::default();
        let metrics = Self {
            already_approved: Counter::default(),
            conflicts: Family::default(),
            fail_open: Family::default(),
            breaker_state: Gauge::default(),
            breaker_transitions: Family::default(),
            replays: Counter::default(),
            scheduling_retries: Family::default(),
            dispatch_outcomes: Family::default(),
            // 1 ms to about 65 s: a healthy dispatch is milliseconds, an outage minutes.
            dispatch_latency: Histogram::new(exponential_buckets(0.001, 4.0, 9)),
            deliveries: Counter::default(),
            side_effects: Counter::default(),
            pending_approvals: Family::default(),
            registry: Registry::default(),
        };
        registry.register(
            "countersign_approvals_already_approved",
            "Approve calls answered already_approved (idempotent repeats)",
            metrics.already_approved.clone(),
        );
        registry.register(
            "countersign_approval_conflicts",
            "Approvals refused for drift, by kind (snapshot, hash, content)",
            metrics.conflicts.clone(),
        );
        registry.register(
            "cordum_scheduler_input_fail_open",
            "Jobs dispatched without a policy check because the engine was unavailable in open mode",
            metrics.fail_open.clone(),
        );
        registry.register(
            "countersign_policy_breaker_state",
            "The policy-engine circuit breaker: 0 closed, 1 half-open, 2 open",
            metrics.breaker_state.clone(),
        );
        registry.register(
            "countersign_policy_breaker_transitions",
            "Breaker state changes, by the state entered",
            metrics.breaker_transitions.clone(),
        );
        registry.register(
            "countersign_dispatch_replays",
            "Dispatchable jobs the pending replayer found that the dispatcher did not hold",
            metrics.replays.clone(),
        );
        registry.register(
            "countersign_scheduling_retries",
            "Scheduling attempts that ended in a requeue, by reason",
            metrics.scheduling_retries.clone(),
        );
        registry.register(
            "countersign_dispatch_outcomes",
            "Dispatch-time gate outcomes (dispatched, fail_open, denied, reopened, failed)",
            metrics.dispatch_outcomes.clone(),
        );
        registry.register(
            "countersign_dispatch_latency_seconds",
            "From a job becoming dispatchable (allowed or approved) to its dispatch",
            metrics.dispatch_latency.clone(),
        );
        registry.register(
            "countersign_worker_deliveries",
            "Jobs delivered to a simulated worker, redeliveries included",
            metrics.deliveries.clone(),
        );
        registry.register(
            "countersign_worker_side_effects",
            "Side effects executed (once per approval_ref:job_hash)",
            metrics.side_effects.clone(),
        );
        registry.register(
            "countersign_pending_approvals",
            "Approvals awaiting a human, by age",
            metrics.pending_approvals.clone(),
        );
        Self {
            registry,
            ..metrics
        }
    }
}

impl Metrics {
    pub fn already_approved(&self) {
        self.already_approved.inc();
    }

    pub fn conflict(&self, kind: Conflict) {
        self.conflicts
            .get_or_create(&label("kind", kind.as_str()))
            .inc();
    }

    pub fn fail_open(&self, topic: &str) {
        self.fail_open.get_or_create(&label("topic", topic)).inc();
    }

    pub fn breaker(&self, state: BreakerState, transition: Option<Transition>) {
        self.breaker_state.set(state.gauge());
        if let Some(t) = transition {
            self.breaker_transitions
                .get_or_create(&label("to", t.to.as_str()))
                .inc();
        }
    }

    pub fn replayed(&self) {
        self.replays.inc();
    }

    pub fn retried(&self, reason: &str) {
        self.scheduling_retries
            .get_or_create(&label("reason", reason))
            .inc();
    }

    pub fn outcome(&self, outcome: &str) {
        self.dispatch_outcomes
            .get_or_create(&label("outcome", outcome))
            .inc();
    }

    pub fn dispatched_after(&self, seconds: f64) {
        self.dispatch_latency.observe(seconds.max(0.0));
    }

    pub fn delivered(&self, executed: bool) {
        self.deliveries.inc();
        if executed {
            self.side_effects.inc();
        }
    }

    /// The text exposition, with the pending approvals' ages (seconds, oldest first or in any
    /// order) counted into their buckets first.
    pub fn render(&self, pending_ages_s: &[i64]) -> String {
        for (name, upper) in PENDING_AGE_BUCKETS {
            let lower = PENDING_AGE_BUCKETS
                .iter()
                .take_while(|(n, _)| *n != name)
                .last()
                .map_or(i64::MIN, |(_, u)| *u);
            let n = pending_ages_s
                .iter()
                .filter(|&&age| age >= lower && age < upper)
                .count();
            self.pending_approvals
                .get_or_create(&label("age", name))
                .set(i64::try_from(n).unwrap_or(i64::MAX));
        }
        let mut out = String::new();
        // Writing into a String cannot fail; an encoder error would be a bug in a metric.
        if encode(&mut out, &self.registry).is_err() {
            tracing::error!("metrics could not be encoded");
        }
        out
    }
}
