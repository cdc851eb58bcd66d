//! The dispatch record. Cordum publishes a job to its bus once its gates pass; this gateway's
//! dispatcher (`service::dispatcher`, `service::gate`) records the dispatch in the
//! `dispatches` table inside the same transaction that moves the job from `PENDING` to
//! `SCHEDULED`. `job_id` is the primary key, so a second dispatch of the same job fails the
//! whole transaction instead of running the job twice: that is how exactly-once is enforced
//! and how tests prove it.

use rusqlite::{params, Connection};

/// Why a job was dispatched.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// Allowed at submit time.
    Submit,
    /// Released by a human approval.
    Approval,
}

impl Source {
    fn as_str(self) -> &'static str {
        match self {
            Self::Submit => "submit",
            Self::Approval => "approval",
        }
    }
}

/// Records the dispatch of a job; fails if it was already dispatched.
pub fn record(
    db: &Connection,
    job_id: &str,
    tenant: &str,
    topic: &str,
    source: Source,
    now_us: i64,
) -> rusqlite::Result<()> {
    db.execute(
        "INSERT INTO dispatches (job_id, tenant, topic, source, dispatched_at) VALUES (?1, ?2, ?3, ?4, ?5)",
        params![job_id, tenant, topic, source.as_str(), now_us],
    )?;
    Ok(())
}

/// How many times this job was dispatched (0 or 1 by construction).
pub fn count(db: &Connection, job_id: &str) -> rusqlite::Result<i64> {
    db.query_row(
        "SELECT COUNT(*) FROM dispatches WHERE job_id = ?1",
        [job_id],
        |r| r.get(0),
    )
}
