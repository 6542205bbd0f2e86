//! What the server tells this registry: the fate of each pushed event (stored, with the number
//! the server gave a version; or refused, with why), and everyone's events, pulled in the
//! server's order and applied here as the server recorded them.
//!
//! Pulled records are applied verbatim (see `release_records`): the server already ran the
//! release policy on them, and this registry records its verdict (`assigned.decision`) rather
//! than re-deciding with local roles. Each applied event gets a ledger entry of the same kind
//! the operation would have written here, with `sync: {event, seq}` in its payload, so
//! timelines read alike wherever a change was made.
//!
//! Record changes (`records.put`: suites, cases, ratings, incidents, notes, postmortems) are
//! upserts by id, last writer in the server's order winning (see `super::records` for why that
//! converges): a pulled change skips rows with a change here still waiting to be pushed, and
//! the pull applies this registry's own changes again when it reaches them. A pulled suite
//! whose name a suite made here already has (one the server refused, or has not seen) takes
//! the name; the one made here is kept under another name (`suite.renamed` in the ledger).
//!
//! Version numbers follow the server: a version made here offline whose number the server gave
//! to someone else's version moves to the number it was given (or, until it is pushed, to the
//! first free number). Every move is in the ledger as `version.renumbered`.

use std::collections::HashSet;

use promptdesk_content::{sha256_hex, VersionContent};
use rusqlite::{params, Connection, OptionalExtension};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::outbox::Pending;
use super::records::{self, Collection, RecordChange, RECORD_KINDS};
use super::{EventBody, MoveKind, SyncEvent};
use crate::error::{Error, Result};
use crate::model::DraftContent;
use crate::policy::Role;
use crate::registry::{body_text, Registry, WriteContext};
use crate::release_records::{self, Record, ReleaseRecord, ReviewEventRecord, ReviewRecord};
use crate::store::{drafts, labels, ledger, prompts, search, settings, versions};

/// An event as a pull returns it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Pulled {
    pub seq: i64,
    pub event: SyncEvent,
    pub hash: String,
    #[serde(default)]
    pub assigned: Value,
    /// Who pushed it: its author, or an admin who carried it for them (servers before schema 3
    /// do not say).
    #[serde(default)]
    pub pushed_by: String,
    /// The server's clock when it accepted the event.
    #[serde(default)]
    pub received_at: String,
}

/// A pulled event this registry could not apply: kept aside with why, so that every later
/// change still arrives. Shown with the sync status until someone deals with it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ts_rs::TS)]
pub struct SetAsideEvent {
    pub event_id: String,
    /// The server's sequence number.
    pub seq: i64,
    pub kind: String,
    pub subject: String,
    pub author: String,
    /// Why it could not be applied here.
    pub message: String,
    /// When this registry set it aside.
    pub at: String,
}

/// The server's answer about one pushed event.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Acknowledged {
    pub id: String,
    pub seq: i64,
    /// `stored`, or `duplicate` for a replay.
    pub status: String,
    #[serde(default)]
    pub assigned: Value,
}

/// A change of this registry's that the server refused, as the conflict view shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ts_rs::TS)]
pub struct RefusedChange {
    pub event_id: String,
    pub kind: String,
    pub subject: String,
    pub message: String,
    pub at: String,
}

/// Where this registry stands with its server.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ts_rs::TS)]
pub struct SyncState {
    /// The server's URL, when one is set.
    pub remote: Option<String>,
    /// Changes made here that the server has not seen.
    pub pending: u64,
    /// The last server sequence number pulled.
    pub cursor: i64,
    pub refused: Vec<RefusedChange>,
    /// Everyone's changes that this registry pulled but could not apply.
    pub set_aside: Vec<SetAsideEvent>,
    /// When the last sync finished without error, and the last error since.
    pub last_synced_at: Option<String>,
    pub last_error: Option<String>,
}

/// What a page of pulled events did here.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PullReport {
    pub applied: u64,
    /// Events that were this registry's own (or already applied).
    pub known: u64,
    pub renumbered: u64,
    /// Events that could not be applied here and were set aside (see [`SetAsideEvent`]).
    #[serde(default)]
    pub set_aside: u64,
}

const CURSOR: &str = "sync.cursor";
const REMOTE: &str = "sync.remote";
const LAST_OK: &str = "sync.last_ok";
const LAST_ERROR: &str = "sync.last_error";
const WITNESS: &str = "sync.witness";

/// Whether applying a pulled event failed because of the event (what it says, or what it
/// needs that this registry does not have) rather than because of this registry's storage.
fn is_about_the_event(e: &Error) -> bool {
    match e {
        Error::Storage(rusqlite::Error::SqliteFailure(f, _)) => {
            f.code == rusqlite::ErrorCode::ConstraintViolation
        }
        Error::Storage(rusqlite::Error::FromSqlConversionFailure(..))
        | Error::Storage(rusqlite::Error::InvalidColumnType(..)) => true,
        Error::Storage(_) | Error::Io { .. } => false,
        _ => true,
    }
}

/// Keeps a pulled event that cannot be applied here, with why; the pull goes on after it.
fn set_aside(tx: &Connection, p: &Pulled, why: &str, now: &str) -> Result<()> {
    tx.execute(
        "INSERT INTO sync_events (event_id, ledger_id, kind, subject, seq, hash, status, message,
                                  at, event)
         VALUES (?1, NULL, ?2, ?3, ?4, ?5, 'set_aside', ?6, ?7, ?8)
         ON CONFLICT (event_id) DO UPDATE SET seq = coalesce(excluded.seq, seq),
             status = 'set_aside', message = excluded.message, at = excluded.at,
             event = excluded.event",
        params![
            p.event.id,
            p.event.body.change_kind(),
            subject_of(&p.event),
            p.seq,
            p.hash,
            why,
            now,
            serde_json::to_string(&p.event).unwrap_or_default()
        ],
    )?;
    Ok(())
}

fn subject_of(event: &SyncEvent) -> String {
    match &event.body {
        EventBody::KeyRegister { .. } => event.author.clone(),
        EventBody::PolicySet { label, .. } => label.clone(),
        body => body.prompt().unwrap_or_default().to_string(),
    }
}

fn record_exchange(
    tx: &Connection,
    event: &SyncEvent,
    ledger_id: Option<&str>,
    seq: Option<i64>,
    status: &str,
    message: &str,
    now: &str,
) -> Result<()> {
    tx.execute(
        "INSERT INTO sync_events (event_id, ledger_id, kind, subject, seq, hash, status, message, at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)
         ON CONFLICT (event_id) DO UPDATE SET seq = coalesce(excluded.seq, seq),
             status = excluded.status, message = excluded.message, at = excluded.at,
             ledger_id = coalesce(ledger_id, excluded.ledger_id)",
        params![
            event.id,
            ledger_id,
            event.body.change_kind(),
            subject_of(event),
            seq,
            event.hash,
            status,
            message,
            now
        ],
    )?;
    Ok(())
}

impl Registry {
    /// The server's URL for this registry (the token that goes with it lives in the OS keyring,
    /// never here).
    pub fn sync_remote(&self) -> Result<Option<String>> {
        settings::get(self.connection(), REMOTE)
    }

    pub fn set_sync_remote(&mut self, url: &str) -> Result<()> {
        let url = url.trim().trim_end_matches('/').to_string();
        if !(url.starts_with("http://") || url.starts_with("https://")) {
            return Err(Error::bad(format!(
                "'{url}' is not a server URL: it must start with http:// or https://"
            )));
        }
        let old = self.sync_remote()?;
        self.write(|tx, ctx| {
            settings::set(tx, REMOTE, &url)?;
            ctx.event(
                tx,
                "remote.set",
                "registry",
                json!({ "from": old, "to": url }),
            )
        })
    }

    /// Changes waiting to be pushed, oldest first.
    pub fn sync_pending(&self, limit: usize) -> Result<Vec<Pending>> {
        super::outbox::pending(self.connection(), limit)
    }

    pub fn sync_state(&self) -> Result<SyncState> {
        let conn = self.connection();
        let mut stmt = conn.prepare_cached(
            "SELECT event_id, kind, subject, message, at FROM sync_events
             WHERE status = 'refused' ORDER BY at, event_id",
        )?;
        let refused = stmt
            .query_map([], |r| {
                Ok(RefusedChange {
                    event_id: r.get(0)?,
                    kind: r.get(1)?,
                    subject: r.get(2)?,
                    message: r.get(3)?,
                    at: r.get(4)?,
                })
            })?
            .collect::<rusqlite::Result<_>>()?;
        let mut stmt = conn.prepare_cached(
            "SELECT event_id, seq, kind, subject, coalesce(json_extract(event, '$.author'), ''),
                    message, at
             FROM sync_events WHERE status = 'set_aside' ORDER BY seq",
        )?;
        let set_aside = stmt
            .query_map([], |r| {
                Ok(SetAsideEvent {
                    event_id: r.get(0)?,
                    seq: r.get(1)?,
                    kind: r.get(2)?,
                    subject: r.get(3)?,
                    author: r.get(4)?,
                    message: r.get(5)?,
                    at: r.get(6)?,
                })
            })?
            .collect::<rusqlite::Result<_>>()?;
        Ok(SyncState {
            remote: settings::get(conn, REMOTE)?,
            pending: super::outbox::count(conn)?,
            cursor: self.sync_cursor()?,
            refused,
            set_aside,
            last_synced_at: settings::get(conn, LAST_OK)?,
            last_error: settings::get(conn, LAST_ERROR)?.filter(|e| !e.is_empty()),
        })
    }

    /// Records how the last sync ended (not in the ledger: it is weather, not history).
    pub fn set_sync_outcome(&mut self, error: Option<&str>) -> Result<()> {
        let now = self.now();
        self.write(|tx, _| {
            match error {
                None => {
                    settings::set(tx, LAST_OK, &now)?;
                    settings::set(tx, LAST_ERROR, "")?;
                }
                Some(e) => settings::set(tx, LAST_ERROR, e)?,
            }
            Ok(())
        })
    }

    pub fn sync_cursor(&self) -> Result<i64> {
        Ok(settings::get(self.connection(), CURSOR)?
            .and_then(|s| s.parse().ok())
            .unwrap_or(0))
    }

    /// Keeps the server's word on this registry's exchanges up to `upto` (how many, and the
    /// digest of their ids), after the two agreed. [`Registry::sync_witness_problems`] checks
    /// it: a registry file whose pulled events (or their ledger entries) were cut out no longer
    /// matches what the server once confirmed.
    pub fn sync_keep_witness(&mut self, upto: i64, count: u64, digest: &str) -> Result<()> {
        let witness = json!({ "upto": upto, "count": count, "digest": digest });
        self.write(|tx, _| settings::set(tx, WITNESS, &witness.to_string()))
    }

    /// What the kept witness of the server's log says is missing here, if anything: the
    /// exchanges it confirmed must all still be here, and every event applied here must still
    /// have its ledger entry. Without a witness (never synced) there is nothing to say.
    pub fn sync_witness_problems(&self) -> Result<Vec<String>> {
        let conn = self.connection();
        let mut problems = Vec::new();
        if let Some(text) = settings::get(conn, WITNESS)? {
            let w: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
            match (
                w["upto"].as_i64(),
                w["count"].as_u64(),
                w["digest"].as_str(),
            ) {
                (Some(upto), Some(count), Some(digest)) => {
                    let (here, here_digest) = self.sync_summary(upto)?;
                    if here != count || here_digest != digest {
                        problems.push(format!(
                            "sync_events: the team server confirmed {count} exchanged events up                              to #{upto} at the last sync; this registry now has {here}{}                              (rows were removed or changed; a sync pulls them again)",
                            if here == count { " with other ids" } else { "" }
                        ));
                    }
                }
                _ => problems
                    .push("settings: the kept witness of the server's log is unreadable".into()),
            }
        }
        let mut stmt = conn.prepare(
            "SELECT s.event_id, s.ledger_id, s.seq FROM sync_events s
             WHERE s.ledger_id IS NOT NULL
               AND NOT EXISTS (SELECT 1 FROM ledger l WHERE l.id = s.ledger_id)
             ORDER BY s.seq",
        )?;
        let missing = stmt.query_map([], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, Option<i64>>(2)?,
            ))
        })?;
        for m in missing {
            let (event, ledger_id, seq) = m?;
            problems.push(format!(
                "ledger: entry {ledger_id} (event {event}{}) was exchanged with the server but                  is no longer in the ledger (the ledger was cut)",
                seq.map(|s| format!(", server #{s}")).unwrap_or_default()
            ));
        }
        Ok(problems)
    }

    /// Starts the next pull from the beginning (after a gap was found); applying is idempotent.
    pub fn reset_sync_cursor(&mut self) -> Result<()> {
        self.write(|tx, _| settings::set(tx, CURSOR, "0"))
    }

    /// How many events up to `upto` this registry has exchanged, and the digest the server
    /// computes the same way (SHA-256 of their ids in sequence order, one per line).
    pub fn sync_summary(&self, upto: i64) -> Result<(u64, String)> {
        let mut stmt = self.connection().prepare_cached(
            "SELECT event_id FROM sync_events WHERE seq IS NOT NULL AND seq <= ?1 ORDER BY seq",
        )?;
        let mut bytes = Vec::new();
        let mut n = 0u64;
        for id in stmt.query_map([upto], |r| r.get::<_, String>(0))? {
            bytes.extend_from_slice(id?.as_bytes());
            bytes.push(b'\n');
            n += 1;
        }
        Ok((n, sha256_hex(&bytes)))
    }

    /// Records the server's answers to pushed events; versions take the numbers it gave them.
    pub fn sync_acknowledge(&mut self, acks: &[(Pending, Acknowledged)]) -> Result<u64> {
        self.write(|tx, ctx| {
            let mut renumbered = 0;
            for (pending, ack) in acks {
                if ack.id != pending.event.id {
                    return Err(Error::Integrity(format!(
                        "the server answered about event {} when {} was pushed",
                        ack.id, pending.event.id
                    )));
                }
                record_exchange(
                    tx,
                    &pending.event,
                    Some(&pending.ledger_id),
                    Some(ack.seq),
                    "pushed",
                    "",
                    &ctx.at,
                )?;
                renumbered += follow_number(tx, ctx, &pending.event, &ack.assigned)?;
            }
            super::outbox::advance(tx)?;
            Ok(renumbered)
        })
    }

    /// Records that the server refused a pushed event, and why. It stays refused (shown in the
    /// conflict view) and is not pushed again.
    pub fn sync_refused(&mut self, pending: &Pending, message: &str) -> Result<()> {
        self.write(|tx, ctx| {
            record_exchange(
                tx,
                &pending.event,
                Some(&pending.ledger_id),
                None,
                "refused",
                message,
                &ctx.at,
            )?;
            ctx.event(
                tx,
                "sync.refused",
                &subject_of(&pending.event),
                json!({ "event": pending.event.id, "kind": pending.event.body.change_kind(),
                        "message": message }),
            )?;
            super::outbox::advance(tx)
        })
    }

    /// Applies a page of pulled events in one transaction and moves the cursor past them. An
    /// event that cannot be applied here is set aside (undone to where it began, kept with
    /// why) and the page goes on: one bad event from anyone must not stop everyone's sync. A
    /// failure of this registry itself (storage, disk) stops the page, and nothing of it stays.
    pub fn sync_apply_pulled(&mut self, events: &[Pulled]) -> Result<PullReport> {
        let start = self.sync_cursor()?;
        self.write(|tx, ctx| {
            let mut report = PullReport::default();
            let mut cursor = start;
            let unpushed = unpushed_rows(tx)?;
            for p in events {
                tx.execute_batch("SAVEPOINT pulled_event")?;
                match apply_pulled(tx, ctx, p, &unpushed, &mut report) {
                    Ok(()) => tx.execute_batch("RELEASE pulled_event")?,
                    Err(e) if is_about_the_event(&e) => {
                        tx.execute_batch("ROLLBACK TO pulled_event; RELEASE pulled_event")?;
                        set_aside(tx, p, &e.to_string(), &ctx.at)?;
                        report.set_aside += 1;
                    }
                    Err(e) => {
                        return Err(match e {
                            Error::Storage(s) => Error::Io {
                                context: format!(
                                    "applying pulled event {} (#{}, {} by {})",
                                    p.event.id,
                                    p.seq,
                                    p.event.body.kind(),
                                    p.event.author
                                ),
                                source: std::io::Error::other(s),
                            },
                            other => other,
                        })
                    }
                }
                cursor = cursor.max(p.seq);
            }
            settings::set(tx, CURSOR, &cursor.to_string())?;
            super::outbox::advance(tx)?;
            Ok(report)
        })
    }

    /// Puts `label` of `prompt` back where the server has it (after the server refused a move
    /// made here). `server_hash` is what the server serves, `None` when the label is not set
    /// there. Returns whether anything changed.
    pub fn sync_restore_label(
        &mut self,
        prompt: &str,
        label: &str,
        server_hash: Option<&str>,
        why: &str,
    ) -> Result<bool> {
        self.write(|tx, ctx| {
            let Some(p) = prompts::find(tx, prompt)? else {
                return Ok(false);
            };
            let here = labels::get(tx, p.id, label)?;
            if here.as_ref().map(|l| l.hash.as_str()) == server_hash {
                return Ok(false);
            }
            match server_hash {
                Some(hash) => {
                    if versions::by_hash(tx, p.id, hash)?.is_none() {
                        return Err(Error::NotFound(format!(
                            "{label} of {prompt} serves #{} on the server, which is not here yet: pull first",
                            &hash[..12.min(hash.len())]
                        )));
                    }
                    labels::set(
                        tx,
                        p.id,
                        label,
                        here.as_ref().map(|l| l.hash.as_str()),
                        hash,
                        ctx.actor,
                        &ctx.at,
                        why,
                    )?;
                }
                None => {
                    tx.execute(
                        "DELETE FROM labels WHERE prompt_id = ?1 AND name = ?2",
                        params![p.id, label],
                    )?;
                }
            }
            ctx.event(
                tx,
                "label.restored",
                prompt,
                json!({ "label": label, "from": here.map(|l| l.hash), "to": server_hash,
                        "reason": why }),
            )?;
            Ok(true)
        })
    }
}

/// Gives a pushed (or pulled) version the number the server assigned. Returns how many versions
/// moved.
fn follow_number(
    tx: &Connection,
    ctx: &mut WriteContext<'_>,
    event: &SyncEvent,
    assigned: &Value,
) -> Result<u64> {
    let EventBody::VersionCreate { prompt, hash, .. } = &event.body else {
        return Ok(0);
    };
    let Some(number) = assigned.get("number").and_then(Value::as_u64) else {
        return Ok(0);
    };
    let Some(p) = prompts::find(tx, prompt)? else {
        return Ok(0);
    };
    let moved = place_version(tx, ctx, p.id, prompt, hash, number as u32)?;
    if moved > 0 {
        refresh_latest(tx, ctx, p.id, prompt)?;
    }
    Ok(moved)
}

/// Moves the version `hash` to `number`, moving whatever holds that number out of the way
/// first (to the first free number). Returns how many versions moved.
fn place_version(
    tx: &Connection,
    ctx: &mut WriteContext<'_>,
    prompt_id: i64,
    prompt: &str,
    hash: &str,
    number: u32,
) -> Result<u64> {
    let current = versions::by_hash(tx, prompt_id, hash)?.map(|v| v.number);
    if current == Some(number) {
        return Ok(0);
    }
    let mut moved = 0;
    if let Some(occupant) = versions::by_number(tx, prompt_id, number)? {
        let free = versions::latest_number(tx, prompt_id)?.unwrap_or(0) + 1;
        renumber(tx, ctx, prompt_id, prompt, &occupant.hash, number, free)?;
        moved += 1;
    }
    if let Some(from) = current {
        renumber(tx, ctx, prompt_id, prompt, hash, from, number)?;
        moved += 1;
    }
    Ok(moved)
}

fn renumber(
    tx: &Connection,
    ctx: &mut WriteContext<'_>,
    prompt_id: i64,
    prompt: &str,
    hash: &str,
    from: u32,
    to: u32,
) -> Result<()> {
    tx.execute(
        "UPDATE versions SET number = ?3 WHERE prompt_id = ?1 AND hash = ?2",
        params![prompt_id, hash, to],
    )?;
    ctx.event(
        tx,
        "version.renumbered",
        prompt,
        json!({ "hash": hash, "from": from, "to": to }),
    )
}

/// After versions arrived or moved: `latest` points at the highest number, and a draft nobody
/// has touched since the old latest follows it (a draft with changes is left alone).
fn refresh_latest(
    tx: &Connection,
    ctx: &mut WriteContext<'_>,
    prompt_id: i64,
    prompt: &str,
) -> Result<()> {
    let Some(newest) = versions::latest(tx, prompt_id)? else {
        return Ok(());
    };
    let old = labels::get(tx, prompt_id, "latest")?;
    if old.as_ref().is_some_and(|l| l.hash == newest.hash) {
        return Ok(());
    }
    let old_hash = old.map(|l| l.hash);
    labels::set(
        tx,
        prompt_id,
        "latest",
        old_hash.as_deref(),
        &newest.hash,
        ctx.actor,
        &ctx.at,
        "synced",
    )?;
    let content: VersionContent = serde_json::from_str(&newest.content)
        .map_err(|e| Error::Integrity(format!("{prompt}@{}: {e}", newest.number)))?;
    let changed = drafts::is_changed(tx, prompt_id)?;
    if let Some(draft) = drafts::get(tx, prompt_id)? {
        if !changed && draft.base_hash == old_hash {
            let fresh = DraftContent {
                body: content.body.clone(),
                variables: content.variables.clone(),
                model: content.model.clone(),
            };
            drafts::put(
                tx,
                prompt_id,
                &fresh,
                Some(&newest.hash),
                false,
                &ctx.at,
                ctx.actor,
            )?;
        }
    }
    let p = prompts::get_by_id(tx, prompt_id)?;
    let text = drafts::get(tx, prompt_id)?
        .filter(|_| changed)
        .map(|d| body_text(&d.content.body))
        .unwrap_or_else(|| body_text(&content.body));
    search::index(tx, prompt_id, prompt, &p.description, &text)
}

/// Appends the ledger entry of an applied event and notes it as exchanged.
fn witness(
    tx: &Connection,
    ctx: &mut WriteContext<'_>,
    p: &Pulled,
    kind: &str,
    subject: &str,
    mut payload: Value,
) -> Result<()> {
    let id = ctx.new_id();
    if let Some(o) = payload.as_object_mut() {
        let mut sync = json!({ "event": p.event.id, "seq": p.seq });
        // Carried by someone other than its author (an admin moving a registry over): say so.
        if !p.pushed_by.is_empty() && p.pushed_by != p.event.author {
            sync["pushed_by"] = json!(p.pushed_by);
        }
        o.insert("sync".into(), sync);
    }
    ledger::append(
        tx,
        &id,
        &p.event.at,
        &p.event.author,
        kind,
        subject,
        payload,
    )?;
    record_exchange(tx, &p.event, Some(&id), Some(p.seq), "pulled", "", &ctx.at)
}

fn prompt_id(tx: &Connection, name: &str) -> Result<i64> {
    prompts::find(tx, name)?.map(|p| p.id).ok_or_else(|| {
        Error::bad(format!(
            "the prompt {name} is not in this registry (its creation was not pulled)"
        ))
    })
}

fn version_number(tx: &Connection, prompt_id: i64, name: &str, hash: &str) -> Result<u32> {
    versions::by_hash(tx, prompt_id, hash)?
        .map(|v| v.number)
        .ok_or_else(|| {
            Error::bad(format!(
                "{name} has no version #{} here",
                &hash[..12.min(hash.len())]
            ))
        })
}

fn review_number(tx: &Connection, id: &str) -> Result<u32> {
    tx.query_row("SELECT number FROM reviews WHERE id = ?1", [id], |r| {
        r.get(0)
    })
    .optional()?
    .ok_or_else(|| Error::bad(format!("review {id} is not in this registry")))
}

fn role_in(assigned: &Value) -> Role {
    assigned
        .get("actor_role")
        .and_then(Value::as_str)
        .and_then(Role::parse)
        .unwrap_or(Role::Viewer)
}

fn apply_pulled(
    tx: &Connection,
    ctx: &mut WriteContext<'_>,
    p: &Pulled,
    unpushed: &HashSet<(Collection, String)>,
    report: &mut PullReport,
) -> Result<()> {
    let e = &p.event;
    if e.hash != p.hash {
        return Err(Error::Integrity(format!(
            "the server lists hash {} but the event hashes to {}",
            p.hash, e.hash
        )));
    }
    e.check().map_err(Error::Integrity)?;
    let known: Option<String> = tx
        .query_row(
            "SELECT status FROM sync_events WHERE event_id = ?1",
            [&e.id],
            |r| r.get(0),
        )
        .optional()?;
    if known.as_deref() == Some("set_aside") {
        // Set aside before (and pulled again from the start): it stays aside.
        report.set_aside += 1;
        return Ok(());
    }
    if known.is_some() {
        // Ours (pushed from here) or applied before: note where the server put it.
        tx.execute(
            "UPDATE sync_events SET seq = ?2, status = CASE status WHEN 'refused' THEN 'pushed' ELSE status END
             WHERE event_id = ?1",
            params![e.id, p.seq],
        )?;
        report.renumbered += follow_number(tx, ctx, e, &p.assigned)?;
        // A change pulled before this one may have come after it here: this one is later in
        // the server's order, so its rows win again.
        if let EventBody::RecordsPut {
            prompt, records, ..
        } = &e.body
        {
            if let Some(found) = prompts::find(tx, prompt)? {
                apply_records(tx, ctx, found.id, prompt, &e.author, records, unpushed)?;
            }
        }
        report.known += 1;
        return Ok(());
    }
    match &e.body {
        EventBody::PromptCreate {
            name,
            kind,
            description,
            tags,
        } => match prompts::find(tx, name)? {
            // Made here too, offline: the server converged them into one prompt.
            Some(_) => record_exchange(tx, e, None, Some(p.seq), "pulled", "", &ctx.at)?,
            None => {
                let created =
                    prompts::insert(tx, name, *kind, description, tags, &e.at, &e.author)?;
                drafts::put(
                    tx,
                    created.id,
                    &DraftContent::empty(*kind),
                    None,
                    false,
                    &e.at,
                    &e.author,
                )?;
                search::index(tx, created.id, name, description, "")?;
                witness(
                    tx,
                    ctx,
                    p,
                    "prompt.created",
                    name,
                    json!({ "kind": kind, "description": description, "tags": tags }),
                )?;
            }
        },
        EventBody::PromptUpdate {
            name,
            description,
            tags,
        } => {
            let id = prompt_id(tx, name)?;
            prompts::update_meta(tx, id, description, tags)?;
            witness(
                tx,
                ctx,
                p,
                "prompt.updated",
                name,
                json!({ "description": description, "tags": tags }),
            )?;
        }
        EventBody::VersionCreate {
            prompt,
            hash,
            parent_hash,
            content,
            message,
        } => {
            let id = prompt_id(tx, prompt)?;
            // Two people made this name offline as different kinds and the server kept the
            // other one: its versions cannot live in the prompt made here.
            let here = prompts::get_by_id(tx, id)?.kind;
            if here != content.kind() {
                return Err(Error::Conflict(format!(
                    "{prompt} is a {} prompt here, but the server's {prompt} is {} (its \
                     creation reached the server first): rename the prompt made here to keep \
                     both",
                    here.as_str(),
                    content.kind().as_str()
                )));
            }
            let number = p
                .assigned
                .get("number")
                .and_then(Value::as_u64)
                .ok_or_else(|| Error::Integrity("the server assigned it no number".into()))?
                as u32;
            if versions::by_hash(tx, id, hash)?.is_some() {
                // The same content was saved here too: one version, the server's number.
                report.renumbered += place_version(tx, ctx, id, prompt, hash, number)?;
                record_exchange(tx, e, None, Some(p.seq), "pulled", "", &ctx.at)?;
            } else {
                if let Some(occupant) = versions::by_number(tx, id, number)? {
                    let free = versions::latest_number(tx, id)?.unwrap_or(0) + 1;
                    renumber(tx, ctx, id, prompt, &occupant.hash, number, free)?;
                    report.renumbered += 1;
                }
                let bytes = content.canonical_bytes();
                versions::insert(
                    tx,
                    &versions::StoredVersion {
                        prompt_id: id,
                        number,
                        hash: hash.clone(),
                        parent_hash: parent_hash.clone(),
                        content: String::from_utf8(bytes).expect("canonical JSON is UTF-8"),
                        author: e.author.clone(),
                        message: message.clone(),
                        created_at: e.at.clone(),
                    },
                )?;
                witness(
                    tx,
                    ctx,
                    p,
                    "version.created",
                    prompt,
                    json!({ "number": number, "hash": hash, "parent": parent_hash,
                            "message": message, "includes": content.includes }),
                )?;
            }
            refresh_latest(tx, ctx, id, prompt)?;
        }
        EventBody::KeyRegister { key_id, public_key } => {
            let record = Record::Key(release_records::KeyRecord {
                key_id: key_id.clone(),
                person: e.author.clone(),
                public_key: public_key.clone(),
                registered_at: e.at.clone(),
            });
            match release_records::apply(tx, &record)? {
                release_records::Applied::Inserted => witness(
                    tx,
                    ctx,
                    p,
                    "key.registered",
                    &e.author,
                    json!({ "key_id": key_id, "public_key": public_key }),
                )?,
                release_records::Applied::AlreadyPresent => {
                    record_exchange(tx, e, None, Some(p.seq), "pulled", "", &ctx.at)?
                }
            }
        }
        EventBody::RecordsPut {
            prompt,
            kind,
            payload,
            records,
        } => {
            let id = prompt_id(tx, prompt)?;
            apply_records(tx, ctx, id, prompt, &e.author, records, unpushed)?;
            witness(tx, ctx, p, kind, prompt, payload.clone())?;
        }
        EventBody::PolicySet { label, policy } => {
            let old = crate::release::policy_of(tx, label)?;
            tx.execute(
                "INSERT INTO policies (label, policy, updated_by, updated_at) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (label) DO UPDATE SET policy = excluded.policy,
                     updated_by = excluded.updated_by, updated_at = excluded.updated_at",
                params![
                    label,
                    serde_json::to_string(policy).expect("policies serialise"),
                    e.author,
                    e.at
                ],
            )?;
            witness(
                tx,
                ctx,
                p,
                "policy.set",
                label,
                json!({ "from": old, "to": policy }),
            )?;
        }
        EventBody::ReviewRequest {
            prompt,
            version_hash,
            label,
            description,
        } => {
            let id = prompt_id(tx, prompt)?;
            let version = version_number(tx, id, prompt, version_hash)?;
            let number: u32 = tx.query_row(
                "SELECT coalesce(max(number), 0) + 1 FROM reviews",
                [],
                |r| r.get(0),
            )?;
            release_records::apply(
                tx,
                &Record::Review(ReviewRecord {
                    number,
                    id: e.id.clone(),
                    prompt: prompt.clone(),
                    version,
                    version_hash: version_hash.clone(),
                    label: label.clone(),
                    description: description.clone(),
                    requested_by: e.author.clone(),
                    requested_at: e.at.clone(),
                }),
            )?;
            witness(
                tx,
                ctx,
                p,
                "review.requested",
                prompt,
                json!({ "review": number, "id": e.id, "version": version, "hash": version_hash,
                        "label": label, "description": description }),
            )?;
        }
        EventBody::ReviewEvent {
            review,
            decision,
            body,
            anchor,
            reply_to,
            content_hash,
            key_id,
            signature,
        } => {
            let number = review_number(tx, review)?;
            let prompt: String = tx.query_row(
                "SELECT p.name FROM reviews r JOIN prompts p ON p.id = r.prompt_id WHERE r.number = ?1",
                [number],
                |r| r.get(0),
            )?;
            let role = role_in(&p.assigned);
            let anchor = anchor
                .as_ref()
                .map(|a| serde_json::from_value(a.clone()))
                .transpose()
                .map_err(|err| Error::bad(format!("its anchor: {err}")))?;
            release_records::apply(
                tx,
                &Record::ReviewEvent(ReviewEventRecord {
                    id: e.id.clone(),
                    review: number,
                    kind: decision.as_str().into(),
                    actor: e.author.clone(),
                    actor_role: role,
                    at: e.at.clone(),
                    body: body.clone(),
                    anchor: anchor.clone(),
                    reply_to: reply_to.clone(),
                    content_hash: content_hash.clone(),
                    key_id: key_id.clone(),
                    signature: signature.clone(),
                }),
            )?;
            witness(
                tx,
                ctx,
                p,
                &format!("review.{}", decision.as_str()),
                &prompt,
                json!({ "review": number, "id": e.id, "body": body, "anchor": anchor,
                        "hash": content_hash, "role": role }),
            )?;
        }
        EventBody::LabelMove {
            prompt,
            label,
            kind,
            from_hash,
            to_hash,
            changelog,
            review,
            bundle,
            key_id,
            signature,
            evidence: _,
        } => {
            let id = prompt_id(tx, prompt)?;
            let to = version_number(tx, id, prompt, to_hash)?;
            let from = from_hash
                .as_deref()
                .map(|h| version_number(tx, id, prompt, h))
                .transpose()?;
            let here = labels::get(tx, id, label)?.map(|l| l.hash);
            let from_json = from.map(|n| json!({ "number": n, "hash": from_hash }));
            match kind {
                MoveKind::Set => {
                    witness(
                        tx,
                        ctx,
                        p,
                        "label.moved",
                        prompt,
                        json!({ "label": label, "from": from_json,
                                "to": { "number": to, "hash": to_hash }, "reason": changelog }),
                    )?;
                }
                MoveKind::Release | MoveKind::Rollback => {
                    // The rule the server applies, checked again here: a rollback returns a
                    // label only to content it served before, never onto a label serving
                    // nothing. A registry that pulls one anyway sets it aside.
                    if *kind == MoveKind::Rollback {
                        let served: bool = tx.query_row(
                            "SELECT EXISTS (SELECT 1 FROM label_history WHERE prompt_id = ?1
                                            AND label = ?2 AND to_hash = ?3)",
                            params![id, label, to_hash],
                            |r| r.get(0),
                        )?;
                        if here.is_none() || !served {
                            return Err(Error::Integrity(format!(
                                "it rolls {label} of {prompt} back to version {to}, which {label} \
                                 never served here{}: a rollback only returns to what a label \
                                 served before",
                                if here.is_none() {
                                    " (it serves nothing yet)"
                                } else {
                                    ""
                                }
                            )));
                        }
                    }
                    let review_no = review
                        .as_deref()
                        .map(|r| review_number(tx, r))
                        .transpose()?;
                    let decision = p
                        .assigned
                        .get("decision")
                        .cloned()
                        .filter(Value::is_object)
                        .unwrap_or_else(|| json!({}));
                    let role = role_in(&p.assigned);
                    let (Some(key_id), Some(signature)) = (key_id, signature) else {
                        return Err(Error::Integrity("the release carries no signature".into()));
                    };
                    release_records::apply(
                        tx,
                        &Record::Release(ReleaseRecord {
                            id: e.id.clone(),
                            prompt: prompt.clone(),
                            label: label.clone(),
                            kind: kind.as_str().into(),
                            from_version: from,
                            from_hash: from_hash.clone(),
                            to_version: to,
                            to_hash: to_hash.clone(),
                            changelog: changelog.clone(),
                            review: review_no,
                            decision: decision.clone(),
                            actor: e.author.clone(),
                            actor_role: role,
                            at: e.at.clone(),
                            bundle: bundle.clone(),
                            key_id: key_id.clone(),
                            signature: signature.clone(),
                        }),
                    )?;
                    witness(
                        tx,
                        ctx,
                        p,
                        &format!("{}.recorded", kind.as_str()),
                        prompt,
                        json!({
                            "id": e.id, "label": label, "kind": kind.as_str(),
                            "from": from_json,
                            "to": { "number": to, "hash": to_hash },
                            "changelog": changelog, "review": review_no,
                            "approvals": decision.get("counted_approvals").cloned().unwrap_or(Value::Null),
                            "role": role, "key_id": key_id, "signature": signature,
                        }),
                    )?;
                }
            }
            // The server's state wins: the label serves what the server says it serves.
            if here.as_deref() != Some(to_hash.as_str()) {
                labels::set(
                    tx,
                    id,
                    label,
                    here.as_deref(),
                    to_hash,
                    &e.author,
                    &e.at,
                    changelog,
                )?;
            }
        }
    }
    report.applied += 1;
    Ok(())
}

/// The rows changed here by changes not pushed yet. A pulled change leaves them alone: the
/// change made here reaches the server later, so it is the later one everywhere.
fn unpushed_rows(tx: &Connection) -> Result<HashSet<(Collection, String)>> {
    let kinds = RECORD_KINDS
        .iter()
        .map(|k| format!("'{k}'"))
        .collect::<Vec<_>>()
        .join(", ");
    let mut stmt = tx.prepare_cached(&format!(
        "SELECT l.kind, l.payload FROM ledger l WHERE l.seq > ?1 AND l.kind IN ({kinds})
         AND NOT EXISTS (SELECT 1 FROM sync_events s WHERE s.ledger_id = l.id)"
    ))?;
    let mut rows = stmt.query([super::outbox::done_upto(tx)?])?;
    let mut out = HashSet::new();
    while let Some(r) = rows.next()? {
        let kind: String = r.get(0)?;
        let payload: Value = serde_json::from_str(&r.get::<_, String>(1)?).unwrap_or_default();
        out.extend(records::keys_of(&kind, &payload));
    }
    Ok(out)
}

/// Applies the rows of a record change of `prompt` (this registry's id `prompt_id`): an upsert
/// by id for each, or a delete. Applying the same change twice changes nothing.
fn apply_records(
    tx: &Connection,
    ctx: &mut WriteContext<'_>,
    prompt_id: i64,
    prompt: &str,
    author: &str,
    records: &[RecordChange],
    unpushed: &HashSet<(Collection, String)>,
) -> Result<()> {
    for change in records {
        if unpushed.contains(&(change.collection, change.id.clone())) {
            continue;
        }
        let id = change.id.as_str();
        let Some(record) = change.typed().map_err(Error::Integrity)? else {
            // Only cases are ever deleted (the event's check says so).
            tx.execute("DELETE FROM suite_cases WHERE id = ?1", [id])?;
            continue;
        };
        match record {
            records::Record::Suite(s) => {
                let holder: Option<String> = tx
                    .query_row(
                        "SELECT id FROM suites WHERE prompt_id = ?1 AND name = ?2 AND id != ?3",
                        params![prompt_id, s.name, id],
                        |r| r.get(0),
                    )
                    .optional()?;
                if let Some(mine) = holder {
                    move_suite_aside(tx, ctx, prompt_id, prompt, &mine, &s.name, author)?;
                }
                tx.execute(
                    "INSERT INTO suites (id, prompt_id, name, description, created_by, created_at)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6)
                     ON CONFLICT (id) DO UPDATE SET name = excluded.name,
                         description = excluded.description, created_by = excluded.created_by,
                         created_at = excluded.created_at",
                    params![
                        id,
                        prompt_id,
                        s.name,
                        s.description,
                        s.created_by,
                        s.created_at
                    ],
                )?;
            }
            records::Record::Case(c) => {
                require_row(tx, "suites", &c.suite, "test suite", prompt)?;
                tx.execute(
                    "INSERT INTO suite_cases (id, suite_id, position, description, vars, expected,
                         assertions, tags, origin, updated_by, updated_at)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)
                     ON CONFLICT (id) DO UPDATE SET suite_id = excluded.suite_id,
                         position = excluded.position, description = excluded.description,
                         vars = excluded.vars, expected = excluded.expected,
                         assertions = excluded.assertions, tags = excluded.tags,
                         origin = excluded.origin, updated_by = excluded.updated_by,
                         updated_at = excluded.updated_at",
                    params![
                        id,
                        c.suite,
                        c.position,
                        c.description,
                        Value::Object(c.vars).to_string(),
                        c.expected,
                        serde_json::to_string(&c.assertions).expect("assertions serialise"),
                        serde_json::to_string(&c.tags).expect("tags serialise"),
                        c.origin,
                        c.updated_by,
                        c.updated_at
                    ],
                )?;
            }
            records::Record::Rating(r) => {
                // The rater's run stays in their registry: the rating keeps no run here.
                let run: Option<String> = match &r.run_id {
                    Some(run) => tx
                        .query_row("SELECT id FROM eval_runs WHERE id = ?1", [run], |row| {
                            row.get(0)
                        })
                        .optional()?,
                    None => None,
                };
                // Ratings never change: a rating already here is this one.
                tx.execute(
                    "INSERT INTO ratings (id, prompt_id, version_hash, case_id, run_id, output_hash,
                         rating, comment, rated_by, rated_at)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)
                     ON CONFLICT (id) DO NOTHING",
                    params![
                        id,
                        prompt_id,
                        r.version_hash,
                        r.case_id,
                        run,
                        r.output_hash,
                        r.rating,
                        r.comment,
                        r.rated_by,
                        r.rated_at
                    ],
                )?;
            }
            records::Record::Incident(i) => {
                tx.execute(
                    "INSERT INTO incidents (id, title, severity, status, detection, detected_at,
                         prompt_id, label, suspected_release, rollback_release, notes, opened_by,
                         opened_at, mitigated_at, resolved_at, updated_at)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16)
                     ON CONFLICT (id) DO UPDATE SET title = excluded.title,
                         severity = excluded.severity, status = excluded.status,
                         detection = excluded.detection, detected_at = excluded.detected_at,
                         label = excluded.label, suspected_release = excluded.suspected_release,
                         rollback_release = excluded.rollback_release, notes = excluded.notes,
                         opened_by = excluded.opened_by, opened_at = excluded.opened_at,
                         mitigated_at = excluded.mitigated_at, resolved_at = excluded.resolved_at,
                         updated_at = excluded.updated_at",
                    params![
                        id,
                        i.title,
                        i.severity,
                        i.status,
                        i.detection,
                        i.detected_at,
                        prompt_id,
                        i.label,
                        i.suspected_release,
                        i.rollback_release,
                        i.notes,
                        i.opened_by,
                        i.opened_at,
                        i.mitigated_at,
                        i.resolved_at,
                        i.updated_at
                    ],
                )?;
            }
            records::Record::IncidentNote(n) => {
                require_row(tx, "incidents", &n.incident, "incident", prompt)?;
                tx.execute(
                    "INSERT INTO incident_notes (id, incident_id, at, text, author, written_at)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6)
                     ON CONFLICT (id) DO UPDATE SET incident_id = excluded.incident_id,
                         at = excluded.at, text = excluded.text, author = excluded.author,
                         written_at = excluded.written_at",
                    params![id, n.incident, n.at, n.text, n.author, n.written_at],
                )?;
            }
            records::Record::Postmortem(m) => {
                require_row(tx, "incidents", id, "incident", prompt)?;
                tx.execute(
                    "INSERT INTO postmortems (incident_id, doc, updated_by, updated_at)
                     VALUES (?1, ?2, ?3, ?4)
                     ON CONFLICT (incident_id) DO UPDATE SET doc = excluded.doc,
                         updated_by = excluded.updated_by, updated_at = excluded.updated_at",
                    params![
                        id,
                        serde_json::to_string(&m.doc).expect("postmortems serialise"),
                        m.updated_by,
                        m.updated_at
                    ],
                )?;
            }
            records::Record::EvalRun(r) => {
                crate::eval::evidence::apply_run_record(tx, prompt_id, id, &r)?;
            }
        }
    }
    Ok(())
}

/// The row a record belongs to (a case's suite, a note's incident) must be here: the server
/// accepts such a record only after the one it belongs to, and pulls come in its order.
fn require_row(tx: &Connection, table: &str, id: &str, what: &str, prompt: &str) -> Result<()> {
    let found: bool = tx.query_row(
        &format!("SELECT EXISTS (SELECT 1 FROM {table} WHERE id = ?1)"),
        [id],
        |r| r.get(0),
    )?;
    if found {
        Ok(())
    } else {
        Err(Error::bad(format!(
            "{what} {id} of {prompt} is not in this registry (its creation was not pulled)"
        )))
    }
}

/// A suite of the server's takes `name`, which a suite made here holds (the server refused it,
/// or has not seen it yet and will refuse it): the one made here keeps its id, cases and runs
/// under the first free `NAME.local`, `NAME.local2`, … Nothing made here is lost; the ledger and
/// the refusal say where it went.
fn move_suite_aside(
    tx: &Connection,
    ctx: &mut WriteContext<'_>,
    prompt_id: i64,
    prompt: &str,
    suite_id: &str,
    name: &str,
    server_author: &str,
) -> Result<()> {
    let mut n = 1;
    let new_name = loop {
        let suffix = if n == 1 {
            ".local".to_string()
        } else {
            format!(".local{n}")
        };
        let mut base = name.to_string();
        base.truncate(64 - suffix.len());
        let candidate = format!("{base}{suffix}");
        let taken: bool = tx.query_row(
            "SELECT EXISTS (SELECT 1 FROM suites WHERE prompt_id = ?1 AND name = ?2)",
            params![prompt_id, candidate],
            |r| r.get(0),
        )?;
        if !taken {
            break candidate;
        }
        n += 1;
    };
    tx.execute(
        "UPDATE suites SET name = ?2 WHERE id = ?1",
        params![suite_id, new_name],
    )?;
    let why = format!(
        "{server_author}'s test suite {name} of {prompt} reached the server first; the suite made \
         here under that name is kept as {new_name}"
    );
    // Where the refusal of this suite's creation is listed, say where it went.
    tx.execute(
        "UPDATE sync_events SET message = message || ?2
         WHERE status = 'refused' AND ledger_id IN (
             SELECT id FROM ledger WHERE kind = 'suite.created'
             AND json_extract(payload, '$.id') = ?1)",
        params![suite_id, format!(" (kept here as {new_name})")],
    )?;
    ctx.event(
        tx,
        "suite.renamed",
        prompt,
        json!({ "id": suite_id, "from": name, "to": new_name, "reason": why }),
    )
}
