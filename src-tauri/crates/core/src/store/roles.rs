//! The `roles` table: each person's role, who granted it and when. A role is stored as its
//! name; reading it back into a [`Role`] is the caller's choice of strictness (the app reads an
//! unknown name as the least role, export and verify refuse it).

use rusqlite::{params, Connection};

use super::optional;
use crate::error::Result;

/// One row of `roles`, the role as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoleRow {
    pub person: String,
    pub role: String,
    pub granted_by: String,
    pub granted_at: String,
}

const COLUMNS: &str = "SELECT person, role, granted_by, granted_at FROM roles";

fn row(r: &rusqlite::Row<'_>) -> rusqlite::Result<RoleRow> {
    Ok(RoleRow {
        person: r.get(0)?,
        role: r.get(1)?,
        granted_by: r.get(2)?,
        granted_at: r.get(3)?,
    })
}

/// Whether any role is configured (while none is, everyone is an admin).
pub fn any(conn: &Connection) -> Result<bool> {
    Ok(conn.query_row("SELECT EXISTS (SELECT 1 FROM roles)", [], |r| r.get(0))?)
}

pub fn get(conn: &Connection, person: &str) -> Result<Option<RoleRow>> {
    Ok(optional(conn.query_row(
        &format!("{COLUMNS} WHERE person = ?1"),
        [person],
        row,
    ))?)
}

/// Every role, by person.
pub fn list(conn: &Connection) -> Result<Vec<RoleRow>> {
    let mut stmt = conn.prepare_cached(&format!("{COLUMNS} ORDER BY person"))?;
    let rows = stmt.query_map([], row)?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// Gives `person` the role `role`, replacing the one they had.
pub fn set(conn: &Connection, person: &str, role: &str, by: &str, at: &str) -> Result<()> {
    conn.execute(
        "INSERT INTO roles (person, role, granted_by, granted_at) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT (person) DO UPDATE SET role = excluded.role,
             granted_by = excluded.granted_by, granted_at = excluded.granted_at",
        params![person, role, by, at],
    )?;
    Ok(())
}

/// Stores a role granted elsewhere, exactly as it was granted (the person has none here yet).
pub fn insert(conn: &Connection, r: &RoleRow) -> Result<()> {
    conn.execute(
        "INSERT INTO roles (person, role, granted_by, granted_at) VALUES (?1, ?2, ?3, ?4)",
        params![r.person, r.role, r.granted_by, r.granted_at],
    )?;
    Ok(())
}

/// How many people are admins.
pub fn admins(conn: &Connection) -> Result<i64> {
    Ok(
        conn.query_row("SELECT count(*) FROM roles WHERE role = 'admin'", [], |r| {
            r.get(0)
        })?,
    )
}
