//! The gateway's behaviour, independent of HTTP: submit with its policy gate, approve and
//! reject with their integrity checks, policy publishing with the re-evaluation of pending
//! approvals, sessions, and the hooks the demo and tests use. [`Gateway`] is a cheap handle;
//! clone it freely.

mod authlog;
mod decide;
mod dispatcher;
mod expiry;
mod gate;
mod governance;
mod locks;
mod ops;
mod policy;
mod ratelimit;
mod reevaluate;
mod session;
mod streams;
mod submit;
mod worker;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use countersign_core::jobrequest::JobRequest;
use serde_json::Value;
use tokio::sync::watch;

pub(crate) use authlog::{Attempt, FailureKind};
pub use decide::{DecisionBody, Verb};
pub use dispatcher::{run_dispatcher, run_replayer};
pub use expiry::{sweep_expired, APPROVAL_EXPIRED};
pub use gate::{RETRIES_EXHAUSTED, WAIT_ENGINE};
pub use governance::Refusal as GovernanceRefusal;
pub use ops::SimulateBody;
pub use policy::PolicyScope;
pub use ratelimit::Slot as StreamSlot;
pub use session::LoginBody;
pub use streams::{fan_out_events, EventReads};
pub use submit::SubmitOutcome;
pub use worker::{Delivery, WORKER_FAILED};

use crate::auth::AuthBook;
use crate::clock::{rfc3339_us, Clock};
use crate::config::GatewayConfig;
use crate::error::GatewayError;
use crate::store::audit::AuditEvent;
use crate::store::{self, jobs, Store};

/// A handle on a gateway's state.
#[derive(Debug, Clone)]
pub struct Gateway {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    store: Arc<Store>,
    auth: AuthBook,
    clock: Arc<dyn Clock>,
    policy: RwLock<policy::PolicyState>,
    /// Publishers hold it exclusively, so that "is it new?", "store it" and "re-evaluate the
    /// pending items" cannot interleave. Submits hold it shared from evaluation to commit (so a
    /// new item cannot miss the re-evaluation of the policy it was not decided under), and
    /// approve and reject from reading the job to the commit (so no decision is made on a row
    /// a publish is rewriting, and no policy changes between a drift check and its approval).
    publish: tokio::sync::RwLock<()>,
    /// The policy file of every tenant without one of its own.
    policy_file: Option<PathBuf>,
    /// Tenants' own policy files.
    tenant_policy_files: BTreeMap<String, PathBuf>,
    locks: locks::JobLocks,
    lock_wait: Duration,
    retry_after_s: u64,
    submit_limits: crate::config::SubmitLimits,
    auth_limits: crate::config::AuthLimits,
    cookies: crate::config::CookiePolicy,
    policy_publish: crate::config::PolicyPublish,
    stream_limits: crate::config::StreamLimits,
    /// Open event streams per principal.
    stream_slots: ratelimit::Slots,
    /// Database reads behind the streams (see `streams::EventReads`).
    event_reads: streams::ReadCounters,
    /// Every new event, read once (see `streams`).
    fanout: tokio::sync::broadcast::Sender<Arc<crate::store::events::StoredEvent>>,
    /// Failed logins per username and per source address.
    login_users: ratelimit::FailureLimiter,
    login_sources: ratelimit::FailureLimiter,
    /// Auth-failure log rows per source address.
    auth_log_sources: ratelimit::FailureLimiter,
    /// Bounds the password hashes computed at once (argon2's memory is the cost).
    password_hashing: ratelimit::WorkGate,
    /// The newest event id; SSE streams wait for it to change.
    events: watch::Sender<i64>,
    /// Bumped whenever a session ends, so that streams opened with one check it at once.
    sessions_ended: watch::Sender<u64>,
    /// Set on shutdown so that open event streams end and the server can drain.
    closing: watch::Sender<bool>,
    dispatch: crate::config::DispatchConfig,
    /// The simulated policy engine (its mode is switched at runtime) and the client every
    /// dispatch-time check goes through.
    engine: Arc<crate::engine::SimulatedEngine>,
    policy_client: crate::engine::PolicyClient,
    workers: crate::workers::WorkerPool,
    metrics: crate::metrics::Metrics,
    /// Jobs waiting for the dispatcher (see `dispatcher`).
    queue: dispatcher::Queue,
}

impl Gateway {
    /// Opens the database and loads the current policy (publishing the policy file if it
    /// differs from what is stored).
    pub async fn open(config: &GatewayConfig) -> Result<Self, GatewayError> {
        let store = Store::open(&config.data)?;
        let last_event = store
            .run(|c| Ok::<_, GatewayError>(store::events::last_id(&c.db)?))
            .await?;
        let overlay =
            serde_json::json!({ "throttle_retry_after_s": config.throttle_retry_after_s });
        let auth = AuthBook::new(&config.credentials);
        let tenants = policy::configured_tenants(auth.tenants(), &config.tenant_policy_files);
        let engine = Arc::new(crate::engine::SimulatedEngine::new(
            config.dispatch.engine_timeout,
        ));
        let policy_client = crate::engine::PolicyClient::new(
            Arc::clone(&engine) as Arc<dyn crate::engine::PolicyEngine>,
            &config.dispatch,
            Arc::clone(&config.clock),
        );
        let state =
            policy::PolicyState::load(&store, tenants, overlay.clone(), config.clock.now_us())
                .await?;
        let gateway = Self {
            inner: Arc::new(Inner {
                store,
                auth,
                clock: Arc::clone(&config.clock),
                policy: RwLock::new(state),
                publish: tokio::sync::RwLock::new(()),
                policy_file: config.policy_file.clone(),
                tenant_policy_files: config.tenant_policy_files.clone(),
                locks: locks::JobLocks::default(),
                lock_wait: config.lock_wait,
                retry_after_s: config.throttle_retry_after_s,
                submit_limits: config.submit_limits.clone(),
                auth_limits: config.auth_limits.clone(),
                cookies: config.cookies.clone(),
                policy_publish: config.policy_publish,
                stream_limits: config.stream_limits.clone(),
                stream_slots: ratelimit::Slots::default(),
                event_reads: streams::ReadCounters::default(),
                fanout: tokio::sync::broadcast::channel(streams::FANOUT_CAPACITY).0,
                login_users: ratelimit::FailureLimiter::new(
                    config.auth_limits.login_failures_per_user,
                    config.auth_limits.login_window,
                    config.auth_limits.tracked_keys,
                ),
                login_sources: ratelimit::FailureLimiter::new(
                    config.auth_limits.login_failures_per_source,
                    config.auth_limits.login_window,
                    config.auth_limits.tracked_keys,
                ),
                auth_log_sources: ratelimit::FailureLimiter::new(
                    config.auth_limits.auth_log_per_source,
                    config.auth_limits.auth_log_window,
                    config.auth_limits.tracked_keys,
                ),
                password_hashing: ratelimit::WorkGate::new(
                    config.auth_limits.password_hash_concurrency,
                ),
                events: watch::channel(last_event).0,
                sessions_ended: watch::channel(0).0,
                closing: watch::channel(false).0,
                dispatch: config.dispatch.clone(),
                engine,
                policy_client,
                workers: crate::workers::WorkerPool::default(),
                metrics: crate::metrics::Metrics::default(),
                queue: dispatcher::Queue::default(),
            }),
        };
        gateway.publish_overlay(overlay, "config").await?;
        gateway.reload_policy_files().await?;
        gateway.reevaluate_stale().await?;
        Ok(gateway)
    }

    /// The database.
    pub fn store(&self) -> &Arc<Store> {
        &self.inner.store
    }

    /// The configured credentials.
    pub fn auth(&self) -> &AuthBook {
        &self.inner.auth
    }

    /// Whether `PUT /api/v1/policy` publishes at once.
    pub fn policy_publish(&self) -> crate::config::PolicyPublish {
        self.inner.policy_publish
    }

    /// What cookie-authenticated requests must show.
    pub fn cookie_policy(&self) -> &crate::config::CookiePolicy {
        &self.inner.cookies
    }

    /// Microseconds now, from the injected clock.
    pub fn now_us(&self) -> i64 {
        self.inner.clock.now_us()
    }

    /// Ends open event streams (called on shutdown).
    pub fn close(&self) {
        self.inner.closing.send_replace(true);
    }

    /// A receiver that changes whenever a session ends.
    pub(crate) fn sessions_ended(&self) -> watch::Receiver<u64> {
        self.inner.sessions_ended.subscribe()
    }

    fn announce_session_end(&self) {
        self.inner
            .sessions_ended
            .send_modify(|n| *n = n.wrapping_add(1));
    }

    pub(crate) fn closing(&self) -> watch::Receiver<bool> {
        self.inner.closing.subscribe()
    }

    /// A receiver that changes whenever an event is appended.
    pub(crate) fn subscribe_events(&self) -> watch::Receiver<i64> {
        self.inner.events.subscribe()
    }

    fn notify_events(&self, last_id: Option<i64>) {
        if let Some(id) = last_id {
            self.inner.events.send_if_modified(|cur| {
                let newer = id > *cur;
                if newer {
                    *cur = id;
                }
                newer
            });
        }
    }

    /// A fresh audit event stamped now.
    fn audit_event(&self, tenant: &str, event_type: &str, action: &str) -> AuditEvent {
        stamped_audit_event(self.now_us(), tenant, event_type, action)
    }

    /// Replaces a stored job request without updating its recorded hash: the tamper hook the
    /// demo uses to show `approval_stale_request`, and tests use to exercise it.
    pub async fn mutate_stored_request<F>(
        &self,
        job_id: &str,
        mutate: F,
    ) -> Result<(), GatewayError>
    where
        F: FnOnce(&mut JobRequest) + Send + 'static,
    {
        let id = job_id.to_owned();
        self.store()
            .run(move |c| {
                let job = jobs::get(&c.db, &id)?.ok_or(GatewayError::JobNotFound)?;
                let mut req = crate::request::decode(&job.request)?;
                mutate(&mut req);
                jobs::set_request(&c.db, &id, &req.to_protojson())?;
                Ok(())
            })
            .await
    }

    /// Replaces a stored job's submitted context (its payload) behind its pointer, as an
    /// attacker with access to the store would: the tamper hook for showing and testing
    /// that a changed payload no longer matches the content-addressed `context_ptr`.
    pub async fn mutate_stored_context<F>(
        &self,
        job_id: &str,
        mutate: F,
    ) -> Result<(), GatewayError>
    where
        F: FnOnce(&mut Value) + Send + 'static,
    {
        let id = job_id.to_owned();
        self.store()
            .run(move |c| {
                let mut job = jobs::get(&c.db, &id)?.ok_or(GatewayError::JobNotFound)?;
                mutate(&mut job.context);
                jobs::set_context(&c.db, &id, &job.context)?;
                Ok(())
            })
            .await
    }

    /// Takes the job's decision lock and keeps it until the guard is dropped; approve and
    /// reject of that job meanwhile wait and then answer the retryable 409. For tools that
    /// must freeze a job briefly, and for tests of the lock-busy answer.
    pub async fn hold_decision_lock(
        &self,
        job_id: &str,
    ) -> Option<tokio::sync::OwnedMutexGuard<()>> {
        self.inner.locks.acquire(job_id, self.inner.lock_wait).await
    }

    /// How many times a job was dispatched (0 or 1).
    pub async fn dispatch_count(&self, job_id: &str) -> Result<i64, GatewayError> {
        let id = job_id.to_owned();
        self.store()
            .run(move |c| Ok(crate::dispatch::count(&c.db, &id)?))
            .await
    }

    /// Ids of a tenant's pending approvals, newest first.
    pub async fn pending_job_ids(
        &self,
        tenant: &str,
        limit: usize,
    ) -> Result<Vec<String>, GatewayError> {
        let tenant = tenant.to_owned();
        self.store()
            .run(move |c| Ok(jobs::pending_ids(&c.db, &tenant, limit)?))
            .await
    }
}

/// An audit event stamped at `now_us`, for code that has a time but no gateway at hand.
fn stamped_audit_event(now_us: i64, tenant: &str, event_type: &str, action: &str) -> AuditEvent {
    AuditEvent {
        timestamp: rfc3339_us(now_us),
        event_type: event_type.into(),
        severity: "INFO".into(),
        tenant_id: tenant.into(),
        action: action.into(),
        ..AuditEvent::default()
    }
}
