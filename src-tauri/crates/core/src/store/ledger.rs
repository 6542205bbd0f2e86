//! The hash-chained ledger. Each entry's hash covers its fields and the previous entry's hash,
//! so editing, inserting or removing a row is detected by [`verify_chain`] at the first link
//! that no longer matches. Cutting rows off the end cannot be seen from the chain alone: an
//! export's `ledger.jsonl` (or, later, the server's copy) is the witness for the head.

use promptdesk_content::{sha256_hex, write_canonical};
use rusqlite::{params, Connection, Row};
use serde_json::{json, Value};

use crate::error::{Error, Result};
use crate::model::LedgerEntry;

/// `prev_hash` of the first entry.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// The hash of an entry: SHA-256 of the canonical JSON of
/// `{seq, id, at, actor, kind, subject, payload, prev_hash}`.
#[allow(clippy::too_many_arguments)] // one argument per column of the row
pub fn entry_hash(
    seq: i64,
    id: &str,
    at: &str,
    actor: &str,
    kind: &str,
    subject: &str,
    payload: &Value,
    prev_hash: &str,
) -> String {
    let mut bytes = Vec::with_capacity(256);
    write_canonical(
        &json!({
            "seq": seq, "id": id, "at": at, "actor": actor, "kind": kind,
            "subject": subject, "payload": payload, "prev_hash": prev_hash,
        }),
        &mut bytes,
    );
    sha256_hex(&bytes)
}

/// Appends an event. Must run inside the write transaction that makes the change it records.
pub fn append(
    conn: &Connection,
    id: &str,
    at: &str,
    actor: &str,
    kind: &str,
    subject: &str,
    payload: Value,
) -> Result<LedgerEntry> {
    let (prev_seq, prev_hash): (i64, String) = conn
        .query_row(
            "SELECT seq, hash FROM ledger ORDER BY seq DESC LIMIT 1",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .or_else(|e| match e {
            rusqlite::Error::QueryReturnedNoRows => Ok((0, GENESIS.to_string())),
            e => Err(e),
        })?;
    let seq = prev_seq + 1;
    let hash = entry_hash(seq, id, at, actor, kind, subject, &payload, &prev_hash);
    conn.execute(
        "INSERT INTO ledger (seq, id, at, actor, kind, subject, payload, prev_hash, hash)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
        params![
            seq,
            id,
            at,
            actor,
            kind,
            subject,
            payload.to_string(),
            prev_hash,
            hash
        ],
    )?;
    Ok(LedgerEntry {
        seq,
        id: id.to_string(),
        at: at.to_string(),
        actor: actor.to_string(),
        kind: kind.to_string(),
        subject: subject.to_string(),
        payload,
        prev_hash,
        hash,
    })
}

pub(super) fn from_row(r: &Row<'_>) -> rusqlite::Result<(LedgerEntry, String)> {
    let payload: String = r.get(6)?;
    Ok((
        LedgerEntry {
            seq: r.get(0)?,
            id: r.get(1)?,
            at: r.get(2)?,
            actor: r.get(3)?,
            kind: r.get(4)?,
            subject: r.get(5)?,
            payload: serde_json::from_str(&payload).unwrap_or(Value::Null),
            prev_hash: r.get(7)?,
            hash: r.get(8)?,
        },
        payload,
    ))
}

/// The columns [`from_row`] reads, of the ledger as `l`.
pub(super) const ENTRY_COLUMNS: &str =
    "l.seq, l.id, l.at, l.actor, l.kind, l.subject, l.payload, l.prev_hash, l.hash";

/// `kinds` as an SQL list (they are this crate's constants, never input).
fn kinds_list(kinds: &[&str]) -> String {
    kinds
        .iter()
        .map(|k| format!("'{k}'"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Every entry, oldest first, one at a time (the ledger can be large).
pub fn for_each(conn: &Connection, mut f: impl FnMut(LedgerEntry) -> Result<()>) -> Result<()> {
    let mut stmt = conn.prepare(&format!(
        "SELECT {ENTRY_COLUMNS} FROM ledger l ORDER BY l.seq"
    ))?;
    let mut rows = stmt.query([])?;
    while let Some(r) = rows.next()? {
        f(from_row(r)?.0)?;
    }
    Ok(())
}

/// The entries of one of `kinds` after `after_seq`, oldest first.
pub fn of_kinds_after(
    conn: &Connection,
    after_seq: i64,
    kinds: &[&str],
) -> Result<Vec<LedgerEntry>> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {ENTRY_COLUMNS} FROM ledger l WHERE l.seq > ?1 AND l.kind IN ({}) ORDER BY l.seq",
        kinds_list(kinds)
    ))?;
    let rows = stmt.query_map([after_seq], |r| from_row(r).map(|(e, _)| e))?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// The entries of one of `kinds` before `before_seq` (about `subject` when given), newest
/// first.
pub fn of_kinds_before(
    conn: &Connection,
    before_seq: i64,
    kinds: &[&str],
    subject: Option<&str>,
) -> Result<Vec<LedgerEntry>> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {ENTRY_COLUMNS} FROM ledger l
         WHERE l.seq < ?1 AND l.kind IN ({}) AND (?2 IS NULL OR l.subject = ?2)
         ORDER BY l.seq DESC",
        kinds_list(kinds)
    ))?;
    let rows = stmt.query_map(params![before_seq, subject], |r| {
        from_row(r).map(|(e, _)| e)
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// The sequence number of the newest entry (0 while the ledger is empty).
pub fn last_seq(conn: &Connection) -> Result<i64> {
    Ok(conn.query_row("SELECT coalesce(max(seq), 0) FROM ledger", [], |r| r.get(0))?)
}

/// Entries after `after_seq`, oldest first, at most `limit`; for one subject when given.
pub fn list(
    conn: &Connection,
    subject: Option<&str>,
    after_seq: i64,
    limit: usize,
) -> Result<Vec<LedgerEntry>> {
    let mut stmt = conn.prepare_cached(
        "SELECT seq, id, at, actor, kind, subject, payload, prev_hash, hash FROM ledger
         WHERE seq > ?1 AND (?2 IS NULL OR subject = ?2) ORDER BY seq LIMIT ?3",
    )?;
    let rows = stmt.query_map(params![after_seq, subject, limit as i64], from_row)?;
    Ok(rows
        .map(|r| r.map(|(e, _)| e))
        .collect::<rusqlite::Result<_>>()?)
}

/// Walks the whole chain; returns the number of entries, or the first broken link.
pub fn verify_chain(conn: &Connection) -> Result<u64> {
    let mut stmt = conn.prepare(
        "SELECT seq, id, at, actor, kind, subject, payload, prev_hash, hash FROM ledger ORDER BY seq",
    )?;
    let mut rows = stmt.query([])?;
    let mut expected_prev = GENESIS.to_string();
    let mut expected_seq = 1;
    let mut count = 0;
    while let Some(row) = rows.next()? {
        let (e, raw_payload) = from_row(row)?;
        let payload: Value = serde_json::from_str(&raw_payload).map_err(|err| {
            Error::Integrity(format!(
                "ledger entry {}: payload is not JSON: {err}",
                e.seq
            ))
        })?;
        if e.seq != expected_seq {
            return Err(Error::Integrity(format!(
                "ledger entry {expected_seq} is missing (found {} next)",
                e.seq
            )));
        }
        if e.prev_hash != expected_prev {
            return Err(Error::Integrity(format!(
                "ledger entry {} does not link to the entry before it",
                e.seq
            )));
        }
        let hash = entry_hash(
            e.seq,
            &e.id,
            &e.at,
            &e.actor,
            &e.kind,
            &e.subject,
            &payload,
            &e.prev_hash,
        );
        if hash != e.hash {
            return Err(Error::Integrity(format!(
                "ledger entry {} ({} on {}) was altered: its hash does not match its content",
                e.seq, e.kind, e.subject
            )));
        }
        expected_prev = e.hash;
        expected_seq += 1;
        count += 1;
    }
    Ok(count)
}
