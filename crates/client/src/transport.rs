//! The transport under [`crate::http::GatewayClient`]: the reqwest client (timeouts, no
//! redirects, extra roots, `localhost` pinned to loopback) and the credential header.

use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;

use reqwest::header::{HeaderName, HeaderValue, AUTHORIZATION};

use crate::error::{ClientError, Result};
use crate::http::{Credential, HttpConfig};

/// The credential as a header, marked sensitive so that it is never logged or printed.
#[derive(Debug)]
pub(crate) struct AuthHeader {
    pub name: HeaderName,
    pub value: HeaderValue,
    /// A session (rather than an API key): a 401 means sign in again.
    pub session: bool,
}

impl AuthHeader {
    pub fn new(credential: &Credential) -> Result<Self> {
        let (name, text, session) = match credential {
            Credential::ApiKey(key) => (
                HeaderName::from_static("x-api-key"),
                key.expose().to_owned(),
                false,
            ),
            Credential::Session(token) => {
                (AUTHORIZATION, format!("Bearer {}", token.expose()), true)
            }
        };
        let mut value = HeaderValue::from_str(&text).map_err(|_| {
            ClientError::InvalidProfile(
                "the credential contains characters an HTTP header cannot carry".into(),
            )
        })?;
        value.set_sensitive(true);
        Ok(Self {
            name,
            value,
            session,
        })
    }
}

pub(crate) fn build_http(config: &HttpConfig, total: Option<Duration>) -> Result<reqwest::Client> {
    // Plain http is allowed to `localhost` because it is loopback: resolve it here rather
    // than trusting the system resolver (or a hosts file) to keep it so.
    let loopback = [
        SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
        SocketAddr::from((Ipv6Addr::LOCALHOST, 0)),
    ];
    let mut builder = reqwest::Client::builder()
        .connect_timeout(config.connect_timeout)
        .read_timeout(config.stream_idle_timeout)
        .resolve_to_addrs("localhost", &loopback)
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::secrets::Secret;

    #[test]
    fn credential_headers_are_sensitive() {
        for credential in [
            Credential::ApiKey(Secret::new("k")),
            Credential::Session(Secret::new("t")),
        ] {
            let header = AuthHeader::new(&credential).expect("header");
            assert!(header.value.is_sensitive());
            assert!(!format!("{header:?}").contains("\"k\""));
        }
    }
}
