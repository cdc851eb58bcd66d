//! The policy engine as a component of its own (Cordum's safety kernel): the dispatch-time
//! gate and `POST /api/v1/policy/simulate` ask it through [`PolicyClient`], which bounds every
//! call with a timeout and a circuit breaker. The engine behind the [`PolicyEngine`] trait is
//! simulated in-process, and its behaviour can be switched at runtime (healthy, slow, failing,
//! down) so that outages in tests and in the demo are real events the gateway lives through,
//! not mocks of its own code.
//!
//! The submit-time gate stays a direct evaluation: it runs under the publish lock and must
//! answer the agent at once, as before.

mod breaker;

use std::collections::BTreeMap;
use std::fmt;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::Arc;
use std::time::Duration;

use futures_util::future::BoxFuture;
use serde::{Deserialize, Serialize};
use thiserror::Error;

pub use breaker::{BreakerState, BreakerView, Transition};

use crate::clock::Clock;
use crate::config::DispatchConfig;
use crate::policy::{Evaluation, Policy, Subject};

/// One evaluation asked of the engine: the tenant's published policy bundle (the engine
/// evaluates what the gateway published, as the safety kernel loads the published bundle) and
/// what the job looks like.
#[derive(Debug, Clone)]
pub struct EngineCall {
    pub policy: Arc<Policy>,
    pub topic: String,
    pub labels: BTreeMap<String, String>,
}

/// Why the engine gave no verdict. Every variant counts as a failure for the breaker and
/// makes the fail mode decide.
#[derive(Debug, Clone, Error, PartialEq, Eq)]
pub enum EngineError {
    /// No answer within the client's call timeout.
    #[error("policy engine timed out after {0:?}")]
    Timeout(Duration),
    /// The engine answered with an error.
    #[error("policy engine error: {0}")]
    Failed(String),
    /// The engine could not be reached.
    #[error("policy engine unreachable: {0}")]
    Unreachable(String),
    /// The breaker is open (or half-open with its probes taken): the call was not made.
    #[error("policy engine circuit open")]
    CircuitOpen,
}

impl EngineError {
    /// A stable machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Timeout(_) => "engine_timeout",
            Self::Failed(_) => "engine_failed",
            Self::Unreachable(_) => "engine_unreachable",
            Self::CircuitOpen => "engine_circuit_open",
        }
    }
}

/// Something that evaluates policy.
pub trait PolicyEngine: Send + Sync + fmt::Debug {
    fn evaluate(&self, call: EngineCall) -> BoxFuture<'_, Result<Evaluation, EngineError>>;
}

/// How the simulated engine behaves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EngineMode {
    /// Answers at once.
    Healthy,
    /// Works until its own defence timeout and then fails, so the client's shorter timeout
    /// fires first (the overloaded kernel).
    Slow,
    /// Answers with an error at once.
    Failing,
    /// Refuses the connection.
    Down,
}

impl EngineMode {
    const ALL: [Self; 4] = [Self::Healthy, Self::Slow, Self::Failing, Self::Down];

    fn index(self) -> u8 {
        match self {
            Self::Healthy => 0,
            Self::Slow => 1,
            Self::Failing => 2,
            Self::Down => 3,
        }
    }
}

/// The in-process engine whose behaviour tests and the demo switch.
#[derive(Debug)]
pub struct SimulatedEngine {
    mode: AtomicU8,
    engine_timeout: Duration,
}

impl SimulatedEngine {
    pub fn new(engine_timeout: Duration) -> Self {
        Self {
            mode: AtomicU8::new(EngineMode::Healthy.index()),
            engine_timeout,
        }
    }

    pub fn mode(&self) -> EngineMode {
        let index = self.mode.load(Ordering::SeqCst);
        EngineMode::ALL
            .into_iter()
            .find(|m| m.index() == index)
            .unwrap_or(EngineMode::Healthy)
    }

    pub fn set_mode(&self, mode: EngineMode) {
        self.mode.store(mode.index(), Ordering::SeqCst);
    }
}

impl PolicyEngine for SimulatedEngine {
    fn evaluate(&self, call: EngineCall) -> BoxFuture<'_, Result<Evaluation, EngineError>> {
        let mode = self.mode();
        Box::pin(async move {
            match mode {
                EngineMode::Healthy => Ok(call.policy.evaluate(Subject {
                    topic: &call.topic,
                    labels: &call.labels,
                })),
                EngineMode::Slow => {
                    tokio::time::sleep(self.engine_timeout).await;
                    Err(EngineError::Failed("evaluation deadline exceeded".into()))
                }
                EngineMode::Failing => Err(EngineError::Failed("internal error".into())),
                EngineMode::Down => Err(EngineError::Unreachable("connection refused".into())),
            }
        })
    }
}

/// The gateway's client of the engine: call timeout plus circuit breaker.
#[derive(Debug)]
pub struct PolicyClient {
    engine: Arc<dyn PolicyEngine>,
    breaker: breaker::Breaker,
    call_timeout: Duration,
    clock: Arc<dyn Clock>,
}

/// A call's verdict and the breaker transition it caused, if any (for metrics and logs).
#[derive(Debug)]
pub struct Checked {
    pub result: Result<Evaluation, EngineError>,
    pub transition: Option<Transition>,
}

impl PolicyClient {
    pub fn new(
        engine: Arc<dyn PolicyEngine>,
        config: &DispatchConfig,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self {
            engine,
            breaker: breaker::Breaker::new(config.breaker.clone()),
            call_timeout: config.call_timeout,
            clock,
        }
    }

    /// Asks the engine, unless the breaker refuses the call.
    pub async fn check(&self, call: EngineCall) -> Checked {
        let admitted = self.breaker.admit(self.clock.now_us());
        let Some(ticket) = admitted.ticket else {
            return Checked {
                result: Err(EngineError::CircuitOpen),
                transition: admitted.transition,
            };
        };
        let result = match tokio::time::timeout(self.call_timeout, self.engine.evaluate(call)).await
        {
            Ok(answer) => answer,
            Err(_) => Err(EngineError::Timeout(self.call_timeout)),
        };
        let finished = self
            .breaker
            .finish(ticket, result.is_ok(), self.clock.now_us());
        Checked {
            result,
            transition: finished.or(admitted.transition),
        }
    }

    /// The breaker as `/health` and the metrics show it.
    pub fn breaker(&self) -> BreakerView {
        self.breaker.view(self.clock.now_us())
    }
}
