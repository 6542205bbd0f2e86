//! Opening a registry file: pragmas, embedded migrations, and the write-transaction helper.
//!
//! Durability settings are chosen for a registry of record: WAL with `synchronous=FULL` so a
//! committed version survives power loss, foreign keys on, and every write in `BEGIN IMMEDIATE`
//! so a read-then-write never fails half-way with `SQLITE_BUSY`.

use std::path::Path;
use std::time::Duration;

use rusqlite::{Connection, OpenFlags, TransactionBehavior};

use crate::error::{Error, Result};

/// Marks an SQLite file as a Promptdesk registry ("PDSK").
const APPLICATION_ID: i64 = 0x5044_534B;

/// Embedded migrations, in order. Never edit one that has landed: add a new one.
const MIGRATIONS: &[&str] = &[
    include_str!("../migrations/0001_registry.sql"),
    include_str!("../migrations/0002_review_release.sql"),
    include_str!("../migrations/0003_sync.sql"),
    include_str!("../migrations/0004_evals.sql"),
    include_str!("../migrations/0005_incidents.sql"),
    include_str!("../migrations/0006_sync_set_aside.sql"),
    include_str!("../migrations/0007_key_revocations.sql"),
];

/// The schema version this build writes.
pub const SCHEMA_VERSION: i64 = MIGRATIONS.len() as i64;

/// Opens (and, when `create`, creates) a registry and brings its schema up to date.
pub fn open(path: &Path, create: bool) -> Result<Connection> {
    let shown = path.display().to_string();
    let exists = path.exists();
    if !create && !exists {
        return Err(Error::NotFound(format!(
            "no registry at {shown}; create one with `promptdesk init` or pick another with --registry"
        )));
    }
    let mut flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    if create {
        flags |= OpenFlags::SQLITE_OPEN_CREATE;
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)
                .map_err(|e| Error::io(format!("cannot create the folder {}", dir.display()), e))?;
        }
    }
    let conn = Connection::open_with_flags(path, flags)
        .map_err(|e| Error::BadInput(format!("cannot open the registry {shown}: {e}")))?;
    conn.busy_timeout(Duration::from_secs(10))?;

    let not_a_registry = |detail: &str| {
        Error::BadInput(format!(
            "{shown} is not a Promptdesk registry ({detail}); nothing was changed"
        ))
    };
    let app_id: i64 = conn
        .query_row("PRAGMA application_id", [], |r| r.get(0))
        .map_err(|_| not_a_registry("not an SQLite database"))?;
    let user_version: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    let has_tables: bool = conn.query_row(
        "SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE type = 'table')",
        [],
        |r| r.get(0),
    )?;
    if app_id != APPLICATION_ID && (app_id != 0 || has_tables) {
        return Err(not_a_registry("it holds other data"));
    }
    if user_version > SCHEMA_VERSION {
        return Err(Error::NewerSchema {
            path: shown,
            found: user_version,
            known: SCHEMA_VERSION,
        });
    }

    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "FULL")?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    migrate(conn, user_version)
}

fn migrate(mut conn: Connection, from: i64) -> Result<Connection> {
    for (index, sql) in MIGRATIONS.iter().enumerate().skip(from as usize) {
        let version = index as i64 + 1;
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        // Another process may have migrated while we waited for the write lock.
        let current: i64 = tx.query_row("PRAGMA user_version", [], |r| r.get(0))?;
        if current >= version {
            tx.commit()?;
            continue;
        }
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "application_id", APPLICATION_ID)?;
        tx.pragma_update(None, "user_version", version)?;
        tx.commit()?;
    }
    Ok(conn)
}

/// SQLite's own check of the file: "ok", or what is damaged.
pub fn integrity_check(conn: &Connection) -> Result<String> {
    Ok(conn.query_row("PRAGMA integrity_check", [], |r| r.get(0))?)
}

/// Runs `f` inside `BEGIN IMMEDIATE … COMMIT`; any error rolls everything back.
pub fn write<T>(conn: &mut Connection, f: impl FnOnce(&Connection) -> Result<T>) -> Result<T> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let out = f(&tx)?;
    tx.commit()?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_new_registry_gets_the_current_schema_and_durable_pragmas() {
        let dir = tempfile::tempdir().unwrap();
        let conn = open(&dir.path().join("r.db"), true).unwrap();
        let v: i64 = conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .unwrap();
        assert_eq!(v, SCHEMA_VERSION);
        let mode: String = conn
            .query_row("PRAGMA journal_mode", [], |r| r.get(0))
            .unwrap();
        assert_eq!(mode, "wal");
        let sync: i64 = conn
            .query_row("PRAGMA synchronous", [], |r| r.get(0))
            .unwrap();
        assert_eq!(sync, 2, "synchronous must be FULL");
        let fk: i64 = conn
            .query_row("PRAGMA foreign_keys", [], |r| r.get(0))
            .unwrap();
        assert_eq!(fk, 1);
    }

    #[test]
    fn a_registry_from_a_newer_schema_is_refused_and_left_alone() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("r.db");
        drop(open(&path, true).unwrap());
        {
            let conn = Connection::open(&path).unwrap();
            conn.pragma_update(None, "user_version", SCHEMA_VERSION + 1)
                .unwrap();
        }
        let err = open(&path, false).unwrap_err();
        assert!(matches!(err, Error::NewerSchema { .. }), "{err}");
        assert!(err.to_string().contains("newer Promptdesk"), "{err}");
        let conn = Connection::open(&path).unwrap();
        let v: i64 = conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .unwrap();
        assert_eq!(v, SCHEMA_VERSION + 1, "the file must not be touched");
    }

    #[test]
    fn a_file_that_is_not_a_registry_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("notes.txt");
        std::fs::write(
            &path,
            "hello, this is not sqlite at all, just some text ........",
        )
        .unwrap();
        let err = open(&path, false).unwrap_err();
        assert!(
            err.to_string().contains("not a Promptdesk registry"),
            "{err}"
        );
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            "hello, this is not sqlite at all, just some text ........"
        );
        let other = dir.path().join("other.db");
        Connection::open(&other)
            .unwrap()
            .execute_batch("CREATE TABLE t (x)")
            .unwrap();
        let err = open(&other, false).unwrap_err();
        assert!(err.to_string().contains("holds other data"), "{err}");
    }

    #[test]
    fn opening_a_missing_registry_without_create_says_how_to_make_one() {
        let dir = tempfile::tempdir().unwrap();
        let err = open(&dir.path().join("missing.db"), false).unwrap_err();
        assert!(err.to_string().contains("promptdesk init"), "{err}");
        assert!(!dir.path().join("missing.db").exists());
    }

    #[test]
    fn append_only_tables_refuse_updates_and_deletes() {
        let dir = tempfile::tempdir().unwrap();
        let conn = open(&dir.path().join("r.db"), true).unwrap();
        conn.execute_batch(
            "INSERT INTO prompts (id, name, kind, created_at, created_by) VALUES (1, 'a', 'text', 't', 'u');
             INSERT INTO versions VALUES (1, 1, printf('%064d', 0), NULL, '{}', 'u', 'm', 't');
             INSERT INTO label_history (prompt_id, label, to_hash, actor, at) VALUES (1, 'latest', printf('%064d', 0), 'u', 't');
             INSERT INTO ledger VALUES (1, 'id', 't', 'u', 'k', 's', '{}', 'p', 'h');",
        )
        .unwrap();
        for sql in [
            "UPDATE versions SET message = 'x'",
            "DELETE FROM versions",
            "UPDATE label_history SET actor = 'x'",
            "DELETE FROM label_history",
            "UPDATE ledger SET actor = 'x'",
            "DELETE FROM ledger",
        ] {
            let err = conn.execute_batch(sql).expect_err(sql);
            assert!(
                err.to_string().contains("immutable") || err.to_string().contains("append-only"),
                "{sql}: {err}"
            );
        }
    }
}
