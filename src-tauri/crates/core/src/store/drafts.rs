//! The `drafts` table: one working copy per prompt, replaced on every save.

use rusqlite::{params, Connection};

use super::optional;
use crate::error::{Error, Result};
use crate::model::{Draft, DraftContent};

pub fn get(conn: &Connection, prompt_id: i64) -> Result<Option<Draft>> {
    let row = optional(conn.query_row(
        "SELECT content, base_hash, updated_at, updated_by FROM drafts WHERE prompt_id = ?1",
        [prompt_id],
        |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, Option<String>>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, String>(3)?,
            ))
        },
    ))?;
    row.map(|(content, base_hash, updated_at, updated_by)| {
        let content: DraftContent = serde_json::from_str(&content)
            .map_err(|e| Error::Integrity(format!("a stored draft does not parse: {e}")))?;
        Ok(Draft {
            content,
            base_hash,
            updated_at,
            updated_by,
        })
    })
    .transpose()
}

pub fn put(
    conn: &Connection,
    prompt_id: i64,
    content: &DraftContent,
    base_hash: Option<&str>,
    changed: bool,
    at: &str,
    by: &str,
) -> Result<()> {
    let json = serde_json::to_string(content).expect("draft serialises");
    conn.execute(
        "INSERT INTO drafts (prompt_id, content, base_hash, changed, updated_at, updated_by)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)
         ON CONFLICT (prompt_id) DO UPDATE SET content = excluded.content,
             base_hash = excluded.base_hash, changed = excluded.changed,
             updated_at = excluded.updated_at, updated_by = excluded.updated_by",
        params![prompt_id, json, base_hash, changed, at, by],
    )?;
    Ok(())
}

pub fn is_changed(conn: &Connection, prompt_id: i64) -> Result<bool> {
    Ok(optional(conn.query_row(
        "SELECT changed FROM drafts WHERE prompt_id = ?1",
        [prompt_id],
        |r| r.get::<_, bool>(0),
    ))?
    .unwrap_or(false))
}

/// The drafts of other prompts (not `prompt_id`) whose text mentions `text`: each prompt's name
/// and the draft's content JSON.
pub fn mentioning(conn: &Connection, prompt_id: i64, text: &str) -> Result<Vec<(String, String)>> {
    let mut stmt = conn.prepare_cached(
        "SELECT p.name, d.content FROM drafts d JOIN prompts p ON p.id = d.prompt_id
         WHERE d.prompt_id != ?1 AND instr(d.content, ?2) > 0",
    )?;
    let rows = stmt.query_map(params![prompt_id, text], |r| Ok((r.get(0)?, r.get(1)?)))?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}
