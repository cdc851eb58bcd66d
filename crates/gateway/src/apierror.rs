//! HTTP error answers in Cordum's shapes (CONTRACT.md §2): the legacy `{error, status}`
//! envelope, approval errors with a `code`, and conflict payloads (`retryable` only for the
//! lock). Services return these so that every boundary speaks JSON.

use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Map, Value};

use crate::error::GatewayError;

/// Approval conflict codes (`model.ApprovalConflictCode`).
pub mod code {
    pub const ALREADY_RESOLVED: &str = "approval_already_resolved";
    pub const RETRYABLE_LOCK: &str = "approval_retryable_lock";
    pub const STALE_SNAPSHOT: &str = "approval_stale_snapshot";
    pub const STALE_REQUEST: &str = "approval_stale_request";
    pub const NOT_ACTIONABLE: &str = "approval_not_actionable";
    pub const SELF_APPROVAL: &str = "self_approval_denied";
}

/// An error answer.
#[derive(Debug, Clone, PartialEq)]
pub struct ApiError {
    pub status: StatusCode,
    pub body: Map<String, Value>,
    pub retry_after: Option<u64>,
}

impl ApiError {
    /// `{error, status}`.
    pub fn legacy(status: StatusCode, message: impl Into<String>) -> Self {
        let mut body = Map::new();
        body.insert("error".into(), Value::String(message.into()));
        body.insert("status".into(), json!(status.as_u16()));
        Self {
            status,
            body,
            retry_after: None,
        }
    }

    /// `{error, status, code}` (plus `retryable: true` for the lock code).
    pub fn coded(status: StatusCode, code: &str, message: impl Into<String>) -> Self {
        let mut e = Self::legacy(status, message);
        e.body.insert("code".into(), Value::String(code.into()));
        if code == code::RETRYABLE_LOCK {
            e.body.insert("retryable".into(), Value::Bool(true));
        }
        e
    }

    /// A 409 conflict payload.
    pub fn conflict(code: &str, message: impl Into<String>) -> Self {
        Self::coded(StatusCode::CONFLICT, code, message)
    }

    /// An approval handler's plain error, coded by status like Cordum's
    /// `approvalHandlerErrorCode`.
    pub fn approval(status: StatusCode, message: impl Into<String>) -> Self {
        let code = match status.as_u16() {
            400 => "approval_bad_request",
            403 => "approval_forbidden",
            404 => "approval_not_found",
            409 => "approval_conflict",
            413 => "approval_bad_request",
            _ => return Self::legacy(status, message),
        };
        Self::coded(status, code, message)
    }

    pub fn unauthorized() -> Self {
        Self::legacy(StatusCode::UNAUTHORIZED, "unauthorized")
    }

    /// RBAC refusal, with what was required and granted.
    pub fn forbidden(required: &str, granted: &str) -> Self {
        let mut e = Self::legacy(StatusCode::FORBIDDEN, "forbidden");
        e.body.insert("reason".into(), json!("role_insufficient"));
        e.body.insert(
            "details".into(),
            json!({ "required": required, "granted": granted }),
        );
        e
    }

    pub fn tenant_denied() -> Self {
        Self::legacy(StatusCode::FORBIDDEN, "tenant access denied")
    }

    pub fn bad_body() -> Self {
        Self::legacy(StatusCode::BAD_REQUEST, "invalid body")
    }

    pub fn too_large() -> Self {
        Self::legacy(StatusCode::PAYLOAD_TOO_LARGE, "request body too large")
    }

    /// The message, for logs and tests.
    pub fn message(&self) -> &str {
        self.body.get("error").and_then(Value::as_str).unwrap_or("")
    }
}

impl From<GatewayError> for ApiError {
    fn from(e: GatewayError) -> Self {
        tracing::error!(code = e.code(), error = %e, "internal error");
        match e {
            GatewayError::JobNotFound => Self::legacy(StatusCode::NOT_FOUND, "job not found"),
            GatewayError::Storage(_) | GatewayError::StorageTask(_) => {
                Self::legacy(StatusCode::SERVICE_UNAVAILABLE, "storage unavailable")
            }
            other => Self::legacy(StatusCode::INTERNAL_SERVER_ERROR, other.to_string()),
        }
    }
}

impl From<rusqlite::Error> for ApiError {
    fn from(e: rusqlite::Error) -> Self {
        GatewayError::from(e).into()
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut response = (self.status, Json(Value::Object(self.body))).into_response();
        if let Some(secs) = self.retry_after {
            response
                .headers_mut()
                .insert("retry-after", HeaderValue::from(secs));
        }
        response
    }
}
