//! `records.put`: a prompt's test suites, cases, ratings, incidents, notes and postmortems.
//! Editors and above; the shapes are checked with the event (`promptdesk_protocol::records`).

use promptdesk_protocol::events::{Collection, EventBody};
use promptdesk_protocol::policy::Role;
use promptdesk_protocol::records::{Record, RecordChange};
use serde_json::{json, Value};

use super::{misrouted, prompt_of, refuse, version_of, Push};
use crate::error::{Result, ServerError};
use crate::store::{RecordRow, Tx};

pub(super) fn apply(tx: &mut dyn Tx, push: &Push<'_>) -> Result<Value> {
    let EventBody::RecordsPut {
        prompt,
        kind,
        records,
        ..
    } = &push.event.body
    else {
        return Err(misrouted(&push.event.body));
    };
    let (author, role) = (push.author, push.role);
    if role < Role::Editor {
        return Err(refuse(format!(
            "{author} is {}; only an editor or above may change test suites, ratings, \
             incidents and postmortems ({kind} of {prompt})",
            role.with_article()
        )));
    }
    prompt_of(tx, prompt)?;
    put_records(tx, author, prompt, records, push.now)?;
    Ok(json!({}))
}

/// The rules a record change must pass beyond its shape (checked with the event), and the
/// server's index of records that they need. Rows stay whatever the last change says (every
/// registry applies them in this server's order); what is checked here is what order cannot
/// fix: a record that belongs to another prompt, a suite name taken, a case, note or postmortem
/// whose suite or incident the server does not have (it would stop every registry's pull), a
/// rating recorded twice or of a version the server does not have.
fn put_records(
    tx: &mut dyn Tx,
    author: &str,
    prompt: &str,
    records: &[RecordChange],
    now: &str,
) -> Result<()> {
    // Every case of an added batch names the same suite: look it up once.
    let mut parents_seen: Vec<(Collection, String)> = Vec::new();
    for change in records {
        let what = change.collection.describe();
        let existing = tx.record(change.collection.as_str(), &change.id)?;
        if let Some(e) = &existing {
            if e.prompt != prompt {
                return Err(ServerError::Conflict(format!(
                    "{what} {} belongs to {}, not to {prompt}",
                    change.id, e.prompt
                )));
            }
        }
        let Some(record) = change.typed().map_err(ServerError::BadInput)? else {
            // A deleted case: the server forgets nothing (ids are never reused), but a case it
            // never had (its suite or its adding was refused) has nothing to delete anywhere.
            if existing.is_none() {
                return Err(ServerError::NotFound(format!(
                    "{what} {} of {prompt} is not on the server (its creation was refused, or \
                     has not been pushed): there is nothing to delete",
                    change.id
                )));
            }
            tx.put_record_fields(change.collection.as_str(), &change.id, None)?;
            continue;
        };
        let mut parent = |tx: &mut dyn Tx, collection: Collection, id: &str| -> Result<()> {
            let key = (collection, id.to_string());
            if parents_seen.contains(&key) {
                return Ok(());
            }
            match tx.record(collection.as_str(), id)? {
                Some(p) if p.prompt == prompt => {
                    parents_seen.push(key);
                    Ok(())
                }
                Some(p) => Err(ServerError::Conflict(format!(
                    "{what} {} belongs to {} {id}, which is of {}, not of {prompt}",
                    change.id,
                    collection.describe(),
                    p.prompt
                ))),
                None => Err(ServerError::NotFound(format!(
                    "{what} {} belongs to {} {id} of {prompt}, which is not on the server \
                     (its creation was refused, or has not been pushed)",
                    change.id,
                    collection.describe()
                ))),
            }
        };
        let mut name = None;
        match &record {
            Record::Suite(s) => match &existing {
                Some(e) if e.name.as_deref() == Some(s.name.as_str()) => {}
                Some(e) => {
                    return Err(ServerError::BadInput(format!(
                        "test suite {} is named {} on the server; suites are not renamed",
                        change.id,
                        e.name.as_deref().unwrap_or_default()
                    )))
                }
                None => {
                    if let Some(first) =
                        tx.named_record(Collection::Suite.as_str(), prompt, &s.name)?
                    {
                        return Err(ServerError::Conflict(format!(
                            "{prompt} already has a test suite named {}: {} created it first \
                             (at {}). The suite {author} made under that name stays only in the \
                             registry where it was made; its cases are not shared",
                            s.name, first.created_by, first.created_at
                        )));
                    }
                    name = Some(s.name.clone());
                }
            },
            Record::Case(c) => parent(tx, Collection::Suite, &c.suite)?,
            Record::Rating(r) => {
                if existing.is_some() {
                    return Err(ServerError::Conflict(format!(
                        "rating {} was recorded before; a rating does not change (rate again)",
                        change.id
                    )));
                }
                version_of(tx, prompt, &r.version_hash)?;
            }
            Record::Incident(_) => {}
            Record::IncidentNote(n) => {
                if existing.is_some() {
                    return Err(ServerError::Conflict(format!(
                        "incident note {} was written before; notes do not change",
                        change.id
                    )));
                }
                parent(tx, Collection::Incident, &n.incident)?;
            }
            Record::Postmortem(_) => parent(tx, Collection::Incident, &change.id)?,
            Record::EvalRun(r) => {
                if existing.is_some() {
                    return Err(ServerError::Conflict(format!(
                        "eval run {} was recorded before; a finished run does not change",
                        change.id
                    )));
                }
                parent(tx, Collection::Suite, &r.suite)?;
                version_of(tx, prompt, &r.version_hash)?;
            }
        }
        if existing.is_none() {
            tx.insert_record(&RecordRow {
                collection: change.collection.as_str().into(),
                id: change.id.clone(),
                prompt: prompt.to_string(),
                name,
                created_by: author.to_string(),
                created_at: now.to_string(),
            })?;
        }
        // The latest fields, for the rules that read records (a gated release reads the
        // suite's cases and the run it cites).
        tx.put_record_fields(
            change.collection.as_str(),
            &change.id,
            change.record.as_ref(),
        )?;
    }
    Ok(())
}
