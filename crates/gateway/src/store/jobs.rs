//! Job rows: the stored request, its safety record (the policy decision it was submitted
//! under) and its approval record (who resolved it, how, and on which snapshot and hash).
//! Also the idempotency answers of `POST /api/v1/jobs`.

use rusqlite::{params, Connection, OptionalExtension, Row};
use serde_json::Value;

use super::{from_json, to_json};
use crate::view;

/// Job states this gateway uses (Cordum's names).
pub mod state {
    pub const APPROVAL_REQUIRED: &str = "APPROVAL_REQUIRED";
    pub const PENDING: &str = "PENDING";
    pub const DENIED: &str = "DENIED";
    /// An approval whose deadline passed.
    pub const TIMEOUT: &str = "TIMEOUT";
    /// The dispatch-time gate passed and a worker was chosen.
    pub const SCHEDULED: &str = "SCHEDULED";
    /// Handed to the worker.
    pub const DISPATCHED: &str = "DISPATCHED";
    pub const RUNNING: &str = "RUNNING";
    pub const SUCCEEDED: &str = "SUCCEEDED";
    pub const FAILED: &str = "FAILED";
}

/// The policy decision recorded when the job was submitted, or refreshed on drift.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SafetyRecord {
    pub decision: String,
    pub reason: String,
    pub rule_id: String,
    pub snapshot: String,
    pub constraints: Option<Value>,
    pub job_hash: String,
    pub approval_required: bool,
    pub checked_at: i64,
}

/// The approval record; empty `status` for jobs that never needed one.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ApprovalRecord {
    /// `pending` / `approved` / `rejected` / `invalidated` (a policy change refused it) /
    /// `expired` (its deadline passed).
    pub status: String,
    pub revision: i64,
    /// `approve` / `reject` / `invalidate` / `expire` once resolved.
    pub decision: String,
    pub resolved_by: String,
    pub resolved_at: i64,
    /// The resolver's `reason`.
    pub resolution: String,
    /// The resolver's `note`.
    pub comment: String,
    pub job_hash: String,
    pub snapshot: String,
}

impl ApprovalRecord {
    /// Counts one more change of the item (1 is a fresh item; stored values are not trusted
    /// to be sane, so the count saturates).
    pub fn bump_revision(&mut self) {
        self.revision = self.revision.max(1).saturating_add(1);
    }
}

/// One stored job.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct JobRow {
    pub id: String,
    pub tenant: String,
    pub trace_id: String,
    pub state: String,
    pub topic: String,
    pub principal: String,
    pub actor_id: String,
    pub actor_type: String,
    pub idempotency_key: String,
    pub capability: String,
    pub pack_id: String,
    pub risk_tags: Vec<String>,
    pub requires: Vec<String>,
    pub prompt: String,
    /// The decoded `context` of the submit body (the item's `job_input`), or `null`.
    pub context: Value,
    /// The JobRequest as protojson text; its hash is what a reviewer approves.
    pub request: String,
    pub submitted_by: String,
    pub deadline_unix: i64,
    pub created_at: i64,
    pub updated_at: i64,
    pub safety: SafetyRecord,
    pub approval: ApprovalRecord,
}

const COLUMNS: &str = "id, tenant, trace_id, state, topic, principal, actor_id, actor_type, \
    idempotency_key, capability, pack_id, risk_tags, requires, prompt, context, request, \
    submitted_by, deadline_unix, created_at, updated_at, safety_decision, safety_reason, \
    safety_rule_id, safety_snapshot, safety_constraints, safety_job_hash, approval_required, \
    checked_at, approval_status, approval_revision, approval_decision, resolved_by, resolved_at, \
    resolution, resolved_comment, approval_job_hash, approval_snapshot";

fn read_row(r: &Row<'_>) -> rusqlite::Result<JobRow> {
    let text = |i: usize| r.get::<_, String>(i);
    Ok(JobRow {
        id: text(0)?,
        tenant: text(1)?,
        trace_id: text(2)?,
        state: text(3)?,
        topic: text(4)?,
        principal: text(5)?,
        actor_id: text(6)?,
        actor_type: text(7)?,
        idempotency_key: text(8)?,
        capability: text(9)?,
        pack_id: text(10)?,
        risk_tags: from_json(&text(11)?),
        requires: from_json(&text(12)?),
        prompt: text(13)?,
        context: from_json(&text(14)?),
        request: text(15)?,
        submitted_by: text(16)?,
        deadline_unix: r.get(17)?,
        created_at: r.get(18)?,
        updated_at: r.get(19)?,
        safety: SafetyRecord {
            decision: text(20)?,
            reason: text(21)?,
            rule_id: text(22)?,
            snapshot: text(23)?,
            constraints: from_json(&text(24)?),
            job_hash: text(25)?,
            approval_required: r.get(26)?,
            checked_at: r.get(27)?,
        },
        approval: ApprovalRecord {
            status: text(28)?,
            revision: r.get(29)?,
            decision: text(30)?,
            resolved_by: text(31)?,
            resolved_at: r.get(32)?,
            resolution: text(33)?,
            comment: text(34)?,
            job_hash: text(35)?,
            snapshot: text(36)?,
        },
    })
}

/// Inserts a new job.
pub fn insert(db: &Connection, job: &JobRow) -> rusqlite::Result<()> {
    let s = &job.safety;
    let a = &job.approval;
    db.execute(
        &format!(
            "INSERT INTO jobs ({COLUMNS}, item_labels) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, \
             ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21, ?22, ?23, ?24, ?25, ?26, \
             ?27, ?28, ?29, ?30, ?31, ?32, ?33, ?34, ?35, ?36, ?37, ?38)"
        ),
        params![
            job.id,
            job.tenant,
            job.trace_id,
            job.state,
            job.topic,
            job.principal,
            job.actor_id,
            job.actor_type,
            job.idempotency_key,
            job.capability,
            job.pack_id,
            to_json(&job.risk_tags),
            to_json(&job.requires),
            job.prompt,
            to_json(&job.context),
            job.request,
            job.submitted_by,
            job.deadline_unix,
            job.created_at,
            job.updated_at,
            s.decision,
            s.reason,
            s.rule_id,
            s.snapshot,
            to_json(&s.constraints),
            s.job_hash,
            s.approval_required,
            s.checked_at,
            a.status,
            a.revision,
            a.decision,
            a.resolved_by,
            a.resolved_at,
            a.resolution,
            a.comment,
            a.job_hash,
            a.snapshot,
            view::stored_item_labels(&job.request),
        ],
    )?;
    Ok(())
}

/// The job with this id, in any tenant.
pub fn get(db: &Connection, id: &str) -> rusqlite::Result<Option<JobRow>> {
    db.query_row(
        &format!("SELECT {COLUMNS} FROM jobs WHERE id = ?1"),
        [id],
        read_row,
    )
    .optional()
}

/// The columns an approval item shows, in [`read_item`]'s order. The request is read only
/// for rows older than `item_labels`, which have their labels decoded from it.
const ITEM_COLUMNS: &str = "id, trace_id, state, topic, tenant, principal, actor_id, \
    actor_type, idempotency_key, capability, pack_id, risk_tags, requires, prompt, context, \
    submitted_by, deadline_unix, updated_at, safety_decision, safety_reason, safety_rule_id, \
    safety_snapshot, safety_constraints, safety_job_hash, approval_required, approval_status, \
    approval_revision, approval_decision, resolved_by, resolved_at, resolution, \
    resolved_comment, item_labels, CASE WHEN item_labels IS NULL THEN request END";

/// Text of column `i`, borrowed from the row; the same errors as `Row::get::<String>` (a
/// NULL or a blob where text belongs, text that is not UTF-8) for the same bad rows.
fn text<'r>(r: &'r Row<'_>, i: usize) -> rusqlite::Result<&'r str> {
    let value = r.get_ref(i)?;
    value.as_str().map_err(|e| match e {
        rusqlite::types::FromSqlError::Utf8Error(e) => rusqlite::Error::Utf8Error(i, e),
        _ => rusqlite::Error::InvalidColumnType(
            i,
            r.as_ref().column_name(i).unwrap_or("?").to_owned(),
            value.data_type(),
        ),
    })
}

fn read_item<'r>(r: &'r Row<'_>) -> rusqlite::Result<view::StoredItem<'r>> {
    Ok(view::StoredItem {
        id: text(r, 0)?,
        trace_id: text(r, 1)?,
        state: text(r, 2)?,
        topic: text(r, 3)?,
        tenant: text(r, 4)?,
        principal: text(r, 5)?,
        actor_id: text(r, 6)?,
        actor_type: text(r, 7)?,
        idempotency_key: text(r, 8)?,
        capability: text(r, 9)?,
        pack_id: text(r, 10)?,
        risk_tags: text(r, 11)?,
        requires: text(r, 12)?,
        prompt: text(r, 13)?,
        context: text(r, 14)?,
        submitted_by: text(r, 15)?,
        deadline_unix: r.get(16)?,
        updated_at: r.get(17)?,
        safety_decision: text(r, 18)?,
        safety_reason: text(r, 19)?,
        safety_rule_id: text(r, 20)?,
        safety_snapshot: text(r, 21)?,
        safety_constraints: text(r, 22)?,
        job_hash: text(r, 23)?,
        approval_required: r.get(24)?,
        approval_status: text(r, 25)?,
        approval_revision: r.get(26)?,
        approval_decision: text(r, 27)?,
        resolved_by: text(r, 28)?,
        resolved_at: r.get(29)?,
        resolution: text(r, 30)?,
        resolved_comment: text(r, 31)?,
        labels: match r.get_ref(32)?.as_str_or_null() {
            Ok(Some(labels)) => view::LabelsText::Stored(labels),
            Ok(None) => view::LabelsText::Request(text(r, 33)?),
            // Neither text nor NULL: `text` names the column and what it holds.
            Err(_) => view::LabelsText::Stored(text(r, 32)?),
        },
    })
}

/// Approval items of a tenant, newest first, at or before `cursor` (µs), each handed to
/// `each` as it is read: borrowed from SQLite, so the caller writes it out before the next.
pub fn list_approvals<E: From<rusqlite::Error>>(
    db: &Connection,
    tenant: &str,
    cursor: i64,
    limit: usize,
    include_resolved: bool,
    mut each: impl FnMut(&view::StoredItem<'_>) -> Result<(), E>,
) -> Result<(), E> {
    let mut stmt = db.prepare_cached(&format!(
        "SELECT {ITEM_COLUMNS} FROM jobs WHERE tenant = ?1 AND updated_at <= ?2 \
         AND approval_required = 1 \
         AND (state = 'APPROVAL_REQUIRED' \
              OR (?3 AND approval_status IN ('approved', 'rejected', 'invalidated', 'expired'))) \
         ORDER BY updated_at DESC LIMIT ?4"
    ))?;
    let mut rows = stmt.query(params![
        tenant,
        cursor,
        include_resolved,
        i64::try_from(limit).unwrap_or(i64::MAX)
    ])?;
    while let Some(row) = rows.next()? {
        each(&read_item(row)?)?;
    }
    Ok(())
}

/// Up to 10 resolved approvals of the same tenant and topic since `since_us`, newest first.
pub fn prior_approvals(
    db: &Connection,
    tenant: &str,
    topic: &str,
    exclude_id: &str,
    since_us: i64,
) -> rusqlite::Result<Vec<JobRow>> {
    let mut stmt = db.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM jobs WHERE tenant = ?1 AND topic = ?2 AND id != ?3 \
         AND approval_status IN ('approved', 'rejected') AND resolved_at >= ?4 \
         ORDER BY resolved_at DESC LIMIT 10"
    ))?;
    let rows = stmt.query_map(params![tenant, topic, exclude_id, since_us], read_row)?;
    rows.collect()
}

/// Writes the mutable parts of a job (state, request, safety and approval records), but only
/// while the job is still in `expected_state`. Returns whether the row was updated: `false`
/// means another writer resolved it first.
pub fn update_guarded(
    db: &Connection,
    job: &JobRow,
    expected_state: &str,
) -> rusqlite::Result<bool> {
    update_where(db, job, expected_state, None)
}

/// Like [`update_guarded`], and additionally only while the stored safety record still names
/// `expected_snapshot`: a re-evaluation must not overwrite a record that an approve (here or in
/// another process on the same file) refreshed or resolved since it was read.
pub fn update_if_snapshot(
    db: &Connection,
    job: &JobRow,
    expected_state: &str,
    expected_snapshot: &str,
) -> rusqlite::Result<bool> {
    update_where(db, job, expected_state, Some(expected_snapshot))
}

fn update_where(
    db: &Connection,
    job: &JobRow,
    expected_state: &str,
    expected_snapshot: Option<&str>,
) -> rusqlite::Result<bool> {
    let s = &job.safety;
    let a = &job.approval;
    let changed = db.execute(
        "UPDATE jobs SET state = ?1, request = ?2, updated_at = ?3, safety_decision = ?4, \
         safety_reason = ?5, safety_rule_id = ?6, safety_snapshot = ?7, safety_constraints = ?8, \
         safety_job_hash = ?9, checked_at = ?10, approval_status = ?11, approval_revision = ?12, \
         approval_decision = ?13, resolved_by = ?14, resolved_at = ?15, resolution = ?16, \
         resolved_comment = ?17, approval_job_hash = ?18, approval_snapshot = ?19, \
         approval_required = ?23, item_labels = ?24 \
         WHERE id = ?20 AND state = ?21 AND (?22 IS NULL OR safety_snapshot = ?22)",
        params![
            job.state,
            job.request,
            job.updated_at,
            s.decision,
            s.reason,
            s.rule_id,
            s.snapshot,
            to_json(&s.constraints),
            s.job_hash,
            s.checked_at,
            a.status,
            a.revision,
            a.decision,
            a.resolved_by,
            a.resolved_at,
            a.resolution,
            a.comment,
            a.job_hash,
            a.snapshot,
            job.id,
            expected_state,
            expected_snapshot,
            s.approval_required,
            view::stored_item_labels(&job.request),
        ],
    )?;
    Ok(changed == 1)
}

/// Replaces only the stored request text (the mutation hook; the hash is left alone on
/// purpose so that the change is detectable).
pub fn set_request(db: &Connection, id: &str, request: &str) -> rusqlite::Result<bool> {
    Ok(db.execute(
        "UPDATE jobs SET request = ?1, item_labels = ?3 WHERE id = ?2",
        params![request, id, view::stored_item_labels(request)],
    )? == 1)
}

pub fn set_context(db: &Connection, id: &str, context: &Value) -> rusqlite::Result<bool> {
    Ok(db.execute(
        "UPDATE jobs SET context = ?1 WHERE id = ?2",
        params![to_json(context), id],
    )? == 1)
}

/// Every job of `tenant` awaiting approval, oldest first.
pub fn pending(db: &Connection, tenant: &str) -> rusqlite::Result<Vec<JobRow>> {
    let mut stmt = db.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM jobs WHERE state = 'APPROVAL_REQUIRED' AND tenant = ?1 \
         ORDER BY updated_at"
    ))?;
    let rows = stmt.query_map([tenant], read_row)?;
    rows.collect()
}

/// Creation times (µs) of every job awaiting approval, for the age metric.
pub fn pending_created(db: &Connection) -> rusqlite::Result<Vec<i64>> {
    let mut stmt =
        db.prepare_cached("SELECT created_at FROM jobs WHERE state = 'APPROVAL_REQUIRED'")?;
    let rows = stmt.query_map([], |r| r.get(0))?;
    rows.collect()
}

/// Pending jobs (of one tenant, or of all) whose deadline is at or before `now_s`.
pub fn overdue(db: &Connection, tenant: Option<&str>, now_s: i64) -> rusqlite::Result<Vec<JobRow>> {
    let mut stmt = db.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM jobs WHERE state = 'APPROVAL_REQUIRED' AND deadline_unix > 0 \
         AND deadline_unix <= ?1 AND (?2 IS NULL OR tenant = ?2) ORDER BY updated_at"
    ))?;
    let rows = stmt.query_map(params![now_s, tenant], read_row)?;
    rows.collect()
}

/// Every tenant with a job awaiting approval.
pub fn pending_tenants(db: &Connection) -> rusqlite::Result<Vec<String>> {
    let mut stmt = db.prepare_cached(
        "SELECT DISTINCT tenant FROM jobs WHERE state = 'APPROVAL_REQUIRED' ORDER BY tenant",
    )?;
    let rows = stmt.query_map([], |r| r.get(0))?;
    rows.collect()
}

/// Ids of a tenant's pending approvals, newest first (for the demo).
pub fn pending_ids(db: &Connection, tenant: &str, limit: usize) -> rusqlite::Result<Vec<String>> {
    let mut stmt = db.prepare_cached(
        "SELECT id FROM jobs WHERE state = 'APPROVAL_REQUIRED' AND tenant = ?1 \
         ORDER BY updated_at DESC LIMIT ?2",
    )?;
    let rows = stmt.query_map(
        params![tenant, i64::try_from(limit).unwrap_or(i64::MAX)],
        |r| r.get(0),
    )?;
    rows.collect()
}

/// A stored answer to an idempotent submit.
#[derive(Debug, Clone, PartialEq)]
pub struct IdempotentAnswer {
    pub status: u16,
    pub body: Value,
}

/// The stored answer for `(tenant, key)`.
pub fn idempotent_answer(
    db: &Connection,
    tenant: &str,
    key: &str,
) -> rusqlite::Result<Option<IdempotentAnswer>> {
    db.query_row(
        "SELECT status, body FROM idempotency WHERE tenant = ?1 AND key = ?2",
        [tenant, key],
        |r| {
            Ok(IdempotentAnswer {
                status: r.get(0)?,
                body: from_json(&r.get::<_, String>(1)?),
            })
        },
    )
    .optional()
}

/// Remembers the answer for `(tenant, key)`.
pub fn remember_answer(
    db: &Connection,
    tenant: &str,
    key: &str,
    answer: &IdempotentAnswer,
    now_us: i64,
) -> rusqlite::Result<()> {
    db.execute(
        "INSERT INTO idempotency (tenant, key, status, body, created_at) VALUES (?1, ?2, ?3, ?4, ?5)",
        params![tenant, key, answer.status, to_json(&answer.body), now_us],
    )?;
    Ok(())
}
