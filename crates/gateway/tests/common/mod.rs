//! A gateway on 127.0.0.1:0 with a fresh SQLite file, known keys, and small HTTP helpers.

#![allow(dead_code)]

pub mod binary;

use std::time::Duration;

use countersign_gateway::config::{ApiKeyConfig, Credentials, Role};
use countersign_gateway::{start, GatewayConfig, RunningGateway};
use futures_util::StreamExt;
use reqwest::{Method, RequestBuilder, Response};
use serde_json::{json, Value};

pub const AGENT: &str = "agent-key-000000001";
pub const ALICE: &str = "alice-key-000000002";
pub const BOB: &str = "bob-key-00000000003";
pub const VIEWER: &str = "viewer-key-00000004";
pub const OTHER_TENANT: &str = "acme-op-key-0000005";
/// An agent key whose principal is `alice`: its jobs may not be approved by alice.
pub const ALICE_AGENT: &str = "alice-agent-key-006";
/// An agent of the other tenant.
pub const ACME_AGENT: &str = "acme-agent-key-0007";
/// An admin of the other tenant: it may publish acme's policy, never default's.
pub const ACME_ADMIN: &str = "acme-admin-key-0008";
/// The workflow engine: the one submitter (besides admins) that may set `gate_type`.
pub const WORKFLOW: &str = "workflow-key-000009";

pub const POLICY: &str = r#"version: v1
rules:
  - id: deny-prod-public-ingress
    when: { topic: infra.security_group.update, env: production, cidr: "0.0.0.0/0" }
    decision: deny
    reason: Public ingress to production is not allowed.
  - id: throttle-bulk-recreate
    when: { topic: infra.cluster.recreate, env: production }
    decision: throttle
  - id: require-approval-prod-finance
    when: { topic: finance.payment.execute, env: production }
    decision: require_human
    reason: Payments need a human.
    constraints: { budgets: { max_retries: 1 } }
  - id: writes-need-human
    when: { topic: "job.peer.*" }
    decision: require_human
    reason: Writes need a human.
"#;

pub fn credentials() -> Credentials {
    let key = |tenant: &str, key: &str, role, principal: &str| ApiKeyConfig {
        tenant: tenant.into(),
        key: key.into(),
        role,
        principal: principal.into(),
    };
    Credentials {
        keys: vec![
            key("default", AGENT, Role::Agent, "agent-7"),
            key("default", ALICE, Role::Operator, "alice"),
            key("default", BOB, Role::Admin, "bob"),
            key("default", VIEWER, Role::Viewer, "vera"),
            key("acme", OTHER_TENANT, Role::Operator, "oscar"),
            key("default", ALICE_AGENT, Role::Agent, "alice"),
            key("acme", ACME_AGENT, Role::Agent, "acme-bot"),
            key("acme", ACME_ADMIN, Role::Admin, "ada"),
            key("default", WORKFLOW, Role::Workflow, "flow-engine"),
        ],
        users: Vec::new(),
    }
}

pub struct Harness {
    pub running: RunningGateway,
    pub base: String,
    pub http: reqwest::Client,
    pub dir: tempfile::TempDir,
}

impl Harness {
    pub async fn start() -> Self {
        Self::start_with(|_| {}).await
    }

    pub async fn start_with(adjust: impl FnOnce(&mut GatewayConfig)) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut config = GatewayConfig::new(
            "127.0.0.1:0".parse().expect("addr"),
            dir.path().join("gw.db"),
        );
        config.credentials = credentials();
        config.dispatch.simulation_controls = true;
        adjust(&mut config);
        let running = start(config).await.expect("gateway starts");
        running
            .gateway()
            .publish_policy(POLICY, "test")
            .await
            .expect("policy publishes");
        Self::serving(running, dir)
    }

    /// Stops the gateway, lets `while_down` change its database file (as a crash or an older
    /// gateway could have left it), and starts a new gateway on the same file. Nothing is
    /// published on the way back up.
    pub async fn restart(self, while_down: impl FnOnce(&rusqlite::Connection)) -> Self {
        self.restart_configured(while_down, |_| {}).await
    }

    /// Like [`Self::restart`], with the new gateway's configuration adjusted (say, a user
    /// removed from the credentials).
    pub async fn restart_configured(
        self,
        while_down: impl FnOnce(&rusqlite::Connection),
        adjust: impl FnOnce(&mut GatewayConfig),
    ) -> Self {
        let Self { running, dir, .. } = self;
        running.shutdown().await.expect("clean shutdown");
        let path = dir.path().join("gw.db");
        while_down(&rusqlite::Connection::open(&path).expect("open the file"));
        let mut config = GatewayConfig::new("127.0.0.1:0".parse().expect("addr"), path);
        config.credentials = credentials();
        config.dispatch.simulation_controls = true;
        adjust(&mut config);
        let running = start(config).await.expect("gateway restarts");
        Self::serving(running, dir)
    }

    fn serving(running: RunningGateway, dir: tempfile::TempDir) -> Self {
        let base = format!("http://{}", running.addr);
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .build()
            .expect("client");
        Self {
            running,
            base,
            http,
            dir,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// A request carrying `key` as `X-API-Key`, for tests that need extra headers, a raw body
    /// or the response headers.
    pub fn keyed(&self, method: Method, key: &str, path: &str) -> RequestBuilder {
        self.http
            .request(method, self.url(path))
            .header("X-API-Key", key)
    }

    /// A request carrying `token` as a Bearer token (session tokens travel only this way).
    pub fn bearer(&self, method: Method, token: &str, path: &str) -> RequestBuilder {
        self.http.request(method, self.url(path)).bearer_auth(token)
    }

    pub async fn send(
        &self,
        method: Method,
        key: Option<&str>,
        path: &str,
        body: Option<Value>,
    ) -> (u16, Value) {
        let mut req = match key {
            Some(k) => self.keyed(method, k, path),
            None => self.http.request(method, self.url(path)),
        };
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await.expect("request sent");
        let status = resp.status().as_u16();
        let text = resp.text().await.expect("body");
        (
            status,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        )
    }

    pub async fn get(&self, key: &str, path: &str) -> (u16, Value) {
        self.send(Method::GET, Some(key), path, None).await
    }

    pub async fn post(&self, key: &str, path: &str, body: Value) -> (u16, Value) {
        self.send(Method::POST, Some(key), path, Some(body)).await
    }

    pub async fn submit(&self, key: &str, body: Value) -> (u16, Value) {
        self.post(key, "/api/v1/jobs", body).await
    }

    /// Submits a job that needs approval; returns its id.
    pub async fn pending_job(&self, key: &str, labels: Value) -> String {
        let (status, body) = self
            .submit(
                key,
                json!({
                    "prompt": "pay the invoice",
                    "topic": "finance.payment.execute",
                    "labels": labels,
                    "context": { "vendor": "Globex", "amount": 1200, "currency": "EUR" },
                }),
            )
            .await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["status"], "approval_required", "{body}");
        body["job_id"].as_str().expect("job id").to_owned()
    }

    pub async fn payment(&self) -> String {
        self.pending_job(AGENT, json!({ "env": "production" }))
            .await
    }

    pub async fn approve(&self, key: &str, job_id: &str, body: Value) -> (u16, Value) {
        self.post(key, &format!("/api/v1/approvals/{job_id}/approve"), body)
            .await
    }

    pub async fn reject(&self, key: &str, job_id: &str, body: Value) -> (u16, Value) {
        self.post(key, &format!("/api/v1/approvals/{job_id}/reject"), body)
            .await
    }

    /// Publishes a policy as an operator would; returns the new snapshot.
    pub async fn publish(&self, yaml: &str) -> String {
        self.running
            .gateway()
            .publish_policy(yaml, "test")
            .await
            .expect("publish")
    }

    /// Publishes a config overlay (the policy stays); returns the new snapshot.
    pub async fn overlay(&self, overlay: Value) -> String {
        self.running
            .gateway()
            .publish_overlay(overlay, "test")
            .await
            .expect("overlay")
    }

    /// How often the job was dispatched (approval must dispatch exactly once), once the
    /// dispatcher has taken its step on a job that is due.
    pub async fn dispatches(&self, job_id: &str) -> i64 {
        self.running
            .gateway()
            .dispatch_settled(job_id, Duration::from_secs(10))
            .await;
        self.running
            .gateway()
            .dispatch_count(job_id)
            .await
            .expect("dispatch count")
    }
}

/// The job's item in the pending approvals (`include_resolved=false`), or `null`.
pub async fn pending_item(h: &Harness, job_id: &str) -> Value {
    listed_item(h, "/api/v1/approvals?include_resolved=false", job_id).await
}

/// The job's item in the listing at `path`, or `null` when it is not listed.
pub async fn listed_item(h: &Harness, path: &str, job_id: &str) -> Value {
    let (status, body) = h.get(ALICE, path).await;
    assert_eq!(status, 200, "{body}");
    body["items"]
        .as_array()
        .expect("items")
        .iter()
        .find(|i| i["job"]["id"] == job_id)
        .cloned()
        .unwrap_or(Value::Null)
}

/// An argon2id hash with tiny parameters, so tests that log in stay fast.
pub fn cheap_hash(password: &str) -> String {
    use argon2::{Algorithm, Argon2, Params, PasswordHasher, Version};
    let params = Params::new(1024, 1, 1, None).expect("params");
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
        .hash_password(password.as_bytes())
        .expect("hash")
        .to_string()
}

/// A password user of tenant `default`.
pub fn user(name: &str, password_hash: String, role: Role) -> countersign_gateway::UserConfig {
    countersign_gateway::UserConfig {
        username: name.into(),
        password_hash,
        tenant: "default".into(),
        role,
        principal: name.into(),
    }
}

/// Logs in; returns the status and the answer.
pub async fn login(h: &Harness, body: Value) -> (u16, Value) {
    call(h.http.post(h.url("/api/v1/auth/login")).json(&body)).await
}

pub async fn sent(req: RequestBuilder) -> Response {
    req.send().await.expect("sent")
}

/// Sends `req` and reads a JSON answer (failing on anything else, unlike [`Harness::send`]).
pub async fn call(req: RequestBuilder) -> (u16, Value) {
    let resp = sent(req).await;
    (
        resp.status().as_u16(),
        resp.json::<Value>().await.expect("json"),
    )
}

/// Asserts an error body's status, code and message.
pub fn assert_error(got: &(u16, Value), status: u16, code: Option<&str>, message: &str) {
    let (s, body) = got;
    assert_eq!(*s, status, "{body}");
    assert_eq!(body["status"], status, "{body}");
    assert_eq!(body["error"], message, "{body}");
    match code {
        Some(c) => assert_eq!(body["code"], c, "{body}"),
        None => assert!(body.get("code").is_none(), "{body}"),
    }
}

/// One Server-Sent Event of the approvals stream.
pub struct SseEvent {
    pub id: i64,
    pub kind: String,
    pub data: Value,
}

/// Reads events until `count` events of kind `kind` arrived; returns all events read.
pub async fn read_until(resp: reqwest::Response, kind: &str, count: usize) -> Vec<SseEvent> {
    read_while(resp, |out| {
        out.iter().filter(|e| e.kind == kind).count() < count
    })
    .await
}

/// Reads events while `more` says so of the events read so far; returns them.
pub async fn read_while(
    resp: reqwest::Response,
    more: impl Fn(&[SseEvent]) -> bool,
) -> Vec<SseEvent> {
    let mut stream = resp.bytes_stream();
    let mut text = String::new();
    let mut out: Vec<SseEvent> = Vec::new();
    let reading = async {
        while more(&out) {
            let chunk = stream.next().await.expect("stream open").expect("chunk");
            text.push_str(&String::from_utf8_lossy(&chunk));
            while let Some(end) = text.find("\n\n") {
                let block: String = text.drain(..end + 2).collect();
                let (mut id, mut event, mut data) = (None, String::new(), String::new());
                for line in block.lines() {
                    if let Some(v) = line.strip_prefix("id:") {
                        id = Some(v.trim().parse().expect("numeric id"));
                    } else if let Some(v) = line.strip_prefix("event:") {
                        event = v.trim().to_owned();
                    } else if let Some(v) = line.strip_prefix("data:") {
                        data.push_str(v.trim_start());
                    }
                }
                // Keep-alive comments carry no id.
                if let Some(id) = id {
                    let data = serde_json::from_str(&data).expect("json data");
                    out.push(SseEvent {
                        id,
                        kind: event,
                        data,
                    });
                }
            }
        }
    };
    tokio::time::timeout(Duration::from_secs(20), reading)
        .await
        .expect("events arrive");
    out
}

/// Opens the approvals event stream as alice, resuming after `last_event_id` if given.
pub async fn open_stream(h: &Harness, last_event_id: Option<i64>) -> reqwest::Response {
    let mut req = h.keyed(Method::GET, ALICE, "/api/v1/approvals/events");
    if let Some(id) = last_event_id {
        req = req.header("Last-Event-ID", id.to_string());
    }
    let resp = sent(req).await;
    assert_eq!(resp.status(), 200);
    assert!(resp.headers()["content-type"]
        .to_str()
        .expect("ct")
        .starts_with("text/event-stream"));
    resp
}
