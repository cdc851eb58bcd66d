//! The one-line status the UI shows in its footer.

use serde::Serialize;
use ts_rs::TS;

/// What the app is connected to, as the footer shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[ts(export)]
pub struct AppStatus {
    pub version: String,
    /// `"unconfigured"` until a gateway profile exists.
    pub mode: String,
    /// The gateway URL in use, if any.
    pub gateway: Option<String>,
    /// The sentence the status line displays.
    pub summary: String,
}

impl AppStatus {
    /// The status before any gateway profile is configured.
    pub fn unconfigured() -> Self {
        let version = env!("CARGO_PKG_VERSION").to_owned();
        let summary = format!("Countersign {version} · no gateway connected");
        Self {
            version,
            mode: "unconfigured".to_owned(),
            gateway: None,
            summary,
        }
    }
}
