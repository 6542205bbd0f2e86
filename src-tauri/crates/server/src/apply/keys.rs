//! `key.register`: a person's public signing key. A key belongs to the person who registers it
//! with their own token (an admin carrying someone else's events cannot give them a key, or it
//! could sign approvals in their name), and the server keeps who registered it.

use promptdesk_core::sync::EventBody;
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
        Some(k) if k.person == push.author => {}
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
        })?,
    }
    Ok(json!({}))
}
