//! [`GatewayClient`]: the typed HTTP calls to one gateway, with authentication, the tenant
//! header, timeouts, bounded body reads and the mapping of error answers to [`ClientError`].
//!
//! Bodies from the gateway are hostile: they are read up to a ceiling per endpoint (see
//! [`crate::body`]), parsed leniently, and never panic the client.

use std::sync::Arc;
use std::time::Duration;

use countersign_core::outcome::DecisionAction;
use reqwest::header::HeaderValue;
use reqwest::{Method, RequestBuilder, Response, Url};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use serde_json::Value;
use tokio::sync::OnceCell;

use crate::body::{
    error_message, read_error_body, read_within, DOCUMENT_BODY_BYTES, LIST_BODY_BYTES,
    SMALL_BODY_BYTES,
};
use crate::error::{ClientError, Result};
use crate::generation::{is_missing_route, Capabilities, Detected, Feature, EXTENSIONS_HEADER};
use crate::profile::{checked_base_url, tenant_header, AuthMethod, Profile};
use crate::secrets::{Secret, SecretKind, SecretStore};
use crate::session::session_info;
use crate::text::clip;
use crate::transport::{build_http, AuthHeader};

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
    /// How long an event stream may stay silent, or send bytes without completing a line
    /// (the gateway sends keep-alive comments), before the client treats it as dead.
    pub stream_idle_timeout: Duration,
    /// Extra trusted CA certificates (a PEM bundle), for gateways behind a private CA. They
    /// are added to the platform's roots; verification is never switched off.
    pub extra_root_pem: Option<Vec<u8>>,
    /// The most bytes one list page may take; a longer page is asked for again with a smaller
    /// `limit` (see [`crate::paging`]).
    pub list_page_bytes: usize,
}

impl Default for HttpConfig {
    fn default() -> Self {
        Self {
            timeout: Duration::from_secs(30),
            connect_timeout: Duration::from_secs(10),
            stream_idle_timeout: Duration::from_secs(60),
            extra_root_pem: None,
            list_page_bytes: LIST_BODY_BYTES,
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

/// `GET /api/v1/approvals/{id}/request` (extension).
#[derive(Debug, Clone, PartialEq)]
pub struct RequestDoc {
    /// The protojson object exactly as served: [`countersign_core::jobrequest`] must judge
    /// the bytes the gateway sent (duplicate keys, number spellings), not a re-serialization.
    pub job_request: Vec<u8>,
}

/// The wire form of a [`RequestDoc`]. The answer's own `job_hash` is not read: the hash
/// that counts is the one the item claims, which the request is checked against.
#[derive(Deserialize)]
struct RequestAnswer<'a> {
    #[serde(default)]
    job_id: Option<String>,
    #[serde(borrow)]
    job_request: &'a RawValue,
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
    /// Both headers are built once: a value a header cannot carry is refused when the
    /// client is made, not reported as a network error on every call.
    tenant: HeaderValue,
    auth: AuthHeader,
    /// How long to wait for the body of an error answer on the stream client, which has no
    /// whole-request timeout of its own.
    timeout: Duration,
    stream_idle_timeout: Duration,
    list_page_bytes: usize,
    detected: Detected,
    identity: OnceCell<Option<SessionInfo>>,
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
                tenant: tenant_header(tenant)?,
                auth: AuthHeader::new(&credential)?,
                timeout: config.timeout,
                stream_idle_timeout: config.stream_idle_timeout,
                list_page_bytes: config.list_page_bytes.max(1),
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

    /// The tenant this client asks for (`X-Tenant-ID`).
    pub fn tenant(&self) -> &str {
        self.inner.tenant.to_str().unwrap_or_default()
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
        builder
            .header("X-Tenant-ID", self.inner.tenant.clone())
            .header(self.inner.auth.name.clone(), self.inner.auth.value.clone())
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

    /// Sends and reads the answer, whatever its status: a 2xx body up to `limit` bytes (more
    /// is an error), any other only as far as its message needs.
    pub(crate) async fn send_raw(
        &self,
        builder: RequestBuilder,
        limit: usize,
    ) -> Result<RawAnswer> {
        self.send_raw_within(builder, limit).await?.ok_or_else(|| {
            ClientError::GatewayProtocol(format!("answer larger than {limit} bytes"))
        })
    }

    /// [`GatewayClient::send_raw`], with `None` for a 2xx body longer than `limit` bytes.
    pub(crate) async fn send_raw_within(
        &self,
        builder: RequestBuilder,
        limit: usize,
    ) -> Result<Option<RawAnswer>> {
        let response = builder.send().await?;
        if let Some(advertised) = response
            .headers()
            .get(EXTENSIONS_HEADER)
            .and_then(|value| value.to_str().ok())
        {
            self.detected().observe_extensions(advertised);
        }
        let status = response.status().as_u16();
        let body = if response.status().is_success() {
            match read_within(response, limit).await? {
                Some(body) => body,
                None => return Ok(None),
            }
        } else {
            read_error_body(response, self.inner.timeout).await
        };
        Ok(Some(RawAnswer { status, body }))
    }

    /// The error a refused (non-2xx) response stands for, reading little of its body.
    pub(crate) async fn refusal(&self, response: Response) -> ClientError {
        let status = response.status().as_u16();
        let body = read_error_body(response, self.inner.timeout).await;
        self.error_for(&RawAnswer { status, body })
    }

    /// Sends and returns the JSON body of a 2xx answer (up to `limit` bytes); other answers
    /// become errors.
    pub(crate) async fn send_json(&self, builder: RequestBuilder, limit: usize) -> Result<Value> {
        let answer = self.send_raw(builder, limit).await?;
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
            // The transport never follows one (see `transport.rs`): say so, not just the number.
            300..=399 => ClientError::GatewayProtocol(format!(
                "HTTP {}: a redirect, which is never followed (the credential goes to the \
                 configured gateway only); point the profile at the gateway's own address",
                answer.status
            )),
            status => ClientError::GatewayProtocol(format!("HTTP {status}: {message}")),
        }
    }

    /// A 401: for a session it means sign in again, for an API key the key is refused.
    pub(crate) fn unauthorized(&self, message: String) -> ClientError {
        if self.inner.auth.session {
            ClientError::ReauthRequired
        } else {
            ClientError::Unauthorized(message)
        }
    }

    /// A missing-route answer from an optional endpoint: `Ok` when the feature is absent
    /// (now recorded so). One that already worked does not vanish on one answer (a load
    /// balancer in the middle of a restart says 404 too), so then the answer is an error
    /// worth retrying.
    pub(crate) fn confirm_absent(&self, feature: Feature, answer: &RawAnswer) -> Result<()> {
        if self.detected().route_missing(feature) {
            return Ok(());
        }
        Err(ClientError::Unavailable {
            status: answer.status,
            message: format!(
                "an endpoint that worked before answered as missing: {}",
                error_message(&answer.body)
            ),
        })
    }

    /// The most bytes one list page may take ([`HttpConfig::list_page_bytes`]).
    pub(crate) fn list_page_bytes(&self) -> usize {
        self.inner.list_page_bytes
    }

    /// How long an event stream may go without a complete line
    /// ([`HttpConfig::stream_idle_timeout`]).
    pub(crate) fn stream_idle_timeout(&self) -> Duration {
        self.inner.stream_idle_timeout
    }

    /// `GET /api/v1/policy/snapshots`; element 0 is current.
    pub async fn policy_snapshots(&self) -> Result<Vec<String>> {
        let body = self
            .send_json(
                self.request(Method::GET, "api/v1/policy/snapshots")?,
                SMALL_BODY_BYTES,
            )
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

    /// The extension `GET /api/v1/approvals/{id}/request`; `None` when the gateway does not
    /// offer it (then nothing can be recomputed and verdicts say so).
    pub async fn job_request(&self, job_id: &str) -> Result<Option<RequestDoc>> {
        if self.detected().get(Feature::RequestEndpoint) == Some(false) {
            return Ok(None);
        }
        let path = format!("api/v1/approvals/{}/request", path_segment(job_id)?);
        let answer = self
            .send_raw(self.request(Method::GET, &path)?, DOCUMENT_BODY_BYTES)
            .await?;
        if is_missing_route(&answer) {
            self.confirm_absent(Feature::RequestEndpoint, &answer)?;
            return Ok(None);
        }
        if !(200..300).contains(&answer.status) {
            return Err(self.error_for(&answer));
        }
        self.detected().set(Feature::RequestEndpoint, true);
        request_doc(job_id, &answer.body).map(Some)
    }

    /// `GET /api/v1/approvals/{id}/context` (new generation); `None` when not offered.
    pub async fn approval_context(&self, job_id: &str) -> Result<Option<Value>> {
        if self.detected().get(Feature::Context) == Some(false) {
            return Ok(None);
        }
        let path = format!("api/v1/approvals/{}/context", path_segment(job_id)?);
        let answer = self
            .send_raw(self.request(Method::GET, &path)?, DOCUMENT_BODY_BYTES)
            .await?;
        if is_missing_route(&answer) {
            self.confirm_absent(Feature::Context, &answer)?;
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
            path_segment(job_id)?,
            action.as_str()
        );
        let answer = self
            .send_raw(
                self.request(Method::POST, &path)?.json(body),
                SMALL_BODY_BYTES,
            )
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
            .send_json(
                self.request(Method::GET, "api/v1/auth/session")?,
                SMALL_BODY_BYTES,
            )
            .await?;
        session_info(&body)
    }
}

/// Parses a `/request` answer for `job_id`, keeping the request's bytes as served.
fn request_doc(job_id: &str, body: &str) -> Result<RequestDoc> {
    let answer: RequestAnswer<'_> = serde_json::from_str(body)
        .map_err(|e| ClientError::GatewayProtocol(format!("request answer: {e}")))?;
    if let Some(served) = answer.job_id.filter(|served| !served.is_empty()) {
        if served != job_id {
            return Err(ClientError::GatewayProtocol(format!(
                "asked for the request of job {:?}, the gateway served job {:?}",
                clip(job_id),
                clip(&served)
            )));
        }
    }
    let raw = answer.job_request.get();
    if !raw.starts_with('{') {
        return Err(ClientError::GatewayProtocol(
            "`job_request` is not an object".into(),
        ));
    }
    Ok(RequestDoc {
        job_request: raw.as_bytes().to_vec(),
    })
}

/// A job id as one path segment: ids come from the gateway and must not add segments. An
/// empty id, `.` and `..` would name another endpoint, and URL parsing treats `%2e` as a dot,
/// so encoding cannot save them: they are refused.
pub(crate) fn path_segment(id: &str) -> Result<String> {
    if matches!(id, "" | "." | "..") {
        return Err(ClientError::InvalidInput(format!("{id:?} is not a job id")));
    }
    let mut out = String::with_capacity(id.len());
    for byte in id.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(char::from(byte));
            }
            other => out.push_str(&format!("%{other:02X}")),
        }
    }
    Ok(out)
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
        let segment = |id| path_segment(id).expect(id);
        assert_eq!(segment("b5901a94-eff3"), "b5901a94-eff3");
        assert_eq!(segment("../x/y?z"), "..%2Fx%2Fy%3Fz");
        assert_eq!(segment("..."), "...");
        for id in ["", ".", ".."] {
            let error = path_segment(id).expect_err(id);
            assert_eq!(error.code(), "invalid_input", "{id:?}");
        }
    }
}
