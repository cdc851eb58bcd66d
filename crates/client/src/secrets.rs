//! Secrets (API keys and session tokens) and where they live: behind the
//! [`SecretStore`] trait, whose real implementation is the OS keychain through the `keyring`
//! crate. Secrets never go into profile files, logs or the ledger; [`Secret`]'s `Debug` and
//! `Display` print a placeholder so a stray `{:?}` cannot leak one.

use std::collections::HashMap;
use std::fmt;
use std::sync::Mutex;

use crate::error::{ClientError, Result};

/// The keychain service name every Countersign secret is filed under.
pub const KEYRING_SERVICE: &str = "countersign";

/// A secret string. Deliberately not `Serialize`: it cannot end up in a file by accident.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The secret itself, for the one place that puts it on the wire.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

/// Which secret of a profile.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SecretKind {
    ApiKey,
    /// The token a password login returned; the password itself is never stored.
    SessionToken,
}

impl SecretKind {
    fn as_str(self) -> &'static str {
        match self {
            Self::ApiKey => "api-key",
            Self::SessionToken => "session-token",
        }
    }
}

/// Where secrets are kept, per profile and kind.
pub trait SecretStore: Send + Sync + fmt::Debug {
    /// The stored secret, `None` when there is none.
    fn get(&self, profile: &str, kind: SecretKind) -> Result<Option<Secret>>;
    fn set(&self, profile: &str, kind: SecretKind, secret: &Secret) -> Result<()>;
    /// Removes the secret; removing a missing one is not an error.
    fn delete(&self, profile: &str, kind: SecretKind) -> Result<()>;
}

/// The OS keychain (Secret Service on Linux, Keychain on macOS, Credential Manager on
/// Windows). Entries are filed under service [`KEYRING_SERVICE`] and user
/// `<profile>/<kind>`.
#[derive(Debug, Clone, Default)]
pub struct KeyringStore;

impl KeyringStore {
    fn entry(profile: &str, kind: SecretKind) -> Result<keyring::Entry> {
        keyring::Entry::new(KEYRING_SERVICE, &format!("{profile}/{}", kind.as_str()))
            .map_err(keyring_error)
    }
}

fn keyring_error(error: keyring::Error) -> ClientError {
    ClientError::SecretStore(error.to_string())
}

impl SecretStore for KeyringStore {
    fn get(&self, profile: &str, kind: SecretKind) -> Result<Option<Secret>> {
        match Self::entry(profile, kind)?.get_password() {
            Ok(value) => Ok(Some(Secret(value))),
            Err(keyring::Error::NoEntry) => Ok(None),
            Err(error) => Err(keyring_error(error)),
        }
    }

    fn set(&self, profile: &str, kind: SecretKind, secret: &Secret) -> Result<()> {
        Self::entry(profile, kind)?
            .set_password(secret.expose())
            .map_err(keyring_error)
    }

    fn delete(&self, profile: &str, kind: SecretKind) -> Result<()> {
        match Self::entry(profile, kind)?.delete_credential() {
            Ok(()) | Err(keyring::Error::NoEntry) => Ok(()),
            Err(error) => Err(keyring_error(error)),
        }
    }
}

/// Secrets held in memory for this process only: for a CLI run given a key on the command
/// line or in the environment, where nothing should be persisted.
#[derive(Debug, Default)]
pub struct MemorySecretStore {
    secrets: Mutex<HashMap<(String, SecretKind), Secret>>,
}

impl MemorySecretStore {
    fn map(&self) -> std::sync::MutexGuard<'_, HashMap<(String, SecretKind), Secret>> {
        // Holding the lock cannot panic halfway through a map operation we care about.
        self.secrets
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

impl SecretStore for MemorySecretStore {
    fn get(&self, profile: &str, kind: SecretKind) -> Result<Option<Secret>> {
        Ok(self.map().get(&(profile.to_owned(), kind)).cloned())
    }

    fn set(&self, profile: &str, kind: SecretKind, secret: &Secret) -> Result<()> {
        self.map()
            .insert((profile.to_owned(), kind), secret.clone());
        Ok(())
    }

    fn delete(&self, profile: &str, kind: SecretKind) -> Result<()> {
        self.map().remove(&(profile.to_owned(), kind));
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_never_print() {
        let secret = Secret::new("hunter2-very-secret");
        assert!(!format!("{secret:?}").contains("hunter2"));
        assert!(!format!("{secret}").contains("hunter2"));
        assert_eq!(secret.expose(), "hunter2-very-secret");
    }

    #[test]
    fn memory_store_round_trips() {
        let store = MemorySecretStore::default();
        let key = Secret::new("k");
        assert_eq!(store.get("p", SecretKind::ApiKey).expect("get"), None);
        store.set("p", SecretKind::ApiKey, &key).expect("store");
        assert_eq!(store.get("p", SecretKind::ApiKey).expect("get"), Some(key));
        assert_eq!(store.get("p", SecretKind::SessionToken).expect("get"), None);
        store.delete("p", SecretKind::ApiKey).expect("store");
        store.delete("p", SecretKind::ApiKey).expect("store");
        assert_eq!(store.get("p", SecretKind::ApiKey).expect("get"), None);
    }
}
