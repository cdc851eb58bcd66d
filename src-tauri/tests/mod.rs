//! Every command through the real IPC path of a mock app (`tauri::test::mock_builder`), against
//! a real `countersign-gateway` on 127.0.0.1, a real ledger file and the real keychain (the
//! tests run inside `make test`'s private D-Bus session with gnome-keyring).

mod history;
mod policy;
mod profiles;
mod review;

use std::path::Path;
use std::time::{Duration, Instant};

use countersign_client::{Credential, GatewayClient, HttpConfig, Secret};
use countersign_gateway::config::{ApiKeyConfig, Credentials, Role, UserConfig};
use countersign_gateway::request::SubmitBody;
use countersign_gateway::{start, GatewayConfig, RunningGateway};
use serde_json::{json, Value};
use tauri::test::{
    get_ipc_response, mock_builder, mock_context, noop_assets, MockRuntime, INVOKE_KEY,
};
use tauri::webview::InvokeRequest;
use tauri::{WebviewWindow, WebviewWindowBuilder};

use crate::{app_builder, Args, Chrome, Launch};

pub(super) const AGENT: &str = "app-test-agent-key-01";
pub(super) const ALICE: &str = "app-test-alice-key-02";
pub(super) const BOB: &str = "app-test-bob-key-0003";
pub(super) const CAROL: &str = "carol";
pub(super) const CAROL_PASSWORD: &str = "carol-correct-horse-7";

const POLICY: &str = r#"version: v1
rules:
  - id: payments-need-a-human
    when: { topic: finance.payment.execute }
    decision: require_human
    reason: Payments need a human.
  - id: notices-need-a-human
    when: { topic: customer.notify }
    decision: require_human
    reason: Messages to customers need a human.
"#;

pub(super) struct Harness {
    pub dir: tempfile::TempDir,
    pub gateway: RunningGateway,
    window: WebviewWindow<MockRuntime>,
    _app: tauri::App<MockRuntime>,
}

impl Harness {
    pub(super) fn start() -> Self {
        Self::with_chrome(Chrome::Scripted {
            confirm: false,
            save_to: None,
        })
    }

    /// A harness whose native dialogs answer as `chrome` says.
    pub(super) fn with_chrome(chrome: Chrome) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut config =
            GatewayConfig::new(([127, 0, 0, 1], 0).into(), dir.path().join("gw.sqlite"));
        let key = |key: &str, role, principal: &str| ApiKeyConfig {
            tenant: "default".into(),
            key: key.into(),
            role,
            principal: principal.into(),
        };
        config.credentials = Credentials {
            keys: vec![
                key(AGENT, Role::Agent, "agent-7"),
                key(ALICE, Role::Operator, "alice"),
                key(BOB, Role::Admin, "bob"),
            ],
            users: vec![UserConfig {
                username: CAROL.into(),
                password_hash: countersign_gateway::auth::hash_password(CAROL_PASSWORD)
                    .expect("hash"),
                tenant: "default".into(),
                role: Role::Operator,
                principal: CAROL.into(),
            }],
        };
        let gateway = tauri::async_runtime::block_on(async {
            let running = start(config).await.expect("gateway starts");
            running
                .gateway()
                .publish_policy(POLICY, "test")
                .await
                .expect("policy");
            running
        });
        let app = app_builder(
            mock_builder(),
            dir.path().join("data"),
            Launch::Idle,
            false,
            chrome,
        )
        .build(mock_context(noop_assets()))
        .expect("mock app builds");
        let window = WebviewWindowBuilder::new(&app, "main", Default::default())
            .build()
            .expect("mock window builds");
        Self {
            dir,
            gateway,
            window,
            _app: app,
        }
    }

    pub(super) fn url(&self) -> String {
        format!("http://{}", self.gateway.addr)
    }

    pub(super) fn invoke(&self, cmd: &str, args: Value) -> Result<Value, Value> {
        get_ipc_response(
            &self.window,
            InvokeRequest {
                cmd: cmd.into(),
                callback: tauri::ipc::CallbackFn(0),
                error: tauri::ipc::CallbackFn(1),
                url: "tauri://localhost".parse().expect("static url"),
                body: tauri::ipc::InvokeBody::Json(args),
                headers: Default::default(),
                invoke_key: INVOKE_KEY.to_string(),
            },
        )
        .map(|body| body.deserialize::<Value>().expect("json answer"))
    }

    pub(super) fn ok(&self, cmd: &str, args: Value) -> Value {
        self.invoke(cmd, args)
            .unwrap_or_else(|e| panic!("{cmd} failed: {e}"))
    }

    pub(super) fn err(&self, cmd: &str, args: Value) -> Value {
        match self.invoke(cmd, args) {
            Ok(answer) => panic!("{cmd} should fail, answered {answer}"),
            Err(error) => error,
        }
    }

    pub(super) fn connect(&self, name: &str) -> Value {
        self.ok(
            "connect_gateway",
            json!({"request": {"name": name, "gateway_url": self.url(), "tenant": "default",
                "credential": {"method": "api_key", "api_key": ALICE}}}),
        )
    }

    pub(super) fn submit(&self, topic: &str, risk_tags: &[&str]) -> String {
        let gateway = self.gateway.gateway().clone();
        let caller = gateway.auth().api_key(AGENT).expect("agent key");
        let body = SubmitBody {
            prompt: format!("do {topic}"),
            topic: Some(topic.into()),
            principal_id: "agent-7".into(),
            risk_tags: risk_tags.iter().map(|t| (*t).to_owned()).collect(),
            context: Some(json!({"vendor": "Acme", "amount": 120})),
            ..SubmitBody::default()
        };
        let outcome =
            tauri::async_runtime::block_on(gateway.submit(&caller, body, None)).expect("submitted");
        outcome.body["job_id"].as_str().expect("job id").to_owned()
    }

    /// Waits until the desk shows `job_id` with its content loaded and settled past the
    /// misclick guard, and returns its card with the desk's number.
    pub(super) fn card(&self, job_id: &str) -> Value {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let snapshot = self.ok("queue_snapshot", json!({}));
            if let Some(card) = snapshot["cards"].as_array().and_then(|cards| {
                cards
                    .iter()
                    .find(|c| c["card"]["job_id"] == job_id && c["content_ready"] == true)
            }) {
                std::thread::sleep(Duration::from_millis(600));
                let mut card = card.clone();
                card["desk"] = snapshot["desk"].clone();
                return card;
            }
            assert!(
                Instant::now() < deadline,
                "{job_id} never reached the queue: {snapshot}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    pub(super) fn job(&self, job_id: &str) -> countersign_client::JobStatus {
        let client = GatewayClient::new(
            &self.url(),
            "default",
            Credential::ApiKey(Secret::new(BOB)),
            &HttpConfig::default(),
        )
        .expect("client");
        tauri::async_runtime::block_on(client.job_status(job_id)).expect("job record")
    }
}

pub(super) fn decision(card: &Value, action: &str, reason: &str, confirm: Option<&str>) -> Value {
    json!({"request": {
        "desk": card["desk"],
        "seen": card["seen"],
        "action": action,
        "reason": reason,
        "confirm": confirm,
    }})
}

pub(super) fn data_file(h: &Harness, name: &str) -> std::path::PathBuf {
    Path::new(h.dir.path()).join("data").join(name)
}
