//! The reference gateway on 127.0.0.1:0 in this process (on its own runtime), and the real
//! CLI binary run against it with credentials in the environment and a temp data directory.
//! Every output and file is kept so a test can check that no key leaked anywhere.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Mutex;
use std::time::Duration;

use countersign_gateway::config::{ApiKeyConfig, Credentials, Role, UserConfig};
use countersign_gateway::{start, GatewayConfig, RunningGateway};
use serde_json::{json, Value};

pub const CLI: &str = env!("CARGO_BIN_EXE_countersign-cli");
pub const AGENT: &str = "agent-key-cli-000000001";
pub const ALICE: &str = "alice-key-cli-000000002";
pub const BOB: &str = "bob-key-cli-00000000003";
pub const KEYS: [&str; 3] = [AGENT, ALICE, BOB];
pub const TENANT: &str = "default";
pub const USER: &str = "carol";
pub const PASSWORD: &str = "carol-password-cli-7f3e";

/// Exit codes, as documented in `--help`.
pub const CONFLICT: i32 = 3;
pub const AUTH: i32 = 4;
pub const NETWORK: i32 = 5;
pub const TAMPERED: i32 = 7;

pub const POLICY: &str = r#"version: v1
rules:
  - id: require-approval-finance
    when: { topic: finance.payment.execute }
    decision: require_human
    reason: Payments need a human.
"#;

/// One CLI run.
#[derive(Debug)]
pub struct Run {
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    pub fn success(&self) -> &Self {
        assert_eq!(self.code, Some(0), "{self:#?}");
        self
    }

    pub fn failed_with(&self, code: i32) -> &Self {
        assert_eq!(self.code, Some(code), "{self:#?}");
        self
    }

    /// Standard output as one JSON document.
    pub fn json(&self) -> Value {
        serde_json::from_str(self.stdout.trim())
            .unwrap_or_else(|e| panic!("stdout is not JSON ({e}): {self:#?}"))
    }
}

pub struct Harness {
    pub runtime: tokio::runtime::Runtime,
    pub gateway: Option<RunningGateway>,
    pub url: String,
    pub dir: tempfile::TempDir,
    outputs: Mutex<Vec<String>>,
}

impl Harness {
    pub fn start() -> Self {
        Self::start_with_users(Vec::new())
    }

    /// With password users too (hashing a password is slow in a debug build: only on demand).
    pub fn start_with_users(users: Vec<UserConfig>) -> Self {
        Self::start_configured(users, |_| {})
    }

    /// With the gateway's configuration adjusted, say to play a gateway with laxer limits.
    pub fn start_configured(
        users: Vec<UserConfig>,
        adjust: impl FnOnce(&mut GatewayConfig),
    ) -> Self {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("runtime");
        let dir = tempfile::tempdir().expect("temp dir");
        let mut config = GatewayConfig::new(
            "127.0.0.1:0".parse().expect("addr"),
            dir.path().join("gateway.db"),
        );
        config.credentials = credentials(users);
        adjust(&mut config);
        let gateway = runtime.block_on(async {
            let gateway = start(config).await.expect("gateway starts");
            gateway
                .gateway()
                .publish_policy(POLICY, "test")
                .await
                .expect("policy");
            gateway
        });
        Self {
            url: format!("http://{}", gateway.addr),
            gateway: Some(gateway),
            runtime,
            dir,
            outputs: Mutex::default(),
        }
    }

    pub fn data_dir(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    pub fn ledger_file(&self) -> PathBuf {
        self.data_dir().join("ledgers").join("env.sqlite")
    }

    pub fn gateway(&self) -> &countersign_gateway::Gateway {
        self.gateway.as_ref().expect("gateway running").gateway()
    }

    pub fn stop_gateway(&mut self) {
        if let Some(gateway) = self.gateway.take() {
            self.runtime
                .block_on(gateway.shutdown())
                .expect("gateway stops");
        }
    }

    /// The CLI with this test's data directory and `key` in the environment.
    pub fn command(&self, key: &str) -> Command {
        let mut command = Command::new(CLI);
        command
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("COUNTERSIGN_DATA_DIR", self.data_dir())
            .env("COUNTERSIGN_GATEWAY_URL", &self.url)
            .env("COUNTERSIGN_TENANT", TENANT)
            .env("COUNTERSIGN_API_KEY", key)
            .stdin(Stdio::null());
        command
    }

    pub fn cli(&self, key: &str, args: &[&str]) -> Run {
        self.record(self.command(key).args(args).output().expect("cli runs"))
    }

    /// Runs with `input` on standard input.
    pub fn cli_with_stdin(&self, command: Command, input: &str) -> Run {
        self.record(crate::common::output_with_stdin(command, input.as_bytes()))
    }

    fn record(&self, output: std::process::Output) -> Run {
        let run = Run {
            code: output.status.code(),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        };
        self.keep(&run.stdout);
        self.keep(&run.stderr);
        run
    }

    pub fn keep(&self, text: &str) {
        self.outputs
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .push(text.to_owned());
    }

    /// Submits a job that needs approval as `key`; returns its id.
    pub fn submit_as(&self, key: &str, note: &str) -> String {
        self.submit_context(key, json!({ "note": note }))
    }

    /// Submits a job that needs approval as `key` with this `context`; returns its id.
    pub fn submit_context(&self, key: &str, context: Value) -> String {
        let body: Value = self.runtime.block_on(async {
            reqwest::Client::new()
                .post(format!("{}/api/v1/jobs", self.url))
                .header("X-API-Key", key)
                .json(&json!({
                    "prompt": "pay the invoice",
                    "topic": "finance.payment.execute",
                    "labels": {"env": "production"},
                    "context": context,
                }))
                .send()
                .await
                .expect("submit sent")
                .json()
                .await
                .expect("submit json")
        });
        assert_eq!(body["status"], "approval_required", "{body}");
        body["job_id"].as_str().expect("job id").to_owned()
    }

    pub fn submit(&self) -> String {
        self.submit_as(AGENT, "")
    }

    /// The job's state on the gateway.
    pub fn state(&self, job: &str) -> String {
        let body: Value = self.runtime.block_on(async {
            reqwest::Client::new()
                .get(format!("{}/api/v1/jobs/{job}", self.url))
                .header("X-API-Key", BOB)
                .send()
                .await
                .expect("job read")
                .json()
                .await
                .expect("job json")
        });
        body["state"].as_str().unwrap_or_default().to_owned()
    }

    /// No key or password in any output so far nor in any file under the data directory.
    pub fn assert_no_secret_leaked(&self) {
        let outputs = self
            .outputs
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        for key in KEYS.into_iter().chain([PASSWORD]) {
            for text in outputs.iter() {
                assert!(!text.contains(key), "a key leaked into output: {text}");
            }
            for file in files_under(&self.data_dir()) {
                let bytes = std::fs::read(&file).expect("file read");
                assert!(
                    !contains(&bytes, key.as_bytes()),
                    "a key leaked into {}",
                    file.display()
                );
            }
        }
    }
}

fn credentials(users: Vec<UserConfig>) -> Credentials {
    let key = |key: &str, role, principal: &str| ApiKeyConfig {
        tenant: TENANT.into(),
        key: key.into(),
        role,
        principal: principal.into(),
    };
    Credentials {
        keys: vec![
            key(AGENT, Role::Agent, "agent-7"),
            key(ALICE, Role::Operator, "alice"),
            key(BOB, Role::Admin, "bob"),
        ],
        users,
    }
}

/// An operator who signs in with [`PASSWORD`].
pub fn password_user() -> UserConfig {
    UserConfig {
        username: USER.into(),
        password_hash: countersign_gateway::auth::hash_password(PASSWORD).expect("hash"),
        tenant: TENANT.into(),
        role: Role::Operator,
        principal: USER.into(),
    }
}

pub fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return files;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            files.extend(files_under(&path));
        } else {
            files.push(path);
        }
    }
    files
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack
        .windows(needle.len())
        .any(|window| window == needle)
}

/// Reads lines from a child's stdout on a thread, so a test can wait with a timeout.
pub fn line_reader(stdout: std::process::ChildStdout) -> std::sync::mpsc::Receiver<String> {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        use std::io::BufRead;
        for line in std::io::BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    rx
}

/// The first line `matches` accepts within `timeout`; all lines read are returned too.
pub fn wait_for_line(
    lines: &std::sync::mpsc::Receiver<String>,
    timeout: Duration,
    matches: impl Fn(&str) -> bool,
) -> (Option<String>, Vec<String>) {
    let deadline = std::time::Instant::now() + timeout;
    let mut seen = Vec::new();
    while let Some(left) = deadline.checked_duration_since(std::time::Instant::now()) {
        match lines.recv_timeout(left) {
            Ok(line) => {
                let found = matches(&line);
                seen.push(line.clone());
                if found {
                    return (Some(line), seen);
                }
            }
            Err(_) => break,
        }
    }
    (None, seen)
}
