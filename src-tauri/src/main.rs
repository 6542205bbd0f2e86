//! Promptdesk desktop shell.
//!
//! This binary is deliberately thin: it opens the window that hosts the web UI (`ui/`, built to
//! `ui/dist` and served through Tauri's custom protocol) and exposes the UI's command surface
//! (`promptdesk_api`) as Tauri commands, each one line over `Api::dispatch`. All logic
//! (registry, templates, diffs, review and release policy) lives in the crates under
//! `src-tauri/crates/`, which do not depend on Tauri, so the same functions also serve web mode
//! and the CLI.
//!
//! Security posture (see tauri.conf.json and capabilities/): strict CSP, no fs/shell/http
//! plugins, `withGlobalTauri` off, prototype freezing on, and every command declared in the app
//! manifest (build.rs) so a capability has to grant it. Styles may be inline (`style-src 'self'
//! 'unsafe-inline'`) because CodeMirror injects its base stylesheet at runtime; scripts stay
//! `'self'` only. Tauri's nonce injection is turned off for `style-src`, since a nonce there
//! makes the webview ignore `'unsafe-inline'` and the editor then renders unstyled.

// In release builds on Windows, don't open a console window next to the app.
#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]

mod commands;

fn main() {
    // The isolated template renderer runs as a hidden subcommand of this same binary; the check
    // comes first, before Tauri starts threads or opens windows.
    if std::env::args().nth(1).as_deref() == Some(promptdesk_template::WORKER_ARG) {
        std::process::exit(promptdesk_template::serve_stdio());
    }

    let state = match commands::AppState::open() {
        Ok(state) => state,
        Err(message) => {
            eprintln!("error: {message}");
            std::process::exit(2);
        }
    };
    state.warm_up_in_background();

    tauri::Builder::default()
        .manage(state)
        .invoke_handler(commands::handler())
        .run(tauri::generate_context!())
        .expect("Promptdesk: the desktop shell failed to start");
}
