//! Tauri commands: the only entry points the web UI has into the Rust side. Each one is
//! listed in build.rs and needs a permission in capabilities/. They only translate: the rules
//! live in `countersign-desk` and the crates below it.

use countersign_client::KeyringStore;
use countersign_core::governance::PolicyDraft;
use countersign_core::verify::SeenItem;
use countersign_desk::detail::DetailView;
use countersign_desk::error::codes;
use countersign_desk::history::{ChainCheck, ExportResult, HistoryPage, HistoryQuery};
use countersign_desk::open::{self, ConnectRequest, ProfileView};
use countersign_desk::{
    DecisionRequest, DecisionView, DeskError, DraftDecisionRequest, DraftDecisionView, DraftReview,
    QueueSnapshot, SessionView,
};
use countersign_gateway::DemoConfig;
use tauri::{AppHandle, Manager, Runtime, State};

use crate::notifications::{Input, Notifications};
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

/// Signs a saved profile in again with a new secret (its password, or a replaced API key),
/// after a 401 said its session ended.
#[tauri::command]
pub async fn sign_in_again<R: Runtime>(
    app: AppHandle<R>,
    state: State<'_, AppState>,
    name: String,
    secret: String,
) -> Answer<SessionView> {
    let session = open::sign_in_again(&state.data, &name, &secret, &KeyringStore).await?;
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

/// The queue now; with `limit`, only its newest cards (the UI's first screen).
#[tauri::command]
pub async fn queue_snapshot(
    state: State<'_, AppState>,
    limit: Option<u32>,
) -> Answer<QueueSnapshot> {
    let limit = limit.map(|limit| usize::try_from(limit).unwrap_or(usize::MAX));
    Ok(state.desk().await?.snapshot(limit))
}

#[tauri::command]
pub async fn decide(state: State<'_, AppState>, request: DecisionRequest) -> Answer<DecisionView> {
    state.desk().await?.decide(request).await
}

#[tauri::command]
pub async fn item_detail(state: State<'_, AppState>, seen: SeenItem) -> Answer<DetailView> {
    state.desk().await?.detail(seen).await
}

/// The policy drafts of the open profile's tenant, open ones first.
#[tauri::command]
pub async fn policy_drafts(state: State<'_, AppState>) -> Answer<Vec<PolicyDraft>> {
    state.desk().await?.policy_drafts().await
}

/// One draft in full: its text checked against its hash, diff, impact. A decision on the
/// draft is bound to the snapshot this returned.
#[tauri::command]
pub async fn review_draft(state: State<'_, AppState>, draft_id: String) -> Answer<DraftReview> {
    state.desk().await?.review_draft(&draft_id).await
}

#[tauri::command]
pub async fn decide_draft(
    state: State<'_, AppState>,
    request: DraftDecisionRequest,
) -> Answer<DraftDecisionView> {
    state.desk().await?.decide_draft(request).await
}

#[tauri::command]
pub async fn history_query(state: State<'_, AppState>, query: HistoryQuery) -> Answer<HistoryPage> {
    state.desk().await?.history(query).await
}

#[tauri::command]
pub async fn history_verify(state: State<'_, AppState>) -> Answer<ChainCheck> {
    state.desk().await?.verify_history().await
}

/// Writes the whole history as JSON Lines to a file the reviewer picks in a native dialog;
/// `None` when they cancel.
#[tauri::command]
pub async fn export_history<R: Runtime>(
    app: AppHandle<R>,
    state: State<'_, AppState>,
) -> Answer<Option<ExportResult>> {
    let desk = state.desk().await?;
    let name = format!("countersign-{}-history.jsonl", desk.view().profile);
    match state
        .chrome
        .save_path(&app, &name, ("JSON Lines", &["jsonl"]))
        .await
    {
        Some(path) => desk.export_history(path).await.map(Some),
        None => Ok(None),
    }
}

/// Writes one job's evidence pack (its entries with the chain proof) to a file the reviewer
/// picks in a native dialog; `None` when they cancel.
#[tauri::command]
pub async fn export_evidence<R: Runtime>(
    app: AppHandle<R>,
    state: State<'_, AppState>,
    job_id: String,
) -> Answer<Option<ExportResult>> {
    let desk = state.desk().await?;
    let safe: String = job_id
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' {
                c
            } else {
                '_'
            }
        })
        .take(64)
        .collect();
    let name = format!("countersign-evidence-{safe}.json");
    match state
        .chrome
        .save_path(&app, &name, ("JSON", &["json"]))
        .await
    {
        Some(path) => desk.export_evidence(job_id, path).await.map(Some),
        None => Ok(None),
    }
}

/// Whether the app opens (hidden, in the tray) at login; `enable` turns it on or off first.
#[tauri::command]
pub async fn open_at_login<R: Runtime>(app: AppHandle<R>, enable: Option<bool>) -> Answer<bool> {
    crate::autostart::open_at_login(&app, enable)
}

#[tauri::command]
pub async fn get_settings<R: Runtime>(app: AppHandle<R>) -> Answer<AppSettings> {
    Ok(settings::load(&app))
}

/// Saves the settings. A change that stops asking for proof of reading on some tags is
/// confirmed in a native dialog first: the webview alone cannot lower the guard.
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
        .map_err(|message| DeskError::new(codes::INVALID_INPUT, message))?;
    let quiet_hours = settings
        .quiet_hours
        .normalized()
        .map_err(|message| DeskError::new(codes::INVALID_INPUT, message))?;
    let removed = settings::load(&app).review.guard_removed_by(&review);
    if !removed.is_empty() {
        let message = format!(
            "Approvals tagged {} will no longer ask for the job hash characters, and bulk \
             approval will include them.",
            removed.join(", ")
        );
        let yes = state
            .chrome
            .confirm(
                &app,
                "Lower the high-risk guard?",
                &message,
                "Lower the guard",
            )
            .await;
        if !yes {
            return Err(DeskError::new(
                codes::DECLINED,
                "The high-risk tags were kept: the change was not confirmed.",
            ));
        }
    }
    let settings = AppSettings {
        review,
        quiet_hours,
        ..settings
    };
    settings::save(&app, &settings).map_err(|message| DeskError::new(codes::IO, message))?;
    if let Some(notifications) = app.try_state::<Notifications>() {
        notifications.send(Input::quiet(&settings));
    }
    if let Some(desk) = state.current().await {
        desk.set_settings(settings.review.clone())?;
    }
    Ok(settings)
}
