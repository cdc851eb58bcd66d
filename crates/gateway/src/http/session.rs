//! `POST /api/v1/auth/login`, `GET /api/v1/auth/session`, `POST /api/v1/auth/logout`.

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::Value;

use super::cookies::session_cookie;
use super::extract::{json_body, Auth, Peer};
use crate::apierror::ApiError;
use crate::service::{Gateway, LoginBody};

pub(super) async fn login(
    State(gw): State<Gateway>,
    Peer(source): Peer,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let body: LoginBody = json_body(body, false)?;
    let answer = gw.login(body, &source).await?;
    let token = answer["token"].as_str().unwrap_or_default().to_owned();
    let mut response = Json(answer).into_response();
    if token.starts_with("session-") {
        let cookie = session_cookie(&token, &headers, gw.cookie_policy());
        if let Ok(v) = HeaderValue::from_str(&cookie) {
            response.headers_mut().insert("set-cookie", v);
        }
    }
    Ok(response)
}

pub(super) async fn current(State(gw): State<Gateway>, Auth(caller): Auth) -> Json<Value> {
    Json(gw.session_view(&caller))
}

pub(super) async fn logout(
    State(gw): State<Gateway>,
    Auth(caller): Auth,
) -> Result<StatusCode, ApiError> {
    gw.logout(&caller).await?;
    Ok(StatusCode::NO_CONTENT)
}
