//! The Promptdesk registry: prompts, drafts, immutable content-addressed versions, labels with
//! append-only history, sample inputs and a hash-chained ledger, stored in one SQLite file; plus
//! the single-file prompt format and git-friendly export/import.
//!
//! Layout: [`db`] opens files and runs migrations; [`store`] has one module per table with plain
//! verbs; [`registry::Registry`] composes them into the operations people perform, each in one
//! `BEGIN IMMEDIATE` transaction that also appends its ledger event.

pub mod db;
pub mod error;
pub mod eval;
pub mod export;
pub mod format;
pub mod incidents;
pub mod includes;
pub mod model;
pub mod refs;
pub mod registry;
pub mod release;
pub mod signing_keys;
pub mod store;
pub mod sync;
pub mod verify;

// Shared with the team server; see `promptdesk_protocol`.
pub use promptdesk_protocol::{policy, signing};

pub use error::{Error, ErrorKind, Result};
pub use model::*;
pub use refs::{parse_spec, Ref};
pub use registry::{DraftAnalysis, Identity, NewPrompt, Registry, RenderTarget, VerifyReport};

/// The registry the desktop app and the CLI open when none is named: `registry.db` in the
/// platform's data directory (`~/.local/share/promptdesk` on Linux). `None` when the platform
/// has no home directory.
pub fn default_registry_path() -> Option<std::path::PathBuf> {
    directories::ProjectDirs::from("dev", "promptdesk", "Promptdesk")
        .map(|d| d.data_dir().join("registry.db"))
}

/// Where the desktop app remembers settings that live outside any registry (which registry
/// file to open): `settings.json` in the platform's config directory
/// (`~/.config/promptdesk` on Linux).
pub fn default_settings_path() -> Option<std::path::PathBuf> {
    directories::ProjectDirs::from("dev", "promptdesk", "Promptdesk")
        .map(|d| d.config_dir().join("settings.json"))
}

/// The acting person for a registry: `PROMPTDESK_USER`, else the configured identity's name,
/// else the OS user. `PROMPTDESK_USER` is a convenience for scripting, not a security boundary.
pub fn acting_person(reg: &Registry) -> String {
    if let Some(u) = std::env::var("PROMPTDESK_USER")
        .ok()
        .filter(|u| !u.trim().is_empty())
    {
        return u.trim().to_string();
    }
    if let Ok(Some(identity)) = reg.identity() {
        if !identity.name.trim().is_empty() {
            return identity.name;
        }
    }
    std::env::var("USER")
        .or_else(|_| std::env::var("USERNAME"))
        .ok()
        .filter(|u| !u.is_empty())
        .unwrap_or_else(|| "unknown".into())
}
