//! Pulled `policy.set`: a label's release policy, as an admin set it.

use rusqlite::Connection;
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
    let text = serde_json::to_string(policy).expect("policies serialise");
    crate::store::policies::set(tx, label, &text, &e.author, &e.at)?;
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
