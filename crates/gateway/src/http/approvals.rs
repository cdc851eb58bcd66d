//! The reviewer surface: list, context, the stored request and the payload (extensions),
//! approve and reject.

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};

use super::extract::{json_body, query_param, require, Auth};
use crate::apierror::ApiError;
use crate::auth::Caller;
use crate::config::Permission;
use crate::error::GatewayError;
use crate::service::{DecisionBody, Gateway, Verb};
use crate::store::jobs::{self, JobRow};
use crate::view;

const DEFAULT_LIMIT: usize = 100;
const MAX_LIMIT: usize = 500;
const PRIOR_WINDOW_US: i64 = 30 * 24 * 3600 * 1_000_000;

fn bad_request(message: &str) -> ApiError {
    ApiError::approval(StatusCode::BAD_REQUEST, message)
}

pub(super) async fn list(
    State(gw): State<Gateway>,
    Auth(caller): Auth,
    Query(query): Query<HashMap<String, String>>,
) -> Result<Response, ApiError> {
    require(&caller, Permission::JobsApprove)?;
    let limit = match query_param(&query, "limit") {
        None => DEFAULT_LIMIT,
        Some(v) => match v.parse::<i64>() {
            Ok(n) if n <= 0 => DEFAULT_LIMIT,
            Ok(n) => usize::try_from(n).unwrap_or(MAX_LIMIT).min(MAX_LIMIT),
            Err(_) => return Err(bad_request("invalid limit")),
        },
    };
    let cursor = match query_param(&query, "cursor") {
        None => i64::MAX,
        Some(v) => v
            .parse::<i64>()
            .map_err(|_| bad_request("invalid cursor"))?,
    };
    let include_resolved = query.get("include_resolved").map(String::as_str) != Some("false");
    gw.expire_overdue(Some(&caller.tenant)).await?;
    let tenant = caller.tenant.clone();
    let list_error = |e: serde_json::Error| {
        ApiError::legacy(StatusCode::INTERNAL_SERVER_ERROR, format!("list: {e}"))
    };
    // The page is written while the rows are read, from their borrowed text: no row is
    // copied out of SQLite (issue 14).
    let page = gw
        .store()
        .run(move |c| {
            let mut page = view::ApprovalPage::new(limit);
            let (mut listed, mut last_updated) = (0, 0);
            jobs::list_approvals(&c.db, &tenant, cursor, limit, include_resolved, |item| {
                listed += 1;
                last_updated = item.updated_at;
                page.push(item).map_err(list_error)
            })?;
            let next_cursor =
                (listed > 0 && listed >= limit).then(|| last_updated.saturating_sub(1));
            page.finish(next_cursor).map_err(list_error)
        })
        .await?;
    Ok(([(header::CONTENT_TYPE, "application/json")], page).into_response())
}

/// The caller's job, once the caller may review it; 404 for other tenants' jobs, which are
/// invisible.
async fn own_job(gw: &Gateway, caller: &Caller, job_id: String) -> Result<JobRow, ApiError> {
    require(caller, Permission::JobsApprove)?;
    gw.expire_overdue(Some(&caller.tenant)).await?;
    let tenant = caller.tenant.clone();
    gw.store()
        .run(move |c| Ok::<_, GatewayError>(jobs::get(&c.db, &job_id)?))
        .await?
        .filter(|j| j.tenant == tenant)
        .ok_or_else(|| ApiError::approval(StatusCode::NOT_FOUND, "job not found"))
}

pub(super) async fn context(
    State(gw): State<Gateway>,
    Auth(caller): Auth,
    Path(job_id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let job = own_job(&gw, &caller, job_id).await?;
    let now = gw.now_us();
    let (tenant, topic, id) = (job.tenant.clone(), job.topic.clone(), job.id.clone());
    let prior = gw
        .store()
        .run(move |c| {
            Ok::<_, GatewayError>(jobs::prior_approvals(
                &c.db,
                &tenant,
                &topic,
                &id,
                now.saturating_sub(PRIOR_WINDOW_US),
            )?)
        })
        .await?;
    let policy = gw.policy_for(&job.tenant, &job.safety.snapshot);
    Ok(Json(view::context_view(
        &job,
        &prior,
        policy.as_deref(),
        now,
    )))
}

/// Extension: the stored request as a protojson object, so a client can recompute its hash.
pub(super) async fn request(
    State(gw): State<Gateway>,
    Auth(caller): Auth,
    Path(job_id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let job = own_job(&gw, &caller, job_id).await?;
    let request: Value = serde_json::from_str(&job.request)
        .map_err(|_| ApiError::approval(StatusCode::NOT_FOUND, "job request not found"))?;
    Ok(Json(json!({
        "job_id": job.id,
        "job_hash": job.safety.job_hash,
        "job_request": request,
    })))
}

/// Extension: the payload's bytes exactly as its content-addressed `context_ptr` names them
/// (see [`crate::request::payload`]), so a client can prove them against the job hash.
pub(super) async fn payload(
    State(gw): State<Gateway>,
    Auth(caller): Auth,
    Path(job_id): Path<String>,
) -> Result<Response, ApiError> {
    let job = own_job(&gw, &caller, job_id).await?;
    let bytes = crate::request::payload(&job.prompt, &job.context);
    Ok(([(header::CONTENT_TYPE, "application/json")], bytes).into_response())
}

async fn decide(
    gw: Gateway,
    caller: Caller,
    job_id: String,
    verb: Verb,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<Value>, ApiError> {
    require(&caller, Permission::JobsApprove)?;
    let body: DecisionBody =
        json_body(body, true).map_err(|e| ApiError::approval(e.status, e.message()))?;
    gw.decide(&caller, &job_id, verb, body).await.map(Json)
}

pub(super) async fn approve(
    State(gw): State<Gateway>,
    Auth(caller): Auth,
    Path(job_id): Path<String>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<Value>, ApiError> {
    decide(gw, caller, job_id, Verb::Approve, body).await
}

pub(super) async fn reject(
    State(gw): State<Gateway>,
    Auth(caller): Auth,
    Path(job_id): Path<String>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<Value>, ApiError> {
    decide(gw, caller, job_id, Verb::Reject, body).await
}
