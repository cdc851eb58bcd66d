//! `POST /api/v1/jobs`: validation, the submit-time policy gate (CONTRACT.md §9) and
//! idempotent replay. Nothing is persisted or dispatched before the policy has decided.

use axum::http::StatusCode;
use serde_json::{json, Value};

use super::Gateway;
use crate::apierror::ApiError;
use crate::auth::Caller;
use crate::error::GatewayError;
use crate::policy::{Decision, Subject};
use crate::request::{self, Requester, SubmitBody};
use crate::store::jobs::{self, state, ApprovalRecord, IdempotentAnswer, JobRow, SafetyRecord};
use crate::store::{audit, events, scheduling};
use crate::view;

/// A successful (2xx) submit answer.
#[derive(Debug, Clone, PartialEq)]
pub struct SubmitOutcome {
    pub status: StatusCode,
    pub body: Value,
    /// Sent as `X-Trace-Id`.
    pub trace_id: String,
}

impl SubmitOutcome {
    fn from_answer(answer: IdempotentAnswer) -> Result<Self, ApiError> {
        let status = StatusCode::from_u16(answer.status).unwrap_or(StatusCode::OK);
        let trace_id = answer.body["trace_id"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        Ok(Self {
            status,
            body: answer.body,
            trace_id,
        })
    }
}

impl Gateway {
    /// Submits a job on behalf of `caller`.
    pub async fn submit(
        &self,
        caller: &Caller,
        body: SubmitBody,
        header_key: Option<String>,
    ) -> Result<SubmitOutcome, ApiError> {
        body.validate(&self.inner.submit_limits)
            .and_then(|()| body.check_reserved_labels(caller.role.may_mark_gates()))
            .map_err(|msg| ApiError::legacy(StatusCode::BAD_REQUEST, msg))?;
        if !body.tenant_id.is_empty() && body.tenant_id != caller.tenant {
            return Err(ApiError::tenant_denied());
        }
        let key = header_key
            .filter(|k| !k.trim().is_empty())
            .unwrap_or_else(|| body.idempotency_key.clone());
        let tenant = caller.tenant.clone();
        if !key.is_empty() {
            let (t, k) = (tenant.clone(), key.clone());
            let prior = self
                .store()
                .run(move |c| Ok::<_, GatewayError>(jobs::idempotent_answer(&c.db, &t, &k)?))
                .await?;
            if let Some(answer) = prior {
                return SubmitOutcome::from_answer(answer);
            }
        }

        let principal = if body.principal_id.is_empty() {
            caller.principal.clone()
        } else {
            body.principal_id.clone()
        };
        let who = Requester {
            tenant: tenant.clone(),
            actor_id: if body.actor_id.is_empty() {
                principal.clone()
            } else {
                body.actor_id.clone()
            },
            principal,
        };
        let job_id = uuid::Uuid::new_v4().to_string();
        let trace_id = uuid::Uuid::new_v4().to_string();
        let req = request::build(&job_id, &body, &who, &key);
        let labels = request::policy_labels(&req);
        // Held to the commit: a publish in between would re-evaluate the pending items without
        // this one, leaving it under a policy that is no longer current.
        let _policy_stable = self.inner.publish.read().await;
        let (verdict, snapshot) = self.evaluate(
            &tenant,
            Subject {
                topic: &req.topic,
                labels: &labels,
            },
        );

        let mut event = self.audit_event(&tenant, "job", "submit");
        event.job_id = job_id.clone();
        event.agent_id = who.actor_id.clone();
        event.decision = verdict.decision.wire_name().into();
        event.matched_rule = verdict.rule_id.clone();
        event.reason = verdict.reason.clone();
        event.risk_tags = body.risk_tags.clone();
        event.policy_version = snapshot.clone();
        event.identity = caller.identity();
        event.extra.insert("topic".into(), json!(req.topic));

        match verdict.decision {
            Decision::Deny | Decision::Throttle => {
                let refusal = if verdict.decision == Decision::Deny {
                    let msg = non_empty_or(&verdict.reason, "policy denied");
                    ApiError::legacy(StatusCode::FORBIDDEN, msg)
                } else {
                    let msg = non_empty_or(&verdict.reason, "policy throttled");
                    ApiError {
                        retry_after: Some(self.inner.retry_after_s),
                        ..ApiError::legacy(StatusCode::TOO_MANY_REQUESTS, msg)
                    }
                };
                self.store()
                    .run(move |c| {
                        let tx = c.db.transaction()?;
                        audit::append(&tx, event)?;
                        tx.commit()?;
                        Ok::<_, GatewayError>(())
                    })
                    .await?;
                return Err(refusal);
            }
            Decision::Allow | Decision::RequireHuman => {}
        }

        let needs_human = verdict.decision == Decision::RequireHuman;
        let job_hash = crate::request::job_hash(&req);
        let now = self.now_us();
        let mut job = JobRow {
            id: job_id.clone(),
            tenant: tenant.clone(),
            trace_id: trace_id.clone(),
            state: if needs_human {
                state::APPROVAL_REQUIRED
            } else {
                state::PENDING
            }
            .into(),
            topic: req.topic.clone(),
            principal: who.principal.clone(),
            actor_id: who.actor_id.clone(),
            actor_type: body.actor_type.clone(),
            idempotency_key: key.clone(),
            capability: body.capability.clone(),
            pack_id: body.pack_id.clone(),
            risk_tags: body.risk_tags.clone(),
            requires: body.requires.clone(),
            prompt: body.prompt.clone(),
            context: body.context.clone().unwrap_or(Value::Null),
            request: req.to_protojson(),
            submitted_by: caller.identity(),
            deadline_unix: super::expiry::deadline_unix(now, body.deadline_ms),
            created_at: now,
            updated_at: now,
            safety: SafetyRecord {
                decision: verdict.decision.wire_name().into(),
                reason: verdict.reason.clone(),
                rule_id: verdict.rule_id.clone(),
                snapshot,
                constraints: verdict.constraints.clone(),
                job_hash,
                approval_required: needs_human,
                checked_at: now,
            },
            approval: if needs_human {
                ApprovalRecord {
                    status: "pending".into(),
                    revision: 1,
                    ..ApprovalRecord::default()
                }
            } else {
                ApprovalRecord::default()
            },
        };
        let answer = if needs_human {
            IdempotentAnswer {
                status: 200,
                body: json!({
                    "job_id": job_id,
                    "trace_id": trace_id,
                    "status": "approval_required",
                    "reason": verdict.reason,
                }),
            }
        } else {
            IdempotentAnswer {
                status: 200,
                body: json!({ "job_id": job_id, "trace_id": trace_id }),
            }
        };

        let (answer, event_id) = self
            .store()
            .run(move |c| {
                let stamp = c.stamp(now);
                job.updated_at = stamp;
                let tx = c.db.transaction()?;
                if !key.is_empty() {
                    // Re-checked inside the transaction: a concurrent submit with the same key
                    // may have won since the first look.
                    if let Some(first) = jobs::idempotent_answer(&tx, &job.tenant, &key)? {
                        return Ok::<_, GatewayError>((first, None));
                    }
                    jobs::remember_answer(&tx, &job.tenant, &key, &answer, now)?;
                }
                jobs::insert(&tx, &job)?;
                audit::append(&tx, event)?;
                let event_id = if needs_human {
                    let item = view::approval_item(&job);
                    Some(events::append(
                        &tx,
                        &job.tenant,
                        events::kind::APPROVAL_REQUIRED,
                        &item,
                        now,
                    )?)
                } else {
                    // Dispatched by the dispatcher, through the dispatch-time gate.
                    scheduling::ready(&tx, &job.id, &job.tenant, now)?;
                    None
                };
                tx.commit()?;
                Ok((answer, event_id))
            })
            .await?;
        self.notify_events(event_id);
        if !needs_human {
            self.queue_dispatch(&job_id, now);
        }
        SubmitOutcome::from_answer(answer)
    }
}

fn non_empty_or(text: &str, fallback: &str) -> String {
    if text.trim().is_empty() {
        fallback.to_owned()
    } else {
        text.to_owned()
    }
}
