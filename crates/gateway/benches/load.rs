//! The gateway under a reviewer team's load (issue 14), over real HTTP on loopback:
//!
//! * listing 10,000 pending approvals, page by page at the largest page, as a client's full
//!   resync does (target: under 100 ms);
//! * 50 reviewers approving those 10,000 jobs concurrently, each with its own key: sustained
//!   approvals per second and the latency of one approve, median and p99.
//!
//! Not criterion: the figures wanted are percentiles over many concurrent calls. Prints a table
//! and writes `target/bench-results/gateway.json` for `scripts/bench-report.py`.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use countersign_gateway::config::{ApiKeyConfig, Credentials, Role};
use countersign_gateway::{start, GatewayConfig};
use futures_util::future::join_all;
use serde_json::{json, Value};
use tokio::sync::Mutex;

const PENDING: usize = 10_000;
const REVIEWERS: usize = 50;
const AGENTS: usize = 20;
const LIST_RUNS: usize = 20;
const PAGE: usize = 500;

const POLICY: &str = r#"version: v1
rules:
  - id: payments-need-a-human
    when: { topic: finance.payment.execute }
    decision: require_human
    reason: Payments need a human.
"#;

fn agent_key(n: usize) -> String {
    format!("bench-agent-key-{n:04}")
}

fn reviewer_key(n: usize) -> String {
    format!("bench-reviewer-key-{n:04}")
}

fn credentials() -> Credentials {
    let key = |key: String, role, principal: String| ApiKeyConfig {
        tenant: "default".into(),
        key,
        role,
        principal,
    };
    let agents = (0..AGENTS).map(|n| key(agent_key(n), Role::Agent, format!("agent-{n}")));
    let reviewers =
        (0..REVIEWERS).map(|n| key(reviewer_key(n), Role::Operator, format!("reviewer-{n}")));
    let mut keys: Vec<_> = agents.chain(reviewers).collect();
    keys.push(key(
        "bench-admin-key-0001".into(),
        Role::Admin,
        "admin".into(),
    ));
    Credentials {
        keys,
        users: Vec::new(),
    }
}

/// The value at quantile `q` (0..=1) of sorted `samples`, nearest rank.
fn quantile(sorted: &[Duration], q: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    // Nearest rank: ceil(q * n), 1-based; the float is small and non-negative.
    let rank = (q * sorted.len() as f64).ceil().max(1.0) as usize;
    sorted[rank.min(sorted.len()) - 1]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

async fn submit_all(http: &reqwest::Client, base: &str) {
    let next = Arc::new(Mutex::new(0usize));
    let workers = (0..AGENTS).map(|agent| {
        let (http, base, next) = (http.clone(), base.to_owned(), Arc::clone(&next));
        async move {
            loop {
                let n = {
                    let mut next = next.lock().await;
                    if *next >= PENDING {
                        return;
                    }
                    *next += 1;
                    *next
                };
                let body = json!({
                    "prompt": "pay the invoice",
                    "topic": "finance.payment.execute",
                    "context": {"amount": n, "currency": "EUR", "vendor": format!("vendor {n}")},
                    "labels": {"env": "production"},
                });
                let answer = http
                    .post(format!("{base}/api/v1/jobs"))
                    .header("X-API-Key", agent_key(agent))
                    .json(&body)
                    .send()
                    .await
                    .expect("submit sent");
                let status = answer.status();
                assert!(
                    status.is_success(),
                    "submit: {status} {}",
                    answer.text().await.unwrap_or_default()
                );
            }
        }
    });
    join_all(workers).await;
}

/// One full listing of the pending approvals.
struct Listing {
    ids: Vec<String>,
    /// Waiting for the pages: the gateway's work and the transfer.
    serve: Duration,
    /// Parsing the pages into JSON values, as a client reading them does.
    parse: Duration,
}

/// Every pending approval, following `next_cursor`.
async fn list_all(http: &reqwest::Client, base: &str) -> Listing {
    let mut listing = Listing {
        ids: Vec::with_capacity(PENDING),
        serve: Duration::ZERO,
        parse: Duration::ZERO,
    };
    let mut cursor: Option<String> = None;
    loop {
        let mut url = format!("{base}/api/v1/approvals?limit={PAGE}&include_resolved=false");
        if let Some(cursor) = &cursor {
            url.push_str(&format!("&cursor={cursor}"));
        }
        let start = Instant::now();
        let bytes = http
            .get(url)
            .header("X-API-Key", reviewer_key(0))
            .send()
            .await
            .expect("list sent")
            .bytes()
            .await
            .expect("list read");
        let parsing = Instant::now();
        let page: Value = serde_json::from_slice(&bytes).expect("list is JSON");
        listing.serve += parsing - start;
        listing.parse += parsing.elapsed();
        let items = page["items"].as_array().expect("items");
        listing.ids.extend(
            items
                .iter()
                .filter_map(|item| item["job"]["id"].as_str().map(str::to_owned)),
        );
        match &page["next_cursor"] {
            Value::Null => return listing,
            next => cursor = Some(next.to_string().trim_matches('"').to_owned()),
        }
    }
}

async fn approve_all(http: &reqwest::Client, base: &str, ids: Vec<String>) -> Vec<Duration> {
    let queue = Arc::new(Mutex::new(ids));
    let reviewers = (0..REVIEWERS).map(|reviewer| {
        let (http, base, queue) = (http.clone(), base.to_owned(), Arc::clone(&queue));
        async move {
            let mut latencies = Vec::new();
            loop {
                let Some(id) = queue.lock().await.pop() else {
                    return latencies;
                };
                let start = Instant::now();
                let answer = http
                    .post(format!("{base}/api/v1/approvals/{id}/approve"))
                    .header("X-API-Key", reviewer_key(reviewer))
                    .json(&json!({"reason": "bench"}))
                    .send()
                    .await
                    .expect("approve sent");
                let status = answer.status();
                answer.bytes().await.expect("answer read");
                latencies.push(start.elapsed());
                assert!(status.is_success(), "approve {id}: {status}");
            }
        }
    });
    join_all(reviewers).await.into_iter().flatten().collect()
}

fn results_path() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target"));
    target.join("bench-results").join("gateway.json")
}

fn main() {
    // `cargo bench` passes `--bench`; anything else (a filter) is ignored: this bench is one run.
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut config =
            GatewayConfig::new("127.0.0.1:0".parse().expect("addr"), dir.path().join("gw.db"));
        config.credentials = credentials();
        let running = start(config).await.expect("gateway starts");
        running
            .gateway()
            .publish_policy(POLICY, "bench")
            .await
            .expect("policy publishes");
        let base = format!("http://{}", running.addr);
        let http = reqwest::Client::builder()
            .pool_max_idle_per_host(REVIEWERS)
            .build()
            .expect("http client");

        let started = Instant::now();
        submit_all(&http, &base).await;
        let submit_time = started.elapsed();

        let (mut serve_times, mut parse_times) = (Vec::new(), Vec::new());
        let mut ids = Vec::new();
        for _ in 0..LIST_RUNS {
            let listing = list_all(&http, &base).await;
            serve_times.push(listing.serve);
            parse_times.push(listing.parse);
            ids = listing.ids;
        }
        assert_eq!(ids.len(), PENDING, "every submitted job is listed once");
        serve_times.sort();
        parse_times.sort();

        let started = Instant::now();
        let mut approvals = approve_all(&http, &base, ids).await;
        let approve_time = started.elapsed();
        assert_eq!(approvals.len(), PENDING, "every job approved");
        approvals.sort();
        running.shutdown().await.expect("clean shutdown");

        let per_second = PENDING as f64 / approve_time.as_secs_f64();
        let figures = json!([
            {"name": "list 10,000 pending (20 pages of 500): served, median of 20", "value": ms(quantile(&serve_times, 0.5)), "unit": "ms", "max": 100.0},
            {"name": "list 10,000 pending: served, p99 of 20", "value": ms(quantile(&serve_times, 0.99)), "unit": "ms", "max": 100.0},
            {"name": "list 10,000 pending: parsed by the caller into JSON, median", "value": ms(quantile(&parse_times, 0.5)), "unit": "ms"},
            {"name": "approve, 50 concurrent reviewers: throughput", "value": per_second, "unit": "approvals/s"},
            {"name": "approve, 50 concurrent reviewers: median latency", "value": ms(quantile(&approvals, 0.5)), "unit": "ms"},
            {"name": "approve, 50 concurrent reviewers: p99 latency", "value": ms(quantile(&approvals, 0.99)), "unit": "ms"},
            {"name": "submit 10,000 from 20 agents: throughput", "value": PENDING as f64 / submit_time.as_secs_f64(), "unit": "submits/s"},
        ]);
        for figure in figures.as_array().into_iter().flatten() {
            println!(
                "{:<55} {:>10.1} {}",
                figure["name"].as_str().unwrap_or_default(),
                figure["value"].as_f64().unwrap_or_default(),
                figure["unit"].as_str().unwrap_or_default()
            );
        }
        let path = results_path();
        std::fs::create_dir_all(path.parent().expect("results dir")).expect("results dir made");
        let report = json!({
            "bench": "gateway",
            "title": "Gateway under load",
            "command": "cargo bench -p countersign-gateway --bench load",
            "figures": figures,
        });
        std::fs::write(&path, serde_json::to_vec_pretty(&report).expect("json"))
            .expect("results written");
        println!("written to {}", path.display());
    });
}
