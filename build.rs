/// The app's commands. Declaring them makes each one need an explicit permission in
/// capabilities/, so the webview can call only what a capability names.
const COMMANDS: &[&str] = &[
    "session_info",
    "start_demo",
    "list_profiles",
    "open_profile",
    "connect_gateway",
    "sign_in_again",
    "sign_out",
    "queue_snapshot",
    "decide",
    "item_detail",
    "policy_drafts",
    "review_draft",
    "decide_draft",
    "history_query",
    "history_verify",
    "export_history",
    "export_evidence",
    "get_settings",
    "set_settings",
    "open_at_login",
];

fn main() {
    let manifest = tauri_build::AppManifest::new().commands(COMMANDS);
    tauri_build::try_build(tauri_build::Attributes::new().app_manifest(manifest))
        .expect("tauri-build failed: check tauri.conf.json, capabilities/ and that ui/dist exists");
}
