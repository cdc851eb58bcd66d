//! Where a profile's files live, shared by `countersign-cli` and the desktop app so that a
//! profile made in one appears in the other and both write the same history.
//!
//! Under the data directory (`COUNTERSIGN_DATA_DIR`, else the platform's): `profiles.json`
//! ([`crate::ProfileStore`]), `settings.json` (which saved profile is the default) and
//! `ledgers/<profile>.sqlite`. Profile names are restricted so a name can never point outside
//! `ledgers/`.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::error::{ClientError, Result};

pub const DATA_DIR_ENV: &str = "COUNTERSIGN_DATA_DIR";
const SETTINGS_FILE: &str = "settings.json";
const MAX_NAME_CHARS: usize = 64;

/// The data directory: `COUNTERSIGN_DATA_DIR`, else the platform's data directory.
pub fn data_dir() -> Result<PathBuf> {
    match std::env::var_os(DATA_DIR_ENV).filter(|dir| !dir.is_empty()) {
        Some(dir) => Ok(PathBuf::from(dir)),
        None => dirs::data_dir()
            .map(|dir| dir.join("countersign"))
            .ok_or_else(|| {
                ClientError::InvalidInput(format!("no platform data directory; set {DATA_DIR_ENV}"))
            }),
    }
}

/// Letters, digits, `.`, `_` and `-`, not starting with `.`: a plain file name on every
/// platform, so `ledgers/<name>.sqlite` stays inside `ledgers/`.
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
        Err(ClientError::InvalidInput(format!(
            "invalid profile name {name:?}: use up to {MAX_NAME_CHARS} letters, digits, \
             '.', '_' or '-', not starting with '.'"
        )))
    }
}

pub fn ledger_path(data: &Path, profile: &str) -> PathBuf {
    data.join("ledgers").join(format!("{profile}.sqlite"))
}

/// `settings.json`: which saved profile is used when none is named (the CLI without
/// `--profile`, the app at start). Keys written by a newer version are kept on save.
#[derive(Debug, Default, Clone, PartialEq, Serialize, Deserialize)]
pub struct LocalSettings {
    #[serde(default)]
    pub default_profile: Option<String>,
    #[serde(flatten)]
    other: Map<String, Value>,
}

impl LocalSettings {
    pub fn load(data: &Path) -> Result<Self> {
        let path = data.join(SETTINGS_FILE);
        match std::fs::read(&path) {
            Ok(bytes) => serde_json::from_slice(&bytes)
                .map_err(|e| ClientError::InvalidInput(format!("{}: {e}", path.display()))),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Self::default()),
            Err(e) => Err(ClientError::Io(format!("{}: {e}", path.display()))),
        }
    }

    pub fn save(&self, data: &Path) -> Result<()> {
        let path = data.join(SETTINGS_FILE);
        let io = |e: std::io::Error, at: &Path| ClientError::Io(format!("{}: {e}", at.display()));
        let bytes = serde_json::to_vec_pretty(self)
            .map_err(|e| ClientError::Io(format!("{}: {e}", path.display())))?;
        countersign_ledger::create_private_dir_all(data).map_err(|e| io(e, data))?;
        std::fs::write(&path, bytes).map_err(|e| io(e, &path))
    }

    /// Makes `name` the default profile, keeping the rest of the file.
    pub fn remember_default(data: &Path, name: &str) -> Result<()> {
        let mut settings = Self::load(data).unwrap_or_default();
        settings.default_profile = Some(name.to_owned());
        settings.save(data)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn profile_names_cannot_escape_the_ledger_directory() {
        for ok in ["work", "prod-eu.1", "A_b", "x"] {
            assert!(validate_profile_name(ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            ".",
            "..",
            ".hidden",
            "../x",
            "a/b",
            "a\\b",
            "c:x",
            "with space",
            "nul\0",
            "é",
            &"x".repeat(65),
        ] {
            assert!(validate_profile_name(bad).is_err(), "{bad:?}");
        }
        assert_eq!(
            ledger_path(Path::new("/data"), "work"),
            Path::new("/data/ledgers/work.sqlite")
        );
    }

    #[test]
    fn settings_keep_what_they_do_not_know_and_survive_a_missing_file() {
        let dir = tempfile::tempdir().expect("dir");
        assert_eq!(
            LocalSettings::load(dir.path()).expect("absent"),
            LocalSettings::default()
        );
        std::fs::write(
            dir.path().join(SETTINGS_FILE),
            r#"{"default_profile": "a", "future_key": [1, 2]}"#,
        )
        .expect("write");
        LocalSettings::remember_default(dir.path(), "b").expect("remember");
        let text = std::fs::read_to_string(dir.path().join(SETTINGS_FILE)).expect("read");
        let saved: Value = serde_json::from_str(&text).expect("json");
        assert_eq!(saved["default_profile"], "b");
        assert_eq!(saved["future_key"], serde_json::json!([1, 2]));
        std::fs::write(dir.path().join(SETTINGS_FILE), "{not json").expect("write");
        assert_eq!(
            LocalSettings::load(dir.path()).expect_err("corrupt").code(),
            "invalid_input"
        );
    }
}
