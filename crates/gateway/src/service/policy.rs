//! Each tenant's current policy and its publication: from `PUT /api/v1/policy` (the caller's
//! tenant only), the watched policy files, a configuration overlay change, or the demo. Every
//! publication is stored, audited in the tenant's chain, announced to the tenant as a
//! `policy.snapshot` event, and followed by the re-evaluation of the tenant's pending approvals
//! it makes stale, all in one transaction. No publication ever reaches another tenant's
//! policy, items, chain or stream: a tenant's admin governs that tenant only.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::PathBuf;
use std::sync::Arc;

use rusqlite::TransactionBehavior;
use serde_json::{json, Value};

use super::reevaluate::{Applied, Batch};
use super::Gateway;
use crate::error::GatewayError;
use crate::policy::{snapshot_id, Evaluation, Policy, Subject};
use crate::store::snapshots::{self, StoredSnapshot, LEGACY_TENANT};
use crate::store::{audit, events, jobs, Store};

/// What a publish's extra writes see: the snapshot current before, the one published (the
/// same when the policy did not change), and the time of the transaction.
#[derive(Debug, Clone)]
pub(super) struct Publication {
    pub previous: String,
    pub snapshot: String,
    pub now_us: i64,
}

/// What a publish's extra writes answer: their output and the last event they appended, or a
/// refusal that rolls the whole publish back.
pub(super) type Extra<T, R> = Result<Result<(T, Option<i64>), R>, GatewayError>;

/// The tenant a gateway without credentials serves.
const DEFAULT_TENANT: &str = "default";

/// One tenant's policy.
#[derive(Debug, Clone)]
struct TenantPolicy {
    current_id: String,
    current: Arc<Policy>,
    /// Every policy this tenant published, by snapshot base, for the context view of old items.
    by_base: HashMap<String, Arc<Policy>>,
}

impl TenantPolicy {
    /// From stored snapshots, newest first.
    fn from_rows(rows: &[StoredSnapshot]) -> Result<Self, GatewayError> {
        let newest = rows
            .first()
            .ok_or_else(|| GatewayError::Policy("no policy snapshot stored".into()))?;
        let by_base = rows
            .iter()
            .filter_map(|s| Policy::from_yaml(&s.yaml).ok())
            .map(|p| (p.base_id(), Arc::new(p)))
            .collect();
        Ok(Self {
            current_id: newest.snapshot_id.clone(),
            current: Arc::new(Policy::from_yaml(&newest.yaml)?),
            by_base,
        })
    }
}

#[derive(Debug)]
pub(super) struct PolicyState {
    overlay: Value,
    tenants: BTreeMap<String, TenantPolicy>,
    /// What a tenant that never published has: the policy of a database from before policies
    /// were per tenant, else the empty policy.
    seed: TenantPolicy,
}

/// Which tenants a policy file governs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PolicyScope {
    /// Every tenant without a file of its own (`--policy`).
    Default,
    /// One tenant (`--tenant-policy TENANT=FILE`).
    Tenant(String),
}

impl PolicyState {
    /// Loads every known tenant's newest stored snapshot. A tenant without one starts with the
    /// seed, which is stored for it, so that its snapshot list is never empty.
    pub(super) async fn load(
        store: &Arc<Store>,
        known: BTreeSet<String>,
        overlay: Value,
        now_us: i64,
    ) -> Result<Self, GatewayError> {
        let seed_overlay = overlay.clone();
        let (rows, seed_rows) = store
            .run(move |c| {
                let mut tenants = known;
                tenants.extend(snapshots::tenants(&c.db)?);
                tenants.extend(jobs::pending_tenants(&c.db)?);
                let legacy = snapshots::all(&c.db, LEGACY_TENANT)?;
                let seed = match legacy.first() {
                    Some(newest) => newest.clone(),
                    None => {
                        let policy = Policy::allow_all();
                        StoredSnapshot {
                            snapshot_id: snapshot_id(&policy, &seed_overlay),
                            yaml: serde_yaml_ng::to_string(&policy).unwrap_or_default(),
                            overlay: seed_overlay.to_string(),
                        }
                    }
                };
                let source = if legacy.is_empty() {
                    "initial"
                } else {
                    "migrated"
                };
                let mut rows = BTreeMap::new();
                for tenant in tenants {
                    let mut own = snapshots::all(&c.db, &tenant)?;
                    if own.is_empty() {
                        snapshots::insert(&c.db, &tenant, &seed, source, now_us)?;
                        own.push(seed.clone());
                    }
                    // Items from before the migration name the shared snapshots.
                    own.extend(legacy.iter().cloned());
                    rows.insert(tenant, own);
                }
                let mut seed_rows = vec![seed];
                seed_rows.extend(legacy);
                Ok::<_, GatewayError>((rows, seed_rows))
            })
            .await?;
        let tenants = rows
            .iter()
            .map(|(t, r)| Ok((t.clone(), TenantPolicy::from_rows(r)?)))
            .collect::<Result<_, GatewayError>>()?;
        Ok(Self {
            overlay,
            tenants,
            seed: TenantPolicy::from_rows(&seed_rows)?,
        })
    }

    fn of(&self, tenant: &str) -> &TenantPolicy {
        self.tenants.get(tenant).unwrap_or(&self.seed)
    }
}

/// The tenants a gateway starts with: every configured one, or `default` without credentials.
pub(super) fn configured_tenants(
    credential_tenants: &BTreeSet<String>,
    tenant_files: &BTreeMap<String, PathBuf>,
) -> BTreeSet<String> {
    let mut tenants = credential_tenants.clone();
    tenants.extend(tenant_files.keys().cloned());
    if tenants.is_empty() {
        tenants.insert(DEFAULT_TENANT.into());
    }
    tenants
}

impl Gateway {
    fn policy_state(&self) -> std::sync::RwLockReadGuard<'_, PolicyState> {
        self.inner.policy.read().unwrap_or_else(|p| p.into_inner())
    }

    /// The tenant's current snapshot id (`base|cfg:overlay`).
    pub fn current_snapshot(&self, tenant: &str) -> String {
        self.policy_state().of(tenant).current_id.clone()
    }

    /// The tenant's current policy and its snapshot id, read together.
    pub(super) fn current_policy(&self, tenant: &str) -> (Arc<Policy>, String) {
        let state = self.policy_state();
        let own = state.of(tenant);
        (Arc::clone(&own.current), own.current_id.clone())
    }

    /// Evaluates a job of `tenant` under its current policy; returns the verdict and the
    /// snapshot id.
    pub fn evaluate(&self, tenant: &str, subject: Subject<'_>) -> (Evaluation, String) {
        let (policy, id) = self.current_policy(tenant);
        (policy.evaluate(subject), id)
    }

    /// The policy a snapshot id names (by base), if the tenant ever published it.
    pub fn policy_for(&self, tenant: &str, snapshot: &str) -> Option<Arc<Policy>> {
        let base = countersign_core::snapshot::snapshot_base(snapshot.trim());
        self.policy_state().of(tenant).by_base.get(base).cloned()
    }

    /// Every tenant that has a policy.
    fn policy_tenants(&self) -> Vec<String> {
        self.policy_state().tenants.keys().cloned().collect()
    }

    /// The tenant's snapshot ids, current first.
    pub async fn snapshots(&self, tenant: &str) -> Result<Vec<String>, GatewayError> {
        let owner = tenant.to_owned();
        let all = self
            .store()
            .run(move |c| Ok::<_, GatewayError>(snapshots::all(&c.db, &owner)?))
            .await?;
        if all.is_empty() {
            return Ok(vec![self.current_snapshot(tenant)]);
        }
        Ok(all.into_iter().map(|s| s.snapshot_id).collect())
    }

    /// Publishes a YAML policy for one tenant; returns its (possibly unchanged) current
    /// snapshot id. Invalid YAML is an error and leaves the current policy in place.
    pub async fn publish_tenant_policy(
        &self,
        tenant: &str,
        yaml: &str,
        source: &str,
    ) -> Result<String, GatewayError> {
        let policy = Policy::from_yaml(yaml)?;
        let overlay = self.policy_state().overlay.clone();
        self.install(tenant, policy, yaml.to_owned(), overlay, source)
            .await
    }

    /// Publishes a YAML policy for every tenant: the operator's hook (embedding, demo, tests),
    /// never reachable over HTTP. Returns the snapshot id, the same for every tenant.
    pub async fn publish_policy(&self, yaml: &str, source: &str) -> Result<String, GatewayError> {
        let tenants = self.policy_tenants();
        self.publish_for(&tenants, yaml, source).await
    }

    async fn publish_for(
        &self,
        tenants: &[String],
        yaml: &str,
        source: &str,
    ) -> Result<String, GatewayError> {
        let policy = Policy::from_yaml(yaml)?;
        let overlay = self.policy_state().overlay.clone();
        let mut id = snapshot_id(&policy, &overlay);
        for tenant in tenants {
            id = self
                .install(
                    tenant,
                    policy.clone(),
                    yaml.to_owned(),
                    overlay.clone(),
                    source,
                )
                .await?;
        }
        Ok(id)
    }

    /// Replaces the configuration overlay of every tenant; the snapshot bases stay the same.
    pub async fn publish_overlay(
        &self,
        overlay: Value,
        source: &str,
    ) -> Result<String, GatewayError> {
        let mut id = String::new();
        for tenant in self.policy_tenants() {
            let (policy, _) = self.current_policy(&tenant);
            let yaml = serde_yaml_ng::to_string(policy.as_ref())
                .map_err(|e| GatewayError::Policy(e.to_string()))?;
            id = self
                .install(
                    &tenant,
                    policy.as_ref().clone(),
                    yaml,
                    overlay.clone(),
                    source,
                )
                .await?;
        }
        self.inner
            .policy
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .overlay = overlay;
        Ok(id)
    }

    /// The tenants a policy file governs: its own tenant, or every tenant without a file.
    fn scope_tenants(&self, scope: &PolicyScope) -> Vec<String> {
        match scope {
            PolicyScope::Tenant(t) => vec![t.clone()],
            PolicyScope::Default => self
                .policy_tenants()
                .into_iter()
                .filter(|t| !self.inner.tenant_policy_files.contains_key(t))
                .collect(),
        }
    }

    /// Every configured policy file with the tenants it governs.
    pub fn policy_files(&self) -> Vec<(PolicyScope, PathBuf)> {
        let default = self
            .inner
            .policy_file
            .iter()
            .map(|p| (PolicyScope::Default, p.clone()));
        let own = self
            .inner
            .tenant_policy_files
            .iter()
            .map(|(t, p)| (PolicyScope::Tenant(t.clone()), p.clone()));
        default.chain(own).collect()
    }

    /// Re-reads one policy file and publishes it for the tenants it governs.
    pub async fn reload_policy(&self, scope: &PolicyScope) -> Result<String, GatewayError> {
        let path = self
            .policy_files()
            .into_iter()
            .find_map(|(s, p)| (&s == scope).then_some(p))
            .ok_or_else(|| GatewayError::Config(format!("no policy file for {scope:?}")))?;
        let text = tokio::fs::read_to_string(path).await?;
        let tenants = self.scope_tenants(scope);
        self.publish_for(&tenants, &text, "file").await
    }

    /// Re-reads every policy file; the first failure is returned after all were tried, so one
    /// bad file does not keep the others from taking effect.
    pub async fn reload_policy_files(&self) -> Result<usize, GatewayError> {
        let mut first_error = None;
        let files = self.policy_files();
        for (scope, _) in &files {
            if let Err(e) = self.reload_policy(scope).await {
                tracing::error!(error = %e, ?scope, "policy file rejected; keeping the current policy");
                first_error.get_or_insert(e);
            }
        }
        first_error.map_or(Ok(files.len()), Err)
    }

    async fn install(
        &self,
        tenant: &str,
        policy: Policy,
        yaml: String,
        overlay: Value,
        source: &str,
    ) -> Result<String, GatewayError> {
        let published = self
            .install_with(tenant, policy, yaml, overlay, source, |_, _| {
                Ok(Ok::<_, std::convert::Infallible>(((), None)))
            })
            .await?;
        match published {
            Ok((id, ())) => Ok(id),
            Err(never) => match never {},
        }
    }

    /// Publishes `yaml` for `tenant` with `extra` written in the publish's own transaction
    /// (a governance approval): both commit, or `extra` refuses (`Ok(Err(_))`) and nothing is
    /// published. `extra` runs even when the policy is the current one already, since what it
    /// records is the decision, not the change.
    pub(super) async fn publish_governed<T, R>(
        &self,
        tenant: &str,
        yaml: &str,
        source: &str,
        extra: impl FnOnce(&rusqlite::Transaction<'_>, &Publication) -> Extra<T, R> + Send + 'static,
    ) -> Result<Result<(String, T), R>, GatewayError>
    where
        T: Send + 'static,
        R: Send + 'static,
    {
        let policy = Policy::from_yaml(yaml)?;
        let overlay = self.policy_state().overlay.clone();
        self.install_with(tenant, policy, yaml.to_owned(), overlay, source, extra)
            .await
    }

    /// The snapshot id `policy` would be published under now (the current overlay).
    pub(super) fn snapshot_id_for(&self, policy: &Policy) -> String {
        snapshot_id(policy, &self.policy_state().overlay)
    }

    async fn install_with<T, R>(
        &self,
        tenant: &str,
        policy: Policy,
        yaml: String,
        overlay: Value,
        source: &str,
        extra: impl FnOnce(&rusqlite::Transaction<'_>, &Publication) -> Extra<T, R> + Send + 'static,
    ) -> Result<Result<(String, T), R>, GatewayError>
    where
        T: Send + 'static,
        R: Send + 'static,
    {
        let _serial = self.inner.publish.write().await;
        let id = snapshot_id(&policy, &overlay);
        let previous = self.current_snapshot(tenant);
        let changed = id != previous;
        let mut audit_event = self.audit_event(tenant, "policy", "policy_snapshot");
        audit_event.policy_version = id.clone();
        audit_event.extra.insert("previous".into(), json!(previous));
        audit_event.extra.insert("source".into(), json!(source));
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
        let publication = Publication {
            previous: previous.clone(),
            snapshot: id.clone(),
            now_us: now,
        };
        let source = source.to_owned();
        let owner = tenant.to_owned();
        let policy = Arc::new(policy);
        let new_policy = Arc::clone(&policy);
        let snapshot = id.clone();
        let written = self
            .store()
            .run(move |c| {
                let batch = if changed {
                    Some(Batch::plan(
                        c,
                        &owner,
                        &new_policy,
                        &snapshot,
                        &source,
                        now,
                    )?)
                } else {
                    None
                };
                let tx =
                    c.db.transaction_with_behavior(TransactionBehavior::Immediate)?;
                let mut last_event = None;
                let mut applied = Applied::default();
                if let Some(batch) = batch {
                    snapshots::insert(&tx, &owner, &stored, &source, now)?;
                    audit::append(&tx, audit_event)?;
                    let event_id =
                        events::append(&tx, &owner, events::kind::POLICY_SNAPSHOT, &data, now)?;
                    applied = batch.apply(&tx, now)?;
                    last_event = Some(applied.last_event.unwrap_or(event_id));
                }
                let out = match extra(&tx, &publication)? {
                    Ok((out, event)) => {
                        last_event = event.or(last_event);
                        out
                    }
                    // Dropping the transaction rolls the publish back with it.
                    Err(refused) => return Ok::<_, GatewayError>(Err(refused)),
                };
                tx.commit()?;
                Ok(Ok((out, last_event, applied)))
            })
            .await?;
        let (out, last_event, applied) = match written {
            Ok(written) => written,
            Err(refused) => return Ok(Err(refused)),
        };
        if changed {
            let mut state = self.inner.policy.write().unwrap_or_else(|p| p.into_inner());
            let seed = state.seed.clone();
            let own = state.tenants.entry(tenant.to_owned()).or_insert(seed);
            own.by_base.insert(policy.base_id(), Arc::clone(&policy));
            own.current = policy;
            own.current_id = id.clone();
            tracing::info!(%tenant, snapshot = %id, previous = %previous, "policy snapshot published");
            log_applied(&applied);
        }
        self.notify_events(last_event);
        Ok(Ok((id, out)))
    }

    /// Re-evaluates pending items whose snapshot base is not their tenant's current one. A
    /// publish does this in its own transaction; at start-up it catches what no publish
    /// reached (a database written by an older gateway, or edited behind this one's back).
    pub(super) async fn reevaluate_stale(&self) -> Result<(), GatewayError> {
        let _serial = self.inner.publish.write().await;
        for tenant in self.policy_tenants() {
            let (policy, snapshot) = self.current_policy(&tenant);
            let now = self.now_us();
            let applied = self
                .store()
                .run(move |c| {
                    let batch = Batch::plan(c, &tenant, &policy, &snapshot, "startup", now)?;
                    let tx =
                        c.db.transaction_with_behavior(TransactionBehavior::Immediate)?;
                    let applied = batch.apply(&tx, now)?;
                    tx.commit()?;
                    Ok::<_, GatewayError>(applied)
                })
                .await?;
            self.notify_events(applied.last_event);
            log_applied(&applied);
        }
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
