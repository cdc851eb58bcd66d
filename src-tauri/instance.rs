//! One running app per user and data directory. The first launch owns a name on the session
//! bus derived from its data directory; a second launch on the same directory asks that owner
//! to bring its window forward and exits, so two apps never watch, notify and decide for the
//! same profiles at once. A launch on another data directory (a second organisation, the
//! end-to-end suite) is another instance. tauri-plugin-single-instance keys the name on the
//! bundle identifier alone, which cannot tell data directories apart.

use std::path::Path;

use sha2::{Digest, Sha256};
use tauri::{AppHandle, Manager, Runtime};
use tokio::sync::mpsc;
use zbus::fdo::{RequestNameFlags, RequestNameReply};
use zbus::Connection;

const PATH: &str = "/app/countersign/Instance";
const INTERFACE: &str = "app.countersign.Instance";

/// What a launch found on the bus.
pub enum Claim {
    /// This is the first launch for the data directory.
    First(Instance),
    /// Another app owns the data directory; it was asked to show its window.
    Running,
}

/// The bus name held while this app runs (released when the process ends).
pub struct Instance {
    connection: Connection,
    activations: mpsc::UnboundedReceiver<()>,
}

/// The bus name for a data directory: its canonical path hashed, so any spelling of the same
/// directory meets the same instance and no path leaks into the bus's name list.
pub fn bus_name(data: &Path) -> String {
    let canonical = data.canonicalize().unwrap_or_else(|_| data.to_owned());
    let digest = Sha256::digest(canonical.as_os_str().as_encoded_bytes());
    format!("app.countersign.Instance.d{}", hex::encode(&digest[..8]))
}

/// Claims the data directory's name; when another app holds it, asks that app to show its
/// window (unless this launch is `hidden`, as at login) and answers [`Claim::Running`].
pub async fn claim(data: &Path, hidden: bool) -> zbus::Result<Claim> {
    let connection = Connection::session().await?;
    let (activate, activations) = mpsc::unbounded_channel();
    // Served before the name is taken, so a second launch's call is never dropped.
    connection
        .object_server()
        .at(PATH, Activator { activate })
        .await?;
    let name = bus_name(data);
    let flags = RequestNameFlags::DoNotQueue.into();
    match connection
        .request_name_with_flags(name.as_str(), flags)
        .await
    {
        Ok(RequestNameReply::PrimaryOwner | RequestNameReply::AlreadyOwner) => {
            Ok(Claim::First(Instance {
                connection,
                activations,
            }))
        }
        // zbus answers a taken name with an error, not with the `Exists` reply.
        Ok(RequestNameReply::Exists | RequestNameReply::InQueue) | Err(zbus::Error::NameTaken) => {
            if !hidden {
                connection
                    .call_method(Some(name.as_str()), PATH, Some(INTERFACE), "Activate", &())
                    .await?;
            }
            Ok(Claim::Running)
        }
        Err(error) => Err(error),
    }
}

impl Instance {
    /// Shows and focuses the main window each time a second launch asks, for as long as the
    /// app runs.
    pub fn serve<R: Runtime>(self, app: &AppHandle<R>) {
        let app = app.clone();
        let Self {
            connection,
            mut activations,
        } = self;
        tauri::async_runtime::spawn(async move {
            // The connection holds the name: it lives as long as this task, the app's life.
            let _name = connection;
            while activations.recv().await.is_some() {
                tracing::info!("a second launch: bringing the window forward");
                if let Some(window) = app.get_webview_window("main") {
                    let shown = window
                        .show()
                        .and_then(|()| window.unminimize())
                        .and_then(|()| window.set_focus());
                    if let Err(error) = shown {
                        tracing::warn!(%error, "could not bring the window forward");
                    }
                }
            }
        });
    }
}

struct Activator {
    activate: mpsc::UnboundedSender<()>,
}

#[zbus::interface(name = "app.countersign.Instance")]
impl Activator {
    /// Asks the running app to show its window. Any process of the user's session may call
    /// it; it only shows a window.
    fn activate(&self) {
        let _ = self.activate.send(());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_data_directory_has_one_valid_bus_name_whatever_its_spelling() {
        let dir = tempfile::tempdir().expect("temp dir");
        let name = bus_name(dir.path());
        assert_eq!(name, bus_name(&dir.path().join(".")));
        assert_ne!(name, bus_name(&dir.path().join("other")));
        assert!(zbus::names::WellKnownName::try_from(name.as_str()).is_ok());
        assert!(!name.contains(&*dir.path().to_string_lossy()));
    }
}
