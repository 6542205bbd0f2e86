//! What a pushed event must satisfy before the server records it, and what recording it does.
//! Written once over [`Tx`], so every backend and every route (sync push, the Langfuse API)
//! runs the same checks, with the same release policy code as the desktop app.
//!
//! The server is the authority: it assumes a hostile client holding a valid token of any role,
//! and decides from what it holds, never from what the event claims.
//! - **Time** is the server's: `now` (the clock of the replica that accepted the push) is what
//!   freeze windows and every other time rule weigh, and what the rows it keeps record. The
//!   event's own `at` is the author's clock; it stays in the event (the signatures cover it)
//!   for display only.
//! - **History** is the server's: a rollback returns a label only to content that label served
//!   before through a move this server accepted (its label history), never onto a label that
//!   serves nothing.
//! - **Keys** belong to their person: a signing key is registered only with its owner's own
//!   token, revoked only with its owner's or an admin's, and a signature counts only with such
//!   a key while nobody has revoked it.
//! - **No poison**: an event is accepted only when every registry can apply it. Each field the
//!   client's apply reads (anchors, replies, review ids, keys) is checked here, so one bad event
//!   from anyone never stops anyone else's pull.
//!
//! One module per event kind holds that kind's rules; this one holds what every push shares
//! (size, shape, replays, who may carry whose events) and the helpers the kinds share.

mod evidence;
mod keys;
mod labels;
mod policies;
mod prompts;
mod records;
mod reviews;
mod versions;

#[cfg(test)]
mod tests;

use promptdesk_protocol::events::{EventBody, SyncEvent};
use promptdesk_protocol::policy::Role;
use promptdesk_protocol::signing;
use serde::Serialize;
use serde_json::Value;

use crate::error::{Result, ServerError};
use crate::store::{Pick, PromptRow, Tx, VersionRow};

pub use labels::{check_expected, decide, policy_of};

/// Who is calling: the user behind the token and their role on this server.
#[derive(Debug, Clone, PartialEq)]
pub struct Principal {
    pub user: String,
    pub role: Role,
}

/// What became of one pushed event.
#[derive(Debug, Clone, Serialize)]
pub struct Applied {
    pub id: String,
    pub seq: i64,
    /// `stored`, or `duplicate` when the same event was pushed before (nothing changed).
    pub status: &'static str,
    pub assigned: Value,
}

/// The most JSON one event may be. Everyone pulls every event, and the sync client reads
/// answers of at most 10 MiB: a page of pulled events is under `store::PAGE_BYTES` plus one
/// event, so one larger event would stop every registry's pull. A push over it is refused
/// (the change stays where it was made) instead.
pub const MAX_EVENT_BYTES: usize = 6 << 20;

/// One pushed event as the rules of its kind see it: the event, the role its author holds on
/// this server, who pushed it and the server's clock.
pub(crate) struct Push<'a> {
    pub event: &'a SyncEvent,
    pub author: &'a str,
    /// The author's role on this server (not the pusher's, when an admin carries the event).
    pub role: Role,
    pub pusher: &'a Principal,
    /// The server's time (RFC 3339 UTC): what time rules weigh and rows record.
    pub now: &'a str,
}

/// Checks `event` and records it with everything it implies, or refuses it and changes nothing.
/// `now` is the server's clock.
pub fn apply(tx: &mut dyn Tx, who: &Principal, event: &SyncEvent, now: &str) -> Result<Applied> {
    let size = serde_json::to_vec(event)?.len();
    if size > MAX_EVENT_BYTES {
        let split = if event.body.change_kind() == "eval.finished" {
            "an eval run travels with all its outputs: split the suite into smaller suites and \
             run them again"
        } else {
            "split it, e.g. import the cases in several files"
        };
        return Err(ServerError::BadInput(format!(
            "event {} ({} of {}) is {:.1} MiB of JSON; the server takes at most {} MiB per \
             change ({split})",
            event.id,
            event.body.change_kind(),
            event.body.prompt().unwrap_or(&event.author),
            size as f64 / (1024.0 * 1024.0),
            MAX_EVENT_BYTES >> 20
        )));
    }
    event.check().map_err(ServerError::BadInput)?;
    if let Some(stored) = tx.event(&event.id)? {
        if stored.hash == event.hash {
            return Ok(Applied {
                id: event.id.clone(),
                seq: stored.seq,
                status: "duplicate",
                assigned: stored.assigned,
            });
        }
        return Err(ServerError::Conflict(format!(
            "event {} was pushed before with other content: stored hash {}, pushed hash {}",
            event.id, stored.hash, event.hash
        )));
    }
    // People push their own events; only an administrator may carry someone else's (moving a
    // registry to the server). Either way the author's role on this server is what counts, and
    // the log keeps who pushed it.
    if event.author != who.user && who.role != Role::Admin {
        return Err(ServerError::Forbidden(format!(
            "{} may not push an event made by {}",
            who.user, event.author
        )));
    }
    let role = if event.author == who.user {
        who.role
    } else {
        tx.role_of(&event.author)?.unwrap_or(Role::Viewer)
    };
    let push = Push {
        event,
        author: &event.author,
        role,
        pusher: who,
        now,
    };
    let assigned = match &event.body {
        EventBody::PromptCreate { .. } | EventBody::PromptUpdate { .. } => {
            prompts::apply(tx, &push)?
        }
        EventBody::VersionCreate { .. } => versions::apply(tx, &push)?,
        EventBody::KeyRegister { .. } => keys::apply(tx, &push)?,
        EventBody::KeyRevoke { .. } => keys::revoke(tx, &push)?,
        EventBody::ReviewRequest { .. } | EventBody::ReviewEvent { .. } => {
            reviews::apply(tx, &push)?
        }
        EventBody::LabelMove { .. } => labels::apply(tx, &push)?,
        EventBody::PolicySet { .. } => policies::apply(tx, &push)?,
        EventBody::RecordsPut { .. } => records::apply(tx, &push)?,
    };
    let value = serde_json::to_value(event)?;
    let seq = tx.append_event(&value, &event.id, &event.hash, &assigned, &who.user, now)?;
    Ok(Applied {
        id: event.id.clone(),
        seq,
        status: "stored",
        assigned,
    })
}

/// The error for an event handed to another kind's rules (a bug in [`apply`]'s dispatch, never
/// a client's doing): refused, nothing recorded.
fn misrouted(body: &EventBody) -> ServerError {
    ServerError::Internal(format!(
        "the server's rules for another kind were asked to apply a {} event",
        body.kind()
    ))
}

fn refuse(message: String) -> ServerError {
    ServerError::Forbidden(message)
}

fn prompt_of(tx: &mut dyn Tx, name: &str) -> Result<PromptRow> {
    tx.prompt(name)?
        .ok_or_else(|| ServerError::NotFound(format!("no prompt named {name} on the server")))
}

fn version_of(tx: &mut dyn Tx, prompt: &str, hash: &str) -> Result<VersionRow> {
    tx.version(prompt, &Pick::Hash(hash.into()))?
        .ok_or_else(|| {
            ServerError::NotFound(format!(
                "{prompt} has no version with content {hash} on the server: push it first"
            ))
        })
}

/// What a signature made with a revoked key gets: a release is refused (a revoked key moves no
/// label), a review decision is kept and counts for nothing.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Revoked {
    Refused,
    Kept,
}

/// Checks that `signature` is `author`'s signature of `statement`, made with a key `author`
/// registered with their own token.
fn check_signature(
    tx: &mut dyn Tx,
    author: &str,
    key_id: &Option<String>,
    signature: &Option<String>,
    statement: &Value,
    revoked: Revoked,
) -> Result<()> {
    let (Some(key_id), Some(signature)) = (key_id, signature) else {
        return Err(refuse(format!(
            "approvals and releases are signed; this one by {author} carries no signature"
        )));
    };
    let key = tx.key(key_id)?.ok_or_else(|| {
        ServerError::BadInput(format!(
            "signing key {key_id} is not registered on the server: push its key.register event first"
        ))
    })?;
    if key.person != author {
        return Err(refuse(format!(
            "signing key {key_id} belongs to {}, not {author}",
            key.person
        )));
    }
    if key.registered_by.as_deref() != Some(author) {
        return Err(refuse(format!(
            "signing key {key_id} of {author} was registered by {}, not by {author}: a key \
             counts only when its owner registers it with their own token (sync once as \
             {author})",
            key.registered_by
                .as_deref()
                .unwrap_or("someone the server cannot name")
        )));
    }
    if let (Some(at), Revoked::Refused) = (&key.revoked_at, revoked) {
        return Err(refuse(format!(
            "signing key {key_id} of {author} was revoked by {} on {at}: it signs nothing any \
             more (sign with a new key: `promptdesk keys rotate`)",
            key.revoked_by.as_deref().unwrap_or("someone")
        )));
    }
    if !signing::verify(
        &key.public_key,
        &signing::statement_bytes(statement),
        signature,
    ) {
        return Err(refuse(format!(
            "the signature by {author} does not match what it claims to sign"
        )));
    }
    Ok(())
}
