//! Operations around the dispatcher: the simulation switches (engine mode, worker modes), the
//! health detail, the metrics text and the policy simulation.

use std::collections::BTreeMap;

use axum::http::StatusCode;
use serde::Deserialize;
use serde_json::{json, Value};

use super::Gateway;
use crate::apierror::ApiError;
use crate::engine::{EngineCall, EngineMode};
use crate::error::GatewayError;
use crate::store::jobs;
use crate::workers::WorkerMode;

/// The body of `POST /api/v1/policy/simulate`: what a job would look like.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct SimulateBody {
    pub topic: String,
    /// When sent, it must be the caller's tenant.
    pub tenant: String,
    pub labels: BTreeMap<String, String>,
}

impl Gateway {
    /// The simulated policy engine's mode.
    pub fn engine_mode(&self) -> EngineMode {
        self.inner.engine.mode()
    }

    /// Switches the simulated policy engine (an outage begins or ends).
    pub fn set_engine_mode(&self, mode: EngineMode) {
        let was = self.inner.engine.mode();
        self.inner.engine.set_mode(mode);
        if was != mode {
            tracing::warn!(?was, now = ?mode, "policy engine mode switched");
        }
    }

    /// Sets how the workers of a topic (`*`: every other topic) behave.
    pub fn set_worker_mode(&self, topic: &str, mode: WorkerMode) {
        self.inner.workers.set(topic, mode);
        // Jobs that waited for a worker may go now.
        self.inner.queue.wake_now();
    }

    /// Every worker setting.
    pub fn worker_modes(&self) -> BTreeMap<String, WorkerMode> {
        self.inner.workers.modes()
    }

    /// Whether the simulation switches are served over HTTP.
    pub fn simulation_controls(&self) -> bool {
        self.inner.dispatch.simulation_controls
    }

    /// The engine and the breaker, as `/health?detail=true` and the admin endpoint show them.
    pub fn engine_status(&self) -> Value {
        json!({
            "mode": self.engine_mode(),
            "breaker": self.inner.policy_client.breaker(),
        })
    }

    /// `/health?detail=true`: no tenant data, only the gateway's own machinery.
    pub fn health_detail(&self) -> Value {
        json!({
            "status": "ok",
            "policy_engine": self.engine_status(),
            "dispatcher": {
                "queued": self.inner.queue.len(),
                "policy_check_fail_mode": self.inner.dispatch.policy_check_fail_mode.as_str(),
                "fail_mode_by_env": self.inner.dispatch.fail_mode_by_env,
                "max_scheduling_attempts": self.inner.dispatch.max_scheduling_attempts,
            },
            "workers": self.worker_modes(),
        })
    }

    /// The metrics in Prometheus' text format.
    pub async fn metrics_text(&self) -> Result<String, GatewayError> {
        let created = self
            .store()
            .run(|c| Ok::<_, GatewayError>(jobs::pending_created(&c.db)?))
            .await?;
        let now = self.now_us();
        let ages: Vec<i64> = created
            .iter()
            .map(|&t| now.saturating_sub(t).max(0) / 1_000_000)
            .collect();
        self.inner
            .metrics
            .breaker(self.inner.policy_client.breaker().state, None);
        Ok(self.inner.metrics.render(&ages))
    }

    /// Scheduling attempts before a job fails.
    pub fn max_scheduling_attempts(&self) -> u32 {
        self.inner.dispatch.max_scheduling_attempts
    }

    pub(crate) fn metrics(&self) -> &crate::metrics::Metrics {
        &self.inner.metrics
    }

    /// The decision a job of `body`'s topic and labels would get under the tenant's current
    /// policy, asked of the policy engine like the dispatch-time gate asks it (so it fails
    /// with 503 while the engine is unavailable).
    pub async fn simulate(&self, tenant: &str, body: SimulateBody) -> Result<Value, ApiError> {
        if !body.tenant.is_empty() && body.tenant != tenant {
            return Err(ApiError::tenant_denied());
        }
        let topic = body.topic.trim();
        if topic.is_empty() {
            return Err(ApiError::legacy(
                StatusCode::BAD_REQUEST,
                "topic is required",
            ));
        }
        crate::request::check_topic(topic)
            .map_err(|msg| ApiError::legacy(StatusCode::BAD_REQUEST, msg))?;
        let (policy, snapshot) = self.current_policy(tenant);
        let checked = self
            .inner
            .policy_client
            .check(EngineCall {
                policy,
                topic: topic.to_owned(),
                labels: body.labels,
            })
            .await;
        self.inner
            .metrics
            .breaker(self.inner.policy_client.breaker().state, checked.transition);
        let eval = checked.result.map_err(|e| {
            let mut err = ApiError::legacy(StatusCode::SERVICE_UNAVAILABLE, e.to_string());
            err.body.insert("code".into(), json!(e.code()));
            err
        })?;
        Ok(json!({
            "topic": topic,
            "decision": eval.decision.wire_name(),
            "rule_id": eval.rule_id,
            "reason": eval.reason,
            "constraints": eval.constraints,
            "policy_snapshot": snapshot,
        }))
    }
}
