//! Opening a profile: the demo, a saved profile (its secret from the keychain), or a new one
//! connected with an API key. Uses the CLI's files (`profiles.json`, `settings.json`,
//! `ledgers/<name>.sqlite`), so both see the same profiles and write the same history.

use std::path::Path;
use std::sync::Arc;

use countersign_client::session::sign_in_with_api_key;
use countersign_client::{
    AuthMethod, GatewayClient, HttpConfig, Profile, ProfileStore, Secret, SecretStore,
};
use countersign_gateway::DemoConfig;
use countersign_ledger::Ledger;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use ts_rs::TS;

use crate::demo::{EmbeddedDemo, DEMO_PROFILE};
use crate::error::{codes, DeskError, Result};
use crate::paths::ledger_path;
use crate::session::OpenSession;

const SETTINGS_FILE: &str = "settings.json";
const MAX_NAME_CHARS: usize = 64;

/// "Connect to a gateway" with an API key.
#[derive(Clone, Deserialize, TS)]
#[ts(export)]
pub struct ConnectRequest {
    pub name: String,
    pub gateway_url: String,
    pub tenant: String,
    pub api_key: String,
}

impl std::fmt::Debug for ConnectRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConnectRequest")
            .field("name", &self.name)
            .field("gateway_url", &self.gateway_url)
            .field("tenant", &self.tenant)
            .field("api_key", &"<redacted>")
            .finish()
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

/// Letters, digits, `.`, `_` and `-`, not starting with `.`: a plain file name everywhere,
/// so `ledgers/<name>.sqlite` stays inside `ledgers/` (the CLI's rule).
pub fn validate_profile_name(name: &str) -> Result<()> {
    let valid = !name.is_empty()
        && name.chars().count() <= MAX_NAME_CHARS
        && !name.starts_with('.')
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
    if valid {
        Ok(())
    } else {
        Err(DeskError::new(
            "invalid_input",
            format!(
                "invalid profile name {name:?}: use up to {MAX_NAME_CHARS} letters, digits, \
                 '.', '_' or '-', not starting with '.'"
            ),
        ))
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
    let client = GatewayClient::from_profile(&profile, secrets, &HttpConfig::default())?;
    remember_last(data, name)?;
    Ok(OpenSession {
        profile_name: profile.name,
        tenant: profile.tenant,
        client,
        ledger: open_ledger(data, name)?,
        demo: None,
    })
}

/// Checks the key against the gateway, then saves the profile and the key (in `secrets`).
pub async fn connect(
    data: &Path,
    request: ConnectRequest,
    secrets: &dyn SecretStore,
) -> Result<OpenSession> {
    let name = request.name.trim().to_owned();
    validate_profile_name(&name)?;
    if name == DEMO_PROFILE {
        return Err(DeskError::new(
            "invalid_input",
            "the name \"demo\" is reserved for the demo",
        ));
    }
    if request.api_key.trim().is_empty() {
        return Err(DeskError::new("invalid_input", "an API key is required"));
    }
    // A profile's history and open decisions belong to its gateway: never repoint one.
    if ProfileStore::new(data).get(&name).is_ok() {
        return Err(DeskError::new(
            "invalid_input",
            format!("a profile named {name:?} exists already: open it, or choose another name"),
        ));
    }
    let profile = Profile {
        name: name.clone(),
        gateway_url: request.gateway_url.trim().to_owned(),
        tenant: request.tenant.trim().to_owned(),
        auth: AuthMethod::ApiKey,
    };
    let key = Secret::new(request.api_key.trim());
    sign_in_with_api_key(&profile, &key, secrets, &HttpConfig::default()).await?;
    ProfileStore::new(data).save(&profile)?;
    open_saved(data, &name, secrets)
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
    let bytes = std::fs::read(data.join(SETTINGS_FILE)).ok()?;
    let settings: Value = serde_json::from_slice(&bytes).ok()?;
    settings
        .get("default_profile")
        .and_then(Value::as_str)
        .map(str::to_owned)
}

fn remember_last(data: &Path, name: &str) -> Result<()> {
    let path = data.join(SETTINGS_FILE);
    let mut settings = std::fs::read(&path)
        .ok()
        .and_then(|bytes| serde_json::from_slice::<Value>(&bytes).ok())
        .filter(Value::is_object)
        .unwrap_or_else(|| Value::Object(serde_json::Map::new()));
    settings["default_profile"] = Value::String(name.to_owned());
    let io = |e: std::io::Error| DeskError::new(codes::IO, format!("{}: {e}", path.display()));
    std::fs::create_dir_all(data).map_err(io)?;
    let bytes = serde_json::to_vec_pretty(&settings).unwrap_or_default();
    std::fs::write(&path, bytes).map_err(io)
}
