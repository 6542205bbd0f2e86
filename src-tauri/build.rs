//! Build script of the desktop shell.
//!
//! `tauri_build` validates tauri.conf.json and capabilities/, and embeds the Windows resources.
//! The app's own commands are listed in the app manifest, which makes Tauri generate an
//! `allow-<command>` permission for each one: a command is then callable from a window only if a
//! capability grants it (see capabilities/default.json). Every new `#[tauri::command]` must be
//! added to this list and granted, or `invoke` from the UI is refused.

const COMMANDS: &[&str] = &["app_info", "list_prompts"];

fn main() {
    let attributes = tauri_build::Attributes::new()
        .app_manifest(tauri_build::AppManifest::new().commands(COMMANDS));
    if let Err(error) = tauri_build::try_build(attributes) {
        // Print the full chain: the config/capability errors are in the causes.
        panic!("tauri-build failed: {error:#}");
    }
}
