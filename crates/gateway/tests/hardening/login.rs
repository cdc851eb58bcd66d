//! Item 6: failed logins are rate-limited per user and per source (429 with Retry-After),
//! every failure is recorded without the password, and recovery comes when the window ends.
//! (Equal work for unknown users and the bound on concurrent hashing are unit-tested in
//! `auth.rs` and `service/ratelimit.rs`; no test here measures time.)

use std::sync::Arc;
use std::time::Duration;

use countersign_gateway::clock::{Clock, ManualClock, SystemClock};
use countersign_gateway::Role;
use serde_json::json;

use crate::common::*;

const WRONG: &str = "wrong-password-3f9a1c";

async fn harness(clock: Arc<ManualClock>) -> Harness {
    let hash = cheap_hash("s3cret");
    Harness::start_with(move |c| {
        c.credentials.users.push(user("rita", hash, Role::Operator));
        c.auth_limits.login_failures_per_user = 3;
        c.auth_limits.login_failures_per_source = 6;
        c.auth_limits.login_window = Duration::from_secs(60);
        c.clock = clock;
    })
    .await
}

async fn login_status(h: &Harness, username: &str, password: &str) -> (u16, Option<String>) {
    let resp = sent(
        h.http
            .post(h.url("/api/v1/auth/login"))
            .json(&json!({"username": username, "password": password})),
    )
    .await;
    let retry = resp
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    (resp.status().as_u16(), retry)
}

#[tokio::test]
async fn failures_per_user_are_limited_and_recorded_without_the_password() {
    let clock = Arc::new(ManualClock::at(SystemClock.now_us()));
    let h = harness(Arc::clone(&clock)).await;
    for _ in 0..3 {
        assert_eq!(login_status(&h, "rita", WRONG).await, (401, None));
    }
    // Even the right password waits now.
    let (status, retry) = login_status(&h, "rita", "s3cret").await;
    assert_eq!(status, 429);
    let secs: u64 = retry.expect("Retry-After").parse().expect("seconds");
    assert!((1..=60).contains(&secs), "{secs}");

    let log = h.running.gateway().auth_failures(100).await.expect("log");
    let kinds: Vec<&str> = log.iter().map(|f| f.kind.as_str()).collect();
    assert_eq!(
        kinds,
        [
            "login_rate_limited",
            "login_failure",
            "login_failure",
            "login_failure"
        ]
    );
    assert!(log
        .iter()
        .all(|f| f.username == "rita" && f.source == "127.0.0.1"));
    let files: Vec<u8> = std::fs::read_dir(h.dir.path())
        .expect("dir")
        .flat_map(|e| std::fs::read(e.expect("entry").path()).unwrap_or_default())
        .collect();
    assert!(
        !files.windows(WRONG.len()).any(|w| w == WRONG.as_bytes()),
        "the password reached the database"
    );

    clock.advance(Duration::from_secs(61));
    assert_eq!(login_status(&h, "rita", "s3cret").await.0, 200);
}

#[tokio::test]
async fn failures_per_source_are_limited_across_usernames() {
    let clock = Arc::new(ManualClock::at(SystemClock.now_us()));
    let h = harness(clock).await;
    for i in 0..6 {
        let (status, _) = login_status(&h, &format!("nobody-{i}"), WRONG).await;
        assert_eq!(status, 401);
    }
    let (status, retry) = login_status(&h, "someone-new", WRONG).await;
    assert_eq!(status, 429);
    assert!(retry.is_some());
}
