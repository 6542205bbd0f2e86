//! The `versions` table: immutable, content-addressed versions of a prompt.

use promptdesk_content::VersionContent;
use rusqlite::{params, Connection, Row};

use super::optional;
use crate::error::{Error, Result};
use crate::model::{Version, VersionSummary};

/// A row as stored, before its content is parsed.
pub struct StoredVersion {
    pub prompt_id: i64,
    pub number: u32,
    pub hash: String,
    pub parent_hash: Option<String>,
    pub content: String,
    pub author: String,
    pub message: String,
    pub created_at: String,
}

const COLUMNS: &str = "prompt_id, number, hash, parent_hash, content, author, message, created_at";

fn from_row(r: &Row<'_>) -> rusqlite::Result<StoredVersion> {
    Ok(StoredVersion {
        prompt_id: r.get(0)?,
        number: r.get(1)?,
        hash: r.get(2)?,
        parent_hash: r.get(3)?,
        content: r.get(4)?,
        author: r.get(5)?,
        message: r.get(6)?,
        created_at: r.get(7)?,
    })
}

impl StoredVersion {
    pub fn parse(self, prompt_name: &str) -> Result<Version> {
        let content: VersionContent = serde_json::from_str(&self.content).map_err(|e| {
            Error::Integrity(format!(
                "{prompt_name}@{}: stored content does not parse: {e}",
                self.number
            ))
        })?;
        Ok(Version {
            prompt: prompt_name.to_string(),
            number: self.number,
            hash: self.hash,
            parent_hash: self.parent_hash,
            author: self.author,
            message: self.message,
            created_at: self.created_at,
            content,
        })
    }
}

pub fn insert(conn: &Connection, v: &StoredVersion) -> Result<()> {
    conn.execute(
        &format!("INSERT INTO versions ({COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)"),
        params![
            v.prompt_id,
            v.number,
            v.hash,
            v.parent_hash,
            v.content,
            v.author,
            v.message,
            v.created_at
        ],
    )?;
    Ok(())
}

pub fn by_number(conn: &Connection, prompt_id: i64, number: u32) -> Result<Option<StoredVersion>> {
    Ok(optional(conn.query_row(
        &format!("SELECT {COLUMNS} FROM versions WHERE prompt_id = ?1 AND number = ?2"),
        params![prompt_id, number],
        from_row,
    ))?)
}

pub fn by_hash(conn: &Connection, prompt_id: i64, hash: &str) -> Result<Option<StoredVersion>> {
    Ok(optional(conn.query_row(
        &format!("SELECT {COLUMNS} FROM versions WHERE prompt_id = ?1 AND hash = ?2"),
        params![prompt_id, hash],
        from_row,
    ))?)
}

/// Hashes of this prompt's versions starting with `prefix` (lowercase hex), at most `limit`.
pub fn hashes_with_prefix(
    conn: &Connection,
    prompt_id: i64,
    prefix: &str,
    limit: usize,
) -> Result<Vec<(u32, String)>> {
    let mut stmt = conn.prepare_cached(
        "SELECT number, hash FROM versions WHERE prompt_id = ?1 AND hash >= ?2 AND hash < ?3
         ORDER BY number LIMIT ?4",
    )?;
    let hi = format!("{prefix}g"); // 'g' sorts after every hex digit
    let rows = stmt.query_map(params![prompt_id, prefix, hi, limit as i64], |r| {
        Ok((r.get(0)?, r.get(1)?))
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

pub fn latest(conn: &Connection, prompt_id: i64) -> Result<Option<StoredVersion>> {
    Ok(optional(conn.query_row(
        &format!(
            "SELECT {COLUMNS} FROM versions WHERE prompt_id = ?1 ORDER BY number DESC LIMIT 1"
        ),
        [prompt_id],
        from_row,
    ))?)
}

pub fn latest_number(conn: &Connection, prompt_id: i64) -> Result<Option<u32>> {
    Ok(conn.query_row(
        "SELECT max(number) FROM versions WHERE prompt_id = ?1",
        [prompt_id],
        |r| r.get(0),
    )?)
}

/// One page of a prompt's history, newest first: versions numbered below `before` (all when
/// `None`), at most `limit`.
pub fn history(
    conn: &Connection,
    prompt_id: i64,
    before: Option<u32>,
    limit: usize,
) -> Result<Vec<VersionSummary>> {
    let mut stmt = conn.prepare_cached(
        "SELECT v.number, v.hash, v.parent_hash, v.author, v.message, v.created_at,
                (SELECT group_concat(l.name, ',') FROM
                   (SELECT name FROM labels WHERE prompt_id = v.prompt_id AND hash = v.hash ORDER BY name) l)
         FROM versions v
         WHERE v.prompt_id = ?1 AND v.number < ?2
         ORDER BY v.number DESC LIMIT ?3",
    )?;
    let before = before.map(i64::from).unwrap_or(i64::MAX);
    let rows = stmt.query_map(params![prompt_id, before, limit as i64], |r| {
        let labels: Option<String> = r.get(6)?;
        Ok(VersionSummary {
            number: r.get(0)?,
            hash: r.get(1)?,
            parent_hash: r.get(2)?,
            author: r.get(3)?,
            message: r.get(4)?,
            created_at: r.get(5)?,
            labels: labels
                .map(|l| l.split(',').map(str::to_string).collect())
                .unwrap_or_default(),
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// Every stored version of every prompt, in (prompt, number) order, for `verify` and export.
pub fn for_each(conn: &Connection, mut f: impl FnMut(StoredVersion) -> Result<()>) -> Result<()> {
    let mut stmt = conn.prepare(&format!(
        "SELECT {COLUMNS} FROM versions ORDER BY prompt_id, number"
    ))?;
    let mut rows = stmt.query([])?;
    while let Some(row) = rows.next()? {
        f(from_row(row)?)?;
    }
    Ok(())
}

/// [`for_each`] with each version's prompt name (`prompt #ID` for a prompt that is gone).
pub fn for_each_named(
    conn: &Connection,
    mut f: impl FnMut(String, StoredVersion) -> Result<()>,
) -> Result<()> {
    let mut stmt = conn.prepare(
        "SELECT v.prompt_id, v.number, v.hash, v.parent_hash, v.content, v.author, v.message,
                v.created_at, coalesce(p.name, 'prompt #' || v.prompt_id)
         FROM versions v LEFT JOIN prompts p ON p.id = v.prompt_id
         ORDER BY v.prompt_id, v.number",
    )?;
    let mut rows = stmt.query([])?;
    while let Some(row) = rows.next()? {
        f(row.get(8)?, from_row(row)?)?;
    }
    Ok(())
}

pub fn all_for_prompt(conn: &Connection, prompt_id: i64) -> Result<Vec<StoredVersion>> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM versions WHERE prompt_id = ?1 ORDER BY number"
    ))?;
    let rows = stmt.query_map([prompt_id], from_row)?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// Renumbers the version of `prompt_id` with `hash` (the server gave it another number).
pub fn renumber(conn: &Connection, prompt_id: i64, hash: &str, number: u32) -> Result<()> {
    conn.execute(
        "UPDATE versions SET number = ?3 WHERE prompt_id = ?1 AND hash = ?2",
        params![prompt_id, hash, number],
    )?;
    Ok(())
}

/// How many versions the registry holds.
pub fn count(conn: &Connection) -> Result<u64> {
    Ok(conn.query_row("SELECT count(*) FROM versions", [], |r| r.get::<_, i64>(0))? as u64)
}

/// The names of the other prompts (not `prompt_id`) with a version that includes `name`, at
/// any reference.
pub fn prompts_including(conn: &Connection, prompt_id: i64, name: &str) -> Result<Vec<String>> {
    let mut stmt = conn.prepare_cached(
        "SELECT DISTINCT p.name FROM versions v JOIN prompts p ON p.id = v.prompt_id,
             json_each(v.content, '$.includes') j
         WHERE v.prompt_id != ?1 AND (j.key = ?2 OR substr(j.key, 1, length(?2) + 1) = ?2 || '@')",
    )?;
    let rows = stmt.query_map(params![prompt_id, name], |r| r.get(0))?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}
