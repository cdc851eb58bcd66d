fn main() {
    // Declaring the app's commands makes each one need an explicit permission in
    // capabilities/, so the webview can call only what a capability names.
    let manifest = tauri_build::AppManifest::new().commands(&["app_status"]);
    tauri_build::try_build(tauri_build::Attributes::new().app_manifest(manifest))
        .expect("tauri-build failed: check tauri.conf.json, capabilities/ and that ui/dist exists");
}
