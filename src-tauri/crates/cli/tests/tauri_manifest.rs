//! The desktop app exposes every API command, and only those. The commands are declared once,
//! in the `commands!` list of the api crate: src/commands.rs makes its Tauri commands from it
//! (`with_command_names!`), and build.rs reads it as text for the app manifest (from which Tauri
//! makes an `allow-<name>` permission per command) and writes capabilities/default.json from
//! it. These tests check that the text reading gives exactly `promptdesk_api::COMMANDS` and that
//! the capability in the repository was rewritten after the list last changed. The app crate itself is not part of `cargo test`
//! (it needs WebKitGTK and a UI build), so its files are checked here, as text.

use std::collections::BTreeSet;
use std::path::PathBuf;

fn app_file(rel: &str) -> (PathBuf, String) {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .join(rel);
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    (path, text)
}

/// The text between `start` and the next `end` after it.
fn between<'a>(text: &'a str, start: &str, end: &str, what: &str) -> &'a str {
    let from = text
        .find(start)
        .unwrap_or_else(|| panic!("{what}: cannot find `{start}`"))
        + start.len();
    let len = text[from..]
        .find(end)
        .unwrap_or_else(|| panic!("{what}: no `{end}` after `{start}`"));
    &text[from..from + len]
}

/// Compares `found` with the API's commands; the message names every missing and extra one.
fn check(what: &str, found: Vec<String>) -> Result<(), String> {
    let expected: Vec<String> = promptdesk_api::COMMANDS
        .iter()
        .map(|s| s.to_string())
        .collect();
    let mut problems = Vec::new();
    let found_set: BTreeSet<&String> = found.iter().collect();
    if found_set.len() != found.len() {
        let mut seen = BTreeSet::new();
        let twice: Vec<&String> = found.iter().filter(|n| !seen.insert(*n)).collect();
        problems.push(format!("listed twice: {twice:?}"));
    }
    let missing: Vec<&String> = expected.iter().filter(|n| !found_set.contains(n)).collect();
    if !missing.is_empty() {
        problems.push(format!("missing command(s): {missing:?}"));
    }
    let extra: Vec<&&String> = found_set.iter().filter(|n| !expected.contains(n)).collect();
    if !extra.is_empty() {
        problems.push(format!("not an API command: {extra:?}"));
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(format!("{what}: {}", problems.join("; ")))
    }
}

/// The names of the API's `commands! { … }` list read as text, the way build.rs reads them
/// for the app manifest and the capability it writes.
fn declared_commands() -> (PathBuf, Vec<String>) {
    let (path, text) = app_file("crates/api/src/lib.rs");
    let list = between(&text, "\ncommands! {\n", "\n}", "crates/api/src/lib.rs");
    let names = list
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with("//"))
        .map(|l| l.split('(').next().unwrap_or_default().trim().to_string())
        .collect();
    (path, names)
}

fn granted_commands() -> (PathBuf, Vec<String>) {
    let (path, text) = app_file("capabilities/default.json");
    let json: serde_json::Value = serde_json::from_str(&text)
        .unwrap_or_else(|e| panic!("{} is not JSON: {e}", path.display()));
    let permissions = json["permissions"]
        .as_array()
        .unwrap_or_else(|| panic!("{}: no permissions list", path.display()));
    let names = permissions
        .iter()
        // A permission is an identifier, or an object with one (and a scope).
        .filter_map(|p| p.as_str().or_else(|| p["identifier"].as_str()))
        .filter_map(|p| p.strip_prefix("allow-"))
        .map(|p| p.replace('-', "_"))
        .collect();
    (path, names)
}

#[test]
fn the_api_has_commands() {
    assert!(promptdesk_api::COMMANDS.len() > 10);
    assert!(promptdesk_api::COMMANDS.contains(&"preview_draft"));
}

#[test]
fn build_rs_reads_exactly_the_api_commands() {
    let (path, names) = declared_commands();
    if let Err(e) = check(&path.display().to_string(), names) {
        panic!("{e}");
    }
}

#[test]
fn the_default_capability_grants_exactly_the_api_commands() {
    let (path, names) = granted_commands();
    if let Err(e) = check(&path.display().to_string(), names) {
        panic!("{e}");
    }
}

#[test]
fn the_app_registers_the_commands_from_the_api_list() {
    let (path, text) = app_file("src/commands.rs");
    assert!(
        text.contains("\npromptdesk_api::with_command_names!(api_commands);"),
        "{} must make its commands from promptdesk_api::with_command_names!",
        path.display()
    );
}

#[test]
fn the_check_names_what_is_missing_or_extra() {
    let mut names: Vec<String> = promptdesk_api::COMMANDS
        .iter()
        .map(|s| s.to_string())
        .collect();
    assert!(check("all", names.clone()).is_ok());
    let dropped = names.remove(1);
    names.push("format_disk".into());
    names.push(names[0].clone());
    let err = check("file", names).unwrap_err();
    assert!(
        err.contains(&format!("missing command(s): [\"{dropped}\"]")),
        "{err}"
    );
    assert!(
        err.contains("not an API command: [\"format_disk\"]"),
        "{err}"
    );
    assert!(err.contains("listed twice"), "{err}");
}
