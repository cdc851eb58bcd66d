//! Tauri commands: the only entry points the web UI has into the Rust side. Each one is
//! listed in build.rs and needs a permission in capabilities/. They only translate: the rules
//! live in `countersign-desk` and the crates below it.

use countersign_client::KeyringStore;
use countersign_core::verify::SeenItem;
use countersign_desk::detail::DetailView;
use countersign_desk::history::{ChainCheck, HistoryPage, HistoryQuery};
use countersign_desk::open::{self, ConnectRequest, ProfileView};
use countersign_desk::{DecisionRequest, DecisionView, DeskError, QueueSnapshot, SessionView};
use countersign_gateway::DemoConfig;
use tauri::{AppHandle, Runtime, State};

use crate::settings::{self, AppSettings};
use crate::state::AppState;

type Answer<T> = Result<T, DeskError>;

/// The open profile, or `None` before one is chosen (the UI then shows the first-run screen).
#[tauri::command]
pub async fn session_info(state: State<'_, AppState>) -> Answer<Option<SessionView>> {
    Ok(state.current().await.map(|desk| desk.view()))
}

#[tauri::command]
pub async fn start_demo<R: Runtime>(
    app: AppHandle<R>,
    state: State<'_, AppState>,
) -> Answer<SessionView> {
    let session = open::open_demo(&state.data, DemoConfig::default()).await?;
    let desk = state
        .install(&app, session, settings::load(&app).review)
        .await;
    Ok(desk.view())
}

#[tauri::command]
pub async fn list_profiles(state: State<'_, AppState>) -> Answer<Vec<ProfileView>> {
    open::list_profiles(&state.data)
}

#[tauri::command]
pub async fn open_profile<R: Runtime>(
    app: AppHandle<R>,
    state: State<'_, AppState>,
    name: String,
) -> Answer<SessionView> {
    let session = open::open_saved(&state.data, &name, &KeyringStore)?;
    let desk = state
        .install(&app, session, settings::load(&app).review)
        .await;
    Ok(desk.view())
}

#[tauri::command]
pub async fn connect_gateway<R: Runtime>(
    app: AppHandle<R>,
    state: State<'_, AppState>,
    request: ConnectRequest,
) -> Answer<SessionView> {
    let session = open::connect(&state.data, request, &KeyringStore).await?;
    let desk = state
        .install(&app, session, settings::load(&app).review)
        .await;
    Ok(desk.view())
}

/// Removes the open profile's secret from the keychain and closes it.
#[tauri::command]
pub async fn sign_out(state: State<'_, AppState>) -> Answer<()> {
    let desk = state.desk().await?;
    let view = desk.view();
    drop(desk);
    state.close().await;
    if !view.demo {
        open::sign_out(&state.data, &view.profile, &KeyringStore)?;
    }
    Ok(())
}

#[tauri::command]
pub async fn queue_snapshot(state: State<'_, AppState>) -> Answer<QueueSnapshot> {
    Ok(state.desk().await?.snapshot())
}

#[tauri::command]
pub async fn decide(state: State<'_, AppState>, request: DecisionRequest) -> Answer<DecisionView> {
    state.desk().await?.decide(request).await
}

#[tauri::command]
pub async fn item_detail(state: State<'_, AppState>, seen: SeenItem) -> Answer<DetailView> {
    state.desk().await?.detail(seen).await
}

#[tauri::command]
pub async fn history_query(state: State<'_, AppState>, query: HistoryQuery) -> Answer<HistoryPage> {
    state.desk().await?.history(query).await
}

#[tauri::command]
pub async fn history_verify(state: State<'_, AppState>) -> Answer<ChainCheck> {
    state.desk().await?.verify_history().await
}

#[tauri::command]
pub async fn get_settings<R: Runtime>(app: AppHandle<R>) -> Answer<AppSettings> {
    Ok(settings::load(&app))
}

#[tauri::command]
pub async fn set_settings<R: Runtime>(
    app: AppHandle<R>,
    state: State<'_, AppState>,
    settings: AppSettings,
) -> Answer<AppSettings> {
    let review = settings
        .review
        .clone()
        .normalized()
        .map_err(|message| DeskError::new("invalid_input", message))?;
    let settings = AppSettings { review, ..settings };
    settings::save(&app, &settings).map_err(|message| DeskError::new("io", message))?;
    if let Some(desk) = state.current().await {
        desk.set_settings(settings.review.clone())?;
    }
    Ok(settings)
}
