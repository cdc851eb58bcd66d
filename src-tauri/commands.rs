//! Tauri commands: the only entry points the web UI has into the Rust side. Each one is
//! listed in build.rs and needs a permission in capabilities/.

use crate::status::AppStatus;

#[tauri::command]
pub fn app_status() -> AppStatus {
    AppStatus::unconfigured()
}

#[cfg(test)]
mod tests {
    use crate::{app_builder, AppStatus};
    use tauri::test::{get_ipc_response, mock_builder, mock_context, noop_assets, INVOKE_KEY};
    use tauri::webview::InvokeRequest;
    use tauri::WebviewWindowBuilder;

    #[test]
    fn app_status_answers_over_ipc() {
        let app = app_builder(mock_builder())
            .build(mock_context(noop_assets()))
            .expect("mock app builds");
        let webview = WebviewWindowBuilder::new(&app, "main", Default::default())
            .build()
            .expect("mock window builds");

        let response = get_ipc_response(
            &webview,
            InvokeRequest {
                cmd: "app_status".into(),
                callback: tauri::ipc::CallbackFn(0),
                error: tauri::ipc::CallbackFn(1),
                url: "tauri://localhost".parse().expect("static url"),
                body: tauri::ipc::InvokeBody::default(),
                headers: Default::default(),
                invoke_key: INVOKE_KEY.to_string(),
            },
        )
        .expect("app_status succeeds");

        let status: serde_json::Value = response.deserialize().expect("json body");
        let expected = serde_json::to_value(AppStatus::unconfigured()).expect("serializable");
        assert_eq!(status, expected);
        assert_eq!(status["mode"], "unconfigured");
        assert!(status["summary"]
            .as_str()
            .is_some_and(|s| s.contains(env!("CARGO_PKG_VERSION"))));
    }
}
