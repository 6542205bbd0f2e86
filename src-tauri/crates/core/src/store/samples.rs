//! The `samples` table: named input sets per prompt.

use rusqlite::{params, Connection};
use serde_json::{Map, Value};

use crate::error::{Error, Result};
use crate::model::Samples;

pub fn list(conn: &Connection, prompt_id: i64) -> Result<Samples> {
    let mut stmt =
        conn.prepare_cached("SELECT name, inputs FROM samples WHERE prompt_id = ?1 ORDER BY name")?;
    let rows = stmt.query_map([prompt_id], |r| {
        Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))
    })?;
    let mut out = Samples::new();
    for row in rows {
        let (name, inputs) = row?;
        let inputs: Map<String, Value> = serde_json::from_str(&inputs)
            .map_err(|e| Error::Integrity(format!("sample '{name}' does not parse: {e}")))?;
        out.insert(name, inputs);
    }
    Ok(out)
}

pub fn put(
    conn: &Connection,
    prompt_id: i64,
    name: &str,
    inputs: &Map<String, Value>,
    at: &str,
) -> Result<()> {
    conn.execute(
        "INSERT INTO samples (prompt_id, name, inputs, updated_at) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT (prompt_id, name) DO UPDATE SET inputs = excluded.inputs,
             updated_at = excluded.updated_at",
        params![
            prompt_id,
            name,
            Value::Object(inputs.clone()).to_string(),
            at
        ],
    )?;
    Ok(())
}

pub fn delete(conn: &Connection, prompt_id: i64, name: &str) -> Result<bool> {
    Ok(conn.execute(
        "DELETE FROM samples WHERE prompt_id = ?1 AND name = ?2",
        params![prompt_id, name],
    )? > 0)
}
