//! The session cookie and what a request authenticated by it must show. A browser attaches the
//! cookie to any request a foreign page makes, so a write under cookie auth must also carry
//! what a foreign page cannot forge without CORS's consent: `Content-Type: application/json`
//! (not one of the "simple" types a form or a no-cors fetch may send) and an `Origin` the
//! gateway allows (its own, or one configured). Requests with an API key or Bearer token are
//! not affected: a browser never adds those by itself.

use axum::http::request::Parts;
use axum::http::{HeaderMap, Method, StatusCode};

use super::extract::header;

use crate::apierror::ApiError;
use crate::config::CookiePolicy;

/// The session cookie password login sets for browsers.
pub const SESSION_COOKIE: &str = "cordum_session";

/// Refuses a cookie-authenticated write without a JSON body type or from an origin the
/// gateway does not allow.
pub(super) fn check_write(parts: &Parts, policy: &CookiePolicy) -> Result<(), ApiError> {
    if matches!(parts.method, Method::GET | Method::HEAD | Method::OPTIONS) {
        return Ok(());
    }
    let headers = &parts.headers;
    let json = header(headers, "content-type")
        .and_then(|v| v.split(';').next())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("application/json"));
    if !json {
        return Err(ApiError::legacy(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "cookie-authenticated writes need Content-Type: application/json",
        ));
    }
    let origin = header(headers, "origin").unwrap_or_default();
    let own = header(headers, "host").is_some_and(|host| {
        origin == format!("http://{host}") || origin == format!("https://{host}")
    });
    let configured = policy
        .allowed_origins
        .iter()
        .any(|o| o.trim_end_matches('/') == origin);
    if origin.is_empty() || !(own || configured) {
        return Err(ApiError::legacy(
            StatusCode::FORBIDDEN,
            "cookie-authenticated writes need an allowed Origin",
        ));
    }
    Ok(())
}

/// The `Set-Cookie` value for a new session: `Secure` when the gateway is configured as served
/// over TLS, or the request arrived over it (a proxy says so with `X-Forwarded-Proto`; a
/// forged header only makes the cookie stricter).
pub(super) fn session_cookie(token: &str, headers: &HeaderMap, policy: &CookiePolicy) -> String {
    let over_tls = policy.secure
        || header(headers, "x-forwarded-proto").is_some_and(|v| v.eq_ignore_ascii_case("https"));
    let secure = if over_tls { "; Secure" } else { "" };
    format!("{SESSION_COOKIE}={token}; HttpOnly; SameSite=Strict; Path=/; Max-Age=86400{secure}")
}
