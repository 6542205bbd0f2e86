//! Promptdesk desktop shell.
//!
//! This binary is deliberately thin: it opens the window that hosts the web UI (`ui/`, built to
//! `ui/dist` and served through Tauri's custom protocol) and exposes Tauri commands, each of
//! which is one to three lines over library code. All logic (registry, templates, diffs, review
//! and release policy) lives in the crates under `src-tauri/crates/`, which do not depend on
//! Tauri, so the same functions also serve web mode and the CLI.
//!
//! Security posture (see tauri.conf.json and capabilities/): strict CSP, no fs/shell/http
//! plugins, `withGlobalTauri` off, prototype freezing on, and every command declared in the app
//! manifest (build.rs) so a capability has to grant it.

// In release builds on Windows, don't open a console window next to the app.
#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]

mod commands;

fn main() {
    // INTEGRATION POINT (a): the isolated template renderer runs as a hidden subcommand of this
    // same binary. The check must stay the very first statement, before Tauri (or anything that
    // spawns threads or opens windows) starts:
    //
    //     if std::env::args().nth(1).as_deref() == Some("__render-worker") {
    //         std::process::exit(promptdesk_template::worker::serve_stdio())
    //     }

    tauri::Builder::default()
        // INTEGRATION POINT (b): open the registry here and hand it to the commands, e.g.
        //     .setup(|app| { app.manage(registry_state_opened_under(app.path().app_data_dir()?)); Ok(()) })
        // Commands then take `state: tauri::State<'_, RegistryState>`.
        .invoke_handler(tauri::generate_handler![commands::app_info])
        .run(tauri::generate_context!())
        .expect("Promptdesk: the desktop shell failed to start");
}
