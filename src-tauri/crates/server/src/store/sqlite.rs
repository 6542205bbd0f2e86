//! The SQLite backend: one file, WAL, `synchronous=FULL`; one writer connection (writes start
//! with `BEGIN IMMEDIATE`, so a read-then-write never fails half way with `SQLITE_BUSY`) and a
//! few reader connections.

use std::path::Path;
use std::sync::{Mutex, MutexGuard};

use promptdesk_protocol::policy::{Policy, Role};
use rusqlite::{params, Connection, OptionalExtension, Row, TransactionBehavior};
use serde_json::Value;

use super::{
    sql, DecisionRow, KeyRow, LabelMoveRow, LabelRow, Pick, PromptFilter, PromptRow, RecordRow,
    ReviewRow, StoredEvent, TokenRow, Tx, VersionRow,
};
use crate::error::{Result, ServerError};

const SCHEMA_VERSION: i64 = 5;
/// Schema N is reached by running `MIGRATIONS[N - 1]` on schema N - 1 (0: an empty file).
const MIGRATIONS: [&str; SCHEMA_VERSION as usize] = [
    include_str!("sqlite_schema.sql"),
    include_str!("sqlite_schema_2.sql"),
    include_str!("sqlite_schema_3.sql"),
    include_str!("sqlite_schema_4.sql"),
    include_str!("sqlite_schema_5.sql"),
];
const READERS: usize = 4;

pub struct SqliteStore {
    writer: Mutex<Connection>,
    readers: Vec<Mutex<Connection>>,
    next_reader: std::sync::atomic::AtomicUsize,
}

fn connect(path: &Path) -> Result<Connection> {
    let conn = Connection::open(path).map_err(|e| {
        ServerError::BadInput(format!("cannot open the database {}: {e}", path.display()))
    })?;
    conn.busy_timeout(std::time::Duration::from_secs(10))?;
    conn.execute_batch(
        "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON;",
    )?;
    Ok(conn)
}

impl SqliteStore {
    pub fn open(path: &Path) -> Result<SqliteStore> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| {
                ServerError::BadInput(format!("cannot create {}: {e}", dir.display()))
            })?;
        }
        let mut writer = connect(path)?;
        let version: i64 = writer.query_row("PRAGMA user_version", [], |r| r.get(0))?;
        if version > SCHEMA_VERSION {
            return Err(ServerError::BadInput(format!(
                "{} was written by a newer Promptdesk server (schema {version}, this one knows {SCHEMA_VERSION})",
                path.display()
            )));
        }
        if version < SCHEMA_VERSION {
            let tx = writer.transaction_with_behavior(TransactionBehavior::Immediate)?;
            // Read again under the write lock: another process may have migrated meanwhile.
            let version: i64 = tx.query_row("PRAGMA user_version", [], |r| r.get(0))?;
            for migration in MIGRATIONS.iter().skip(version.max(0) as usize) {
                tx.execute_batch(migration)?;
            }
            tx.execute_batch(&format!("PRAGMA user_version = {SCHEMA_VERSION}"))?;
            tx.commit()?;
        }
        let readers = (0..READERS)
            .map(|_| connect(path).map(Mutex::new))
            .collect::<Result<_>>()?;
        Ok(SqliteStore {
            writer: Mutex::new(writer),
            readers,
            next_reader: Default::default(),
        })
    }

    pub fn write<T>(&self, f: impl FnOnce(&mut dyn Tx) -> Result<T>) -> Result<T> {
        let mut conn = lock(&self.writer);
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let out = f(&mut SqliteTx(&tx))?;
        tx.commit()?;
        Ok(out)
    }

    pub fn read<T>(&self, f: impl FnOnce(&mut dyn Tx) -> Result<T>) -> Result<T> {
        use std::sync::atomic::Ordering;
        let i = self.next_reader.fetch_add(1, Ordering::Relaxed) % self.readers.len();
        let mut conn = lock(&self.readers[i]);
        let tx = conn.transaction_with_behavior(TransactionBehavior::Deferred)?;
        f(&mut SqliteTx(&tx))
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic in another request left the connection as it was; the transaction was dropped,
    // which rolled it back.
    m.lock().unwrap_or_else(|p| p.into_inner())
}

struct SqliteTx<'a>(&'a Connection);

fn json_col(r: &Row<'_>, i: usize) -> rusqlite::Result<Value> {
    let text: String = r.get(i)?;
    serde_json::from_str(&text).map_err(|e| {
        rusqlite::Error::FromSqlConversionFailure(i, rusqlite::types::Type::Text, Box::new(e))
    })
}

fn role_col(r: &Row<'_>, i: usize) -> rusqlite::Result<Role> {
    let text: String = r.get(i)?;
    Role::parse(&text).ok_or_else(|| {
        rusqlite::Error::FromSqlConversionFailure(
            i,
            rusqlite::types::Type::Text,
            format!("unknown role {text}").into(),
        )
    })
}

fn prompt_row(r: &Row<'_>) -> rusqlite::Result<PromptRow> {
    let tags: Value = json_col(r, 3)?;
    Ok(PromptRow {
        name: r.get(0)?,
        kind: r.get(1)?,
        description: r.get(2)?,
        tags: serde_json::from_value(tags).unwrap_or_default(),
        created_at: r.get(4)?,
        updated_at: r.get(5)?,
    })
}

fn version_row(r: &Row<'_>) -> rusqlite::Result<VersionRow> {
    Ok(VersionRow {
        prompt: r.get(0)?,
        number: r.get(1)?,
        hash: r.get(2)?,
        content: json_col(r, 3)?,
        author: r.get(4)?,
        message: r.get(5)?,
        created_at: r.get(6)?,
    })
}

fn label_row(r: &Row<'_>) -> rusqlite::Result<LabelRow> {
    Ok(LabelRow {
        prompt: r.get(0)?,
        label: r.get(1)?,
        hash: r.get(2)?,
        number: r.get(3)?,
        moved_at: r.get(4)?,
        moved_by: r.get(5)?,
    })
}

fn token_row(r: &Row<'_>) -> rusqlite::Result<TokenRow> {
    Ok(TokenRow {
        id: r.get(0)?,
        kind: r.get(1)?,
        display: r.get(2)?,
        public_key: r.get(3)?,
        user: r.get(4)?,
        created_at: r.get(5)?,
        revoked_at: r.get(6)?,
    })
}

fn event_row(r: &Row<'_>) -> rusqlite::Result<StoredEvent> {
    Ok(StoredEvent {
        seq: r.get(0)?,
        event: json_col(r, 1)?,
        hash: r.get(2)?,
        assigned: json_col(r, 3)?,
        pushed_by: r.get(4)?,
        received_at: r.get(5)?,
    })
}

fn move_row(r: &Row<'_>) -> rusqlite::Result<LabelMoveRow> {
    Ok(LabelMoveRow {
        prompt: r.get(0)?,
        label: r.get(1)?,
        kind: r.get(2)?,
        from_hash: r.get(3)?,
        to_hash: r.get(4)?,
        event_id: r.get(5)?,
        moved_by: r.get(6)?,
        moved_at: r.get(7)?,
    })
}

fn record_row(r: &Row<'_>) -> rusqlite::Result<RecordRow> {
    Ok(RecordRow {
        collection: r.get(0)?,
        id: r.get(1)?,
        prompt: r.get(2)?,
        name: r.get(3)?,
        created_by: r.get(4)?,
        created_at: r.get(5)?,
    })
}

impl Tx for SqliteTx<'_> {
    fn event(&mut self, id: &str) -> Result<Option<StoredEvent>> {
        Ok(self
            .0
            .prepare_cached(sql::EVENT)?
            .query_row([id], event_row)
            .optional()?)
    }

    fn append_event(
        &mut self,
        event: &Value,
        id: &str,
        hash: &str,
        assigned: &Value,
        pushed_by: &str,
        now: &str,
    ) -> Result<i64> {
        // Not shared: here `seq` is the rowid, which SQLite numbers itself (one writer at a
        // time, events never deleted: max + 1); PostgreSQL takes max + 1 and returns it.
        self.0
            .prepare_cached(
                "INSERT INTO events (id, hash, event, assigned, pushed_by, received_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            )?
            .execute(params![
                id,
                hash,
                event.to_string(),
                assigned.to_string(),
                pushed_by,
                now
            ])?;
        Ok(self.0.last_insert_rowid())
    }

    fn events_after(&mut self, seq: i64, limit: u32) -> Result<Vec<StoredEvent>> {
        // Not shared: rows arrive one at a time here, so the byte budget is counted as they
        // come; PostgreSQL's client fetches a whole result, so there SQL applies the budget.
        let mut stmt = self.0.prepare_cached(
            "SELECT seq, event, hash, assigned, pushed_by, received_at FROM events
             WHERE seq > ?1 ORDER BY seq LIMIT ?2",
        )?;
        let mut rows = stmt.query(params![seq, limit])?;
        let mut out = Vec::new();
        let mut bytes = 0;
        while let Some(r) = rows.next()? {
            if bytes >= super::PAGE_BYTES {
                break;
            }
            bytes += r.get_ref(1)?.as_bytes().map_or(0, <[u8]>::len);
            out.push(event_row(r)?);
        }
        Ok(out)
    }

    fn head(&mut self) -> Result<i64> {
        Ok(self.0.query_row(sql::HEAD, [], |r| r.get(0))?)
    }

    fn summary(&mut self, upto: i64) -> Result<(u64, String)> {
        use sha2::{Digest, Sha256};
        let mut stmt = self.0.prepare_cached(sql::EVENT_IDS_UPTO)?;
        let mut rows = stmt.query([upto])?;
        let mut hasher = Sha256::new();
        let mut n = 0u64;
        while let Some(r) = rows.next()? {
            let id: String = r.get(0)?;
            hasher.update(id.as_bytes());
            hasher.update(b"\n");
            n += 1;
        }
        Ok((n, hex::encode(hasher.finalize())))
    }

    fn prompt(&mut self, name: &str) -> Result<Option<PromptRow>> {
        Ok(self
            .0
            .prepare_cached(sql::PROMPT)?
            .query_row([name], prompt_row)
            .optional()?)
    }

    fn put_prompt(&mut self, row: &PromptRow) -> Result<()> {
        self.0.prepare_cached(sql::PUT_PROMPT)?.execute(params![
            row.name,
            row.kind,
            row.description,
            serde_json::to_string(&row.tags)?,
            row.created_at,
            row.updated_at
        ])?;
        Ok(())
    }

    fn prompts(&mut self, f: &PromptFilter) -> Result<(Vec<PromptRow>, u64)> {
        // Not shared: the tag test reads the JSON array with SQLite's json_each (PostgreSQL:
        // jsonb_array_elements, and casts to type its NULL tests).
        let filter = "FROM prompts p WHERE (?1 IS NULL OR p.name = ?1)
             AND (?2 IS NULL OR EXISTS (SELECT 1 FROM labels l WHERE l.prompt = p.name AND l.label = ?2))
             AND (?3 IS NULL OR EXISTS (SELECT 1 FROM json_each(p.tags) t WHERE t.value = ?3))";
        let total: i64 = self.0.query_row(
            &format!("SELECT count(*) {filter}"),
            params![f.name, f.label, f.tag],
            |r| r.get(0),
        )?;
        let mut stmt = self.0.prepare_cached(&format!(
            "SELECT p.name, p.kind, p.description, p.tags, p.created_at, p.updated_at {filter}
             ORDER BY p.name LIMIT ?4 OFFSET ?5"
        ))?;
        let offset = i64::from(f.page.saturating_sub(1)) * i64::from(f.limit);
        let rows = stmt.query_map(params![f.name, f.label, f.tag, f.limit, offset], prompt_row)?;
        Ok((rows.collect::<rusqlite::Result<_>>()?, total.max(0) as u64))
    }

    fn version(&mut self, prompt: &str, pick: &Pick) -> Result<Option<VersionRow>> {
        let row = match pick {
            Pick::Number(n) => self
                .0
                .prepare_cached(sql::VERSION_BY_NUMBER)?
                .query_row(params![prompt, n], version_row),
            Pick::Hash(h) => self
                .0
                .prepare_cached(sql::VERSION_BY_HASH)?
                .query_row(params![prompt, h], version_row),
            Pick::Latest => self
                .0
                .prepare_cached(sql::LATEST_VERSION)?
                .query_row(params![prompt], version_row),
        };
        Ok(row.optional()?)
    }

    fn version_numbers(&mut self, prompt: &str) -> Result<Vec<u32>> {
        let mut stmt = self.0.prepare_cached(sql::VERSION_NUMBERS)?;
        let rows = stmt.query_map([prompt], |r| r.get(0))?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    fn insert_version(&mut self, v: &VersionRow) -> Result<()> {
        self.0
            .prepare_cached(sql::INSERT_VERSION)?
            .execute(params![
                v.prompt,
                v.number,
                v.hash,
                v.content.to_string(),
                v.author,
                v.message,
                v.created_at
            ])?;
        Ok(())
    }

    fn label(&mut self, prompt: &str, label: &str) -> Result<Option<LabelRow>> {
        Ok(self
            .0
            .prepare_cached(sql::LABEL)?
            .query_row(params![prompt, label], label_row)
            .optional()?)
    }

    fn labels(&mut self, prompt: &str) -> Result<Vec<LabelRow>> {
        let mut stmt = self.0.prepare_cached(sql::LABELS)?;
        let rows = stmt.query_map([prompt], label_row)?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    fn set_label(&mut self, l: &LabelRow) -> Result<()> {
        self.0.prepare_cached(sql::SET_LABEL)?.execute(params![
            l.prompt, l.label, l.hash, l.number, l.moved_at, l.moved_by
        ])?;
        Ok(())
    }

    fn remove_label(&mut self, prompt: &str, label: &str) -> Result<()> {
        self.0.execute(sql::REMOVE_LABEL, params![prompt, label])?;
        Ok(())
    }

    fn insert_label_move(&mut self, m: &LabelMoveRow) -> Result<()> {
        self.0
            .prepare_cached(sql::INSERT_LABEL_MOVE)?
            .execute(params![
                m.prompt,
                m.label,
                m.kind,
                m.from_hash,
                m.to_hash,
                m.event_id,
                m.moved_by,
                m.moved_at
            ])?;
        Ok(())
    }

    fn label_served(&mut self, prompt: &str, label: &str, hash: &str) -> Result<bool> {
        Ok(self
            .0
            .prepare_cached(sql::LABEL_SERVED)?
            .query_row(params![prompt, label, hash], |r| r.get(0))?)
    }

    fn label_history(&mut self, prompt: &str, label: &str) -> Result<Vec<LabelMoveRow>> {
        let mut stmt = self.0.prepare_cached(sql::LABEL_HISTORY)?;
        let rows = stmt.query_map(params![prompt, label], move_row)?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    fn key(&mut self, key_id: &str) -> Result<Option<KeyRow>> {
        Ok(self
            .0
            .prepare_cached(sql::KEY)?
            .query_row([key_id], |r| {
                Ok(KeyRow {
                    key_id: r.get(0)?,
                    person: r.get(1)?,
                    public_key: r.get(2)?,
                    registered_by: r.get(3)?,
                    revoked_at: r.get(4)?,
                    revoked_by: r.get(5)?,
                })
            })
            .optional()?)
    }

    fn insert_key(&mut self, k: &KeyRow) -> Result<()> {
        self.0.execute(
            sql::INSERT_KEY,
            params![k.key_id, k.person, k.public_key, k.registered_by],
        )?;
        Ok(())
    }

    fn revoke_key(&mut self, key_id: &str, by: &str, at: &str, reason: &str) -> Result<()> {
        self.0
            .execute(sql::REVOKE_KEY, params![key_id, at, by, reason])?;
        Ok(())
    }

    fn review(&mut self, id: &str) -> Result<Option<ReviewRow>> {
        Ok(self
            .0
            .prepare_cached(sql::REVIEW)?
            .query_row([id], |r| {
                Ok(ReviewRow {
                    id: r.get(0)?,
                    prompt: r.get(1)?,
                    version_hash: r.get(2)?,
                    label: r.get(3)?,
                    requested_by: r.get(4)?,
                })
            })
            .optional()?)
    }

    fn insert_review(&mut self, row: &ReviewRow) -> Result<()> {
        self.0.execute(
            sql::INSERT_REVIEW,
            params![
                row.id,
                row.prompt,
                row.version_hash,
                row.label,
                row.requested_by
            ],
        )?;
        Ok(())
    }

    fn insert_decision(&mut self, d: &DecisionRow) -> Result<()> {
        self.0.execute(
            sql::INSERT_DECISION,
            params![
                d.id,
                d.review,
                d.prompt,
                d.label,
                d.content_hash,
                d.actor,
                d.actor_role.as_str(),
                d.kind,
                d.at,
                d.key_id
            ],
        )?;
        Ok(())
    }

    fn decisions(&mut self, prompt: &str, label: &str) -> Result<Vec<DecisionRow>> {
        let mut stmt = self.0.prepare_cached(sql::DECISIONS)?;
        let rows = stmt.query_map(params![prompt, label], |r| {
            Ok(DecisionRow {
                id: r.get(0)?,
                review: r.get(1)?,
                prompt: r.get(2)?,
                label: r.get(3)?,
                content_hash: r.get(4)?,
                actor: r.get(5)?,
                actor_role: role_col(r, 6)?,
                kind: r.get(7)?,
                at: r.get(8)?,
                key_id: r.get(9)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    fn policy(&mut self, label: &str) -> Result<Option<Policy>> {
        let text: Option<String> = self
            .0
            .prepare_cached(sql::POLICY)?
            .query_row([label], |r| r.get(0))
            .optional()?;
        Ok(text.map(|t| serde_json::from_str(&t)).transpose()?)
    }

    fn set_policy(&mut self, label: &str, policy: &Policy, by: &str, at: &str) -> Result<()> {
        self.0.execute(
            sql::SET_POLICY,
            params![label, serde_json::to_string(policy)?, by, at],
        )?;
        Ok(())
    }

    fn record(&mut self, collection: &str, id: &str) -> Result<Option<RecordRow>> {
        Ok(self
            .0
            .prepare_cached(sql::RECORD)?
            .query_row(params![collection, id], record_row)
            .optional()?)
    }

    fn named_record(
        &mut self,
        collection: &str,
        prompt: &str,
        name: &str,
    ) -> Result<Option<RecordRow>> {
        Ok(self
            .0
            .prepare_cached(sql::NAMED_RECORD)?
            .query_row(params![collection, prompt, name], record_row)
            .optional()?)
    }

    fn insert_record(&mut self, r: &RecordRow) -> Result<()> {
        self.0.prepare_cached(sql::INSERT_RECORD)?.execute(params![
            r.collection,
            r.id,
            r.prompt,
            r.name,
            r.created_by,
            r.created_at
        ])?;
        Ok(())
    }

    fn put_record_fields(
        &mut self,
        collection: &str,
        id: &str,
        fields: Option<&Value>,
    ) -> Result<()> {
        self.0
            .prepare_cached(sql::PUT_RECORD_FIELDS)?
            .execute(params![
                collection,
                id,
                fields.map(Value::to_string),
                fields.is_none()
            ])?;
        Ok(())
    }

    fn record_fields(&mut self, collection: &str, id: &str) -> Result<Option<Value>> {
        Ok(self
            .0
            .prepare_cached(sql::RECORD_FIELDS)?
            .query_row(params![collection, id], |r| json_col(r, 0))
            .optional()?)
    }

    fn live_records(&mut self, collection: &str, prompt: &str) -> Result<Vec<(String, Value)>> {
        let mut stmt = self.0.prepare_cached(sql::LIVE_RECORDS)?;
        let rows = stmt.query_map(params![collection, prompt], |r| {
            Ok((r.get::<_, String>(0)?, json_col(r, 1)?))
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    fn records_missing_fields(&mut self) -> Result<u64> {
        let n: i64 = self
            .0
            .query_row(sql::RECORDS_MISSING_FIELDS, [], |r| r.get(0))?;
        Ok(n.max(0) as u64)
    }

    fn role_of(&mut self, user: &str) -> Result<Option<Role>> {
        Ok(self
            .0
            .prepare_cached(sql::ROLE_OF)?
            .query_row([user], |r| role_col(r, 0))
            .optional()?)
    }

    fn set_role(&mut self, user: &str, role: Role, at: &str) -> Result<()> {
        self.0
            .execute(sql::SET_ROLE, params![user, role.as_str(), at])?;
        Ok(())
    }

    fn insert_token(&mut self, t: &TokenRow, secret_hash: &str) -> Result<()> {
        self.0.execute(
            sql::INSERT_TOKEN,
            params![
                t.id,
                t.kind,
                t.display,
                t.public_key,
                t.user,
                t.created_at,
                t.revoked_at,
                secret_hash
            ],
        )?;
        Ok(())
    }

    fn token_by_secret(
        &mut self,
        secret_hash: &str,
        public_key: Option<&str>,
    ) -> Result<Option<TokenRow>> {
        // Not shared: PostgreSQL needs a cast to type the NULL test of `?2`.
        Ok(self
            .0
            .prepare_cached(
                "SELECT id, kind, display, public_key, user_name, created_at, revoked_at
                 FROM tokens WHERE secret_hash = ?1 AND revoked_at IS NULL
                 AND (?2 IS NULL OR public_key = ?2)",
            )?
            .query_row(params![secret_hash, public_key], token_row)
            .optional()?)
    }

    fn tokens(&mut self) -> Result<Vec<TokenRow>> {
        let mut stmt = self.0.prepare_cached(sql::TOKENS)?;
        let rows = stmt.query_map([], token_row)?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    fn revoke_token(&mut self, id: &str, at: &str) -> Result<bool> {
        Ok(self.0.execute(sql::REVOKE_TOKEN, params![id, at])? > 0)
    }
}
