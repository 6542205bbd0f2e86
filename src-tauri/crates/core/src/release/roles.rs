//! Who may do what: each person's role, and granting roles.

use rusqlite::{params, Connection, OptionalExtension};
use serde_json::json;

use crate::error::{Error, Result};
use crate::policy::{check_action, Action, Role};
use crate::registry::Registry;

use super::*;

impl Registry {
    // ---- roles ----------------------------------------------------------------------------

    /// The role of `person`. While no roles are configured, everyone is an admin.
    pub fn role_of(&self, person: &str) -> Result<Role> {
        role_of(self.connection(), person)
    }

    pub fn roles(&self) -> Result<Vec<RoleGrant>> {
        let mut stmt = self.connection().prepare_cached(
            "SELECT person, role, granted_by, granted_at FROM roles ORDER BY person",
        )?;
        let rows = stmt.query_map([], |r| {
            Ok(RoleGrant {
                person: r.get(0)?,
                role: role_column(r, 1)?,
                granted_by: r.get(2)?,
                granted_at: r.get(3)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
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
            tx.execute(
                "INSERT INTO roles (person, role, granted_by, granted_at) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (person) DO UPDATE SET role = excluded.role,
                     granted_by = excluded.granted_by, granted_at = excluded.granted_at",
                params![person, role.as_str(), ctx.actor, ctx.at],
            )?;
            let admins: i64 =
                tx.query_row("SELECT count(*) FROM roles WHERE role = 'admin'", [], |r| {
                    r.get(0)
                })?;
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

    // ---- policies -------------------------------------------------------------------------
}

/// A role stored in column `i` (the schema only ever writes valid ones; anything else reads as
/// the least role, never as more).
pub(crate) fn role_column(r: &rusqlite::Row<'_>, i: usize) -> rusqlite::Result<Role> {
    Ok(Role::parse(&r.get::<_, String>(i)?).unwrap_or(Role::Viewer))
}

pub(crate) fn role_of(conn: &Connection, person: &str) -> Result<Role> {
    let any: bool = conn.query_row("SELECT EXISTS (SELECT 1 FROM roles)", [], |r| r.get(0))?;
    if !any {
        return Ok(Role::Admin);
    }
    let role: Option<String> = conn
        .query_row("SELECT role FROM roles WHERE person = ?1", [person], |r| {
            r.get(0)
        })
        .optional()?;
    Ok(role.and_then(|r| Role::parse(&r)).unwrap_or(Role::Viewer))
}
