//! The desktop app's Rust shell. It owns no domain logic: it wires the crates under
//! `crates/` to the web UI through Tauri commands, and owns windows, notifications and the
//! tray. Everything worth testing without a GUI lives in those crates.
//!
//! [`app_builder`] takes any [`tauri::Runtime`] so that commands are exercised in tests with
//! `tauri::test::mock_builder()`, the way Tauri's own `examples/api` does.

mod commands;
mod status;

pub use status::AppStatus;

use tauri::{Builder, Runtime};

/// Registers the plugins and commands of the app on `builder`.
pub fn app_builder<R: Runtime>(builder: Builder<R>) -> Builder<R> {
    builder
        .plugin(tauri_plugin_store::Builder::default().build())
        .invoke_handler(tauri::generate_handler![commands::app_status])
}

/// Runs the desktop app until its last window closes.
pub fn run() {
    let context = tauri::generate_context!("tauri.conf.json");
    if let Err(error) = app_builder(Builder::default()).run(context) {
        eprintln!("countersign: the app could not start: {error}");
        std::process::exit(1);
    }
}
