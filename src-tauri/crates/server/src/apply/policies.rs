//! `policy.set`: admins only; the policy's shape is checked with the event.

use promptdesk_protocol::events::EventBody;
use promptdesk_protocol::policy::{self, Action};
use serde_json::{json, Value};

use super::{misrouted, refuse, Push};
use crate::error::Result;
use crate::store::Tx;

pub(super) fn apply(tx: &mut dyn Tx, push: &Push<'_>) -> Result<Value> {
    let EventBody::PolicySet { label, policy } = &push.event.body else {
        return Err(misrouted(&push.event.body));
    };
    policy::check_action(push.author, push.role, Action::SetPolicy).map_err(refuse)?;
    tx.set_policy(label, policy, push.author, push.now)?;
    Ok(json!({}))
}
