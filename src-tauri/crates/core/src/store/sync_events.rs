//! The `sync_events` table: every event this registry exchanged with the team server (pushed,
//! pulled, refused by the server, or set aside here because it could not be applied), keyed by
//! the event's id, with the ledger entry it is or became and the server's sequence number once
//! known. It is what makes pushing and pulling idempotent, and what the outbox consults to find
//! ledger entries not exchanged yet (see [`pending_after`]).

use std::collections::HashMap;

use rusqlite::{params, Connection};

use super::optional;
use crate::error::Result;
use crate::model::LedgerEntry;
use crate::sync::inbox::{RefusedChange, SetAsideEvent};

/// One exchange to record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Exchange<'a> {
    pub event_id: &'a str,
    /// The local ledger entry it is, or became.
    pub ledger_id: Option<&'a str>,
    pub kind: &'a str,
    pub subject: &'a str,
    /// The server's sequence number, once known.
    pub seq: Option<i64>,
    pub hash: &'a str,
    /// `pushed`, `pulled`, `refused` or `set_aside`.
    pub status: &'a str,
    /// Why the server refused it.
    pub message: &'a str,
    /// When this registry exchanged it.
    pub at: &'a str,
}

/// Records an exchange; one already recorded for that event takes the new status, message and
/// time, and keeps a sequence number and ledger entry it already had when the new ones are
/// unknown.
pub fn record(conn: &Connection, x: &Exchange<'_>) -> Result<()> {
    conn.execute(
        "INSERT INTO sync_events (event_id, ledger_id, kind, subject, seq, hash, status, message, at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)
         ON CONFLICT (event_id) DO UPDATE SET seq = coalesce(excluded.seq, seq),
             status = excluded.status, message = excluded.message, at = excluded.at,
             ledger_id = coalesce(ledger_id, excluded.ledger_id)",
        params![
            x.event_id,
            x.ledger_id,
            x.kind,
            x.subject,
            x.seq,
            x.hash,
            x.status,
            x.message,
            x.at
        ],
    )?;
    Ok(())
}

/// Keeps a pulled event that cannot be applied here (`event` is its JSON; `x.status` is
/// `set_aside` and the message says why), replacing what was recorded of it before.
pub fn set_aside(conn: &Connection, x: &Exchange<'_>, event: &str) -> Result<()> {
    conn.execute(
        "INSERT INTO sync_events (event_id, ledger_id, kind, subject, seq, hash, status, message,
                                  at, event)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)
         ON CONFLICT (event_id) DO UPDATE SET seq = coalesce(excluded.seq, seq),
             status = excluded.status, message = excluded.message, at = excluded.at,
             event = excluded.event",
        params![
            x.event_id,
            x.ledger_id,
            x.kind,
            x.subject,
            x.seq,
            x.hash,
            x.status,
            x.message,
            x.at,
            event
        ],
    )?;
    Ok(())
}

/// The status of the exchange of `event_id`, if there was one.
pub fn status(conn: &Connection, event_id: &str) -> Result<Option<String>> {
    Ok(optional(conn.query_row(
        "SELECT status FROM sync_events WHERE event_id = ?1",
        [event_id],
        |r| r.get(0),
    ))?)
}

/// Notes where the server put an event exchanged before; a refused one was accepted after all.
pub fn renumber(conn: &Connection, event_id: &str, seq: i64) -> Result<()> {
    conn.execute(
        "UPDATE sync_events SET seq = ?2, status = CASE status WHEN 'refused' THEN 'pushed' ELSE status END
         WHERE event_id = ?1",
        params![event_id, seq],
    )?;
    Ok(())
}

/// Notes who carried a pulled event to the server, when that was not its author.
pub fn set_pushed_by(conn: &Connection, event_id: &str, pushed_by: &str) -> Result<()> {
    conn.execute(
        "UPDATE sync_events SET pushed_by = ?2 WHERE event_id = ?1",
        params![event_id, pushed_by],
    )?;
    Ok(())
}

/// Adds `text` to the refusal message of the creation of suite `suite_id`.
pub fn add_to_suite_refusal(conn: &Connection, suite_id: &str, text: &str) -> Result<()> {
    conn.execute(
        "UPDATE sync_events SET message = message || ?2
         WHERE status = 'refused' AND ledger_id IN (
             SELECT id FROM ledger WHERE kind = 'suite.created'
             AND json_extract(payload, '$.id') = ?1)",
        params![suite_id, text],
    )?;
    Ok(())
}

/// Changes the server refused, oldest first.
pub fn refused(conn: &Connection) -> Result<Vec<RefusedChange>> {
    let mut stmt = conn.prepare_cached(
        "SELECT event_id, kind, subject, message, at FROM sync_events
         WHERE status = 'refused' ORDER BY at, event_id",
    )?;
    let rows = stmt.query_map([], |r| {
        Ok(RefusedChange {
            event_id: r.get(0)?,
            kind: r.get(1)?,
            subject: r.get(2)?,
            message: r.get(3)?,
            at: r.get(4)?,
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// Pulled events set aside here, in the server's order.
pub fn set_aside_events(conn: &Connection) -> Result<Vec<SetAsideEvent>> {
    let mut stmt = conn.prepare_cached(
        "SELECT event_id, seq, kind, subject, coalesce(json_extract(event, '$.author'), ''),
                message, at
         FROM sync_events WHERE status = 'set_aside' ORDER BY seq",
    )?;
    let rows = stmt.query_map([], |r| {
        Ok(SetAsideEvent {
            event_id: r.get(0)?,
            seq: r.get(1)?,
            kind: r.get(2)?,
            subject: r.get(3)?,
            author: r.get(4)?,
            message: r.get(5)?,
            at: r.get(6)?,
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// The ids of the events exchanged up to the server's sequence number `upto`, in its order.
pub fn ids_upto(conn: &Connection, upto: i64) -> Result<Vec<String>> {
    let mut stmt = conn.prepare_cached(
        "SELECT event_id FROM sync_events WHERE seq IS NOT NULL AND seq <= ?1 ORDER BY seq",
    )?;
    let rows = stmt.query_map([upto], |r| r.get(0))?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// Exchanges whose ledger entry is no longer in the ledger: (event id, ledger id, server seq).
pub fn without_ledger_entry(conn: &Connection) -> Result<Vec<(String, String, Option<i64>)>> {
    let mut stmt = conn.prepare_cached(
        "SELECT s.event_id, s.ledger_id, s.seq FROM sync_events s
         WHERE s.ledger_id IS NOT NULL
           AND NOT EXISTS (SELECT 1 FROM ledger l WHERE l.id = s.ledger_id)
         ORDER BY s.seq",
    )?;
    let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// The server's sequence number (if known) of every exchange, by its ledger entry.
pub fn by_ledger_entry(conn: &Connection) -> Result<HashMap<String, Option<i64>>> {
    let mut stmt =
        conn.prepare_cached("SELECT ledger_id, seq FROM sync_events WHERE ledger_id IS NOT NULL")?;
    let rows = stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get(1)?)))?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// Whether the prompt `name` reached the server under that name (its creation or a version
/// was exchanged and not refused).
pub fn prompt_on_server(conn: &Connection, name: &str) -> Result<bool> {
    Ok(conn.query_row(
        "SELECT EXISTS (SELECT 1 FROM sync_events WHERE subject = ?1 AND status != 'refused'
                        AND kind IN ('prompt.create', 'version.create'))",
        [name],
        |r| r.get(0),
    )?)
}

// ---- ledger entries not exchanged yet --------------------------------------------------------
// `kinds` is an SQL list of quoted ledger kinds that sync (the outbox's, which it builds once).

/// The first ledger entry after `after` of one of `kinds` that was not exchanged yet.
pub fn first_pending_after(conn: &Connection, after: i64, kinds: &str) -> Result<Option<i64>> {
    // ORDER BY … LIMIT 1 stops at the first match (min() would read every row after the mark).
    Ok(optional(conn.query_row(
        &format!(
            "SELECT l.seq FROM ledger l WHERE l.seq > ?1 AND l.kind IN ({kinds})
             AND NOT EXISTS (SELECT 1 FROM sync_events s WHERE s.ledger_id = l.id)
             ORDER BY l.seq LIMIT 1"
        ),
        [after],
        |r| r.get(0),
    ))?)
}

/// How many ledger entries after `after` of one of `kinds` were not exchanged yet.
pub fn count_pending_after(conn: &Connection, after: i64, kinds: &str) -> Result<u64> {
    let n: i64 = conn.query_row(
        &format!(
            "SELECT count(*) FROM ledger l WHERE l.seq > ?1 AND l.kind IN ({kinds})
             AND NOT EXISTS (SELECT 1 FROM sync_events s WHERE s.ledger_id = l.id)"
        ),
        [after],
        |r| r.get(0),
    )?;
    Ok(n as u64)
}

/// The sequence numbers of up to `limit` such entries, oldest first.
pub fn pending_after(conn: &Connection, after: i64, kinds: &str, limit: usize) -> Result<Vec<i64>> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT l.seq FROM ledger l WHERE l.seq > ?1 AND l.kind IN ({kinds})
         AND NOT EXISTS (SELECT 1 FROM sync_events s WHERE s.ledger_id = l.id)
         ORDER BY l.seq LIMIT ?2"
    ))?;
    let rows = stmt.query_map([after, limit as i64], |r| r.get(0))?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// Such entries of one of `kinds` after `after`, whole.
pub fn pending_entries_after(
    conn: &Connection,
    after: i64,
    kinds: &str,
) -> Result<Vec<LedgerEntry>> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {} FROM ledger l WHERE l.seq > ?1 AND l.kind IN ({kinds})
         AND NOT EXISTS (SELECT 1 FROM sync_events s WHERE s.ledger_id = l.id)
         ORDER BY l.seq",
        super::ledger::ENTRY_COLUMNS
    ))?;
    let rows = stmt.query_map([after], |r| super::ledger::from_row(r).map(|(e, _)| e))?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::testing;

    fn exchange<'a>(id: &'a str, status: &'a str, seq: Option<i64>) -> Exchange<'a> {
        Exchange {
            event_id: id,
            ledger_id: None,
            kind: "prompt.create",
            subject: "a",
            seq,
            hash: "h",
            status,
            message: "",
            at: "2026-01-01T00:00:00Z",
        }
    }

    #[test]
    fn an_exchange_keeps_what_it_knew_and_takes_the_new_status() {
        let (_dir, conn) = testing::registry();
        record(&conn, &exchange("e1", "refused", Some(4))).unwrap();
        assert_eq!(refused(&conn).unwrap().len(), 1);
        record(&conn, &exchange("e1", "pushed", None)).unwrap();
        assert_eq!(status(&conn, "e1").unwrap().as_deref(), Some("pushed"));
        assert_eq!(ids_upto(&conn, 4).unwrap(), ["e1"], "the seq it had stays");
        assert!(prompt_on_server(&conn, "a").unwrap());
        assert!(!prompt_on_server(&conn, "b").unwrap());
        record(&conn, &exchange("e2", "refused", None)).unwrap();
        renumber(&conn, "e2", 9).unwrap();
        assert_eq!(status(&conn, "e2").unwrap().as_deref(), Some("pushed"));
        assert_eq!(ids_upto(&conn, 9).unwrap(), ["e1", "e2"]);
        set_aside(
            &conn,
            &exchange("e3", "set_aside", Some(10)),
            "{\"author\":\"ben\"}",
        )
        .unwrap();
        let aside = set_aside_events(&conn).unwrap();
        assert_eq!((aside.len(), aside[0].author.as_str()), (1, "ben"));
        assert_eq!(status(&conn, "nope").unwrap(), None);
    }
}
