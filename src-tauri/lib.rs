//! The desktop app's Rust shell. It owns no domain logic: it wires `countersign-desk` (and the
//! crates under it) to the web UI through Tauri commands and events, and owns windows,
//! settings storage and, later, notifications and the tray. Everything worth testing without
//! a GUI lives in those crates.
//!
//! [`app_builder`] takes any [`tauri::Runtime`] so that commands are exercised in tests with
//! `tauri::test::mock_builder()`, the way Tauri's own `examples/api` does.

mod autostart;
mod chrome;
mod commands;
mod instance;
mod logging;
mod notifications;
mod rendering;
mod settings;
mod state;
mod tray;

use std::path::PathBuf;

pub use chrome::Chrome;
pub use settings::{AppSettings, Theme};
pub use state::{AppState, DESK_EVENT};

use countersign_desk::open;
use countersign_gateway::DemoConfig;
use instance::Claim;
use notifications::{Input, Notifications};
use tauri::{App, Builder, Manager, Runtime};

/// What the app opens at start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Launch {
    /// `--demo`: the embedded gateway with simulated agents.
    Demo,
    /// The profile used last, if there is one; else the first-run screen.
    LastProfile,
    /// Nothing until the UI asks (tests).
    Idle,
}

/// The command line: `countersign [--demo] [--hidden] [--data-dir DIR]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Args {
    pub launch: Launch,
    /// `--hidden`: start in the tray (for starting at login).
    pub hidden: bool,
    /// Overrides `COUNTERSIGN_DATA_DIR` and the platform's data directory.
    pub data_dir: Option<PathBuf>,
}

impl Args {
    pub fn parse(args: impl IntoIterator<Item = String>) -> Result<Self, String> {
        let mut parsed = Self {
            launch: Launch::LastProfile,
            hidden: false,
            data_dir: None,
        };
        let mut args = args.into_iter();
        while let Some(arg) = args.next() {
            match arg.as_str() {
                "--demo" => parsed.launch = Launch::Demo,
                "--hidden" => parsed.hidden = true,
                "--data-dir" => match args.next().filter(|dir| !dir.is_empty()) {
                    Some(dir) => parsed.data_dir = Some(PathBuf::from(dir)),
                    None => return Err("--data-dir needs a directory".into()),
                },
                other => {
                    return Err(format!(
                        "unknown argument {other:?}; usage: countersign [--demo] [--hidden] [--data-dir DIR]"
                    ))
                }
            }
        }
        Ok(parsed)
    }
}

/// Registers the plugins, state and commands of the app on `builder`; `chrome` answers the
/// questions asked outside the webview.
pub fn app_builder<R: Runtime>(
    builder: Builder<R>,
    data: PathBuf,
    launch: Launch,
    hidden: bool,
    chrome: Chrome,
) -> Builder<R> {
    // The command tests have no notification server or tray to talk to.
    let os_surfaces = matches!(chrome, Chrome::Native);
    // The login item is the user's real one: tests of commands must not write it.
    let builder = if os_surfaces {
        builder.plugin(autostart::plugin(&data))
    } else {
        builder
    };
    builder
        .plugin(tauri_plugin_store::Builder::default().build())
        .plugin(tauri_plugin_dialog::init())
        .manage(AppState::new(data, chrome))
        .invoke_handler(tauri::generate_handler![
            commands::session_info,
            commands::start_demo,
            commands::list_profiles,
            commands::open_profile,
            commands::connect_gateway,
            commands::sign_in_again,
            commands::sign_out,
            commands::queue_snapshot,
            commands::decide,
            commands::item_detail,
            commands::policy_drafts,
            commands::review_draft,
            commands::decide_draft,
            commands::history_query,
            commands::history_verify,
            commands::export_history,
            commands::export_evidence,
            commands::get_settings,
            commands::set_settings,
            commands::open_at_login,
        ])
        .on_window_event(|window, event| match event {
            tauri::WindowEvent::Focused(true) => {
                if let Some(notifications) = window.app_handle().try_state::<Notifications>() {
                    notifications.send(Input::WindowFocused);
                }
            }
            // With a tray, closing only hides: the watch and its notifications go on.
            tauri::WindowEvent::CloseRequested { api, .. }
                if tray::has_tray(window.app_handle()) =>
            {
                api.prevent_close();
                let _ = window.hide();
            }
            _ => {}
        })
        .setup(move |app| {
            if os_surfaces {
                let saved = settings::load(app.handle());
                let do_not_disturb = saved.do_not_disturb;
                let notifications = notifications::start(app.handle());
                notifications.send(Input::quiet(&saved));
                app.manage(notifications);
                if let Err(error) = tray::install(app.handle(), do_not_disturb) {
                    tracing::warn!(%error, "no tray icon: closing the window quits");
                }
            }
            if hidden {
                if let Some(window) = app.get_webview_window("main") {
                    let _ = window.hide();
                }
            }
            open_at_start(app, launch.clone());
            Ok(())
        })
}

/// Opens what `launch` names in the background; a failure leaves the first-run screen.
fn open_at_start<R: Runtime>(app: &App<R>, launch: Launch) {
    let handle = app.handle().clone();
    tauri::async_runtime::spawn(async move {
        let state = handle.state::<AppState>();
        let review = settings::load(&handle).review;
        let session = match launch {
            Launch::Idle => return,
            Launch::Demo => open::open_demo(&state.data, DemoConfig::default()).await,
            Launch::LastProfile => match open::last_profile(&state.data) {
                Some(name) => {
                    open::open_saved(&state.data, &name, &countersign_client::KeyringStore)
                }
                None => return,
            },
        };
        match session {
            Ok(session) => {
                state.install(&handle, session, review).await;
            }
            Err(error) => {
                tracing::error!(code = %error.code, %error, "could not open the profile at start")
            }
        }
    });
}

/// Runs the desktop app until its last window closes.
pub fn run() {
    rendering::prefer_uncomposited();
    let args = match Args::parse(std::env::args().skip(1)) {
        Ok(args) => args,
        Err(message) => {
            eprintln!("countersign: {message}");
            std::process::exit(2);
        }
    };
    let data = match args
        .data_dir
        .map_or_else(countersign_client::layout::data_dir, Ok)
    {
        Ok(data) => data,
        Err(error) => {
            eprintln!("countersign: {error}");
            std::process::exit(1);
        }
    };
    logging::init(&data);
    let instance = match tauri::async_runtime::block_on(instance::claim(&data, args.hidden)) {
        Ok(Claim::First(instance)) => Some(instance),
        Ok(Claim::Running) => {
            let shown = if args.hidden {
                ""
            } else {
                "; its window was brought forward"
            };
            eprintln!("countersign: already running for {}{shown}", data.display());
            return;
        }
        Err(error) => {
            tracing::warn!(%error, "no single-instance name on the session bus: a second launch will not find this one");
            None
        }
    };
    let context = tauri::generate_context!("tauri.conf.json");
    let app = match app_builder(
        Builder::default(),
        data,
        args.launch,
        args.hidden,
        Chrome::Native,
    )
    .build(context)
    {
        Ok(app) => app,
        Err(error) => {
            eprintln!("countersign: the app could not start: {error}");
            std::process::exit(1);
        }
    };
    if let Some(instance) = instance {
        instance.serve(app.handle());
    }
    app.run(|_, _| {});
}

#[cfg(test)]
mod tests;
