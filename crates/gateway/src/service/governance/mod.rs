//! Governance approvals (seed 004): a policy change is a draft whose every save is an immutable
//! snapshot; it becomes the tenant's policy only when an operator or admin other than its author
//! approves that exact snapshot, failing closed on every precondition with its own code
//! (`countersign_core::governance::code`). The approval and the publish it causes are one
//! transaction (the publish path's own, [`Gateway::publish_governed`]), guarded by a
//! compare-and-set on the draft's status and active snapshot; approving the same snapshot again
//! answers the approval on record.

mod check;
mod diff;
mod impact;
mod validate;

#[cfg(test)]
mod tests;

use countersign_core::governance::{
    source_snapshot_hash, DraftSnapshot, DraftStatus, FindingSeverity, GovernanceApproval,
    GovernanceChannel, GovernanceRejection, GovernanceResolved, PolicyDiff, PolicyDraft,
    SnapshotStatus,
};
use rusqlite::Connection;
use serde_json::json;

pub use check::Refusal;

/// Why an approve's transaction stopped: a refusal, or the snapshot was approved meanwhile (the
/// loser of a race reads the winner's approval).
enum Stop {
    Refused(Refusal),
    Already(Box<GovernanceApproval>),
}

impl Stop {
    fn into_answer(self) -> Result<(GovernanceApproval, bool), Refusal> {
        match self {
            Self::Refused(refusal) => Err(refusal),
            Self::Already(approval) => Ok((*approval, true)),
        }
    }
}

use self::check::{check, Checked};

/// The points of an approve where a test may land another decision: between the quick check's
/// two reads (the current policy, then the draft), and after the quick check, before the
/// publish lock and the authoritative check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Step {
    BetweenReads,
    BeforeLock,
}
use super::{stamped_audit_event, Gateway};
use crate::auth::Caller;
use crate::clock::rfc3339_us;
use crate::error::GatewayError;
use crate::store::governance::{self as store, DraftRow};
use crate::store::{audit, events};

/// Longest title, in characters.
pub const MAX_TITLE_CHARS: usize = 200;
/// Largest policy text of a draft.
pub const MAX_YAML_BYTES: usize = 256 * 1024;
/// Longest rationale or reason, in characters.
pub const MAX_REASON_CHARS: usize = 2000;
/// Most drafts one list answers.
pub const MAX_LISTED: usize = 200;

fn new_id(prefix: &str) -> String {
    format!(
        "{prefix}-{}",
        &uuid::Uuid::new_v4().simple().to_string()[..16]
    )
}

fn bad_request(message: impl Into<String>) -> Refusal {
    Refusal::bad_request(message)
}

fn check_title(title: &str) -> Result<String, Refusal> {
    let title = title.trim();
    if title.is_empty() {
        return Err(bad_request("a draft needs a title"));
    }
    if title.chars().count() > MAX_TITLE_CHARS {
        return Err(bad_request(format!(
            "the title is over {MAX_TITLE_CHARS} characters"
        )));
    }
    Ok(title.to_owned())
}

fn check_yaml(yaml: &str) -> Result<(), Refusal> {
    if yaml.trim().is_empty() {
        return Err(bad_request("a draft needs its policy YAML"));
    }
    if yaml.len() > MAX_YAML_BYTES {
        return Err(bad_request(format!(
            "the policy YAML is over {MAX_YAML_BYTES} bytes"
        )));
    }
    Ok(())
}

/// A snapshot's text must be readable back exactly as saved.
fn draft_of(db: &Connection, row: &DraftRow, all: bool) -> Result<PolicyDraft, GatewayError> {
    let snapshots = store::snapshots(db, &row.draft_id)?;
    let active = snapshots
        .iter()
        .find(|s| s.snapshot_id == row.active_snapshot_id)
        .cloned()
        .ok_or_else(|| GatewayError::Policy(format!("draft {} lost its snapshot", row.draft_id)))?;
    let decision = store::decision(db, &row.draft_id)?;
    let (approval, rejection) = match &decision {
        Some(d) if d.kind == DraftStatus::Approved => (serde_json::from_str(&d.body).ok(), None),
        Some(d) => (None, serde_json::from_str(&d.body).ok()),
        None => (None, None),
    };
    Ok(PolicyDraft {
        draft_id: row.draft_id.clone(),
        tenant: row.tenant.clone(),
        title: row.title.clone(),
        author: row.author.clone(),
        status: row.status,
        created_at: rfc3339_us(row.created_at),
        updated_at: rfc3339_us(row.updated_at),
        active_snapshot: active,
        snapshots: if all {
            snapshots
                .into_iter()
                .map(|s| DraftSnapshot { yaml: None, ..s })
                .collect()
        } else {
            Vec::new()
        },
        approval,
        rejection,
    })
}

/// The draft as lists and events show it: no YAML, no snapshot list.
fn summary(mut draft: PolicyDraft) -> PolicyDraft {
    draft.active_snapshot.yaml = None;
    draft.snapshots.clear();
    draft
}

impl Gateway {
    /// Saves a new draft with its first snapshot (`POST /api/v1/policy/drafts`).
    pub async fn propose_draft(
        &self,
        tenant: &str,
        author: &str,
        title: &str,
        yaml: &str,
    ) -> Result<Result<PolicyDraft, Refusal>, GatewayError> {
        let (title, yaml) = match (check_title(title), check_yaml(yaml)) {
            (Ok(title), Ok(())) => (title, yaml.to_owned()),
            (Err(e), _) | (_, Err(e)) => return Ok(Err(e)),
        };
        let row = DraftRow {
            draft_id: new_id("drf"),
            tenant: tenant.to_owned(),
            title,
            author: author.to_owned(),
            status: DraftStatus::Open,
            active_snapshot_id: String::new(),
            created_at: self.now_us(),
            updated_at: self.now_us(),
        };
        self.save_snapshot(row, yaml, true).await.map(Ok)
    }

    /// A new snapshot of an open draft (`PUT /api/v1/policy/drafts/{id}`).
    pub async fn update_draft(
        &self,
        tenant: &str,
        draft_id: &str,
        yaml: &str,
        title: Option<&str>,
    ) -> Result<Result<PolicyDraft, Refusal>, GatewayError> {
        if let Err(e) = check_yaml(yaml) {
            return Ok(Err(e));
        }
        let title = match title.map(check_title).transpose() {
            Ok(title) => title,
            Err(e) => return Ok(Err(e)),
        };
        let Some(mut row) = self.draft_row(tenant, draft_id).await? else {
            return Ok(Err(Refusal::not_found()));
        };
        if row.status != DraftStatus::Open {
            let draft = self.draft(tenant, draft_id).await?;
            return Ok(Err(Refusal::closed(draft)));
        }
        if let Some(title) = title {
            row.title = title;
        }
        row.updated_at = self.now_us();
        self.save_snapshot(row, yaml.to_owned(), false)
            .await
            .map(Ok)
    }

    async fn save_snapshot(
        &self,
        mut row: DraftRow,
        yaml: String,
        first: bool,
    ) -> Result<PolicyDraft, GatewayError> {
        let (current, base) = self.current_policy(&row.tenant);
        let validation = validate::validate(&yaml, &current);
        let blockers = validation.ids(FindingSeverity::Blocker);
        let ready = blockers.is_empty();
        let now = self.now_us();
        let tenant = row.tenant.clone();
        let mut audit_event =
            stamped_audit_event(now, &tenant, "governance", "governance_draft_saved");
        let store = self.store().clone();
        let draft = store
            .run(move |c| {
                let version = store::last_version(&c.db, &row.draft_id)? + 1;
                let snapshot = DraftSnapshot {
                    snapshot_id: new_id("dsn"),
                    draft_id: row.draft_id.clone(),
                    version,
                    source_snapshot_hash: source_snapshot_hash(&yaml),
                    base_snapshot: base,
                    author: row.author.clone(),
                    created_at: rfc3339_us(now),
                    status: if ready {
                        SnapshotStatus::ReadyForApproval
                    } else {
                        SnapshotStatus::Blocked
                    },
                    ready_for_approval: ready,
                    blocker_ids: blockers,
                    advisory_ids: validation.ids(FindingSeverity::Advisory),
                    rule_count: validation
                        .policy
                        .as_ref()
                        .map_or(0, |p| u32::try_from(p.rules.len()).unwrap_or(u32::MAX)),
                    findings: validation.findings,
                    yaml: Some(yaml),
                };
                row.active_snapshot_id = snapshot.snapshot_id.clone();
                let tx = c.db.transaction()?;
                if first {
                    store::insert_draft(&tx, &row)?;
                }
                store::insert_snapshot(&tx, &snapshot)?;
                if !first
                    && !store::advance(&tx, &row.draft_id, &snapshot.snapshot_id, &row.title, now)?
                {
                    return Err(GatewayError::Policy(
                        "the draft was decided meanwhile".into(),
                    ));
                }
                let draft = draft_of(&tx, &row, true)?;
                audit_event
                    .extra
                    .insert("draft_id".into(), json!(row.draft_id));
                audit_event
                    .extra
                    .insert("snapshot_id".into(), json!(snapshot.snapshot_id));
                audit_event
                    .extra
                    .insert("version".into(), json!(snapshot.version));
                audit_event.extra.insert(
                    "source_snapshot_hash".into(),
                    json!(snapshot.source_snapshot_hash),
                );
                audit_event.extra.insert("author".into(), json!(row.author));
                audit_event
                    .extra
                    .insert("blocker_ids".into(), json!(snapshot.blocker_ids));
                audit::append(&tx, audit_event)?;
                let event = serde_json::to_value(summary(draft.clone()))
                    .map_err(|e| GatewayError::Policy(e.to_string()))?;
                let event_id =
                    events::append(&tx, &tenant, events::kind::GOVERNANCE_REQUIRED, &event, now)?;
                tx.commit()?;
                Ok::<_, GatewayError>((draft, event_id))
            })
            .await?;
        self.notify_events(Some(draft.1));
        tracing::info!(draft = %draft.0.draft_id, version = draft.0.active_snapshot.version, "policy draft saved");
        Ok(draft.0)
    }

    async fn draft_row(
        &self,
        tenant: &str,
        draft_id: &str,
    ) -> Result<Option<DraftRow>, GatewayError> {
        let (tenant, id) = (tenant.to_owned(), draft_id.to_owned());
        self.store()
            .run(move |c| Ok::<_, GatewayError>(store::draft(&c.db, &tenant, &id)?))
            .await
    }

    /// One draft of `tenant` with all its snapshots; `None` for another tenant's.
    pub async fn draft(
        &self,
        tenant: &str,
        draft_id: &str,
    ) -> Result<Option<PolicyDraft>, GatewayError> {
        let (tenant, id) = (tenant.to_owned(), draft_id.to_owned());
        self.store()
            .run(move |c| {
                store::draft(&c.db, &tenant, &id)?
                    .map(|row| draft_of(&c.db, &row, true))
                    .transpose()
            })
            .await
    }

    /// The drafts of `tenant` (`status` `None`: all), most recently updated first.
    pub async fn drafts(
        &self,
        tenant: &str,
        status: Option<DraftStatus>,
    ) -> Result<Vec<PolicyDraft>, GatewayError> {
        let tenant = tenant.to_owned();
        self.store()
            .run(move |c| {
                store::drafts(&c.db, &tenant, status, MAX_LISTED)?
                    .iter()
                    .map(|row| draft_of(&c.db, row, false).map(summary))
                    .collect()
            })
            .await
    }

    /// One snapshot of a draft of `tenant`, YAML included.
    pub async fn draft_snapshot(
        &self,
        tenant: &str,
        draft_id: &str,
        snapshot_id: Option<&str>,
    ) -> Result<Option<DraftSnapshot>, GatewayError> {
        let Some(draft) = self.draft(tenant, draft_id).await? else {
            return Ok(None);
        };
        let wanted = snapshot_id
            .unwrap_or(&draft.active_snapshot.snapshot_id)
            .to_owned();
        let id = draft.draft_id;
        self.store()
            .run(move |c| Ok::<_, GatewayError>(store::snapshot(&c.db, &id, &wanted)?))
            .await
    }

    /// The snapshot's rules against the tenant's current policy.
    pub async fn draft_diff(
        &self,
        tenant: &str,
        draft_id: &str,
        snapshot_id: Option<&str>,
    ) -> Result<Result<PolicyDiff, Refusal>, GatewayError> {
        let Some(snapshot) = self.draft_snapshot(tenant, draft_id, snapshot_id).await? else {
            return Ok(Err(Refusal::not_found()));
        };
        let Some(draft_policy) = readable(&snapshot) else {
            return Ok(Err(Refusal::unreadable(&snapshot)));
        };
        let (current, current_snapshot) = self.current_policy(tenant);
        let d = diff::diff(&current, &draft_policy);
        Ok(Ok(PolicyDiff {
            draft_id: snapshot.draft_id,
            snapshot_id: snapshot.snapshot_id,
            base_snapshot: snapshot.base_snapshot,
            current_snapshot,
            added: d.added,
            removed: d.removed,
            changed: d.changed,
            unchanged: d.unchanged,
        }))
    }

    /// Approves the snapshot `expected_snapshot_id` names (see the module docs).
    pub async fn approve_draft(
        &self,
        caller: &Caller,
        draft_id: &str,
        body: &countersign_core::governance::ApproveDraftBody,
    ) -> Result<Result<(GovernanceApproval, bool), Refusal>, GatewayError> {
        self.approve_draft_paused(caller, draft_id, body, |_| std::future::ready(()))
            .await
    }

    /// [`Gateway::approve_draft`], awaiting `pause` at each [`Step`]: the tests' way to land
    /// another decision exactly there.
    async fn approve_draft_paused<P, F>(
        &self,
        caller: &Caller,
        draft_id: &str,
        body: &countersign_core::governance::ApproveDraftBody,
        pause: P,
    ) -> Result<Result<(GovernanceApproval, bool), Refusal>, GatewayError>
    where
        P: Fn(Step) -> F,
        F: std::future::Future<Output = ()>,
    {
        let rationale = match reason_text(body.rationale.as_deref(), false) {
            Ok(r) => r,
            Err(e) => return Ok(Err(e)),
        };
        // The quick check reads the current policy *before* the draft. An approval commits the
        // draft's decision before it makes its policy current (`install_with`), so a current
        // policy that is this draft's own publish comes with a draft read that shows the
        // approval: the loser of a race reads the winner's approval (`already_approved`). Read
        // the other way round, the draft could be read open just before the winner committed
        // and the policy just after, and the loser was told `stale_base` ("propose it again")
        // for a draft that had been approved.
        let current = self.current_snapshot(&caller.tenant);
        pause(Step::BetweenReads).await;
        let Some(draft) = self.draft(&caller.tenant, draft_id).await? else {
            return Ok(Err(Refusal::not_found()));
        };
        let wanted = check::Wanted::approve(body, &caller.principal);
        let in_tx = wanted.clone();
        match check(&draft, &wanted, Some(&current)) {
            Ok(Checked::Decide) => {}
            Ok(Checked::AlreadyApproved(existing)) => return Ok(Ok((*existing, true))),
            Ok(Checked::AlreadyRejected(_)) => unreachable_rejected(),
            Err(refusal) => return Ok(Err(refusal)),
        }
        pause(Step::BeforeLock).await;
        let yaml = draft.active_snapshot.yaml.clone().unwrap_or_default();
        let source = format!("governance:{}", caller.principal);
        let (tenant, id, principal) = (
            caller.tenant.clone(),
            draft_id.to_owned(),
            caller.principal.clone(),
        );
        let channel = body.channel.unwrap_or(GovernanceChannel::Api);
        let published = self
            .publish_governed(&caller.tenant, &yaml, &source, move |tx, publication| {
                let Some(row) = store::draft(tx, &tenant, &id)? else {
                    return Ok(Err(Stop::Refused(Refusal::not_found())));
                };
                let draft = draft_of(tx, &row, true)?;
                // The authoritative check, under the publish lock, against the policy current
                // before this publish.
                match check(&draft, &in_tx, Some(&publication.previous)) {
                    Ok(Checked::Decide) => {}
                    Ok(Checked::AlreadyApproved(existing)) => {
                        return Ok(Err(Stop::Already(existing)))
                    }
                    Ok(Checked::AlreadyRejected(_)) => unreachable_rejected(),
                    Err(refusal) => return Ok(Err(Stop::Refused(refusal))),
                }
                let snapshot = &draft.active_snapshot;
                let approval = GovernanceApproval {
                    approval_id: new_id("gva"),
                    tenant: tenant.clone(),
                    draft_id: id.clone(),
                    snapshot_id: snapshot.snapshot_id.clone(),
                    draft_version: snapshot.version,
                    source_snapshot_hash: snapshot.source_snapshot_hash.clone(),
                    base_snapshot: snapshot.base_snapshot.clone(),
                    published_snapshot: publication.snapshot.clone(),
                    blocker_ids: snapshot.blocker_ids.clone(),
                    advisory_ids: snapshot.advisory_ids.clone(),
                    actor: principal.clone(),
                    channel,
                    rationale,
                    approved_at: rfc3339_us(publication.now_us),
                };
                let event = decide_in(
                    tx,
                    &draft,
                    DraftStatus::Approved,
                    &approval,
                    publication.now_us,
                )?;
                Ok(Ok((approval, Some(event))))
            })
            .await?;
        match published {
            Ok((_, approval)) => {
                tracing::info!(draft = %draft_id, actor = %caller.principal, "policy draft approved and published");
                Ok(Ok((approval, false)))
            }
            Err(refusal) => Ok(refusal.into_answer()),
        }
    }

    /// Rejects the draft at `expected_snapshot_id`; closes it.
    pub async fn reject_draft(
        &self,
        caller: &Caller,
        draft_id: &str,
        body: &countersign_core::governance::RejectDraftBody,
    ) -> Result<Result<(GovernanceRejection, bool), Refusal>, GatewayError> {
        let reason = match reason_text(Some(&body.reason), true) {
            Ok(r) => r.unwrap_or_default(),
            Err(e) => return Ok(Err(e)),
        };
        let wanted = check::Wanted::reject(body, &caller.principal);
        let (tenant, id, principal) = (
            caller.tenant.clone(),
            draft_id.to_owned(),
            caller.principal.clone(),
        );
        let channel = body.channel.unwrap_or(GovernanceChannel::Api);
        let now = self.now_us();
        let decided = self
            .store()
            .run(move |c| {
                let tx =
                    c.db.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
                let Some(row) = store::draft(&tx, &tenant, &id)? else {
                    return Ok::<_, GatewayError>((Err(Refusal::not_found()), None));
                };
                let draft = draft_of(&tx, &row, true)?;
                match check(&draft, &wanted, None) {
                    Ok(Checked::Decide) => {}
                    Ok(Checked::AlreadyRejected(existing)) => {
                        return Ok((Ok((*existing, true)), None))
                    }
                    Ok(Checked::AlreadyApproved(_)) => {
                        return Ok((Err(Refusal::closed(Some(draft))), None))
                    }
                    Err(refusal) => return Ok((Err(refusal), None)),
                }
                let snapshot = &draft.active_snapshot;
                let rejection = GovernanceRejection {
                    rejection_id: new_id("gvr"),
                    tenant: tenant.clone(),
                    draft_id: id.clone(),
                    snapshot_id: snapshot.snapshot_id.clone(),
                    draft_version: snapshot.version,
                    source_snapshot_hash: snapshot.source_snapshot_hash.clone(),
                    actor: principal.clone(),
                    channel,
                    reason,
                    rejected_at: rfc3339_us(now),
                };
                let event = decide_in(&tx, &draft, DraftStatus::Rejected, &rejection, now)?;
                tx.commit()?;
                Ok((Ok((rejection, false)), Some(event)))
            })
            .await?;
        self.notify_events(decided.1);
        Ok(decided.0)
    }
}

fn unreachable_rejected() -> ! {
    unreachable!("an approve is never answered as already rejected: `check` says draft_closed")
}

/// The policy of a snapshot whose YAML validated.
fn readable(snapshot: &DraftSnapshot) -> Option<crate::policy::Policy> {
    snapshot
        .yaml
        .as_deref()
        .and_then(|y| crate::policy::Policy::from_yaml(y).ok())
}

fn reason_text(text: Option<&str>, required: bool) -> Result<Option<String>, Refusal> {
    let text = text.map(str::trim).filter(|t| !t.is_empty());
    match text {
        None if required => Err(bad_request("a rejection needs a reason")),
        Some(t) if t.chars().count() > MAX_REASON_CHARS => Err(bad_request(format!(
            "the reason is over {MAX_REASON_CHARS} characters"
        ))),
        other => Ok(other.map(str::to_owned)),
    }
}

/// Closes `draft` at its active snapshot with `record` (an approval or a rejection), audits it
/// and announces it, in `tx`; the compare-and-set makes a second decider lose cleanly.
fn decide_in<T: serde::Serialize>(
    tx: &rusqlite::Transaction<'_>,
    draft: &PolicyDraft,
    status: DraftStatus,
    record: &T,
    now: i64,
) -> Result<i64, GatewayError> {
    let snapshot = &draft.active_snapshot;
    if !store::close_if_at(tx, &draft.draft_id, &snapshot.snapshot_id, status, now)? {
        return Err(GatewayError::Policy(
            "the draft moved during its decision".into(),
        ));
    }
    let body = serde_json::to_value(record).map_err(|e| GatewayError::Policy(e.to_string()))?;
    store::insert_decision(
        tx,
        &draft.draft_id,
        &snapshot.snapshot_id,
        status,
        &body.to_string(),
        now,
    )?;
    let action = match status {
        DraftStatus::Approved => "governance_approved",
        _ => "governance_rejected",
    };
    let mut audit_event = stamped_audit_event(now, &draft.tenant, "governance", action);
    audit_event.extra.insert("record".into(), body.clone());
    audit::append(tx, audit_event)?;
    let actor = body
        .get("actor")
        .and_then(|a| a.as_str())
        .unwrap_or("")
        .to_owned();
    let resolved = GovernanceResolved {
        draft_id: draft.draft_id.clone(),
        snapshot_id: snapshot.snapshot_id.clone(),
        status,
        actor,
        approval: (status == DraftStatus::Approved)
            .then(|| serde_json::from_value(body.clone()).ok())
            .flatten(),
        rejection: (status == DraftStatus::Rejected)
            .then(|| serde_json::from_value(body.clone()).ok())
            .flatten(),
    };
    let data = serde_json::to_value(resolved).map_err(|e| GatewayError::Policy(e.to_string()))?;
    Ok(events::append(
        tx,
        &draft.tenant,
        events::kind::GOVERNANCE_RESOLVED,
        &data,
        now,
    )?)
}
