//! Settings that outlive a run, kept with `tauri-plugin-store` in the data directory beside
//! the profiles (so `COUNTERSIGN_DATA_DIR` moves them too). Secrets never go here: they live in
//! the OS keychain.

use countersign_desk::{QuietHours, ReviewSettings};
use serde::{Deserialize, Serialize};
use tauri::{AppHandle, Manager, Runtime};
use tauri_plugin_store::StoreExt;

use crate::state::AppState;
use ts_rs::TS;

const STORE_FILE: &str = "ui-settings.json";
const KEY: &str = "settings";

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
#[ts(export)]
pub enum Theme {
    /// Follow the operating system.
    #[default]
    System,
    Light,
    Dark,
}

/// The queue's filter, kept so the reviewer comes back to the view they left (the filter bar
/// always says how many cards it hides).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(default)]
#[ts(export)]
pub struct QueueFilter {
    pub text: String,
    pub topic: String,
    pub tag: String,
    pub requester: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(default)]
#[ts(export)]
pub struct AppSettings {
    pub theme: Theme,
    pub review: ReviewSettings,
    /// Whether single-letter keys (`j`, `a`, `r`, ...) act; off for speech input and for
    /// reviewers who type into the window by accident (WCAG 2.1.4).
    pub single_key_shortcuts: bool,
    /// Pause desktop notifications: nothing is raised, nothing is lost (one summary when
    /// turned off again).
    pub do_not_disturb: bool,
    /// A daily span with notifications paused as by `do_not_disturb`.
    pub quiet_hours: QuietHours,
    pub filter: QueueFilter,
}

impl Default for AppSettings {
    fn default() -> Self {
        Self {
            theme: Theme::System,
            review: ReviewSettings::default(),
            single_key_shortcuts: true,
            do_not_disturb: false,
            quiet_hours: QuietHours::default(),
            filter: QueueFilter::default(),
        }
    }
}

/// The saved settings, normalized like every change; unreadable, missing or invalid ones are
/// the defaults (never an error that keeps the app from starting).
pub fn load<R: Runtime>(app: &AppHandle<R>) -> AppSettings {
    let saved: AppSettings = app
        .store(store_path(app))
        .ok()
        .and_then(|store| store.get(KEY))
        .and_then(|value| serde_json::from_value(value).ok())
        .unwrap_or_default();
    AppSettings {
        review: saved.review.clone().normalized().unwrap_or_default(),
        quiet_hours: saved.quiet_hours.normalized().unwrap_or_default(),
        ..saved
    }
}

pub fn save<R: Runtime>(app: &AppHandle<R>, settings: &AppSettings) -> Result<(), String> {
    let store = app.store(store_path(app)).map_err(|e| e.to_string())?;
    let value = serde_json::to_value(settings).map_err(|e| e.to_string())?;
    store.set(KEY, value);
    store.save().map_err(|e| e.to_string())
}

fn store_path<R: Runtime>(app: &AppHandle<R>) -> std::path::PathBuf {
    app.state::<AppState>().data.join(STORE_FILE)
}
