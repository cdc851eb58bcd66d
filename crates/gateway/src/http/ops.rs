//! The dispatcher's surface: `/health?detail=true`, `/metrics`, `POST /api/v1/policy/simulate`
//! and the simulation switches under `/api/v1/admin/` (an extension: tests and the demo make
//! the policy engine slow, failing or down and the workers of a topic fail or vanish).

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};

use super::extract::{json_body, query_param, require, Auth};
use crate::apierror::ApiError;
use crate::auth::Caller;
use crate::config::Permission;
use crate::engine::EngineMode;
use crate::service::{Gateway, SimulateBody};
use crate::workers::{WorkerMode, ANY_TOPIC};

/// The OpenMetrics text type `prometheus-client` writes; Prometheus reads it.
const METRICS_CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// `GET /health`: `ok`, or with `?detail=true` the engine, breaker and dispatcher as JSON.
pub(super) async fn health(
    State(gw): State<Gateway>,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    match query_param(&query, "detail") {
        Some("true" | "1") => Json(gw.health_detail()).into_response(),
        _ => "ok".into_response(),
    }
}

/// `GET /metrics` (admin): the counters span tenants, so only an admin may read them.
pub(super) async fn metrics(
    State(gw): State<Gateway>,
    Auth(caller): Auth,
) -> Result<Response, ApiError> {
    require(&caller, Permission::PolicyWrite)?;
    let text = gw.metrics_text().await?;
    Ok(([(header::CONTENT_TYPE, METRICS_CONTENT_TYPE)], text).into_response())
}

pub(super) async fn simulate(
    State(gw): State<Gateway>,
    Auth(caller): Auth,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<Value>, ApiError> {
    require(&caller, Permission::PolicyRead)?;
    let body: SimulateBody = json_body(body, false)?;
    Ok(Json(gw.simulate(&caller.tenant, body).await?))
}

/// The switches are the gateway's own (one engine, one worker pool for every tenant), so
/// they need an admin, and the configuration may turn them off.
fn require_controls(gw: &Gateway, caller: &Caller) -> Result<(), ApiError> {
    require(caller, Permission::PolicyWrite)?;
    if gw.simulation_controls() {
        Ok(())
    } else {
        Err(ApiError::legacy(StatusCode::NOT_FOUND, "not found"))
    }
}

/// A switch's `mode`, which a body must name (an unknown one already failed to parse).
fn required_mode<T>(mode: Option<T>, choices: &str) -> Result<T, ApiError> {
    mode.ok_or_else(|| {
        ApiError::legacy(
            StatusCode::BAD_REQUEST,
            format!("mode is required ({choices})"),
        )
    })
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub(super) struct EngineBody {
    mode: Option<EngineMode>,
}

pub(super) async fn engine(
    State(gw): State<Gateway>,
    Auth(caller): Auth,
) -> Result<Json<Value>, ApiError> {
    require_controls(&gw, &caller)?;
    Ok(Json(gw.engine_status()))
}

pub(super) async fn set_engine(
    State(gw): State<Gateway>,
    Auth(caller): Auth,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<Value>, ApiError> {
    require_controls(&gw, &caller)?;
    let body: EngineBody = json_body(body, false)?;
    let mode = required_mode(body.mode, "healthy, slow, failing or down")?;
    gw.set_engine_mode(mode);
    Ok(Json(gw.engine_status()))
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub(super) struct WorkerBody {
    topic: Option<String>,
    mode: Option<WorkerMode>,
}

pub(super) async fn workers(
    State(gw): State<Gateway>,
    Auth(caller): Auth,
) -> Result<Json<Value>, ApiError> {
    require_controls(&gw, &caller)?;
    Ok(Json(json!({ "workers": gw.worker_modes() })))
}

pub(super) async fn set_workers(
    State(gw): State<Gateway>,
    Auth(caller): Auth,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<Value>, ApiError> {
    require_controls(&gw, &caller)?;
    let body: WorkerBody = json_body(body, false)?;
    let mode = required_mode(body.mode, "accept, fail or absent")?;
    let topic = body.topic.unwrap_or_else(|| ANY_TOPIC.to_owned());
    let topic = topic.trim();
    if topic != ANY_TOPIC {
        crate::request::check_topic(topic)
            .map_err(|msg| ApiError::legacy(StatusCode::BAD_REQUEST, msg))?;
    }
    gw.set_worker_mode(topic, mode);
    Ok(Json(json!({ "workers": gw.worker_modes() })))
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(super) struct RedeliverBody {
    job_id: String,
}

pub(super) async fn redeliver(
    State(gw): State<Gateway>,
    Auth(caller): Auth,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<Value>, ApiError> {
    require_controls(&gw, &caller)?;
    let body: RedeliverBody = json_body(body, false)?;
    let delivery = gw
        .redeliver(&caller.tenant, body.job_id.trim())
        .await?
        .ok_or_else(|| ApiError::legacy(StatusCode::NOT_FOUND, "job not dispatched"))?;
    Ok(Json(json!(delivery)))
}
