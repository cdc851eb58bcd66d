//! Policy publishing and snapshots, and the audit chain.

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::Json;
use serde_json::{json, Value};

use super::extract::{body_bytes, query_param, require, Auth};
use crate::apierror::ApiError;
use crate::auth::Caller;
use crate::config::{Permission, PolicyPublish};
use crate::error::GatewayError;
use crate::service::Gateway;
use crate::store::audit;
use countersign_core::governance::code;

const AUDIT_DEFAULT_LIMIT: usize = 100;
const AUDIT_MAX_LIMIT: usize = 1000;

pub(super) async fn snapshots(
    State(gw): State<Gateway>,
    Auth(caller): Auth,
) -> Result<Json<Value>, ApiError> {
    require(&caller, Permission::PolicyRead)?;
    Ok(Json(
        json!({ "snapshots": gw.snapshots(&caller.tenant).await? }),
    ))
}

/// `PUT /api/v1/policy` with a YAML body (admin only): the caller's tenant's policy, never
/// another's.
pub(super) async fn publish_policy(
    State(gw): State<Gateway>,
    Auth(caller): Auth,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<Value>, ApiError> {
    require(&caller, Permission::PolicyWrite)?;
    if gw.policy_publish() == PolicyPublish::ApprovalRequired {
        return Err(ApiError::coded(
            StatusCode::FORBIDDEN,
            code::PUBLISH_REQUIRES_APPROVAL,
            "policy changes need a governance approval: propose a draft (POST /api/v1/policy/drafts)",
        ));
    }
    let bytes = body_bytes(body)?;
    let text = std::str::from_utf8(&bytes)
        .map_err(|_| ApiError::legacy(StatusCode::BAD_REQUEST, "policy must be UTF-8 YAML"))?;
    let previous = gw.current_snapshot(&caller.tenant);
    let source = format!("api:{}", caller.principal);
    match gw
        .publish_tenant_policy(&caller.tenant, text, &source)
        .await
    {
        Ok(snapshot) => Ok(Json(json!({
            "snapshot": snapshot,
            "previous": previous,
            "changed": snapshot != previous,
        }))),
        Err(GatewayError::Policy(msg)) => Err(ApiError::legacy(
            StatusCode::BAD_REQUEST,
            format!("invalid policy: {msg}"),
        )),
        Err(other) => Err(other.into()),
    }
}

/// The tenant whose audit chain is read: always the caller's own; a `?tenant=` naming another
/// tenant is refused rather than ignored.
fn audit_tenant(caller: &Caller, query: &HashMap<String, String>) -> Result<String, ApiError> {
    require(caller, Permission::AuditRead)?;
    match query_param(query, "tenant") {
        Some(t) if t != caller.tenant => Err(ApiError::tenant_denied()),
        _ => Ok(caller.tenant.clone()),
    }
}

pub(super) async fn audit_events(
    State(gw): State<Gateway>,
    Auth(caller): Auth,
    Query(query): Query<HashMap<String, String>>,
) -> Result<Json<Value>, ApiError> {
    let tenant = audit_tenant(&caller, &query)?;
    let bad = |what: &str| ApiError::legacy(StatusCode::BAD_REQUEST, format!("invalid {what}"));
    let after = match query_param(&query, "cursor") {
        None => 0,
        Some(c) => c.parse::<i64>().map_err(|_| bad("cursor"))?,
    };
    let limit = match query_param(&query, "limit") {
        None => AUDIT_DEFAULT_LIMIT,
        Some(l) => l
            .parse::<usize>()
            .map_err(|_| bad("limit"))?
            .clamp(1, AUDIT_MAX_LIMIT),
    };
    let events = gw
        .store()
        .run(move |c| Ok::<_, GatewayError>(audit::list(&c.db, &tenant, after, limit)?))
        .await?;
    let next_cursor = match events.last() {
        Some(last) if events.len() >= limit => last.seq.to_string(),
        _ => String::new(),
    };
    let items: Vec<Value> = events
        .iter()
        .map(|e| {
            let mut v = json!(e);
            v["id"] = json!(e.seq.to_string());
            v
        })
        .collect();
    Ok(Json(json!({
        "returned": items.len(),
        "items": items,
        "next_cursor": next_cursor,
    })))
}

pub(super) async fn audit_verify(
    State(gw): State<Gateway>,
    Auth(caller): Auth,
    Query(query): Query<HashMap<String, String>>,
) -> Result<Json<Value>, ApiError> {
    let tenant = audit_tenant(&caller, &query)?;
    let result = gw
        .store()
        .run(move |c| Ok::<_, GatewayError>(audit::verify(&c.db, &tenant)?))
        .await?;
    Ok(Json(json!(result)))
}
