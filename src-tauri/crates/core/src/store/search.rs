//! The trigram full-text index over each prompt's current text.

use rusqlite::{params, Connection};

use crate::error::Result;

/// Replaces the indexed text of one prompt.
pub fn index(
    conn: &Connection,
    prompt_id: i64,
    name: &str,
    description: &str,
    body: &str,
) -> Result<()> {
    conn.execute("DELETE FROM prompt_search WHERE rowid = ?1", [prompt_id])?;
    conn.execute(
        "INSERT INTO prompt_search (rowid, name, description, body) VALUES (?1, ?2, ?3, ?4)",
        params![prompt_id, name, description, body],
    )?;
    Ok(())
}

/// Prompt ids whose name, description or text contains `query` (case-insensitive), best first.
pub fn query(conn: &Connection, query: &str, limit: usize) -> Result<Vec<i64>> {
    let q = query.trim();
    if q.is_empty() {
        return Ok(Vec::new());
    }
    if q.chars().count() >= 3 {
        // A quoted FTS5 string: the trigram tokenizer matches it as a substring.
        let phrase = format!("\"{}\"", q.replace('"', "\"\""));
        let mut stmt = conn.prepare_cached(
            "SELECT rowid FROM prompt_search WHERE prompt_search MATCH ?1 ORDER BY rank LIMIT ?2",
        )?;
        let rows = stmt.query_map(params![phrase, limit as i64], |r| r.get(0))?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    } else {
        // Trigrams need three characters; short queries scan names and descriptions only.
        let mut stmt = conn.prepare_cached(
            "SELECT rowid FROM prompt_search WHERE name LIKE ?1 ESCAPE '\\' OR description LIKE ?1 ESCAPE '\\' LIMIT ?2",
        )?;
        let pattern = format!("%{}%", q.replace('%', "\\%").replace('_', "\\_"));
        let rows = stmt.query_map(params![pattern, limit as i64], |r| r.get(0))?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }
}
