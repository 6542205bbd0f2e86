//! The `prompts` table.

use promptdesk_content::PromptKind;
use rusqlite::{params, Connection, Row};

use super::optional;
use crate::error::{Error, Result};
use crate::model::{Prompt, PromptListing};

const COLUMNS: &str = "id, name, kind, description, tags, created_at, created_by";

fn from_row(r: &Row<'_>) -> rusqlite::Result<Prompt> {
    let kind: String = r.get(2)?;
    let tags: String = r.get(4)?;
    Ok(Prompt {
        id: r.get(0)?,
        name: r.get(1)?,
        kind: PromptKind::parse(&kind).unwrap_or(PromptKind::Text),
        description: r.get(3)?,
        tags: serde_json::from_str(&tags).unwrap_or_default(),
        created_at: r.get(5)?,
        created_by: r.get(6)?,
    })
}

pub fn insert(
    conn: &Connection,
    name: &str,
    kind: PromptKind,
    description: &str,
    tags: &[String],
    at: &str,
    by: &str,
) -> Result<Prompt> {
    if find(conn, name)?.is_some() {
        return Err(Error::Conflict(format!(
            "a prompt named '{name}' already exists"
        )));
    }
    let tags_json = serde_json::to_string(tags).expect("tags serialise");
    conn.execute(
        "INSERT INTO prompts (name, kind, description, tags, created_at, created_by)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![name, kind.as_str(), description, tags_json, at, by],
    )?;
    get(conn, name)
}

pub fn rename(conn: &Connection, id: i64, new_name: &str) -> Result<()> {
    if find(conn, new_name)?.is_some() {
        return Err(Error::Conflict(format!(
            "a prompt named '{new_name}' already exists"
        )));
    }
    conn.execute(
        "UPDATE prompts SET name = ?2 WHERE id = ?1",
        params![id, new_name],
    )?;
    Ok(())
}

pub fn find(conn: &Connection, name: &str) -> Result<Option<Prompt>> {
    Ok(optional(conn.query_row(
        &format!("SELECT {COLUMNS} FROM prompts WHERE name = ?1"),
        [name],
        from_row,
    ))?)
}

pub fn get(conn: &Connection, name: &str) -> Result<Prompt> {
    find(conn, name)?.ok_or_else(|| {
        Error::NotFound(format!(
            "no prompt named '{name}' (see `promptdesk list` for the prompts in this registry)"
        ))
    })
}

pub fn get_by_id(conn: &Connection, id: i64) -> Result<Prompt> {
    Ok(conn.query_row(
        &format!("SELECT {COLUMNS} FROM prompts WHERE id = ?1"),
        [id],
        from_row,
    )?)
}

/// The name of prompt `id`, if there is one.
pub fn name_of(conn: &Connection, id: i64) -> Result<Option<String>> {
    Ok(optional(conn.query_row(
        "SELECT name FROM prompts WHERE id = ?1",
        [id],
        |r| r.get(0),
    ))?)
}

/// Prompts whose name is in `folder` (at any depth), or all prompts; ordered by name.
pub fn list(conn: &Connection, folder: Option<&str>) -> Result<Vec<Prompt>> {
    let mut out = Vec::new();
    match folder
        .map(|f| f.trim_end_matches('/'))
        .filter(|f| !f.is_empty())
    {
        Some(folder) => {
            // A range scan on the unique index: names in "folder/" sort between "folder/" and
            // "folder0" ('0' is the byte after '/').
            let mut stmt = conn.prepare_cached(&format!(
                "SELECT {COLUMNS} FROM prompts WHERE name >= ?1 AND name < ?2 ORDER BY name"
            ))?;
            let lo = format!("{folder}/");
            let hi = format!("{folder}0");
            for p in stmt.query_map(params![lo, hi], from_row)? {
                out.push(p?);
            }
        }
        None => {
            let mut stmt =
                conn.prepare_cached(&format!("SELECT {COLUMNS} FROM prompts ORDER BY name"))?;
            for p in stmt.query_map([], from_row)? {
                out.push(p?);
            }
        }
    }
    Ok(out)
}

pub fn update_meta(conn: &Connection, id: i64, description: &str, tags: &[String]) -> Result<()> {
    conn.execute(
        "UPDATE prompts SET description = ?2, tags = ?3 WHERE id = ?1",
        params![
            id,
            description,
            serde_json::to_string(tags).expect("tags serialise")
        ],
    )?;
    Ok(())
}

pub fn count(conn: &Connection) -> Result<i64> {
    Ok(conn.query_row("SELECT count(*) FROM prompts", [], |r| r.get(0))?)
}

/// Listing rows in one query each: the prompt, whether its draft has changes, and where each
/// label points (as `name=number` pairs), so a folder of hundreds lists in one round trip.
const LISTING: &str = "SELECT p.id, p.name, p.kind, p.description, p.tags, coalesce(d.changed, 0),
        (SELECT group_concat(l.name || '=' || v.number, ',')
           FROM labels l JOIN versions v ON v.prompt_id = l.prompt_id AND v.hash = l.hash
          WHERE l.prompt_id = p.id)
   FROM prompts p LEFT JOIN drafts d ON d.prompt_id = p.id";

fn listing_from_row(r: &Row<'_>) -> rusqlite::Result<(i64, PromptListing)> {
    let kind: String = r.get(2)?;
    let tags: String = r.get(4)?;
    let labels: Option<String> = r.get(6)?;
    let labels: std::collections::BTreeMap<String, u32> = labels
        .unwrap_or_default()
        .split(',')
        .filter_map(|pair| {
            let (name, number) = pair.split_once('=')?;
            Some((name.to_string(), number.parse().ok()?))
        })
        .collect();
    Ok((
        r.get(0)?,
        PromptListing {
            name: r.get(1)?,
            kind: PromptKind::parse(&kind).unwrap_or(PromptKind::Text),
            description: r.get(3)?,
            tags: serde_json::from_str(&tags).unwrap_or_default(),
            latest: labels.get("latest").copied(),
            labels,
            has_changes: r.get(5)?,
        },
    ))
}

/// Listings of the prompts in `folder` (at any depth; all when `None`), ordered by name.
pub fn listings(conn: &Connection, folder: Option<&str>) -> Result<Vec<PromptListing>> {
    let folder = folder
        .map(|f| f.trim_end_matches('/'))
        .filter(|f| !f.is_empty());
    // A range scan on the unique index: names in "folder/" sort between "folder/" and
    // "folder0" ('0' is the byte after '/').
    let (lo, hi) = match folder {
        Some(f) => (format!("{f}/"), format!("{f}0")),
        None => (String::new(), "\u{10ffff}".to_string()),
    };
    let mut stmt = conn.prepare_cached(&format!(
        "{LISTING} WHERE p.name >= ?1 AND p.name < ?2 ORDER BY p.name"
    ))?;
    let rows = stmt.query_map(params![lo, hi], listing_from_row)?;
    Ok(rows
        .map(|r| r.map(|(_, l)| l))
        .collect::<rusqlite::Result<_>>()?)
}

/// Listings of the prompts with these ids, with their ids, in no particular order.
pub fn listings_by_id(conn: &Connection, ids: &[i64]) -> Result<Vec<(i64, PromptListing)>> {
    let mut stmt = conn.prepare_cached(&format!(
        "{LISTING} WHERE p.id IN (SELECT value FROM json_each(?1))"
    ))?;
    let ids = serde_json::to_string(ids).expect("ids serialise");
    let rows = stmt.query_map([ids], listing_from_row)?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// One row of `prompts` as stored (kind and tags as text), for `verify`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PromptRow {
    pub name: String,
    pub kind: String,
    pub description: String,
    /// JSON array.
    pub tags: String,
    pub created_by: String,
    pub created_at: String,
}

/// Every prompt as stored, by name.
pub fn rows(conn: &Connection) -> Result<Vec<PromptRow>> {
    let mut stmt = conn.prepare_cached(
        "SELECT name, kind, description, tags, created_by, created_at FROM prompts ORDER BY name",
    )?;
    let rows = stmt.query_map([], |r| {
        Ok(PromptRow {
            name: r.get(0)?,
            kind: r.get(1)?,
            description: r.get(2)?,
            tags: r.get(3)?,
            created_by: r.get(4)?,
            created_at: r.get(5)?,
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}
