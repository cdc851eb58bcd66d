//! Gateway configuration: where to listen and store, the policy file, and the credentials
//! (API keys and password users) with their tenant, role and principal.
//!
//! Credentials come from a YAML file (`--api-keys FILE`):
//!
//! ```yaml
//! keys:
//!   - { tenant: default, key: "agent-key-1", role: agent, principal: agent-7 }
//!   - { tenant: default, key: "reviewer-key", role: operator, principal: alice }
//! users:
//!   - { username: alice, password_hash: "$argon2id$...", tenant: default, role: operator, principal: alice }
//! ```
//!
//! or from the environment variable `COUNTERSIGN_GATEWAY_API_KEYS` as
//! `tenant:key:role:principal,...`.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::clock::{Clock, SystemClock};
use crate::error::GatewayError;

/// The environment variable holding API keys as `tenant:key:role:principal,...`.
pub const API_KEYS_ENV: &str = "COUNTERSIGN_GATEWAY_API_KEYS";

/// A role; each grants a fixed set of permissions (see [`Role::can`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Admin,
    Operator,
    Viewer,
    Agent,
    /// The workflow engine: submits like an agent, and alone (besides admins) may mark a job
    /// as a workflow approval gate (`gate_type`).
    Workflow,
}

/// A permission a route requires.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Permission {
    /// List, inspect and decide approvals.
    JobsApprove,
    /// Submit jobs.
    JobsWrite,
    /// Read job records.
    JobsRead,
    /// Read the audit chain.
    AuditRead,
    /// Read policy snapshots.
    PolicyRead,
    /// Publish a policy.
    PolicyWrite,
}

impl Role {
    /// Whether this role may set the `gate_type` label: the workflow engine's, and an
    /// admin's, who may do everything.
    pub fn may_mark_gates(self) -> bool {
        matches!(self, Self::Workflow | Self::Admin)
    }

    /// Whether this role grants `permission`.
    pub fn can(self, permission: Permission) -> bool {
        use Permission as P;
        match self {
            Self::Admin => true,
            Self::Operator => matches!(
                permission,
                P::JobsApprove | P::JobsRead | P::AuditRead | P::PolicyRead
            ),
            Self::Viewer => matches!(permission, P::JobsRead | P::AuditRead | P::PolicyRead),
            Self::Agent | Self::Workflow => {
                matches!(permission, P::JobsWrite | P::JobsRead | P::PolicyRead)
            }
        }
    }

    /// The role's name as configured and reported.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Admin => "admin",
            Self::Operator => "operator",
            Self::Viewer => "viewer",
            Self::Agent => "agent",
            Self::Workflow => "workflow",
        }
    }

    fn parse(text: &str) -> Result<Self, GatewayError> {
        match text.trim().to_ascii_lowercase().as_str() {
            "admin" => Ok(Self::Admin),
            "operator" => Ok(Self::Operator),
            "viewer" => Ok(Self::Viewer),
            "agent" => Ok(Self::Agent),
            "workflow" => Ok(Self::Workflow),
            other => Err(GatewayError::Config(format!("unknown role {other:?}"))),
        }
    }
}

/// One API key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApiKeyConfig {
    pub tenant: String,
    pub key: String,
    pub role: Role,
    pub principal: String,
}

/// One password user; `password_hash` is an argon2 PHC string.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UserConfig {
    pub username: String,
    pub password_hash: String,
    pub tenant: String,
    pub role: Role,
    pub principal: String,
}

/// The contents of an API-keys file.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Credentials {
    #[serde(default)]
    pub keys: Vec<ApiKeyConfig>,
    #[serde(default)]
    pub users: Vec<UserConfig>,
}

impl Credentials {
    /// Parses an API-keys YAML document.
    pub fn from_yaml(text: &str) -> Result<Self, GatewayError> {
        let creds: Self = serde_yaml_ng::from_str(text)
            .map_err(|e| GatewayError::Config(format!("api keys file: {e}")))?;
        creds.validate()?;
        Ok(creds)
    }

    /// Parses `tenant:key:role:principal,...`; blank entries are ignored.
    pub fn from_env_value(text: &str) -> Result<Self, GatewayError> {
        let keys = text
            .split(',')
            .map(str::trim)
            .filter(|e| !e.is_empty())
            .map(|entry| {
                let parts: Vec<&str> = entry.split(':').collect();
                let [tenant, key, role, principal] = parts.as_slice() else {
                    return Err(GatewayError::Config(format!(
                        "{API_KEYS_ENV}: expected tenant:key:role:principal, got {} fields",
                        parts.len()
                    )));
                };
                Ok(ApiKeyConfig {
                    tenant: (*tenant).to_owned(),
                    key: (*key).to_owned(),
                    role: Role::parse(role)?,
                    principal: (*principal).to_owned(),
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        let creds = Self {
            keys,
            users: Vec::new(),
        };
        creds.validate()?;
        Ok(creds)
    }

    /// Adds the other set's entries.
    pub fn merge(&mut self, other: Self) {
        self.keys.extend(other.keys);
        self.users.extend(other.users);
    }

    fn validate(&self) -> Result<(), GatewayError> {
        for k in &self.keys {
            if k.tenant.trim().is_empty()
                || k.key.trim().is_empty()
                || k.principal.trim().is_empty()
            {
                return Err(GatewayError::Config(
                    "every API key needs a non-empty tenant, key and principal".into(),
                ));
            }
            if k.key.starts_with("session-") {
                return Err(GatewayError::Config(
                    "API keys must not start with \"session-\" (reserved for session tokens)"
                        .into(),
                ));
            }
        }
        for u in &self.users {
            if u.username.trim().is_empty() || u.tenant.trim().is_empty() {
                return Err(GatewayError::Config(
                    "every user needs a non-empty username and tenant".into(),
                ));
            }
        }
        Ok(())
    }
}

/// What an agent may submit in one job (`POST /api/v1/jobs`). Past a limit the answer is
/// 400 naming it. The defaults are documented in the README's Security section.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubmitLimits {
    /// Deepest nesting of `context` (an object or array inside another counts one level).
    pub max_context_depth: usize,
    /// Largest payload (the prompt and the context, encoded as the pointer names them).
    pub max_payload_bytes: usize,
    /// Most labels.
    pub max_labels: usize,
    /// Longest label key.
    pub max_label_key_bytes: usize,
    /// Longest label value.
    pub max_label_value_bytes: usize,
    /// Most entries in `tags`, `risk_tags` and `requires`.
    pub max_list_items: usize,
    /// Longest identifier-like field (`adapter_id`, `principal_id`, a tag, ...).
    pub max_field_bytes: usize,
    /// Largest `deadline_ms`.
    pub max_deadline_ms: i64,
    /// Largest token budget (`max_input_tokens`, `max_output_tokens`, `max_total_tokens`).
    pub max_tokens: i64,
}

impl Default for SubmitLimits {
    fn default() -> Self {
        Self {
            max_context_depth: 32,
            max_payload_bytes: 256 * 1024,
            max_labels: 50,
            max_label_key_bytes: 256,
            max_label_value_bytes: 4096,
            max_list_items: 50,
            max_field_bytes: 1024,
            max_deadline_ms: 30 * 24 * 3600 * 1000,
            max_tokens: i64::from(i32::MAX),
        }
    }
}

/// Login protection and the bounds of the gateway-level auth-failure log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthLimits {
    /// Failed logins of one username per [`Self::login_window`] before 429.
    pub login_failures_per_user: u32,
    /// Failed logins from one source address per window before 429.
    pub login_failures_per_source: u32,
    pub login_window: Duration,
    /// Password hashes computed at once (argon2 takes ~19 MiB each); more logins wait.
    pub password_hash_concurrency: usize,
    /// Rows the auth-failure log keeps (the oldest go first).
    pub auth_log_max_rows: usize,
    /// Failures recorded per source address per [`Self::auth_log_window`]; more are counted
    /// in the gateway's own log line only.
    pub auth_log_per_source: u32,
    pub auth_log_window: Duration,
    /// Longest path, username or tenant recorded.
    pub auth_log_max_field_bytes: usize,
    /// Usernames and addresses tracked at once by each limiter.
    pub tracked_keys: usize,
}

impl Default for AuthLimits {
    fn default() -> Self {
        Self {
            login_failures_per_user: 5,
            login_failures_per_source: 20,
            login_window: Duration::from_secs(15 * 60),
            password_hash_concurrency: 2,
            auth_log_max_rows: 10_000,
            auth_log_per_source: 30,
            auth_log_window: Duration::from_secs(60),
            auth_log_max_field_bytes: 256,
            tracked_keys: 10_000,
        }
    }
}

/// What cookie-authenticated requests must show, and how the cookie is set.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CookiePolicy {
    /// Origins (`https://desk.example.com`) whose pages may write with the session cookie,
    /// besides the gateway's own.
    pub allowed_origins: Vec<String>,
    /// Mark the cookie `Secure` always: set when the gateway is served over TLS (a proxy
    /// that sends `X-Forwarded-Proto: https` gets it without this).
    pub secure: bool,
}

/// Bounds on the event streams (`GET /api/v1/approvals/events`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamLimits {
    /// Streams one principal (tenant and principal id) may hold open; one more is 429.
    pub max_streams_per_principal: usize,
    /// How often a stream opened with a session checks that the session is still live; a
    /// logged-out or expired session's stream ends at the next check.
    pub session_recheck: Duration,
}

impl Default for StreamLimits {
    fn default() -> Self {
        Self {
            max_streams_per_principal: 16,
            session_recheck: Duration::from_secs(2),
        }
    }
}

/// Bounds on the HTTP connections.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectionLimits {
    /// How long a client may take to send a request's headers; hyper also counts an idle
    /// keep-alive connection's wait for its next request against it, so this is the idle
    /// timeout too. The connection is closed when it runs out.
    pub header_read_timeout: Duration,
    /// Connections open at once; more wait in the listen backlog until one closes.
    pub max_connections: usize,
    /// How long shutdown waits for open connections before closing them.
    pub shutdown_grace: Duration,
}

impl Default for ConnectionLimits {
    fn default() -> Self {
        Self {
            header_read_timeout: Duration::from_secs(10),
            max_connections: 256,
            shutdown_grace: Duration::from_secs(10),
        }
    }
}

/// Whether `PUT /api/v1/policy` publishes at once, or policy changes go through governance
/// approvals (seed 004) only. Policy files and the embedding API stay the operator's either way.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PolicyPublish {
    /// For bootstrap and the demo.
    #[default]
    Direct,
    /// Production: a change is a draft another reviewer approves.
    ApprovalRequired,
}

/// What the dispatch-time gate does when the policy engine cannot answer
/// (`policy_check_fail_mode`, Cordum's `POLICY_CHECK_FAIL_MODE`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FailMode {
    /// Requeue with backoff: nothing is dispatched unchecked.
    Closed,
    /// Dispatch without the check and count it (`cordum_scheduler_input_fail_open_total`).
    Open,
}

impl FailMode {
    /// The mode's name as configured and reported.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Closed => "closed",
            Self::Open => "open",
        }
    }
}

/// The circuit breaker on policy-engine calls.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BreakerConfig {
    /// Consecutive failed calls that open it.
    pub failures: u32,
    /// How long it stays open before letting probes through.
    pub open_for: Duration,
    /// Calls admitted while half-open; this many successes in a row close it again.
    pub half_open_probes: u32,
}

impl Default for BreakerConfig {
    fn default() -> Self {
        Self {
            failures: 3,
            open_for: Duration::from_secs(30),
            half_open_probes: 3,
        }
    }
}

/// The dispatch-time gate, its policy-engine client and the scheduler's retries (seed 003's
/// values are the defaults).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DispatchConfig {
    /// The fail mode of jobs whose `env` label has no entry in [`Self::fail_mode_by_env`].
    pub policy_check_fail_mode: FailMode,
    /// Fail modes by the job's `env` label (seed 004: `development` stays non-blocking,
    /// `staging` and `production` fail closed); these win over the default.
    pub fail_mode_by_env: BTreeMap<String, FailMode>,
    /// Scheduling attempts before a job fails with `scheduling_retries_exhausted`.
    pub max_scheduling_attempts: u32,
    /// The first retry's delay; each further retry doubles it, up to [`Self::backoff_max`].
    pub backoff_base: Duration,
    pub backoff_max: Duration,
    /// How long the gateway waits for one policy-engine answer (the safety client's 2 s).
    pub call_timeout: Duration,
    /// How long the engine itself works on one call before giving up (its 3 s defence).
    pub engine_timeout: Duration,
    pub breaker: BreakerConfig,
    /// How often the pending replayer looks for dispatchable jobs the dispatcher does not hold.
    pub replay_every: Duration,
    /// How often the dispatcher looks for jobs whose retry is due (it is also woken at once
    /// by approvals and allowed submits).
    pub tick: Duration,
    /// Whether admins may switch the simulated policy engine and workers over HTTP. Off by
    /// default: the switches are gateway-wide, so one tenant's admin could stall every
    /// tenant's dispatch. The demo and the tests turn them on.
    pub simulation_controls: bool,
}

impl Default for DispatchConfig {
    fn default() -> Self {
        Self {
            policy_check_fail_mode: FailMode::Closed,
            fail_mode_by_env: [
                ("development", FailMode::Open),
                ("staging", FailMode::Closed),
                ("production", FailMode::Closed),
            ]
            .into_iter()
            .map(|(env, mode)| (env.to_owned(), mode))
            .collect(),
            max_scheduling_attempts: 50,
            backoff_base: Duration::from_secs(1),
            backoff_max: Duration::from_secs(30),
            call_timeout: Duration::from_secs(2),
            engine_timeout: Duration::from_secs(3),
            breaker: BreakerConfig::default(),
            replay_every: Duration::from_secs(10),
            tick: Duration::from_millis(250),
            simulation_controls: false,
        }
    }
}

impl DispatchConfig {
    /// The fail mode of a job with these policy labels.
    pub fn fail_mode_for(&self, labels: &BTreeMap<String, String>) -> FailMode {
        labels
            .get("env")
            .and_then(|env| self.fail_mode_by_env.get(env.trim()))
            .copied()
            .unwrap_or(self.policy_check_fail_mode)
    }

    /// The delay before retry number `attempt` (1-based): `base * 2^(attempt-1)`, capped.
    pub fn backoff(&self, attempt: u32) -> Duration {
        let factor = 1u32
            .checked_shl(attempt.saturating_sub(1))
            .unwrap_or(u32::MAX);
        self.backoff_base
            .checked_mul(factor)
            .unwrap_or(self.backoff_max)
            .min(self.backoff_max)
    }
}

/// Everything [`crate::start`] needs.
#[derive(Debug, Clone)]
pub struct GatewayConfig {
    /// Address to bind; port 0 picks a free port (see [`crate::RunningGateway::addr`]).
    pub listen: SocketAddr,
    /// The SQLite database file.
    pub data: PathBuf,
    /// A policy file that is loaded at start and watched for changes; it governs every
    /// tenant without a file of its own in [`Self::tenant_policy_files`].
    pub policy_file: Option<PathBuf>,
    /// Policy files of single tenants, loaded and watched like [`Self::policy_file`].
    pub tenant_policy_files: BTreeMap<String, PathBuf>,
    /// How often the policy file's modification time is checked.
    pub policy_poll: Duration,
    /// API keys and password users.
    pub credentials: Credentials,
    /// `Retry-After` seconds for throttled submits; part of the snapshot's config overlay.
    pub throttle_retry_after_s: u64,
    /// How long approve/reject wait for the per-job lock before answering 409 retryable.
    pub lock_wait: Duration,
    /// How often pending items whose deadline passed are expired (listing and deciding also
    /// expire them first, so this only decides how soon event streams hear of it).
    pub expiry_sweep: Duration,
    /// What an agent may submit.
    pub submit_limits: SubmitLimits,
    /// Login rate limits, password hashing and the auth-failure log.
    pub auth_limits: AuthLimits,
    /// Cookie-authenticated writes.
    pub cookies: CookiePolicy,
    /// Event stream bounds.
    pub stream_limits: StreamLimits,
    /// HTTP connection bounds.
    pub connection_limits: ConnectionLimits,
    /// The dispatch-time gate and the scheduler.
    pub dispatch: DispatchConfig,
    /// Whether `PUT /api/v1/policy` is open (`policy_publish`).
    pub policy_publish: PolicyPublish,
    /// Time source.
    pub clock: Arc<dyn Clock>,
}

impl GatewayConfig {
    /// A configuration with the documented defaults and no credentials.
    pub fn new(listen: SocketAddr, data: PathBuf) -> Self {
        Self {
            listen,
            data,
            policy_file: None,
            tenant_policy_files: BTreeMap::new(),
            policy_poll: Duration::from_secs(2),
            credentials: Credentials::default(),
            throttle_retry_after_s: 30,
            lock_wait: Duration::from_secs(2),
            expiry_sweep: Duration::from_secs(1),
            submit_limits: SubmitLimits::default(),
            auth_limits: AuthLimits::default(),
            cookies: CookiePolicy::default(),
            stream_limits: StreamLimits::default(),
            connection_limits: ConnectionLimits::default(),
            dispatch: DispatchConfig::default(),
            policy_publish: PolicyPublish::Direct,
            clock: Arc::new(SystemClock),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn env_value_parses_and_rejects() {
        let c = Credentials::from_env_value("default:k1:agent:bot, acme:k2:Operator:alice,")
            .expect("valid");
        assert_eq!(c.keys.len(), 2);
        assert_eq!(c.keys[1].role, Role::Operator);
        assert!(Credentials::from_env_value("default:k1:agent").is_err());
        assert!(Credentials::from_env_value("default:k1:king:bob").is_err());
    }

    #[test]
    fn environment_labels_override_the_default_fail_mode() {
        let mut config = DispatchConfig::default();
        let env = |e: &str| BTreeMap::from([("env".to_owned(), e.to_owned())]);
        assert_eq!(config.fail_mode_for(&env("development")), FailMode::Open);
        assert_eq!(config.fail_mode_for(&env("production")), FailMode::Closed);
        assert_eq!(config.fail_mode_for(&BTreeMap::new()), FailMode::Closed);
        config.policy_check_fail_mode = FailMode::Open;
        assert_eq!(config.fail_mode_for(&env("staging")), FailMode::Closed);
        assert_eq!(config.fail_mode_for(&env("qa")), FailMode::Open);
    }

    #[test]
    fn backoff_doubles_up_to_its_cap_and_fifty_attempts_take_about_25_minutes() {
        let config = DispatchConfig::default();
        assert_eq!(config.backoff(1), Duration::from_secs(1));
        assert_eq!(config.backoff(3), Duration::from_secs(4));
        assert_eq!(config.backoff(6), Duration::from_secs(30));
        assert_eq!(config.backoff(u32::MAX), Duration::from_secs(30));
        let total: Duration = (1..config.max_scheduling_attempts)
            .map(|a| config.backoff(a))
            .sum();
        assert!((20 * 60..=26 * 60).contains(&total.as_secs()), "{total:?}");
    }

    #[test]
    fn roles_grant_documented_permissions() {
        assert!(Role::Operator.can(Permission::JobsApprove));
        assert!(!Role::Agent.can(Permission::JobsApprove));
        assert!(!Role::Viewer.can(Permission::JobsApprove));
        assert!(Role::Agent.can(Permission::JobsWrite));
        assert!(!Role::Operator.can(Permission::PolicyWrite));
        assert!(!Role::Agent.can(Permission::AuditRead));
    }
}
