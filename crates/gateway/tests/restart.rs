//! The real binary under load, killed with SIGKILL and restarted on the same file: nothing
//! that was acknowledged is lost, nothing is dispatched twice, and the audit chain verifies.

mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::binary::{spawn_binary, spawn_gateway, terminate};
use common::{call, sent, AGENT, ALICE, BOB, POLICY};
use serde_json::{json, Value};

const KEYS_FILE: &str = r#"keys:
  - { tenant: default, key: "agent-key-000000001", role: agent, principal: agent-7 }
  - { tenant: default, key: "alice-key-000000002", role: operator, principal: alice }
  - { tenant: default, key: "bob-key-00000000003", role: admin, principal: bob }
"#;

#[derive(Default)]
struct Acked {
    pending: Vec<String>,
    approved: Vec<String>,
    rejected: Vec<String>,
}

/// A POST that may fail: the gateway can be killed mid-request.
async fn try_post(
    http: &reqwest::Client,
    base: &str,
    key: &str,
    path: &str,
    body: Value,
) -> Option<(u16, Value)> {
    let resp = http
        .post(format!("{base}{path}"))
        .header("X-API-Key", key)
        .json(&body)
        .send()
        .await
        .ok()?;
    let status = resp.status().as_u16();
    Some((status, resp.json().await.ok()?))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_dash_nine_mid_load_loses_nothing() {
    let dir = tempfile::tempdir().expect("dir");
    std::fs::write(dir.path().join("policy.yaml"), POLICY).expect("policy");
    std::fs::write(dir.path().join("keys.yaml"), KEYS_FILE).expect("keys");
    let (mut child, base) = spawn_gateway(dir.path());
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .expect("client");
    let acked = Arc::new(Mutex::new(Acked::default()));

    let mut workers = Vec::new();
    for worker in 0..4 {
        let (http, base, acked) = (http.clone(), base.clone(), Arc::clone(&acked));
        workers.push(tokio::spawn(async move {
            let submit = json!({"prompt": "pay", "topic": "finance.payment.execute", "labels": {"env": "production"}});
            for round in 0.. {
                let Some((200, body)) = try_post(&http, &base, AGENT, "/api/v1/jobs", submit.clone()).await else { return };
                let id = body["job_id"].as_str().unwrap_or_default().to_owned();
                acked.lock().expect("lock").pending.push(id.clone());
                if round % 3 == 0 {
                    continue;
                }
                let verb = if (round + worker) % 2 == 0 { "approve" } else { "reject" };
                let path = format!("/api/v1/approvals/{id}/{verb}");
                let Some((200, _)) = try_post(&http, &base, ALICE, &path, json!({})).await else { return };
                let mut a = acked.lock().expect("lock");
                if verb == "approve" { a.approved.push(id) } else { a.rejected.push(id) }
            }
        }));
    }
    let enough = async {
        while acked.lock().expect("lock").pending.len() < 60 {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    };
    tokio::time::timeout(Duration::from_secs(60), enough)
        .await
        .expect("load ran");
    child.kill().expect("SIGKILL");
    child.wait().expect("reaped");
    for w in workers {
        w.await.expect("worker ended");
    }

    let (child, base) = spawn_gateway(dir.path());
    let acked = std::mem::take(&mut *acked.lock().expect("lock"));
    assert!(!acked.approved.is_empty() && !acked.rejected.is_empty());
    let get = |path: String| call(http.get(format!("{base}{path}")).header("X-API-Key", ALICE));
    for id in &acked.pending {
        let (s, job) = get(format!("/api/v1/jobs/{id}")).await;
        assert_eq!(s, 200, "acknowledged job {id} lost");
        let state = job["state"].as_str().expect("state");
        // Approved ones may be anywhere between PENDING and SUCCEEDED when the kill came.
        assert!(
            [
                "APPROVAL_REQUIRED",
                "PENDING",
                "SCHEDULED",
                "DISPATCHED",
                "RUNNING",
                "SUCCEEDED",
                "DENIED"
            ]
            .contains(&state),
            "{job}"
        );
    }
    let db = rusqlite::Connection::open(dir.path().join("gw.db")).expect("open");
    let dispatches = |id: &str| -> i64 {
        db.query_row(
            "SELECT COUNT(*) FROM dispatches WHERE job_id = ?1",
            [id],
            |r| r.get(0),
        )
        .expect("count")
    };
    // The restarted gateway's replayer finishes every approved job, each dispatched once.
    for id in &acked.approved {
        let finished = async {
            loop {
                let (_, job) = get(format!("/api/v1/jobs/{id}")).await;
                if job["state"] == "SUCCEEDED" {
                    return job;
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        };
        let job = tokio::time::timeout(Duration::from_secs(30), finished)
            .await
            .expect("approved job dispatched after the restart");
        assert_eq!(job["approval_by"], "alice");
        assert_eq!(dispatches(id), 1);
    }
    for id in &acked.rejected {
        let (_, job) = get(format!("/api/v1/jobs/{id}")).await;
        assert_eq!(job["state"], "DENIED");
        assert_eq!(dispatches(id), 0);
    }
    let (_, verify) = get("/api/v1/audit/verify".into()).await;
    assert_eq!(verify["status"], "ok", "{verify}");
    let (_, snapshots) = get("/api/v1/policy/snapshots".into()).await;
    assert_eq!(
        snapshots["snapshots"].as_array().expect("list").len(),
        2,
        "restart publishes nothing new: {snapshots}"
    );

    terminate(child);
}

/// `--demo` prints working credentials and its agents produce approvals a reviewer can act on.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn demo_mode_serves_simulated_traffic() {
    let dir = tempfile::tempdir().expect("dir");
    let db = dir.path().join("demo.db");
    let args: Vec<&std::ffi::OsStr> = vec![
        "--demo".as_ref(),
        "--listen".as_ref(),
        "127.0.0.1:0".as_ref(),
        "--data".as_ref(),
        db.as_os_str(),
    ];
    let (child, base, printed) = spawn_binary(&args);
    let reviewer = printed
        .iter()
        .find_map(|l| l.strip_prefix("reviewer key:"))
        .and_then(|rest| rest.split_whitespace().next())
        .map(str::to_owned)
        .expect("reviewer key printed");
    let admin = printed
        .iter()
        .filter(|l| l.contains("role admin"))
        .find_map(|l| l.strip_prefix("reviewer key:"))
        .and_then(|rest| rest.split_whitespace().next())
        .map(str::to_owned)
        .expect("admin key printed");
    let password = printed
        .iter()
        .find_map(|l| l.strip_prefix("demo login:"))
        .and_then(|rest| rest.split(" / ").nth(1))
        .map(str::to_owned)
        .expect("password printed");
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .expect("client");
    let wait_for_item = async {
        loop {
            let (_, body) = call(
                http.get(format!("{base}/api/v1/approvals?include_resolved=false"))
                    .header("X-API-Key", &reviewer),
            )
            .await;
            if let Some(id) = body["items"][0]["job"]["id"].as_str() {
                return id.to_owned();
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    };
    let job_id = tokio::time::timeout(Duration::from_secs(45), wait_for_item)
        .await
        .expect("the demo produced an approval");
    let (_, login) = call(
        http.post(format!("{base}/api/v1/auth/login"))
            .json(&json!({"username": "demo", "password": password})),
    )
    .await;
    let token = login["token"].as_str().expect("session token");
    let resp = sent(
        http.post(format!("{base}/api/v1/approvals/{job_id}/reject"))
            .bearer_auth(token)
            .json(&json!({"reason": "demo test"})),
    )
    .await;
    assert_eq!(resp.status(), 200);
    // The demo serves the simulation switches, for taking its policy engine down by hand.
    let (s, engine) = call(
        http.put(format!("{base}/api/v1/admin/policy-engine"))
            .header("X-API-Key", &admin)
            .json(&json!({"mode": "slow"})),
    )
    .await;
    assert_eq!(
        (s, engine["mode"].as_str()),
        (200, Some("slow")),
        "{engine}"
    );
    terminate(child);
}

/// seed 004's "approval and publish together or not at all": governance approvals are made one
/// after another while the binary is killed with SIGKILL; after the restart every approval on
/// record has its published policy, every publish by governance has its approval, and every
/// acknowledged approval is there.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_dash_nine_during_governance_approvals_keeps_approval_and_publish_together() {
    let dir = tempfile::tempdir().expect("dir");
    std::fs::write(dir.path().join("policy.yaml"), POLICY).expect("policy");
    std::fs::write(dir.path().join("keys.yaml"), KEYS_FILE).expect("keys");
    let (mut child, base) = spawn_gateway(dir.path());
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .expect("client");
    let acked = Arc::new(Mutex::new(Vec::<String>::new()));
    let worker = {
        let (http, base, acked) = (http.clone(), base.clone(), Arc::clone(&acked));
        tokio::spawn(async move {
            for round in 0.. {
                let yaml =
                    POLICY.replace("Payments need", &format!("Round {round}, payments need"));
                let propose = json!({"title": format!("round {round}"), "yaml": yaml});
                let Some((201, draft)) =
                    try_post(&http, &base, BOB, "/api/v1/policy/drafts", propose).await
                else {
                    return;
                };
                let id = draft["draft_id"].as_str().unwrap_or_default().to_owned();
                let body = json!({
                    "expected_snapshot_id": draft["active_snapshot"]["snapshot_id"],
                    "expected_source_snapshot_hash": draft["active_snapshot"]["source_snapshot_hash"],
                });
                let path = format!("/api/v1/policy/drafts/{id}/approve");
                let Some((200, _)) = try_post(&http, &base, ALICE, &path, body).await else {
                    return;
                };
                acked.lock().expect("lock").push(id);
            }
        })
    };
    let enough = async {
        while acked.lock().expect("lock").len() < 8 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    };
    tokio::time::timeout(Duration::from_secs(60), enough)
        .await
        .expect("approvals ran");
    child.kill().expect("SIGKILL");
    child.wait().expect("reaped");
    worker.await.expect("worker ended");

    let db = rusqlite::Connection::open(dir.path().join("gw.db")).expect("open");
    let count = |sql: &str| -> i64 { db.query_row(sql, [], |r| r.get(0)).expect("count") };
    let approvals = count("SELECT COUNT(*) FROM governance_decisions WHERE kind = 'approved'");
    let publishes = count("SELECT COUNT(*) FROM policy_snapshots WHERE source LIKE 'governance:%'");
    let closed = count("SELECT COUNT(*) FROM policy_drafts WHERE status = 'approved'");
    assert_eq!(
        approvals, publishes,
        "an approval without its publish, or the other way round"
    );
    assert_eq!(approvals, closed);
    for id in acked.lock().expect("lock").iter() {
        let found: i64 = db
            .query_row(
                "SELECT COUNT(*) FROM governance_decisions WHERE draft_id = ?1",
                [id],
                |r| r.get(0),
            )
            .expect("count");
        assert_eq!(found, 1, "acknowledged approval of {id} lost");
    }
    drop(db);
    let (child, base) = spawn_gateway(dir.path());
    let (_, verify) = call(
        http.get(format!("{base}/api/v1/audit/verify"))
            .header("X-API-Key", ALICE),
    )
    .await;
    assert_eq!(verify["status"], "ok", "{verify}");
    println!(
        "RELIABILITY governance_kill9 approvals={approvals} publishes={publishes} acknowledged={}",
        acked.lock().expect("lock").len()
    );
    terminate(child);
}
