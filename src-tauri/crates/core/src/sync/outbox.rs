//! What this registry has to tell its server: the ledger entries of syncable kinds that have not
//! been pushed (nor came from the server), each turned into the event the server understands.
//!
//! Events are built from the records themselves (the version's content, the release's
//! signature), found through the ledger entry that made them, so the ledger's order is the push
//! order: a prompt before its versions, a version before its review, an approval before the
//! release it allows.
//!
//! Ids: reviews, review events and releases travel under their own ids, because other events
//! refer to them by id and their signatures cover them; everything else travels under the id of
//! the ledger entry that recorded it.
//!
//! An event must come out the same every time it is built from the same entry: a push whose
//! answer was lost is retried, and the server takes the same id with other content for a
//! collision (409), not a replay. So events are built from what cannot change (a version's
//! content, a release's row) or from the ledger itself, never from rows that later changes
//! rewrite: a record change (`records.put`) carries the rows as its ledger entry describes them
//! (see `record_changes`).

use promptdesk_content::{PromptKind, VersionContent};
use rusqlite::Connection;
use serde_json::{json, Value};

use super::records::{Collection, RecordChange, RECORD_KINDS};
use super::{EventBody, MoveKind, ReviewEventKind, SyncEvent};
use crate::error::{Error, Result};
use crate::model::LedgerEntry;
use crate::store::{self, ledger};

/// One change waiting to be pushed.
#[derive(Debug, Clone)]
pub struct Pending {
    pub ledger_id: String,
    pub event: SyncEvent,
}

/// The ledger kinds that become events. Others stay local: identity, samples, roles (the server
/// has its own, from tokens), renames (refused once a prompt has synced), imports of label
/// moves from old exports, runs still going (`eval.started`; a run syncs once finished, with
/// every case's outcome, so the server can check the evidence a release cites and reviewers
/// elsewhere see the outputs), and a local suite moved aside for one of the same name
/// (`suite.renamed`). The record kinds ([`RECORD_KINDS`]) come after these (see [`is_synced`]).
pub const EVENT_KINDS: &[&str] = &[
    "prompt.created",
    "prompt.updated",
    "version.created",
    "version.imported",
    "label.moved",
    "key.registered",
    "key.imported",
    "key.revoked",
    "key_revocation.imported",
    "policy.set",
    "policy.imported",
    "review.requested",
    "review.imported",
    "review.comment",
    "review.approve",
    "review.request_changes",
    "review.close",
    "review.reopen",
    "review_event.imported",
    "release.recorded",
    "rollback.recorded",
    "release.imported",
];

/// Every ledger kind that syncs, in a fixed order: [`EVENT_KINDS`], then [`RECORD_KINDS`].
fn synced_kinds() -> impl Iterator<Item = &'static str> {
    EVENT_KINDS.iter().chain(RECORD_KINDS).copied()
}

/// Whether entries of ledger kind `kind` sync.
pub fn is_synced(kind: &str) -> bool {
    synced_kinds().any(|k| k == kind)
}

fn kinds_sql() -> String {
    synced_kinds()
        .map(|k| format!("'{k}'"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Where the outbox's scans start: every syncable ledger entry up to this ledger seq has been
/// exchanged with the server (pushed, refused or pulled). Without it, finding what is pending
/// scanned the whole ledger for every push batch (quadratic in a first push: 10,000 versions
/// took seconds in this query alone) and for every sync round (milliseconds per thousand
/// entries, for nothing once all is pushed). An exchange is never undone and the ledger only
/// grows, so the mark only moves forward; a registry without it starts from 0.
///
/// The mark holds for the kinds that were syncable when it was set: a registry that recorded
/// suites or incidents before they synced has such entries behind it. So the mark is kept with
/// a fingerprint of the synced kinds, and counts as 0 (everything is looked at once more, and
/// what was never exchanged is pushed) when the list has changed since.
const DONE_UPTO: &str = "sync.outbox_done_upto";
const DONE_KINDS: &str = "sync.outbox_kinds";

fn kinds_fingerprint() -> String {
    promptdesk_content::sha256_hex(synced_kinds().collect::<Vec<_>>().join(",").as_bytes())
}

fn mark_holds(conn: &Connection) -> Result<bool> {
    Ok(crate::store::settings::get(conn, DONE_KINDS)?.as_deref() == Some(&*kinds_fingerprint()))
}

pub(crate) fn done_upto(conn: &Connection) -> Result<i64> {
    if !mark_holds(conn)? {
        return Ok(0);
    }
    Ok(crate::store::settings::get(conn, DONE_UPTO)?
        .and_then(|s| s.parse().ok())
        .unwrap_or(0))
}

/// Moves the mark past every entry that is no longer pending. Called in the write transaction
/// that recorded exchanges, so no entry can appear in between unseen.
pub(crate) fn advance(conn: &Connection) -> Result<()> {
    let from = done_upto(conn)?;
    let upto = match store::sync_events::first_pending_after(conn, from, &kinds_sql())? {
        Some(seq) => seq - 1,
        None => ledger::last_seq(conn)?,
    };
    if upto > from || !mark_holds(conn)? {
        crate::store::settings::set(conn, DONE_UPTO, &upto.to_string())?;
        crate::store::settings::set(conn, DONE_KINDS, &kinds_fingerprint())?;
    }
    Ok(())
}

/// How many changes wait to be pushed.
pub fn count(conn: &Connection) -> Result<u64> {
    store::sync_events::count_pending_after(conn, done_upto(conn)?, &kinds_sql())
}

/// How much event JSON one batch of [`pending`] holds at most (one event always goes, however
/// large). The server refuses request bodies over 16 MiB; added cases carry their rows, so a
/// batch of 200 imports could pass that where 200 versions did not.
pub const BATCH_BYTES: usize = 8 << 20;

/// Up to `limit` pending changes, oldest first, and no more than [`BATCH_BYTES`] of them.
pub fn pending(conn: &Connection, limit: usize) -> Result<Vec<Pending>> {
    let after = done_upto(conn)?;
    let seqs = store::sync_events::pending_after(conn, after, &kinds_sql(), limit)?;
    // Only renames after an entry change its name, and every entry here is after the mark.
    let renames = Renames::load(conn, after)?;
    let mut out = Vec::with_capacity(seqs.len());
    let mut bytes = 0;
    for seq in seqs {
        let entry = ledger::list(conn, None, seq - 1, 1)?
            .into_iter()
            .next()
            .ok_or_else(|| Error::Integrity(format!("ledger entry {seq} vanished")))?;
        let event = event_for(conn, &entry, &renames.current_name(&entry))?;
        bytes += serde_json::to_vec(&event).map_or(0, |v| v.len());
        if bytes > BATCH_BYTES && !out.is_empty() {
            break;
        }
        out.push(Pending {
            ledger_id: entry.id,
            event,
        });
    }
    Ok(out)
}

/// Prompt names as they are now: an entry made before a rename names the prompt as it was
/// called then, but the server knows it by the name it has when it is first pushed.
struct Renames(Vec<(i64, String, String)>);

impl Renames {
    /// The renames after ledger seq `after`.
    fn load(conn: &Connection, after: i64) -> Result<Renames> {
        let mut out = Vec::new();
        for e in ledger::of_kinds_after(conn, after, &["prompt.renamed"])? {
            let v = &e.payload;
            if let (Some(from), Some(to)) = (v["from"].as_str(), v["to"].as_str()) {
                out.push((e.seq, from.to_string(), to.to_string()));
            }
        }
        Ok(Renames(out))
    }

    fn current_name(&self, entry: &LedgerEntry) -> String {
        let mut name = entry.subject.clone();
        for (seq, from, to) in &self.0 {
            if *seq > entry.seq && *from == name {
                name = to.clone();
            }
        }
        name
    }
}

fn text(v: &Value, field: &str, entry: &LedgerEntry) -> Result<String> {
    v.get(field)
        .and_then(Value::as_str)
        .map(str::to_string)
        .ok_or_else(|| {
            Error::Integrity(format!(
                "ledger entry {} ({}) has no '{field}'",
                entry.seq, entry.kind
            ))
        })
}

fn missing(entry: &LedgerEntry, what: &str) -> Error {
    Error::Integrity(format!(
        "ledger entry {} ({}) names {what}, which is not in this registry",
        entry.seq, entry.kind
    ))
}

/// The event a ledger entry stands for.
fn event_for(conn: &Connection, entry: &LedgerEntry, name: &str) -> Result<SyncEvent> {
    let p = &entry.payload;
    let own = |body: EventBody| SyncEvent::with_id(&entry.id, &entry.actor, &entry.at, body);
    Ok(match entry.kind.as_str() {
        "prompt.created" => {
            let kind: PromptKind = serde_json::from_value(p["kind"].clone())
                .map_err(|e| Error::Integrity(format!("ledger entry {}: {e}", entry.seq)))?;
            own(EventBody::PromptCreate {
                name: name.to_string(),
                kind,
                description: p["description"].as_str().unwrap_or_default().to_string(),
                tags: serde_json::from_value(p["tags"].clone()).unwrap_or_default(),
            })
        }
        "prompt.updated" => own(EventBody::PromptUpdate {
            name: name.to_string(),
            description: p["description"].as_str().unwrap_or_default().to_string(),
            tags: serde_json::from_value(p["tags"].clone()).unwrap_or_default(),
        }),
        "version.created" | "version.imported" => {
            let hash = text(p, "hash", entry)?;
            let stored = match store::prompts::find(conn, name)? {
                Some(p) => store::versions::by_hash(conn, p.id, &hash)?,
                None => None,
            };
            let store::versions::StoredVersion {
                parent_hash,
                content,
                author,
                message,
                ..
            } = stored.ok_or_else(|| missing(entry, &format!("{name} #{hash}")))?;
            let content: VersionContent = serde_json::from_str(&content).map_err(|e| {
                Error::Integrity(format!("the stored content of {name} #{hash}: {e}"))
            })?;
            // An imported version keeps its author: only an administrator may push it.
            SyncEvent::with_id(
                &entry.id,
                &author,
                &entry.at,
                EventBody::VersionCreate {
                    prompt: name.to_string(),
                    hash,
                    parent_hash,
                    content,
                    message,
                },
            )
        }
        "label.moved" => own(EventBody::LabelMove {
            prompt: name.to_string(),
            label: text(p, "label", entry)?,
            kind: MoveKind::Set,
            from_hash: p["from"]["hash"].as_str().map(str::to_string),
            to_hash: p["to"]["hash"]
                .as_str()
                .map(str::to_string)
                .ok_or_else(|| missing(entry, "no target"))?,
            changelog: p["reason"].as_str().unwrap_or_default().to_string(),
            review: None,
            bundle: None,
            key_id: None,
            signature: None,
            evidence: None,
        }),
        "key.registered" | "key.imported" => {
            let person = p["person"]
                .as_str()
                .map(str::to_string)
                .unwrap_or_else(|| entry.subject.clone());
            SyncEvent::with_id(
                &entry.id,
                &person,
                &entry.at,
                EventBody::KeyRegister {
                    key_id: text(p, "key_id", entry)?,
                    public_key: text(p, "public_key", entry)?,
                },
            )
        }
        "key.revoked" | "key_revocation.imported" => {
            let by = p["revoked_by"]
                .as_str()
                .map(str::to_string)
                .unwrap_or_else(|| entry.actor.clone());
            SyncEvent::with_id(
                &entry.id,
                &by,
                &entry.at,
                EventBody::KeyRevoke {
                    key_id: text(p, "key_id", entry)?,
                    reason: text(p, "reason", entry)?,
                },
            )
        }
        "policy.set" | "policy.imported" => {
            let (label, policy) = if entry.kind == "policy.set" {
                (entry.subject.clone(), p["to"].clone())
            } else {
                (text(p, "label", entry)?, p["policy"].clone())
            };
            let policy = serde_json::from_value(policy)
                .map_err(|e| Error::Integrity(format!("ledger entry {}: {e}", entry.seq)))?;
            own(EventBody::PolicySet { label, policy })
        }
        "review.requested" | "review.imported" => review_request(conn, entry, name)?,
        "release.recorded" | "rollback.recorded" | "release.imported" => {
            release(conn, entry, name)?
        }
        kind if kind.starts_with("review") => review_event(conn, entry)?,
        kind if RECORD_KINDS.contains(&kind) => own(EventBody::RecordsPut {
            prompt: name.to_string(),
            kind: kind.to_string(),
            payload: entry.payload.clone(),
            records: record_changes(conn, entry, name)?,
        }),
        other => {
            return Err(Error::Integrity(format!(
                "ledger entry {} has kind {other}, which does not sync",
                entry.seq
            )))
        }
    })
}

fn review_request(conn: &Connection, entry: &LedgerEntry, name: &str) -> Result<SyncEvent> {
    let id = text(&entry.payload, "id", entry)?;
    let r = store::reviews::head_by_id(conn, &id)?
        .ok_or_else(|| missing(entry, &format!("review {id}")))?
        .row;
    Ok(SyncEvent::with_id(
        &id,
        &r.requested_by,
        &r.requested_at,
        EventBody::ReviewRequest {
            prompt: name.to_string(),
            version_hash: r.version_hash,
            label: r.label,
            description: r.description,
        },
    ))
}

fn review_event(conn: &Connection, entry: &LedgerEntry) -> Result<SyncEvent> {
    let id = text(&entry.payload, "id", entry)?;
    let e = store::reviews::event(conn, &id)?
        .ok_or_else(|| missing(entry, &format!("review event {id}")))?;
    let review = store::reviews::id_of(conn, e.review)?
        .ok_or_else(|| missing(entry, &format!("review #{}", e.review)))?;
    let kind = e.kind;
    let decision: ReviewEventKind = serde_json::from_value(Value::String(kind.clone()))
        .map_err(|_| Error::Integrity(format!("review event {id} has unknown kind {kind}")))?;
    Ok(SyncEvent::with_id(
        &id,
        &e.actor,
        &e.at,
        EventBody::ReviewEvent {
            review,
            decision,
            body: e.body,
            anchor: e.anchor.and_then(|a| serde_json::from_str(&a).ok()),
            reply_to: e.reply_to,
            content_hash: e.content_hash,
            key_id: e.key_id,
            signature: e.signature,
        },
    ))
}

fn release(conn: &Connection, entry: &LedgerEntry, name: &str) -> Result<SyncEvent> {
    let id = text(&entry.payload, "id", entry)?;
    let s = store::releases::head(conn, &id)?
        .ok_or_else(|| missing(entry, &format!("release {id}")))?
        .row;
    let review = match s.review {
        Some(n) => Some(
            store::reviews::id_of(conn, n)?
                .ok_or_else(|| missing(entry, &format!("release {id}'s review #{n}")))?,
        ),
        None => None,
    };
    let kind = match s.kind.as_str() {
        "rollback" => MoveKind::Rollback,
        _ => MoveKind::Release,
    };
    Ok(SyncEvent::with_id(
        &id,
        &s.actor,
        &s.at,
        EventBody::LabelMove {
            prompt: name.to_string(),
            label: s.label,
            kind,
            from_hash: s.from_hash,
            to_hash: s.to_hash,
            changelog: s.changelog,
            review,
            bundle: s.bundle,
            key_id: Some(s.key_id),
            signature: Some(s.signature),
            evidence: serde_json::from_str::<Value>(&s.decision)
                .ok()
                .and_then(|d| serde_json::from_value(d["evidence"].clone()).ok()),
        },
    ))
}

/// The rows a record kind's ledger entry changed, as the entry describes them: its payload,
/// with its actor and time for who changed the row and when. Whatever the payload leaves out is
/// taken from the ledger as it was at the entry (never from the rows now, which later changes
/// rewrite): a case's suite, an incident as a rollback left it.
fn record_changes(conn: &Connection, entry: &LedgerEntry, name: &str) -> Result<Vec<RecordChange>> {
    let p = &entry.payload;
    let (by, at) = (entry.actor.as_str(), entry.at.as_str());
    Ok(match entry.kind.as_str() {
        "suite.created" => vec![RecordChange::put(
            Collection::Suite,
            &text(p, "id", entry)?,
            json!({"name": text(p, "suite", entry)?,
                   "description": p["description"].as_str().unwrap_or_default(),
                   "created_by": by, "created_at": at}),
        )],
        "suite.cases_added" => {
            let cases = p["cases"]
                .as_array()
                .ok_or_else(|| missing(entry, "no cases"))?;
            let ids: Vec<&str> = cases.iter().filter_map(|c| c["id"].as_str()).collect();
            let suite = suite_of_cases(conn, entry, name, &ids)?;
            cases
                .iter()
                .map(|c| {
                    let id = c["id"]
                        .as_str()
                        .ok_or_else(|| missing(entry, "a case without id"))?;
                    Ok(RecordChange::put(
                        Collection::Case,
                        id,
                        case_record(c, &suite, by, at),
                    ))
                })
                .collect::<Result<_>>()?
        }
        "suite.case_updated" => {
            let c = &p["after"];
            let id = text(c, "id", entry)?;
            let suite = suite_of_cases(conn, entry, name, &[&id])?;
            vec![RecordChange::put(
                Collection::Case,
                &id,
                case_record(c, &suite, by, at),
            )]
        }
        "suite.case_removed" => vec![RecordChange::delete(
            Collection::Case,
            &text(&p["case"], "id", entry)?,
        )],
        "output.rated" => vec![RecordChange::put(
            Collection::Rating,
            &text(p, "id", entry)?,
            json!({"version_hash": p["version_hash"], "case_id": p["case"], "run_id": p["run"],
                   "output_hash": p["output_hash"], "rating": p["rating"],
                   "comment": p["comment"].as_str().unwrap_or_default(),
                   "rated_by": by, "rated_at": at}),
        )],
        "incident.opened" | "incident.updated" | "incident.resolved" | "incident.rolled_back" => {
            let id = text(p, "incident", entry)?;
            vec![RecordChange::put(
                Collection::Incident,
                &id,
                incident_state(conn, entry, &id)?,
            )]
        }
        "incident.noted" => vec![RecordChange::put(
            Collection::IncidentNote,
            &text(p, "id", entry)?,
            json!({"incident": text(p, "incident", entry)?, "at": p["at"], "text": p["text"],
                   "author": by, "written_at": at}),
        )],
        "postmortem.saved" => vec![RecordChange::put(
            Collection::Postmortem,
            &text(p, "incident", entry)?,
            json!({"doc": p["doc"], "updated_by": by, "updated_at": at}),
        )],
        "eval.finished" => {
            let id = text(p, "run", entry)?;
            vec![RecordChange::put(
                Collection::EvalRun,
                &id,
                crate::eval::evidence::run_record(conn, &id).map_err(|e| match e {
                    Error::NotFound(_) => missing(entry, &format!("run {id}")),
                    other => other,
                })?,
            )]
        }
        other => {
            return Err(Error::Integrity(format!(
                "ledger entry {} has kind {other}, which is not a record change",
                entry.seq
            )))
        }
    })
}

/// A case as its ledger payload describes it (`suite.cases_added`'s cases, `case_updated`'s
/// `after`), in the suite `suite`.
fn case_record(c: &Value, suite: &str, by: &str, at: &str) -> Value {
    json!({"suite": suite, "position": c["position"],
           "description": c["description"].as_str().unwrap_or_default(),
           "vars": if c["vars"].is_object() { c["vars"].clone() } else { json!({}) },
           "expected": c["expected"],
           "assertions": if c["assertions"].is_array() { c["assertions"].clone() } else { json!([]) },
           "tags": if c["tags"].is_array() { c["tags"].clone() } else { json!([]) },
           "origin": c["origin"].as_str().unwrap_or_default(),
           "updated_by": by, "updated_at": at})
}

/// The id of the suite the cases of `entry` belong to. Case payloads name the suite, not its
/// id; cases never move between suites, so a case still here says which suite it is in. When
/// none is left, the suite that had the name at the entry: the last `suite.created` (or
/// `suite.renamed` to it) of the prompt before the entry.
fn suite_of_cases(
    conn: &Connection,
    entry: &LedgerEntry,
    name: &str,
    case_ids: &[&str],
) -> Result<String> {
    for id in case_ids {
        if let Some(case) = store::suites::get_case(conn, id)? {
            return Ok(case.suite_id);
        }
    }
    let suite_name = text(&entry.payload, "suite", entry)?;
    for e in ledger::of_kinds_before(
        conn,
        entry.seq,
        &["suite.created", "suite.renamed"],
        Some(&entry.subject),
    )? {
        let (kind, payload) = (e.kind, e.payload);
        let named = match kind.as_str() {
            "suite.created" => &payload["suite"],
            _ => &payload["to"],
        };
        if named.as_str() == Some(suite_name.as_str()) {
            if let Some(id) = payload["id"].as_str() {
                return Ok(id.to_string());
            }
        }
    }
    let suite = match store::prompts::find(conn, name)? {
        Some(p) => store::suites::find(conn, p.id, &suite_name)?,
        None => None,
    };
    suite
        .map(|s| s.id)
        .ok_or_else(|| missing(entry, &format!("suite {suite_name}")))
}

/// An incident's row as it stood right after `entry`. Opening, updating and resolving describe
/// the whole row in the payload (`after`); a rollback taken from the incident describes only
/// what it changed, so the row is the incident's latest description before it in the ledger
/// with the rollbacks since replayed on it, as `incident_rollback` changes the row.
fn incident_state(conn: &Connection, entry: &LedgerEntry, id: &str) -> Result<Value> {
    let described = |kind: &str, p: &Value, actor: &str, at: &str| -> Option<Value> {
        match kind {
            "incident.opened" => Some(json!({
                "title": p["title"], "severity": p["severity"], "status": "investigating",
                "detection": p["detection"], "detected_at": p["detected_at"],
                "label": p["label"], "suspected_release": p["suspected_release"],
                "rollback_release": null, "notes": p["notes"].as_str().unwrap_or_default(),
                "opened_by": actor, "opened_at": at, "mitigated_at": null,
                "resolved_at": null, "updated_at": at,
            })),
            "incident.updated" | "incident.resolved" => {
                let mut row = p["after"].as_object()?.clone();
                row.remove("id");
                row.remove("prompt");
                Some(Value::Object(row))
            }
            _ => None,
        }
    };
    if let Some(row) = described(&entry.kind, &entry.payload, &entry.actor, &entry.at) {
        return Ok(row);
    }
    // A rollback: walk back to the latest description, then replay the rollbacks since.
    let mut rollbacks = vec![(entry.payload.clone(), entry.at.clone())];
    let mut base = None;
    let kinds = [
        "incident.opened",
        "incident.updated",
        "incident.resolved",
        "incident.rolled_back",
    ];
    for e in ledger::of_kinds_before(conn, entry.seq, &kinds, None)? {
        if e.payload["incident"].as_str() != Some(id) {
            continue;
        }
        let (kind, payload, actor, at) = (e.kind, e.payload, e.actor, e.at);
        if kind == "incident.rolled_back" {
            rollbacks.push((payload, at));
            continue;
        }
        base = described(&kind, &payload, &actor, &at);
        if base.is_some() {
            break;
        }
    }
    let mut row = match base {
        Some(row) => row,
        // No opening in this ledger (an incident older than its ledger entries): the row as it
        // is now is the best there is, and an error here would hold up every later push.
        None => {
            current_incident(conn, id)?.ok_or_else(|| missing(entry, &format!("incident {id}")))?
        }
    };
    for (payload, at) in rollbacks.into_iter().rev() {
        let resolved = row["status"] == "resolved";
        row["rollback_release"] = payload["release"].clone();
        row["status"] = json!(if resolved { "resolved" } else { "mitigated" });
        if row["mitigated_at"].is_null() {
            row["mitigated_at"] = json!(at);
        }
        row["updated_at"] = json!(at);
    }
    Ok(row)
}

fn current_incident(conn: &Connection, id: &str) -> Result<Option<Value>> {
    Ok(store::incidents::get(conn, id)?.map(|i| {
        json!({
            "title": i.title, "severity": i.severity, "status": i.status,
            "detection": i.detection, "detected_at": i.detected_at, "label": i.label,
            "suspected_release": i.suspected_release, "rollback_release": i.rollback_release,
            "notes": i.notes, "opened_by": i.opened_by, "opened_at": i.opened_at,
            "mitigated_at": i.mitigated_at, "resolved_at": i.resolved_at,
            "updated_at": i.updated_at,
        })
    }))
}
