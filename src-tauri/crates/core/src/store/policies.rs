//! The `policies` table: each label's configured release policy (canonical JSON text), who set
//! it and when. Parsing the text into a [`crate::policy::Policy`] is the caller's: the app and
//! export refuse text that does not parse, `verify` reports it.

use rusqlite::{params, Connection};

use super::optional;
use crate::error::Result;

/// One row of `policies`, the policy as its stored JSON text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyRow {
    pub label: String,
    pub policy: String,
    pub updated_by: String,
    pub updated_at: String,
}

const COLUMNS: &str = "SELECT label, policy, updated_by, updated_at FROM policies";

fn row(r: &rusqlite::Row<'_>) -> rusqlite::Result<PolicyRow> {
    Ok(PolicyRow {
        label: r.get(0)?,
        policy: r.get(1)?,
        updated_by: r.get(2)?,
        updated_at: r.get(3)?,
    })
}

pub fn get(conn: &Connection, label: &str) -> Result<Option<PolicyRow>> {
    Ok(optional(conn.query_row(
        &format!("{COLUMNS} WHERE label = ?1"),
        [label],
        row,
    ))?)
}

/// Every configured policy, by label.
pub fn list(conn: &Connection) -> Result<Vec<PolicyRow>> {
    let mut stmt = conn.prepare_cached(&format!("{COLUMNS} ORDER BY label"))?;
    let rows = stmt.query_map([], row)?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// Sets the policy of `label` (JSON text), replacing the one it had.
pub fn set(conn: &Connection, label: &str, policy: &str, by: &str, at: &str) -> Result<()> {
    conn.execute(
        "INSERT INTO policies (label, policy, updated_by, updated_at) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT (label) DO UPDATE SET policy = excluded.policy,
             updated_by = excluded.updated_by, updated_at = excluded.updated_at",
        params![label, policy, by, at],
    )?;
    Ok(())
}

/// Stores a policy set elsewhere, exactly as it was set (the label has none here yet).
pub fn insert(conn: &Connection, p: &PolicyRow) -> Result<()> {
    conn.execute(
        "INSERT INTO policies (label, policy, updated_by, updated_at) VALUES (?1, ?2, ?3, ?4)",
        params![p.label, p.policy, p.updated_by, p.updated_at],
    )?;
    Ok(())
}
