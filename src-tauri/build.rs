//! Build script of the desktop shell.
//!
//! `tauri_build` validates tauri.conf.json and capabilities/, and embeds the Windows resources.
//! The app's own commands are listed in the app manifest, which makes Tauri generate an
//! `allow-<command>` permission for each one: a command is then callable from a window only if a
//! capability grants it (see capabilities/default.json). Every command of `promptdesk_api` must
//! be listed here and granted there, or `invoke` from the UI is refused.

/// Exactly `promptdesk_api::COMMANDS` (the CLI crate's `tauri_manifest` test checks it).
const COMMANDS: &[&str] = &[
    "app_info",
    "list_prompts",
    "search_prompts",
    "create_prompt",
    "open_prompt",
    "rename_prompt",
    "update_prompt",
    "save_draft",
    "preview_draft",
    "draft_diff",
    "commit_version",
    "history",
    "get_version",
    "diff_versions",
    "save_sample",
    "delete_sample",
    "get_settings",
    "set_identity",
    "open_registry",
    "list_reviews",
    "request_review",
    "review_detail",
    "comment_review",
    "decide_review",
    "check_release",
    "release_version",
    "release_bundle",
    "rollback_label",
    "check_rollback",
    "list_releases",
    "policy_of_label",
    "set_policy",
    "list_policies",
    "check_signing_key",
    "choose_key_store",
    "list_signing_keys",
    "rotate_signing_key",
    "revoke_signing_key",
    "sync_status",
    "set_remote",
    "forget_remote",
    "sync_now",
    "list_suites",
    "get_suite",
    "create_suite",
    "add_cases",
    "import_cases",
    "update_case",
    "remove_case",
    "parse_assertion",
    "list_providers",
    "set_provider",
    "remove_provider",
    "start_eval",
    "eval_status",
    "cancel_eval",
    "list_runs",
    "run_results",
    "compare_versions",
    "rate_output",
    "version_evals",
    "list_incidents",
    "open_incident",
    "incident_detail",
    "update_incident",
    "add_incident_note",
    "incident_rollback",
    "get_postmortem",
    "save_postmortem",
    "add_regression_cases",
    "export_postmortem",
    "open_actions",
];

fn main() {
    let attributes = tauri_build::Attributes::new()
        .app_manifest(tauri_build::AppManifest::new().commands(COMMANDS));
    if let Err(error) = tauri_build::try_build(attributes) {
        // Print the full chain: the config/capability errors are in the causes.
        panic!("tauri-build failed: {error:#}");
    }
}
