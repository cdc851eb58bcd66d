//! Demo traffic: simulated agents that submit a realistic mix of jobs through the same code
//! path as `POST /api/v1/jobs`, now and then publish a changed policy (so pending approvals
//! are re-evaluated: refreshed or invalidated), tamper with a pending request (so `approval_stale_request` can be seen), and
//! now and then take the policy engine down for a few steps, so approvals made meanwhile are
//! seen waiting at the dispatch-time gate and then dispatched.
//!
//! Randomness comes from a seeded generator and time from the gateway's clock, so a test can
//! drive [`DemoDriver::step`] deterministically; [`DemoTraffic::spawn`] runs it on a timer.

use std::time::Duration;

use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use tokio::task::JoinHandle;

use crate::engine::EngineMode;
use crate::error::GatewayError;
use crate::service::Gateway;

pub use credentials::{DemoAgents, DemoCredentials, DEMO_TENANT, SIMULATED_AGENTS};

mod credentials;
mod jobs;

/// The demo's policy, in the seeds' format.
pub const DEMO_POLICY: &str = r#"version: v1
rules:
  - id: deny-prod-public-ingress
    when: { topic: infra.security_group.update, env: production, cidr: "0.0.0.0/0" }
    decision: deny
    reason: Public ingress to production is not allowed.
  - id: require-approval-prod-delete
    when: { topic: infra.resource.delete, env: production }
    decision: require_human
    reason: Deleting production resources needs a human.
  - id: throttle-bulk-recreate
    when: { topic: infra.cluster.recreate, env: production }
    decision: throttle
    reason: Bulk cluster recreation is rate limited.
  - id: require-approval-prod-finance
    when: { topic: finance.payment.execute, env: production }
    decision: require_human
    reason: Production payments need a human.
    constraints: { budgets: { max_retries: 1, max_runtime_ms: 60000 } }
  - id: require-approval-external-notify
    when: { topic: customer.notify, channel: external }
    decision: require_human
    reason: Messages to customers need a human.
  - id: require-approval-incident-remediation
    when: { topic: incident.remediate, env: production }
    decision: require_human
    reason: prod write detected
    constraints: { max_lines_changed: 500, max_runtime_sec: 900 }
  - id: allow-readonly
    when: { topic: knowledge.read }
    decision: allow
"#;

/// The tightened variant the demo alternates with: external customer messages become denied,
/// so publishing it invalidates the pending ones while payments are merely refreshed.
fn tightened_policy() -> String {
    DEMO_POLICY.replace(
        "    decision: require_human\n    reason: Messages to customers need a human.",
        "    decision: deny\n    reason: Customer messaging is frozen during the incident.",
    )
}

/// The demo's policy author: an admin who is not a demo reviewer, so the reviewer can
/// countersign the drafts.
pub const POLICY_BOT: &str = "policy-bot";

/// How the demo behaves.
#[derive(Debug, Clone)]
pub struct DemoConfig {
    /// Seed of the random generator.
    pub seed: u64,
    /// Time between two steps when spawned.
    pub interval: Duration,
    /// Every this many steps a changed policy is published directly (0: never).
    pub publish_every: u64,
    /// At step 5 and then every this many steps, `policy-bot` proposes the other policy as a
    /// draft for a reviewer to countersign (0: never); an open draft the current policy
    /// outdated is saved again against it.
    pub propose_every: u64,
    /// Every this many steps a pending request is tampered with (0: never).
    pub mutate_every: u64,
    /// Every this many steps the payload behind a pending request is replaced (0: never), so a
    /// content refusal can be seen: the job hash stays, what the card shows does not.
    pub tamper_payload_every: u64,
    /// Every this many steps the policy engine goes down (0: never) ...
    pub outage_every: u64,
    /// ... for this many steps; jobs approved meanwhile wait (closed mode) and then dispatch.
    pub outage_steps: u64,
    /// Steps taken at the start with only [`WARMUP_INTERVAL`] between them, so a reviewer who
    /// opens the demo has something to look at within a second or two.
    pub warmup_steps: u64,
}

/// The pause between warm-up steps.
pub const WARMUP_INTERVAL: Duration = Duration::from_millis(300);

impl Default for DemoConfig {
    fn default() -> Self {
        Self {
            seed: 7,
            // About 20 approvals in 5 minutes over four agents: each stays under the
            // notification flood limit (10 from one submitter in 5 minutes), so each item gets
            // its own notification.
            interval: Duration::from_secs(8),
            // Policy changes go through governance approvals: a reviewer countersigns them.
            publish_every: 0,
            propose_every: 9,
            mutate_every: 11,
            tamper_payload_every: 13,
            // About every 2.5 minutes, for about 25 seconds.
            outage_every: 19,
            outage_steps: 3,
            warmup_steps: 4,
        }
    }
}

/// What one step did.
#[derive(Debug, Clone, PartialEq)]
pub enum DemoStep {
    /// A job was submitted; `status` is the HTTP status it got.
    Submitted { topic: String, status: u16 },
    /// A policy snapshot was published.
    Published { snapshot: String },
    /// A policy change was proposed as a draft (or an outdated one saved again).
    Proposed { draft_id: String },
    /// A pending request was changed after submission.
    Mutated { job_id: String },
    /// The payload behind a pending request was replaced.
    PayloadTampered { job_id: String },
    /// The policy engine went down.
    OutageStarted,
    /// The policy engine is healthy again; waiting jobs dispatch on their next attempt.
    OutageEnded,
}

/// Drives the demo one step at a time.
#[derive(Debug)]
pub struct DemoDriver {
    gateway: Gateway,
    agents: DemoAgents,
    config: DemoConfig,
    rng: StdRng,
    steps: u64,
    tightened: bool,
    /// The step the current outage began at.
    outage_since: Option<u64>,
}

impl DemoDriver {
    /// A driver submitting each job as its agent (callers with the `agent`, `workflow` or
    /// `admin` role).
    pub fn new(gateway: Gateway, agents: DemoAgents, config: DemoConfig) -> Self {
        Self {
            rng: StdRng::seed_from_u64(config.seed),
            gateway,
            agents,
            config,
            steps: 0,
            tightened: false,
            outage_since: None,
        }
    }

    /// Publishes the demo policy if the gateway has none with rules yet.
    pub async fn install_policy(&self) -> Result<String, GatewayError> {
        let tenant = self.agents.tenant();
        let current = self.gateway.current_snapshot(tenant);
        match self.gateway.policy_for(tenant, &current) {
            Some(p) if !p.rules.is_empty() => Ok(current),
            _ => {
                self.gateway
                    .publish_tenant_policy(tenant, DEMO_POLICY, "demo")
                    .await
            }
        }
    }

    /// One step: usually a submit, periodically a policy change or a tampered request.
    /// Proposes the policy that is not current, unless a demo draft waits already; `None`
    /// when nothing was proposed.
    async fn propose(&self) -> Result<Option<String>, GatewayError> {
        let tenant = self.agents.tenant();
        let labels = [("channel".to_owned(), "external".to_owned())].into();
        let (verdict, current) = self.gateway.evaluate(
            tenant,
            crate::policy::Subject {
                topic: "customer.notify",
                labels: &labels,
            },
        );
        let (title, yaml) = if verdict.decision == crate::policy::Decision::Deny {
            (
                "Resume customer messaging with a human check",
                DEMO_POLICY.to_owned(),
            )
        } else {
            (
                "Freeze customer messaging during the incident",
                tightened_policy(),
            )
        };
        let open = self
            .gateway
            .drafts(
                tenant,
                Some(countersign_core::governance::DraftStatus::Open),
            )
            .await?;
        if let Some(waiting) = open.iter().find(|d| d.author == POLICY_BOT) {
            if countersign_core::snapshot::same_policy(
                &waiting.active_snapshot.base_snapshot,
                &current,
            ) {
                return Ok(None);
            }
            let saved = self
                .gateway
                .update_draft(tenant, &waiting.draft_id, &yaml, Some(title))
                .await?;
            return Ok(saved.ok().map(|d| d.draft_id));
        }
        let proposed = self
            .gateway
            .propose_draft(tenant, POLICY_BOT, title, &yaml)
            .await?;
        Ok(proposed.ok().map(|d| d.draft_id))
    }

    pub async fn step(&mut self) -> Result<DemoStep, GatewayError> {
        self.steps += 1;
        let every = |n: u64, steps: u64| n > 0 && steps.is_multiple_of(n);
        if let Some(since) = self.outage_since {
            if self.steps.saturating_sub(since) >= self.config.outage_steps {
                self.outage_since = None;
                self.gateway.set_engine_mode(EngineMode::Healthy);
                return Ok(DemoStep::OutageEnded);
            }
        } else if every(self.config.outage_every, self.steps) {
            self.outage_since = Some(self.steps);
            self.gateway.set_engine_mode(EngineMode::Down);
            return Ok(DemoStep::OutageStarted);
        }
        if every(self.config.publish_every, self.steps) {
            self.tightened = !self.tightened;
            let yaml = if self.tightened {
                tightened_policy()
            } else {
                DEMO_POLICY.to_owned()
            };
            let snapshot = self
                .gateway
                .publish_tenant_policy(self.agents.tenant(), &yaml, "demo")
                .await?;
            return Ok(DemoStep::Published { snapshot });
        }
        let proposing = self.config.propose_every > 0
            && (self.steps == 5 || every(self.config.propose_every, self.steps));
        if proposing {
            if let Some(draft_id) = self.propose().await? {
                return Ok(DemoStep::Proposed { draft_id });
            }
        }
        if every(self.config.mutate_every, self.steps) {
            let pending = self
                .gateway
                .pending_job_ids(self.agents.tenant(), 20)
                .await?;
            if !pending.is_empty() {
                let job_id = pending[self.rng.random_range(0..pending.len())].clone();
                self.gateway
                    .mutate_stored_request(&job_id, |req| {
                        req.labels
                            .insert("edited_after_submit".into(), "true".into());
                    })
                    .await?;
                return Ok(DemoStep::Mutated { job_id });
            }
        }
        if every(self.config.tamper_payload_every, self.steps) {
            let pending = self
                .gateway
                .pending_job_ids(self.agents.tenant(), 20)
                .await?;
            if !pending.is_empty() {
                let job_id = pending[self.rng.random_range(0..pending.len())].clone();
                self.gateway
                    .mutate_stored_context(&job_id, |context| {
                        if let Some(object) = context.as_object_mut() {
                            object.insert("amount".into(), 9_800_000.into());
                            object.insert("vendor".into(), "Mallory Holdings".into());
                        } else {
                            *context = serde_json::json!({ "prompt": "rm -rf /" });
                        }
                    })
                    .await?;
                return Ok(DemoStep::PayloadTampered { job_id });
            }
        }
        let body = jobs::next_job(&mut self.rng, self.gateway.now_us());
        let topic = body.topic().to_owned();
        let caller = self.agents.caller_for(&body.principal_id);
        let status = match self.gateway.submit(caller, body, None).await {
            Ok(outcome) => outcome.status.as_u16(),
            Err(refusal) => refusal.status.as_u16(),
        };
        Ok(DemoStep::Submitted { topic, status })
    }
}

/// Demo traffic running in the background.
#[derive(Debug)]
pub struct DemoTraffic {
    task: JoinHandle<()>,
}

impl DemoTraffic {
    /// Installs the demo policy (if the gateway has none) and starts stepping on a timer.
    pub async fn spawn(
        gateway: Gateway,
        agents: DemoAgents,
        config: DemoConfig,
    ) -> Result<Self, GatewayError> {
        let interval = config.interval;
        let warmup = config.warmup_steps;
        let mut driver = DemoDriver::new(gateway, agents, config);
        driver.install_policy().await?;
        let task = tokio::spawn(async move {
            loop {
                match driver.step().await {
                    Ok(step) => tracing::info!(?step, "demo"),
                    Err(e) => tracing::warn!(error = %e, "demo step failed"),
                }
                let pause = if driver.steps < warmup {
                    WARMUP_INTERVAL
                } else {
                    interval
                };
                tokio::time::sleep(pause).await;
            }
        });
        Ok(Self { task })
    }

    /// Stops the traffic.
    pub fn stop(self) {
        self.task.abort();
    }
}

impl Drop for DemoTraffic {
    fn drop(&mut self) {
        self.task.abort();
    }
}
