//! Opening a profile: the demo, a saved profile (its secret from the keychain), or a new one
//! connected with an API key or a password. Uses the CLI's files (`profiles.json`, `settings.json`,
//! `ledgers/<name>.sqlite`), so both see the same profiles and write the same history.

use std::path::Path;
use std::sync::Arc;

use countersign_client::layout::{ledger_path, validate_profile_name, LocalSettings};
use countersign_client::session::{sign_in_with_api_key, sign_in_with_password};
use countersign_client::{
    AuthMethod, ClientError, GatewayClient, HttpConfig, Profile, ProfileStore, Secret, SecretKind,
    SecretStore,
};
use countersign_gateway::DemoConfig;
use countersign_ledger::Ledger;
use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crate::demo::{EmbeddedDemo, DEMO_PROFILE};
use crate::error::{codes, DeskError, Result};
use crate::session::OpenSession;

/// How a new profile signs in.
#[derive(Clone, Deserialize, TS)]
#[serde(tag = "method", rename_all = "snake_case")]
#[ts(export)]
pub enum Credential {
    ApiKey {
        api_key: String,
    },
    /// Exchanged for a session token at once; the password itself is never stored.
    Password {
        username: String,
        password: String,
    },
}

/// "Connect to a gateway".
#[derive(Debug, Clone, Deserialize, TS)]
#[ts(export)]
pub struct ConnectRequest {
    pub name: String,
    pub gateway_url: String,
    pub tenant: String,
    pub credential: Credential,
}

/// Secrets never reach a log.
impl std::fmt::Debug for Credential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::ApiKey { .. } => f.write_str("ApiKey(<redacted>)"),
            Self::Password { username, .. } => write!(f, "Password({username:?}, <redacted>)"),
        }
    }
}

/// A saved profile as the profile switcher lists it (never a secret).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[ts(export)]
pub struct ProfileView {
    pub name: String,
    pub gateway_url: String,
    pub tenant: String,
    /// `api_key` or `password`.
    pub auth: String,
}

impl From<&Profile> for ProfileView {
    fn from(profile: &Profile) -> Self {
        Self {
            name: profile.name.clone(),
            gateway_url: profile.gateway_url.clone(),
            tenant: profile.tenant.clone(),
            auth: match profile.auth {
                AuthMethod::ApiKey => "api_key",
                AuthMethod::Password { .. } => "password",
            }
            .into(),
        }
    }
}

fn open_ledger(data: &Path, name: &str) -> Result<Arc<Ledger>> {
    Ok(Arc::new(Ledger::open(ledger_path(data, name))?))
}

/// The demo: an embedded gateway, and the `demo` profile's ledger.
pub async fn open_demo(data: &Path, config: DemoConfig) -> Result<OpenSession> {
    let (demo, profile, secrets) = EmbeddedDemo::start(config).await?;
    let client = GatewayClient::from_profile(&profile, &secrets, &HttpConfig::default())?;
    Ok(OpenSession {
        profile_name: DEMO_PROFILE.into(),
        tenant: profile.tenant,
        client,
        ledger: open_ledger(data, DEMO_PROFILE)?,
        demo: Some(demo),
    })
}

/// A saved profile, its secret from `secrets`.
pub fn open_saved(data: &Path, name: &str, secrets: &dyn SecretStore) -> Result<OpenSession> {
    validate_profile_name(name)?;
    let profile = ProfileStore::new(data).get(name)?;
    // After a sign-out the profile stays and only its secret is gone: that is "sign in
    // again", as an expired session is, not a broken profile.
    if profile.auth == AuthMethod::ApiKey && secrets.get(name, SecretKind::ApiKey)?.is_none() {
        return Err(ClientError::ReauthRequired.into());
    }
    let client = GatewayClient::from_profile(&profile, secrets, &HttpConfig::default())?;
    LocalSettings::remember_default(data, name)?;
    Ok(OpenSession {
        profile_name: profile.name,
        tenant: profile.tenant,
        client,
        ledger: open_ledger(data, name)?,
        demo: None,
    })
}

/// Signs in (checking the key, or exchanging the password for a session), then saves the
/// profile and its secret (in `secrets`).
pub async fn connect(
    data: &Path,
    request: ConnectRequest,
    secrets: &dyn SecretStore,
) -> Result<OpenSession> {
    let name = request.name.trim().to_owned();
    validate_profile_name(&name)?;
    if name == DEMO_PROFILE {
        return Err(DeskError::new(
            codes::INVALID_INPUT,
            "the name \"demo\" is reserved for the demo",
        ));
    }
    // A profile's history and open decisions belong to its gateway: never repoint one.
    if ProfileStore::new(data).get(&name).is_ok() {
        return Err(DeskError::new(
            codes::INVALID_INPUT,
            format!("a profile named {name:?} exists already: open it, or choose another name"),
        ));
    }
    let (auth, secret) = match request.credential {
        Credential::ApiKey { api_key } => (AuthMethod::ApiKey, api_key),
        Credential::Password { username, password } => (
            AuthMethod::Password {
                username: username.trim().to_owned(),
            },
            password,
        ),
    };
    let profile = Profile {
        name: name.clone(),
        gateway_url: request.gateway_url.trim().to_owned(),
        tenant: request.tenant.trim().to_owned(),
        auth,
    };
    sign_in(&profile, &secret, secrets).await?;
    ProfileStore::new(data).save(&profile)?;
    open_saved(data, &name, secrets)
}

/// Signs a saved profile in again (its session expired, or its key was replaced) and opens it.
pub async fn sign_in_again(
    data: &Path,
    name: &str,
    secret: &str,
    secrets: &dyn SecretStore,
) -> Result<OpenSession> {
    validate_profile_name(name)?;
    let profile = ProfileStore::new(data).get(name)?;
    sign_in(&profile, secret, secrets).await?;
    open_saved(data, name, secrets)
}

/// Checks the secret against the gateway and stores what the profile keeps: the API key, or
/// the session token a password buys. A refused secret is never stored.
async fn sign_in(profile: &Profile, secret: &str, secrets: &dyn SecretStore) -> Result<()> {
    let secret = secret.trim();
    let config = HttpConfig::default();
    match &profile.auth {
        AuthMethod::ApiKey => {
            if secret.is_empty() {
                return Err(DeskError::new(
                    codes::INVALID_INPUT,
                    "an API key is required",
                ));
            }
            sign_in_with_api_key(profile, &Secret::new(secret), secrets, &config).await?;
        }
        AuthMethod::Password { username } => {
            if username.is_empty() || secret.is_empty() {
                return Err(DeskError::new(
                    codes::INVALID_INPUT,
                    "a username and a password are required",
                ));
            }
            sign_in_with_password(profile, &Secret::new(secret), secrets, &config).await?;
        }
    }
    Ok(())
}

pub fn list_profiles(data: &Path) -> Result<Vec<ProfileView>> {
    Ok(ProfileStore::new(data)
        .list()?
        .iter()
        .map(ProfileView::from)
        .collect())
}

/// Forgets the profile's secrets (the profile and its history stay).
pub fn sign_out(data: &Path, name: &str, secrets: &dyn SecretStore) -> Result<()> {
    let profile = ProfileStore::new(data).get(name)?;
    countersign_client::session::sign_out(&profile, secrets)?;
    Ok(())
}

/// The profile opened last, which the app opens at start (the CLI's default profile).
pub fn last_profile(data: &Path) -> Option<String> {
    LocalSettings::load(data).ok()?.default_profile
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_connect_request_names_its_method_and_never_prints_a_secret() {
        let request: ConnectRequest = serde_json::from_value(serde_json::json!({
            "name": "work", "gateway_url": "https://gw.example", "tenant": "default",
            "credential": {"method": "password", "username": "alice", "password": "hunter2-pw"}
        }))
        .expect("a password request");
        let printed = format!("{request:?}");
        assert!(
            printed.contains("alice") && !printed.contains("hunter2-pw"),
            "{printed}"
        );
        let key: Credential =
            serde_json::from_value(serde_json::json!({"method": "api_key", "api_key": "sk-123"}))
                .expect("an API-key credential");
        assert!(!format!("{key:?}").contains("sk-123"));
        assert!(
            serde_json::from_value::<Credential>(serde_json::json!({"method": "magic"})).is_err()
        );
    }
}
