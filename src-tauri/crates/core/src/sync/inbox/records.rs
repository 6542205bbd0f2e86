//! Pulled `records.put`: upserts (and case deletes) of suites, cases, ratings, incidents,
//! notes, postmortems and eval runs, last writer in the server's order winning; rows with a
//! change here still waiting to be pushed are left alone.

use std::collections::HashSet;

use super::super::records::{self as record_types, Collection, RecordChange, RECORD_KINDS};
use rusqlite::{params, Connection, OptionalExtension};
use serde_json::{json, Value};

use super::{misrouted, prompt_id, witness, Pulled};
use crate::error::{Error, Result};
use crate::registry::WriteContext;
use crate::sync::EventBody;
/// A change to records (suites, cases, ratings, incidents, notes, postmortems, eval runs).
pub(super) fn put(
    tx: &Connection,
    ctx: &mut WriteContext<'_>,
    p: &Pulled,
    unpushed: &HashSet<(Collection, String)>,
) -> Result<()> {
    let e = &p.event;
    let EventBody::RecordsPut {
        prompt,
        kind,
        payload,
        records,
    } = &e.body
    else {
        return Err(misrouted(e));
    };
    let id = prompt_id(tx, prompt)?;
    apply_records(tx, ctx, id, prompt, &e.author, records, unpushed)?;
    witness(tx, ctx, p, kind, prompt, payload.clone())?;
    Ok(())
}

/// The rows changed here by changes not pushed yet. A pulled change leaves them alone: the
/// change made here reaches the server later, so it is the later one everywhere.
pub(super) fn unpushed_rows(tx: &Connection) -> Result<HashSet<(Collection, String)>> {
    let kinds = RECORD_KINDS
        .iter()
        .map(|k| format!("'{k}'"))
        .collect::<Vec<_>>()
        .join(", ");
    let mut stmt = tx.prepare_cached(&format!(
        "SELECT l.kind, l.payload FROM ledger l WHERE l.seq > ?1 AND l.kind IN ({kinds})
         AND NOT EXISTS (SELECT 1 FROM sync_events s WHERE s.ledger_id = l.id)"
    ))?;
    let mut rows = stmt.query([crate::sync::outbox::done_upto(tx)?])?;
    let mut out = HashSet::new();
    while let Some(r) = rows.next()? {
        let kind: String = r.get(0)?;
        let payload: Value = serde_json::from_str(&r.get::<_, String>(1)?).unwrap_or_default();
        out.extend(record_types::keys_of(&kind, &payload));
    }
    Ok(out)
}

/// Applies the rows of a record change of `prompt` (this registry's id `prompt_id`): an upsert
/// by id for each, or a delete. Applying the same change twice changes nothing.
pub(super) fn apply_records(
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
            record_types::Record::Suite(s) => {
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
            record_types::Record::Case(c) => {
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
            record_types::Record::Rating(r) => {
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
            record_types::Record::Incident(i) => {
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
            record_types::Record::IncidentNote(n) => {
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
            record_types::Record::Postmortem(m) => {
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
            record_types::Record::EvalRun(r) => {
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
