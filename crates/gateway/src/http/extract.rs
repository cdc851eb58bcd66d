//! Request plumbing shared by the handlers: the authenticated caller (API key, Bearer token or
//! session cookie, with the `X-Tenant-ID` check), permission checks and JSON bodies that fail
//! as JSON errors instead of axum's plain-text rejections.

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use std::net::SocketAddr;

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode};
use serde::de::DeserializeOwned;

use crate::apierror::ApiError;
use crate::auth::Caller;
use crate::config::Permission;
use crate::service::{Attempt, FailureKind, Gateway};

pub use super::cookies::SESSION_COOKIE;

pub(super) fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|v| !v.is_empty())
}

fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all("cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .find_map(|pair| {
            let (k, v) = pair.trim().split_once('=')?;
            (k == name && !v.is_empty()).then_some(v)
        })
}

/// The peer's IP address as text ("unknown" when the server was not given it), the source
/// that login limits and the auth-failure log count by.
#[derive(Debug, Clone)]
pub struct Peer(pub String);

fn peer_of(parts: &Parts) -> String {
    parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map_or_else(|| "unknown".to_owned(), |c| c.0.ip().to_string())
}

impl<S: Send + Sync> FromRequestParts<S> for Peer {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(Self(peer_of(parts)))
    }
}

/// An authenticated caller whose tenant matches `X-Tenant-ID` (when sent).
#[derive(Debug, Clone)]
pub struct Auth(pub Caller);

impl FromRequestParts<Gateway> for Auth {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, gw: &Gateway) -> Result<Self, ApiError> {
        let headers = &parts.headers;
        let claimed_tenant = header(headers, "x-tenant-id");
        let bearer = header(headers, "authorization")
            .and_then(|v| {
                v.strip_prefix("Bearer ")
                    .or_else(|| v.strip_prefix("bearer "))
            })
            .map(str::trim);
        let caller = if let Some(key) = header(headers, "x-api-key") {
            // Sessions are not API keys: Cordum rejects a session token sent as X-API-Key.
            if key.starts_with("session-") {
                None
            } else {
                gw.auth().api_key(key)
            }
        } else if let Some(token) = bearer {
            if token.starts_with("session-") {
                gw.session_caller(token).await?
            } else {
                gw.auth().api_key(token)
            }
        } else if let Some(token) = cookie(headers, SESSION_COOKIE) {
            super::cookies::check_write(parts, gw.cookie_policy())?;
            gw.session_caller(token).await?
        } else {
            None
        };
        let refused = |kind, reason| Attempt {
            kind,
            source: "",
            claimed_tenant: claimed_tenant.unwrap_or_default(),
            username: "",
            path: parts.uri.path(),
            reason,
        };
        let source = peer_of(parts);
        let Some(caller) = caller else {
            let attempt = refused(FailureKind::Unauthorized, "invalid or missing credentials");
            gw.record_auth_failure(Attempt {
                source: &source,
                ..attempt
            })
            .await;
            return Err(ApiError::unauthorized());
        };
        if claimed_tenant.is_some_and(|t| t != caller.tenant) {
            let attempt = refused(FailureKind::TenantDenied, "tenant access denied");
            gw.record_auth_failure(Attempt {
                source: &source,
                ..attempt
            })
            .await;
            return Err(ApiError::tenant_denied());
        }
        Ok(Self(caller))
    }
}

/// Refuses a caller whose role lacks `permission`.
pub fn require(caller: &Caller, permission: Permission) -> Result<(), ApiError> {
    if caller.can(permission) {
        return Ok(());
    }
    let name = match permission {
        Permission::JobsApprove => "jobs.approve",
        Permission::JobsWrite => "jobs.write",
        Permission::JobsRead => "jobs.read",
        Permission::AuditRead => "audit.read",
        Permission::PolicyRead => "policy.read",
        Permission::PolicyWrite => "policy.write",
    };
    Err(ApiError::forbidden(name, caller.role.as_str()))
}

/// The raw body, or 413 / 400 as JSON.
pub fn body_bytes(body: Result<Bytes, BytesRejection>) -> Result<Bytes, ApiError> {
    body.map_err(|rejection| {
        if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::too_large()
        } else {
            ApiError::bad_body()
        }
    })
}

/// A JSON body; an empty body or `null` reads as the default when `empty_ok` (Go's decoder
/// accepts `null` for a struct too).
pub fn json_body<T: DeserializeOwned + Default>(
    body: Result<Bytes, BytesRejection>,
    empty_ok: bool,
) -> Result<T, ApiError> {
    let bytes = body_bytes(body)?;
    if empty_ok && matches!(bytes.trim_ascii(), b"" | b"null") {
        return Ok(T::default());
    }
    serde_json::from_slice(&bytes).map_err(|_| ApiError::bad_body())
}

/// A query parameter, trimmed, if present and non-empty: an empty parameter means "not given".
pub fn query_param<'a>(query: &'a HashMap<String, String>, name: &str) -> Option<&'a str> {
    query.get(name).map(|v| v.trim()).filter(|v| !v.is_empty())
}

/// A header value, trimmed, if present and non-empty.
pub fn header_value(headers: &HeaderMap, name: &str) -> Option<String> {
    header(headers, name).map(str::to_owned)
}
