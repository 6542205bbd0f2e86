//! Where the registry is, who is acting, and the render worker: resolved once per command.

use std::ffi::OsString;
use std::path::PathBuf;

use promptdesk_core::Registry;
use promptdesk_template::worker::{RenderWorker, WorkerConfig};

use crate::output::Failure;

/// The registry path: `--registry`, `PROMPTDESK_REGISTRY`, or the platform data directory.
pub fn registry_path(flag: Option<PathBuf>) -> Result<PathBuf, Failure> {
    if let Some(p) = flag {
        return Ok(p);
    }
    promptdesk_core::default_registry_path().ok_or_else(|| {
        Failure::bad_input(
            "cannot find a data directory for the default registry; pass --registry PATH",
        )
    })
}

/// The acting person: `PROMPTDESK_USER`, else the configured identity, else the OS user.
pub fn actor(reg: &Registry) -> String {
    promptdesk_core::acting_person(reg)
}

pub fn open(path: &std::path::Path) -> Result<Registry, Failure> {
    let mut reg = Registry::open(path)?;
    let who = actor(&reg);
    reg.set_actor(who);
    Ok(reg)
}

/// A render worker that runs this same binary with the hidden `__render-worker` argument.
pub fn render_worker() -> Result<RenderWorker, Failure> {
    let exe = std::env::current_exe()
        .map_err(|e| Failure::internal(format!("cannot find the promptdesk executable: {e}")))?;
    Ok(RenderWorker::new(WorkerConfig::new(
        exe,
        vec![OsString::from("__render-worker")],
    )))
}

/// Sets up the acting person's signing key (from the OS keyring, or the key files chosen with
/// `PROMPTDESK_KEYSTORE`), for commands that sign approvals and releases.
pub fn with_signing_key(reg: &mut Registry) -> Result<(), Failure> {
    let store =
        promptdesk_keys::KeyStore::from_env().map_err(|e| Failure::bad_input(e.to_string()))?;
    if let promptdesk_keys::KeyStore::Files(dir) = &store {
        eprintln!(
            "promptdesk: signing with a key kept in a plain file in {} (PROMPTDESK_KEYSTORE), not in the OS keyring",
            dir.display()
        );
    }
    let signer = store
        .signer_for(reg.actor())
        .map_err(|e| Failure::bad_input(e.to_string()))?;
    reg.set_signer(Box::new(signer));
    Ok(())
}
