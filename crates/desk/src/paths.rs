//! Where a profile's files are: the same layout `countersign-cli` uses, so a profile made in
//! one appears in the other and both write the same history.
//!
//! Under the data directory (`COUNTERSIGN_DATA_DIR`, else the platform's): `profiles.json`
//! (the client's `ProfileStore`), `settings.json` and `ledgers/<profile>.sqlite`.

use std::path::{Path, PathBuf};

use crate::error::{codes, DeskError, Result};

pub const DATA_DIR_ENV: &str = "COUNTERSIGN_DATA_DIR";

/// The data directory: `COUNTERSIGN_DATA_DIR`, else the platform's data directory.
pub fn data_dir() -> Result<PathBuf> {
    match std::env::var_os(DATA_DIR_ENV).filter(|dir| !dir.is_empty()) {
        Some(dir) => Ok(PathBuf::from(dir)),
        None => dirs::data_dir()
            .map(|dir| dir.join("countersign"))
            .ok_or_else(|| {
                DeskError::new(
                    codes::IO,
                    format!("no platform data directory; set {DATA_DIR_ENV}"),
                )
            }),
    }
}

pub fn ledger_path(data: &Path, profile: &str) -> PathBuf {
    data.join("ledgers").join(format!("{profile}.sqlite"))
}
