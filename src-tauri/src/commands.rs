//! Tauri commands: the desktop transport of the UI's command surface.
//!
//! Each command stays one to three lines over library code. A new command must also be listed
//! in build.rs (`COMMANDS`) and granted in capabilities/default.json, or the UI's `invoke` is
//! refused.

use serde::Serialize;

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
