//! Asking the reviewer through the operating system's own dialogs, outside the webview: a
//! script running in the page can neither answer these nor choose where a file is written.

use std::path::PathBuf;

use tauri::{AppHandle, Manager, Runtime};
use tauri_plugin_dialog::{DialogExt, MessageDialogButtons, MessageDialogKind};
use tokio::sync::oneshot;

/// Who answers the app's native questions.
#[derive(Debug, Clone)]
pub enum Chrome {
    /// The platform's dialogs (`tauri-plugin-dialog`) and desktop notifications.
    Native,
    /// Fixed answers, for the command tests (a mock runtime has no dialogs to click).
    #[cfg(test)]
    Scripted {
        confirm: bool,
        save_to: Option<PathBuf>,
    },
}

impl Chrome {
    /// Asks a yes/no question; `false` unless the reviewer chose `yes_label`.
    pub async fn confirm<R: Runtime>(
        &self,
        app: &AppHandle<R>,
        title: &str,
        message: &str,
        yes_label: &str,
    ) -> bool {
        match self {
            Self::Native => {
                let (answer, asked) = oneshot::channel();
                app.dialog()
                    .message(message)
                    .title(title)
                    .kind(MessageDialogKind::Warning)
                    .buttons(MessageDialogButtons::OkCancelCustom(
                        yes_label.to_owned(),
                        "Cancel".to_owned(),
                    ))
                    .show(move |yes| {
                        let _ = answer.send(yes);
                    });
                asked.await.unwrap_or(false)
            }
            #[cfg(test)]
            Self::Scripted { confirm, .. } => *confirm,
        }
    }

    /// Asks where to save a file, suggesting `file_name`; `None` when the reviewer cancels.
    pub async fn save_path<R: Runtime>(
        &self,
        app: &AppHandle<R>,
        file_name: &str,
        filter: (&str, &[&str]),
    ) -> Option<PathBuf> {
        match self {
            Self::Native => {
                let (answer, asked) = oneshot::channel();
                let mut dialog = app.dialog().file().set_file_name(file_name);
                // The documents folder, not wherever the app happened to be started from.
                if let Ok(dir) = app.path().document_dir().or_else(|_| app.path().home_dir()) {
                    dialog = dialog.set_directory(dir);
                }
                dialog
                    .add_filter(filter.0, filter.1)
                    .save_file(move |path| {
                        let _ = answer.send(path.and_then(|p| p.into_path().ok()));
                    });
                asked.await.ok().flatten()
            }
            #[cfg(test)]
            Self::Scripted { save_to, .. } => save_to.clone(),
        }
    }
}
