//! The PostgreSQL backend, for teams that run several server replicas over one database.
//!
//! It answers exactly as the SQLite backend does (same rows, same order, same digest, same
//! errors); what it adds is that the replicas never see each other half way.
//!
//! **Writes are serialised across every replica.** Each write transaction begins with
//! `pg_advisory_xact_lock(WRITE_LOCK)`, the counterpart of SQLite's `BEGIN IMMEDIATE`: one writer
//! at a time over the database, whichever replica it runs on, until it commits or rolls back.
//! That one lock gives both guarantees the sync protocol needs:
//!
//! - a label's compare-and-swap in `apply` (read the label, check what the mover expected, write
//!   it) cannot interleave with another move, so exactly one of two racing moves wins;
//! - an event's `seq` is `max(seq) + 1` taken under the lock, so sequence numbers have no gaps
//!   *and become visible in order*: the writer of N+2 cannot start before the writer of N+1 has
//!   committed (or rolled back, freeing N+1 again). A client that pulled "after N" and saw N+2
//!   can never later find an N+1 it skipped. A PostgreSQL sequence would give unique numbers but
//!   neither property: numbers taken by rolled-back transactions leave holes, and a later number
//!   can commit before an earlier one.
//!
//! Write transactions run at READ COMMITTED on purpose: every statement then sees everything
//! committed before it, including the previous writer's work. REPEATABLE READ would take its
//! snapshot at the first statement, which is the lock wait itself, and so could miss the commit of
//! the very writer it waited for. Serialising writers also means no serialisation failures to
//! retry. The cost is one writer at a time, as with SQLite; a registry's writes are few and small.
//!
//! Reads run in READ ONLY REPEATABLE READ transactions: one snapshot for all the statements of a
//! request (a pull's head and its events agree), taking no lock, never waiting for a writer.
//!
//! Connections come from a small pool, opened on demand up to [`MAX_CONNECTIONS`] per replica.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::sync::{Condvar, Mutex, MutexGuard};
use std::time::Duration;

use ::postgres::config::Host;
use ::postgres::error::SqlState;
use ::postgres::types::ToSql;
use ::postgres::{Client, Config, IsolationLevel, Row, Statement, Transaction};
use promptdesk_protocol::policy::{Policy, Role};
use serde_json::Value;

use super::{
    sql, DecisionRow, KeyRow, LabelMoveRow, LabelRow, Pick, PromptFilter, PromptRow, RecordRow,
    ReviewRow, StoredEvent, TokenRow, Tx, VersionRow,
};
use crate::error::{Result, ServerError};

/// The schema file is idempotent, so it takes any older schema to this one.
const SCHEMA_VERSION: i32 = 5;
const SCHEMA: &str = include_str!("postgres_schema.sql");

/// The advisory lock every write transaction holds (and schema creation too). Any constant does,
/// as long as every replica uses the same one; advisory locks are per database, so registries in
/// other databases of the same server do not wait for each other. This one spells "promptdk".
const WRITE_LOCK: i64 = 0x7072_6f6d_7074_646b;

/// Connections per replica. Requests beyond it wait for a free one; a registry's queries are
/// short, and PostgreSQL's own limit (100 by default) is shared by every replica.
pub const MAX_CONNECTIONS: usize = 8;
/// How long a request waits for a free connection, or a writer for the write lock, before it
/// fails: the same bound as SQLite's busy timeout.
const WAIT: Duration = Duration::from_secs(10);

mod tls;

pub struct PostgresStore {
    config: Config,
    /// `sslmode` and `sslrootcert` of the URL: plain, or rustls and how it checks the server.
    tls: tls::Tls,
    /// Where the database is, for messages: host, port, database and user, never the password.
    target: String,
    pool: Mutex<Pool>,
    freed: Condvar,
}

#[derive(Default)]
struct Pool {
    idle: Vec<Conn>,
    /// Connections open, idle or in use.
    open: usize,
}

struct Conn {
    client: Client,
    /// Prepared statements by SQL text as written (before [`sql::postgres_text`]); they live as
    /// long as the connection.
    statements: HashMap<String, Statement>,
}

/// `host:port, …/database as user`: what a person needs to find the database, without the
/// password.
fn describe(config: &Config) -> String {
    let ports = config.get_ports();
    let mut out = String::new();
    for (i, host) in config.get_hosts().iter().enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        match host {
            Host::Tcp(h) => out.push_str(h),
            Host::Unix(p) => out.push_str(&p.display().to_string()),
        }
        let port = ports.get(i).or(ports.first()).copied().unwrap_or(5432);
        let _ = write!(out, ":{port}");
    }
    if out.is_empty() {
        out.push_str("(no host)");
    }
    let user = config.get_user().unwrap_or("(no user)");
    let db = config.get_dbname().unwrap_or(user);
    format!("{out}/{db} as {user}")
}

/// A PostgreSQL error with its cause: the crate's `Display` says only "db error" or "error
/// connecting to server"; the reason is in the source chain.
pub(crate) fn message(e: &::postgres::Error) -> String {
    if let Some(db) = e.as_db_error() {
        let mut m = format!("{}: {}", db.severity(), db.message());
        if let Some(d) = db.detail() {
            let _ = write!(m, " ({d})");
        }
        return m;
    }
    let mut m = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        let _ = write!(m, ": {s}");
        source = s.source();
    }
    m
}

impl From<::postgres::Error> for ServerError {
    fn from(e: ::postgres::Error) -> Self {
        // PostgreSQL text cannot hold U+0000, which SQLite stores; it is the pushed data that is
        // wrong, not the server, so say so rather than answer 500.
        if e.code() == Some(&SqlState::CHARACTER_NOT_IN_REPERTOIRE) {
            return ServerError::BadInput(format!(
                "the database cannot store this text: {}",
                message(&e)
            ));
        }
        ServerError::Internal(format!("database: {}", message(&e)))
    }
}

impl PostgresStore {
    /// Connects to `url` (`postgres://user:password@host:port/database?…`, with `sslmode` and
    /// `sslrootcert` as libpq reads them, see [`tls`]), checks the database and creates or checks
    /// the schema.
    pub fn open(url: &str) -> Result<PostgresStore> {
        let (url, tls) = tls::from_url(url)?;
        let mut config: Config = url.parse().map_err(|e: ::postgres::Error| {
            ServerError::BadInput(format!(
                "the PostgreSQL URL is not valid ({}): use postgres://USER:PASSWORD@HOST:PORT/DATABASE",
                message(&e)
            ))
        })?;
        if config.get_application_name().is_none() {
            config.application_name("promptdesk-server");
        }
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(WAIT);
        }
        tls.configure(&mut config);
        let store = PostgresStore {
            target: describe(&config),
            config,
            tls,
            pool: Mutex::new(Pool::default()),
            freed: Condvar::new(),
        };
        // Unreachable at start is the operator's URL or network to fix (bad input); later, the
        // same failure is the server's (see `take`).
        let mut conn = store.connect().map_err(ServerError::BadInput)?;
        store.check_and_create_schema(&mut conn.client)?;
        store.give_back(conn);
        Ok(store)
    }

    /// A new connection, or why not (naming the database, never the password).
    fn connect(&self) -> std::result::Result<Conn, String> {
        let cannot = |e: ::postgres::Error| {
            let hint = self
                .tls
                .hint(&e)
                .map(|h| format!(" ({h})"))
                .unwrap_or_default();
            format!(
                "cannot connect to PostgreSQL at {}: {}{hint}",
                self.target,
                message(&e)
            )
        };
        let mut client = self.tls.connect(&self.config).map_err(cannot)?;
        // A writer waits this long for the write lock, like SQLite's busy timeout; a request
        // never hangs behind a stuck writer.
        client
            .batch_execute(&format!("SET lock_timeout = '{}s'", WAIT.as_secs()))
            .map_err(cannot)?;
        Ok(Conn {
            client,
            statements: HashMap::new(),
        })
    }

    fn failed(&self, what: &str, e: &::postgres::Error) -> ServerError {
        ServerError::Internal(format!(
            "{what} (PostgreSQL at {}): {}",
            self.target,
            message(e)
        ))
    }

    fn check_and_create_schema(&self, client: &mut Client) -> Result<()> {
        let failed = |e: ::postgres::Error| self.failed("cannot set up the registry schema", &e);
        // Stored text is UTF-8 everywhere else in Promptdesk; another encoding would mangle or
        // refuse prompt text later, so refuse now with the reason.
        let encoding: String = client
            .query_one("SHOW server_encoding", &[])
            .and_then(|r| r.try_get(0))
            .map_err(failed)?;
        if encoding != "UTF8" {
            return Err(ServerError::BadInput(format!(
                "the PostgreSQL database at {} uses the {encoding} encoding; Promptdesk needs UTF8 \
                 (CREATE DATABASE … ENCODING 'UTF8' TEMPLATE template0)",
                self.target
            )));
        }
        let mut tx = client.transaction().map_err(failed)?;
        tx.execute("SELECT pg_advisory_xact_lock($1)", &[&WRITE_LOCK])
            .map_err(failed)?;
        tx.batch_execute("CREATE TABLE IF NOT EXISTS promptdesk_schema (version INTEGER NOT NULL)")
            .map_err(failed)?;
        let version: i32 = tx
            .query_one(
                "SELECT coalesce(max(version), 0) FROM promptdesk_schema",
                &[],
            )
            .and_then(|r| r.try_get(0))
            .map_err(failed)?;
        if version > SCHEMA_VERSION {
            return Err(ServerError::BadInput(format!(
                "the PostgreSQL database at {} was written by a newer Promptdesk server (schema \
                 {version}, this one knows {SCHEMA_VERSION})",
                self.target
            )));
        }
        if version < SCHEMA_VERSION {
            tx.batch_execute(SCHEMA).map_err(failed)?;
            tx.execute("DELETE FROM promptdesk_schema", &[])
                .map_err(failed)?;
            tx.execute(
                "INSERT INTO promptdesk_schema (version) VALUES ($1)",
                &[&SCHEMA_VERSION],
            )
            .map_err(failed)?;
        }
        tx.commit().map_err(failed)?;
        Ok(())
    }

    /// An idle connection, a new one if fewer than [`MAX_CONNECTIONS`] are open, or the next one
    /// given back.
    fn take(&self) -> Result<Conn> {
        let mut pool = lock(&self.pool);
        let deadline = std::time::Instant::now() + WAIT;
        loop {
            while let Some(conn) = pool.idle.pop() {
                // The server restarted or dropped it; open another.
                if conn.client.is_closed() {
                    pool.open -= 1;
                    continue;
                }
                return Ok(conn);
            }
            if pool.open < MAX_CONNECTIONS {
                pool.open += 1;
                drop(pool);
                return self.connect().map_err(|e| {
                    lock(&self.pool).open -= 1;
                    self.freed.notify_one();
                    ServerError::Internal(e)
                });
            }
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            if left.is_zero() {
                return Err(ServerError::Internal(format!(
                    "all {MAX_CONNECTIONS} connections to PostgreSQL at {} stayed busy for {} s",
                    self.target,
                    WAIT.as_secs()
                )));
            }
            pool = self
                .freed
                .wait_timeout(pool, left)
                .unwrap_or_else(|p| p.into_inner())
                .0;
        }
    }

    fn give_back(&self, conn: Conn) {
        let mut pool = lock(&self.pool);
        if conn.client.is_closed() {
            pool.open -= 1;
        } else {
            pool.idle.push(conn);
        }
        drop(pool);
        self.freed.notify_one();
    }

    /// Runs `f` on a pooled connection and gives it back, also when `f` fails or panics (a
    /// transaction still open is rolled back when it is dropped, before the connection returns).
    fn with_conn<T>(&self, f: impl FnOnce(&mut Conn) -> Result<T>) -> Result<T> {
        struct Lease<'a> {
            store: &'a PostgresStore,
            conn: Option<Conn>,
        }
        impl Drop for Lease<'_> {
            fn drop(&mut self) {
                if let Some(c) = self.conn.take() {
                    self.store.give_back(c);
                }
            }
        }
        let mut lease = Lease {
            store: self,
            conn: Some(self.take()?),
        };
        f(lease.conn.as_mut().expect("leased"))
    }

    pub fn write<T>(&self, f: impl FnOnce(&mut dyn Tx) -> Result<T>) -> Result<T> {
        self.with_conn(|conn| {
            let Conn { client, statements } = conn;
            // READ COMMITTED and the lock first: see the module comment.
            let mut tx = client
                .build_transaction()
                .isolation_level(IsolationLevel::ReadCommitted)
                .start()?;
            tx.execute("SELECT pg_advisory_xact_lock($1)", &[&WRITE_LOCK])?;
            let mut ptx = PgTx { tx, statements };
            let out = f(&mut ptx)?;
            ptx.tx.commit()?;
            Ok(out)
        })
    }

    pub fn read<T>(&self, f: impl FnOnce(&mut dyn Tx) -> Result<T>) -> Result<T> {
        self.with_conn(|conn| {
            let Conn { client, statements } = conn;
            let tx = client
                .build_transaction()
                .isolation_level(IsolationLevel::RepeatableRead)
                .read_only(true)
                .start()?;
            let mut ptx = PgTx { tx, statements };
            let out = f(&mut ptx)?;
            ptx.tx.commit()?;
            Ok(out)
        })
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // The pool's bookkeeping is a list and a count, consistent whenever the lock is free.
    m.lock().unwrap_or_else(|p| p.into_inner())
}

struct PgTx<'a> {
    tx: Transaction<'a>,
    statements: &'a mut HashMap<String, Statement>,
}

type Params<'p> = &'p [&'p (dyn ToSql + Sync)];

impl PgTx<'_> {
    /// `text` prepared, keyed by the text as written: the shared statements' `?N` placeholders
    /// are rewritten to `$N` once per connection (see [`sql`]).
    fn statement(&mut self, text: &str) -> Result<Statement> {
        if let Some(s) = self.statements.get(text) {
            return Ok(s.clone());
        }
        let s = self.tx.prepare(&sql::postgres_text(text))?;
        self.statements.insert(text.to_string(), s.clone());
        Ok(s)
    }

    fn query(&mut self, sql: &str, params: Params<'_>) -> Result<Vec<Row>> {
        let s = self.statement(sql)?;
        Ok(self.tx.query(&s, params)?)
    }

    fn query_opt(&mut self, sql: &str, params: Params<'_>) -> Result<Option<Row>> {
        let s = self.statement(sql)?;
        Ok(self.tx.query_opt(&s, params)?)
    }

    fn query_one(&mut self, sql: &str, params: Params<'_>) -> Result<Row> {
        let s = self.statement(sql)?;
        Ok(self.tx.query_one(&s, params)?)
    }

    fn execute(&mut self, sql: &str, params: Params<'_>) -> Result<u64> {
        let s = self.statement(sql)?;
        Ok(self.tx.execute(&s, params)?)
    }
}

fn json_col(r: &Row, i: usize) -> Result<Value> {
    let text: String = r.try_get(i)?;
    Ok(serde_json::from_str(&text)?)
}

fn number_col(r: &Row, i: usize) -> Result<u32> {
    let n: i64 = r.try_get(i)?;
    u32::try_from(n)
        .map_err(|_| ServerError::Internal(format!("stored version number {n} is out of range")))
}

fn role_col(r: &Row, i: usize) -> Result<Role> {
    let text: String = r.try_get(i)?;
    Role::parse(&text)
        .ok_or_else(|| ServerError::Internal(format!("database: unknown role {text}")))
}

fn record_row(r: &Row) -> Result<RecordRow> {
    Ok(RecordRow {
        collection: r.try_get(0)?,
        id: r.try_get(1)?,
        prompt: r.try_get(2)?,
        name: r.try_get(3)?,
        created_by: r.try_get(4)?,
        created_at: r.try_get(5)?,
    })
}

fn prompt_row(r: &Row) -> Result<PromptRow> {
    let tags = json_col(r, 3)?;
    Ok(PromptRow {
        name: r.try_get(0)?,
        kind: r.try_get(1)?,
        description: r.try_get(2)?,
        tags: serde_json::from_value(tags).unwrap_or_default(),
        created_at: r.try_get(4)?,
        updated_at: r.try_get(5)?,
    })
}

fn version_row(r: &Row) -> Result<VersionRow> {
    Ok(VersionRow {
        prompt: r.try_get(0)?,
        number: number_col(r, 1)?,
        hash: r.try_get(2)?,
        content: json_col(r, 3)?,
        author: r.try_get(4)?,
        message: r.try_get(5)?,
        created_at: r.try_get(6)?,
    })
}

fn label_row(r: &Row) -> Result<LabelRow> {
    Ok(LabelRow {
        prompt: r.try_get(0)?,
        label: r.try_get(1)?,
        hash: r.try_get(2)?,
        number: number_col(r, 3)?,
        moved_at: r.try_get(4)?,
        moved_by: r.try_get(5)?,
    })
}

fn token_row(r: &Row) -> Result<TokenRow> {
    Ok(TokenRow {
        id: r.try_get(0)?,
        kind: r.try_get(1)?,
        display: r.try_get(2)?,
        public_key: r.try_get(3)?,
        user: r.try_get(4)?,
        created_at: r.try_get(5)?,
        revoked_at: r.try_get(6)?,
    })
}

fn event_row(r: &Row) -> Result<StoredEvent> {
    Ok(StoredEvent {
        seq: r.try_get(0)?,
        event: json_col(r, 1)?,
        hash: r.try_get(2)?,
        assigned: json_col(r, 3)?,
        pushed_by: r.try_get(4)?,
        received_at: r.try_get(5)?,
    })
}

fn move_row(r: &Row) -> Result<LabelMoveRow> {
    Ok(LabelMoveRow {
        prompt: r.try_get(0)?,
        label: r.try_get(1)?,
        kind: r.try_get(2)?,
        from_hash: r.try_get(3)?,
        to_hash: r.try_get(4)?,
        event_id: r.try_get(5)?,
        moved_by: r.try_get(6)?,
        moved_at: r.try_get(7)?,
    })
}

fn decision_row(r: &Row) -> Result<DecisionRow> {
    Ok(DecisionRow {
        id: r.try_get(0)?,
        review: r.try_get(1)?,
        prompt: r.try_get(2)?,
        label: r.try_get(3)?,
        content_hash: r.try_get(4)?,
        actor: r.try_get(5)?,
        actor_role: role_col(r, 6)?,
        kind: r.try_get(7)?,
        at: r.try_get(8)?,
        key_id: r.try_get(9)?,
    })
}

fn all<T>(rows: Vec<Row>, f: impl Fn(&Row) -> Result<T>) -> Result<Vec<T>> {
    rows.iter().map(f).collect()
}

impl Tx for PgTx<'_> {
    fn event(&mut self, id: &str) -> Result<Option<StoredEvent>> {
        self.query_opt(sql::EVENT, &[&id])?
            .as_ref()
            .map(event_row)
            .transpose()
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
        // Not shared: SQLite numbers its rowid itself. max + 1 is safe because the write lock
        // is held (see the module comment).
        let row = self.query_one(
            "INSERT INTO events (seq, id, hash, event, assigned, pushed_by, received_at)
             SELECT coalesce(max(seq), 0) + 1, $1, $2, $3, $4, $5, $6 FROM events
             RETURNING seq",
            &[
                &id,
                &hash,
                &event.to_string(),
                &assigned.to_string(),
                &pushed_by,
                &now,
            ],
        )?;
        Ok(row.try_get(0)?)
    }

    fn events_after(&mut self, seq: i64, limit: u32) -> Result<Vec<StoredEvent>> {
        // Not shared: this client fetches a whole result, so the byte budget is applied in SQL
        // (SQLite's backend counts as rows arrive). The page's rows first (LIMIT), then the
        // running size over them only: the events whose JSON before them in the page is under
        // the budget.
        let rows = self.query(
            "SELECT seq, event, hash, assigned, pushed_by, received_at FROM (
                 SELECT seq, event, hash, assigned, pushed_by, received_at,
                        sum(octet_length(event)) OVER (ORDER BY seq) - octet_length(event) AS before
                 FROM (SELECT seq, event, hash, assigned, pushed_by, received_at FROM events
                       WHERE seq > $1 ORDER BY seq LIMIT $2) page
             ) sized WHERE before < $3 ORDER BY seq",
            &[&seq, &i64::from(limit), &(super::PAGE_BYTES as i64)],
        )?;
        all(rows, event_row)
    }

    fn head(&mut self) -> Result<i64> {
        Ok(self.query_one(sql::HEAD, &[])?.try_get(0)?)
    }

    fn summary(&mut self, upto: i64) -> Result<(u64, String)> {
        use sha2::{Digest, Sha256};
        let rows = self.query(sql::EVENT_IDS_UPTO, &[&upto])?;
        let mut hasher = Sha256::new();
        for r in &rows {
            let id: String = r.try_get(0)?;
            hasher.update(id.as_bytes());
            hasher.update(b"\n");
        }
        Ok((rows.len() as u64, hex::encode(hasher.finalize())))
    }

    fn prompt(&mut self, name: &str) -> Result<Option<PromptRow>> {
        self.query_opt(sql::PROMPT, &[&name])?
            .as_ref()
            .map(prompt_row)
            .transpose()
    }

    fn put_prompt(&mut self, row: &PromptRow) -> Result<()> {
        self.execute(
            sql::PUT_PROMPT,
            &[
                &row.name,
                &row.kind,
                &row.description,
                &serde_json::to_string(&row.tags)?,
                &row.created_at,
                &row.updated_at,
            ],
        )?;
        Ok(())
    }

    fn prompts(&mut self, f: &PromptFilter) -> Result<(Vec<PromptRow>, u64)> {
        // Not shared: casts type the NULL tests, and the tag test mirrors SQLite's json_each
        // (an element of the stored array equals it).
        let filter = "FROM prompts p WHERE ($1::text IS NULL OR p.name = $1)
             AND ($2::text IS NULL OR EXISTS (SELECT 1 FROM labels l WHERE l.prompt = p.name AND l.label = $2))
             AND ($3::text IS NULL OR EXISTS (SELECT 1 FROM jsonb_array_elements(p.tags::jsonb) t(value)
                                               WHERE t.value = to_jsonb($3::text)))";
        let total: i64 = self
            .query_one(
                &format!("SELECT count(*) {filter}"),
                &[&f.name, &f.label, &f.tag],
            )?
            .try_get(0)?;
        let offset = i64::from(f.page.saturating_sub(1)) * i64::from(f.limit);
        let rows = self.query(
            &format!(
                "SELECT p.name, p.kind, p.description, p.tags, p.created_at, p.updated_at {filter}
                 ORDER BY p.name LIMIT $4 OFFSET $5"
            ),
            &[&f.name, &f.label, &f.tag, &i64::from(f.limit), &offset],
        )?;
        Ok((all(rows, prompt_row)?, total.max(0) as u64))
    }

    fn version(&mut self, prompt: &str, pick: &Pick) -> Result<Option<VersionRow>> {
        let row = match pick {
            Pick::Number(n) => {
                self.query_opt(sql::VERSION_BY_NUMBER, &[&prompt, &i64::from(*n)])?
            }
            Pick::Hash(h) => self.query_opt(sql::VERSION_BY_HASH, &[&prompt, h])?,
            Pick::Latest => self.query_opt(sql::LATEST_VERSION, &[&prompt])?,
        };
        row.as_ref().map(version_row).transpose()
    }

    fn version_numbers(&mut self, prompt: &str) -> Result<Vec<u32>> {
        let rows = self.query(sql::VERSION_NUMBERS, &[&prompt])?;
        all(rows, |r| number_col(r, 0))
    }

    fn insert_version(&mut self, v: &VersionRow) -> Result<()> {
        self.execute(
            sql::INSERT_VERSION,
            &[
                &v.prompt,
                &i64::from(v.number),
                &v.hash,
                &v.content.to_string(),
                &v.author,
                &v.message,
                &v.created_at,
            ],
        )?;
        Ok(())
    }

    fn label(&mut self, prompt: &str, label: &str) -> Result<Option<LabelRow>> {
        self.query_opt(sql::LABEL, &[&prompt, &label])?
            .as_ref()
            .map(label_row)
            .transpose()
    }

    fn labels(&mut self, prompt: &str) -> Result<Vec<LabelRow>> {
        let rows = self.query(sql::LABELS, &[&prompt])?;
        all(rows, label_row)
    }

    fn set_label(&mut self, l: &LabelRow) -> Result<()> {
        self.execute(
            sql::SET_LABEL,
            &[
                &l.prompt,
                &l.label,
                &l.hash,
                &i64::from(l.number),
                &l.moved_at,
                &l.moved_by,
            ],
        )?;
        Ok(())
    }

    fn remove_label(&mut self, prompt: &str, label: &str) -> Result<()> {
        self.execute(sql::REMOVE_LABEL, &[&prompt, &label])?;
        Ok(())
    }

    fn insert_label_move(&mut self, m: &LabelMoveRow) -> Result<()> {
        self.execute(
            sql::INSERT_LABEL_MOVE,
            &[
                &m.prompt,
                &m.label,
                &m.kind,
                &m.from_hash,
                &m.to_hash,
                &m.event_id,
                &m.moved_by,
                &m.moved_at,
            ],
        )?;
        Ok(())
    }

    fn label_served(&mut self, prompt: &str, label: &str, hash: &str) -> Result<bool> {
        Ok(self
            .query_one(sql::LABEL_SERVED, &[&prompt, &label, &hash])?
            .try_get(0)?)
    }

    fn label_history(&mut self, prompt: &str, label: &str) -> Result<Vec<LabelMoveRow>> {
        let rows = self.query(sql::LABEL_HISTORY, &[&prompt, &label])?;
        all(rows, move_row)
    }

    fn key(&mut self, key_id: &str) -> Result<Option<KeyRow>> {
        match self.query_opt(sql::KEY, &[&key_id])? {
            Some(r) => Ok(Some(KeyRow {
                key_id: r.try_get(0)?,
                person: r.try_get(1)?,
                public_key: r.try_get(2)?,
                registered_by: r.try_get(3)?,
                revoked_at: r.try_get(4)?,
                revoked_by: r.try_get(5)?,
            })),
            None => Ok(None),
        }
    }

    fn insert_key(&mut self, k: &KeyRow) -> Result<()> {
        self.execute(
            sql::INSERT_KEY,
            &[&k.key_id, &k.person, &k.public_key, &k.registered_by],
        )?;
        Ok(())
    }

    fn revoke_key(&mut self, key_id: &str, by: &str, at: &str, reason: &str) -> Result<()> {
        self.execute(sql::REVOKE_KEY, &[&key_id, &at, &by, &reason])?;
        Ok(())
    }

    fn review(&mut self, id: &str) -> Result<Option<ReviewRow>> {
        match self.query_opt(sql::REVIEW, &[&id])? {
            Some(r) => Ok(Some(ReviewRow {
                id: r.try_get(0)?,
                prompt: r.try_get(1)?,
                version_hash: r.try_get(2)?,
                label: r.try_get(3)?,
                requested_by: r.try_get(4)?,
            })),
            None => Ok(None),
        }
    }

    fn insert_review(&mut self, row: &ReviewRow) -> Result<()> {
        self.execute(
            sql::INSERT_REVIEW,
            &[
                &row.id,
                &row.prompt,
                &row.version_hash,
                &row.label,
                &row.requested_by,
            ],
        )?;
        Ok(())
    }

    fn insert_decision(&mut self, d: &DecisionRow) -> Result<()> {
        self.execute(
            sql::INSERT_DECISION,
            &[
                &d.id,
                &d.review,
                &d.prompt,
                &d.label,
                &d.content_hash,
                &d.actor,
                &d.actor_role.as_str(),
                &d.kind,
                &d.at,
                &d.key_id,
            ],
        )?;
        Ok(())
    }

    fn decisions(&mut self, prompt: &str, label: &str) -> Result<Vec<DecisionRow>> {
        let rows = self.query(sql::DECISIONS, &[&prompt, &label])?;
        all(rows, decision_row)
    }

    fn policy(&mut self, label: &str) -> Result<Option<Policy>> {
        match self.query_opt(sql::POLICY, &[&label])? {
            Some(r) => {
                let text: String = r.try_get(0)?;
                Ok(Some(serde_json::from_str(&text)?))
            }
            None => Ok(None),
        }
    }

    fn set_policy(&mut self, label: &str, policy: &Policy, by: &str, at: &str) -> Result<()> {
        self.execute(
            sql::SET_POLICY,
            &[&label, &serde_json::to_string(policy)?, &by, &at],
        )?;
        Ok(())
    }

    fn record(&mut self, collection: &str, id: &str) -> Result<Option<RecordRow>> {
        self.query_opt(sql::RECORD, &[&collection, &id])?
            .as_ref()
            .map(record_row)
            .transpose()
    }

    fn named_record(
        &mut self,
        collection: &str,
        prompt: &str,
        name: &str,
    ) -> Result<Option<RecordRow>> {
        self.query_opt(sql::NAMED_RECORD, &[&collection, &prompt, &name])?
            .as_ref()
            .map(record_row)
            .transpose()
    }

    fn insert_record(&mut self, r: &RecordRow) -> Result<()> {
        self.execute(
            sql::INSERT_RECORD,
            &[
                &r.collection,
                &r.id,
                &r.prompt,
                &r.name,
                &r.created_by,
                &r.created_at,
            ],
        )?;
        Ok(())
    }

    fn put_record_fields(
        &mut self,
        collection: &str,
        id: &str,
        fields: Option<&Value>,
    ) -> Result<()> {
        let text = fields.map(Value::to_string);
        let deleted = i32::from(fields.is_none());
        self.execute(sql::PUT_RECORD_FIELDS, &[&collection, &id, &text, &deleted])?;
        Ok(())
    }

    fn record_fields(&mut self, collection: &str, id: &str) -> Result<Option<Value>> {
        self.query_opt(sql::RECORD_FIELDS, &[&collection, &id])?
            .as_ref()
            .map(|r| json_col(r, 0))
            .transpose()
    }

    fn live_records(&mut self, collection: &str, prompt: &str) -> Result<Vec<(String, Value)>> {
        let rows = self.query(sql::LIVE_RECORDS, &[&collection, &prompt])?;
        all(rows, |r| Ok((r.try_get(0)?, json_col(r, 1)?)))
    }

    fn records_missing_fields(&mut self) -> Result<u64> {
        let n: i64 = self
            .query_one(sql::RECORDS_MISSING_FIELDS, &[])?
            .try_get(0)?;
        Ok(n as u64)
    }

    fn role_of(&mut self, user: &str) -> Result<Option<Role>> {
        self.query_opt(sql::ROLE_OF, &[&user])?
            .as_ref()
            .map(|r| role_col(r, 0))
            .transpose()
    }

    fn set_role(&mut self, user: &str, role: Role, at: &str) -> Result<()> {
        self.execute(sql::SET_ROLE, &[&user, &role.as_str(), &at])?;
        Ok(())
    }

    fn insert_token(&mut self, t: &TokenRow, secret_hash: &str) -> Result<()> {
        self.execute(
            sql::INSERT_TOKEN,
            &[
                &t.id,
                &t.kind,
                &t.display,
                &t.public_key,
                &t.user,
                &t.created_at,
                &t.revoked_at,
                &secret_hash,
            ],
        )?;
        Ok(())
    }

    fn token_by_secret(
        &mut self,
        secret_hash: &str,
        public_key: Option<&str>,
    ) -> Result<Option<TokenRow>> {
        // Not shared: the cast gives `$2` a type, which its NULL test alone cannot; SQLite does
        // not parse `::`.
        self.query_opt(
            "SELECT id, kind, display, public_key, user_name, created_at, revoked_at
             FROM tokens WHERE secret_hash = $1 AND revoked_at IS NULL
             AND ($2::text IS NULL OR public_key = $2)",
            &[&secret_hash, &public_key],
        )?
        .as_ref()
        .map(token_row)
        .transpose()
    }

    fn tokens(&mut self) -> Result<Vec<TokenRow>> {
        let rows = self.query(sql::TOKENS, &[])?;
        all(rows, token_row)
    }

    fn revoke_token(&mut self, id: &str, at: &str) -> Result<bool> {
        Ok(self.execute(sql::REVOKE_TOKEN, &[&id, &at])? > 0)
    }
}
