//! `key.register` and `key.revoke`: a person's public signing keys. A key belongs to the person
//! who registers it with their own token (an admin carrying someone else's events cannot give
//! them a key, or it could sign approvals in their name), and the server keeps who registered
//! it. A key is revoked by whoever holds its person's token or an admin's (the same rule as on
//! the desktop, `policy::check_key_revocation`); from then on it signs nothing, and no decision
//! signed with it counts.

use promptdesk_protocol::events::EventBody;
use promptdesk_protocol::policy::check_key_revocation;
use serde_json::{json, Value};

use super::{misrouted, refuse, Push};
use crate::error::{Result, ServerError};
use crate::store::{KeyRow, Tx};

pub(super) fn apply(tx: &mut dyn Tx, push: &Push<'_>) -> Result<Value> {
    let EventBody::KeyRegister { key_id, public_key } = &push.event.body else {
        return Err(misrouted(&push.event.body));
    };
    if push.pusher.user != push.author {
        return Err(refuse(format!(
            "a signing key is registered only with its owner's own token: {} may not register \
             a key for {}",
            push.pusher.user, push.author
        )));
    }
    // What every registry's apply requires of a key (the id matching it is checked with the
    // event): 32 bytes, as 64 lowercase hex digits.
    if public_key.len() != 64
        || !public_key
            .bytes()
            .all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
    {
        return Err(ServerError::BadInput(format!(
            "signing key {key_id}: the public key must be 64 lowercase hex digits"
        )));
    }
    match tx.key(key_id)? {
        Some(k) if k.person == push.author => {
            if let Some(at) = &k.revoked_at {
                return Err(ServerError::Conflict(format!(
                    "signing key {key_id} of {} was revoked on {at}: it cannot be registered \
                     again; make a new key",
                    k.person
                )));
            }
        }
        Some(k) => {
            return Err(ServerError::Conflict(format!(
                "key {key_id} already belongs to {}",
                k.person
            )))
        }
        None => tx.insert_key(&KeyRow {
            key_id: key_id.clone(),
            person: push.author.to_string(),
            public_key: public_key.clone(),
            registered_by: Some(push.pusher.user.clone()),
            revoked_at: None,
            revoked_by: None,
        })?,
    }
    Ok(json!({}))
}

pub(super) fn revoke(tx: &mut dyn Tx, push: &Push<'_>) -> Result<Value> {
    let EventBody::KeyRevoke { key_id, reason } = &push.event.body else {
        return Err(misrouted(&push.event.body));
    };
    let key = tx
        .key(key_id)?
        .ok_or_else(|| ServerError::NotFound(format!("no signing key {key_id} on the server")))?;
    // The token decides: its holder is the key's person, or an admin (who may also carry a
    // revocation someone else made).
    check_key_revocation(&push.pusher.user, push.pusher.role, &key.person).map_err(refuse)?;
    if push.author != push.pusher.user {
        check_key_revocation(push.author, push.role, &key.person).map_err(refuse)?;
    }
    if key.revoked_at.is_some() {
        // Revoked before (two people at once, or a registry pushing what it pulled): the first
        // revocation stands and this one changes nothing.
        return Ok(json!({ "already_revoked": true }));
    }
    tx.revoke_key(key_id, push.author, push.now, reason)?;
    Ok(json!({}))
}
