//! The reference gateway embedded on 127.0.0.1:0 with known keys and a policy, real ledger
//! files in temp dirs, and the fault-injection proxy.

pub mod proxy;
pub mod scripted;
pub mod tls;
pub mod v09;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use countersign_client::{Credential, Decider, GatewayClient, HttpConfig, RetryPolicy, Secret};
use countersign_core::verify::SeenItem;
use countersign_gateway::config::{ApiKeyConfig, Credentials, Role, UserConfig};
use countersign_gateway::{start, GatewayConfig, RunningGateway, SubmitLimits};
use countersign_ledger::Ledger;
use serde_json::{json, Value};

pub const AGENT: &str = "agent-key-000000001";
pub const ALICE: &str = "alice-key-000000002";
pub const BOB: &str = "bob-key-00000000003";
pub const PASSWORD_USER: &str = "carol";
pub const PASSWORD: &str = "carol-password-9f8e7d";
pub const TENANT: &str = "default";
/// Operators `reviewer-0` … `reviewer-9`, for races between reviewers.
pub const REVIEWERS: usize = 10;

pub fn reviewer_key(index: usize) -> String {
    format!("reviewer-key-{index:08}")
}

pub const POLICY: &str = r#"version: v1
rules:
  - id: require-approval-prod-finance
    when: { topic: finance.payment.execute }
    decision: require_human
    reason: Payments need a human.
"#;

pub const POLICY_V2: &str = r#"version: v1
rules:
  - id: require-approval-prod-finance-v2
    when: { topic: finance.payment.execute }
    decision: require_human
    reason: Payments still need a human.
"#;

fn credentials() -> Credentials {
    let key = |key: &str, role, principal: &str| ApiKeyConfig {
        tenant: TENANT.into(),
        key: key.into(),
        role,
        principal: principal.into(),
    };
    let mut keys = vec![
        key(AGENT, Role::Agent, "agent-7"),
        key(ALICE, Role::Operator, "alice"),
        key(BOB, Role::Admin, "bob"),
    ];
    keys.extend(
        (0..REVIEWERS).map(|i| key(&reviewer_key(i), Role::Operator, &format!("reviewer-{i}"))),
    );
    Credentials {
        keys,
        users: vec![UserConfig {
            username: PASSWORD_USER.into(),
            password_hash: countersign_gateway::auth::hash_password(PASSWORD).expect("hash"),
            tenant: TENANT.into(),
            role: Role::Operator,
            principal: PASSWORD_USER.into(),
        }],
    }
}

/// A running gateway and the files of one test.
pub struct Harness {
    pub gateway: Option<RunningGateway>,
    pub addr: SocketAddr,
    pub dir: tempfile::TempDir,
    pub http: reqwest::Client,
    limits: SubmitLimits,
}

impl Harness {
    pub async fn start() -> Self {
        Self::start_with_limits(SubmitLimits::default()).await
    }

    /// A gateway that bounds what agents submit by `limits` (say, to allow a 1 MB payload).
    pub async fn start_with_limits(limits: SubmitLimits) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let gateway = launch(
            &dir.path().join("gateway.db"),
            "127.0.0.1:0".parse().expect("addr"),
            &limits,
        )
        .await;
        gateway
            .gateway()
            .publish_policy(POLICY, "test")
            .await
            .expect("policy publishes");
        Self {
            addr: gateway.addr,
            gateway: Some(gateway),
            dir,
            http: reqwest::Client::new(),
            limits,
        }
    }

    pub fn running(&self) -> &RunningGateway {
        self.gateway.as_ref().expect("gateway running")
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Stops the gateway and starts a new one on the same database file and port.
    pub async fn restart(&mut self) {
        if let Some(running) = self.gateway.take() {
            running.shutdown().await.expect("gateway stops");
        }
        self.gateway =
            Some(launch(&self.dir.path().join("gateway.db"), self.addr, &self.limits).await);
    }

    /// A file for this test's ledger.
    pub fn ledger_path(&self, name: &str) -> PathBuf {
        self.dir.path().join("data").join(format!("{name}.ledger"))
    }

    pub fn ledger(&self, name: &str) -> Arc<Ledger> {
        Arc::new(Ledger::open(self.ledger_path(name)).expect("ledger opens"))
    }

    pub fn client(&self, key: &str) -> GatewayClient {
        client_for(&self.url(), key, fast_http())
    }

    pub fn decider(&self, key: &str, ledger: &str) -> Decider {
        Decider::new(self.client(key), self.ledger(ledger), fast_retry())
    }

    /// Submits a job that needs approval (as the agent); returns its id.
    pub async fn submit(&self) -> String {
        self.submit_as(AGENT).await
    }

    pub async fn submit_as(&self, key: &str) -> String {
        submit_to(&self.http, &self.url(), key, json!({"amount": 1200})).await
    }

    /// `GET /api/v1/jobs/{id}` as bob.
    pub async fn job(&self, job_id: &str) -> Value {
        let response = self
            .http
            .get(format!("{}/api/v1/jobs/{job_id}", self.url()))
            .header("X-API-Key", BOB)
            .send()
            .await
            .expect("job read");
        response.json().await.expect("job json")
    }

    /// Dispatches of the job, once the gateway's dispatcher took its step on it.
    pub async fn dispatches(&self, job_id: &str) -> i64 {
        self.running()
            .gateway()
            .dispatch_settled(job_id, Duration::from_secs(10))
            .await;
        self.running()
            .gateway()
            .dispatch_count(job_id)
            .await
            .expect("dispatch count")
    }

    /// What a reviewer saw for `job_id`, card content included, read through the client.
    pub async fn seen(&self, job_id: &str) -> SeenItem {
        self.client(BOB)
            .review(job_id)
            .await
            .expect("item read")
            .expect("item pending")
            .seen()
    }
}

async fn launch(
    data: &std::path::Path,
    listen: SocketAddr,
    limits: &SubmitLimits,
) -> RunningGateway {
    let mut config = GatewayConfig::new(listen, data.to_path_buf());
    config.credentials = credentials();
    config.submit_limits = limits.clone();
    // The port of a stopped gateway may take a moment to be free again.
    for _ in 0..50 {
        match start(config.clone()).await {
            Ok(running) => return running,
            Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
        }
    }
    start(config).await.expect("gateway starts")
}

pub async fn submit_to(http: &reqwest::Client, base: &str, key: &str, context: Value) -> String {
    let response = http
        .post(format!("{base}/api/v1/jobs"))
        .header("X-API-Key", key)
        .json(&json!({
            "prompt": "pay the invoice",
            "topic": "finance.payment.execute",
            "labels": {"env": "production"},
            "context": context,
        }))
        .send()
        .await
        .expect("submit sent");
    let body: Value = response.json().await.expect("submit json");
    assert_eq!(body["status"], "approval_required", "{body}");
    body["job_id"].as_str().expect("job id").to_owned()
}

/// Submits `count` jobs that need approval, eight at a time; their ids, in no set order.
pub async fn burst(h: &Harness, count: usize) -> Vec<String> {
    use futures_util::StreamExt;
    let url = h.url();
    futures_util::stream::iter(0..count)
        .map(|i| submit_to(&h.http, &url, AGENT, json!({"n": i})))
        .buffer_unordered(8)
        .collect()
        .await
}

pub fn fast_http() -> HttpConfig {
    HttpConfig {
        timeout: Duration::from_secs(10),
        connect_timeout: Duration::from_secs(5),
        stream_idle_timeout: Duration::from_secs(30),
        ..HttpConfig::default()
    }
}

pub fn fast_retry() -> RetryPolicy {
    RetryPolicy {
        max_attempts: 4,
        initial_delay: Duration::from_millis(5),
        max_delay: Duration::from_millis(40),
    }
}

pub fn client_for(url: &str, key: &str, http: HttpConfig) -> GatewayClient {
    GatewayClient::new(url, TENANT, Credential::ApiKey(Secret::new(key)), &http).expect("client")
}
