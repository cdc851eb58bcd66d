//! The circuit breaker on policy calls, stepped with a manual clock: 3 consecutive failures
//! open it for 30 s (the default), calls meanwhile are not made, then half-open lets 3
//! probes through and 3 successes close it. Its state is in `/health?detail=true` and in
//! the metrics.

use std::sync::Arc;
use std::time::Duration;

use countersign_gateway::clock::{Clock, ManualClock, SystemClock};
use serde_json::{json, Value};

use crate::common::{Harness, ALICE};
use crate::*;

async fn simulate(h: &Harness) -> (u16, Value) {
    h.post(
        ALICE,
        "/api/v1/policy/simulate",
        json!({"topic": "finance.payment.execute", "labels": {"env": "production"}}),
    )
    .await
}

async fn breaker_state(h: &Harness) -> Value {
    health(h).await["policy_engine"]["breaker"].clone()
}

/// Advances the clock past the job's backoff and waits for its next attempt.
async fn next_attempt(h: &Harness, clock: &ManualClock, id: &str, attempts: u64) -> Value {
    clock.advance(Duration::from_secs(1));
    wait_for(h, id, "retried", |j| {
        j["attempts"].as_u64() >= Some(attempts)
    })
    .await
}

#[tokio::test]
async fn three_failures_open_it_and_half_open_probes_close_it() {
    let clock = Arc::new(ManualClock::at(SystemClock.now_us()));
    let injected = Arc::clone(&clock);
    let h = Harness::start_with(move |c| {
        c.clock = injected;
        c.dispatch.backoff_base = Duration::from_secs(1);
        c.dispatch.backoff_max = Duration::from_secs(1);
        c.dispatch.tick = Duration::from_millis(5);
    })
    .await;
    engine(&h, "failing").await;
    let id = approved_payment(&h).await;
    wait_for(&h, &id, "tried", |j| j["attempts"] == 1).await;
    assert_eq!(breaker_state(&h).await["consecutive_failures"], 1);
    next_attempt(&h, &clock, &id, 2).await;
    assert_eq!(breaker_state(&h).await["state"], "closed");
    let third = next_attempt(&h, &clock, &id, 3).await;
    assert_eq!(
        third["dispatch_decision"]["engine_error"]["code"],
        "engine_failed"
    );
    let open = breaker_state(&h).await;
    assert_eq!(open["state"], "open", "{open}");
    assert_eq!(open["half_open_in_ms"], 30_000);
    assert_eq!(metric(&h, "countersign_policy_breaker_state").await, 2.0);
    let opened = "countersign_policy_breaker_transitions_total{to=\"open\"}";
    assert_eq!(metric(&h, opened).await, 1.0);

    // Open: the engine is healthy again, but no call is made until 30 s have passed.
    engine(&h, "healthy").await;
    let fourth = next_attempt(&h, &clock, &id, 4).await;
    assert_eq!(
        fourth["dispatch_decision"]["engine_error"]["code"], "engine_circuit_open",
        "{fourth}"
    );
    let (s, refused) = simulate(&h).await;
    assert_eq!(s, 503, "{refused}");
    assert_eq!(refused["code"], "engine_circuit_open");
    assert_eq!(dispatched(&h, &id).await, 0);

    // Half-open after 30 s: the job's attempt is the first probe, two more close it.
    clock.advance(Duration::from_secs(30));
    wait_state(&h, &id, "SUCCEEDED").await;
    assert_eq!(breaker_state(&h).await["state"], "half_open");
    assert_eq!(metric(&h, "countersign_policy_breaker_state").await, 1.0);
    assert_eq!(simulate(&h).await.0, 200);
    assert_eq!(breaker_state(&h).await["state"], "half_open");
    assert_eq!(simulate(&h).await.0, 200);
    assert_eq!(breaker_state(&h).await["state"], "closed");
    assert_eq!(metric(&h, "countersign_policy_breaker_state").await, 0.0);
    for to in ["half_open", "closed"] {
        let sample = format!("countersign_policy_breaker_transitions_total{{to=\"{to}\"}}");
        assert_eq!(metric(&h, &sample).await, 1.0, "{to}");
    }
    assert_eq!(dispatched(&h, &id).await, 1);
}

#[tokio::test]
async fn a_failed_probe_opens_it_again() {
    let clock = Arc::new(ManualClock::at(SystemClock.now_us()));
    let injected = Arc::clone(&clock);
    let h = Harness::start_with(move |c| c.clock = injected).await;
    engine(&h, "down").await;
    for _ in 0..3 {
        assert_eq!(simulate(&h).await.0, 503);
    }
    assert_eq!(breaker_state(&h).await["state"], "open");
    clock.advance(Duration::from_secs(30));
    let (s, body) = simulate(&h).await;
    assert_eq!(
        (s, body["code"].as_str()),
        (503, Some("engine_unreachable"))
    );
    let reopened = breaker_state(&h).await;
    assert_eq!(reopened["state"], "open", "{reopened}");
    assert_eq!(reopened["half_open_in_ms"], 30_000);
    let opened = "countersign_policy_breaker_transitions_total{to=\"open\"}";
    assert_eq!(metric(&h, opened).await, 2.0);
}
