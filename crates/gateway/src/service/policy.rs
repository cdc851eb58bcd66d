//! The current policy and its publication: from `PUT /api/v1/policy`, the watched policy file,
//! a configuration overlay change, or the demo. Every publication is stored, audited in every
//! tenant's chain (a policy change affects them all), announced as a `policy.snapshot` event,
//! and followed by the re-evaluation of the pending approvals it makes stale, all in one
//! transaction.

use std::collections::HashMap;
use std::sync::Arc;

use rusqlite::TransactionBehavior;
use serde_json::{json, Value};

use super::reevaluate::{Applied, Batch};
use super::Gateway;
use crate::error::GatewayError;
use crate::policy::{snapshot_id, Evaluation, Policy, Subject};
use crate::store::snapshots::{self, StoredSnapshot};
use crate::store::{audit, events, Store};

#[derive(Debug)]
pub(super) struct PolicyState {
    current_id: String,
    current: Arc<Policy>,
    overlay: Value,
    /// Every published policy by snapshot base, for the context view of old items.
    by_base: HashMap<String, Arc<Policy>>,
}

impl PolicyState {
    /// Loads the newest stored snapshot; a fresh database starts with the empty policy.
    pub(super) async fn load(
        store: &Arc<Store>,
        overlay: Value,
        now_us: i64,
    ) -> Result<Self, GatewayError> {
        let stored = store
            .run(move |c| {
                let mut all = snapshots::all(&c.db)?;
                if all.is_empty() {
                    let policy = Policy::allow_all();
                    let first = StoredSnapshot {
                        snapshot_id: snapshot_id(&policy, &overlay),
                        yaml: serde_yaml_ng::to_string(&policy).unwrap_or_default(),
                        overlay: overlay.to_string(),
                    };
                    snapshots::insert(&c.db, &first, "initial", now_us)?;
                    all.push(first);
                }
                Ok::<_, GatewayError>(all)
            })
            .await?;
        let mut by_base = HashMap::new();
        for s in &stored {
            if let Ok(p) = Policy::from_yaml(&s.yaml) {
                by_base.insert(p.base_id(), Arc::new(p));
            }
        }
        let newest = stored
            .first()
            .ok_or_else(|| GatewayError::Policy("no policy snapshot stored".into()))?;
        let current = Arc::new(Policy::from_yaml(&newest.yaml)?);
        Ok(Self {
            current_id: newest.snapshot_id.clone(),
            current,
            overlay: serde_json::from_str(&newest.overlay).unwrap_or(Value::Null),
            by_base,
        })
    }
}

impl Gateway {
    fn policy_state(&self) -> std::sync::RwLockReadGuard<'_, PolicyState> {
        self.inner.policy.read().unwrap_or_else(|p| p.into_inner())
    }

    /// The current snapshot id (`base|cfg:overlay`).
    pub fn current_snapshot(&self) -> String {
        self.policy_state().current_id.clone()
    }

    /// The current policy and its snapshot id, read together.
    pub(super) fn current_policy(&self) -> (Arc<Policy>, String) {
        let state = self.policy_state();
        (Arc::clone(&state.current), state.current_id.clone())
    }

    /// Evaluates a job under the current policy; returns the verdict and the snapshot id.
    pub fn evaluate(&self, subject: Subject<'_>) -> (Evaluation, String) {
        let state = self.policy_state();
        (state.current.evaluate(subject), state.current_id.clone())
    }

    /// The policy a snapshot id names (by base), if it was ever published here.
    pub fn policy_for(&self, snapshot: &str) -> Option<Arc<Policy>> {
        let base = countersign_core::snapshot::snapshot_base(snapshot.trim());
        self.policy_state().by_base.get(base).cloned()
    }

    /// Every snapshot id, current first.
    pub async fn snapshots(&self) -> Result<Vec<String>, GatewayError> {
        let all = self
            .store()
            .run(|c| Ok::<_, GatewayError>(snapshots::all(&c.db)?))
            .await?;
        Ok(all.into_iter().map(|s| s.snapshot_id).collect())
    }

    /// Publishes a YAML policy; returns the (possibly unchanged) current snapshot id.
    /// Invalid YAML is an error and leaves the current policy in place.
    pub async fn publish_policy(&self, yaml: &str, source: &str) -> Result<String, GatewayError> {
        let policy = Policy::from_yaml(yaml)?;
        let overlay = self.policy_state().overlay.clone();
        self.install(policy, yaml.to_owned(), overlay, source).await
    }

    /// Replaces the configuration overlay; the snapshot base stays the same.
    pub async fn publish_overlay(
        &self,
        overlay: Value,
        source: &str,
    ) -> Result<String, GatewayError> {
        let (policy, yaml) = {
            let state = self.policy_state();
            let yaml = serde_yaml_ng::to_string(state.current.as_ref())
                .map_err(|e| GatewayError::Policy(e.to_string()))?;
            (state.current.as_ref().clone(), yaml)
        };
        self.install(policy, yaml, overlay, source).await
    }

    /// Re-reads the `--policy` file and publishes it if it changed.
    pub async fn reload_policy_file(&self) -> Result<Option<String>, GatewayError> {
        let Some(path) = self.inner.policy_file.clone() else {
            return Ok(None);
        };
        let text = tokio::fs::read_to_string(path).await?;
        self.publish_policy(&text, "file").await.map(Some)
    }

    async fn install(
        &self,
        policy: Policy,
        yaml: String,
        overlay: Value,
        source: &str,
    ) -> Result<String, GatewayError> {
        let _serial = self.inner.publish.write().await;
        let id = snapshot_id(&policy, &overlay);
        let previous = self.current_snapshot();
        if id == previous {
            return Ok(id);
        }
        let tenants: Vec<String> = if self.auth().tenants().is_empty() {
            vec!["default".into()]
        } else {
            self.auth().tenants().iter().cloned().collect()
        };
        let audits: Vec<_> = tenants
            .iter()
            .map(|t| {
                let mut e = self.audit_event(t, "policy", "policy_snapshot");
                e.policy_version = id.clone();
                e.extra.insert("previous".into(), json!(previous));
                e.extra.insert("source".into(), json!(source));
                e
            })
            .collect();
        let stored = StoredSnapshot {
            snapshot_id: id.clone(),
            yaml,
            overlay: overlay.to_string(),
        };
        let data = json!({
            "snapshot": id,
            "previous": previous,
            "rule_count": policy.rules.len(),
            "source": source,
        });
        let now = self.now_us();
        let source = source.to_owned();
        let policy = Arc::new(policy);
        let new_policy = Arc::clone(&policy);
        let snapshot = id.clone();
        let (event_id, applied) = self
            .store()
            .run(move |c| {
                let batch = Batch::plan(c, &new_policy, &snapshot, &source, now)?;
                let tx =
                    c.db.transaction_with_behavior(TransactionBehavior::Immediate)?;
                snapshots::insert(&tx, &stored, &source, now)?;
                for e in audits {
                    audit::append(&tx, e)?;
                }
                let event_id = events::append(&tx, "", events::kind::POLICY_SNAPSHOT, &data, now)?;
                let applied = batch.apply(&tx, now)?;
                tx.commit()?;
                Ok::<_, GatewayError>((applied.last_event.unwrap_or(event_id), applied))
            })
            .await?;
        {
            let mut state = self.inner.policy.write().unwrap_or_else(|p| p.into_inner());
            state.by_base.insert(policy.base_id(), Arc::clone(&policy));
            state.current = policy;
            state.current_id = id.clone();
            state.overlay = overlay;
        }
        self.notify_events(Some(event_id));
        tracing::info!(snapshot = %id, previous = %previous, "policy snapshot published");
        log_applied(&applied);
        Ok(id)
    }

    /// Re-evaluates pending items whose snapshot base is not the current one. A publish does
    /// this in its own transaction; at start-up it catches what no publish reached (a database
    /// written by an older gateway, or edited behind this one's back).
    pub(super) async fn reevaluate_stale(&self) -> Result<(), GatewayError> {
        let _serial = self.inner.publish.write().await;
        let (policy, snapshot) = self.current_policy();
        let now = self.now_us();
        let applied = self
            .store()
            .run(move |c| {
                let batch = Batch::plan(c, &policy, &snapshot, "startup", now)?;
                let tx =
                    c.db.transaction_with_behavior(TransactionBehavior::Immediate)?;
                let applied = batch.apply(&tx, now)?;
                tx.commit()?;
                Ok::<_, GatewayError>(applied)
            })
            .await?;
        self.notify_events(applied.last_event);
        log_applied(&applied);
        Ok(())
    }
}

fn log_applied(applied: &Applied) {
    if applied.refreshed + applied.invalidated > 0 {
        tracing::info!(
            refreshed = applied.refreshed,
            invalidated = applied.invalidated,
            "pending approvals re-evaluated under the current policy"
        );
    }
}
