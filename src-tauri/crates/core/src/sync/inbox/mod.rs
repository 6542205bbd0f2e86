//! What the server tells this registry: the fate of each pushed event (stored, with the number
//! the server gave a version; or refused, with why), and everyone's events, pulled in the
//! server's order and applied here as the server recorded them.
//!
//! Pulled records are applied verbatim (see `release::records`): the server already ran the
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
//!
//! This module takes a pull page apart, sets aside what cannot be applied, and hands each
//! event to the rules of its kind, one module per kind: `prompts`, `versions` (with
//! `numbering`, shared with acknowledgements of pushes), `keys`, `policies`, `reviews`,
//! `labels` (releases and rollbacks) and `records`.

use std::collections::HashSet;

use promptdesk_content::sha256_hex;
use rusqlite::Connection;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

mod keys;
mod labels;
mod numbering;
mod policies;
mod prompts;
mod records;
mod reviews;
mod versions;

use super::outbox::Pending;
use super::records::Collection;
use super::{EventBody, SyncEvent};
use crate::error::{Error, Result};
use crate::policy::Role;
use crate::registry::{Registry, WriteContext};
use crate::store::{self, ledger, settings};

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
    let subject = subject_of(&p.event);
    store::sync_events::set_aside(
        tx,
        &store::sync_events::Exchange {
            event_id: &p.event.id,
            ledger_id: None,
            kind: p.event.body.change_kind(),
            subject: &subject,
            seq: Some(p.seq),
            hash: &p.hash,
            status: "set_aside",
            message: why,
            at: now,
        },
        &serde_json::to_string(&p.event).unwrap_or_default(),
    )
}

fn subject_of(event: &SyncEvent) -> String {
    match &event.body {
        EventBody::KeyRegister { .. } => event.author.clone(),
        EventBody::KeyRevoke { key_id, .. } => format!("signing key {key_id}"),
        EventBody::PolicySet { label, .. } => label.clone(),
        body => body.prompt().unwrap_or_default().to_string(),
    }
}

pub(super) fn record_exchange(
    tx: &Connection,
    event: &SyncEvent,
    ledger_id: Option<&str>,
    seq: Option<i64>,
    status: &str,
    message: &str,
    now: &str,
) -> Result<()> {
    let subject = subject_of(event);
    store::sync_events::record(
        tx,
        &store::sync_events::Exchange {
            event_id: &event.id,
            ledger_id,
            kind: event.body.change_kind(),
            subject: &subject,
            seq,
            hash: &event.hash,
            status,
            message,
            at: now,
        },
    )
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
        let refused = store::sync_events::refused(conn)?;
        let set_aside = store::sync_events::set_aside_events(conn)?;
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
        let missing = store::sync_events::without_ledger_entry(conn)?;
        for m in missing {
            let (event, ledger_id, seq) = m;
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
        let mut bytes = Vec::new();
        let mut n = 0u64;
        for id in store::sync_events::ids_upto(self.connection(), upto)? {
            bytes.extend_from_slice(id.as_bytes());
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
                renumbered += numbering::follow_number(tx, ctx, &pending.event, &ack.assigned)?;
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
            let unpushed = records::unpushed_rows(tx)?;
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
}

/// Appends the ledger entry of an applied event and notes it as exchanged.
pub(super) fn witness(
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
        if carried(p) {
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
    record_exchange(tx, &p.event, Some(&id), Some(p.seq), "pulled", "", &ctx.at)?;
    if carried(p) {
        store::sync_events::set_pushed_by(tx, &p.event.id, &p.pushed_by)?;
    }
    Ok(())
}

/// Whether someone other than its author pushed the event (an admin carrying a registry over).
fn carried(p: &Pulled) -> bool {
    !p.pushed_by.is_empty() && p.pushed_by != p.event.author
}

pub(super) fn prompt_id(tx: &Connection, name: &str) -> Result<i64> {
    store::prompts::find(tx, name)?
        .map(|p| p.id)
        .ok_or_else(|| {
            Error::bad(format!(
                "the prompt {name} is not in this registry (its creation was not pulled)"
            ))
        })
}

pub(super) fn version_number(
    tx: &Connection,
    prompt_id: i64,
    name: &str,
    hash: &str,
) -> Result<u32> {
    store::versions::by_hash(tx, prompt_id, hash)?
        .map(|v| v.number)
        .ok_or_else(|| {
            Error::bad(format!(
                "{name} has no version #{} here",
                &hash[..12.min(hash.len())]
            ))
        })
}

pub(super) fn review_number(tx: &Connection, id: &str) -> Result<u32> {
    store::reviews::number_of(tx, id)?
        .ok_or_else(|| Error::bad(format!("review {id} is not in this registry")))
}

pub(super) fn role_in(assigned: &Value) -> Role {
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
    let known = store::sync_events::status(tx, &e.id)?;
    if known.as_deref() == Some("set_aside") {
        // Set aside before (and pulled again from the start): it stays aside.
        report.set_aside += 1;
        return Ok(());
    }
    if known.is_some() {
        // Ours (pushed from here) or applied before: note where the server put it.
        store::sync_events::renumber(tx, &e.id, p.seq)?;
        report.renumbered += numbering::follow_number(tx, ctx, e, &p.assigned)?;
        // A change pulled before this one may have come after it here: this one is later in
        // the server's order, so its rows win again.
        if let EventBody::RecordsPut {
            prompt,
            records: changes,
            ..
        } = &e.body
        {
            if let Some(found) = store::prompts::find(tx, prompt)? {
                records::apply_records(tx, ctx, found.id, prompt, &e.author, changes, unpushed)?;
            }
        }
        report.known += 1;
        return Ok(());
    }
    match &e.body {
        EventBody::PromptCreate { .. } => prompts::create(tx, ctx, p)?,
        EventBody::PromptUpdate { .. } => prompts::update(tx, ctx, p)?,
        EventBody::VersionCreate { .. } => versions::create(tx, ctx, p, report)?,
        EventBody::KeyRegister { .. } => keys::register(tx, ctx, p)?,
        EventBody::KeyRevoke { .. } => keys::revoke(tx, ctx, p)?,
        EventBody::RecordsPut { .. } => records::put(tx, ctx, p, unpushed)?,
        EventBody::PolicySet { .. } => policies::set(tx, ctx, p)?,
        EventBody::ReviewRequest { .. } => reviews::request(tx, ctx, p)?,
        EventBody::ReviewEvent { .. } => reviews::event(tx, ctx, p)?,
        EventBody::LabelMove { .. } => labels::move_label(tx, ctx, p)?,
    }
    report.applied += 1;
    Ok(())
}

/// The event handed to a kind's apply is of another kind: a slip in the dispatch above.
pub(super) fn misrouted(event: &SyncEvent) -> Error {
    Error::Integrity(format!(
        "event {} ({}) reached the apply of another kind",
        event.id,
        event.body.kind()
    ))
}
