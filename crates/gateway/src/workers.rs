//! The simulated worker pool the dispatcher routes to. Per topic, workers accept the job,
//! fail it, or are absent (no worker subscribes to the topic, so the job waits and is
//! retried). Switched at runtime by tests and tools; every topic without a setting of its own
//! has the default (accept).

use std::collections::BTreeMap;
use std::sync::RwLock;

use serde::{Deserialize, Serialize};

/// How the workers of a topic behave.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum WorkerMode {
    /// Runs the job and its side effect.
    Accept,
    /// Takes the job and reports a failure.
    Fail,
    /// No worker serves the topic.
    Absent,
}

/// The topic that stands for "every topic without a setting".
pub const ANY_TOPIC: &str = "*";

#[derive(Debug)]
pub struct WorkerPool {
    modes: RwLock<BTreeMap<String, WorkerMode>>,
}

impl Default for WorkerPool {
    fn default() -> Self {
        Self {
            modes: RwLock::new(BTreeMap::from([(ANY_TOPIC.to_owned(), WorkerMode::Accept)])),
        }
    }
}

impl WorkerPool {
    /// The mode of `topic`'s workers.
    pub fn mode(&self, topic: &str) -> WorkerMode {
        let modes = self.modes.read().unwrap_or_else(|p| p.into_inner());
        modes
            .get(topic)
            .or_else(|| modes.get(ANY_TOPIC))
            .copied()
            .unwrap_or(WorkerMode::Accept)
    }

    /// Sets a topic's mode (`*`: the default).
    pub fn set(&self, topic: &str, mode: WorkerMode) {
        self.modes
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .insert(topic.to_owned(), mode);
    }

    /// Every setting.
    pub fn modes(&self) -> BTreeMap<String, WorkerMode> {
        self.modes.read().unwrap_or_else(|p| p.into_inner()).clone()
    }
}
