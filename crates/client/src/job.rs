//! [`JobStatus`]: what reconciliation, the watch and the reviewer read of `GET
//! /api/v1/jobs/{id}`, and [`AfterApproval`] followed there. Above [`crate::http`], which
//! knows nothing of job records.
//!
//! Absent fields are normal (each generation reports its own), but a field present with the
//! wrong type, or the record of another job, is a gateway this client cannot read: settling
//! a decision on a state read as empty would be a guess.

use std::time::Duration;

use serde::Serialize;
use serde_json::Value;

use crate::after_approval::AfterApproval;
use crate::error::{ClientError, Result};
use crate::http::GatewayClient;
use crate::text::clip;

/// The parts of `GET /api/v1/jobs/{id}` reconciliation and the reviewer need.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct JobStatus {
    pub id: String,
    pub state: String,
    pub approval_by: String,
    pub approval_job_hash: String,
    /// The snapshot the approval was granted under (`approval_policy_snapshot`).
    pub approval_policy_snapshot: String,
    pub rejected_by: String,
    /// What followed the approval, where the gateway reports it.
    pub after_approval: Option<AfterApproval>,
}

impl JobStatus {
    /// Reads the record served for `job_id`.
    fn from_record(job_id: &str, body: &Value) -> Result<Self> {
        if !body.is_object() {
            return Err(ClientError::GatewayProtocol(
                "the job record is not an object".into(),
            ));
        }
        let text = |key: &str| match body.get(key) {
            None | Some(Value::Null) => Ok(String::new()),
            Some(Value::String(text)) => Ok(text.clone()),
            Some(_) => Err(ClientError::GatewayProtocol(format!(
                "the job record's `{key}` is not a string"
            ))),
        };
        let id = text("id")?;
        if !id.is_empty() && id != job_id {
            return Err(ClientError::GatewayProtocol(format!(
                "asked for job {:?}, the gateway served job {:?}",
                clip(job_id),
                clip(&id)
            )));
        }
        Ok(Self {
            id,
            state: text("state")?,
            approval_by: text("approval_by")?,
            approval_job_hash: text("approval_job_hash")?,
            approval_policy_snapshot: text("approval_policy_snapshot")?,
            rejected_by: text("rejected_by")?,
            after_approval: AfterApproval::from_job(body),
        })
    }
}

impl GatewayClient {
    /// `GET /api/v1/jobs/{id}`.
    pub async fn job_status(&self, job_id: &str) -> Result<JobStatus> {
        JobStatus::from_record(job_id, &self.job_document(job_id).await?)
    }
}

/// How often [`GatewayClient::after_approval_settled`] looks again.
const SETTLE_POLL: Duration = Duration::from_millis(50);

impl GatewayClient {
    /// The job's post-approval status, `None` when the gateway reports none.
    pub async fn after_approval(&self, job_id: &str) -> Result<Option<AfterApproval>> {
        Ok(self.job_status(job_id).await?.after_approval)
    }

    /// The same, read again while it is [transient](AfterApproval::is_transient), for at most
    /// `within`: right after an approve the dispatcher usually decides within milliseconds.
    pub async fn after_approval_settled(
        &self,
        job_id: &str,
        within: Duration,
    ) -> Result<Option<AfterApproval>> {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            let status = self.after_approval(job_id).await?;
            let transient = status.as_ref().is_some_and(AfterApproval::is_transient);
            if !transient || tokio::time::Instant::now() >= deadline {
                return Ok(status);
            }
            tokio::time::sleep(SETTLE_POLL).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn wrong_types_and_other_jobs_are_refused_absent_fields_are_not() {
        let read = |body: Value| JobStatus::from_record("j1", &body);
        assert_eq!(read(json!({})).expect("bare").state, "");
        assert_eq!(
            read(json!({"id": "j1", "state": "PENDING", "approval_by": null}))
                .expect("v0.9")
                .state,
            "PENDING"
        );
        for body in [
            json!({"id": ["j1"], "state": "PENDING"}),
            json!({"id": "j1", "state": 7}),
            json!({"id": "j1", "approval_by": {}}),
            json!({"id": "j2", "state": "PENDING"}),
            json!([]),
        ] {
            let error = read(body.clone()).expect_err(&body.to_string());
            assert_eq!(error.code(), "gateway_protocol", "{body}");
        }
    }
}
