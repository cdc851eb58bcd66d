//! Restarts (issue 13): the real gateway binary is killed with SIGKILL and started again on the
//! same file and port, twice, while agents push a burst of 2,000 submissions and a desk (the
//! app's session, the same code the window and the notifier run on) watches. Afterwards every
//! job the gateway holds as waiting for a human was announced to the desk as new exactly once,
//! and reached the state the notifier raises a notification on (its content loaded), which is
//! what "seen and notified exactly once" means for the app: the notifier raises one
//! notification per such announcement and never a second for the same job.
//!
//! The binary is built by a nested `cargo build` (cargo offers the binaries of other packages
//! to no test), which is a no-op when `cargo test --workspace` built it already.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use countersign_client::watch::WatchConfig;
use countersign_client::{Credential, GatewayClient, HttpConfig, Secret};
use countersign_desk::queue::{DeskEvent, DeskMessage};
use countersign_desk::session::{Desk, OpenSession};
use countersign_desk::settings::ReviewSettings;
use countersign_ledger::Ledger;
use serde_json::{json, Value};

const SUBMISSIONS: usize = 2_000;
const AGENTS: usize = 8;
const AGENT: &str = "agent-key-000000001";
const ALICE: &str = "alice-key-000000002";
const KEYS: &str = r#"keys:
  - { tenant: default, key: "agent-key-000000001", role: agent, principal: agent-7 }
  - { tenant: default, key: "alice-key-000000002", role: operator, principal: alice }
"#;
const POLICY: &str = r#"version: v1
rules:
  - id: require-approval-prod-finance
    when: { topic: finance.payment.execute }
    decision: require_human
    reason: Payments need a human.
"#;

fn gateway_binary() -> PathBuf {
    let built = Command::new(env!("CARGO"))
        .args([
            "build",
            "--quiet",
            "--locked",
            "--package",
            "countersign-gateway",
            "--bin",
            "countersign-gateway",
        ])
        .status()
        .expect("cargo runs");
    assert!(built.success(), "the gateway binary builds");
    // <target>/<profile>/deps/<this test> → <target>/<profile>/countersign-gateway
    let exe = std::env::current_exe().expect("test binary");
    let profile = exe.parent().and_then(Path::parent).expect("profile dir");
    profile.join("countersign-gateway")
}

/// The gateway on `port`, once it says it listens (the port of the killed one may take a
/// moment to be free).
fn spawn_gateway(binary: &Path, dir: &Path, port: u16) -> Child {
    for _ in 0..50 {
        let mut child = Command::new(binary)
            .arg("--listen")
            .arg(format!("127.0.0.1:{port}"))
            .arg("--data")
            .arg(dir.join("gw.db"))
            .arg("--policy")
            .arg(dir.join("policy.yaml"))
            .arg("--api-keys")
            .arg(dir.join("keys.yaml"))
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("gateway starts");
        let stdout = child.stdout.take().expect("stdout");
        let mut lines = std::io::BufRead::lines(std::io::BufReader::new(stdout));
        if lines.any(|l| l.is_ok_and(|l| l.starts_with("listening on "))) {
            std::thread::spawn(move || lines.for_each(drop));
            return child;
        }
        let _ = child.wait();
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("the gateway never listened on port {port}");
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

/// Submits until accepted, through the restarts; the job id, or `None` if the gateway said no.
async fn submit(http: &reqwest::Client, base: &str, n: usize) -> Option<String> {
    let body = json!({"prompt": "pay", "topic": "finance.payment.execute",
                      "labels": {"env": "production"}, "context": {"n": n}});
    for _ in 0..600 {
        let sent = http
            .post(format!("{base}/api/v1/jobs"))
            .header("X-API-Key", AGENT)
            .json(&body)
            .send()
            .await;
        let Ok(response) = sent else {
            tokio::time::sleep(Duration::from_millis(50)).await;
            continue;
        };
        if response.status().is_server_error() || response.status() == 429 {
            tokio::time::sleep(Duration::from_millis(50)).await;
            continue;
        }
        let answer: Value = response.json().await.ok()?;
        return answer["job_id"].as_str().map(str::to_owned);
    }
    None
}

/// Job ids the gateway holds as waiting for a human, read straight from its database.
fn waiting_in(db: &Path) -> Vec<String> {
    let db = rusqlite::Connection::open(db).expect("gateway db");
    let mut statement = db
        .prepare("SELECT id FROM jobs WHERE state = 'APPROVAL_REQUIRED'")
        .expect("query");
    statement
        .query_map([], |row| row.get(0))
        .expect("rows")
        .collect::<Result<_, _>>()
        .expect("ids")
}

#[derive(Debug, Default)]
struct Announced {
    arrived: HashMap<String, usize>,
    content_ready: HashMap<String, bool>,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_item_is_announced_once_through_gateway_kills() {
    let binary = gateway_binary();
    let dir = tempfile::tempdir().expect("dir");
    std::fs::write(dir.path().join("policy.yaml"), POLICY).expect("policy");
    std::fs::write(dir.path().join("keys.yaml"), KEYS).expect("keys");
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let mut gateway = spawn_gateway(&binary, dir.path(), port);

    let announced = Arc::new(Mutex::new(Announced::default()));
    let seen = Arc::clone(&announced);
    let emit = Arc::new(move |message: DeskMessage| {
        if let DeskEvent::Card { card, arrived, .. } = message.event {
            let mut seen = seen.lock().expect("announced");
            let id = card.card.job_id.clone();
            if arrived {
                *seen.arrived.entry(id.clone()).or_default() += 1;
            }
            if card.content_ready {
                seen.content_ready.insert(id, true);
            }
        }
    });
    let http_config = HttpConfig {
        timeout: Duration::from_secs(5),
        connect_timeout: Duration::from_secs(2),
        ..HttpConfig::default()
    };
    let client = GatewayClient::new(
        &base,
        "default",
        Credential::ApiKey(Secret::new(ALICE)),
        &http_config,
    )
    .expect("client");
    let ledger = Arc::new(Ledger::open(dir.path().join("alice.ledger")).expect("ledger"));
    let watch = WatchConfig {
        poll_interval: Duration::from_millis(500),
        initial_backoff: Duration::from_millis(100),
        max_backoff: Duration::from_millis(500),
        ..WatchConfig::default()
    };
    let session = OpenSession {
        profile_name: "restarts".into(),
        tenant: "default".into(),
        client,
        ledger,
        demo: None,
    };
    let desk = Desk::open(session, ReviewSettings::default(), watch, emit);

    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .build()
        .expect("http");
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let agents: Vec<_> = (0..AGENTS)
        .map(|_| {
            let (http, base, next) = (http.clone(), base.clone(), Arc::clone(&next));
            tokio::spawn(async move {
                let mut accepted = Vec::new();
                loop {
                    let n = next.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                    if n >= SUBMISSIONS {
                        return accepted;
                    }
                    accepted.extend(submit(&http, &base, n).await);
                }
            })
        })
        .collect();
    let mut kills = 0;
    for at in [SUBMISSIONS / 3, 2 * SUBMISSIONS / 3] {
        while next.load(std::sync::atomic::Ordering::SeqCst) < at {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        gateway.kill().expect("SIGKILL");
        gateway.wait().expect("reaped");
        kills += 1;
        tokio::time::sleep(Duration::from_millis(300)).await;
        gateway = spawn_gateway(&binary, dir.path(), port);
    }
    let mut accepted = Vec::new();
    for agent in agents {
        accepted.extend(agent.await.expect("agent"));
    }

    let waiting = waiting_in(&dir.path().join("gw.db"));
    let settled = async {
        loop {
            let done = {
                let seen = announced.lock().expect("announced");
                waiting.iter().all(|id| seen.content_ready.contains_key(id))
            };
            if done {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    };
    let caught_up = tokio::time::timeout(Duration::from_secs(120), settled)
        .await
        .is_ok();
    desk.close().await;
    let _ = gateway.kill();
    let _ = gateway.wait();

    let seen = announced.lock().expect("announced");
    let never: Vec<&String> = waiting
        .iter()
        .filter(|id| !seen.arrived.contains_key(*id))
        .collect();
    let twice: Vec<(&String, &usize)> = seen.arrived.iter().filter(|(_, n)| **n > 1).collect();
    let not_ready = waiting
        .iter()
        .filter(|id| !seen.content_ready.contains_key(*id))
        .count();
    println!(
        "RELIABILITY restarts submissions={SUBMISSIONS} accepted={} gateway_kills={kills} \
         waiting={} announced_once={} never_announced={} announced_twice={} not_notifiable={not_ready}",
        accepted.len(),
        waiting.len(),
        seen.arrived.values().filter(|n| **n == 1).count(),
        never.len(),
        twice.len()
    );
    assert!(
        caught_up,
        "the desk did not catch up: {not_ready} items never loaded"
    );
    assert!(never.is_empty(), "never announced: {never:?}");
    assert!(twice.is_empty(), "announced twice: {twice:?}");
    let lost: Vec<&String> = accepted.iter().filter(|id| !waiting.contains(id)).collect();
    assert!(lost.is_empty(), "accepted, yet not waiting: {lost:?}");
}
