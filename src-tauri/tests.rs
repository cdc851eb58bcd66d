//! Every command through the real IPC path of a mock app (`tauri::test::mock_builder`), against
//! a real `countersign-gateway` on 127.0.0.1, a real ledger file and the real keychain (the
//! tests run inside `make test`'s private D-Bus session with gnome-keyring).

use std::path::Path;
use std::time::{Duration, Instant};

use countersign_client::{Credential, GatewayClient, HttpConfig, Secret};
use countersign_gateway::config::{ApiKeyConfig, Credentials, Role};
use countersign_gateway::request::SubmitBody;
use countersign_gateway::{start, GatewayConfig, RunningGateway};
use serde_json::{json, Value};
use tauri::test::{
    get_ipc_response, mock_builder, mock_context, noop_assets, MockRuntime, INVOKE_KEY,
};
use tauri::webview::InvokeRequest;
use tauri::{WebviewWindow, WebviewWindowBuilder};

use crate::{app_builder, Args, Launch};

const AGENT: &str = "app-test-agent-key-01";
const ALICE: &str = "app-test-alice-key-02";
const BOB: &str = "app-test-bob-key-0003";

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

struct Harness {
    _dir: tempfile::TempDir,
    gateway: RunningGateway,
    window: WebviewWindow<MockRuntime>,
    _app: tauri::App<MockRuntime>,
}

impl Harness {
    fn start() -> Self {
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
            users: Vec::new(),
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
        let app = app_builder(mock_builder(), dir.path().join("data"), Launch::Idle)
            .build(mock_context(noop_assets()))
            .expect("mock app builds");
        let window = WebviewWindowBuilder::new(&app, "main", Default::default())
            .build()
            .expect("mock window builds");
        Self {
            _dir: dir,
            gateway,
            window,
            _app: app,
        }
    }

    fn url(&self) -> String {
        format!("http://{}", self.gateway.addr)
    }

    fn invoke(&self, cmd: &str, args: Value) -> Result<Value, Value> {
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

    fn ok(&self, cmd: &str, args: Value) -> Value {
        self.invoke(cmd, args)
            .unwrap_or_else(|e| panic!("{cmd} failed: {e}"))
    }

    fn err(&self, cmd: &str, args: Value) -> Value {
        match self.invoke(cmd, args) {
            Ok(answer) => panic!("{cmd} should fail, answered {answer}"),
            Err(error) => error,
        }
    }

    fn connect(&self, name: &str) -> Value {
        self.ok(
            "connect_gateway",
            json!({"request": {"name": name, "gateway_url": self.url(), "tenant": "default", "api_key": ALICE}}),
        )
    }

    fn submit(&self, topic: &str, risk_tags: &[&str]) -> String {
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
    fn card(&self, job_id: &str) -> Value {
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

    fn job(&self, job_id: &str) -> countersign_client::JobStatus {
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

fn decision(card: &Value, action: &str, reason: &str, confirm: Option<&str>) -> Value {
    json!({"request": {
        "desk": card["desk"],
        "seen": card["seen"],
        "action": action,
        "reason": reason,
        "confirm": confirm,
    }})
}

#[test]
fn without_a_profile_commands_say_so() {
    let h = Harness::start();
    assert_eq!(h.ok("session_info", json!({})), Value::Null);
    assert_eq!(h.err("queue_snapshot", json!({}))["code"], "no_session");
    let settings = h.ok("get_settings", json!({}));
    assert_eq!(
        settings["review"]["high_risk_tags"],
        json!(["prod", "secrets", "finance", "delete"])
    );
}

#[test]
fn connect_approve_reject_and_history_through_the_commands() {
    let h = Harness::start();
    let session = h.connect("work");
    assert_eq!(session["profile"], "work");
    assert_eq!(session["demo"], false);
    let profiles = h.ok("list_profiles", json!({}));
    assert_eq!(profiles[0]["name"], "work");
    let again = h.err(
        "connect_gateway",
        json!({"request": {"name": "work", "gateway_url": "http://127.0.0.1:9", "tenant": "default", "api_key": BOB}}),
    );
    assert_eq!(
        again["code"], "invalid_input",
        "an existing profile is never repointed: {again}"
    );
    let on_disk = std::fs::read_to_string(data_file(&h, "profiles.json")).expect("profiles.json");
    assert!(
        !on_disk.contains(ALICE),
        "the key must live in the keychain only"
    );

    // An ordinary item approves in one click, bound to the hash the card showed.
    let notice = h.submit("customer.notify", &["network"]);
    let card = h.card(&notice);
    assert_eq!(card["high_risk"], false);
    let approved = h.ok("decide", decision(&card, "approve", "checked", None));
    assert_eq!(approved["outcome"], "applied");
    let job = h.job(&notice);
    assert_eq!(
        job.approval_job_hash,
        card["seen"]["job_hash"].as_str().expect("hash")
    );

    // A high-risk item needs the typed hash tail; a wrong one sends nothing.
    let payment = h.submit("finance.payment.execute", &["finance"]);
    let card = h.card(&payment);
    assert_eq!(card["high_risk"], true);
    assert_eq!(
        h.err("decide", decision(&card, "approve", "", None))["code"],
        "confirmation_required"
    );
    assert_eq!(
        h.err("decide", decision(&card, "approve", "", Some("zzzz")))["code"],
        "confirmation_mismatch"
    );
    assert_eq!(
        h.job(&payment).state,
        "APPROVAL_REQUIRED",
        "nothing was sent"
    );

    // A reject needs a reason and lands with it.
    assert_eq!(
        h.err("decide", decision(&card, "reject", " ", None))["code"],
        "invalid_input"
    );
    let rejected = h.ok("decide", decision(&card, "reject", "wrong vendor", None));
    assert_eq!(rejected["outcome"], "applied");
    assert_eq!(h.job(&payment).state, "DENIED");

    let detail = h.ok("item_detail", json!({"seen": card["seen"]}));
    assert!(detail["history"].as_array().is_some_and(|e| !e.is_empty()));
    let history = h.ok(
        "history_query",
        json!({"query": {"kinds": ["decision_outcome"]}}),
    );
    assert_eq!(
        history["entries"].as_array().map(Vec::len),
        Some(2),
        "{history}"
    );
    assert_eq!(h.ok("history_verify", json!({}))["intact"], true);
    assert_eq!(
        h.err("history_query", json!({"query": {"kinds": ["nonsense"]}}))["code"],
        "ledger_invalid_query"
    );

    h.ok("sign_out", json!({}));
    assert_eq!(h.ok("session_info", json!({})), Value::Null);
    // The key left the keychain: the profile stays, but opening it needs a new sign-in.
    let reopened = h.err("open_profile", json!({"name": "work"}));
    assert_eq!(reopened["code"], "invalid_profile", "{reopened}");
}

#[test]
fn a_request_changed_after_display_is_refused_and_nothing_is_sent() {
    let h = Harness::start();
    h.connect("drift");
    let job_id = h.submit("customer.notify", &[]);
    let card = h.card(&job_id);
    tauri::async_runtime::block_on(h.gateway.gateway().mutate_stored_request(&job_id, |req| {
        req.labels
            .insert("edited_after_submit".into(), "true".into());
    }))
    .expect("mutated");
    let refused = h.err("decide", decision(&card, "approve", "", None));
    assert_eq!(refused["code"], "drift");
    // The request's labels are part of what the card binds: the change is named.
    assert_eq!(refused["detail"]["code"], "content_changed", "{refused}");
    assert_eq!(
        refused["detail"]["changes"][0]["field"], "labels",
        "{refused}"
    );
    let job = h.job(&job_id);
    assert_eq!(job.state, "APPROVAL_REQUIRED");
    assert!(job.approval_job_hash.is_empty());
}

#[test]
fn a_payload_changed_behind_the_gateway_is_refused_naming_the_field() {
    let h = Harness::start();
    h.connect("payload");
    let job_id = h.submit("customer.notify", &[]);
    let card = h.card(&job_id);
    tauri::async_runtime::block_on(
        h.gateway
            .gateway()
            .mutate_stored_context(&job_id, |context| {
                *context = json!({"vendor": "Mallory", "amount": 9_800_000});
            }),
    )
    .expect("payload replaced");
    let refused = h.err("decide", decision(&card, "approve", "", None));
    assert_eq!(refused["code"], "drift", "{refused}");
    assert_eq!(refused["detail"]["code"], "content_changed", "{refused}");
    assert!(
        refused["message"]
            .as_str()
            .is_some_and(|m| m.contains("payload")),
        "{refused}"
    );
    assert!(
        h.job(&job_id).approval_job_hash.is_empty(),
        "nothing was approved"
    );
}

#[test]
fn a_click_on_another_session_or_another_version_of_the_card_sends_nothing() {
    let h = Harness::start();
    h.connect("guards");
    let job_id = h.submit("customer.notify", &[]);
    let card = h.card(&job_id);
    let mut elsewhere = card.clone();
    elsewhere["desk"] = json!(card["desk"].as_u64().expect("desk") + 1000);
    assert_eq!(
        h.err("decide", decision(&elsewhere, "approve", "", None))["code"],
        "session_changed"
    );
    let mut older = card.clone();
    older["seen"]["job_hash"] = json!("sha256:something-else");
    assert_eq!(
        h.err("decide", decision(&older, "approve", "", None))["code"],
        "card_changed"
    );
    let mut forged = card.clone();
    forged["seen"]["content_digest"] = json!("0".repeat(64));
    assert_eq!(
        h.err("decide", decision(&forged, "approve", "", None))["code"],
        "card_changed"
    );
    let job = h.job(&job_id);
    assert_eq!(job.state, "APPROVAL_REQUIRED");
    assert!(job.approval_job_hash.is_empty());
}

#[test]
fn settings_change_what_is_high_risk_and_persist() {
    let h = Harness::start();
    h.connect("risk");
    let job_id = h.submit("customer.notify", &["network"]);
    assert_eq!(h.card(&job_id)["high_risk"], false);
    let saved = h.ok(
        "set_settings",
        json!({"settings": {"theme": "dark", "review": {"high_risk_tags": [" Network "]}}}),
    );
    assert_eq!(saved["review"]["high_risk_tags"], json!(["network"]));
    assert_eq!(h.card(&job_id)["high_risk"], true);
    assert_eq!(h.ok("get_settings", json!({}))["theme"], "dark");
    let bad = json!({"settings": {"review": {"high_risk_tags": ["a\u{7}b"]}}});
    assert_eq!(h.err("set_settings", bad)["code"], "invalid_input");
}

#[test]
fn the_demo_starts_an_embedded_gateway_with_arriving_approvals() {
    let h = Harness::start();
    let session = h.ok("start_demo", json!({}));
    assert_eq!(session["profile"], "demo");
    assert_eq!(session["demo"], true);
    assert!(session["gateway_url"]
        .as_str()
        .is_some_and(|u| u.starts_with("http://127.0.0.1:")));
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let snapshot = h.ok("queue_snapshot", json!({}));
        if snapshot["cards"].as_array().is_some_and(|c| !c.is_empty()) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "no demo approval arrived: {snapshot}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(data_file(&h, "ledgers/demo.sqlite").exists());
}

fn data_file(h: &Harness, name: &str) -> std::path::PathBuf {
    Path::new(h._dir.path()).join("data").join(name)
}

#[test]
fn the_command_line_names_the_launch_and_the_data_directory() {
    let parse = |args: &[&str]| Args::parse(args.iter().map(|a| (*a).to_owned()));
    assert_eq!(parse(&[]).expect("empty").launch, Launch::LastProfile);
    let demo = parse(&["--data-dir", "/tmp/x", "--demo"]).expect("both");
    assert_eq!(demo.launch, Launch::Demo);
    assert_eq!(demo.data_dir.as_deref(), Some(Path::new("/tmp/x")));
    assert!(parse(&["--data-dir"]).is_err());
    assert!(parse(&["--data-dir", ""]).is_err());
    assert!(parse(&["--frobnicate"])
        .expect_err("unknown")
        .contains("usage"));
}
