//! The `labels` table (where each label points now) and its append-only `label_history`.

use rusqlite::{params, Connection};

use super::optional;
use crate::error::Result;
use crate::model::{Label, LabelMove};

pub fn get(conn: &Connection, prompt_id: i64, name: &str) -> Result<Option<Label>> {
    Ok(optional(conn.query_row(
        "SELECT l.name, v.number, l.hash, l.moved_at, l.moved_by
         FROM labels l JOIN versions v ON v.prompt_id = l.prompt_id AND v.hash = l.hash
         WHERE l.prompt_id = ?1 AND l.name = ?2",
        params![prompt_id, name],
        |r| {
            Ok(Label {
                name: r.get(0)?,
                number: r.get(1)?,
                hash: r.get(2)?,
                moved_at: r.get(3)?,
                moved_by: r.get(4)?,
            })
        },
    ))?)
}

pub fn list(conn: &Connection, prompt_id: i64) -> Result<Vec<Label>> {
    let mut stmt = conn.prepare_cached(
        "SELECT l.name, v.number, l.hash, l.moved_at, l.moved_by
         FROM labels l JOIN versions v ON v.prompt_id = l.prompt_id AND v.hash = l.hash
         WHERE l.prompt_id = ?1 ORDER BY l.name",
    )?;
    let rows = stmt.query_map([prompt_id], |r| {
        Ok(Label {
            name: r.get(0)?,
            number: r.get(1)?,
            hash: r.get(2)?,
            moved_at: r.get(3)?,
            moved_by: r.get(4)?,
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// Points `label` at `to_hash` and appends the move to the history, in the caller's transaction.
#[allow(clippy::too_many_arguments)] // one argument per column of the row
pub fn set(
    conn: &Connection,
    prompt_id: i64,
    label: &str,
    from_hash: Option<&str>,
    to_hash: &str,
    actor: &str,
    at: &str,
    reason: &str,
) -> Result<()> {
    conn.execute(
        "INSERT INTO label_history (prompt_id, label, from_hash, to_hash, actor, at, reason)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        params![prompt_id, label, from_hash, to_hash, actor, at, reason],
    )?;
    conn.execute(
        "INSERT INTO labels (prompt_id, name, hash, moved_at, moved_by) VALUES (?1, ?2, ?3, ?4, ?5)
         ON CONFLICT (prompt_id, name) DO UPDATE SET hash = excluded.hash,
             moved_at = excluded.moved_at, moved_by = excluded.moved_by",
        params![prompt_id, label, to_hash, at, actor],
    )?;
    Ok(())
}

/// Every move of this prompt's labels (one label when given), oldest first.
pub fn history(conn: &Connection, prompt_id: i64, label: Option<&str>) -> Result<Vec<LabelMove>> {
    let mut stmt = conn.prepare_cached(
        "SELECT h.label, fv.number, h.from_hash, tv.number, h.to_hash, h.actor, h.at, h.reason
         FROM label_history h
         JOIN versions tv ON tv.prompt_id = h.prompt_id AND tv.hash = h.to_hash
         LEFT JOIN versions fv ON fv.prompt_id = h.prompt_id AND fv.hash = h.from_hash
         WHERE h.prompt_id = ?1 AND (?2 IS NULL OR h.label = ?2)
         ORDER BY h.id",
    )?;
    let rows = stmt.query_map(params![prompt_id, label], |r| {
        Ok(LabelMove {
            label: r.get(0)?,
            from_number: r.get(1)?,
            from_hash: r.get(2)?,
            to_number: r.get(3)?,
            to_hash: r.get(4)?,
            actor: r.get(5)?,
            at: r.get(6)?,
            reason: r.get(7)?,
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// Whether `label` of `prompt_id` has ever pointed at `hash`.
pub fn has_served(conn: &Connection, prompt_id: i64, label: &str, hash: &str) -> Result<bool> {
    Ok(conn.query_row(
        "SELECT EXISTS (SELECT 1 FROM label_history WHERE prompt_id = ?1 AND label = ?2
                        AND to_hash = ?3)",
        params![prompt_id, label, hash],
        |r| r.get(0),
    )?)
}

/// Where the newest move of `label` to `to_hash` that came from somewhere came from.
pub fn moved_to_from(
    conn: &Connection,
    prompt_id: i64,
    label: &str,
    to_hash: &str,
) -> Result<Option<String>> {
    Ok(optional(conn.query_row(
        "SELECT from_hash FROM label_history WHERE prompt_id = ?1 AND label = ?2
         AND to_hash = ?3 AND from_hash IS NOT NULL ORDER BY id DESC LIMIT 1",
        params![prompt_id, label, to_hash],
        |r| r.get(0),
    ))?)
}

/// Takes `label` off `prompt_id` (it points nowhere again); its history stays.
pub fn remove(conn: &Connection, prompt_id: i64, label: &str) -> Result<()> {
    conn.execute(
        "DELETE FROM labels WHERE prompt_id = ?1 AND name = ?2",
        params![prompt_id, label],
    )?;
    Ok(())
}

/// A label as stored, named by its prompt (`prompt #ID` for a prompt that is gone).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LabelRow {
    pub prompt: String,
    pub name: String,
    pub hash: String,
    pub moved_at: String,
    pub moved_by: String,
}

/// Every label as stored, by prompt and name (for `verify`).
pub fn rows(conn: &Connection) -> Result<Vec<LabelRow>> {
    let mut stmt = conn.prepare_cached(
        "SELECT coalesce(p.name, 'prompt #' || l.prompt_id), l.name, l.hash, l.moved_at, l.moved_by
         FROM labels l LEFT JOIN prompts p ON p.id = l.prompt_id ORDER BY 1, 2",
    )?;
    let rows = stmt.query_map([], |r| {
        Ok(LabelRow {
            prompt: r.get(0)?,
            name: r.get(1)?,
            hash: r.get(2)?,
            moved_at: r.get(3)?,
            moved_by: r.get(4)?,
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// A move in `label_history` as stored, named by its prompt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MoveRow {
    pub id: i64,
    pub prompt: String,
    pub label: String,
    pub from_hash: Option<String>,
    pub to_hash: String,
    pub actor: String,
    pub at: String,
    pub reason: String,
}

/// Every move of a label other than `latest`, oldest first (for `verify`).
pub fn history_rows(conn: &Connection) -> Result<Vec<MoveRow>> {
    let mut stmt = conn.prepare_cached(
        "SELECT h.id, coalesce(p.name, 'prompt #' || h.prompt_id), h.label, h.from_hash,
                h.to_hash, h.actor, h.at, h.reason
         FROM label_history h LEFT JOIN prompts p ON p.id = h.prompt_id
         WHERE h.label != 'latest' ORDER BY h.id",
    )?;
    let rows = stmt.query_map([], |r| {
        Ok(MoveRow {
            id: r.get(0)?,
            prompt: r.get(1)?,
            label: r.get(2)?,
            from_hash: r.get(3)?,
            to_hash: r.get(4)?,
            actor: r.get(5)?,
            at: r.get(6)?,
            reason: r.get(7)?,
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}
