//! The app's state: the one open [`Desk`] (or none, before a profile is chosen) and the data
//! directory. Opening another profile closes the previous desk first, so two watches never
//! feed one window.

use std::path::PathBuf;
use std::sync::Arc;

use countersign_client::WatchConfig;
use countersign_desk::error::codes;
use countersign_desk::{Desk, DeskError, DeskMessage, Emitter, OpenSession, ReviewSettings};
use tauri::{AppHandle, Emitter as _, Manager, Runtime};
use tokio::sync::RwLock;

use crate::chrome::Chrome;
use crate::notifications::{Input, Notifications};

/// The Tauri event every [`DeskEvent`] is sent as.
pub const DESK_EVENT: &str = "desk";
/// Sent with the [`countersign_desk::SessionView`] whenever a profile is opened.
pub const SESSION_EVENT: &str = "session";

#[derive(Debug)]
pub struct AppState {
    pub data: PathBuf,
    pub chrome: Chrome,
    desk: RwLock<Option<Arc<Desk>>>,
}

impl AppState {
    pub fn new(data: PathBuf, chrome: Chrome) -> Self {
        Self {
            data,
            chrome,
            desk: RwLock::new(None),
        }
    }

    pub async fn desk(&self) -> Result<Arc<Desk>, DeskError> {
        self.desk.read().await.clone().ok_or_else(|| {
            DeskError::new(
                codes::NO_SESSION,
                "no profile is open: connect to a gateway or try the demo",
            )
        })
    }

    pub async fn current(&self) -> Option<Arc<Desk>> {
        self.desk.read().await.clone()
    }

    /// Makes `session` the open desk, closing the previous one.
    pub async fn install<R: Runtime>(
        &self,
        app: &AppHandle<R>,
        session: OpenSession,
        settings: ReviewSettings,
    ) -> Arc<Desk> {
        let mut slot = self.desk.write().await;
        if let Some(old) = slot.take() {
            retire(old).await;
        }
        let handle = app.clone();
        let emit: Emitter = Arc::new(move |event: DeskMessage| {
            if let Err(error) = handle.emit(DESK_EVENT, &event) {
                tracing::warn!(%error, "could not forward a desk event to the window");
            }
            // Arrivals are raised straight from the watch's events, not from the window.
            if let Some(notifications) = handle.try_state::<Notifications>() {
                notifications.send(Input::Desk(event));
            }
        });
        let desk = Arc::new(Desk::open(session, settings, WatchConfig::default(), emit));
        *slot = Some(Arc::clone(&desk));
        let view = desk.view();
        tracing::info!(profile = %view.profile, gateway = %view.gateway_url, "profile open");
        crate::tray::show_profile(app, &desk.view().profile);
        if let Err(error) = app.emit(SESSION_EVENT, desk.view()) {
            tracing::warn!(%error, "could not tell the window about the new session");
        }
        desk
    }

    /// Closes the open desk, if any.
    pub async fn close(&self) {
        if let Some(old) = self.desk.write().await.take() {
            tracing::info!(profile = %old.view().profile, "profile closed");
            retire(old).await;
        }
    }
}

/// Silences and stops a desk at once, even while a command still holds it (a decision in
/// flight finishes, but nothing of the old desk reaches the window again); the last holder
/// shuts its demo gateway down.
async fn retire(desk: Arc<Desk>) {
    desk.retire();
    if let Ok(desk) = Arc::try_unwrap(desk) {
        desk.close().await;
    }
}
