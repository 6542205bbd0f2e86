//! The team's registry server, as the UI sees it: where this registry stands (`sync_status`),
//! connecting to a server (`set_remote`, `forget_remote`) and one sync round (`sync_now`).
//!
//! The server token goes from the Settings form straight to the key store the person chose for
//! signing keys ([`Api::key_store`]); it is never written to the registry, never logged and
//! never part of an answer (answers say only whether one is kept).
//!
//! A round is blocking HTTP that may take seconds. Both transports already run every command
//! off the window's thread; on top of that, the round works on a second handle on the same
//! registry file, so the lock every other command needs is not held while it waits for the
//! network (typing in the editor keeps saving drafts during a sync). Rounds run one at a time.

use std::path::Path;

use promptdesk_core::sync::inbox::RefusedChange;
use promptdesk_core::{Ref, Registry};
use promptdesk_keys::KeyStore;
use promptdesk_sync::{Remote, SyncError};
use serde_json::json;

use crate::types::*;
use crate::{lock, Api, ApiError};

type R<T> = Result<T, ApiError>;

/// How many ledger entries one look-up reads at a time when finding a refused label move.
const LEDGER_PAGE: usize = 500;

pub fn sync_status(api: &Api, _: NoArgs) -> R<SyncStatus> {
    let store = api.key_store().map(|(s, _)| s);
    // The registry part under its lock; the key store (a keyring over D-Bus, maybe) after.
    let (state, refused, actor) = api.with(|reg| {
        let state = reg.sync_state()?;
        let refused = state
            .refused
            .iter()
            .map(|c| refused_detail(reg, c.clone()))
            .collect::<Vec<_>>();
        Ok((state, refused, reg.actor().to_string()))
    })?;
    let (token_kept, token_problem) = match (&state.remote, &store) {
        (None, _) => (false, None),
        (Some(url), Ok(store)) => match store.server_token(url, &actor) {
            Ok(t) => (t.is_some(), None),
            Err(e) => (false, Some(e.to_string())),
        },
        (Some(_), Err(e)) => (false, Some(e.message.clone())),
    };
    Ok(SyncStatus {
        remote: state.remote,
        token_kept,
        token_from_env: std::env::var("PROMPTDESK_TOKEN").is_ok_and(|t| !t.trim().is_empty()),
        token_store: match &store {
            Ok(s) => s.describe(),
            Err(_) => "the key store (not available)".into(),
        },
        token_problem,
        pending: state.pending,
        cursor: state.cursor,
        refused,
        set_aside: state.set_aside,
        last_synced_at: state.last_synced_at,
        last_error: state.last_error,
    })
}

/// What a refused change tried, as far as this registry still knows: a release or rollback
/// travels under its release's id, a plain label move under its ledger entry's id.
fn refused_detail(reg: &Registry, change: RefusedChange) -> RefusedDetail {
    let mut detail = RefusedDetail {
        change,
        label: None,
        move_kind: None,
        to_version: None,
        from_version: None,
    };
    if detail.change.kind != "label.move" || detail.change.subject.is_empty() {
        return detail;
    }
    let name = detail.change.subject.clone();
    let id = detail.change.event_id.clone();
    if let Ok(releases) = reg.releases(&name, None) {
        if let Some(r) = releases.into_iter().find(|r| r.id == id) {
            detail.label = Some(r.label);
            detail.move_kind = Some(r.kind);
            detail.to_version = Some(r.to_version);
            detail.from_version = r.from_version;
            return detail;
        }
    }
    let number_of = |side: &serde_json::Value| -> Option<u32> {
        // The number it has now (versions may have been renumbered since), else as recorded.
        side["hash"]
            .as_str()
            .and_then(|h| {
                reg.resolve(&name, Some(&Ref::HashPrefix(h.to_string())))
                    .ok()
            })
            .map(|v| v.number)
            .or_else(|| side["number"].as_u64().map(|n| n as u32))
    };
    let mut after = 0;
    while let Ok(page) = reg.ledger(Some(&name), after, LEDGER_PAGE) {
        let Some(last) = page.last() else { break };
        after = last.seq;
        if let Some(e) = page.iter().find(|e| e.id == id && e.kind == "label.moved") {
            detail.label = e.payload["label"].as_str().map(str::to_string);
            detail.move_kind = Some("set".into());
            detail.to_version = number_of(&e.payload["to"]);
            detail.from_version = number_of(&e.payload["from"]);
            break;
        }
        if page.len() < LEDGER_PAGE {
            break;
        }
    }
    detail
}

pub fn set_remote(api: &Api, req: SetRemote) -> R<RemoteSet> {
    let url = req.url.trim().trim_end_matches('/').to_string();
    let token = req.token.trim();
    if !(url.starts_with("http://") || url.starts_with("https://")) {
        return Err(ApiError::bad_input(format!(
            "'{url}' is not a server address: it must start with http:// or https://. Nothing was saved."
        )));
    }
    if token.is_empty() {
        return Err(ApiError::bad_input(
            "Give the token the server's administrator made for you \
             (`promptdesk server token create --user NAME --role ROLE`). Nothing was saved.",
        ));
    }
    let (store, _) = api.key_store()?;
    // Check the token before keeping anything: a typo must not replace a working setting.
    let checked = api.with(|reg| Ok(promptdesk_sync::remote_for(reg, &url, token)))?;
    let (user, role) = checked
        .and_then(|r| promptdesk_sync::whoami(&r))
        .map_err(|e| refusal(&url, e))?;
    let acting = api.with(|reg| Ok(reg.actor().to_string()))?;
    store.set_server_token(&url, &acting, token).map_err(|e| {
        ApiError::new(
            crate::ApiErrorKind::PolicyRefused,
            format!(
                "The token could not be kept in {}: {e}. Nothing was saved.",
                store.describe()
            ),
        )
    })?;
    let (actor, identity) = api.with(|reg| {
        reg.set_sync_remote(&url)?;
        Ok((reg.actor().to_string(), reg.identity()?))
    })?;
    let warning = (user != actor).then(|| {
        let who = match identity {
            Some(i) if i.name == actor => format!("your identity is {actor}"),
            _ => format!("this registry acts as {actor}"),
        };
        format!(
            "The token signs in as {user}, but {who}: the server accepts only {user}'s own \
             changes. Set your name to {user} under Identity, or ask for a token of your own."
        )
    });
    Ok(RemoteSet {
        user,
        role,
        warning,
        status: sync_status(api, NoArgs {})?,
    })
}

/// `set_remote`'s refusal when the server does not confirm the token.
fn refusal(url: &str, e: SyncError) -> ApiError {
    let message = match &e {
        SyncError::Unauthorized { detail, .. } => {
            format!("The server at {url} does not accept this token ({detail}). Nothing was saved.")
        }
        SyncError::Offline { detail, .. } => {
            format!("The server at {url} cannot be reached ({detail}). Nothing was saved.")
        }
        SyncError::Protocol(detail) => format!(
            "{url} does not answer like a Promptdesk registry server ({detail}). Nothing was saved."
        ),
        other => format!("{other}. Nothing was saved."),
    };
    let mut error = ApiError::bad_input(message);
    error.details = Some(json!({ "sync_kind": e.kind() }));
    error
}

pub fn forget_remote(api: &Api, _: NoArgs) -> R<SyncStatus> {
    let url = api
        .with(|reg| Ok(reg.sync_remote()?))?
        .ok_or_else(|| ApiError::bad_input("No team server is set for this registry."))?;
    let (store, _) = api.key_store()?;
    let acting = api.with(|reg| Ok(reg.actor().to_string()))?;
    store.forget_server_token(&url, &acting).map_err(|e| {
        ApiError::new(
            crate::ApiErrorKind::PolicyRefused,
            format!(
                "The token could not be removed from {}: {e}",
                store.describe()
            ),
        )
    })?;
    sync_status(api, NoArgs {})
}

pub fn sync_now(api: &Api, _: NoArgs) -> R<SyncOutcome> {
    // One round at a time; a second request waits for the first and then runs its own (it may
    // carry changes made during the first).
    let _round = lock(&api.sync_round);
    let (path, actor, url) = api.with(|reg| {
        Ok((
            reg.path().to_path_buf(),
            reg.actor().to_string(),
            reg.sync_remote()?,
        ))
    })?;
    let done = match url {
        None => Done::failed(
            "not_configured",
            "No team server is set: add one in Settings → Team server.".into(),
        ),
        Some(url) => round(api, &path, &actor, &url),
    };
    Ok(SyncOutcome {
        ok: done.kind.is_none(),
        kind: done.kind.map(str::to_string),
        message: done.message,
        report: done.report.map(SyncReport::from),
        state: sync_status(api, NoArgs {})?,
    })
}

struct Done {
    kind: Option<&'static str>,
    message: Option<String>,
    report: Option<promptdesk_sync::Report>,
}

impl Done {
    fn failed(kind: &'static str, message: String) -> Done {
        Done {
            kind: Some(kind),
            message: Some(message),
            report: None,
        }
    }
}

fn round(api: &Api, path: &Path, actor: &str, url: &str) -> Done {
    let store = match api.key_store() {
        Ok((s, _)) => s,
        Err(e) => return record(api, Done::failed("keys", e.message)),
    };
    let mut reg = match Registry::open(path) {
        Ok(r) => r,
        Err(e) => return Done::failed("registry", e.to_string()),
    };
    reg.set_actor(actor);
    // The remote as `promptdesk remote set` kept it (a private CA, --insecure), so the app
    // reaches the same servers the CLI does, with the same checks.
    let remote = match remote(&store, &reg, url, actor) {
        Ok(r) => r,
        Err(e) => return record(api, Done::failed(e.kind(), words(&e))),
    };
    // `sync` records its outcome (the time, or the error) in the registry itself.
    match promptdesk_sync::sync(&mut reg, &remote, &mut |_| {}) {
        Ok(report) => Done {
            kind: None,
            message: None,
            report: Some(report),
        },
        Err(e) => Done::failed(e.kind(), words(&e)),
    }
}

fn remote(store: &KeyStore, reg: &Registry, url: &str, person: &str) -> Result<Remote, SyncError> {
    let token = promptdesk_sync::token_for(store, url, person)?;
    promptdesk_sync::remote_for(reg, url, &token)
}

/// Records a failure that happened before the round could start, so the status says why.
fn record(api: &Api, done: Done) -> Done {
    if let Some(m) = &done.message {
        let _ = api.with(|reg| Ok(reg.set_sync_outcome(Some(m))?));
    }
    done
}

/// The error in the app's words: the sync crate's messages point at CLI commands.
fn words(e: &SyncError) -> String {
    match e {
        SyncError::Unauthorized { url, detail } => format!(
            "The server at {url} does not accept the token ({detail}). Set a new one in Settings → Team server."
        ),
        SyncError::NoToken { url } => {
            format!("No token is kept for {url}: add one in Settings → Team server.")
        }
        SyncError::NoRemote => "No team server is set: add one in Settings → Team server.".into(),
        other => other.to_string(),
    }
}
