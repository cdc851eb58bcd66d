//! Lists 10,000 pending approvals (20 pages of 500, over loopback HTTP, as the load bench and
//! a client's full resync do) `RUNS` times, for callgrind: instruction counts do not depend on
//! what else the machine is doing, so they compare a change on a busy machine where wall
//! clocks cannot. The server's threads are counted too; the difference between two `RUNS`
//! cancels start-up and shutdown, leaving the listings alone.
//!
//! `list_instructions DIR RUNS`: the first call fills `DIR/gw.db` with the 10,000 jobs
//! (natively, unmeasured), later calls reuse it. Under
//! `valgrind --tool=callgrind --toggle-collect='*uncounted_*' --collect-atstart=yes`, once
//! with `RUNS` 1 and once with 3 on copies of the same file: one listing is half the
//! difference of their totals; `scripts/bench-gateway-instructions.sh` does exactly that.

use std::path::Path;
use std::process::ExitCode;

use countersign_gateway::config::{ApiKeyConfig, Credentials, Role};
use countersign_gateway::{start, GatewayConfig};
use serde_json::json;

const PENDING: usize = 10_000;
const PAGE: usize = 500;
const AGENT: &str = "list-agent-key-0001";
const REVIEWER: &str = "list-reviewer-key-01";
const POLICY: &str = r#"version: v1
rules:
  - id: payments-need-a-human
    when: { topic: finance.payment.execute }
    decision: require_human
    reason: Payments need a human.
"#;

fn credentials() -> Credentials {
    let key = |key: &str, role, principal: &str| ApiKeyConfig {
        tenant: "default".into(),
        key: key.into(),
        role,
        principal: principal.into(),
    };
    Credentials {
        keys: vec![
            key(AGENT, Role::Agent, "agent"),
            key(REVIEWER, Role::Operator, "reviewer"),
        ],
        users: Vec::new(),
    }
}

/// The same jobs as `benches/load.rs` submits.
async fn fill(http: &reqwest::Client, base: &str) {
    for n in 1..=PENDING {
        let body = json!({
            "prompt": "pay the invoice",
            "topic": "finance.payment.execute",
            "context": {"amount": n, "currency": "EUR", "vendor": format!("vendor {n}")},
            "labels": {"env": "production"},
        });
        let answer = http
            .post(format!("{base}/api/v1/jobs"))
            .header("X-API-Key", AGENT)
            .json(&body)
            .send()
            .await
            .expect("submit sent");
        assert!(answer.status().is_success(), "submit: {}", answer.status());
    }
}

#[derive(serde::Deserialize)]
struct Page {
    items: Vec<serde::de::IgnoredAny>,
    next_cursor: Option<i64>,
}

// The caller's parse is not the gateway's cost: `--toggle-collect='*uncounted_*'` leaves it
// out (it runs on this thread alone, between two awaits). Never inlined, so the toggle sees it.
#[inline(never)]
fn uncounted_parse(bytes: &[u8]) -> Page {
    serde_json::from_slice(bytes).expect("list is JSON")
}

/// One full listing; returns how many items it saw.
async fn list_all(http: &reqwest::Client, base: &str) -> usize {
    let (mut seen, mut cursor) = (0, None::<String>);
    loop {
        let mut url = format!("{base}/api/v1/approvals?limit={PAGE}&include_resolved=false");
        if let Some(cursor) = &cursor {
            url.push_str(&format!("&cursor={cursor}"));
        }
        let bytes = http
            .get(url)
            .header("X-API-Key", REVIEWER)
            .send()
            .await
            .expect("list sent")
            .bytes()
            .await
            .expect("list read");
        let page = uncounted_parse(&bytes);
        seen += page.items.len();
        match page.next_cursor {
            None => return seen,
            Some(next) => cursor = Some(next.to_string()),
        }
    }
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    let (Some(dir), Some(Ok(runs))) = (args.get(1), args.get(2).map(|s| s.parse::<usize>())) else {
        eprintln!("usage: list_instructions DIR RUNS");
        return ExitCode::from(2);
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        let db = Path::new(dir).join("gw.db");
        let fresh = !db.exists();
        let mut config = GatewayConfig::new("127.0.0.1:0".parse().expect("addr"), db);
        config.credentials = credentials();
        // Under callgrind a page takes seconds: the keep-alive connection must outlive it.
        config.connection_limits.header_read_timeout = std::time::Duration::from_secs(600);
        let running = start(config).await.expect("gateway starts");
        let base = format!("http://{}", running.addr);
        let http = reqwest::Client::new();
        if fresh {
            running
                .gateway()
                .publish_policy(POLICY, "list_instructions")
                .await
                .expect("policy publishes");
            fill(&http, &base).await;
        }
        for _ in 0..runs {
            assert_eq!(list_all(&http, &base).await, PENDING, "every job listed");
        }
        running.shutdown().await.expect("clean shutdown");
    });
    ExitCode::SUCCESS
}
