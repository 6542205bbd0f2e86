//! What a pushed event must satisfy before the server records it, and what recording it does.
//! Written once over [`Tx`], so every backend and every route (sync push, the Langfuse API)
//! runs the same checks, with the same release policy code as the desktop app.

use promptdesk_core::policy::{self, Action, ApprovalFact, Policy, Role, Situation};
use promptdesk_core::release::{decision_statement, release_statement, ReleaseStatement};
use promptdesk_core::signing;
use promptdesk_core::sync::records::{Record, RecordChange};
use promptdesk_core::sync::{Collection, EventBody, MoveKind, SyncEvent};
use serde::Serialize;
use serde_json::{json, Value};

use crate::error::{Result, ServerError};
use crate::store::{DecisionRow, LabelRow, Pick, PromptRow, RecordRow, ReviewRow, Tx, VersionRow};

/// Who is calling: the user behind the token and their role on this server.
#[derive(Debug, Clone, PartialEq)]
pub struct Principal {
    pub user: String,
    pub role: Role,
}

/// What became of one pushed event.
#[derive(Debug, Clone, Serialize)]
pub struct Applied {
    pub id: String,
    pub seq: i64,
    /// `stored`, or `duplicate` when the same event was pushed before (nothing changed).
    pub status: &'static str,
    pub assigned: Value,
}

/// The most JSON one event may be. Everyone pulls every event, and the sync client reads
/// answers of at most 10 MiB: a page of pulled events is under `store::PAGE_BYTES` plus one
/// event, so one larger event would stop every registry's pull. A push over it is refused
/// (the change stays where it was made) instead.
pub const MAX_EVENT_BYTES: usize = 6 << 20;

/// Checks `event` and records it with everything it implies, or refuses it and changes nothing.
pub fn apply(tx: &mut dyn Tx, who: &Principal, event: &SyncEvent, now: &str) -> Result<Applied> {
    let size = serde_json::to_vec(event)?.len();
    if size > MAX_EVENT_BYTES {
        return Err(ServerError::BadInput(format!(
            "event {} ({} of {}) is {:.1} MiB of JSON; the server takes at most {} MiB per \
             change (split it, e.g. import the cases in several files)",
            event.id,
            event.body.change_kind(),
            event.body.prompt().unwrap_or(&event.author),
            size as f64 / (1024.0 * 1024.0),
            MAX_EVENT_BYTES >> 20
        )));
    }
    event.check().map_err(ServerError::BadInput)?;
    if let Some(stored) = tx.event(&event.id)? {
        if stored.hash == event.hash {
            return Ok(Applied {
                id: event.id.clone(),
                seq: stored.seq,
                status: "duplicate",
                assigned: stored.assigned,
            });
        }
        return Err(ServerError::Conflict(format!(
            "event {} was pushed before with other content: stored hash {}, pushed hash {}",
            event.id, stored.hash, event.hash
        )));
    }
    // People push their own events; only an administrator may carry someone else's (moving a
    // registry to the server). Either way the author's role on this server is what counts.
    if event.author != who.user && who.role != Role::Admin {
        return Err(ServerError::Forbidden(format!(
            "{} may not push an event made by {}",
            who.user, event.author
        )));
    }
    let role = if event.author == who.user {
        who.role
    } else {
        tx.role_of(&event.author)?.unwrap_or(Role::Viewer)
    };
    let author = &event.author;
    let refuse = |m: String| ServerError::Forbidden(m);
    let assigned = match &event.body {
        EventBody::PromptCreate {
            name,
            kind,
            description,
            tags,
        } => {
            policy::check_action(author, role, Action::CommitVersion).map_err(refuse)?;
            match tx.prompt(name)? {
                // Two people created it offline: they converge on the first one.
                Some(p) if p.kind == kind.as_str() => {}
                Some(p) => {
                    return Err(ServerError::Conflict(format!(
                        "{name} already exists as a {} prompt, not {}",
                        p.kind,
                        kind.as_str()
                    )))
                }
                None => tx.put_prompt(&PromptRow {
                    name: name.clone(),
                    kind: kind.as_str().into(),
                    description: description.clone(),
                    tags: tags.clone(),
                    created_at: event.at.clone(),
                    updated_at: event.at.clone(),
                })?,
            }
            json!({})
        }
        EventBody::PromptUpdate {
            name,
            description,
            tags,
        } => {
            policy::check_action(author, role, Action::CommitVersion).map_err(refuse)?;
            let mut p = prompt_of(tx, name)?;
            p.description = description.clone();
            p.tags = tags.clone();
            p.updated_at = event.at.clone();
            tx.put_prompt(&p)?;
            json!({})
        }
        EventBody::VersionCreate {
            prompt,
            hash,
            content,
            message,
            ..
        } => {
            policy::check_action(author, role, Action::CommitVersion).map_err(refuse)?;
            let p = prompt_of(tx, prompt)?;
            if content.kind().as_str() != p.kind {
                return Err(ServerError::BadInput(format!(
                    "{prompt} is a {} prompt; this version is {}",
                    p.kind,
                    content.kind().as_str()
                )));
            }
            let number = match tx.version(prompt, &Pick::Hash(hash.clone()))? {
                // The same content saved twice (two people, offline): one version.
                Some(v) => v.number,
                None => {
                    let number = tx.version_numbers(prompt)?.last().copied().unwrap_or(0) + 1;
                    tx.insert_version(&VersionRow {
                        prompt: prompt.clone(),
                        number,
                        hash: hash.clone(),
                        content: serde_json::to_value(content)?,
                        author: author.clone(),
                        message: message.clone(),
                        created_at: event.at.clone(),
                    })?;
                    number
                }
            };
            json!({ "number": number })
        }
        EventBody::KeyRegister { key_id, public_key } => {
            match tx.key(key_id)? {
                Some((person, _)) if &person == author => {}
                Some((person, _)) => {
                    return Err(ServerError::Conflict(format!(
                        "key {key_id} already belongs to {person}"
                    )))
                }
                None => tx.insert_key(key_id, author, public_key)?,
            }
            json!({})
        }
        EventBody::ReviewRequest {
            prompt,
            version_hash,
            label,
            ..
        } => {
            policy::check_action(author, role, Action::RequestReview).map_err(refuse)?;
            version_of(tx, prompt, version_hash)?;
            tx.insert_review(&ReviewRow {
                id: event.id.clone(),
                prompt: prompt.clone(),
                version_hash: version_hash.clone(),
                label: label.clone(),
                requested_by: author.clone(),
            })?;
            json!({})
        }
        EventBody::ReviewEvent {
            review,
            decision,
            content_hash,
            key_id,
            signature,
            ..
        } => {
            let r = tx.review(review)?.ok_or_else(|| {
                ServerError::NotFound(format!(
                    "review {review} is not on the server: push the review request first"
                ))
            })?;
            if decision.is_decision() {
                let action = if decision.as_str() == "approve" {
                    Action::Approve
                } else {
                    Action::RequestChanges
                };
                policy::check_action(author, role, action).map_err(refuse)?;
                let hash = content_hash.as_deref().unwrap_or_default();
                if hash != r.version_hash {
                    return Err(ServerError::BadInput(format!(
                        "the decision is bound to content {hash}, but review {review} is of {}",
                        r.version_hash
                    )));
                }
                let v = version_of(tx, &r.prompt, hash)?;
                if decision.as_str() == "approve" && &v.author == author {
                    return Err(refuse(format!(
                        "{author} wrote version {} of {} and may not approve it",
                        v.number, r.prompt
                    )));
                }
                let statement = decision_statement(
                    &event.id,
                    review,
                    &r.label,
                    hash,
                    decision.as_str(),
                    author,
                    &event.at,
                );
                check_signature(tx, author, key_id, signature, &statement)?;
                tx.insert_decision(&DecisionRow {
                    id: event.id.clone(),
                    review: review.clone(),
                    prompt: r.prompt.clone(),
                    label: r.label.clone(),
                    content_hash: hash.to_string(),
                    actor: author.clone(),
                    actor_role: role,
                    kind: decision.as_str().into(),
                    at: event.at.clone(),
                })?;
            } else {
                policy::check_action(author, role, Action::Comment).map_err(refuse)?;
            }
            // The role the server weighed, so every registry records the decision alike.
            json!({ "actor_role": role })
        }
        EventBody::LabelMove {
            prompt,
            label,
            kind,
            from_hash,
            to_hash,
            changelog,
            review,
            key_id,
            signature,
            evidence,
            ..
        } => {
            let target = version_of(tx, prompt, to_hash)?;
            let current = tx.label(prompt, label)?;
            check_expected(prompt, label, current.as_ref(), from_hash.as_deref())?;
            let policy = policy_of(tx, label)?;
            let decision = decide(
                tx,
                author,
                role,
                &target,
                label,
                changelog,
                *kind == MoveKind::Rollback,
                &event.at,
                evidence.as_ref(),
            )?;
            match kind {
                MoveKind::Set if policy.is_protected() => {
                    return Err(refuse(format!(
                        "{label} is protected: it moves only by a signed release that meets its policy ({})",
                        decision.refusal_or("release it with `promptdesk release`")
                    )))
                }
                MoveKind::Set => {
                    policy::check_action(author, role, Action::CommitVersion).map_err(refuse)?
                }
                MoveKind::Release | MoveKind::Rollback => {
                    if !decision.allowed {
                        return Err(refuse(format!(
                            "cannot move {label} of {prompt} to version {}: {}",
                            target.number,
                            decision.refusal()
                        )));
                    }
                    let statement = release_statement(&ReleaseStatement {
                        id: &event.id,
                        kind: kind.as_str(),
                        label,
                        from_hash: from_hash.as_deref(),
                        to_hash,
                        changelog,
                        review_id: review.as_deref(),
                        actor: author,
                        at: &event.at,
                        eval_run: evidence.as_ref().and_then(|e| e.run_id.as_deref()),
                    });
                    check_signature(tx, author, key_id, signature, &statement)?;
                }
            }
            tx.set_label(&LabelRow {
                prompt: prompt.clone(),
                label: label.clone(),
                hash: to_hash.clone(),
                number: target.number,
                moved_at: event.at.clone(),
                moved_by: author.clone(),
            })?;
            // What the server decided travels with the event: registries that pull it record
            // this release as the server allowed it, not as they would judge it today.
            json!({
                "number": target.number,
                "from_number": current.map(|c| c.number),
                "actor_role": role,
                "decision": decision,
            })
        }
        EventBody::PolicySet { label, policy } => {
            policy::check_action(author, role, Action::SetPolicy).map_err(refuse)?;
            tx.set_policy(label, policy, author, &event.at)?;
            json!({})
        }
        EventBody::RecordsPut {
            prompt,
            kind,
            records,
            ..
        } => {
            if role < Role::Editor {
                return Err(refuse(format!(
                    "{author} is {}; only an editor or above may change test suites, ratings, \
                     incidents and postmortems ({kind} of {prompt})",
                    role.with_article()
                )));
            }
            prompt_of(tx, prompt)?;
            put_records(tx, author, prompt, records)?;
            json!({})
        }
    };
    let value = serde_json::to_value(event)?;
    let seq = tx.append_event(&value, &event.id, &event.hash, &assigned, &who.user, now)?;
    Ok(Applied {
        id: event.id.clone(),
        seq,
        status: "stored",
        assigned,
    })
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
        }
        if existing.is_none() {
            tx.insert_record(&RecordRow {
                collection: change.collection.as_str().into(),
                id: change.id.clone(),
                prompt: prompt.to_string(),
                name,
                created_by: author.to_string(),
                created_at: record_time(&record),
            })?;
        }
    }
    Ok(())
}

/// When a record says it was made (or last changed).
fn record_time(record: &Record) -> String {
    match record {
        Record::Suite(s) => s.created_at.clone(),
        Record::Case(c) => c.updated_at.clone(),
        Record::Rating(r) => r.rated_at.clone(),
        Record::Incident(i) => i.opened_at.clone(),
        Record::IncidentNote(n) => n.written_at.clone(),
        Record::Postmortem(p) => p.updated_at.clone(),
    }
}

/// A label move's compare-and-swap: the mover saw `expected`; refuse when it moved since.
pub fn check_expected(
    prompt: &str,
    label: &str,
    current: Option<&LabelRow>,
    expected: Option<&str>,
) -> Result<()> {
    if current.map(|c| c.hash.as_str()) == expected {
        return Ok(());
    }
    Err(ServerError::Conflict(match current {
        Some(c) => format!(
            "{label} of {prompt} moved to version {} (by {} at {}) before this move arrived; \
             it now serves {}",
            c.number, c.moved_by, c.moved_at, c.hash
        ),
        None => format!("{label} of {prompt} no longer points anywhere; move it again"),
    }))
}

pub fn policy_of(tx: &mut dyn Tx, label: &str) -> Result<Policy> {
    Ok(tx
        .policy(label)?
        .unwrap_or_else(|| Policy::default_for(label)))
}

/// The release policy's verdict on serving `target` from `label`, with the approvals on record.
#[allow(clippy::too_many_arguments)] // the facts a decision weighs
pub fn decide(
    tx: &mut dyn Tx,
    actor: &str,
    actor_role: Role,
    target: &VersionRow,
    label: &str,
    changelog: &str,
    rollback: bool,
    now: &str,
    evidence: Option<&policy::SuiteResult>,
) -> Result<policy::Decision> {
    let policy = policy_of(tx, label)?;
    // The server runs no evals: a suite-gated release carries the evidence its releaser's
    // registry weighed, signed with the release (the run id is in the statement).
    let suite_results: Vec<policy::SuiteResult> = evidence.cloned().into_iter().collect();
    let approvals: Vec<ApprovalFact> = tx
        .decisions(&target.prompt, label)?
        .into_iter()
        .filter(|d| d.kind == "approve")
        .map(|d| ApprovalFact {
            reviewer: d.actor,
            reviewer_role: d.actor_role,
            version: if d.content_hash == target.hash {
                target.number
            } else {
                0
            },
            content_hash: d.content_hash,
        })
        .collect();
    Ok(policy::check_release(
        &policy,
        &Situation {
            label,
            actor,
            actor_role,
            version: target.number,
            version_hash: &target.hash,
            version_author: &target.author,
            changelog,
            approvals: &approvals,
            suite_results: &suite_results,
            now,
            rollback,
        },
    ))
}

trait RefusalOr {
    fn refusal_or(&self, fallback: &str) -> String;
}

impl RefusalOr for policy::Decision {
    fn refusal_or(&self, fallback: &str) -> String {
        if self.allowed {
            fallback.into()
        } else {
            self.refusal()
        }
    }
}

fn prompt_of(tx: &mut dyn Tx, name: &str) -> Result<PromptRow> {
    tx.prompt(name)?
        .ok_or_else(|| ServerError::NotFound(format!("no prompt named {name} on the server")))
}

fn version_of(tx: &mut dyn Tx, prompt: &str, hash: &str) -> Result<VersionRow> {
    tx.version(prompt, &Pick::Hash(hash.into()))?
        .ok_or_else(|| {
            ServerError::NotFound(format!(
                "{prompt} has no version with content {hash} on the server: push it first"
            ))
        })
}

fn check_signature(
    tx: &mut dyn Tx,
    author: &str,
    key_id: &Option<String>,
    signature: &Option<String>,
    statement: &Value,
) -> Result<()> {
    let (Some(key_id), Some(signature)) = (key_id, signature) else {
        return Err(ServerError::Forbidden(format!(
            "approvals and releases are signed; this one by {author} carries no signature"
        )));
    };
    let (person, public_key) = tx.key(key_id)?.ok_or_else(|| {
        ServerError::BadInput(format!(
            "signing key {key_id} is not registered on the server: push its key.register event first"
        ))
    })?;
    if person != author {
        return Err(ServerError::Forbidden(format!(
            "signing key {key_id} belongs to {person}, not {author}"
        )));
    }
    if !signing::verify(&public_key, &signing::statement_bytes(statement), signature) {
        return Err(ServerError::Forbidden(format!(
            "the signature by {author} does not match what it claims to sign"
        )));
    }
    Ok(())
}

/// The PostgreSQL the server's integration tests start (one per test binary).
#[cfg(test)]
#[allow(dead_code)]
#[path = "../tests/common/pg.rs"]
mod test_pg;

/// The record rules on both backends, straight through [`apply`], and the step from schema 1
/// (no records index) to schema 2 on each.
#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Store;
    use promptdesk_content::{PromptKind, VersionContent};

    const AT: &str = "2026-11-21T10:00:00Z";

    fn who(user: &str, role: Role) -> Principal {
        Principal {
            user: user.into(),
            role,
        }
    }

    fn push(store: &Store, by: &Principal, event: &SyncEvent) -> Result<Applied> {
        store.write(|tx| apply(tx, by, event, AT))
    }

    fn records(by: &str, prompt: &str, kind: &str, records: Vec<RecordChange>) -> SyncEvent {
        SyncEvent::new(
            by,
            AT,
            EventBody::RecordsPut {
                prompt: prompt.into(),
                kind: kind.into(),
                payload: json!({}),
                records,
            },
        )
    }

    fn suite(by: &str, prompt: &str, id: &str, name: &str) -> SyncEvent {
        records(
            by,
            prompt,
            "suite.created",
            vec![RecordChange::put(
                Collection::Suite,
                id,
                json!({"name": name, "created_by": by, "created_at": AT}),
            )],
        )
    }

    fn case(by: &str, prompt: &str, id: &str, suite: &str) -> SyncEvent {
        records(
            by,
            prompt,
            "suite.cases_added",
            vec![RecordChange::put(
                Collection::Case,
                id,
                json!({"suite": suite, "position": 1, "vars": {"name": "Ana"},
                       "updated_by": by, "updated_at": AT}),
            )],
        )
    }

    fn prompt(by: &str, name: &str) -> SyncEvent {
        SyncEvent::new(
            by,
            AT,
            EventBody::PromptCreate {
                name: name.into(),
                kind: PromptKind::Text,
                description: String::new(),
                tags: vec![],
            },
        )
    }

    fn the_rules(store: &Store) {
        let ana = who("ana", Role::Editor);
        let ben = who("ben", Role::Reviewer);
        let vic = who("vic", Role::Viewer);
        for (p, name) in [(&ana, "refund"), (&ana, "greeting")] {
            push(store, p, &prompt(&p.user, name)).unwrap();
        }
        let first = suite("ana", "refund", "s-ana", "smoke");
        assert_eq!(push(store, &ana, &first).unwrap().status, "stored");
        assert_eq!(push(store, &ana, &first).unwrap().status, "duplicate");

        // The same name again, offline elsewhere: refused, naming who made it first.
        let err = push(store, &ben, &suite("ben", "refund", "s-ben", "smoke")).unwrap_err();
        assert!(matches!(err, ServerError::Conflict(_)), "{err:?}");
        assert!(err.to_string().contains("ana created it first"), "{err}");
        // The same name on another prompt is another suite.
        push(store, &ben, &suite("ben", "greeting", "s-ben", "smoke")).unwrap();
        // A record id of one prompt cannot be changed through another.
        let err = push(store, &ana, &suite("ana", "refund", "s-ben", "smoke")).unwrap_err();
        assert!(err.to_string().contains("belongs to greeting"), "{err}");

        // Cases belong to a suite the server has, of the same prompt.
        push(store, &ben, &case("ben", "refund", "c1", "s-ana")).unwrap();
        let err = push(store, &ben, &case("ben", "refund", "c2", "s-nowhere")).unwrap_err();
        assert!(matches!(err, ServerError::NotFound(_)), "{err:?}");
        assert!(err.to_string().contains("not on the server"), "{err}");
        let err = push(store, &ben, &case("ben", "refund", "c3", "s-ben")).unwrap_err();
        assert!(
            err.to_string().contains("of greeting, not of refund"),
            "{err}"
        );

        // Only a case the server has can be deleted (again and again).
        let remove = |id: &str| {
            records(
                "ben",
                "refund",
                "suite.case_removed",
                vec![RecordChange::delete(Collection::Case, id)],
            )
        };
        push(store, &ben, &remove("c1")).unwrap();
        push(store, &ben, &remove("c1")).unwrap();
        let err = push(store, &ben, &remove("c2")).unwrap_err();
        assert!(matches!(err, ServerError::NotFound(_)), "{err:?}");

        // Notes and postmortems belong to an incident the server has.
        let note = records(
            "ana",
            "refund",
            "incident.noted",
            vec![RecordChange::put(
                Collection::IncidentNote,
                "n1",
                json!({"incident": "i1", "at": AT, "text": "first ticket", "author": "ana",
                       "written_at": AT}),
            )],
        );
        let err = push(store, &ana, &note).unwrap_err();
        assert!(matches!(err, ServerError::NotFound(_)), "{err:?}");
        let incident = records(
            "ana",
            "refund",
            "incident.opened",
            vec![RecordChange::put(
                Collection::Incident,
                "i1",
                json!({"title": "rude", "severity": "SEV2", "status": "investigating",
                       "detection": "monitoring", "detected_at": AT, "label": "production",
                       "opened_by": "ana", "opened_at": AT, "updated_at": AT}),
            )],
        );
        push(store, &ana, &incident).unwrap();
        push(store, &ana, &note).unwrap();

        // Ratings: of a version the server has, once.
        let content: VersionContent =
            serde_json::from_value(json!({"body": {"kind": "text", "template": "Hi"}})).unwrap();
        let hash = content.content_hash();
        push(
            store,
            &ana,
            &SyncEvent::new(
                "ana",
                AT,
                EventBody::VersionCreate {
                    prompt: "refund".into(),
                    hash: hash.clone(),
                    parent_hash: None,
                    content,
                    message: "v1".into(),
                },
            ),
        )
        .unwrap();
        let rating = |id: &str, version: &str| {
            records(
                "ben",
                "refund",
                "output.rated",
                vec![RecordChange::put(
                    Collection::Rating,
                    id,
                    json!({"version_hash": version, "case_id": "c1", "output_hash": "x",
                           "rating": "good", "rated_by": "ben", "rated_at": AT}),
                )],
            )
        };
        let err = push(store, &ben, &rating("r1", &"0".repeat(64))).unwrap_err();
        assert!(matches!(err, ServerError::NotFound(_)), "{err:?}");
        push(store, &ben, &rating("r1", &hash)).unwrap();
        let err = push(store, &ben, &rating("r1", &hash)).unwrap_err();
        assert!(err.to_string().contains("recorded before"), "{err}");

        // Viewers change none of it; shapes are checked before anything else.
        let err = push(store, &vic, &suite("vic", "refund", "s-vic", "tone")).unwrap_err();
        assert!(matches!(err, ServerError::Forbidden(_)), "{err:?}");
        let bad = suite("ana", "refund", "s-bad", "Not A Name");
        assert!(matches!(
            push(store, &ana, &bad).unwrap_err(),
            ServerError::BadInput(_)
        ));
        // Refusals left nothing behind: the names they tried are still free.
        push(store, &ana, &suite("ana", "refund", "s-tone", "tone")).unwrap();
    }

    /// Pull pages stop at their byte budget; one event over the limit is refused.
    fn the_sizes(store: &Store) {
        let ana = who("ana", Role::Editor);
        push(store, &ana, &prompt("ana", "refund")).unwrap();
        let update = |mib: f64| {
            SyncEvent::new(
                "ana",
                AT,
                EventBody::PromptUpdate {
                    name: "refund".into(),
                    description: "x".repeat((mib * 1024.0 * 1024.0) as usize),
                    tags: vec![],
                },
            )
        };
        for _ in 0..5 {
            push(store, &ana, &update(1.25)).unwrap();
        }
        let err = push(store, &ana, &update(6.5)).unwrap_err();
        assert!(err.to_string().contains("at most 6 MiB"), "{err}");
        let mut after = 0;
        let mut pages = Vec::new();
        loop {
            let page = store.read(|tx| tx.events_after(after, 1000)).unwrap();
            let Some(last) = page.last() else { break };
            after = last.seq;
            let sizes: Vec<usize> = page.iter().map(|e| e.event.to_string().len()).collect();
            let before_last: usize = sizes[..sizes.len() - 1].iter().sum();
            assert!(before_last < crate::store::PAGE_BYTES, "{sizes:?}");
            pages.push(sizes.len());
        }
        assert_eq!(
            pages.iter().sum::<usize>(),
            6,
            "every event, once: {pages:?}"
        );
        assert!(pages.len() >= 2, "{pages:?}");
    }

    #[test]
    fn pages_and_events_are_bounded_on_sqlite() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("server.db").display());
        the_sizes(&Store::open(&url).unwrap());
    }

    #[test]
    fn pages_and_events_are_bounded_on_postgres() {
        let db = test_pg::TestDb::create();
        the_sizes(&Store::open(&db.url).unwrap());
    }

    #[test]
    fn record_rules_on_sqlite() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("server.db").display());
        the_rules(&Store::open(&url).unwrap());
    }

    #[test]
    fn record_rules_on_postgres() {
        let db = test_pg::TestDb::create();
        the_rules(&Store::open(&db.url).unwrap());
    }

    #[test]
    fn a_schema_1_sqlite_database_gains_the_records_index() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("server.db");
        {
            let conn = rusqlite::Connection::open(&path).unwrap();
            conn.execute_batch(include_str!("store/sqlite_schema.sql"))
                .unwrap();
            conn.execute_batch("PRAGMA user_version = 1").unwrap();
        }
        let store = Store::open(&format!("sqlite://{}", path.display())).unwrap();
        let ana = who("ana", Role::Editor);
        push(&store, &ana, &prompt("ana", "refund")).unwrap();
        push(&store, &ana, &suite("ana", "refund", "s1", "smoke")).unwrap();
        drop(store);
        let conn = rusqlite::Connection::open(&path).unwrap();
        let version: i64 = conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .unwrap();
        assert_eq!(version, 2);
    }

    #[test]
    fn a_schema_1_postgres_database_gains_the_records_index() {
        let db = test_pg::TestDb::create();
        drop(Store::open(&db.url).unwrap());
        let mut direct = ::postgres::Client::connect(&db.url, ::postgres::NoTls).unwrap();
        direct
            .batch_execute("DROP TABLE records; UPDATE promptdesk_schema SET version = 1")
            .unwrap();
        let store = Store::open(&db.url).unwrap();
        let ana = who("ana", Role::Editor);
        push(&store, &ana, &prompt("ana", "refund")).unwrap();
        push(&store, &ana, &suite("ana", "refund", "s1", "smoke")).unwrap();
        let version: i32 = direct
            .query_one("SELECT version FROM promptdesk_schema", &[])
            .unwrap()
            .get(0);
        assert_eq!(version, 2);
    }
}
