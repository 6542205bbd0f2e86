//! The `releases` table: every label move a release or a rollback made, signed, with the
//! policy decision that allowed it. Append-only (triggers refuse updates and deletes).
//!
//! [`ReleaseRow`] is the row as stored (role and decision as text) so `verify` can compare a
//! damaged one; [`ReleaseHead`] adds the names people use (prompt, version numbers) and who
//! carried it to the server, joined in the same statement.

use rusqlite::{params, Connection, Row};

use super::optional;
use crate::error::Result;

/// One row of `releases`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReleaseRow {
    pub id: String,
    pub prompt_id: i64,
    pub label: String,
    /// `release` or `rollback`.
    pub kind: String,
    pub from_hash: Option<String>,
    pub to_hash: String,
    /// The changelog, or the rollback's reason.
    pub changelog: String,
    /// The review it released.
    pub review: Option<u32>,
    /// JSON: the policy decision that allowed it.
    pub decision: String,
    pub actor: String,
    pub actor_role: String,
    pub at: String,
    /// Shared by the releases of one bundle.
    pub bundle: Option<String>,
    pub key_id: String,
    pub signature: String,
}

/// A release with its prompt's name, the versions' numbers, and who pushed it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReleaseHead {
    pub row: ReleaseRow,
    pub prompt: String,
    pub from_version: Option<u32>,
    pub to_version: u32,
    /// Who carried it to the server, when that was not its author.
    pub pushed_by: Option<String>,
}

const COLUMNS: &str = "s.id, s.prompt_id, s.label, s.kind, s.from_hash, s.to_hash, s.changelog,
    s.review, s.decision, s.actor, s.actor_role, s.at, s.bundle, s.key_id, s.signature";

fn release_row(r: &Row<'_>) -> rusqlite::Result<ReleaseRow> {
    Ok(ReleaseRow {
        id: r.get(0)?,
        prompt_id: r.get(1)?,
        label: r.get(2)?,
        kind: r.get(3)?,
        from_hash: r.get(4)?,
        to_hash: r.get(5)?,
        changelog: r.get(6)?,
        review: r.get(7)?,
        decision: r.get(8)?,
        actor: r.get(9)?,
        actor_role: r.get(10)?,
        at: r.get(11)?,
        bundle: r.get(12)?,
        key_id: r.get(13)?,
        signature: r.get(14)?,
    })
}

fn head_sql(filter: &str, order: &str) -> String {
    format!(
        "SELECT {COLUMNS}, p.name, vf.number, vt.number, y.pushed_by
         FROM releases s JOIN prompts p ON p.id = s.prompt_id
         JOIN versions vt ON vt.prompt_id = s.prompt_id AND vt.hash = s.to_hash
         LEFT JOIN versions vf ON vf.prompt_id = s.prompt_id AND vf.hash = s.from_hash
         LEFT JOIN sync_events y ON y.event_id = s.id
         {filter} ORDER BY s.seq {order}"
    )
}

fn head_row(r: &Row<'_>) -> rusqlite::Result<ReleaseHead> {
    Ok(ReleaseHead {
        row: release_row(r)?,
        prompt: r.get(15)?,
        from_version: r.get(16)?,
        to_version: r.get(17)?,
        pushed_by: r.get(18)?,
    })
}

pub fn insert(conn: &Connection, s: &ReleaseRow) -> Result<()> {
    conn.execute(
        "INSERT INTO releases (id, prompt_id, label, kind, from_hash, to_hash, changelog, review, decision,
                               actor, actor_role, at, bundle, key_id, signature)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)",
        params![
            s.id,
            s.prompt_id,
            s.label,
            s.kind,
            s.from_hash,
            s.to_hash,
            s.changelog,
            s.review,
            s.decision,
            s.actor,
            s.actor_role,
            s.at,
            s.bundle,
            s.key_id,
            s.signature
        ],
    )?;
    Ok(())
}

/// The release with id `id`, with its names.
pub fn head(conn: &Connection, id: &str) -> Result<Option<ReleaseHead>> {
    Ok(optional(conn.query_row(
        &head_sql("WHERE s.id = ?1", ""),
        [id],
        head_row,
    ))?)
}

/// Every release with its names, oldest first.
pub fn heads(conn: &Connection) -> Result<Vec<ReleaseHead>> {
    let mut stmt = conn.prepare_cached(&head_sql("", ""))?;
    let rows = stmt.query_map([], head_row)?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// The releases of `prompt_id` (to `label`, or to any label), newest first.
pub fn history(conn: &Connection, prompt_id: i64, label: Option<&str>) -> Result<Vec<ReleaseHead>> {
    let mut stmt = conn.prepare_cached(&head_sql(
        "WHERE s.prompt_id = ?1 AND (?2 IS NULL OR s.label = ?2)",
        "DESC",
    ))?;
    let rows = stmt.query_map(params![prompt_id, label], head_row)?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// Every release row as stored, whatever it points at, oldest first (for `verify`).
pub fn all(conn: &Connection) -> Result<Vec<ReleaseRow>> {
    let mut stmt =
        conn.prepare_cached(&format!("SELECT {COLUMNS} FROM releases s ORDER BY s.seq"))?;
    let rows = stmt.query_map([], release_row)?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// Whether a release used review `#number`.
pub fn released_review(conn: &Connection, number: u32) -> Result<bool> {
    Ok(conn.query_row(
        "SELECT EXISTS (SELECT 1 FROM releases WHERE review = ?1)",
        [number],
        |r| r.get(0),
    )?)
}

/// Where the newest release (not rollback) of `to_hash` to `label` moved the label from:
/// `None` when there is no such release, `Some(None)` when the label pointed nowhere before.
pub fn released_from(
    conn: &Connection,
    prompt_id: i64,
    label: &str,
    to_hash: &str,
) -> Result<Option<Option<String>>> {
    Ok(optional(conn.query_row(
        "SELECT from_hash FROM releases WHERE prompt_id = ?1 AND label = ?2
         AND to_hash = ?3 AND kind = 'release' ORDER BY seq DESC LIMIT 1",
        params![prompt_id, label, to_hash],
        |r| r.get(0),
    ))?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::testing;

    fn release(prompt_id: i64, id: &str, from: Option<&str>, to: &str) -> ReleaseRow {
        ReleaseRow {
            id: id.into(),
            prompt_id,
            label: "production".into(),
            kind: "release".into(),
            from_hash: from.map(str::to_string),
            to_hash: to.into(),
            changelog: "ship it".into(),
            review: None,
            decision: "{}".into(),
            actor: "rita".into(),
            actor_role: "releaser".into(),
            at: "2026-01-02T00:00:00Z".into(),
            bundle: None,
            key_id: "k1".into(),
            signature: "sig".into(),
        }
    }

    fn key(conn: &Connection) {
        conn.execute(
            "INSERT INTO signing_keys (key_id, person, public_key, registered_at)
             VALUES ('k1', 'rita', ?1, '2026-01-01T00:00:00Z')",
            ["a".repeat(64)],
        )
        .unwrap();
    }

    #[test]
    fn releases_read_back_with_their_names_newest_first_in_history() {
        let (_dir, conn) = testing::registry();
        key(&conn);
        let p = testing::prompt(&conn, "a");
        let (h1, h2) = (testing::version(&conn, p, 1), testing::version(&conn, p, 2));
        insert(&conn, &release(p, "r1", None, &h1)).unwrap();
        insert(&conn, &release(p, "r2", Some(&h1), &h2)).unwrap();
        let r2 = head(&conn, "r2").unwrap().unwrap();
        assert_eq!(
            (r2.prompt.as_str(), r2.from_version, r2.to_version),
            ("a", Some(1), 2)
        );
        assert_eq!(r2.row, release(p, "r2", Some(&h1), &h2));
        let ids = |v: Vec<ReleaseHead>| v.into_iter().map(|h| h.row.id).collect::<Vec<_>>();
        assert_eq!(ids(heads(&conn).unwrap()), ["r1", "r2"]);
        assert_eq!(ids(history(&conn, p, None).unwrap()), ["r2", "r1"]);
        assert_eq!(
            ids(history(&conn, p, Some("staging")).unwrap()),
            Vec::<String>::new()
        );
        assert_eq!(all(&conn).unwrap().len(), 2);
        assert_eq!(
            released_from(&conn, p, "production", &h2).unwrap(),
            Some(Some(h1.clone()))
        );
        assert_eq!(
            released_from(&conn, p, "production", &h1).unwrap(),
            Some(None)
        );
        assert_eq!(released_from(&conn, p, "staging", &h1).unwrap(), None);
        assert!(!released_review(&conn, 1).unwrap());
        assert!(
            conn.execute("DELETE FROM releases", []).is_err(),
            "append-only"
        );
    }
}
