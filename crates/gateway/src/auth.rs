//! Who is calling: API keys and password users bound to a tenant, role and principal, login
//! sessions, and the composite identity used to block self-approval.
//!
//! Credential lookup never compares raw keys: keys are indexed by their SHA-256, so lookup
//! time does not depend on how many leading bytes of a guess are right.

use std::collections::{BTreeSet, HashMap};

use argon2::{Argon2, PasswordHash, PasswordHasher, PasswordVerifier};
use base64::Engine as _;
use sha2::{Digest, Sha256};

use crate::config::{Credentials, Permission, Role, UserConfig};
use crate::error::GatewayError;

/// How a caller authenticated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// An API key; holds the hex of the first 8 bytes of its SHA-256.
    ApiKey { key_prefix: String },
    /// A login session of this user.
    Session {
        username: String,
        token_hash: String,
        expires_at: i64,
    },
}

/// An authenticated caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    pub tenant: String,
    pub role: Role,
    pub principal: String,
    pub source: Source,
}

impl Caller {
    /// Cordum's composite identity: `apikey:<hex8>|principal:<id>` for keys; sessions use
    /// `user:<username>|principal:<id>`.
    pub fn identity(&self) -> String {
        match &self.source {
            Source::ApiKey { key_prefix } => {
                format!("apikey:{key_prefix}|principal:{}", self.principal)
            }
            Source::Session { username, .. } => {
                format!("user:{username}|principal:{}", self.principal)
            }
        }
    }

    pub fn can(&self, permission: Permission) -> bool {
        self.role.can(permission)
    }
}

/// Whether two composite identities belong to the same actor: identical, the same API key,
/// or the same principal (Cordum's `identitiesOverlap`). An empty identity never overlaps,
/// so jobs submitted without one can be approved by anyone.
pub fn identities_overlap(a: &str, b: &str) -> bool {
    if a.is_empty() || b.is_empty() {
        return false;
    }
    if a == b {
        return true;
    }
    let part = |id: &str, prefix: &str| {
        id.split('|')
            .find_map(|p| p.strip_prefix(prefix))
            .filter(|v| !v.is_empty())
            .map(str::to_owned)
    };
    ["apikey:", "principal:"]
        .iter()
        .any(|prefix| matches!((part(a, prefix), part(b, prefix)), (Some(x), Some(y)) if x == y))
}

/// Lowercase hex SHA-256 of a secret, the lookup key for keys and session tokens.
pub fn secret_hash(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

/// A key as the caller-facing mask shows it: first 8 + `********` + last 4.
pub fn mask_key(key: &str) -> String {
    let chars: Vec<char> = key.chars().collect();
    if chars.len() <= 12 {
        return "********".into();
    }
    let head: String = chars.iter().take(8).collect();
    let tail: String = chars.iter().skip(chars.len() - 4).collect();
    format!("{head}********{tail}")
}

/// A fresh session token: `session-` + base64url of 32 random bytes.
pub fn new_session_token() -> String {
    let bytes: [u8; 32] = rand::random();
    format!(
        "session-{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
    )
}

/// A fresh random API key for demo setups.
pub fn new_api_key(prefix: &str) -> String {
    let bytes: [u8; 18] = rand::random();
    format!(
        "{prefix}-{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
    )
}

/// An argon2id PHC hash of a password with a random salt.
pub fn hash_password(password: &str) -> Result<String, GatewayError> {
    Argon2::default()
        .hash_password(password.as_bytes())
        .map(|h| h.to_string())
        .map_err(|e| GatewayError::Password(e.to_string()))
}

/// A `password_hash` starting with this disables its user.
pub const DISABLED_PREFIX: &str = "!";

/// What a password check found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PasswordCheck<'a> {
    Verified(&'a UserConfig),
    WrongPassword,
    /// No such user (or a disabled one); a dummy hash was verified instead.
    UnknownUser,
}

fn verify(hash: &PasswordHash, password: &str) -> bool {
    Argon2::default()
        .verify_password(password.as_bytes(), hash)
        .is_ok()
}

/// A hash of a random password with the default parameters (those of [`hash_password`]),
/// made once: what an unknown user's login is verified against.
fn dummy_hash_text() -> &'static str {
    static TEXT: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    TEXT.get_or_init(|| {
        let secret: [u8; 16] = rand::random();
        hash_password(&hex::encode(secret)).unwrap_or_else(|_| FALLBACK_DUMMY.to_owned())
    })
}

/// Does the work of a password check that cannot succeed.
fn verify_dummy(password: &str) {
    if let Ok(hash) = PasswordHash::new(dummy_hash_text()) {
        verify(&hash, password);
    }
}

/// A valid argon2id PHC string with the default parameters, used only if hashing a fresh
/// dummy failed.
const FALLBACK_DUMMY: &str =
    "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$3vYv0hX5z8d3Y8CqHjJt0Pq2m1u8o0c2c6Wc9h0rV1E";

#[derive(Debug, Clone)]
struct KeyEntry {
    tenant: String,
    role: Role,
    principal: String,
    key_prefix: String,
}

/// The configured credentials, indexed for lookup.
#[derive(Debug, Clone, Default)]
pub struct AuthBook {
    keys: HashMap<String, KeyEntry>,
    users: HashMap<String, UserConfig>,
    tenants: BTreeSet<String>,
}

impl AuthBook {
    pub fn new(credentials: &Credentials) -> Self {
        let mut book = Self::default();
        for k in &credentials.keys {
            let digest = Sha256::digest(k.key.as_bytes());
            book.keys.insert(
                hex::encode(digest),
                KeyEntry {
                    tenant: k.tenant.clone(),
                    role: k.role,
                    principal: k.principal.clone(),
                    key_prefix: hex::encode(digest.get(..8).unwrap_or_default()),
                },
            );
            book.tenants.insert(k.tenant.clone());
        }
        for u in &credentials.users {
            book.users.insert(u.username.clone(), u.clone());
            book.tenants.insert(u.tenant.clone());
        }
        book
    }

    /// The caller an API key stands for.
    pub fn api_key(&self, key: &str) -> Option<Caller> {
        self.keys.get(&secret_hash(key)).map(|e| Caller {
            tenant: e.tenant.clone(),
            role: e.role,
            principal: e.principal.clone(),
            source: Source::ApiKey {
                key_prefix: e.key_prefix.clone(),
            },
        })
    }

    /// The configured user of this name, while it may sign in: not removed, not disabled
    /// (a `password_hash` starting with `!`, as `/etc/shadow` locks an account).
    pub fn active_user(&self, username: &str) -> Option<&UserConfig> {
        self.users
            .get(username)
            .filter(|u| !u.password_hash.starts_with(DISABLED_PREFIX))
    }

    /// Checks a password (CPU-heavy: call off the async workers). An unknown or disabled user
    /// costs the same work as a known one: the password is verified against a dummy hash, so
    /// the answer's timing does not tell which usernames exist.
    pub fn check_password(&self, username: &str, password: &str) -> PasswordCheck<'_> {
        let Some(user) = self.active_user(username) else {
            verify_dummy(password);
            return PasswordCheck::UnknownUser;
        };
        match PasswordHash::new(&user.password_hash) {
            Ok(hash) if verify(&hash, password) => PasswordCheck::Verified(user),
            Ok(_) => PasswordCheck::WrongPassword,
            Err(_) => {
                verify_dummy(password);
                PasswordCheck::WrongPassword
            }
        }
    }

    /// Every tenant some credential belongs to.
    pub fn tenants(&self) -> &BTreeSet<String> {
        &self.tenants
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overlap_rules_match_cordum() {
        let a = "apikey:0011|principal:alice";
        assert!(identities_overlap(a, a));
        assert!(identities_overlap(a, "apikey:0011|principal:bob"));
        assert!(identities_overlap(a, "user:alice|principal:alice"));
        assert!(!identities_overlap(a, "apikey:2233|principal:bob"));
        assert!(!identities_overlap("", a));
    }

    #[test]
    fn unknown_and_disabled_users_are_checked_against_the_dummy_hash() {
        let hash = hash_password("right").expect("hash");
        let user = |name: &str, hash: String| UserConfig {
            username: name.into(),
            password_hash: hash,
            tenant: "t".into(),
            role: Role::Operator,
            principal: name.into(),
        };
        let book = AuthBook::new(&Credentials {
            keys: Vec::new(),
            users: vec![user("rita", hash.clone()), user("gone", format!("!{hash}"))],
        });
        assert!(matches!(
            book.check_password("rita", "right"),
            PasswordCheck::Verified(u) if u.username == "rita"
        ));
        assert_eq!(
            book.check_password("rita", "wrong"),
            PasswordCheck::WrongPassword
        );
        assert_eq!(
            book.check_password("nobody", "right"),
            PasswordCheck::UnknownUser
        );
        assert_eq!(
            book.check_password("gone", "right"),
            PasswordCheck::UnknownUser
        );
        assert!(book.active_user("gone").is_none());
        // The dummy is a real hash with the default (full) cost, not a shortcut.
        for text in [dummy_hash_text(), FALLBACK_DUMMY] {
            let dummy = PasswordHash::new(text).expect("a valid PHC string");
            assert_eq!(dummy.algorithm.as_str(), "argon2id");
            assert_eq!(dummy.params.get_str("m"), Some("19456"));
        }
    }

    #[test]
    fn masks_and_tokens_have_documented_shapes() {
        assert_eq!(mask_key("abcdefghijklmnop"), "abcdefgh********mnop");
        let token = new_session_token();
        assert!(token.starts_with("session-"));
        assert_eq!(token.len(), "session-".len() + 43);
    }

    #[test]
    fn api_keys_resolve_with_hashed_prefix_identity() {
        let creds = Credentials::from_env_value("acme:k1:operator:alice").expect("valid");
        let book = AuthBook::new(&creds);
        let caller = book.api_key("k1").expect("known key");
        assert_eq!(caller.tenant, "acme");
        let prefix = &secret_hash("k1")[..16];
        assert_eq!(
            caller.identity(),
            format!("apikey:{prefix}|principal:alice")
        );
        assert!(book.api_key("k2").is_none());
    }
}
