//! The server's storage: one small set of verbs ([`Tx`]) that every backend implements, so the
//! rules in `apply.rs` (policy, compare-and-swap, idempotent push) are written once.
//!
//! A backend is SQLite (the default: one file, WAL, writes in `BEGIN IMMEDIATE`) or, for teams
//! that run several replicas, PostgreSQL (writes serialised across replicas by an advisory lock;
//! see [`postgres`]). The verbs are synchronous; handlers call them on tokio's blocking pool.
//! The SQL the two dialects agree on is written once, in [`sql`]; each backend keeps only the
//! statements that differ.

pub mod postgres;
mod sql;
pub mod sqlite;

use promptdesk_protocol::policy::{Policy, Role};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::{Result, ServerError};

/// An event as the server keeps it: what was pushed, the sequence number it got, and what the
/// server assigned (a version's number).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StoredEvent {
    pub seq: i64,
    pub event: Value,
    pub hash: String,
    pub assigned: Value,
    /// Who pushed it (the token's person): the author, or an admin carrying someone else's
    /// event. Pulls carry it so a registry can show "pushed by … on behalf of …".
    #[serde(default)]
    pub pushed_by: String,
    /// The server's clock when it accepted the event: what every time rule used. The event's
    /// own `at` is the author's clock, kept for display.
    #[serde(default)]
    pub received_at: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PromptRow {
    pub name: String,
    pub kind: String,
    pub description: String,
    pub tags: Vec<String>,
    pub created_at: String,
    pub updated_at: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VersionRow {
    pub prompt: String,
    pub number: u32,
    pub hash: String,
    /// The version's content (`VersionContent` as JSON).
    pub content: Value,
    pub author: String,
    pub message: String,
    pub created_at: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LabelRow {
    pub prompt: String,
    pub label: String,
    pub hash: String,
    pub number: u32,
    pub moved_at: String,
    pub moved_by: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ReviewRow {
    pub id: String,
    pub prompt: String,
    pub version_hash: String,
    pub label: String,
    pub requested_by: String,
}

/// One accepted label move, as the server's label history keeps it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LabelMoveRow {
    pub prompt: String,
    pub label: String,
    /// `release`, `rollback` or `set`.
    pub kind: String,
    pub from_hash: Option<String>,
    pub to_hash: String,
    pub event_id: String,
    pub moved_by: String,
    /// The server's clock.
    pub moved_at: String,
}

/// A person's public signing key and who registered it.
#[derive(Debug, Clone, PartialEq)]
pub struct KeyRow {
    pub key_id: String,
    pub person: String,
    pub public_key: String,
    /// The person whose token pushed the registration; `None` for keys whose registration the
    /// server cannot trace. Only a key its person registered counts for their signatures.
    pub registered_by: Option<String>,
    /// When (the server's clock) and by whom it was revoked; a revoked key signs nothing.
    pub revoked_at: Option<String>,
    pub revoked_by: Option<String>,
}

/// An approval or a change request, as the release policy weighs it.
#[derive(Debug, Clone, PartialEq)]
pub struct DecisionRow {
    pub id: String,
    pub review: String,
    pub prompt: String,
    pub label: String,
    pub content_hash: String,
    pub actor: String,
    pub actor_role: Role,
    pub kind: String,
    pub at: String,
    /// The key the decision was signed with.
    pub key_id: Option<String>,
}

/// A record (test suite, case, rating, incident, note, postmortem) the server has accepted: what
/// the rules about records need and nothing more. The rows themselves live in the events.
#[derive(Debug, Clone, PartialEq)]
pub struct RecordRow {
    /// `suite`, `case`, … (`promptdesk_protocol::events::Collection`).
    pub collection: String,
    pub id: String,
    pub prompt: String,
    /// A suite's name (unique per prompt); `None` for other collections.
    pub name: Option<String>,
    pub created_by: String,
    pub created_at: String,
}

/// Which version of a prompt.
#[derive(Debug, Clone, PartialEq)]
pub enum Pick {
    Number(u32),
    Hash(String),
    Latest,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TokenRow {
    pub id: String,
    /// `token` (native API, Bearer) or `langfuse` (a public/secret key pair, HTTP Basic).
    pub kind: String,
    /// What a person sees to tell tokens apart: the first characters of the secret, or the
    /// public key of a Langfuse pair. Never enough to use it.
    pub display: String,
    pub public_key: Option<String>,
    pub user: String,
    pub created_at: String,
    pub revoked_at: Option<String>,
}

#[derive(Debug, Clone, Default)]
pub struct PromptFilter {
    pub name: Option<String>,
    pub label: Option<String>,
    pub tag: Option<String>,
    pub page: u32,
    pub limit: u32,
}

/// How much event JSON a page of [`Tx::events_after`] holds before it stops. A pull answers
/// one page, and the sync client reads answers of at most 10 MiB: a page is under this plus
/// one event, and no event is over `apply::MAX_EVENT_BYTES`.
pub const PAGE_BYTES: usize = 3 << 20;

/// Everything the server reads and writes, inside one transaction.
pub trait Tx {
    // events
    fn event(&mut self, id: &str) -> Result<Option<StoredEvent>>;
    fn append_event(
        &mut self,
        event: &Value,
        id: &str,
        hash: &str,
        assigned: &Value,
        pushed_by: &str,
        now: &str,
    ) -> Result<i64>;
    /// Up to `limit` events after `seq`, in order, stopping once [`PAGE_BYTES`] of event JSON
    /// came before (so at least one).
    fn events_after(&mut self, seq: i64, limit: u32) -> Result<Vec<StoredEvent>>;
    /// The newest sequence number (0 when there are no events).
    fn head(&mut self) -> Result<i64>;
    /// A digest of the ids of every event up to `seq`, for finding gaps.
    fn summary(&mut self, upto: i64) -> Result<(u64, String)>;

    // prompts and versions
    fn prompt(&mut self, name: &str) -> Result<Option<PromptRow>>;
    fn put_prompt(&mut self, row: &PromptRow) -> Result<()>;
    fn prompts(&mut self, filter: &PromptFilter) -> Result<(Vec<PromptRow>, u64)>;
    fn version(&mut self, prompt: &str, pick: &Pick) -> Result<Option<VersionRow>>;
    fn version_numbers(&mut self, prompt: &str) -> Result<Vec<u32>>;
    fn insert_version(&mut self, row: &VersionRow) -> Result<()>;

    // labels
    fn label(&mut self, prompt: &str, label: &str) -> Result<Option<LabelRow>>;
    fn labels(&mut self, prompt: &str) -> Result<Vec<LabelRow>>;
    fn set_label(&mut self, row: &LabelRow) -> Result<()>;
    fn remove_label(&mut self, prompt: &str, label: &str) -> Result<()>;
    fn insert_label_move(&mut self, row: &LabelMoveRow) -> Result<()>;
    /// Whether `label` of `prompt` was ever moved to `hash` by an accepted move.
    fn label_served(&mut self, prompt: &str, label: &str, hash: &str) -> Result<bool>;
    /// Every accepted move of `label` of `prompt`, oldest first.
    fn label_history(&mut self, prompt: &str, label: &str) -> Result<Vec<LabelMoveRow>>;

    // review and release
    fn key(&mut self, key_id: &str) -> Result<Option<KeyRow>>;
    fn insert_key(&mut self, row: &KeyRow) -> Result<()>;
    /// Marks a key revoked (a key is revoked once: a second call changes nothing).
    fn revoke_key(&mut self, key_id: &str, by: &str, at: &str, reason: &str) -> Result<()>;
    fn review(&mut self, id: &str) -> Result<Option<ReviewRow>>;
    fn insert_review(&mut self, row: &ReviewRow) -> Result<()>;
    fn insert_decision(&mut self, row: &DecisionRow) -> Result<()>;
    /// Each reviewer's latest decision on each content hash, for a prompt and label, signed
    /// with a key its reviewer registered themselves and nobody revoked (others never count).
    fn decisions(&mut self, prompt: &str, label: &str) -> Result<Vec<DecisionRow>>;
    fn policy(&mut self, label: &str) -> Result<Option<Policy>>;
    fn set_policy(&mut self, label: &str, policy: &Policy, by: &str, at: &str) -> Result<()>;

    // records (suites, cases, ratings, incidents, notes, postmortems)
    fn record(&mut self, collection: &str, id: &str) -> Result<Option<RecordRow>>;
    /// The record of `collection` of `prompt` named `name` (a suite), if any.
    fn named_record(
        &mut self,
        collection: &str,
        prompt: &str,
        name: &str,
    ) -> Result<Option<RecordRow>>;
    fn insert_record(&mut self, row: &RecordRow) -> Result<()>;
    /// Keeps a record's latest fields, or (`None`) that it was deleted.
    fn put_record_fields(
        &mut self,
        collection: &str,
        id: &str,
        fields: Option<&Value>,
    ) -> Result<()>;
    /// A live record's latest fields.
    fn record_fields(&mut self, collection: &str, id: &str) -> Result<Option<Value>>;
    /// The live records of `collection` of `prompt` with their latest fields, by id.
    fn live_records(&mut self, collection: &str, prompt: &str) -> Result<Vec<(String, Value)>>;
    /// How many records have neither fields nor a deletion (accepted before schema 4).
    fn records_missing_fields(&mut self) -> Result<u64>;

    // people and tokens
    fn role_of(&mut self, user: &str) -> Result<Option<Role>>;
    fn set_role(&mut self, user: &str, role: Role, at: &str) -> Result<()>;
    fn insert_token(&mut self, row: &TokenRow, secret_hash: &str) -> Result<()>;
    /// The live token whose secret hashes to `secret_hash` (and, for a Langfuse pair, whose
    /// public key is `public_key`).
    fn token_by_secret(
        &mut self,
        secret_hash: &str,
        public_key: Option<&str>,
    ) -> Result<Option<TokenRow>>;
    fn tokens(&mut self) -> Result<Vec<TokenRow>>;
    fn revoke_token(&mut self, id: &str, at: &str) -> Result<bool>;
}

/// A configured backend.
pub enum Store {
    Sqlite(sqlite::SqliteStore),
    /// Boxed: its config and pool are larger than the SQLite handles.
    Postgres(Box<postgres::PostgresStore>),
}

/// Whether `url` names a PostgreSQL database.
fn is_postgres(url: &str) -> bool {
    url.starts_with("postgres://") || url.starts_with("postgresql://")
}

/// `url` fit to print: a PostgreSQL URL's password (in the user part or a `password=` parameter)
/// is replaced by `***`. Anything else is returned as it is.
pub fn display_url(url: &str) -> String {
    if !is_postgres(url) {
        return url.to_string();
    }
    let (scheme, rest) = url.split_once("://").unwrap_or(("", url));
    let (main, query) = match rest.split_once('?') {
        Some((m, q)) => (m, Some(q)),
        None => (rest, None),
    };
    // The last `@` ends the user part even when an unencoded password holds `@` or `/`; at
    // worst this hides more than the password, never less.
    let main = match main.rfind('@') {
        Some(at) => match main[..at].split_once(':') {
            Some((user, _password)) => format!("{user}:***{}", &main[at..]),
            None => main.to_string(),
        },
        None => main.to_string(),
    };
    let query = query.map(|q| {
        q.split('&')
            .map(|kv| match kv.split_once('=') {
                Some((k, _)) if k.eq_ignore_ascii_case("password") => format!("{k}=***"),
                _ => kv.to_string(),
            })
            .collect::<Vec<_>>()
            .join("&")
    });
    match query {
        Some(q) => format!("{scheme}://{main}?{q}"),
        None => format!("{scheme}://{main}"),
    }
}

impl Store {
    /// Opens `sqlite://PATH` (or a bare path), or `postgres://USER:PASSWORD@HOST:PORT/DATABASE`
    /// (also `postgresql://`, with libpq's URL parameters), bringing its schema up to date.
    /// Errors never repeat the password.
    pub fn open(url: &str) -> Result<Store> {
        Store::open_and_backfill(url)
    }

    fn open_schema(url: &str) -> Result<Store> {
        if is_postgres(url) {
            return Ok(Store::Postgres(Box::new(postgres::PostgresStore::open(
                url,
            )?)));
        }
        let path = url.strip_prefix("sqlite://").unwrap_or(url);
        if path.is_empty() {
            return Err(ServerError::BadInput(
                "the database URL names no file: use sqlite://PATH".into(),
            ));
        }
        Ok(Store::Sqlite(sqlite::SqliteStore::open(path.as_ref())?))
    }

    /// Opens the store and, once, gives the records accepted before schema 4 their latest
    /// fields by replaying the `records.put` events in order (what every registry did).
    fn open_and_backfill(url: &str) -> Result<Store> {
        let store = Store::open_schema(url)?;
        if store.read(|tx| tx.records_missing_fields())? > 0 {
            store.write(backfill_record_fields)?;
        }
        Ok(store)
    }

    /// Runs `f` in a write transaction: committed when it returns Ok, rolled back otherwise.
    pub fn write<T>(&self, f: impl FnOnce(&mut dyn Tx) -> Result<T>) -> Result<T> {
        match self {
            Store::Sqlite(s) => s.write(f),
            Store::Postgres(s) => s.write(f),
        }
    }

    /// Runs `f` on a consistent snapshot.
    pub fn read<T>(&self, f: impl FnOnce(&mut dyn Tx) -> Result<T>) -> Result<T> {
        match self {
            Store::Sqlite(s) => s.read(f),
            Store::Postgres(s) => s.read(f),
        }
    }
}

/// Gives every record its latest fields from the event log (see [`Store::open_and_backfill`]).
fn backfill_record_fields(tx: &mut dyn Tx) -> Result<()> {
    let mut after = 0;
    loop {
        let page = tx.events_after(after, 1000)?;
        let Some(last) = page.last() else {
            return Ok(());
        };
        after = last.seq;
        for stored in page {
            if stored.event.get("kind").and_then(Value::as_str) != Some("records.put") {
                continue;
            }
            let changes = stored
                .event
                .pointer("/payload/records")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default();
            for change in changes {
                let (Some(collection), Some(id)) = (
                    change.get("collection").and_then(Value::as_str),
                    change.get("id").and_then(Value::as_str),
                ) else {
                    continue;
                };
                let fields = change.get("record").filter(|r| !r.is_null());
                tx.put_record_fields(collection, id, fields)?;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::display_url;

    #[test]
    fn printed_urls_hide_passwords() {
        assert_eq!(
            display_url("postgres://ana:s3cr%40t@db.internal:5432/registry?sslmode=disable"),
            "postgres://ana:***@db.internal:5432/registry?sslmode=disable"
        );
        assert_eq!(
            display_url("postgresql://ana@db/registry?password=s3cret&application_name=x"),
            "postgresql://ana@db/registry?password=***&application_name=x"
        );
        assert_eq!(
            display_url("postgres://ana:p@ss@h1,h2:5433"),
            "postgres://ana:***@h1,h2:5433"
        );
        assert_eq!(
            display_url("postgres://ana:a/b@host/db"),
            "postgres://ana:***@host/db"
        );
        assert_eq!(display_url("sqlite://team.db"), "sqlite://team.db");
    }
}
