//! Gateway under load (issue 13): the real binary, 50 reviewers and 20 agents at full speed for
//! 60 s. Agents submit payments that need approval; each reviewer lists the queue, picks an item
//! and approves (or now and then rejects) it with the preconditions a careful client sends.
//! Every answer must be a success or one of the conflicts racing reviewers expect; the approve
//! latency's p50/p99 and the gateway's resident memory (after warm-up and at the end) are
//! reported, and memory must stay flat. `COUNTERSIGN_SOAK=1` runs for five minutes.

mod common;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::binary::{spawn_gateway, terminate};
use common::POLICY;
use serde_json::{json, Value};

const REVIEWERS: usize = 50;
const AGENTS: usize = 20;
const WARM_UP: Duration = Duration::from_secs(10);
/// Growth of resident memory between the end of warm-up and the end allowed as "flat": the
/// SQLite page cache and allocator arenas settle within it, a leak per request does not.
const FLAT_MB: u64 = 48;

fn keys_file() -> String {
    let mut keys = String::from("keys:\n");
    for i in 0..AGENTS {
        keys.push_str(&format!(
            "  - {{ tenant: default, key: \"load-agent-key-{i:04}\", role: agent, principal: agent-{i} }}\n"
        ));
    }
    for i in 0..REVIEWERS {
        keys.push_str(&format!(
            "  - {{ tenant: default, key: \"load-reviewer-key-{i:04}\", role: operator, principal: reviewer-{i} }}\n"
        ));
    }
    keys
}

fn resident_mb(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .map_or(0, |kb| kb / 1024)
}

#[derive(Debug, Default)]
struct Counts {
    submitted: usize,
    approved: usize,
    rejected: usize,
    expected_conflicts: usize,
    unexpected: Vec<String>,
    approve_ms: Vec<f64>,
}

/// Answers a racing reviewer expects: someone else got there first, or the row was busy.
fn expected_conflict(status: u16, body: &Value) -> bool {
    let code = body["code"].as_str().unwrap_or_default();
    status == 409
        && [
            "approval_retryable_lock",
            "approval_not_actionable",
            "approval_already_resolved",
        ]
        .contains(&code)
}

async fn post(
    http: &reqwest::Client,
    url: String,
    key: &str,
    body: Value,
) -> Result<(u16, Value), String> {
    let response = http
        .post(url)
        .header("X-API-Key", key)
        .json(&body)
        .send()
        .await
        .map_err(|e| format!("send: {e}"))?;
    let status = response.status().as_u16();
    let body = response
        .json()
        .await
        .map_err(|e| format!("{status} body: {e}"))?;
    Ok((status, body))
}

async fn agent(
    http: reqwest::Client,
    base: String,
    key: String,
    stop: Arc<AtomicBool>,
    counts: Arc<Mutex<Counts>>,
) {
    let submit = json!({"prompt": "pay", "topic": "finance.payment.execute", "labels": {"env": "production"}});
    while !stop.load(Ordering::Relaxed) {
        let answer = post(&http, format!("{base}/api/v1/jobs"), &key, submit.clone()).await;
        let mut counts = counts.lock().expect("counts");
        match answer {
            Ok((200, body)) if body["status"] == "approval_required" => counts.submitted += 1,
            other => counts.unexpected.push(format!("submit: {other:?}")),
        }
    }
}

async fn reviewer(
    index: usize,
    http: reqwest::Client,
    base: String,
    stop: Arc<AtomicBool>,
    counts: Arc<Mutex<Counts>>,
) {
    let key = format!("load-reviewer-key-{index:04}");
    let mut turn = index;
    while !stop.load(Ordering::Relaxed) {
        turn += 1;
        let listed = http
            .get(format!("{base}/api/v1/approvals?limit=20"))
            .header("X-API-Key", &key)
            .send()
            .await;
        let list: Value = match listed {
            Ok(response) if response.status() == 200 => response.json().await.unwrap_or_default(),
            other => {
                counts
                    .lock()
                    .expect("counts")
                    .unexpected
                    .push(format!("list: {other:?}"));
                continue;
            }
        };
        let items = list["items"].as_array().cloned().unwrap_or_default();
        let Some(item) = items.get(turn % items.len().max(1)) else {
            tokio::time::sleep(Duration::from_millis(20)).await;
            continue;
        };
        let job_id = item["job"]["id"].as_str().unwrap_or_default();
        let verb = if turn.is_multiple_of(5) {
            "reject"
        } else {
            "approve"
        };
        let body = json!({
            "reason": "load",
            "expected_job_hash": item["job_hash"],
            "expected_policy_snapshot": item["policy_snapshot"],
        });
        let started = Instant::now();
        let answer = post(
            &http,
            format!("{base}/api/v1/approvals/{job_id}/{verb}"),
            &key,
            body,
        )
        .await;
        let elapsed = started.elapsed().as_secs_f64() * 1_000.0;
        let mut counts = counts.lock().expect("counts");
        match answer {
            Ok((200, body)) => {
                if verb == "approve" {
                    counts.approve_ms.push(elapsed);
                }
                let fresh = !body["status"]
                    .as_str()
                    .unwrap_or_default()
                    .starts_with("already_");
                if fresh && verb == "approve" {
                    counts.approved += 1;
                } else if fresh {
                    counts.rejected += 1;
                } else {
                    counts.expected_conflicts += 1;
                }
            }
            Ok((status, body)) if expected_conflict(status, &body) => {
                counts.expected_conflicts += 1
            }
            other => counts
                .unexpected
                .push(format!("{verb} {job_id}: {other:?}")),
        }
    }
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[rank.min(sorted.len() - 1)]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_reviewers_and_twenty_agents_for_a_minute() {
    let seconds = if std::env::var_os("COUNTERSIGN_SOAK").is_some() {
        300
    } else {
        60
    };
    let dir = tempfile::tempdir().expect("dir");
    std::fs::write(dir.path().join("policy.yaml"), POLICY).expect("policy");
    std::fs::write(dir.path().join("keys.yaml"), keys_file()).expect("keys");
    let (child, base) = spawn_gateway(dir.path());
    let pid = child.id();
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .pool_max_idle_per_host(REVIEWERS + AGENTS)
        .build()
        .expect("http");
    let stop = Arc::new(AtomicBool::new(false));
    let counts = Arc::new(Mutex::new(Counts::default()));
    let mut tasks = Vec::new();
    for i in 0..AGENTS {
        let key = format!("load-agent-key-{i:04}");
        tasks.push(tokio::spawn(agent(
            http.clone(),
            base.clone(),
            key,
            Arc::clone(&stop),
            Arc::clone(&counts),
        )));
    }
    for i in 0..REVIEWERS {
        tasks.push(tokio::spawn(reviewer(
            i,
            http.clone(),
            base.clone(),
            Arc::clone(&stop),
            Arc::clone(&counts),
        )));
    }
    let started = Instant::now();
    tokio::time::sleep(WARM_UP).await;
    let warm_mb = resident_mb(pid);
    let mut peak_mb = warm_mb;
    while started.elapsed() < Duration::from_secs(seconds) {
        tokio::time::sleep(Duration::from_secs(1)).await;
        peak_mb = peak_mb.max(resident_mb(pid));
    }
    let end_mb = resident_mb(pid);
    stop.store(true, Ordering::Relaxed);
    for task in tasks {
        task.await.expect("load task");
    }
    terminate(child);

    let mut counts = std::mem::take(&mut *counts.lock().expect("counts"));
    counts.approve_ms.sort_by(f64::total_cmp);
    println!(
        "RELIABILITY gateway_load reviewers={REVIEWERS} agents={AGENTS} seconds={seconds} \
         submitted={} approved={} rejected={} expected_conflicts={} unexpected_errors={} \
         approve_p50_ms={:.1} approve_p99_ms={:.1} rss_after_warmup_mb={warm_mb} rss_peak_mb={peak_mb} rss_end_mb={end_mb}",
        counts.submitted,
        counts.approved,
        counts.rejected,
        counts.expected_conflicts,
        counts.unexpected.len(),
        percentile(&counts.approve_ms, 0.5),
        percentile(&counts.approve_ms, 0.99),
    );
    assert!(
        counts.unexpected.is_empty(),
        "{:#?}",
        &counts.unexpected[..counts.unexpected.len().min(20)]
    );
    assert!(
        counts.submitted > 0 && counts.approved > 0 && counts.rejected > 0,
        "{counts:?}"
    );
    assert!(
        end_mb <= warm_mb + FLAT_MB,
        "resident memory grew from {warm_mb} MB to {end_mb} MB"
    );
}
