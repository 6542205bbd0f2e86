//! Per-label release policies: reading and setting them.

use rusqlite::Connection;
use serde_json::json;

use crate::error::{Error, Result};
use crate::policy::{check_action, Action, Policy};
use crate::registry::Registry;
use crate::store::policies;

use super::*;

impl Registry {
    /// The policy of `label`: the configured one, or the default.
    pub fn policy(&self, label: &str) -> Result<Policy> {
        policy_of(self.connection(), label)
    }

    /// Every label with a configured policy, plus `production`.
    pub fn policies(&self) -> Result<Vec<(String, Policy)>> {
        let mut labels: Vec<String> = policies::list(self.connection())?
            .into_iter()
            .map(|p| p.label)
            .collect();
        if !labels.iter().any(|l| l == "production") {
            labels.insert(0, "production".into());
        }
        labels
            .into_iter()
            .map(|l| Ok((l.clone(), self.policy(&l)?)))
            .collect()
    }

    /// Replaces the policy of `label` (admins only), recorded in the ledger.
    pub fn set_policy(&mut self, label: &str, new: &Policy) -> Result<Policy> {
        check_label(label)?;
        new.validate().map_err(Error::BadInput)?;
        let actor = self.actor().to_string();
        self.write(|tx, ctx| {
            check_action(&actor, role_of(tx, &actor)?, Action::SetPolicy)
                .map_err(Error::Refused)?;
            let old = policy_of(tx, label)?;
            let text = serde_json::to_string(new).expect("policies serialise");
            policies::set(tx, label, &text, ctx.actor, &ctx.at)?;
            ctx.event(tx, "policy.set", label, json!({ "from": old, "to": new }))?;
            Ok(new.clone())
        })
    }
}

pub(crate) fn policy_of(conn: &Connection, label: &str) -> Result<Policy> {
    match policies::get(conn, label)? {
        None => Ok(Policy::default_for(label)),
        Some(p) => parse_policy(&p),
    }
}

/// A stored policy's text as a policy; text that does not parse is an integrity error.
pub(crate) fn parse_policy(p: &policies::PolicyRow) -> Result<Policy> {
    serde_json::from_str(&p.policy).map_err(|e| {
        Error::Integrity(format!(
            "the stored policy of {} does not parse: {e}",
            p.label
        ))
    })
}
