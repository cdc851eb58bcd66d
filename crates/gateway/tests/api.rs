//! Submit validation and idempotency, policy publishing, the audit chain, login sessions, the
//! SSE extension, the policy file watcher and the demo driver.

mod common;

use std::time::Duration;

use common::*;
use countersign_gateway::demo::{DemoAgents, DemoConfig, DemoCredentials, DemoDriver, DemoStep};
use futures_util::StreamExt;
use reqwest::Method;
use serde_json::{json, Value};

#[tokio::test]
async fn submit_validation_errors_are_clear() {
    let h = Harness::start().await;
    let cases = [
        (json!({"topic": "knowledge.read"}), "prompt is required"),
        (
            json!({"prompt": "x".repeat(50_001)}),
            "prompt too long (max 50000 characters)",
        ),
        (
            json!({"prompt": "x", "topic": "bad topic!"}),
            "invalid topic: 1 to 256 characters of [A-Za-z0-9._:-]",
        ),
        (
            json!({"prompt": "x", "topic": ""}),
            "invalid topic: 1 to 256 characters of [A-Za-z0-9._:-]",
        ),
        (
            json!({"prompt": "x", "actor_type": "robot"}),
            "actor_type must be \"human\" or \"service\"",
        ),
    ];
    for (body, message) in cases {
        let got = h.submit(AGENT, body).await;
        assert_error(&got, 400, None, message);
    }
    let labels: serde_json::Map<String, Value> =
        (0..51).map(|i| (format!("k{i}"), json!("v"))).collect();
    let got = h
        .submit(AGENT, json!({"prompt": "x", "labels": labels}))
        .await;
    assert_error(&got, 400, None, "too many labels (max 50)");
    // Labels the gateway writes itself are not the agent's to set.
    for key in [
        "approval_granted",
        "Approval_By",
        "cordum.bus_msg_id",
        "gate_type",
    ] {
        let got = h
            .submit(AGENT, json!({"prompt": "x", "labels": {key: "true"}}))
            .await;
        let message = format!("label {key:?} is reserved for the gateway");
        assert_error(&got, 400, None, &message);
    }
    let gate = json!({"prompt": "x", "labels": {"gate_type": "workflow_approval"}});
    assert_eq!(h.submit(BOB, gate).await.0, 200);
    let got = h
        .submit(AGENT, json!({"prompt": "x", "tenant_id": "acme"}))
        .await;
    assert_error(&got, 403, None, "tenant access denied");
    // Topics need no `job.` prefix, and the default topic is job.default.
    let (s, body) = h.submit(AGENT, json!({"prompt": "x"})).await;
    assert_eq!(s, 200, "{body}");
    let (_, job) = h
        .get(
            ALICE,
            &format!("/api/v1/jobs/{}", body["job_id"].as_str().expect("id")),
        )
        .await;
    assert_eq!(job["topic"], "job.default");
}

#[tokio::test]
async fn idempotency_keys_replay_the_first_answer() {
    let h = Harness::start().await;
    let body = json!({"prompt": "pay", "topic": "finance.payment.execute", "labels": {"env": "production"}});
    let send = |header: Option<(&'static str, &'static str)>, body: Value| {
        let mut req = h.keyed(Method::POST, AGENT, "/api/v1/jobs").json(&body);
        if let Some((k, v)) = header {
            req = req.header(k, v);
        }
        async move { call(req).await.1 }
    };
    let first = send(Some(("Idempotency-Key", "k-1")), body.clone()).await;
    let again = send(Some(("X-Idempotency-Key", "k-1")), body.clone()).await;
    assert_eq!(first, again);
    let mut with_body_key = body.clone();
    with_body_key["idempotency_key"] = json!("k-1");
    assert_eq!(send(None, with_body_key).await, first);
    let other = send(Some(("Idempotency-Key", "k-2")), body).await;
    assert_ne!(other["job_id"], first["job_id"]);
    let (_, list) = h.get(ALICE, "/api/v1/approvals").await;
    assert_eq!(list["items"].as_array().expect("items").len(), 2);
}

#[tokio::test]
async fn policy_publishing_is_admin_only_and_rejects_invalid_yaml() {
    let h = Harness::start().await;
    let put = |key: &'static str, yaml: String| {
        call(h.keyed(Method::PUT, key, "/api/v1/policy").body(yaml))
    };
    let (_, before) = h.get(VIEWER, "/api/v1/policy/snapshots").await;
    let (s, body) = put(ALICE, POLICY.to_owned()).await;
    assert_eq!((s, &body["error"]), (403, &json!("forbidden")));
    let (s, body) = put(BOB, "version: v1\nrules: [".into()).await;
    assert_eq!(s, 400, "{body}");
    assert!(
        body["error"]
            .as_str()
            .expect("error")
            .starts_with("invalid policy: "),
        "{body}"
    );
    let (_, after) = h.get(VIEWER, "/api/v1/policy/snapshots").await;
    assert_eq!(before, after, "the old policy stays");

    let (s, body) = put(
        BOB,
        format!("{POLICY}  - {{id: extra, when: {{topic: x}}, decision: deny}}\n"),
    )
    .await;
    assert_eq!(s, 200, "{body}");
    assert_eq!(body["changed"], true);
    let (_, after) = h.get(VIEWER, "/api/v1/policy/snapshots").await;
    assert_eq!(after["snapshots"][0], body["snapshot"]);
    assert_eq!(after["snapshots"][1], before["snapshots"][0]);
    // Re-publishing the same content (reformatted) changes nothing.
    let (_, same) = put(
        BOB,
        format!("# comment\n{POLICY}  - {{ id: extra, when: {{ topic: x }}, decision: deny }}\n"),
    )
    .await;
    assert_eq!(same["changed"], false);
}

#[tokio::test]
async fn audit_chain_records_everything_and_detects_tampering() {
    let h = Harness::start().await;
    let a = h.payment().await;
    let b = h.payment().await;
    h.approve(ALICE, &a, json!({"note": "ok"})).await;
    h.reject(ALICE, &b, json!({})).await;

    let (s, first) = h.get(VIEWER, "/api/v1/audit/events?limit=2").await;
    assert_eq!(s, 200, "{first}");
    assert_eq!(first["returned"], 2);
    let cursor = first["next_cursor"].as_str().expect("cursor").to_owned();
    let (_, rest) = h
        .get(VIEWER, &format!("/api/v1/audit/events?cursor={cursor}"))
        .await;
    let mut items: Vec<Value> = first["items"].as_array().expect("items").clone();
    items.extend(rest["items"].as_array().expect("items").iter().cloned());
    assert_eq!(rest["next_cursor"], "");
    let actions: Vec<&str> = items
        .iter()
        .map(|e| e["action"].as_str().expect("action"))
        .collect();
    for wanted in ["policy_snapshot", "submit", "approve", "reject"] {
        assert!(
            actions.contains(&wanted),
            "{wanted} missing from {actions:?}"
        );
    }
    for (i, e) in items.iter().enumerate() {
        assert_eq!(e["seq"], i as i64 + 1);
        if i > 0 {
            assert_eq!(e["prev_hash"], items[i - 1]["event_hash"]);
        }
    }
    let (s, verify) = h.get(VIEWER, "/api/v1/audit/verify").await;
    assert_eq!(s, 200);
    assert_eq!(verify["status"], "ok", "{verify}");
    assert_eq!(verify["total_events"], items.len());
    assert_eq!(verify["verified_events"], items.len());
    assert_eq!(verify["first_seq"], 1);
    let (s, _) = h.get(AGENT, "/api/v1/audit/events").await;
    assert_eq!(s, 403, "agents cannot read the audit chain");
    let (s, _) = h.get(VIEWER, "/api/v1/audit/verify?tenant=acme").await;
    assert_eq!(s, 403);

    // Rewrite one event behind the gateway's back.
    let db = rusqlite::Connection::open(h.dir.path().join("gw.db")).expect("open");
    db.execute(
        "UPDATE audit SET event = replace(event, '\"approve\"', '\"approve-x\"') WHERE tenant = 'default' AND event LIKE '%\"action\":\"approve\"%'",
        [],
    )
    .expect("tamper");
    let (_, verify) = h.get(VIEWER, "/api/v1/audit/verify").await;
    assert_eq!(verify["status"], "compromised", "{verify}");
    assert_eq!(verify["gaps"][0]["type"], "hash_mismatch");
}

#[tokio::test]
async fn password_login_sessions_and_logout() {
    let hash = cheap_hash("s3cret");
    let h = Harness::start_with(move |c| {
        c.credentials.users.push(countersign_gateway::UserConfig {
            username: "rita".into(),
            password_hash: hash,
            tenant: "default".into(),
            role: countersign_gateway::Role::Operator,
            principal: "rita".into(),
        });
    })
    .await;
    let login = |body: Value| call(h.http.post(h.url("/api/v1/auth/login")).json(&body));
    let got = login(json!({"username": "rita", "password": "wrong"})).await;
    assert_error(&got, 401, None, "invalid credentials");
    let got = login(json!({"username": "rita", "password": ""})).await;
    assert_error(&got, 401, None, "password required");

    let (s, session) =
        login(json!({"username": "rita", "password": "s3cret", "tenant": "default"})).await;
    assert_eq!(s, 200, "{session}");
    let token = session["token"].as_str().expect("token").to_owned();
    assert!(token.starts_with("session-"));
    assert_eq!(session["user"]["roles"], json!(["operator"]));
    assert_eq!(session["user"]["source"], "user");

    let with_session = |method, path: &str| sent(h.bearer(method, &token, path));
    let current = with_session(Method::GET, "/api/v1/auth/session").await;
    assert_eq!(current.status(), 200);
    let id = h.payment().await;
    let approve = format!("/api/v1/approvals/{id}/approve");
    let resp = with_session(Method::POST, &approve).await;
    assert_eq!(resp.status(), 200);
    // A session token is not an API key.
    let (s, _) = h.get(&token, "/api/v1/approvals").await;
    assert_eq!(s, 401);

    let out = with_session(Method::POST, "/api/v1/auth/logout").await;
    assert_eq!(out.status(), 204);
    let after = with_session(Method::GET, "/api/v1/auth/session").await;
    assert_eq!(after.status(), 401);

    let (s, masked) = login(json!({"password": ALICE})).await;
    assert_eq!(s, 200, "{masked}");
    assert_eq!(
        masked["token"],
        format!("{}********{}", &ALICE[..8], &ALICE[ALICE.len() - 4..])
    );
    assert_eq!(masked["user"]["source"], "api_key");
}

async fn read_required(resp: reqwest::Response, count: usize) -> Vec<SseEvent> {
    read_until(resp, "approval.required", count).await
}

#[tokio::test]
async fn sse_delivers_every_approval_once_across_a_reconnect() {
    let h = Harness::start().await;
    let stream = open_stream(&h, None).await;
    let mut submitted = Vec::new();
    for _ in 0..3 {
        submitted.push(h.payment().await);
        // Another tenant's items never show up.
        h.pending_job(ACME_AGENT, json!({"env": "production"}))
            .await;
    }
    let first = read_required(stream, 3).await;
    let last_seen = first.last().expect("events").id;

    for _ in 0..2 {
        submitted.push(h.payment().await);
    }
    let resumed = read_required(open_stream(&h, Some(last_seen)).await, 2).await;
    let all: Vec<&SseEvent> = first.iter().chain(resumed.iter()).collect();
    let ids: Vec<String> = all
        .iter()
        .map(|e| e.data["job"]["id"].as_str().expect("id").to_owned())
        .collect();
    assert_eq!(ids, submitted, "each approval exactly once, in order");
    assert!(all.windows(2).all(|w| w[0].id < w[1].id));
    assert!(all
        .iter()
        .all(|e| e.kind == "approval.required" && e.data["approval_status"] == "pending"));
    let (s, _) = h.get(AGENT, "/api/v1/approvals/events").await;
    assert_eq!(s, 403);

    // Resolutions and policy changes are announced too.
    let last = all.last().expect("events").id;
    h.approve(ALICE, &submitted[0], json!({})).await;
    let snapshot = h.overlay(json!({"x": 1})).await;
    let tail = read_until(open_stream(&h, Some(last)).await, "policy.snapshot", 1).await;
    // The approved job's dispatch is announced as `job.updated` (tests/dispatch covers it).
    let tail: Vec<&SseEvent> = tail.iter().filter(|e| e.kind != "job.updated").collect();
    let kinds: Vec<&str> = tail.iter().map(|e| e.kind.as_str()).collect();
    assert_eq!(kinds, ["approval.resolved", "policy.snapshot"]);
    assert_eq!(tail[0].data["job_id"], submitted[0].as_str());
    assert_eq!(tail[0].data["status"], "approved");
    assert_eq!(tail[0].data["item"]["approval_status"], "approved");
    assert_eq!(tail[1].data["snapshot"], snapshot.as_str());
}

#[tokio::test]
async fn health_and_unknown_routes() {
    let h = Harness::start().await;
    let resp = sent(h.http.get(h.url("/health"))).await;
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.text().await.expect("text"), "ok");
    let got = h.get(ALICE, "/api/v1/nope").await;
    assert_error(&got, 404, None, "not found");
    let got = h.get(ALICE, "/api/v1/approvals/x/approve").await;
    assert_error(&got, 405, None, "method not allowed");
    let got = h.get(ALICE, "/api/v1/approvals/%FF%FE/context").await;
    assert_eq!(got.0, 400, "{}", got.1);
    assert_eq!(got.1["status"], 400, "{}", got.1);
}

#[tokio::test]
async fn policy_file_changes_are_picked_up_and_invalid_files_ignored() {
    let dir = tempfile::tempdir().expect("dir");
    let file = dir.path().join("policy.yaml");
    std::fs::write(&file, POLICY).expect("write");
    let path = file.clone();
    let h = Harness::start_with(move |c| {
        c.policy_file = Some(path);
        c.policy_poll = Duration::from_millis(50);
    })
    .await;
    let gw = h.running.gateway().clone();
    let initial = gw.current_snapshot("default");
    std::fs::write(&file, "version: v1\nrules: [").expect("write");
    // The reload is explicit here so the test needs no sleeps; the watcher calls the same.
    assert!(gw.reload_policy_files().await.is_err());
    assert_eq!(gw.current_snapshot("default"), initial);
    std::fs::write(
        &file,
        "version: v1\nrules:\n  - {id: all, decision: deny}\n",
    )
    .expect("write");
    let wait = async {
        while gw.current_snapshot("default") == initial {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    };
    tokio::time::timeout(Duration::from_secs(20), wait)
        .await
        .expect("watcher reloads");
    let got = h.submit(AGENT, json!({"prompt": "x"})).await;
    assert_error(&got, 403, None, "policy denied");
}

/// A driver with a fixed seed acting as `AGENT`, its policy installed, without outages.
async fn seeded_driver(h: &Harness) -> DemoDriver {
    seeded_driver_with(h, 0).await
}

/// The same with an outage every `outage_every` steps, two steps long.
async fn seeded_driver_with(h: &Harness, outage_every: u64) -> DemoDriver {
    let gw = h.running.gateway().clone();
    let agent = gw.auth().api_key(AGENT).expect("agent");
    let config = DemoConfig {
        seed: 42,
        publish_every: 9,
        mutate_every: 5,
        tamper_payload_every: 7,
        outage_every,
        outage_steps: 2,
        ..DemoConfig::default()
    };
    let driver = DemoDriver::new(gw, DemoAgents::single(agent), config);
    driver.install_policy().await.expect("policy");
    driver
}

#[tokio::test]
async fn demo_driver_submits_publishes_and_mutates() {
    let h = Harness::start().await;
    let mut driver = seeded_driver_with(&h, 11).await;
    let mut steps = Vec::new();
    for _ in 0..30 {
        steps.push(driver.step().await.expect("step"));
    }
    assert!(steps
        .iter()
        .any(|s| matches!(s, DemoStep::Published { .. })));
    assert!(steps.iter().any(|s| matches!(s, DemoStep::Mutated { .. })));
    assert!(steps
        .iter()
        .any(|s| matches!(s, DemoStep::PayloadTampered { .. })));
    // policy-bot proposes a change for a reviewer to countersign; one waits at a time, saved
    // again when a publish outdated it.
    let proposed: Vec<&String> = steps
        .iter()
        .filter_map(|s| match s {
            DemoStep::Proposed { draft_id } => Some(draft_id),
            _ => None,
        })
        .collect();
    assert!(!proposed.is_empty(), "{steps:?}");
    let open = h
        .running
        .gateway()
        .drafts(
            "default",
            Some(countersign_core::governance::DraftStatus::Open),
        )
        .await
        .expect("drafts");
    assert_eq!(open.len(), 1, "one demo draft waits: {open:?}");
    assert_eq!(open[0].author, "policy-bot");
    // Outages begin and end (steps 11 to 13 and 22 to 24), and the engine is healthy after.
    let outage = |s: &DemoStep| matches!(s, DemoStep::OutageStarted | DemoStep::OutageEnded);
    let outages: Vec<&DemoStep> = steps.iter().filter(|s| outage(s)).collect();
    assert_eq!(
        outages,
        [
            &DemoStep::OutageStarted,
            &DemoStep::OutageEnded,
            &DemoStep::OutageStarted,
            &DemoStep::OutageEnded
        ]
    );
    assert_eq!(
        h.running.gateway().engine_mode(),
        countersign_gateway::engine::EngineMode::Healthy
    );
    assert!(steps
        .iter()
        .any(|s| matches!(s, DemoStep::Submitted { status: 200, .. })));
    assert!(steps.iter().all(
        |s| !matches!(s, DemoStep::Submitted { status, .. } if ![200, 403, 429].contains(status))
    ));
    // Same seed, same sequence of topics.
    let fresh = Harness::start().await;
    let mut twin = seeded_driver_with(&fresh, 11).await;
    for step in steps.iter().take(4) {
        let other = twin.step().await.expect("step");
        if let (DemoStep::Submitted { topic: a, .. }, DemoStep::Submitted { topic: b, .. }) =
            (step, &other)
        {
            assert_eq!(a, b);
        }
    }
}

/// Each simulated agent submits with its own key, as real agents do: a reviewer's
/// notifications and their flood limits follow the authenticated submitter, so a demo whose
/// agents shared one key would collapse into one flood notice within minutes.
#[tokio::test]
async fn demo_agents_submit_each_with_their_own_key() {
    let mut keys = None;
    let h = Harness::start_with(|config| {
        keys = Some(DemoCredentials::generate(&mut config.credentials).expect("demo keys"));
    })
    .await;
    let keys = keys.expect("demo keys");
    let gw = h.running.gateway().clone();
    let agents = DemoAgents::from_keys(&gw, &keys).expect("every demo key accepted");
    let mut driver = DemoDriver::new(
        gw,
        agents,
        DemoConfig {
            // The harness installed its own policy first, so only publishes bring the demo's in.
            publish_every: 15,
            ..DemoConfig::default()
        },
    );
    driver.install_policy().await.expect("policy");
    for _ in 0..40 {
        driver.step().await.expect("step");
    }
    let (status, page) = h
        .get(ALICE, "/api/v1/approvals?include_resolved=false&limit=200")
        .await;
    assert_eq!(status, 200, "{page}");
    let mut submitters = std::collections::BTreeSet::new();
    for item in page["items"].as_array().expect("items") {
        let principal = item["job"]["principal"].as_str().expect("principal");
        let submitter = item["submitted_by"].as_str().expect("submitted_by");
        assert!(
            submitter.ends_with(&format!("|principal:{principal}")),
            "{principal} submitted as {submitter}"
        );
        submitters.insert(submitter.to_owned());
    }
    assert!(submitters.len() >= 3, "{submitters:?}");
}

/// The demo's queue shows every part of a card within a few dozen steps: seed 002's
/// incident-triage workflow gate with constraints and a deadline, and payments with amount,
/// currency and vendor.
#[tokio::test]
async fn demo_traffic_fills_every_part_of_the_card() {
    let h = Harness::start().await;
    let mut driver = seeded_driver(&h).await;
    for _ in 0..40 {
        driver.step().await.expect("step");
    }
    let (status, page) = h
        .get(ALICE, "/api/v1/approvals?include_resolved=false&limit=200")
        .await;
    assert_eq!(status, 200, "{page}");
    let items = page["items"].as_array().expect("items");
    let incident = items
        .iter()
        .find(|i| i["workflow_id"] == "incident-triage")
        .expect("an incident-triage approval");
    assert_eq!(incident["workflow_step_id"], "remediate");
    assert!(incident["workflow_run_id"]
        .as_str()
        .is_some_and(|r| r.starts_with("run_")));
    assert_eq!(incident["constraints"]["max_lines_changed"], 500);
    assert_eq!(incident["constraints"]["max_runtime_sec"], 900);
    assert_eq!(incident["policy_reason"], "prod write detected");
    assert_eq!(incident["job"]["risk_tags"], json!(["prod", "write"]));
    assert!(incident["job"]["deadline_unix"]
        .as_i64()
        .is_some_and(|d| d > 0));
    let payment = items
        .iter()
        .find(|i| i["job"]["topic"] == "finance.payment.execute")
        .expect("a payment approval");
    assert_eq!(payment["job"]["risk_tags"], json!(["finance", "write"]));
    assert_eq!(payment["job_input"]["currency"], "EUR");
    assert!(payment["job_input"]["vendor"]
        .as_str()
        .is_some_and(|v| !v.is_empty()));
    assert!(payment["job_input"]["amount"].as_f64().is_some());
}

#[tokio::test]
async fn shutdown_ends_open_event_streams() {
    let h = Harness::start().await;
    let resp = open_stream(&h, None).await;
    let Harness { running, dir, .. } = h;
    tokio::time::timeout(Duration::from_secs(20), running.shutdown())
        .await
        .expect("shutdown does not hang on an open stream")
        .expect("clean shutdown");
    let mut body = resp.bytes_stream();
    let end = tokio::time::timeout(Duration::from_secs(20), async {
        while let Some(Ok(_)) = body.next().await {}
    });
    end.await.expect("stream ended");
    drop(dir);
}
