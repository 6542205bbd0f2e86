//! Tauri commands: the desktop transport of the UI's command surface.
//!
//! Every command in [`promptdesk_api::COMMANDS`] becomes one `#[tauri::command]` of the same
//! name that hands its `req` to [`Api::dispatch`]; web mode (`promptdesk ui`) serves the very
//! same dispatch over HTTP. The UI calls `invoke(name, { req })` and gets the command's JSON
//! answer, or an `ApiError` (`{ kind, message, details }`) as the rejection.
//!
//! Dispatch is synchronous (SQLite, the render worker's pipes), so it runs on Tauri's blocking
//! pool and never on the thread that drives the window.
//!
//! Adding a command to the API means declaring it in the `commands!` list of
//! `promptdesk_api` only: the commands here come from that list (`with_command_names!`), and
//! build.rs reads the same list for the app manifest and the window's capability.

use std::path::PathBuf;
use std::sync::Arc;

use promptdesk_api::{Api, ApiError};
use serde_json::Value;

/// The backend of the window.
pub struct AppState {
    api: Arc<Api>,
}

impl AppState {
    /// Opens the registry at `PROMPTDESK_REGISTRY`, else the default location (created on
    /// first start), with a render worker that runs this same executable. Opening the registry
    /// may fail (a newer schema, not a registry at all); the window still opens, every command
    /// reports why, and `open_registry` can switch to another file.
    pub fn open() -> Result<Self, String> {
        // PROMPTDESK_REGISTRY, else the registry last picked in Settings, else the default.
        let settings = promptdesk_core::default_settings_path();
        let registry = std::env::var_os("PROMPTDESK_REGISTRY")
            .filter(|p| !p.is_empty())
            .map(PathBuf::from)
            .or_else(|| {
                settings
                    .as_deref()
                    .and_then(promptdesk_api::remembered_registry)
            })
            .or_else(promptdesk_core::default_registry_path)
            .ok_or("no data directory for the default registry; set PROMPTDESK_REGISTRY")?;
        let exe = std::env::current_exe()
            .map_err(|e| format!("cannot find the Promptdesk executable: {e}"))?;
        let mut api = Api::open(&registry, Api::worker_config(exe));
        if let Some(file) = settings {
            api = api.remember_registry_in(file);
        }
        Ok(AppState { api: Arc::new(api) })
    }

    /// Starts the render worker on a background thread, so the first preview does not wait
    /// for it and the window does not wait either.
    pub fn warm_up_in_background(&self) {
        let api = self.api.clone();
        let _ = std::thread::Builder::new()
            .name("render-worker-warm-up".into())
            .spawn(move || api.warm_up());
    }

    async fn dispatch(&self, command: &'static str, req: Option<Value>) -> Result<Value, ApiError> {
        let api = self.api.clone();
        tauri::async_runtime::spawn_blocking(move || {
            api.dispatch(command, req.unwrap_or(Value::Null))
        })
        .await
        .unwrap_or_else(|_| {
            Err(ApiError::internal(format!(
                "'{command}' failed unexpectedly (a bug in Promptdesk); nothing was changed"
            )))
        })
    }
}

/// One Tauri command per API command, each a one-liner over [`AppState::dispatch`], and the
/// invoke handler that routes to them.
macro_rules! api_commands {
    ($($name:ident),* $(,)?) => {
        $(
            #[tauri::command]
            pub async fn $name(
                state: tauri::State<'_, AppState>,
                req: Option<Value>,
            ) -> Result<Value, ApiError> {
                state.dispatch(stringify!($name), req).await
            }
        )*

        /// Routes `invoke` calls to the commands above.
        pub fn handler<R: tauri::Runtime>() -> impl Fn(tauri::ipc::Invoke<R>) -> bool + Send + Sync + 'static {
            tauri::generate_handler![$($name),*]
        }
    };
}

// One Tauri command per entry of the API's one command list.
promptdesk_api::with_command_names!(api_commands);
