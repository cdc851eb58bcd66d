//! The dispatch-time gate over real HTTP: policy-engine outages in closed and open mode, the
//! per-environment fail modes, the circuit breaker, the retry cap, the pending replayer across
//! a restart, idempotent side effects, policy changes between approval and dispatch, the
//! metrics and the policy simulation. Outages are switched through the admin extension, so
//! the gateway lives through them as it would through a real one.

#[path = "../common/mod.rs"]
mod common;

mod breaker;
mod drift;
mod metrics;
mod outage;
mod replay;

use std::time::Duration;

use common::{Harness, ALICE, BOB};
use countersign_gateway::GatewayConfig;
use serde_json::{json, Value};

/// Dispatch settings that let the tests run in milliseconds: retries 1 ms apart (2 ms at
/// most), the dispatcher looking every 5 ms, a breaker that is open for 50 ms.
fn fast(config: &mut GatewayConfig) {
    let d = &mut config.dispatch;
    d.backoff_base = Duration::from_millis(1);
    d.backoff_max = Duration::from_millis(2);
    d.tick = Duration::from_millis(5);
    d.breaker.open_for = Duration::from_millis(50);
    d.call_timeout = Duration::from_millis(100);
    d.engine_timeout = Duration::from_millis(300);
}

async fn fast_harness() -> Harness {
    Harness::start_with(fast).await
}

/// Switches the simulated policy engine as an admin.
async fn engine(h: &Harness, mode: &str) {
    let (s, body) = h
        .send(
            reqwest::Method::PUT,
            Some(BOB),
            "/api/v1/admin/policy-engine",
            Some(json!({ "mode": mode })),
        )
        .await;
    assert_eq!(s, 200, "{body}");
    assert_eq!(body["mode"], mode, "{body}");
}

/// Sets how the workers of `topic` behave, as an admin.
async fn workers(h: &Harness, topic: &str, mode: &str) {
    let (s, body) = h
        .send(
            reqwest::Method::PUT,
            Some(BOB),
            "/api/v1/admin/workers",
            Some(json!({ "topic": topic, "mode": mode })),
        )
        .await;
    assert_eq!(s, 200, "{body}");
}

async fn job(h: &Harness, id: &str) -> Value {
    let (s, body) = h.get(ALICE, &format!("/api/v1/jobs/{id}")).await;
    assert_eq!(s, 200, "{body}");
    body
}

/// Polls the job until `done` holds (at most 10 s); returns it.
async fn wait_for(h: &Harness, id: &str, what: &str, done: impl Fn(&Value) -> bool) -> Value {
    let polling = async {
        loop {
            let j = job(h, id).await;
            if done(&j) {
                return j;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    };
    match tokio::time::timeout(Duration::from_secs(10), polling).await {
        Ok(j) => j,
        Err(_) => panic!("job {id} never {what}: {}", job(h, id).await),
    }
}

async fn wait_state(h: &Harness, id: &str, state: &str) -> Value {
    wait_for(h, id, state, |j| j["state"] == state).await
}

/// Approves a payment (env production: closed mode) and returns its id.
async fn approved_payment(h: &Harness) -> String {
    let id = h.payment().await;
    let (s, body) = h.approve(ALICE, &id, json!({"reason": "ok"})).await;
    assert_eq!(s, 200, "{body}");
    id
}

/// Submits a job the submit-time policy allows (no rule matches `knowledge.read`).
async fn allowed(h: &Harness, env: &str) -> String {
    let (s, body) = h
        .submit(
            common::AGENT,
            json!({"prompt": "read", "topic": "knowledge.read", "labels": {"env": env}}),
        )
        .await;
    assert_eq!(s, 200, "{body}");
    assert!(body.get("status").is_none(), "allowed at submit: {body}");
    body["job_id"].as_str().expect("id").to_owned()
}

/// Dispatches recorded for the job, now (not waiting for the dispatcher).
async fn dispatched(h: &Harness, id: &str) -> i64 {
    h.running
        .gateway()
        .dispatch_count(id)
        .await
        .expect("dispatch count")
}

/// The value of one sample of `/metrics` (`name{labels}` exactly as exposed), 0 if absent.
async fn metric(h: &Harness, sample: &str) -> f64 {
    let resp = common::sent(h.keyed(reqwest::Method::GET, BOB, "/metrics")).await;
    assert_eq!(resp.status(), 200);
    let text = resp.text().await.expect("metrics text");
    text.lines()
        .find_map(|line| {
            let (name, value) = line.rsplit_once(' ')?;
            (name == sample).then(|| value.parse::<f64>().expect("number"))
        })
        .unwrap_or(0.0)
}

/// Asserts that a sample reaches `expected` within 5 s: counters of what follows a commit
/// (a delivery, a job's end) move just after the state a test waits for is visible.
async fn metric_reaches(h: &Harness, sample: &str, expected: f64) {
    let start = std::time::Instant::now();
    loop {
        let value = metric(h, sample).await;
        if value == expected {
            return;
        }
        assert!(
            start.elapsed() < Duration::from_secs(5),
            "{sample} is {value}, not {expected}"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

async fn health(h: &Harness) -> Value {
    let (s, body) = h
        .send(reqwest::Method::GET, None, "/health?detail=true", None)
        .await;
    assert_eq!(s, 200, "{body}");
    body
}
