//! The `reviews` table (a request to release one version to a label) and `review_events` (the
//! comments and signed decisions on it), one aggregate: an event belongs to its review. Both
//! tables are append-only (triggers refuse updates and deletes), so there are only inserts and
//! reads here.
//!
//! Rows are returned as stored ([`ReviewRow`], [`EventRow`]: roles and anchors as text) so that
//! `verify` can compare even a damaged row; the app and export read them into typed values
//! (lenient and strict respectively) in `release/`. Queries that need the prompt's name or the
//! version's number join them here, in one statement, rather than one lookup per row.

use rusqlite::{params, Connection, Row};

use super::optional;
use crate::error::Result;

/// One row of `reviews`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReviewRow {
    /// The review's number in this registry (`#N`); 0 on insert takes the next one.
    pub number: u32,
    /// Its global id (what syncs).
    pub id: String,
    pub prompt_id: i64,
    pub version_hash: String,
    pub label: String,
    pub description: String,
    pub requested_by: String,
    pub requested_at: String,
}

/// A review with the names people use for what it reviews.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReviewHead {
    pub row: ReviewRow,
    pub prompt: String,
    /// The number of the version it reviews.
    pub version: u32,
    pub version_author: String,
}

const HEAD_SQL: &str = "SELECT r.number, r.id, r.prompt_id, r.version_hash, r.label, r.description,
            r.requested_by, r.requested_at, p.name, v.number, v.author
     FROM reviews r JOIN prompts p ON p.id = r.prompt_id
     JOIN versions v ON v.prompt_id = r.prompt_id AND v.hash = r.version_hash";

fn review_row(r: &Row<'_>) -> rusqlite::Result<ReviewRow> {
    Ok(ReviewRow {
        number: r.get(0)?,
        id: r.get(1)?,
        prompt_id: r.get(2)?,
        version_hash: r.get(3)?,
        label: r.get(4)?,
        description: r.get(5)?,
        requested_by: r.get(6)?,
        requested_at: r.get(7)?,
    })
}

fn head_row(r: &Row<'_>) -> rusqlite::Result<ReviewHead> {
    Ok(ReviewHead {
        row: review_row(r)?,
        prompt: r.get(8)?,
        version: r.get(9)?,
        version_author: r.get(10)?,
    })
}

/// Inserts a review; a `number` of 0 takes the next free number. Returns its number.
pub fn insert(conn: &Connection, r: &ReviewRow) -> Result<u32> {
    conn.execute(
        "INSERT INTO reviews (number, id, prompt_id, version_hash, label, description, requested_by, requested_at)
         VALUES (nullif(?1, 0), ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        params![
            r.number,
            r.id,
            r.prompt_id,
            r.version_hash,
            r.label,
            r.description,
            r.requested_by,
            r.requested_at
        ],
    )?;
    Ok(conn.last_insert_rowid() as u32)
}

/// The number the next review will get.
pub fn next_number(conn: &Connection) -> Result<u32> {
    Ok(conn.query_row(
        "SELECT coalesce(max(number), 0) + 1 FROM reviews",
        [],
        |r| r.get(0),
    )?)
}

/// Review `#number`, with its prompt and version.
pub fn head(conn: &Connection, number: u32) -> Result<Option<ReviewHead>> {
    Ok(optional(conn.query_row(
        &format!("{HEAD_SQL} WHERE r.number = ?1"),
        [number],
        head_row,
    ))?)
}

/// The review with global id `id`, with its prompt and version.
pub fn head_by_id(conn: &Connection, id: &str) -> Result<Option<ReviewHead>> {
    Ok(optional(conn.query_row(
        &format!("{HEAD_SQL} WHERE r.id = ?1"),
        [id],
        head_row,
    ))?)
}

/// Every review with its prompt and version, by number.
pub fn heads(conn: &Connection) -> Result<Vec<ReviewHead>> {
    let mut stmt = conn.prepare_cached(&format!("{HEAD_SQL} ORDER BY r.number"))?;
    let rows = stmt.query_map([], head_row)?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

const ROW_SQL: &str = "SELECT number, id, prompt_id, version_hash, label, description,
    requested_by, requested_at FROM reviews";

/// Review `#number` as stored, whatever it points at.
pub fn get(conn: &Connection, number: u32) -> Result<Option<ReviewRow>> {
    Ok(optional(conn.query_row(
        &format!("{ROW_SQL} WHERE number = ?1"),
        [number],
        review_row,
    ))?)
}

/// Every review row as stored, whatever it points at (for `verify`).
pub fn all(conn: &Connection) -> Result<Vec<ReviewRow>> {
    let mut stmt = conn.prepare_cached(&format!("{ROW_SQL} ORDER BY number"))?;
    let rows = stmt.query_map([], review_row)?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// Every review's number, newest first.
pub fn numbers_newest_first(conn: &Connection) -> Result<Vec<u32>> {
    let mut stmt = conn.prepare_cached("SELECT number FROM reviews ORDER BY number DESC")?;
    let rows = stmt.query_map([], |r| r.get(0))?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// The number of the review with global id `id`.
pub fn number_of(conn: &Connection, id: &str) -> Result<Option<u32>> {
    Ok(optional(conn.query_row(
        "SELECT number FROM reviews WHERE id = ?1",
        [id],
        |r| r.get(0),
    ))?)
}

/// The global id of review `#number`.
pub fn id_of(conn: &Connection, number: u32) -> Result<Option<String>> {
    Ok(optional(conn.query_row(
        "SELECT id FROM reviews WHERE number = ?1",
        [number],
        |r| r.get(0),
    ))?)
}

/// The newest review of `hash` for `label` that no release has used yet.
pub fn open_for(conn: &Connection, prompt_id: i64, label: &str, hash: &str) -> Result<Option<u32>> {
    Ok(optional(conn.query_row(
        "SELECT number FROM reviews WHERE prompt_id = ?1 AND label = ?2 AND version_hash = ?3
         AND number NOT IN (SELECT review FROM releases WHERE review IS NOT NULL)
         ORDER BY number DESC LIMIT 1",
        params![prompt_id, label, hash],
        |r| r.get(0),
    ))?)
}

// ---- review_events ---------------------------------------------------------------------------

/// One row of `review_events`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventRow {
    pub id: String,
    /// The review's number.
    pub review: u32,
    /// `comment`, `approve`, `request_changes`, `close` or `reopen`.
    pub kind: String,
    pub actor: String,
    /// The actor's role when they acted, as stored.
    pub actor_role: String,
    pub at: String,
    pub body: String,
    /// JSON `{"template": …, "line": N}`.
    pub anchor: Option<String>,
    pub reply_to: Option<String>,
    /// Set on decisions: the content they are bound to.
    pub content_hash: Option<String>,
    pub key_id: Option<String>,
    pub signature: Option<String>,
}

const EVENT_COLUMNS: &str = "e.id, e.review, e.kind, e.actor, e.actor_role, e.at, e.body,
    e.anchor, e.reply_to, e.content_hash, e.key_id, e.signature";

fn event_row(r: &Row<'_>) -> rusqlite::Result<EventRow> {
    Ok(EventRow {
        id: r.get(0)?,
        review: r.get(1)?,
        kind: r.get(2)?,
        actor: r.get(3)?,
        actor_role: r.get(4)?,
        at: r.get(5)?,
        body: r.get(6)?,
        anchor: r.get(7)?,
        reply_to: r.get(8)?,
        content_hash: r.get(9)?,
        key_id: r.get(10)?,
        signature: r.get(11)?,
    })
}

pub fn insert_event(conn: &Connection, e: &EventRow) -> Result<()> {
    conn.execute(
        "INSERT INTO review_events (id, review, kind, actor, actor_role, at, body, anchor, reply_to,
                                    content_hash, key_id, signature)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
        params![
            e.id,
            e.review,
            e.kind,
            e.actor,
            e.actor_role,
            e.at,
            e.body,
            e.anchor,
            e.reply_to,
            e.content_hash,
            e.key_id,
            e.signature
        ],
    )?;
    Ok(())
}

pub fn event(conn: &Connection, id: &str) -> Result<Option<EventRow>> {
    Ok(optional(conn.query_row(
        &format!("SELECT {EVENT_COLUMNS} FROM review_events e WHERE e.id = ?1"),
        [id],
        event_row,
    ))?)
}

/// Every review event, in the order they were recorded.
pub fn events(conn: &Connection) -> Result<Vec<EventRow>> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {EVENT_COLUMNS} FROM review_events e ORDER BY e.seq"
    ))?;
    let rows = stmt.query_map([], event_row)?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// Whether `id` is an event of review `#review` (what a reply may answer).
pub fn is_event_of(conn: &Connection, id: &str, review: u32) -> Result<bool> {
    Ok(conn.query_row(
        "SELECT EXISTS (SELECT 1 FROM review_events WHERE id = ?1 AND review = ?2)",
        params![id, review],
        |r| r.get(0),
    )?)
}

/// One event of a review's thread, with what the thread shows beside it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ThreadEvent {
    pub row: EventRow,
    /// The number of the version a decision is bound to.
    pub version: Option<u32>,
    /// Who carried it to the server, when that was not its author.
    pub pushed_by: Option<String>,
    /// Whether the key that signed it has been revoked since.
    pub key_revoked: bool,
}

/// Review `#number`'s events in order.
pub fn thread(conn: &Connection, number: u32) -> Result<Vec<ThreadEvent>> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {EVENT_COLUMNS}, v.number, s.pushed_by,
                EXISTS (SELECT 1 FROM key_revocations k WHERE k.key_id = e.key_id)
         FROM review_events e JOIN reviews r ON r.number = e.review
         LEFT JOIN versions v ON v.prompt_id = r.prompt_id AND v.hash = e.content_hash
         LEFT JOIN sync_events s ON s.event_id = e.id
         WHERE e.review = ?1 ORDER BY e.seq"
    ))?;
    let rows = stmt.query_map([number], |r| {
        Ok(ThreadEvent {
            row: event_row(r)?,
            version: r.get(12)?,
            pushed_by: r.get(13)?,
            key_revoked: r.get(14)?,
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// The kind of the newest close or reopen of review `#number`.
pub fn last_close_or_reopen(conn: &Connection, number: u32) -> Result<Option<String>> {
    Ok(optional(conn.query_row(
        "SELECT kind FROM review_events WHERE review = ?1 AND kind IN ('close', 'reopen')
         ORDER BY seq DESC LIMIT 1",
        [number],
        |r| r.get(0),
    ))?)
}

/// `actor`'s newest decision on `hash` over the reviews of review `#number`'s prompt for
/// `label`: its kind, and whether the key that signed it has been revoked since.
pub fn last_decision(
    conn: &Connection,
    number: u32,
    label: &str,
    actor: &str,
    hash: &str,
) -> Result<Option<(String, bool)>> {
    Ok(optional(conn.query_row(
        "SELECT e.kind, EXISTS (SELECT 1 FROM key_revocations k WHERE k.key_id = e.key_id)
         FROM review_events e JOIN reviews r ON r.number = e.review
         WHERE r.prompt_id = (SELECT prompt_id FROM reviews WHERE number = ?1)
           AND r.label = ?2 AND e.actor = ?3 AND e.content_hash = ?4
           AND e.kind IN ('approve', 'request_changes')
         ORDER BY e.seq DESC LIMIT 1",
        params![number, label, actor, hash],
        |r| Ok((r.get(0)?, r.get(1)?)),
    ))?)
}

/// A reviewer's standing decision on some content.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecisionRow {
    /// `approve` or `request_changes`.
    pub kind: String,
    pub actor: String,
    /// Their role when they decided, as stored.
    pub actor_role: String,
    pub content_hash: String,
    /// The number of the version with that content.
    pub version: u32,
}

/// Each reviewer's newest decision per content hash over the reviews of `prompt_id` for
/// `label`, leaving out those whose key has been revoked since (the rule is explained at
/// `release::latest_decisions`).
pub fn latest_decisions(
    conn: &Connection,
    prompt_id: i64,
    label: &str,
) -> Result<Vec<DecisionRow>> {
    let mut stmt = conn.prepare_cached(
        "SELECT e.kind, e.actor, e.actor_role, e.content_hash, v.number
         FROM review_events e JOIN reviews r ON r.number = e.review
         JOIN versions v ON v.prompt_id = r.prompt_id AND v.hash = e.content_hash
         WHERE r.prompt_id = ?1 AND r.label = ?2 AND e.kind IN ('approve', 'request_changes')
           AND NOT EXISTS (SELECT 1 FROM key_revocations k WHERE k.key_id = e.key_id)
           AND e.seq = (SELECT max(e2.seq) FROM review_events e2 JOIN reviews r2 ON r2.number = e2.review
                        WHERE r2.prompt_id = r.prompt_id AND r2.label = r.label AND e2.actor = e.actor
                          AND e2.content_hash = e.content_hash AND e2.kind IN ('approve', 'request_changes'))
         ORDER BY e.seq",
    )?;
    let rows = stmt.query_map(params![prompt_id, label], |r| {
        Ok(DecisionRow {
            kind: r.get(0)?,
            actor: r.get(1)?,
            actor_role: r.get(2)?,
            content_hash: r.get(3)?,
            version: r.get(4)?,
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::testing;

    fn review(prompt_id: i64, hash: &str, number: u32) -> ReviewRow {
        ReviewRow {
            number,
            id: format!("rev-{number}-{hash}"),
            prompt_id,
            version_hash: hash.into(),
            label: "production".into(),
            description: "please".into(),
            requested_by: "ana".into(),
            requested_at: "2026-01-02T00:00:00Z".into(),
        }
    }

    fn comment(id: &str, review: u32) -> EventRow {
        EventRow {
            id: id.into(),
            review,
            kind: "comment".into(),
            actor: "ben".into(),
            actor_role: "reviewer".into(),
            at: "2026-01-03T00:00:00Z".into(),
            body: "looks fine".into(),
            anchor: Some(r#"{"template":"template","line":1}"#.into()),
            reply_to: None,
            content_hash: None,
            key_id: None,
            signature: None,
        }
    }

    #[test]
    fn a_review_takes_the_next_number_or_the_one_it_brings() {
        let (_dir, conn) = testing::registry();
        let p = testing::prompt(&conn, "a");
        let h = testing::version(&conn, p, 1);
        assert_eq!(insert(&conn, &review(p, &h, 0)).unwrap(), 1);
        assert_eq!(insert(&conn, &review(p, &h, 7)).unwrap(), 7);
        assert_eq!(next_number(&conn).unwrap(), 8);
        let head = head(&conn, 7).unwrap().unwrap();
        assert_eq!((head.prompt.as_str(), head.version), ("a", 1));
        assert_eq!(head_by_id(&conn, &head.row.id).unwrap(), Some(head.clone()));
        assert_eq!(get(&conn, 7).unwrap(), Some(head.row.clone()));
        assert_eq!(number_of(&conn, &head.row.id).unwrap(), Some(7));
        assert_eq!(id_of(&conn, 7).unwrap(), Some(head.row.id));
        assert_eq!(numbers_newest_first(&conn).unwrap(), vec![7, 1]);
        assert_eq!(heads(&conn).unwrap().len(), 2);
        assert_eq!(all(&conn).unwrap().len(), 2);
        assert_eq!(open_for(&conn, p, "production", &h).unwrap(), Some(7));
        assert_eq!(open_for(&conn, p, "staging", &h).unwrap(), None);
    }

    #[test]
    fn events_read_back_as_written_and_in_order() {
        let (_dir, conn) = testing::registry();
        let p = testing::prompt(&conn, "a");
        let h = testing::version(&conn, p, 1);
        let n = insert(&conn, &review(p, &h, 0)).unwrap();
        let first = comment("e1", n);
        let reply = EventRow {
            id: "e2".into(),
            reply_to: Some("e1".into()),
            anchor: None,
            ..first.clone()
        };
        insert_event(&conn, &first).unwrap();
        insert_event(&conn, &reply).unwrap();
        assert_eq!(event(&conn, "e1").unwrap(), Some(first.clone()));
        assert_eq!(events(&conn).unwrap(), vec![first.clone(), reply]);
        assert!(is_event_of(&conn, "e1", n).unwrap());
        assert!(!is_event_of(&conn, "e1", n + 1).unwrap());
        let thread = thread(&conn, n).unwrap();
        assert_eq!(thread.len(), 2);
        assert_eq!(thread[0].row, first);
        assert!(!thread[0].key_revoked);
        assert_eq!(last_close_or_reopen(&conn, n).unwrap(), None);
        insert_event(
            &conn,
            &EventRow {
                id: "e3".into(),
                kind: "close".into(),
                ..comment("x", n)
            },
        )
        .unwrap();
        assert_eq!(
            last_close_or_reopen(&conn, n).unwrap().as_deref(),
            Some("close")
        );
    }

    #[test]
    fn the_database_refuses_to_rewrite_a_review_or_its_events() {
        let (_dir, conn) = testing::registry();
        let p = testing::prompt(&conn, "a");
        let h = testing::version(&conn, p, 1);
        let n = insert(&conn, &review(p, &h, 0)).unwrap();
        insert_event(&conn, &comment("e1", n)).unwrap();
        assert!(conn.execute("UPDATE reviews SET label = 'x'", []).is_err());
        assert!(conn.execute("DELETE FROM review_events", []).is_err());
        assert!(
            insert_event(&conn, &comment("e1", n)).is_err(),
            "ids are unique"
        );
    }
}
