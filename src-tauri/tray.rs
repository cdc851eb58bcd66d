//! The tray icon: the pending count, the profile in use, pausing notifications, and Quit.
//! Closing the window only hides it here, so the watch (and its notifications) keeps running.

use tauri::menu::{CheckMenuItem, Menu, MenuEvent, MenuItem, PredefinedMenuItem};
use tauri::tray::{TrayIcon, TrayIconBuilder};
use tauri::{AppHandle, Emitter as _, Manager, Runtime};

use crate::notifications::{Input, Notifications};
use crate::settings;

/// Sent to the window with the saved [`settings::AppSettings`] when the tray changed them.
pub const SETTINGS_EVENT: &str = "settings";

const OPEN: &str = "open";
const PAUSE: &str = "pause";
const QUIT: &str = "quit";

/// The tray's live parts, kept to update them.
pub struct Tray<R: Runtime> {
    icon: TrayIcon<R>,
    pending: MenuItem<R>,
    profile: MenuItem<R>,
    pause: CheckMenuItem<R>,
}

/// Builds the tray; the app runs on without one where the platform offers none.
pub fn install<R: Runtime>(app: &AppHandle<R>, do_not_disturb: bool) -> tauri::Result<()> {
    let pending = MenuItem::with_id(app, "pending", "No approvals waiting", false, None::<&str>)?;
    let profile = MenuItem::with_id(app, "profile", "No profile open", false, None::<&str>)?;
    let open = MenuItem::with_id(app, OPEN, "Open Countersign", true, None::<&str>)?;
    let pause = CheckMenuItem::with_id(
        app,
        PAUSE,
        "Pause notifications",
        true,
        do_not_disturb,
        None::<&str>,
    )?;
    let quit = MenuItem::with_id(app, QUIT, "Quit", true, None::<&str>)?;
    let separator = PredefinedMenuItem::separator(app)?;
    let menu = Menu::with_items(app, &[&pending, &profile, &separator, &open, &pause, &quit])?;
    let mut builder = TrayIconBuilder::with_id("main")
        .tooltip("Countersign")
        .menu(&menu)
        .on_menu_event(on_menu);
    if let Some(icon) = app.default_window_icon() {
        builder = builder.icon(icon.clone());
    }
    let icon = builder.build(app)?;
    app.manage(Tray {
        icon,
        pending,
        profile,
        pause,
    });
    Ok(())
}

pub fn has_tray<R: Runtime>(app: &AppHandle<R>) -> bool {
    app.try_state::<Tray<R>>().is_some()
}

pub fn show_pending<R: Runtime>(app: &AppHandle<R>, count: usize) {
    if let Some(tray) = app.try_state::<Tray<R>>() {
        let text = match count {
            0 => "No approvals waiting".to_owned(),
            1 => "1 approval waiting".to_owned(),
            n => format!("{n} approvals waiting"),
        };
        let _ = tray.pending.set_text(&text);
        let _ = tray.icon.set_tooltip(Some(format!("Countersign · {text}")));
    }
}

pub fn show_profile<R: Runtime>(app: &AppHandle<R>, profile: &str) {
    if let Some(tray) = app.try_state::<Tray<R>>() {
        let _ = tray.profile.set_text(format!("Profile: {profile}"));
    }
}

pub fn show_paused<R: Runtime>(app: &AppHandle<R>, paused: bool) {
    if let Some(tray) = app.try_state::<Tray<R>>() {
        let _ = tray.pause.set_checked(paused);
    }
}

/// Shows, un-minimizes and focuses the main window.
pub fn open_window<R: Runtime>(app: &AppHandle<R>) {
    if let Some(window) = app.get_webview_window("main") {
        let _ = window.unminimize();
        let _ = window.show();
        let _ = window.set_focus();
    }
}

fn on_menu<R: Runtime>(app: &AppHandle<R>, event: MenuEvent) {
    match event.id().as_ref() {
        OPEN => open_window(app),
        PAUSE => toggle_pause(app),
        QUIT => app.exit(0),
        _ => {}
    }
}

fn toggle_pause<R: Runtime>(app: &AppHandle<R>) {
    let mut saved = settings::load(app);
    saved.do_not_disturb = !saved.do_not_disturb;
    if let Err(error) = settings::save(app, &saved) {
        tracing::warn!(%error, "could not save the paused notifications");
        return;
    }
    if let Some(notifications) = app.try_state::<Notifications>() {
        notifications.send(Input::quiet(&saved));
    }
    show_paused(app, saved.do_not_disturb);
    if let Err(error) = app.emit(SETTINGS_EVENT, &saved) {
        tracing::warn!(%error, "could not tell the window of the changed settings");
    }
}
