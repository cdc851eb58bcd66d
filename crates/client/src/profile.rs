//! Profiles: a gateway URL, a tenant and how to authenticate. The non-secret part persists as
//! JSON (`profiles.json`) in a directory the caller chooses; the secrets live in a
//! [`crate::SecretStore`] and never touch that file.
//!
//! Transport rule: `https` always; plain `http` only to loopback (127.0.0.0/8, `::1`,
//! `localhost`), where nothing crosses a network.

use std::net::IpAddr;
use std::path::{Path, PathBuf};

use reqwest::header::HeaderValue;
use reqwest::Url;
use serde::{Deserialize, Serialize};

use crate::error::{ClientError, Result};

const PROFILES_FILE: &str = "profiles.json";

/// How a profile authenticates.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum AuthMethod {
    /// `X-API-Key`, kept in the secret store.
    ApiKey,
    /// Username and password exchanged for a session token at `POST /api/v1/auth/login`.
    Password { username: String },
}

/// One gateway account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Profile {
    /// Unique, and the key secrets are filed under.
    pub name: String,
    pub gateway_url: String,
    pub tenant: String,
    pub auth: AuthMethod,
}

impl Profile {
    /// Checks the name, tenant and URL (including the transport rule).
    pub fn validate(&self) -> Result<()> {
        if self.name.trim().is_empty() {
            return Err(ClientError::InvalidProfile("the name is empty".into()));
        }
        tenant_header(&self.tenant)?;
        if let AuthMethod::Password { username } = &self.auth {
            if username.trim().is_empty() {
                return Err(ClientError::InvalidProfile("the username is empty".into()));
            }
        }
        self.base_url().map(drop)
    }

    /// The gateway's base URL, checked against the transport rule.
    pub fn base_url(&self) -> Result<Url> {
        checked_base_url(&self.gateway_url)
    }
}

/// The tenant as its `X-Tenant-ID` header value; a tenant a header cannot carry is refused
/// here, where it reads as a profile problem, rather than on every call as a network error.
pub(crate) fn tenant_header(tenant: &str) -> Result<HeaderValue> {
    if tenant.trim().is_empty() {
        return Err(ClientError::InvalidProfile("the tenant is empty".into()));
    }
    HeaderValue::from_str(tenant).map_err(|_| {
        ClientError::InvalidProfile(format!(
            "the tenant {tenant:?} contains characters an HTTP header cannot carry"
        ))
    })
}

/// Parses a gateway URL and applies the transport rule. User info, query and fragment are
/// refused: credentials belong in the secret store, not in a URL that gets displayed.
pub fn checked_base_url(text: &str) -> Result<Url> {
    let url = Url::parse(text.trim())
        .map_err(|e| ClientError::InvalidProfile(format!("gateway URL {text:?}: {e}")))?;
    if !url.username().is_empty() || url.password().is_some() {
        return Err(ClientError::InvalidProfile(
            "the gateway URL must not carry credentials".into(),
        ));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(ClientError::InvalidProfile(
            "the gateway URL must not have a query or fragment".into(),
        ));
    }
    let host = url
        .host_str()
        .ok_or_else(|| ClientError::InvalidProfile("the gateway URL has no host".into()))?;
    match url.scheme() {
        "https" => Ok(url),
        "http" if is_loopback(host) => Ok(url),
        "http" => Err(ClientError::InsecureTransport(host.to_owned())),
        other => Err(ClientError::InvalidProfile(format!(
            "unsupported scheme {other:?} (use https)"
        ))),
    }
}

fn is_loopback(host: &str) -> bool {
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    match bare.parse::<IpAddr>() {
        Ok(ip) => ip.is_loopback(),
        Err(_) => bare.eq_ignore_ascii_case("localhost"),
    }
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct ProfilesFile {
    #[serde(default)]
    profiles: Vec<Profile>,
}

/// The profiles file in a caller-chosen directory.
#[derive(Debug, Clone)]
pub struct ProfileStore {
    dir: PathBuf,
}

impl ProfileStore {
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self { dir: dir.into() }
    }

    pub fn path(&self) -> PathBuf {
        self.dir.join(PROFILES_FILE)
    }

    /// Every profile, in the order they were added; an absent file means none.
    pub fn list(&self) -> Result<Vec<Profile>> {
        Ok(self.read()?.profiles)
    }

    pub fn get(&self, name: &str) -> Result<Profile> {
        self.list()?
            .into_iter()
            .find(|p| p.name == name)
            .ok_or_else(|| ClientError::ProfileNotFound(name.to_owned()))
    }

    /// Adds the profile, or replaces the one with the same name.
    pub fn save(&self, profile: &Profile) -> Result<()> {
        profile.validate()?;
        let mut file = self.read()?;
        match file.profiles.iter_mut().find(|p| p.name == profile.name) {
            Some(existing) => *existing = profile.clone(),
            None => file.profiles.push(profile.clone()),
        }
        self.write(&file)
    }

    /// Removes the profile; returns whether it existed. Its secrets are the caller's to delete.
    pub fn remove(&self, name: &str) -> Result<bool> {
        let mut file = self.read()?;
        let before = file.profiles.len();
        file.profiles.retain(|p| p.name != name);
        let removed = file.profiles.len() != before;
        if removed {
            self.write(&file)?;
        }
        Ok(removed)
    }

    fn read(&self) -> Result<ProfilesFile> {
        match std::fs::read(self.path()) {
            Ok(bytes) => serde_json::from_slice(&bytes).map_err(|e| {
                ClientError::InvalidProfile(format!("{}: {e}", self.path().display()))
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(ProfilesFile::default()),
            Err(e) => Err(e.into()),
        }
    }

    /// Writes beside the target and renames over it, so a crash never leaves half a file.
    fn write(&self, file: &ProfilesFile) -> Result<()> {
        countersign_ledger::create_private_dir_all(&self.dir)?;
        let bytes = serde_json::to_vec_pretty(file)
            .map_err(|e| ClientError::InvalidProfile(e.to_string()))?;
        let tmp = temp_path(&self.path());
        std::fs::write(&tmp, bytes)?;
        std::fs::rename(&tmp, self.path())?;
        Ok(())
    }
}

fn temp_path(path: &Path) -> PathBuf {
    let mut name = path
        .file_name()
        .map(|n| n.to_os_string())
        .unwrap_or_default();
    name.push(format!(".{}.tmp", std::process::id()));
    path.with_file_name(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn profile(url: &str) -> Profile {
        Profile {
            name: "work".into(),
            gateway_url: url.into(),
            tenant: "default".into(),
            auth: AuthMethod::ApiKey,
        }
    }

    #[test]
    fn transport_rule() {
        for ok in [
            "https://gw.example.com",
            "https://gw.example.com:8443/prefix/",
            "http://127.0.0.1:8081",
            "http://127.10.0.3",
            "http://[::1]:9000",
            "http://localhost:1",
            "http://LocalHost",
        ] {
            assert!(profile(ok).validate().is_ok(), "{ok}");
        }
        for insecure in ["http://gw.example.com", "http://10.0.0.1", "http://[::2]"] {
            let err = profile(insecure).validate().expect_err(insecure);
            assert_eq!(err.code(), "insecure_transport", "{insecure}");
        }
        for invalid in [
            "ftp://x",
            "not a url",
            "https://user:pw@gw.example.com",
            "https://gw.example.com/?token=x",
        ] {
            let err = profile(invalid).validate().expect_err(invalid);
            assert_eq!(err.code(), "invalid_profile", "{invalid}");
        }
        for tenant in ["", "  ", "a\nb", "t\u{7f}"] {
            let mut p = profile("https://gw.example.com");
            p.tenant = tenant.into();
            let err = p.validate().expect_err(tenant);
            assert_eq!(err.code(), "invalid_profile", "{tenant:?}");
        }
    }

    #[test]
    fn store_round_trips_and_replaces() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = ProfileStore::new(dir.path().join("nested"));
        assert!(store.list().expect("empty").is_empty());
        let mut p = profile("https://a.example");
        store.save(&p).expect("save");
        p.auth = AuthMethod::Password {
            username: "alice".into(),
        };
        store.save(&p).expect("replace");
        let mut q = profile("http://127.0.0.1:1");
        q.name = "local".into();
        store.save(&q).expect("save second");
        assert_eq!(store.list().expect("list"), vec![p.clone(), q]);
        assert_eq!(store.get("work").expect("get"), p);
        assert!(store.remove("work").expect("remove"));
        assert!(!store.remove("work").expect("remove again"));
        assert_eq!(
            store.get("work").expect_err("gone").code(),
            "profile_not_found"
        );
        assert!(store.save(&profile("http://example.com")).is_err());
    }
}
