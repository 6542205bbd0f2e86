//! The `signing_keys` table (each person's public keys) and `key_revocations` (a key's
//! revocation, at most one), one aggregate: a revocation belongs to its key. Both are
//! append-only. Rows are [`KeyRecord`] and [`KeyRevocationRecord`], which are exactly the
//! columns; [`find`] and [`list`] read the view the app shows ([`SigningKey`]: who pushed the
//! registration, and the revocation if any).

use rusqlite::{params, Connection, Row};

use super::optional;
use crate::error::Result;
use crate::release::records::{KeyRecord, KeyRevocationRecord};
use crate::signing_keys::{KeyRevocation, SigningKey};

const VIEW_SQL: &str = "SELECT k.key_id, k.person, k.public_key, k.registered_at,
            (SELECT s.pushed_by FROM ledger l JOIN sync_events s ON s.ledger_id = l.id
             WHERE l.kind = 'key.registered' AND json_extract(l.payload, '$.key_id') = k.key_id),
            r.revoked_by, r.revoked_at, r.reason
     FROM signing_keys k LEFT JOIN key_revocations r ON r.key_id = k.key_id";

fn view_row(r: &Row<'_>) -> rusqlite::Result<SigningKey> {
    let by: Option<String> = r.get(5)?;
    Ok(SigningKey {
        key_id: r.get(0)?,
        person: r.get(1)?,
        public_key: r.get(2)?,
        registered_at: r.get(3)?,
        pushed_by: r.get(4)?,
        revoked: match by {
            Some(by) => Some(KeyRevocation {
                by,
                at: r.get(6)?,
                reason: r.get(7)?,
            }),
            None => None,
        },
    })
}

/// The key with id `key_id` as the app shows it.
pub fn find(conn: &Connection, key_id: &str) -> Result<Option<SigningKey>> {
    Ok(optional(conn.query_row(
        &format!("{VIEW_SQL} WHERE k.key_id = ?1"),
        [key_id],
        view_row,
    ))?)
}

/// Every key as the app shows it, newest registration first.
pub fn list(conn: &Connection) -> Result<Vec<SigningKey>> {
    let mut stmt = conn.prepare_cached(&format!(
        "{VIEW_SQL} ORDER BY k.registered_at DESC, k.key_id"
    ))?;
    let rows = stmt.query_map([], view_row)?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

const KEY_SQL: &str = "SELECT key_id, person, public_key, registered_at FROM signing_keys";

fn key_row(r: &Row<'_>) -> rusqlite::Result<KeyRecord> {
    Ok(KeyRecord {
        key_id: r.get(0)?,
        person: r.get(1)?,
        public_key: r.get(2)?,
        registered_at: r.get(3)?,
    })
}

pub fn insert(conn: &Connection, k: &KeyRecord) -> Result<()> {
    conn.execute(
        "INSERT INTO signing_keys (key_id, person, public_key, registered_at) VALUES (?1, ?2, ?3, ?4)",
        params![k.key_id, k.person, k.public_key, k.registered_at],
    )?;
    Ok(())
}

pub fn get(conn: &Connection, key_id: &str) -> Result<Option<KeyRecord>> {
    Ok(optional(conn.query_row(
        &format!("{KEY_SQL} WHERE key_id = ?1"),
        [key_id],
        key_row,
    ))?)
}

/// Every key, in the order they were registered.
pub fn all(conn: &Connection) -> Result<Vec<KeyRecord>> {
    let mut stmt = conn.prepare_cached(&format!("{KEY_SQL} ORDER BY registered_at, key_id"))?;
    let rows = stmt.query_map([], key_row)?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

const REVOCATION_SQL: &str = "SELECT key_id, revoked_by, revoked_at, reason FROM key_revocations";

fn revocation_row(r: &Row<'_>) -> rusqlite::Result<KeyRevocationRecord> {
    Ok(KeyRevocationRecord {
        key_id: r.get(0)?,
        revoked_by: r.get(1)?,
        revoked_at: r.get(2)?,
        reason: r.get(3)?,
    })
}

pub fn insert_revocation(conn: &Connection, k: &KeyRevocationRecord) -> Result<()> {
    conn.execute(
        "INSERT INTO key_revocations (key_id, revoked_by, revoked_at, reason) VALUES (?1, ?2, ?3, ?4)",
        params![k.key_id, k.revoked_by, k.revoked_at, k.reason],
    )?;
    Ok(())
}

pub fn revocation(conn: &Connection, key_id: &str) -> Result<Option<KeyRevocationRecord>> {
    Ok(optional(conn.query_row(
        &format!("{REVOCATION_SQL} WHERE key_id = ?1"),
        [key_id],
        revocation_row,
    ))?)
}

/// Every revocation, in the order they were made.
pub fn revocations(conn: &Connection) -> Result<Vec<KeyRevocationRecord>> {
    let mut stmt = conn.prepare_cached(&format!("{REVOCATION_SQL} ORDER BY revoked_at, key_id"))?;
    let rows = stmt.query_map([], revocation_row)?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::testing;

    #[test]
    fn a_key_and_its_revocation_read_back_in_both_shapes() {
        let (_dir, conn) = testing::registry();
        let k = KeyRecord {
            key_id: "k1".into(),
            person: "rita".into(),
            public_key: "a".repeat(64),
            registered_at: "2026-01-01T00:00:00Z".into(),
        };
        insert(&conn, &k).unwrap();
        assert_eq!(get(&conn, "k1").unwrap(), Some(k.clone()));
        assert_eq!(all(&conn).unwrap(), vec![k.clone()]);
        assert_eq!(find(&conn, "k1").unwrap().unwrap().revoked, None);
        let r = KeyRevocationRecord {
            key_id: "k1".into(),
            revoked_by: "root".into(),
            revoked_at: "2026-01-02T00:00:00Z".into(),
            reason: "laptop lost".into(),
        };
        insert_revocation(&conn, &r).unwrap();
        assert_eq!(revocation(&conn, "k1").unwrap(), Some(r.clone()));
        assert_eq!(revocations(&conn).unwrap(), vec![r]);
        let shown = list(&conn).unwrap();
        assert_eq!(shown.len(), 1);
        assert_eq!(
            shown[0].revoked.as_ref().map(|r| r.by.as_str()),
            Some("root")
        );
        assert!(get(&conn, "k2").unwrap().is_none());
        assert!(insert(&conn, &k).is_err(), "a key is registered once");
    }
}
