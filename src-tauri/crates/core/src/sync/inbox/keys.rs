//! Pulled `key.register` and `key.revoke`: a person's public signing key, as its owner
//! registered it with their own token (the server refuses any other), and its revocation by
//! its owner or an admin (the server checked who).

use rusqlite::Connection;
use serde_json::json;

use super::{misrouted, record_exchange, witness, Pulled};
use crate::error::Result;
use crate::registry::WriteContext;
use crate::release::records::{self as release_records, Record};
use crate::store::signing_keys;
use crate::sync::EventBody;
/// A person's public signing key, registered with their own token.
pub(super) fn register(tx: &Connection, ctx: &mut WriteContext<'_>, p: &Pulled) -> Result<()> {
    let e = &p.event;
    let EventBody::KeyRegister { key_id, public_key } = &e.body else {
        return Err(misrouted(e));
    };
    let record = Record::Key(release_records::KeyRecord {
        key_id: key_id.clone(),
        person: e.author.clone(),
        public_key: public_key.clone(),
        registered_at: e.at.clone(),
    });
    match release_records::apply(tx, &record)? {
        release_records::Applied::Inserted => witness(
            tx,
            ctx,
            p,
            "key.registered",
            &e.author,
            json!({ "key_id": key_id, "public_key": public_key }),
        )?,
        release_records::Applied::AlreadyPresent => {
            record_exchange(tx, e, None, Some(p.seq), "pulled", "", &ctx.at)?
        }
    }
    Ok(())
}

/// A key revoked elsewhere. A key revoked here too keeps the first revocation.
pub(super) fn revoke(tx: &Connection, ctx: &mut WriteContext<'_>, p: &Pulled) -> Result<()> {
    let e = &p.event;
    let EventBody::KeyRevoke { key_id, reason } = &e.body else {
        return Err(misrouted(e));
    };
    let record = Record::KeyRevocation(release_records::KeyRevocationRecord {
        key_id: key_id.clone(),
        revoked_by: e.author.clone(),
        revoked_at: e.at.clone(),
        reason: reason.clone(),
    });
    match release_records::apply(tx, &record)? {
        release_records::Applied::Inserted => {
            // The revocation went in, so its key is here.
            let person = signing_keys::get(tx, key_id)?
                .map(|k| k.person)
                .unwrap_or_default();
            witness(
                tx,
                ctx,
                p,
                "key.revoked",
                &person,
                json!({ "key_id": key_id, "person": person, "reason": reason }),
            )?
        }
        release_records::Applied::AlreadyPresent => {
            record_exchange(tx, e, None, Some(p.seq), "pulled", "", &ctx.at)?
        }
    }
    Ok(())
}
