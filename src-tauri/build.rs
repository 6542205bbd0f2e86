//! Build script of the desktop shell.
//!
//! `tauri_build` validates tauri.conf.json and capabilities/, and embeds the Windows resources.
//! The app's own commands are listed in the app manifest, which makes Tauri generate an
//! `allow-<command>` permission for each one: a command is then callable from a window only if a
//! capability grants it.
//!
//! Both lists come from the one declaration of the command surface, the `commands!` list in
//! `crates/api/src/lib.rs`, read here as text (a build script cannot link the crate it would
//! need): its entries are one per line, `name(Request) -> Response;`. The window's capability,
//! `capabilities/default.json`, is written from it on every build, so adding a command never
//! means editing this file or that one; the file stays in the repository (CI's checks read it
//! without building the shell), and the CLI crate's `tauri_manifest` test fails when it was not
//! rebuilt after the list changed.

use std::path::Path;

const API_SOURCE: &str = "crates/api/src/lib.rs";
const CAPABILITY: &str = "capabilities/default.json";

/// The command names of the API's `commands! { … }` list, in order.
fn api_commands(source: &str) -> Vec<String> {
    let Some(start) = source.find("\ncommands! {\n") else {
        panic!("{API_SOURCE}: cannot find the `commands! {{` list");
    };
    let body = &source[start + "\ncommands! {\n".len()..];
    let body = &body[..body.find("\n}").unwrap_or(body.len())];
    body.lines()
        .map(str::trim)
        .filter(|line| !line.is_empty() && !line.starts_with("//"))
        .map(|line| {
            let name = line.split('(').next().unwrap_or_default().trim();
            if name.is_empty() || !name.bytes().all(|b| b.is_ascii_lowercase() || b == b'_') {
                panic!("{API_SOURCE}: cannot read a command name in `{line}`");
            }
            name.to_string()
        })
        .collect()
}

/// The main window's capability: Tauri's core defaults and every command of the API.
fn capability(commands: &[String]) -> String {
    let mut permissions = vec!["\"core:default\"".to_string()];
    permissions.extend(
        commands
            .iter()
            .map(|c| format!("\"allow-{}\"", c.replace('_', "-"))),
    );
    format!(
        "{{\n  \"$schema\": \"../gen/schemas/desktop-schema.json\",\n  \"identifier\": \"default\",\n  \
         \"description\": \"What the main window may call: Tauri's core defaults and the app's own \
         commands. No fs, shell or http plugins: all I/O happens in Rust. Written by build.rs from \
         the API's command list; do not edit.\",\n  \"windows\": [\"main\"],\n  \"permissions\": [\n    {}\n  ]\n}}\n",
        permissions.join(",\n    ")
    )
}

fn main() {
    println!("cargo:rerun-if-changed={API_SOURCE}");
    let source = std::fs::read_to_string(API_SOURCE)
        .unwrap_or_else(|e| panic!("cannot read {API_SOURCE}: {e}"));
    let commands = api_commands(&source);
    let wanted = capability(&commands);
    if std::fs::read_to_string(CAPABILITY).ok().as_deref() != Some(wanted.as_str()) {
        if let Err(e) = std::fs::write(Path::new(CAPABILITY), &wanted) {
            panic!("cannot write {CAPABILITY}: {e}");
        }
    }
    // The manifest keeps the names for the whole build.
    let names: &'static [&'static str] = Vec::leak(
        commands
            .into_iter()
            .map(|c| &*String::leak(c))
            .collect::<Vec<&'static str>>(),
    );
    let attributes = tauri_build::Attributes::new()
        .app_manifest(tauri_build::AppManifest::new().commands(names));
    if let Err(error) = tauri_build::try_build(attributes) {
        // Print the full chain: the config/capability errors are in the causes.
        panic!("tauri-build failed: {error:#}");
    }
}
