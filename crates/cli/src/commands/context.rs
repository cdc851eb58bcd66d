//! Where a command's state comes from: the data directory, which profile (a saved one, or
//! the `COUNTERSIGN_*` environment variables), its secret store, its ledger file and its
//! gateway client.
//!
//! Layout under the data directory: `profiles.json` (the client's `ProfileStore`),
//! `settings.json` (which saved profile is the default) and `ledgers/<profile>.sqlite`.
//! Profile names are restricted so a name can never point outside `ledgers/`.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::anyhow;
use countersign_client::{
    AuthMethod, GatewayClient, HttpConfig, KeyringStore, MemorySecretStore, Profile, ProfileStore,
    Secret, SecretKind, SecretStore,
};
use countersign_ledger::Ledger;

use super::CliError;

pub const GATEWAY_URL_ENV: &str = "COUNTERSIGN_GATEWAY_URL";
pub const TENANT_ENV: &str = "COUNTERSIGN_TENANT";
pub const API_KEY_ENV: &str = "COUNTERSIGN_API_KEY";
/// The ledger name of an environment-configured run without `--profile`.
const ENV_PROFILE: &str = "env";

pub use countersign_client::layout::{ledger_path, LocalSettings as Settings};

/// The data directory: `COUNTERSIGN_DATA_DIR`, else the platform's data directory.
pub fn data_dir() -> Result<PathBuf, CliError> {
    Ok(countersign_client::layout::data_dir()?)
}

pub fn validate_profile_name(name: &str) -> Result<(), CliError> {
    Ok(countersign_client::layout::validate_profile_name(name)?)
}

/// Credentials from the environment, when `COUNTERSIGN_GATEWAY_URL` is set.
struct EnvCredentials {
    url: String,
    tenant: String,
    key: Secret,
}

fn env_credentials() -> Result<Option<EnvCredentials>, CliError> {
    let Some(url) = non_empty_env(GATEWAY_URL_ENV) else {
        return Ok(None);
    };
    let missing =
        |name: &str| CliError::invalid_input(anyhow!("{GATEWAY_URL_ENV} is set but {name} is not"));
    let tenant = non_empty_env(TENANT_ENV).ok_or_else(|| missing(TENANT_ENV))?;
    let key = non_empty_env(API_KEY_ENV).ok_or_else(|| missing(API_KEY_ENV))?;
    Ok(Some(EnvCredentials {
        url,
        tenant,
        key: Secret::new(key),
    }))
}

fn non_empty_env(name: &str) -> Option<String> {
    std::env::var(name)
        .ok()
        .filter(|value| !value.trim().is_empty())
}

/// A profile and where its secret is.
pub struct Resolved {
    pub data: PathBuf,
    pub profile: Profile,
    pub secrets: Box<dyn SecretStore>,
}

/// The profile a command runs as: the environment's when `COUNTERSIGN_GATEWAY_URL` is set
/// (its key in a memory-only store), else a saved one with its secret in the OS keychain.
pub fn resolve(flag: Option<&str>) -> Result<Resolved, CliError> {
    let data = data_dir()?;
    if let Some(env) = env_credentials()? {
        let name = flag.unwrap_or(ENV_PROFILE).to_owned();
        validate_profile_name(&name)?;
        let profile = Profile {
            name,
            gateway_url: env.url,
            tenant: env.tenant,
            auth: AuthMethod::ApiKey,
        };
        let secrets = MemorySecretStore::default();
        secrets.set(&profile.name, SecretKind::ApiKey, &env.key)?;
        return Ok(Resolved {
            data,
            profile,
            secrets: Box::new(secrets),
        });
    }
    let profile = saved_profile(&data, flag)?;
    Ok(Resolved {
        data,
        profile,
        secrets: Box::new(KeyringStore),
    })
}

/// `--profile NAME`, else the only saved profile, else the one marked default.
pub fn saved_profile(data: &Path, flag: Option<&str>) -> Result<Profile, CliError> {
    let store = ProfileStore::new(data);
    if let Some(name) = flag {
        validate_profile_name(name)?;
        return Ok(store.get(name)?);
    }
    let mut profiles = store.list()?;
    if profiles.len() == 1 {
        return Ok(profiles.remove(0));
    }
    if let Some(name) = Settings::load(data)?.default_profile {
        return Ok(store.get(&name)?);
    }
    let hint = if profiles.is_empty() {
        format!("no saved profile: run `countersign-cli login` or set {GATEWAY_URL_ENV}")
    } else {
        "several saved profiles and none is the default: pass --profile NAME".to_owned()
    };
    Err(CliError::invalid_input(anyhow!(hint)))
}

/// The name of the ledger a command reads, without needing any secret: audit commands work
/// offline and without credentials.
pub fn ledger_name(flag: Option<&str>) -> Result<(PathBuf, String), CliError> {
    let data = data_dir()?;
    // A named ledger needs no saved profile: the app's demo writes one, and a profile removed
    // with `logout --forget` leaves its history behind. Both stay readable offline.
    let name = match flag {
        Some(name) => name.to_owned(),
        None if non_empty_env(GATEWAY_URL_ENV).is_some() => ENV_PROFILE.to_owned(),
        None => saved_profile(&data, None)?.name,
    };
    validate_profile_name(&name)?;
    Ok((data, name))
}

/// Opens (creating if needed) the profile's ledger.
pub fn open_ledger(data: &Path, profile: &str) -> Result<Arc<Ledger>, CliError> {
    Ok(Arc::new(Ledger::open(ledger_path(data, profile))?))
}

/// Opens the profile's ledger only if it exists: reading a ledger that was never written is a
/// mistake worth reporting, not an empty history.
pub fn existing_ledger(data: &Path, profile: &str) -> Result<Arc<Ledger>, CliError> {
    let path = ledger_path(data, profile);
    if !path.exists() {
        return Err(CliError::new(
            "ledger_not_found",
            anyhow!("no ledger for profile {profile:?} at {}", path.display()),
        ));
    }
    open_ledger(data, profile)
}

/// Everything a gateway command needs.
pub struct Session {
    pub client: GatewayClient,
    pub ledger: Arc<Ledger>,
}

pub fn connect(flag: Option<&str>) -> Result<Session, CliError> {
    let resolved = resolve(flag)?;
    let client = GatewayClient::from_profile(
        &resolved.profile,
        resolved.secrets.as_ref(),
        &HttpConfig::default(),
    )?;
    let ledger = open_ledger(&resolved.data, &resolved.profile.name)?;
    Ok(Session { client, ledger })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_profile_is_the_only_one_or_the_marked_one() {
        let dir = tempfile::tempdir().expect("temp dir");
        let data = dir.path();
        let profile = |name: &str| Profile {
            name: name.into(),
            gateway_url: "http://127.0.0.1:1".into(),
            tenant: "default".into(),
            auth: AuthMethod::ApiKey,
        };
        assert_eq!(
            saved_profile(data, None).expect_err("none").exit_code(),
            super::super::exit::INVALID_INPUT
        );
        let store = ProfileStore::new(data);
        store.save(&profile("a")).expect("save");
        assert_eq!(saved_profile(data, None).expect("only").name, "a");
        store.save(&profile("b")).expect("save");
        assert!(saved_profile(data, None).is_err(), "ambiguous");
        Settings::remember_default(data, "b").expect("settings");
        assert_eq!(saved_profile(data, None).expect("default").name, "b");
        assert_eq!(saved_profile(data, Some("a")).expect("flag").name, "a");
        assert_eq!(
            saved_profile(data, Some("zz")).expect_err("unknown").code(),
            "profile_not_found"
        );
        assert!(saved_profile(data, Some("../a")).is_err());
    }
}
