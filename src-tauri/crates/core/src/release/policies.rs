//! Per-label release policies: reading and setting them.

use rusqlite::{params, Connection, OptionalExtension};
use serde_json::json;

use crate::error::{Error, Result};
use crate::policy::{check_action, Action, Policy};
use crate::registry::Registry;

use super::*;

impl Registry {
    /// The policy of `label`: the configured one, or the default.
    pub fn policy(&self, label: &str) -> Result<Policy> {
        policy_of(self.connection(), label)
    }

    /// Every label with a configured policy, plus `production`.
    pub fn policies(&self) -> Result<Vec<(String, Policy)>> {
        let mut labels: Vec<String> = self
            .connection()
            .prepare_cached("SELECT label FROM policies ORDER BY label")?
            .query_map([], |r| r.get(0))?
            .collect::<rusqlite::Result<_>>()?;
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
            check_action(&actor, role_of(tx, &actor)?, Action::SetPolicy).map_err(Error::Refused)?;
            let old = policy_of(tx, label)?;
            let text = serde_json::to_string(new).expect("policies serialise");
            tx.execute(
                "INSERT INTO policies (label, policy, updated_by, updated_at) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (label) DO UPDATE SET policy = excluded.policy,
                     updated_by = excluded.updated_by, updated_at = excluded.updated_at",
                params![label, text, ctx.actor, ctx.at],
            )?;
            ctx.event(tx, "policy.set", label, json!({ "from": old, "to": new }))?;
            Ok(new.clone())
        })
    }

    // ---- reviews --------------------------------------------------------------------------
}

pub(crate) fn policy_of(conn: &Connection, label: &str) -> Result<Policy> {
    let text: Option<String> = conn
        .query_row(
            "SELECT policy FROM policies WHERE label = ?1",
            [label],
            |r| r.get(0),
        )
        .optional()?;
    match text {
        None => Ok(Policy::default_for(label)),
        Some(t) => serde_json::from_str(&t).map_err(|e| {
            Error::Integrity(format!("the stored policy of {label} does not parse: {e}"))
        }),
    }
}
