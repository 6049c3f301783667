//! What the crate's test modules share: a temp directory and the mock IPC window.

use std::path::PathBuf;

/// A fresh directory for one test (removed on drop), named after its area and test.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(area: &str, name: &str) -> TempDir {
        let dir = std::env::temp_dir().join(format!(
            "paygo-desktop-{area}-{}-{name}",
            std::process::id()
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }

    /// A path inside the directory.
    pub fn join(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Commands called the way the UI calls them: through Tauri's IPC on its mock runtime.
pub mod ipc {
    use tauri::ipc::{CallbackFn, InvokeBody};
    use tauri::test::{
        get_ipc_response, mock_builder, mock_context, noop_assets, MockRuntime, INVOKE_KEY,
    };
    use tauri::webview::InvokeRequest;
    use tauri::{App, WebviewWindow};

    /// The app as `crate::build` registers it, with one window (keep the app alive with it).
    pub fn window() -> (App<MockRuntime>, WebviewWindow<MockRuntime>) {
        let app = crate::build(mock_builder())
            .build(mock_context(noop_assets()))
            .unwrap();
        let webview = tauri::WebviewWindowBuilder::new(&app, "main", Default::default())
            .build()
            .unwrap();
        (app, webview)
    }

    /// Invoke `cmd` with `body` as its arguments; Ok(response) or Err(the `{code, message}`).
    pub fn invoke(
        webview: &WebviewWindow<MockRuntime>,
        cmd: &str,
        body: serde_json::Value,
    ) -> Result<serde_json::Value, serde_json::Value> {
        get_ipc_response(
            webview,
            InvokeRequest {
                cmd: cmd.into(),
                callback: CallbackFn(0),
                error: CallbackFn(1),
                url: "tauri://localhost".parse().unwrap(),
                body: InvokeBody::from(body),
                headers: Default::default(),
                invoke_key: INVOKE_KEY.to_string(),
            },
        )
        .map(|r| r.deserialize::<serde_json::Value>().unwrap())
    }
}
