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
//! Adding a command to the API means adding its name in three places here, each checked:
//! the `api_commands!` list below (a compile-time assertion compares it with
//! `promptdesk_api::COMMANDS`), `COMMANDS` in build.rs and an `allow-<name>` permission in
//! capabilities/default.json (both compared with `promptdesk_api::COMMANDS` by the CLI crate's
//! `tauri_manifest` test, since this crate is left out of `cargo test`).

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

/// One Tauri command per API command, each a one-liner over [`AppState::dispatch`], plus the
/// list of their names and the invoke handler that routes to them.
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

        /// The commands this app registers, in order.
        pub const NAMES: &[&str] = &[$(stringify!($name)),*];

        /// Routes `invoke` calls to the commands above.
        pub fn handler<R: tauri::Runtime>() -> impl Fn(tauri::ipc::Invoke<R>) -> bool + Send + Sync + 'static {
            tauri::generate_handler![$($name),*]
        }
    };
}

api_commands! {
    app_info,
    list_prompts,
    search_prompts,
    create_prompt,
    open_prompt,
    rename_prompt,
    update_prompt,
    save_draft,
    preview_draft,
    draft_diff,
    commit_version,
    history,
    get_version,
    diff_versions,
    save_sample,
    delete_sample,
    get_settings,
    set_identity,
    open_registry,
    list_reviews,
    request_review,
    review_detail,
    comment_review,
    decide_review,
    check_release,
    release_version,
    release_bundle,
    rollback_label,
    check_rollback,
    list_releases,
    policy_of_label,
    set_policy,
    list_policies,
    check_signing_key,
    choose_key_store,
    list_signing_keys,
    rotate_signing_key,
    revoke_signing_key,
    sync_status,
    set_remote,
    forget_remote,
    sync_now,
    list_suites,
    get_suite,
    create_suite,
    add_cases,
    import_cases,
    update_case,
    remove_case,
    parse_assertion,
    list_providers,
    set_provider,
    remove_provider,
    start_eval,
    eval_status,
    cancel_eval,
    list_runs,
    run_results,
    compare_versions,
    rate_output,
    version_evals,
    list_incidents,
    open_incident,
    incident_detail,
    update_incident,
    add_incident_note,
    incident_rollback,
    get_postmortem,
    save_postmortem,
    add_regression_cases,
    export_postmortem,
    open_actions,
}

/// Whether two lists of names are equal, usable in a constant.
const fn same_names(a: &[&str], b: &[&str]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let mut i = 0;
    while i < a.len() {
        let (x, y) = (a[i].as_bytes(), b[i].as_bytes());
        if x.len() != y.len() {
            return false;
        }
        let mut j = 0;
        while j < x.len() {
            if x[j] != y[j] {
                return false;
            }
            j += 1;
        }
        i += 1;
    }
    true
}

// The build fails when the API gains, loses or renames a command and this list is not updated.
const _: () = assert!(
    same_names(NAMES, promptdesk_api::COMMANDS),
    "the api_commands! list in src-tauri/src/commands.rs differs from promptdesk_api::COMMANDS"
);
