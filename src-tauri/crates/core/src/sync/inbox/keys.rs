//! Pulled `key.register`: a person's public signing key, as its owner registered it with
//! their own token (the server refuses any other).

use rusqlite::Connection;
use serde_json::json;

use super::{misrouted, record_exchange, witness, Pulled};
use crate::error::Result;
use crate::registry::WriteContext;
use crate::release_records::{self, Record};
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
