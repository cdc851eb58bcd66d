//! Governance approvals over HTTP (extension 10): policy drafts, their snapshots, diff and
//! impact, and approve / reject bound to a snapshot. Every refusal is `{error, status, code}`
//! with a governance code, plus the draft as it stands when it exists.

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use countersign_core::governance::{
    code, ApproveDraftBody, DraftStatus, GovernanceDecisionAnswer, RejectDraftBody,
};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::extract::{body_bytes, query_param, require, Auth};
use crate::apierror::ApiError;
use crate::config::Permission;
use crate::service::{Gateway, GovernanceRefusal};

fn refused(refusal: GovernanceRefusal) -> ApiError {
    let status = StatusCode::from_u16(refusal.status).unwrap_or(StatusCode::CONFLICT);
    let mut error = ApiError::coded(status, refusal.code, refusal.message);
    if let Some(draft) = refusal.draft {
        if let Ok(value) = serde_json::to_value(&*draft) {
            error.body.insert("draft".into(), value);
        }
    }
    error
}

/// Drafts are read by reviewers, viewers and admins (the audit-read roles), never by agents:
/// an agent must not learn the rules proposed next and route its requests around them.
fn require_read(caller: &crate::auth::Caller) -> Result<(), ApiError> {
    require(caller, Permission::AuditRead)
}

fn bad(message: impl Into<String>) -> ApiError {
    ApiError::coded(StatusCode::BAD_REQUEST, code::BAD_REQUEST, message)
}

fn body_of<T: DeserializeOwned>(body: Result<Bytes, BytesRejection>) -> Result<T, ApiError> {
    let bytes = body_bytes(body)?;
    serde_json::from_slice(&bytes).map_err(|e| bad(format!("invalid body: {e}")))
}

fn answered<T: Serialize>(
    result: Result<T, GovernanceRefusal>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let value = result.map_err(refused)?;
    serde_json::to_value(value)
        .map(Json)
        .map_err(|e| ApiError::legacy(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ProposeBody {
    title: String,
    yaml: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct UpdateBody {
    yaml: String,
    #[serde(default)]
    title: Option<String>,
}

pub(super) async fn propose(
    State(gw): State<Gateway>,
    Auth(caller): Auth,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    require(&caller, Permission::PolicyWrite)?;
    let body: ProposeBody = body_of(body)?;
    let draft = gw
        .propose_draft(&caller.tenant, &caller.principal, &body.title, &body.yaml)
        .await?
        .map_err(refused)?;
    Ok((StatusCode::CREATED, Json(draft)).into_response())
}

pub(super) async fn update(
    State(gw): State<Gateway>,
    Auth(caller): Auth,
    Path(draft_id): Path<String>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<serde_json::Value>, ApiError> {
    require(&caller, Permission::PolicyWrite)?;
    let body: UpdateBody = body_of(body)?;
    answered(
        gw.update_draft(&caller.tenant, &draft_id, &body.yaml, body.title.as_deref())
            .await?,
    )
}

pub(super) async fn list(
    State(gw): State<Gateway>,
    Auth(caller): Auth,
    Query(query): Query<HashMap<String, String>>,
) -> Result<Json<serde_json::Value>, ApiError> {
    require_read(&caller)?;
    let status = match query_param(&query, "status").unwrap_or("open") {
        "open" => Some(DraftStatus::Open),
        "approved" => Some(DraftStatus::Approved),
        "rejected" => Some(DraftStatus::Rejected),
        "all" => None,
        other => {
            return Err(bad(format!(
                "unknown status {other:?}: open, approved, rejected or all"
            )))
        }
    };
    let items = gw.drafts(&caller.tenant, status).await?;
    Ok(Json(json!({ "returned": items.len(), "items": items })))
}

pub(super) async fn get(
    State(gw): State<Gateway>,
    Auth(caller): Auth,
    Path(draft_id): Path<String>,
) -> Result<Json<serde_json::Value>, ApiError> {
    require_read(&caller)?;
    let draft = gw.draft(&caller.tenant, &draft_id).await?;
    answered(draft.ok_or_else(GovernanceRefusal::not_found))
}

pub(super) async fn snapshot(
    State(gw): State<Gateway>,
    Auth(caller): Auth,
    Path((draft_id, snapshot_id)): Path<(String, String)>,
) -> Result<Json<serde_json::Value>, ApiError> {
    require_read(&caller)?;
    let snapshot = gw
        .draft_snapshot(&caller.tenant, &draft_id, Some(&snapshot_id))
        .await?;
    answered(snapshot.ok_or_else(GovernanceRefusal::not_found))
}

pub(super) async fn diff(
    State(gw): State<Gateway>,
    Auth(caller): Auth,
    Path(draft_id): Path<String>,
    Query(query): Query<HashMap<String, String>>,
) -> Result<Json<serde_json::Value>, ApiError> {
    require_read(&caller)?;
    let snapshot = query_param(&query, "snapshot_id");
    answered(gw.draft_diff(&caller.tenant, &draft_id, snapshot).await?)
}

pub(super) async fn impact(
    State(gw): State<Gateway>,
    Auth(caller): Auth,
    Path(draft_id): Path<String>,
    Query(query): Query<HashMap<String, String>>,
) -> Result<Json<serde_json::Value>, ApiError> {
    require_read(&caller)?;
    let snapshot = query_param(&query, "snapshot_id");
    answered(gw.draft_impact(&caller.tenant, &draft_id, snapshot).await?)
}

pub(super) async fn approve(
    State(gw): State<Gateway>,
    Auth(caller): Auth,
    Path(draft_id): Path<String>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<serde_json::Value>, ApiError> {
    require(&caller, Permission::JobsApprove)?;
    let body: ApproveDraftBody = body_of(body)?;
    let (approval, repeat) = gw
        .approve_draft(&caller, &draft_id, &body)
        .await?
        .map_err(refused)?;
    answered(Ok(GovernanceDecisionAnswer {
        code: if repeat {
            code::ALREADY_APPROVED
        } else {
            code::APPROVED
        }
        .to_owned(),
        approval: Some(approval),
        rejection: None,
    }))
}

pub(super) async fn reject(
    State(gw): State<Gateway>,
    Auth(caller): Auth,
    Path(draft_id): Path<String>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<serde_json::Value>, ApiError> {
    require(&caller, Permission::JobsApprove)?;
    let body: RejectDraftBody = body_of(body)?;
    let (rejection, repeat) = gw
        .reject_draft(&caller, &draft_id, &body)
        .await?
        .map_err(refused)?;
    answered(Ok(GovernanceDecisionAnswer {
        code: if repeat {
            code::ALREADY_REJECTED
        } else {
            code::REJECTED
        }
        .to_owned(),
        approval: None,
        rejection: Some(rejection),
    }))
}
