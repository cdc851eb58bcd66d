//! How the webview draws on Linux. WebKitGTK's accelerated compositing mode draws every frame
//! through GL; where that GL is software (no GPU, a virtual display, a remote session) a
//! scrolled frame of the queue took 40–80 ms instead of 10 and the webview held about 75 MiB
//! more at rest (BENCHMARKS.md, "The app at 10,000 pending items"). The app's page has no
//! animation or 3D that needs compositing, and WebKitGTK 2.50 still renders frames into
//! hardware buffers without it where a GPU is there, so the app turns it off unless the
//! reviewer chose otherwise.

use std::ffi::OsStr;

/// WebKitGTK reads this once, when its first webview is created.
pub const COMPOSITING_VARIABLE: &str = "WEBKIT_DISABLE_COMPOSITING_MODE";

/// The value to give [`COMPOSITING_VARIABLE`], given what the environment already holds: a
/// value the reviewer set (either way) is kept.
pub fn compositing_choice(existing: Option<&OsStr>) -> Option<&'static str> {
    match existing {
        Some(_) => None,
        None => Some("1"),
    }
}

/// Applies [`compositing_choice`] to this process's environment. Call it first thing in
/// `main`, while the process has one thread: changing the environment races with any other
/// thread reading it.
pub fn prefer_uncomposited() {
    if cfg!(target_os = "linux") {
        if let Some(value) = compositing_choice(std::env::var_os(COMPOSITING_VARIABLE).as_deref()) {
            std::env::set_var(COMPOSITING_VARIABLE, value);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compositing_is_turned_off_unless_the_reviewer_chose() {
        assert_eq!(compositing_choice(None), Some("1"));
        assert_eq!(compositing_choice(Some(OsStr::new("0"))), None);
        assert_eq!(compositing_choice(Some(OsStr::new("1"))), None);
    }
}
