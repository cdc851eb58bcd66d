//! The HTTP surface: Cordum's routes (CONTRACT.md §1, §4, §6, §7, §9) plus the documented
//! extensions (`/approvals/{id}/request`, `/approvals/{id}/payload`, `/approvals/events`),
//! which every answer advertises in [`EXTENSIONS_HEADER`].

mod admin;
mod approvals;
mod cookies;
mod events;
mod extract;
mod governance;
mod jobs;
mod ops;
mod session;

use axum::extract::DefaultBodyLimit;
use axum::extract::Request;
use axum::http::{header, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;

use crate::apierror::ApiError;
use crate::service::Gateway;

/// The header every answer carries to say which extensions this gateway honours, so a client
/// sends the approve preconditions only where they are understood: the newest Cordum refuses
/// unknown body fields, which would fail every approve.
pub const EXTENSIONS_HEADER: &str = "x-countersign-extensions";
/// Its value: comma-separated extension names.
pub const EXTENSIONS: &str =
    "approve-preconditions, request, payload, events, job-status, simulation, governance";

/// Largest accepted request body (Cordum's default `GATEWAY_MAX_JSON_BODY_BYTES`).
pub const MAX_BODY_BYTES: usize = 2 * 1024 * 1024;

/// The gateway's router.
pub fn router(gateway: Gateway) -> Router {
    Router::new()
        .route("/health", get(ops::health))
        .route("/metrics", get(ops::metrics))
        .route("/api/v1/policy/simulate", post(ops::simulate))
        .route(
            "/api/v1/admin/policy-engine",
            get(ops::engine).put(ops::set_engine),
        )
        .route(
            "/api/v1/admin/workers",
            get(ops::workers).put(ops::set_workers),
        )
        .route("/api/v1/admin/workers/redeliver", post(ops::redeliver))
        .route("/api/v1/jobs", post(jobs::submit))
        .route("/api/v1/jobs/{job_id}", get(jobs::get_job))
        .route("/api/v1/approvals", get(approvals::list))
        .route("/api/v1/approvals/events", get(events::stream))
        .route(
            "/api/v1/approvals/{job_id}/context",
            get(approvals::context),
        )
        .route(
            "/api/v1/approvals/{job_id}/request",
            get(approvals::request),
        )
        .route(
            "/api/v1/approvals/{job_id}/payload",
            get(approvals::payload),
        )
        .route(
            "/api/v1/approvals/{job_id}/approve",
            post(approvals::approve),
        )
        .route("/api/v1/approvals/{job_id}/reject", post(approvals::reject))
        .route("/api/v1/policy", axum::routing::put(admin::publish_policy))
        .route("/api/v1/policy/snapshots", get(admin::snapshots))
        .route(
            "/api/v1/policy/drafts",
            get(governance::list).post(governance::propose),
        )
        .route(
            "/api/v1/policy/drafts/{draft_id}",
            get(governance::get).put(governance::update),
        )
        .route(
            "/api/v1/policy/drafts/{draft_id}/snapshots/{snapshot_id}",
            get(governance::snapshot),
        )
        .route(
            "/api/v1/policy/drafts/{draft_id}/diff",
            get(governance::diff),
        )
        .route(
            "/api/v1/policy/drafts/{draft_id}/impact",
            get(governance::impact),
        )
        .route(
            "/api/v1/policy/drafts/{draft_id}/approve",
            post(governance::approve),
        )
        .route(
            "/api/v1/policy/drafts/{draft_id}/reject",
            post(governance::reject),
        )
        .route("/api/v1/audit/events", get(admin::audit_events))
        .route("/api/v1/audit/verify", get(admin::audit_verify))
        .route("/api/v1/auth/login", post(session::login))
        .route("/api/v1/auth/session", get(session::current))
        .route("/api/v1/auth/logout", post(session::logout))
        .fallback(|| async { ApiError::legacy(StatusCode::NOT_FOUND, "not found") })
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(middleware::from_fn(json_errors))
        .layer(middleware::from_fn(advertise))
        .layer(middleware::from_fn(log_request))
        .with_state(gateway)
}

async fn advertise(request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    response.headers_mut().insert(
        EXTENSIONS_HEADER,
        header::HeaderValue::from_static(EXTENSIONS),
    );
    response
}

/// Rewrites the few errors axum produces itself (unparsable path or query, method not
/// allowed) into the `{error, status}` envelope, so no boundary ever answers in plain text.
async fn json_errors(request: Request, next: Next) -> Response {
    let response = next.run(request).await;
    let status = response.status();
    let is_json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"application/json"));
    if is_json || !(status.is_client_error() || status.is_server_error()) {
        return response;
    }
    let text = axum::body::to_bytes(response.into_body(), 4096)
        .await
        .ok()
        .map(|b| String::from_utf8_lossy(&b).trim().to_owned())
        .filter(|t| !t.is_empty())
        .unwrap_or_else(|| {
            status
                .canonical_reason()
                .unwrap_or("error")
                .to_ascii_lowercase()
        });
    ApiError::legacy(status, text).into_response()
}

/// One `tracing` line per request; bodies and credentials are never logged.
async fn log_request(request: Request, next: Next) -> Response {
    let method = request.method().clone();
    let path = request.uri().path().to_owned();
    let response = next.run(request).await;
    tracing::debug!(%method, %path, status = response.status().as_u16(), "request");
    response
}
