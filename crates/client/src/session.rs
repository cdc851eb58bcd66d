//! Signing in and out of a profile: where each credential is stored, and the one place a
//! password is used (exchanged for a session token, then forgotten).

use crate::body::{error_message, read_capped, SMALL_BODY_BYTES};
use crate::error::{ClientError, Result};
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::http::{GatewayClient, HttpConfig, SessionInfo};
use crate::profile::{AuthMethod, Profile};
use crate::secrets::{Secret, SecretKind, SecretStore};
use crate::transport::build_http;

/// Stores an API key for an API-key profile and checks it against the gateway.
pub async fn sign_in_with_api_key(
    profile: &Profile,
    key: &Secret,
    secrets: &dyn SecretStore,
    config: &HttpConfig,
) -> Result<(GatewayClient, Option<SessionInfo>)> {
    if profile.auth != AuthMethod::ApiKey {
        return Err(ClientError::InvalidProfile(format!(
            "profile {:?} signs in with a password",
            profile.name
        )));
    }
    profile.validate()?;
    let client = GatewayClient::new(
        &profile.gateway_url,
        &profile.tenant,
        crate::http::Credential::ApiKey(key.clone()),
        config,
    )?;
    // Checked before storing, so a mistyped key never lands in the keychain. v0.9 has no
    // session endpoint; listing one item proves the key there.
    let info = match client.session().await {
        Ok(info) => Some(info),
        Err(ClientError::NotFound(_)) => {
            client.list_approvals(None, 1, false).await?;
            None
        }
        Err(error) => return Err(error),
    };
    secrets.set(&profile.name, SecretKind::ApiKey, key)?;
    Ok((client, info))
}

/// Logs in with the profile's username and `password`, stores the session token and returns
/// a client using it.
pub async fn sign_in_with_password(
    profile: &Profile,
    password: &Secret,
    secrets: &dyn SecretStore,
    config: &HttpConfig,
) -> Result<(GatewayClient, SessionInfo)> {
    let AuthMethod::Password { username } = &profile.auth else {
        return Err(ClientError::InvalidProfile(format!(
            "profile {:?} signs in with an API key",
            profile.name
        )));
    };
    profile.validate()?;
    let (token, info) = login(profile, username, password, config).await?;
    secrets.set(&profile.name, SecretKind::SessionToken, &token)?;
    let client = GatewayClient::from_profile(profile, secrets, config)?;
    Ok((client, info))
}

/// Forgets every secret of the profile (the session token and the API key).
pub fn sign_out(profile: &Profile, secrets: &dyn SecretStore) -> Result<()> {
    secrets.delete(&profile.name, SecretKind::SessionToken)?;
    secrets.delete(&profile.name, SecretKind::ApiKey)
}

/// Exchanges a username and password for a session token (`POST /api/v1/auth/login`).
async fn login(
    profile: &Profile,
    username: &str,
    password: &Secret,
    config: &HttpConfig,
) -> Result<(Secret, SessionInfo)> {
    let base = profile.base_url()?;
    let http = build_http(config, Some(config.timeout))?;
    let url = base
        .join("api/v1/auth/login")
        .map_err(|e| ClientError::InvalidProfile(e.to_string()))?;
    let response = http
        .post(url)
        .header("X-Tenant-ID", &profile.tenant)
        .json(&json!({
            "username": username,
            "password": password.expose(),
            "tenant": profile.tenant,
        }))
        .send()
        .await?;
    let status = response.status();
    let body = read_capped(response, SMALL_BODY_BYTES).await?;
    if status == StatusCode::UNAUTHORIZED {
        return Err(ClientError::Unauthorized(error_message(&body)));
    }
    if status.is_redirection() {
        return Err(ClientError::GatewayProtocol(format!(
            "login answered HTTP {}: a redirect, which is never followed (the password goes \
             to the configured gateway only)",
            status.as_u16()
        )));
    }
    if !status.is_success() {
        return Err(ClientError::GatewayProtocol(format!(
            "login answered HTTP {}: {}",
            status.as_u16(),
            error_message(&body)
        )));
    }
    let value: Value = serde_json::from_str(&body)
        .map_err(|e| ClientError::GatewayProtocol(format!("login answer: {e}")))?;
    let token = value
        .get("token")
        .and_then(Value::as_str)
        .filter(|t| !t.is_empty())
        .ok_or_else(|| ClientError::GatewayProtocol("login answer has no token".into()))?;
    // A masked API-key token ("abcdefgh********wxyz") is useless as a credential.
    if token.contains("****") {
        return Err(ClientError::InvalidProfile(
            "the gateway treated the password as an API key; use an API-key profile".into(),
        ));
    }
    let info = session_info(value.get("user").unwrap_or(&Value::Null))?;
    Ok((Secret::new(token), info))
}

/// Who an answer of `GET /api/v1/auth/session` or `POST /api/v1/auth/login` names.
pub(crate) fn session_info(user: &Value) -> Result<SessionInfo> {
    let user = user.get("user").unwrap_or(user);
    let principal = user
        .get("id")
        .and_then(Value::as_str)
        .filter(|p| !p.is_empty())
        .ok_or_else(|| ClientError::GatewayProtocol("session answer has no user id".into()))?;
    Ok(SessionInfo {
        principal: principal.to_owned(),
        tenant: user
            .get("tenant")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned(),
        roles: user
            .get("roles")
            .and_then(Value::as_array)
            .map(|roles| {
                roles
                    .iter()
                    .filter_map(Value::as_str)
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default(),
    })
}
