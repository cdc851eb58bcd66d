//! Password login and sessions (CONTRACT.md §4): `session-<base64url 32 bytes>` tokens valid
//! for 24 h, stored hashed. Logging in with an API key as the password returns the masked key
//! instead of a session, as Cordum does; the client keeps using the raw key.

use axum::http::StatusCode;
use serde::Deserialize;
use serde_json::{json, Value};

use super::Gateway;
use crate::apierror::ApiError;
use crate::auth::{mask_key, new_session_token, secret_hash, Caller, Source};
use crate::clock::rfc3339_us;
use crate::config::Role;
use crate::error::GatewayError;
use crate::store::sessions::{self, SessionRow};

const SESSION_TTL_US: i64 = 24 * 3600 * 1_000_000;

/// The body of `POST /api/v1/auth/login`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct LoginBody {
    pub username: String,
    pub password: String,
    pub tenant: String,
    pub api_key: String,
}

fn user_json(username: &str, caller: &Caller, source: &str, at_us: i64) -> Value {
    let at = rfc3339_us(at_us);
    json!({
        "id": caller.principal,
        "username": username,
        "email": "",
        "display_name": username,
        "tenant": caller.tenant,
        "roles": [caller.role.as_str()],
        "source": source,
        "created_at": at,
        "updated_at": at,
        "last_login_at": at,
    })
}

fn parse_role(text: &str) -> Option<Role> {
    serde_json::from_value(Value::String(text.to_owned())).ok()
}

impl Gateway {
    /// The caller a session token stands for, if it is live.
    pub(crate) async fn session_caller(&self, token: &str) -> Result<Option<Caller>, GatewayError> {
        let hash = secret_hash(token);
        let now = self.now_us();
        let row = self
            .store()
            .run(move |c| Ok::<_, GatewayError>(sessions::get(&c.db, &hash, now)?))
            .await?;
        Ok(row.and_then(|s| {
            Some(Caller {
                tenant: s.tenant,
                role: parse_role(&s.role)?,
                principal: s.principal,
                source: Source::Session {
                    username: s.username,
                    token_hash: s.token_hash,
                    expires_at: s.expires_at,
                },
            })
        }))
    }

    /// Logs in with a password (or an API key as the password).
    pub async fn login(&self, body: LoginBody) -> Result<Value, ApiError> {
        let secret = if body.api_key.is_empty() {
            body.password
        } else {
            body.api_key
        };
        if secret.is_empty() {
            return Err(ApiError::legacy(
                StatusCode::UNAUTHORIZED,
                "password required",
            ));
        }
        let invalid = || ApiError::legacy(StatusCode::UNAUTHORIZED, "invalid credentials");
        let tenant_ok = |t: &str| body.tenant.is_empty() || body.tenant == t;
        let now = self.now_us();

        let gateway = self.clone();
        let (username, pw) = (body.username.clone(), secret.clone());
        // argon2 is deliberately slow; keep it off the async workers.
        let user = tokio::task::spawn_blocking(move || {
            gateway.auth().check_password(&username, &pw).cloned()
        })
        .await
        .map_err(|e| GatewayError::StorageTask(e.to_string()))?;

        if let Some(user) = user {
            if !tenant_ok(&user.tenant) {
                return Err(invalid());
            }
            let token = new_session_token();
            let row = SessionRow {
                token_hash: secret_hash(&token),
                username: user.username.clone(),
                tenant: user.tenant.clone(),
                role: user.role.as_str().into(),
                principal: user.principal.clone(),
                created_at: now,
                expires_at: now.saturating_add(SESSION_TTL_US),
            };
            let expires_at = row.expires_at;
            self.store()
                .run(move |c| Ok::<_, GatewayError>(sessions::insert(&c.db, &row)?))
                .await?;
            let caller = Caller {
                tenant: user.tenant.clone(),
                role: user.role,
                principal: user.principal.clone(),
                source: Source::Session {
                    username: user.username.clone(),
                    token_hash: String::new(),
                    expires_at,
                },
            };
            return Ok(json!({
                "token": token,
                "expires_at": rfc3339_us(expires_at),
                "user": user_json(&user.username, &caller, "user", now),
            }));
        }
        match self.auth().api_key(&secret) {
            Some(caller) if tenant_ok(&caller.tenant) => Ok(json!({
                "token": mask_key(&secret),
                "expires_at": rfc3339_us(now.saturating_add(SESSION_TTL_US)),
                "user": user_json(&caller.principal, &caller, "api_key", now),
            })),
            _ => Err(invalid()),
        }
    }

    /// The current user, for `GET /api/v1/auth/session`.
    pub fn session_view(&self, caller: &Caller) -> Value {
        let now = self.now_us();
        match &caller.source {
            Source::Session {
                username,
                expires_at,
                ..
            } => json!({
                "user": user_json(username, caller, "user", now),
                "expires_at": rfc3339_us(*expires_at),
            }),
            Source::ApiKey { .. } => json!({
                "user": user_json(&caller.principal, caller, "api_key", now),
                "expires_at": Value::Null,
            }),
        }
    }

    /// Ends the caller's session (a no-op for API keys).
    pub async fn logout(&self, caller: &Caller) -> Result<(), GatewayError> {
        if let Source::Session { token_hash, .. } = &caller.source {
            let hash = token_hash.clone();
            self.store()
                .run(move |c| Ok::<_, GatewayError>(sessions::delete(&c.db, &hash)?))
                .await?;
        }
        Ok(())
    }
}
