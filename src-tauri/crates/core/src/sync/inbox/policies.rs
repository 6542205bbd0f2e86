//! Pulled `policy.set`: a label's release policy, as an admin set it.

use rusqlite::{params, Connection};
use serde_json::json;

use super::{misrouted, witness, Pulled};
use crate::error::Result;
use crate::registry::WriteContext;
use crate::sync::EventBody;
/// A label's release policy.
pub(super) fn set(tx: &Connection, ctx: &mut WriteContext<'_>, p: &Pulled) -> Result<()> {
    let e = &p.event;
    let EventBody::PolicySet { label, policy } = &e.body else {
        return Err(misrouted(e));
    };
    let old = crate::release::policy_of(tx, label)?;
    tx.execute(
        "INSERT INTO policies (label, policy, updated_by, updated_at) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT (label) DO UPDATE SET policy = excluded.policy,
             updated_by = excluded.updated_by, updated_at = excluded.updated_at",
        params![
            label,
            serde_json::to_string(policy).expect("policies serialise"),
            e.author,
            e.at
        ],
    )?;
    witness(
        tx,
        ctx,
        p,
        "policy.set",
        label,
        json!({ "from": old, "to": policy }),
    )?;
    Ok(())
}
