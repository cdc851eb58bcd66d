//! Recording authentication failures (item 7 of issue 8): every 401, refused tenant and failed
//! login goes to the gateway-level log in `auth_failures`, never into a tenant's audit chain,
//! which an unauthenticated header could otherwise choose and fill. Each text is cut to a
//! bound, each source address may add only so many rows per window, and the table keeps a
//! bounded number of rows.

use super::decide::cut;
use super::Gateway;
use crate::error::GatewayError;
use crate::store::authlog::{self, AuthFailure};

/// What kind of failure is recorded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FailureKind {
    Unauthorized,
    TenantDenied,
    LoginFailure,
    LoginRateLimited,
}

impl FailureKind {
    fn as_str(self) -> &'static str {
        match self {
            Self::Unauthorized => "unauthorized",
            Self::TenantDenied => "tenant_denied",
            Self::LoginFailure => "login_failure",
            Self::LoginRateLimited => "login_rate_limited",
        }
    }
}

/// A failure as the caller presented it; texts are cut when recorded.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Attempt<'a> {
    pub kind: FailureKind,
    pub source: &'a str,
    pub claimed_tenant: &'a str,
    pub username: &'a str,
    pub path: &'a str,
    pub reason: &'a str,
}

impl Gateway {
    /// Records an authentication failure in the gateway-level log, within its bounds.
    pub(crate) async fn record_auth_failure(&self, attempt: Attempt<'_>) {
        let limits = &self.inner.auth_limits;
        let now = self.now_us();
        let source_key = format!("log:{}", attempt.source);
        if self
            .inner
            .auth_log_sources
            .retry_after(&source_key, now)
            .is_some()
        {
            tracing::debug!(
                source = attempt.source,
                "auth failure not recorded: source over its allowance"
            );
            return;
        }
        self.inner.auth_log_sources.record(&source_key, now);
        let max = limits.auth_log_max_field_bytes;
        let failure = AuthFailure {
            at: now,
            kind: attempt.kind.as_str().into(),
            source: cut(attempt.source, max).into(),
            claimed_tenant: cut(attempt.claimed_tenant, max).into(),
            username: cut(attempt.username, max).into(),
            path: cut(attempt.path, max).into(),
            reason: cut(attempt.reason, max).into(),
        };
        tracing::info!(
            kind = %failure.kind,
            source = %failure.source,
            claimed_tenant = %failure.claimed_tenant,
            username = %failure.username,
            path = %failure.path,
            "authentication failure"
        );
        let max_rows = limits.auth_log_max_rows;
        let result = self
            .store()
            .run(move |c| Ok::<_, GatewayError>(authlog::append(&c.db, &failure, max_rows)?))
            .await;
        if let Err(e) = result {
            tracing::warn!(error = %e, "could not record an authentication failure");
        }
    }

    /// The newest recorded authentication failures, newest first (for operators and tests;
    /// not served over HTTP, since it spans every tenant).
    pub async fn auth_failures(&self, limit: usize) -> Result<Vec<AuthFailure>, GatewayError> {
        self.store()
            .run(move |c| Ok(authlog::recent(&c.db, limit)?))
            .await
    }
}
