//! "Open at login": an entry in the platform's login items (an XDG autostart file on Linux)
//! written by tauri-plugin-autostart, that starts the app hidden in the tray on this data
//! directory. The entry itself is the setting: it is read back, never mirrored in a store.

use std::path::Path;

use countersign_desk::error::codes;
use countersign_desk::DeskError;
use tauri::plugin::TauriPlugin;
use tauri::{AppHandle, Manager, Runtime};
use tauri_plugin_autostart::AutoLaunchManager;

pub fn plugin<R: Runtime>(data: &Path) -> TauriPlugin<R> {
    tauri_plugin_autostart::Builder::new()
        .app_name("countersign")
        .args(login_args(data))
        .build()
}

/// Whether the app opens at login; `enable` changes it first when given.
pub fn open_at_login<R: Runtime>(
    app: &AppHandle<R>,
    enable: Option<bool>,
) -> Result<bool, DeskError> {
    let failed = |error: tauri_plugin_autostart::Error| {
        DeskError::new(codes::IO, format!("the login item: {error}"))
    };
    let manager = app
        .try_state::<AutoLaunchManager>()
        .ok_or_else(|| DeskError::new(codes::IO, "opening at login is not available here"))?;
    match enable {
        Some(true) => manager.enable().map_err(failed)?,
        Some(false) => manager.disable().map_err(failed)?,
        None => {}
    }
    manager.is_enabled().map_err(failed)
}

/// `--hidden` (into the tray) on this data directory, so the login launch opens the same
/// profiles even when this one was started with `--data-dir` or `COUNTERSIGN_DATA_DIR`.
fn login_args(data: &Path) -> Vec<String> {
    let data = data.to_string_lossy();
    // The plugin joins the arguments into the entry's Exec line with spaces, unquoted.
    let data = if cfg!(target_os = "linux") {
        exec_quoted(&data)
    } else {
        data.into_owned()
    };
    vec!["--hidden".into(), "--data-dir".into(), data]
}

/// One argument of a desktop entry's Exec line, quoted as the Desktop Entry Specification
/// requires when it holds a space or a reserved character.
fn exec_quoted(arg: &str) -> String {
    const RESERVED: &[char] = &[
        ' ', '\t', '\n', '"', '\'', '\\', '>', '<', '~', '|', '&', ';', '$', '*', '?', '#', '(',
        ')', '`',
    ];
    if !arg.is_empty() && !arg.contains(RESERVED) && !arg.contains('%') {
        return arg.to_owned();
    }
    let mut quoted = String::with_capacity(arg.len() + 2);
    quoted.push('"');
    for c in arg.chars() {
        match c {
            '"' | '`' | '$' | '\\' => {
                quoted.push('\\');
                quoted.push(c);
            }
            // A literal percent sign is written twice, quoted or not.
            '%' => quoted.push_str("%%"),
            _ => quoted.push(c),
        }
    }
    quoted.push('"');
    quoted
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_plain_path_stays_as_it_is() {
        assert_eq!(
            exec_quoted("/home/ann/.local/share/countersign"),
            "/home/ann/.local/share/countersign"
        );
    }

    #[test]
    fn a_path_with_spaces_or_reserved_characters_is_one_quoted_argument() {
        assert_eq!(exec_quoted("/home/ann/my data"), r#""/home/ann/my data""#);
        assert_eq!(exec_quoted(r#"/tmp/a"b$c`d\e"#), r#""/tmp/a\"b\$c\`d\\e""#);
        assert_eq!(exec_quoted("/tmp/100%"), r#""/tmp/100%%""#);
        assert_eq!(exec_quoted(""), r#""""#);
    }

    #[test]
    fn the_login_launch_is_hidden_and_on_this_data_directory() {
        let args = login_args(Path::new("/srv/review data"));
        assert_eq!(args[..2], ["--hidden", "--data-dir"]);
        assert!(args[2].contains("/srv/review data"));
    }
}
