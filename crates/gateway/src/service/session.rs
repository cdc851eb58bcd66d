//! Password login and sessions (CONTRACT.md §4): `session-<base64url 32 bytes>` tokens valid
//! for 24 h, stored hashed. Logging in with an API key as the password returns the masked key
//! instead of a session, as Cordum does; the client keeps using the raw key.

use axum::http::StatusCode;
use serde::Deserialize;
use serde_json::{json, Value};

use super::authlog::{Attempt, FailureKind};
use super::Gateway;
use crate::apierror::ApiError;
use crate::auth::{mask_key, new_session_token, secret_hash, Caller, PasswordCheck, Source};
use crate::clock::rfc3339_us;
use crate::config::{Role, UserConfig};
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

/// Why a login failed, as the caller and the auth-failure log see it.
const INVALID_CREDENTIALS: &str = "invalid credentials";

fn invalid() -> ApiError {
    ApiError::legacy(StatusCode::UNAUTHORIZED, INVALID_CREDENTIALS)
}

/// Where a login comes from: its rate-limit keys.
struct LoginKeys {
    user: Option<String>,
    source: String,
}

impl Gateway {
    /// The caller a session token stands for, if it is live.
    pub(crate) async fn session_caller(&self, token: &str) -> Result<Option<Caller>, GatewayError> {
        self.live_session(&secret_hash(token)).await
    }

    /// The caller a stored session stands for, if it is unexpired and its user still exists,
    /// is enabled, and holds the tenant, role and principal the session was issued with:
    /// removing or demoting a user ends their sessions at the next request. A session that
    /// fails the check is deleted.
    pub(crate) async fn live_session(
        &self,
        token_hash: &str,
    ) -> Result<Option<Caller>, GatewayError> {
        let hash = token_hash.to_owned();
        let now = self.now_us();
        let row = self
            .store()
            .run(move |c| Ok::<_, GatewayError>(sessions::get(&c.db, &hash, now)?))
            .await?;
        let Some(s) = row else {
            return Ok(None);
        };
        let holds = self.auth().active_user(&s.username).is_some_and(|u| {
            u.tenant == s.tenant && u.principal == s.principal && u.role.as_str() == s.role
        });
        let role = parse_role(&s.role).filter(|_| holds);
        let Some(role) = role else {
            tracing::info!(username = %s.username, "session ended: its user changed or is gone");
            let stale = s.token_hash.clone();
            self.store()
                .run(move |c| Ok::<_, GatewayError>(sessions::delete(&c.db, &stale)?))
                .await?;
            self.announce_session_end();
            return Ok(None);
        };
        Ok(Some(Caller {
            tenant: s.tenant,
            role,
            principal: s.principal,
            source: Source::Session {
                username: s.username,
                token_hash: s.token_hash,
                expires_at: s.expires_at,
            },
        }))
    }

    /// Logs in with a password (or an API key as the password) from `source` (the peer
    /// address). Failures are rate-limited per username and per source (429 with
    /// `Retry-After`) and recorded, without the password, in the auth-failure log.
    pub async fn login(&self, body: LoginBody, source: &str) -> Result<Value, ApiError> {
        let keys = LoginKeys {
            user: (!body.username.is_empty()).then(|| format!("user:{}", body.username)),
            source: format!("source:{source}"),
        };
        let now = self.now_us();
        if let Some(wait) = self.login_refused(&keys, now) {
            self.login_failed(
                &body,
                source,
                FailureKind::LoginRateLimited,
                "too many failed logins",
            )
            .await;
            return Err(ApiError {
                retry_after: Some(wait),
                ..ApiError::legacy(
                    StatusCode::TOO_MANY_REQUESTS,
                    "too many failed logins; retry later",
                )
            });
        }
        match self.try_login(&body, now).await {
            Ok(answer) => {
                if let Some(user) = &keys.user {
                    self.inner.login_users.clear(user);
                }
                Ok(answer)
            }
            Err(refusal) => {
                if let Some(user) = &keys.user {
                    self.inner.login_users.record(user, now);
                }
                self.inner.login_sources.record(&keys.source, now);
                self.login_failed(&body, source, FailureKind::LoginFailure, refusal.message())
                    .await;
                Err(refusal)
            }
        }
    }

    /// Seconds to wait when the username or the source used up its failures.
    fn login_refused(&self, keys: &LoginKeys, now: i64) -> Option<u64> {
        let by_user = keys
            .user
            .as_deref()
            .and_then(|k| self.inner.login_users.retry_after(k, now));
        let by_source = self.inner.login_sources.retry_after(&keys.source, now);
        by_user.max(by_source)
    }

    async fn login_failed(&self, body: &LoginBody, source: &str, kind: FailureKind, reason: &str) {
        self.record_auth_failure(Attempt {
            kind,
            source,
            claimed_tenant: &body.tenant,
            username: &body.username,
            path: "/api/v1/auth/login",
            reason,
        })
        .await;
    }

    async fn try_login(&self, body: &LoginBody, now: i64) -> Result<Value, ApiError> {
        let secret = if body.api_key.is_empty() {
            body.password.clone()
        } else {
            body.api_key.clone()
        };
        if secret.is_empty() {
            return Err(ApiError::legacy(
                StatusCode::UNAUTHORIZED,
                "password required",
            ));
        }
        let tenant_ok = |t: &str| body.tenant.is_empty() || body.tenant == t;
        let user = self.check_password(&body.username, &secret).await?;
        if let Some(user) = user {
            if !tenant_ok(&user.tenant) {
                return Err(invalid());
            }
            return self.open_session(&user, now).await;
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

    /// The user whose password this is. Hashing waits for one of the few permits, so a login
    /// flood queues instead of holding argon2's memory many times over.
    async fn check_password(
        &self,
        username: &str,
        password: &str,
    ) -> Result<Option<UserConfig>, ApiError> {
        let gateway = self.clone();
        let (username, password) = (username.to_owned(), password.to_owned());
        // argon2 is deliberately slow; keep it off the async workers.
        let user = self
            .inner
            .password_hashing
            .run(
                move || match gateway.auth().check_password(&username, &password) {
                    PasswordCheck::Verified(user) => Some(user.clone()),
                    PasswordCheck::WrongPassword | PasswordCheck::UnknownUser => None,
                },
            )
            .await?;
        Ok(user)
    }

    async fn open_session(&self, user: &UserConfig, now: i64) -> Result<Value, ApiError> {
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
        Ok(json!({
            "token": token,
            "expires_at": rfc3339_us(expires_at),
            "user": user_json(&user.username, &caller, "user", now),
        }))
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
            self.announce_session_end();
        }
        Ok(())
    }
}
