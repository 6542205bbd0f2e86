//! The `eval_cache` table: model replies by what determined them (the key covers the version
//! hash, the model settings and the rendered input; see `eval::cache_key`), so a run of
//! unchanged cases costs nothing. Only this registry's runs fill it; it never syncs.

use rusqlite::{params, Connection};

use super::optional;
use crate::error::Result;

/// One row of `eval_cache`: a reply and what it took. Counts and durations below zero read as
/// zero.
#[derive(Debug, Clone, PartialEq)]
pub struct CacheRow {
    pub key: String,
    pub output: String,
    pub tokens_in: u64,
    pub tokens_out: u64,
    pub latency_ms: u64,
    pub cost: Option<f64>,
    pub finish_reason: String,
    pub created_at: String,
}

const COLUMNS: &str = "SELECT key, output, tokens_in, tokens_out, latency_ms, cost, finish_reason,
    created_at FROM eval_cache";

fn row(r: &rusqlite::Row<'_>) -> rusqlite::Result<CacheRow> {
    let u64_at = |i: usize| -> rusqlite::Result<u64> { Ok(r.get::<_, i64>(i)?.max(0) as u64) };
    Ok(CacheRow {
        key: r.get(0)?,
        output: r.get(1)?,
        tokens_in: u64_at(2)?,
        tokens_out: u64_at(3)?,
        latency_ms: u64_at(4)?,
        cost: r.get(5)?,
        finish_reason: r.get(6)?,
        created_at: r.get(7)?,
    })
}

pub fn get(conn: &Connection, key: &str) -> Result<Option<CacheRow>> {
    Ok(optional(conn.query_row(
        &format!("{COLUMNS} WHERE key = ?1"),
        [key],
        row,
    ))?)
}

/// Stores a reply under its key, replacing any stored under it before.
pub fn put(conn: &Connection, c: &CacheRow) -> Result<()> {
    conn.prepare_cached(
        "INSERT OR REPLACE INTO eval_cache (key, output, tokens_in, tokens_out, latency_ms, cost,
             finish_reason, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    )?
    .execute(params![
        c.key,
        c.output,
        c.tokens_in as i64,
        c.tokens_out as i64,
        c.latency_ms as i64,
        c.cost,
        c.finish_reason,
        c.created_at
    ])?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::testing;

    #[test]
    fn a_reply_put_under_a_taken_key_replaces_the_one_there() {
        let (_dir, conn) = testing::registry();
        let mut c = CacheRow {
            key: "k".into(),
            output: "first".into(),
            tokens_in: 1,
            tokens_out: 2,
            latency_ms: 3,
            cost: Some(0.5),
            finish_reason: "stop".into(),
            created_at: "2026-01-01T00:00:00Z".into(),
        };
        assert_eq!(get(&conn, "k").unwrap(), None);
        put(&conn, &c).unwrap();
        c.output = "second".into();
        c.cost = None;
        put(&conn, &c).unwrap();
        assert_eq!(get(&conn, "k").unwrap(), Some(c));
    }
}
