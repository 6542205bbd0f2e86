//! Pulled `records.put`: upserts (and case deletes) of suites, cases, ratings, incidents,
//! notes, postmortems and eval runs, last writer in the server's order winning; rows with a
//! change here still waiting to be pushed are left alone.

use std::collections::HashSet;

use super::super::records::{self as record_types, Collection, RecordChange, RECORD_KINDS};
use rusqlite::Connection;
use serde_json::{json, Value};

use super::{misrouted, prompt_id, witness, Pulled};
use crate::error::{Error, Result};
use crate::registry::WriteContext;
use crate::store::eval_runs;
use crate::store::incidents::{self, IncidentRow, NoteRow, PostmortemRow};
use crate::store::ratings::{self, RatingRow};
use crate::store::suites::{self, CaseRow, SuiteRow};
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
    let mut out = HashSet::new();
    for e in crate::store::sync_events::pending_entries_after(
        tx,
        crate::sync::outbox::done_upto(tx)?,
        &kinds,
    )? {
        out.extend(record_types::keys_of(&e.kind, &e.payload));
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
            suites::delete_case(tx, id)?;
            continue;
        };
        match record {
            record_types::Record::Suite(s) => {
                let holder = suites::find(tx, prompt_id, &s.name)?.filter(|h| h.id != id);
                if let Some(mine) = holder {
                    move_suite_aside(tx, ctx, prompt_id, prompt, &mine.id, &s.name, author)?;
                }
                suites::upsert(
                    tx,
                    &SuiteRow {
                        id: id.to_string(),
                        prompt_id,
                        name: s.name,
                        description: s.description,
                        created_by: s.created_by,
                        created_at: s.created_at,
                    },
                )?;
            }
            record_types::Record::Case(c) => {
                if suites::get(tx, &c.suite)?.is_none() {
                    return Err(not_pulled("test suite", &c.suite, prompt));
                }
                suites::upsert_case(
                    tx,
                    &CaseRow {
                        id: id.to_string(),
                        suite_id: c.suite,
                        position: i64::from(c.position),
                        description: c.description,
                        vars: Value::Object(c.vars).to_string(),
                        expected: c.expected,
                        assertions: serde_json::to_string(&c.assertions)
                            .expect("assertions serialise"),
                        tags: serde_json::to_string(&c.tags).expect("tags serialise"),
                        origin: c.origin,
                        updated_by: c.updated_by,
                        updated_at: c.updated_at,
                    },
                )?;
            }
            record_types::Record::Rating(r) => {
                // The rater's run stays in their registry: the rating keeps no run here.
                let run = match r.run_id {
                    Some(run) if eval_runs::status(tx, &run)?.is_some() => Some(run),
                    _ => None,
                };
                // Ratings never change: a rating already here is this one.
                ratings::insert_if_new(
                    tx,
                    &RatingRow {
                        id: id.to_string(),
                        prompt_id,
                        version_hash: r.version_hash,
                        case_id: r.case_id,
                        run_id: run,
                        output_hash: r.output_hash,
                        rating: r.rating,
                        comment: r.comment,
                        rated_by: r.rated_by,
                        rated_at: r.rated_at,
                    },
                )?;
            }
            record_types::Record::Incident(i) => {
                incidents::upsert(
                    tx,
                    &IncidentRow {
                        id: id.to_string(),
                        title: i.title,
                        severity: i.severity,
                        status: i.status,
                        detection: i.detection,
                        detected_at: i.detected_at,
                        prompt_id,
                        label: i.label,
                        suspected_release: i.suspected_release,
                        rollback_release: i.rollback_release,
                        notes: i.notes,
                        opened_by: i.opened_by,
                        opened_at: i.opened_at,
                        mitigated_at: i.mitigated_at,
                        resolved_at: i.resolved_at,
                        updated_at: i.updated_at,
                    },
                )?;
            }
            record_types::Record::IncidentNote(n) => {
                if incidents::get(tx, &n.incident)?.is_none() {
                    return Err(not_pulled("incident", &n.incident, prompt));
                }
                incidents::upsert_note(
                    tx,
                    &NoteRow {
                        id: id.to_string(),
                        incident_id: n.incident,
                        at: n.at,
                        text: n.text,
                        author: n.author,
                        written_at: n.written_at,
                    },
                )?;
            }
            record_types::Record::Postmortem(m) => {
                if incidents::get(tx, id)?.is_none() {
                    return Err(not_pulled("incident", id, prompt));
                }
                incidents::put_postmortem(
                    tx,
                    &PostmortemRow {
                        incident_id: id.to_string(),
                        doc: serde_json::to_string(&m.doc).expect("postmortems serialise"),
                        updated_by: m.updated_by,
                        updated_at: m.updated_at,
                    },
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
fn not_pulled(what: &str, id: &str, prompt: &str) -> Error {
    Error::bad(format!(
        "{what} {id} of {prompt} is not in this registry (its creation was not pulled)"
    ))
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
        if suites::find(tx, prompt_id, &candidate)?.is_none() {
            break candidate;
        }
        n += 1;
    };
    suites::rename(tx, suite_id, &new_name)?;
    let why = format!(
        "{server_author}'s test suite {name} of {prompt} reached the server first; the suite made \
         here under that name is kept as {new_name}"
    );
    // Where the refusal of this suite's creation is listed, say where it went.
    crate::store::sync_events::add_to_suite_refusal(
        tx,
        suite_id,
        &format!(" (kept here as {new_name})"),
    )?;
    ctx.event(
        tx,
        "suite.renamed",
        prompt,
        json!({ "id": suite_id, "from": name, "to": new_name, "reason": why }),
    )
}
