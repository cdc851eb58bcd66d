//! [`GatewayClient`]: the typed HTTP calls to one gateway, with authentication, the tenant
//! header, timeouts, bounded body reads and the mapping of error answers to [`ClientError`].
//!
//! Bodies from the gateway are hostile: they are read up to [`MAX_BODY_BYTES`], parsed
//! leniently, and never panic the client.

use std::sync::Arc;
use std::time::Duration;

use countersign_core::approval::{ApprovalItem, ApprovalPage};
use countersign_core::outcome::DecisionAction;
use reqwest::{Method, RequestBuilder, Response, Url};
use serde::Serialize;
use serde_json::Value;
use tokio::sync::OnceCell;

use crate::error::{ClientError, Result};
use crate::generation::{is_missing_route, Capabilities, Detected, Feature};
use crate::profile::{checked_base_url, AuthMethod, Profile};
use crate::secrets::{Secret, SecretKind, SecretStore};

/// Largest gateway answer read; more is a protocol error (a list page of 500 rich items is
/// a few MiB at most).
pub const MAX_BODY_BYTES: usize = 32 * 1024 * 1024;
const MAX_ERROR_CHARS: usize = 300;

/// How the client proves who it is.
#[derive(Debug, Clone)]
pub enum Credential {
    ApiKey(Secret),
    /// A session token from a password login; a 401 means the session is over.
    Session(Secret),
}

/// Transport settings; the defaults suit the app and the CLI.
#[derive(Debug, Clone)]
pub struct HttpConfig {
    /// Whole-request timeout for ordinary calls.
    pub timeout: Duration,
    pub connect_timeout: Duration,
    /// How long an event stream may stay silent (the gateway sends keep-alives) before the
    /// client treats it as dead.
    pub stream_idle_timeout: Duration,
    /// Extra trusted CA certificates (a PEM bundle), for gateways behind a private CA. They
    /// are added to the platform's roots; verification is never switched off.
    pub extra_root_pem: Option<Vec<u8>>,
}

impl Default for HttpConfig {
    fn default() -> Self {
        Self {
            timeout: Duration::from_secs(30),
            connect_timeout: Duration::from_secs(10),
            stream_idle_timeout: Duration::from_secs(60),
            extra_root_pem: None,
        }
    }
}

/// A gateway answer as received, for callers that classify it themselves.
#[derive(Debug, Clone, PartialEq)]
pub struct RawAnswer {
    pub status: u16,
    pub body: String,
}

/// Who the gateway says we are (`GET /api/v1/auth/session`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SessionInfo {
    /// The principal decisions are recorded under (`resolved_by`, `approved_by`).
    pub principal: String,
    pub tenant: String,
    pub roles: Vec<String>,
}

/// The parts of `GET /api/v1/jobs/{id}` reconciliation needs.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct JobStatus {
    pub id: String,
    pub state: String,
    pub approval_by: String,
    pub approval_job_hash: String,
    pub rejected_by: String,
}

/// `GET /api/v1/approvals/{id}/request` (extension).
#[derive(Debug, Clone, PartialEq)]
pub struct RequestDoc {
    pub job_id: String,
    pub job_hash: String,
    /// The protojson object, re-serialized for [`countersign_core::jobrequest`].
    pub job_request: Vec<u8>,
}

/// One gateway, one tenant, one credential. Cheap to clone.
#[derive(Debug, Clone)]
pub struct GatewayClient {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    http: reqwest::Client,
    /// Without a whole-request timeout: event streams stay open indefinitely.
    stream_http: reqwest::Client,
    base: Url,
    tenant: String,
    credential: Credential,
    detected: Detected,
    identity: OnceCell<Option<SessionInfo>>,
}

pub(crate) fn build_http(config: &HttpConfig, total: Option<Duration>) -> Result<reqwest::Client> {
    let mut builder = reqwest::Client::builder()
        .connect_timeout(config.connect_timeout)
        .read_timeout(config.stream_idle_timeout)
        // The transport rule is checked on the base URL; never follow a redirect elsewhere.
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!("countersign/", env!("CARGO_PKG_VERSION")));
    if let Some(total) = total {
        builder = builder.timeout(total);
    }
    if let Some(pem) = &config.extra_root_pem {
        let roots = reqwest::Certificate::from_pem_bundle(pem)
            .map_err(|e| ClientError::InvalidProfile(format!("extra CA certificates: {e}")))?;
        if roots.is_empty() {
            return Err(ClientError::InvalidProfile(
                "extra CA certificates: no PEM certificate found".into(),
            ));
        }
        builder = builder.tls_certs_merge(roots);
    }
    builder
        .build()
        .map_err(|e| ClientError::Network(format!("cannot build the HTTP client: {e}")))
}

impl GatewayClient {
    /// A client for `base_url` (checked against the transport rule).
    pub fn new(
        base_url: &str,
        tenant: &str,
        credential: Credential,
        config: &HttpConfig,
    ) -> Result<Self> {
        let mut base = checked_base_url(base_url)?;
        if !base.path().ends_with('/') {
            let path = format!("{}/", base.path());
            base.set_path(&path);
        }
        Ok(Self {
            inner: Arc::new(Inner {
                http: build_http(config, Some(config.timeout))?,
                stream_http: build_http(config, None)?,
                base,
                tenant: tenant.to_owned(),
                credential,
                detected: Detected::default(),
                identity: OnceCell::new(),
            }),
        })
    }

    /// A client for a profile, with its secret from `secrets`. A password profile needs a
    /// session from [`crate::session::sign_in_with_password`] first; without one this is
    /// [`ClientError::ReauthRequired`].
    pub fn from_profile(
        profile: &Profile,
        secrets: &dyn SecretStore,
        config: &HttpConfig,
    ) -> Result<Self> {
        profile.validate()?;
        let credential = match &profile.auth {
            AuthMethod::ApiKey => {
                Credential::ApiKey(secrets.get(&profile.name, SecretKind::ApiKey)?.ok_or_else(
                    || {
                        ClientError::InvalidProfile(format!(
                            "no API key stored for profile {:?}",
                            profile.name
                        ))
                    },
                )?)
            }
            AuthMethod::Password { .. } => Credential::Session(
                secrets
                    .get(&profile.name, SecretKind::SessionToken)?
                    .ok_or(ClientError::ReauthRequired)?,
            ),
        };
        Self::new(&profile.gateway_url, &profile.tenant, credential, config)
    }

    pub fn base_url(&self) -> &Url {
        &self.inner.base
    }

    /// What this client has learned about the gateway's API so far.
    pub fn capabilities(&self) -> Capabilities {
        self.inner.detected.snapshot()
    }

    pub(crate) fn detected(&self) -> &Detected {
        &self.inner.detected
    }

    fn url(&self, path: &str) -> Result<Url> {
        self.inner
            .base
            .join(path.trim_start_matches('/'))
            .map_err(|e| ClientError::InvalidInput(format!("bad path {path:?}: {e}")))
    }

    fn authed(&self, builder: RequestBuilder) -> RequestBuilder {
        let builder = builder.header("X-Tenant-ID", &self.inner.tenant);
        match &self.inner.credential {
            Credential::ApiKey(key) => builder.header("X-API-Key", key.expose()),
            Credential::Session(token) => builder.bearer_auth(token.expose()),
        }
    }

    pub(crate) fn request(&self, method: Method, path: &str) -> Result<RequestBuilder> {
        Ok(self.authed(self.inner.http.request(method, self.url(path)?)))
    }

    /// A GET with query parameters (reqwest's `query` needs a feature this crate leaves off).
    pub(crate) fn get_with_query(
        &self,
        path: &str,
        query: &[(&str, String)],
    ) -> Result<RequestBuilder> {
        let mut url = self.url(path)?;
        if !query.is_empty() {
            let mut pairs = url.query_pairs_mut();
            for (key, value) in query {
                pairs.append_pair(key, value);
            }
        }
        Ok(self.authed(self.inner.http.get(url)))
    }

    /// The event stream request (no whole-request timeout).
    pub(crate) fn stream_request(&self, path: &str) -> Result<RequestBuilder> {
        Ok(self.authed(self.inner.stream_http.get(self.url(path)?)))
    }

    /// Sends and reads the whole answer, whatever its status.
    pub(crate) async fn send_raw(&self, builder: RequestBuilder) -> Result<RawAnswer> {
        let response = builder.send().await?;
        let status = response.status().as_u16();
        let body = read_capped(response).await?;
        Ok(RawAnswer { status, body })
    }

    /// Sends and returns the JSON body of a 2xx answer; other answers become errors.
    pub(crate) async fn send_json(&self, builder: RequestBuilder) -> Result<Value> {
        let answer = self.send_raw(builder).await?;
        if !(200..300).contains(&answer.status) {
            return Err(self.error_for(&answer));
        }
        serde_json::from_str(&answer.body).map_err(|e| {
            ClientError::GatewayProtocol(format!(
                "answer is not JSON ({e}): {}",
                clip(&answer.body)
            ))
        })
    }

    /// The error a non-2xx answer stands for.
    pub(crate) fn error_for(&self, answer: &RawAnswer) -> ClientError {
        let message = error_message(&answer.body);
        match answer.status {
            401 => self.unauthorized(message),
            403 => ClientError::Forbidden(message),
            404 => ClientError::NotFound(message),
            408 => ClientError::Timeout,
            429 | 500..=599 => ClientError::Unavailable {
                status: answer.status,
                message,
            },
            status => ClientError::GatewayProtocol(format!("HTTP {status}: {message}")),
        }
    }

    /// A 401: for a session it means sign in again, for an API key the key is refused.
    pub(crate) fn unauthorized(&self, message: String) -> ClientError {
        match self.inner.credential {
            Credential::Session(_) => ClientError::ReauthRequired,
            Credential::ApiKey(_) => ClientError::Unauthorized(message),
        }
    }

    /// One page of `GET /api/v1/approvals`.
    pub async fn list_approvals(
        &self,
        cursor: Option<i64>,
        limit: u32,
        include_resolved: bool,
    ) -> Result<ApprovalPage> {
        let mut query = vec![
            ("limit", limit.to_string()),
            ("include_resolved", include_resolved.to_string()),
        ];
        if let Some(cursor) = cursor {
            query.push(("cursor", cursor.to_string()));
        }
        let builder = self.get_with_query("api/v1/approvals", &query)?;
        let body = self.send_json(builder).await?;
        let page = ApprovalPage::from_value(body)
            .map_err(|e| ClientError::GatewayProtocol(e.to_string()))?;
        self.detected().observe_items(&page.items);
        Ok(page)
    }

    /// One pending item, fresh: from `/context` when the gateway has it, else by walking the
    /// pending list (Cordum has no single-item endpoint). `None` when it is not pending.
    pub async fn pending_item(&self, job_id: &str) -> Result<Option<ApprovalItem>> {
        Ok(crate::decide::fetch_item(self, job_id)
            .await?
            .filter(ApprovalItem::is_pending))
    }

    /// `GET /api/v1/policy/snapshots`; element 0 is current.
    pub async fn policy_snapshots(&self) -> Result<Vec<String>> {
        let body = self
            .send_json(self.request(Method::GET, "api/v1/policy/snapshots")?)
            .await?;
        match body.get("snapshots") {
            None | Some(Value::Null) => Ok(Vec::new()),
            Some(Value::Array(list)) => list
                .iter()
                .map(|s| {
                    s.as_str().map(str::to_owned).ok_or_else(|| {
                        ClientError::GatewayProtocol("a policy snapshot id is not a string".into())
                    })
                })
                .collect(),
            Some(_) => Err(ClientError::GatewayProtocol(
                "`snapshots` is not an array".into(),
            )),
        }
    }

    /// `GET /api/v1/jobs/{id}`.
    pub async fn job_status(&self, job_id: &str) -> Result<JobStatus> {
        let path = format!("api/v1/jobs/{}", path_segment(job_id));
        let body = self.send_json(self.request(Method::GET, &path)?).await?;
        let text = |key: &str| {
            body.get(key)
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned()
        };
        Ok(JobStatus {
            id: text("id"),
            state: text("state"),
            approval_by: text("approval_by"),
            approval_job_hash: text("approval_job_hash"),
            rejected_by: text("rejected_by"),
        })
    }

    /// The extension `GET /api/v1/approvals/{id}/request`; `None` when the gateway does not
    /// offer it (then nothing can be recomputed and verdicts say so).
    pub async fn job_request(&self, job_id: &str) -> Result<Option<RequestDoc>> {
        if self.detected().get(Feature::RequestEndpoint) == Some(false) {
            return Ok(None);
        }
        let path = format!("api/v1/approvals/{}/request", path_segment(job_id));
        let answer = self.send_raw(self.request(Method::GET, &path)?).await?;
        if is_missing_route(&answer) {
            self.detected().set(Feature::RequestEndpoint, false);
            return Ok(None);
        }
        if !(200..300).contains(&answer.status) {
            return Err(self.error_for(&answer));
        }
        self.detected().set(Feature::RequestEndpoint, true);
        let body: Value = serde_json::from_str(&answer.body)
            .map_err(|e| ClientError::GatewayProtocol(format!("request answer: {e}")))?;
        let text = |key: &str| body.get(key).and_then(Value::as_str).map(str::to_owned);
        let request = body
            .get("job_request")
            .filter(|r| r.is_object())
            .ok_or_else(|| ClientError::GatewayProtocol("`job_request` is not an object".into()))?;
        Ok(Some(RequestDoc {
            job_id: text("job_id").unwrap_or_default(),
            job_hash: text("job_hash").unwrap_or_default(),
            job_request: request.to_string().into_bytes(),
        }))
    }

    /// `GET /api/v1/approvals/{id}/context` (new generation); `None` when not offered.
    pub async fn approval_context(&self, job_id: &str) -> Result<Option<Value>> {
        if self.detected().get(Feature::Context) == Some(false) {
            return Ok(None);
        }
        let path = format!("api/v1/approvals/{}/context", path_segment(job_id));
        let answer = self.send_raw(self.request(Method::GET, &path)?).await?;
        if is_missing_route(&answer) {
            self.detected().set(Feature::Context, false);
            return Ok(None);
        }
        if !(200..300).contains(&answer.status) {
            return Err(self.error_for(&answer));
        }
        self.detected().set(Feature::Context, true);
        serde_json::from_str(&answer.body)
            .map(Some)
            .map_err(|e| ClientError::GatewayProtocol(format!("context answer: {e}")))
    }

    /// Posts an approve or reject and returns the answer unclassified.
    pub(crate) async fn post_decision(
        &self,
        job_id: &str,
        action: DecisionAction,
        body: &Value,
    ) -> Result<RawAnswer> {
        let path = format!(
            "api/v1/approvals/{}/{}",
            path_segment(job_id),
            action.as_str()
        );
        let answer = self
            .send_raw(self.request(Method::POST, &path)?.json(body))
            .await?;
        self.detected().observe_error_body(&answer);
        Ok(answer)
    }

    /// Who the gateway says we are, remembered once answered; `None` when the gateway has no
    /// session endpoint (v0.9) or cannot say right now.
    pub async fn identity(&self) -> Option<SessionInfo> {
        let found = self
            .inner
            .identity
            .get_or_try_init(|| async {
                match self.session().await {
                    Ok(info) => Ok(Some(info)),
                    // A gateway without the endpoint will not grow one: remember that.
                    Err(ClientError::NotFound(_)) => Ok(None),
                    // Anything else may pass; ask again next time.
                    Err(error) => Err(error),
                }
            })
            .await;
        match found {
            Ok(info) => info.clone(),
            Err(error) => {
                tracing::debug!(code = error.code(), "gateway identity unknown for now");
                None
            }
        }
    }

    /// `GET /api/v1/auth/session`.
    pub async fn session(&self) -> Result<SessionInfo> {
        let body = self
            .send_json(self.request(Method::GET, "api/v1/auth/session")?)
            .await?;
        session_info(&body)
    }
}

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

/// Reads the body up to [`MAX_BODY_BYTES`].
pub(crate) async fn read_capped(mut response: Response) -> Result<String> {
    let mut bytes = Vec::new();
    while let Some(chunk) = response.chunk().await? {
        if bytes.len() + chunk.len() > MAX_BODY_BYTES {
            return Err(ClientError::GatewayProtocol(format!(
                "answer larger than {MAX_BODY_BYTES} bytes"
            )));
        }
        bytes.extend_from_slice(&chunk);
    }
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

/// The human message of an error answer: `error`, else `message`, else the text itself.
pub(crate) fn error_message(body: &str) -> String {
    let parsed = serde_json::from_str::<Value>(body.trim()).ok();
    let field = parsed.as_ref().and_then(|v| {
        v.get("error")
            .or_else(|| v.get("message"))
            .and_then(Value::as_str)
    });
    clip(field.unwrap_or(body.trim()))
}

fn clip(text: &str) -> String {
    text.chars().take(MAX_ERROR_CHARS).collect()
}

/// A job id as one path segment: ids come from the gateway and must not add segments.
pub(crate) fn path_segment(id: &str) -> String {
    let mut out = String::with_capacity(id.len());
    for byte in id.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(char::from(byte));
            }
            other => out.push_str(&format!("%{other:02X}")),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clients_never_print_their_credential() {
        for credential in [
            Credential::ApiKey(Secret::new("key-that-must-not-leak")),
            Credential::Session(Secret::new("session-that-must-not-leak")),
        ] {
            let client = GatewayClient::new(
                "http://127.0.0.1:1",
                "t",
                credential,
                &HttpConfig::default(),
            )
            .expect("client");
            assert!(!format!("{client:?}").contains("must-not-leak"));
        }
    }

    #[test]
    fn ids_stay_one_segment() {
        assert_eq!(path_segment("b5901a94-eff3"), "b5901a94-eff3");
        assert_eq!(path_segment("../x/y?z"), "..%2Fx%2Fy%3Fz");
    }

    #[test]
    fn error_messages_prefer_json_fields() {
        assert_eq!(error_message(r#"{"error":"nope","status":409}"#), "nope");
        assert_eq!(error_message(r#"{"message":"m"}"#), "m");
        assert_eq!(
            error_message("job not awaiting approval\n"),
            "job not awaiting approval"
        );
        assert_eq!(error_message(&"x".repeat(1000)).len(), MAX_ERROR_CHARS);
    }
}
