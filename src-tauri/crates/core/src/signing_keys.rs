//! Who signs with which key: the registry's public signing keys, each registered by its person
//! (on their first signature, or when they rotate to a new key) and revoked by that person or an
//! admin. The private halves never come here (see `signing`).
//!
//! A revoked key signs nothing new, and nothing it signed counts any more in a release decision
//! (see `release::latest_decisions`); what it signed before stays in the record as signed, so
//! `verify` still checks those signatures. Keys and revocations are append-only, each in the
//! ledger (`key.registered`, `key.revoked`), synced (`key.register`, `key.revoke`) and exported.

use rusqlite::Connection;
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::error::{Error, Result};
use crate::policy::check_key_revocation;
use crate::registry::{Registry, WriteContext};
use crate::release::records::{KeyRecord, KeyRevocationRecord};
use crate::signing;
use crate::store;

/// A public signing key as the registry holds it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ts_rs::TS)]
pub struct SigningKey {
    pub key_id: String,
    pub person: String,
    pub public_key: String,
    pub registered_at: String,
    /// Who carried its registration to the server, when that was not its person (only keys
    /// from servers before key ownership was checked can show one).
    pub pushed_by: Option<String>,
    /// Set once the key is revoked.
    pub revoked: Option<KeyRevocation>,
}

/// Who revoked a key, when and why.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ts_rs::TS)]
pub struct KeyRevocation {
    pub by: String,
    pub at: String,
    pub reason: String,
}

/// What rotating to a new key did: the new key, and the old one (revoked) if there was one.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ts_rs::TS)]
pub struct KeyRotation {
    pub new_key: SigningKey,
    pub old_key: Option<SigningKey>,
}

/// The longest reason a revocation may give.
const MAX_REASON: usize = 1000;

/// The key with id `key_id`, if the registry has it.
pub(crate) fn find(conn: &Connection, key_id: &str) -> Result<Option<SigningKey>> {
    store::signing_keys::find(conn, key_id)
}

/// Makes sure `public_key` is registered as the acting person's key and may sign: registers it
/// (with a `key.registered` ledger entry) on first use; refuses a key of someone else's, or one
/// that was revoked. Returns its id.
pub(crate) fn ready_to_sign(
    tx: &Connection,
    ctx: &mut WriteContext<'_>,
    public_key: &str,
) -> Result<String> {
    let key_id = signing::key_id(public_key);
    match find(tx, &key_id)? {
        Some(k) if k.person != ctx.actor => Err(Error::Refused(format!(
            "the signing key {key_id} belongs to {}; {} cannot sign with it",
            k.person, ctx.actor
        ))),
        Some(SigningKey {
            revoked: Some(r), ..
        }) => Err(Error::Refused(format!(
            "your signing key {key_id} was revoked by {} on {} ({}): it signs nothing any more. \
             Make a new key (Settings → Signing key → Make a new key, or `promptdesk keys rotate`)",
            r.by, r.at, r.reason
        ))),
        Some(_) => Ok(key_id),
        None => {
            register(tx, ctx, &key_id, public_key)?;
            Ok(key_id)
        }
    }
}

fn register(
    tx: &Connection,
    ctx: &mut WriteContext<'_>,
    key_id: &str,
    public_key: &str,
) -> Result<()> {
    store::signing_keys::insert(
        tx,
        &KeyRecord {
            key_id: key_id.to_string(),
            person: ctx.actor.to_string(),
            public_key: public_key.to_string(),
            registered_at: ctx.at.clone(),
        },
    )?;
    let person = ctx.actor.to_string();
    ctx.event(
        tx,
        "key.registered",
        &person,
        json!({ "key_id": key_id, "public_key": public_key }),
    )
}

fn revoke(
    tx: &Connection,
    ctx: &mut WriteContext<'_>,
    key: &SigningKey,
    reason: &str,
) -> Result<()> {
    if let Some(r) = &key.revoked {
        return Err(Error::Conflict(format!(
            "signing key {} of {} was already revoked by {} on {} ({})",
            key.key_id, key.person, r.by, r.at, r.reason
        )));
    }
    let role = crate::release::role_of(tx, ctx.actor)?;
    check_key_revocation(ctx.actor, role, &key.person).map_err(Error::Refused)?;
    store::signing_keys::insert_revocation(
        tx,
        &KeyRevocationRecord {
            key_id: key.key_id.clone(),
            revoked_by: ctx.actor.to_string(),
            revoked_at: ctx.at.clone(),
            reason: reason.to_string(),
        },
    )?;
    ctx.event(
        tx,
        "key.revoked",
        &key.person,
        json!({ "key_id": key.key_id, "person": key.person, "reason": reason }),
    )
}

fn check_reason(reason: &str) -> Result<&str> {
    let reason = reason.trim();
    if reason.is_empty() {
        return Err(Error::bad(
            "say why the key is revoked (for example: laptop lost, left the team, rotated)",
        ));
    }
    if reason.chars().count() > MAX_REASON {
        return Err(Error::bad(format!(
            "the reason is {} characters; at most {MAX_REASON}",
            reason.chars().count()
        )));
    }
    Ok(reason)
}

impl Registry {
    /// Every signing key, newest registration first.
    pub fn signing_keys(&self) -> Result<Vec<SigningKey>> {
        store::signing_keys::list(self.connection())
    }

    /// One signing key by id (a unique prefix of at least 4 hex digits is enough).
    pub fn signing_key(&self, key_id: &str) -> Result<SigningKey> {
        let wanted = key_id.trim().to_ascii_lowercase();
        let matches: Vec<SigningKey> = if wanted.len() >= 4 {
            self.signing_keys()?
                .into_iter()
                .filter(|k| k.key_id.starts_with(&wanted))
                .collect()
        } else {
            Vec::new()
        };
        match matches.len() {
            1 => Ok(matches.into_iter().next().expect("one match")),
            0 => Err(Error::NotFound(format!(
                "no signing key {key_id} in this registry (`promptdesk keys list` shows them)"
            ))),
            n => Err(Error::bad(format!(
                "{n} signing keys start with {key_id}: give more of its id"
            ))),
        }
    }

    /// Revokes a signing key (its owner, or an admin). From then on it signs nothing, and
    /// nothing it signed counts in a release decision.
    pub fn revoke_signing_key(&mut self, key_id: &str, reason: &str) -> Result<SigningKey> {
        let key = self.signing_key(key_id)?;
        let reason = check_reason(reason)?.to_string();
        self.write(|tx, ctx| revoke(tx, ctx, &key, &reason))?;
        self.signing_key(&key.key_id)
    }

    /// Moves the acting person to a new key: registers `new_public_key` as theirs and revokes
    /// `old_public_key` (when given and registered), in one write. The caller keeps the new
    /// private half (the `keys` crate puts it in the OS keyring) before calling this.
    pub fn rotate_signing_key(
        &mut self,
        old_public_key: Option<&str>,
        new_public_key: &str,
    ) -> Result<KeyRotation> {
        let new_id = signing::key_id(new_public_key);
        let old_id = old_public_key.map(signing::key_id);
        if old_id.as_deref() == Some(new_id.as_str()) {
            return Err(Error::bad("the new key is the old key"));
        }
        self.write(|tx, ctx| {
            ready_to_sign(tx, ctx, new_public_key)?;
            if let Some(old) = &old_id {
                if let Some(key) = find(tx, old)? {
                    if key.person != ctx.actor {
                        return Err(Error::Refused(format!(
                            "the signing key {old} belongs to {}, not {}",
                            key.person, ctx.actor
                        )));
                    }
                    if key.revoked.is_none() {
                        revoke(tx, ctx, &key, "rotated to a new key")?;
                    }
                }
            }
            Ok(())
        })?;
        let old_key = match &old_id {
            Some(id) => find(self.connection(), id)?,
            None => None,
        };
        Ok(KeyRotation {
            new_key: self.signing_key(&new_id)?,
            old_key,
        })
    }
}
