//! Tauri commands: the desktop transport of the UI's command surface.
//!
//! Each command stays one to three lines over library code. A new command must also be listed
//! in build.rs (`COMMANDS`) and granted in capabilities/default.json, or the UI's `invoke` is
//! refused.

use std::sync::Mutex;

use promptdesk_core::{PromptListing, Registry};
use serde::Serialize;

/// The registry the window works on: `PROMPTDESK_REGISTRY`, else the default location
/// (created on first start). Opening can fail (a newer schema, not a registry); the error is
/// kept and every command reports it, so the window still opens and says what is wrong.
pub struct RegistryState(Mutex<Result<Registry, CommandError>>);

impl RegistryState {
    pub fn open_default() -> Self {
        let opened = std::env::var_os("PROMPTDESK_REGISTRY")
            .map(std::path::PathBuf::from)
            .or_else(promptdesk_core::default_registry_path)
            .ok_or_else(|| CommandError {
                kind: "bad_input",
                message: "no data directory for the default registry; set PROMPTDESK_REGISTRY"
                    .into(),
            })
            .and_then(|path| {
                Registry::init(&path)
                    .map(|(reg, _)| reg)
                    .map_err(CommandError::from)
            });
        RegistryState(Mutex::new(opened))
    }

    fn with<T>(
        &self,
        f: impl FnOnce(&Registry) -> promptdesk_core::Result<T>,
    ) -> Result<T, CommandError> {
        let guard = self
            .0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        match &*guard {
            Ok(reg) => f(reg).map_err(CommandError::from),
            Err(e) => Err(e.clone()),
        }
    }
}

/// An error as the UI receives it: a kind to branch on and a message to show.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CommandError {
    pub kind: &'static str,
    pub message: String,
}

impl From<promptdesk_core::Error> for CommandError {
    fn from(e: promptdesk_core::Error) -> Self {
        let kind = match e.kind() {
            promptdesk_core::ErrorKind::BadInput => "bad_input",
            promptdesk_core::ErrorKind::NotFound => "not_found",
            promptdesk_core::ErrorKind::Conflict => "conflict",
            promptdesk_core::ErrorKind::InvalidTemplate => "invalid_template",
            promptdesk_core::ErrorKind::Internal => "internal",
        };
        CommandError {
            kind,
            message: e.to_string(),
        }
    }
}

/// What the UI shows about the running app. Mirrored by `AppInfo` in ui/src/app-info.ts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AppInfo {
    /// Product name from tauri.conf.json (`productName`).
    pub name: String,
    /// App version (the crate version, shared by the whole workspace).
    pub version: String,
    /// Version of the canonical content format that content hashes are computed over.
    pub canonical_format: &'static str,
}

impl AppInfo {
    pub fn new(name: impl Into<String>, version: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            version: version.into(),
            canonical_format: promptdesk_content::CANONICAL_FORMAT,
        }
    }
}

/// Name, version and content format of the running app.
#[tauri::command]
pub fn app_info<R: tauri::Runtime>(app: tauri::AppHandle<R>) -> AppInfo {
    let package = app.package_info();
    AppInfo::new(&package.name, package.version.to_string())
}

/// Every prompt in the registry, with its latest version and labels.
#[tauri::command]
pub fn list_prompts(
    state: tauri::State<'_, RegistryState>,
) -> Result<Vec<PromptListing>, CommandError> {
    state.with(|reg| reg.list(None))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serializes_with_the_field_names_the_ui_expects() {
        let value = serde_json::to_value(AppInfo::new("Promptdesk", "1.2.3")).unwrap();
        assert_eq!(
            value,
            serde_json::json!({
                "name": "Promptdesk",
                "version": "1.2.3",
                "canonical_format": promptdesk_content::CANONICAL_FORMAT,
            })
        );
    }
}
