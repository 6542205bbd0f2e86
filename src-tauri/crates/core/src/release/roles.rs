//! Who may do what: each person's role, and granting roles.

use rusqlite::Connection;
use serde_json::json;

use crate::error::{Error, Result};
use crate::policy::{check_action, Action, Role};
use crate::registry::Registry;
use crate::store::roles;

use super::*;

impl Registry {
    /// The role of `person`. While no roles are configured, everyone is an admin.
    pub fn role_of(&self, person: &str) -> Result<Role> {
        role_of(self.connection(), person)
    }

    pub fn roles(&self) -> Result<Vec<RoleGrant>> {
        Ok(roles::list(self.connection())?
            .into_iter()
            .map(|r| RoleGrant {
                role: Role::parse(&r.role).unwrap_or(Role::Viewer),
                person: r.person,
                granted_by: r.granted_by,
                granted_at: r.granted_at,
            })
            .collect())
    }

    /// Gives `person` a role (admins only). The registry must always keep an admin.
    pub fn set_role(&mut self, person: &str, role: Role) -> Result<RoleGrant> {
        let person = person.trim();
        if person.is_empty() || person.len() > 100 || person.chars().any(char::is_control) {
            return Err(Error::bad(
                "a person's name is required (at most 100 characters)",
            ));
        }
        let actor = self.actor().to_string();
        self.write(|tx, ctx| {
            check_action(&actor, role_of(tx, &actor)?, Action::SetRole).map_err(Error::Refused)?;
            roles::set(tx, person, role.as_str(), ctx.actor, &ctx.at)?;
            let admins = roles::admins(tx)?;
            if admins == 0 {
                return Err(Error::Refused(format!(
                    "this would leave the registry without an admin; make someone admin first \
                     (`promptdesk role set {actor} admin`)"
                )));
            }
            ctx.event(tx, "role.set", person, json!({ "role": role }))?;
            Ok(RoleGrant {
                person: person.to_string(),
                role,
                granted_by: ctx.actor.to_string(),
                granted_at: ctx.at.clone(),
            })
        })
    }
}

pub(crate) fn role_of(conn: &Connection, person: &str) -> Result<Role> {
    if !roles::any(conn)? {
        return Ok(Role::Admin);
    }
    // A role this build does not know reads as the least role, never as more.
    Ok(roles::get(conn, person)?
        .and_then(|r| Role::parse(&r.role))
        .unwrap_or(Role::Viewer))
}

/// A role stored in column `i` of another table (an actor's role at the time): the schema only
/// ever writes valid ones; anything else reads as the least role, never as more.
pub(crate) fn role_or_least(text: &str) -> Role {
    Role::parse(text).unwrap_or(Role::Viewer)
}
