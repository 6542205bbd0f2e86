//! `verify`'s replay: every table that the ledger describes is rebuilt from the ledger alone,
//! in one pass over it, and compared row by row with what the file holds; every release is
//! judged again against the policy, roles and approvals the ledger had in force at that moment.
//!
//! What it proves, once the hash chain holds (checked by [`crate::store::ledger::verify_chain`]):
//!
//! - **prompts**: each prompt's name, kind, description, tags, creator and creation time.
//! - **versions**: each version's number (after every `version.renumbered`), content hash,
//!   parent, message, author and time, and that its pinned includes are those the ledger
//!   recorded; with the content re-hashed, a version's content is the content the ledger named.
//! - **labels** and **label_history**: where each label points, who moved it when, and every
//!   move in order, from `label.moved`, releases, rollbacks, `label.restored` and imports.
//!   `latest` is checked to point at the highest-numbered version (a pull moves it without an
//!   entry of its own, so its history and mover are not covered).
//! - **policies**, **roles**, **signing_keys**, **key_revocations**: each row as the last entry
//!   about it left it;
//!   and each role or policy change made here was made by someone the ledger had as an admin
//!   at the time (the registry always keeps one).
//! - **reviews** and **review_events**: each request and each comment or decision with its
//!   author, role at the time, content hash, body and anchor.
//! - **releases**: each release and rollback, its label move, changelog, review, counted
//!   approvals, actor and role, key and signature; each signature verifies against the key the
//!   ledger registered. And each release made here is judged again with
//!   [`crate::policy::check_release`] against the policy the ledger had for its label at that
//!   moment, the releaser's role then and the approvals recorded by then, so a policy or role
//!   edited behind the ledger's back for the length of one release is found even when it was
//!   put back afterwards. Releases pulled from the server carry the server's verdict (its
//!   `assigned.decision`): they are not judged again here (roles do not sync), but their rows
//!   and signatures are checked like any other. Imported releases were judged where they were
//!   made and are checked the same way.
//! - **eval_runs**: each finished run's status, counts, version, suite hash and end time as
//!   `eval.finished` recorded them (what the release gate counts). Runs still going are not in
//!   the ledger yet.
//! - **suites**, **suite_cases**, **ratings**, **incidents**, **incident_notes**,
//!   **postmortems**: each row as the winning change left it. Synced records follow the
//!   server's order (last writer wins, a change not pushed yet wins over pulls), so the replay
//!   orders their changes by the server's sequence number where there is one (from the pulled
//!   entry's `sync.seq`, or the exchange recorded for a pushed one), changes not pushed yet
//!   after all of those, and a change the server refused just after what was pulled before the
//!   refusal.
//!
//! What it cannot prove, and why:
//!
//! - The chain is not keyed: someone who can write the file can rewrite the whole ledger (or
//!   append well-formed entries under any name, a new key of their own included) and every
//!   table to match, and nothing inside the file can tell. Only a copy of the head kept
//!   elsewhere can: an export's `ledger.jsonl`, or the team server's log head. The replay
//!   returns the head it reached (`Replayed::head`, the last seq and hash) for that witness to
//!   compare; `Registry::verify` is where it plugs in.
//! - Columns no ledger payload carries are not compared: a version's imported message and
//!   parent (`version.imported` names neither), an imported label move's reason, a review
//!   event's `reply_to`, key id and signature (its signature is still verified against the
//!   registered key, over fields the ledger does cover), and a release's `bundle` and the rest
//!   of its stored decision besides the counted approvals (both are compared for imported
//!   releases, whose entry carries the whole record).
//! - The suite condition of a re-judged release is checked with the eval run its signed
//!   statement names and that run's pass rate as `eval.finished` recorded it; which cases
//!   regressed against the label's previous version is taken from the release's stored
//!   evidence (eval results are not in the ledger), and whether the run covered the suite's
//!   cases as they were then is not re-derived. A run's per-case results, its model settings
//!   and costs, the reply cache, drafts, samples, settings and the sync bookkeeping are local
//!   working data no entry describes, not covered.
//! - A release is judged at the time of its ledger entry; the registry decided a few
//!   milliseconds earlier, so a release within milliseconds of a freeze window's edge could
//!   be judged differently.
//! - The order of synced record changes leans on `sync_events`, which is not in the ledger: a
//!   forged exchange can change which of two recorded states of a row is expected, never make
//!   a state the ledger does not have acceptable.

use std::collections::HashMap;

use rusqlite::Connection;
use serde_json::Value;

use crate::error::Result;

mod prompts;
mod records;
mod releases;

/// What the replay found.
pub(crate) struct Replayed {
    /// One line per row that differs from what the ledger says, naming the table and key.
    pub problems: Vec<String>,
    /// The last entry replayed (seq and hash): what an outside witness of the log head (the
    /// team server's, an export's) is to be compared with.
    #[allow(dead_code)] // the server's witness of the head compares with it
    pub head: Option<(i64, String)>,
}

/// One ledger entry as the replay reads it.
pub(crate) struct Entry {
    pub seq: i64,
    pub id: String,
    pub at: String,
    pub actor: String,
    pub kind: String,
    pub subject: String,
    pub payload: Value,
    /// The server's sequence number of a pulled event (`sync.seq` in the payload).
    pub pulled: Option<i64>,
}

impl Entry {
    fn text(&self, field: &str) -> Option<&str> {
        self.payload.get(field).and_then(Value::as_str)
    }
}

/// The state the ledger describes, built up entry by entry.
#[derive(Default)]
pub(crate) struct Replay {
    pub prompts: prompts::Prompts,
    pub releases: releases::ReleaseState,
    pub records: records::RecordState,
    /// The highest server sequence number pulled so far in the replay.
    pub pulled_upto: i64,
    pub problems: Vec<String>,
}

/// Replays the ledger of `conn` and compares every derived table with it.
pub(crate) fn replay(conn: &Connection) -> Result<Replayed> {
    let mut state = Replay::default();
    let mut keys = std::collections::HashMap::new();
    for e in crate::store::reviews::events(conn)? {
        if let Some(key_id) = e.key_id {
            keys.insert(e.id, key_id);
        }
    }
    state.releases.set_event_keys(keys);
    let mut head = None;
    crate::store::ledger::for_each(conn, |l| {
        let pulled = l
            .payload
            .get("sync")
            .and_then(|s| s.get("seq"))
            .and_then(Value::as_i64);
        head = Some((l.seq, l.hash));
        let e = Entry {
            seq: l.seq,
            id: l.id,
            at: l.at,
            actor: l.actor,
            kind: l.kind,
            subject: l.subject,
            payload: l.payload,
            pulled,
        };
        if let Some(s) = e.pulled {
            state.pulled_upto = state.pulled_upto.max(s);
        }
        state.apply(&e);
        Ok(())
    })?;
    let mut problems = std::mem::take(&mut state.problems);
    state.prompts.compare(conn, &mut problems)?;
    state
        .releases
        .compare(conn, &state.prompts, &mut problems)?;
    state.records.compare(conn, &state.prompts, &mut problems)?;
    Ok(Replayed { problems, head })
}

impl Replay {
    fn apply(&mut self, e: &Entry) {
        match e.kind.as_str() {
            "prompt.created" | "prompt.updated" | "prompt.renamed" | "version.created"
            | "version.imported" | "version.renumbered" | "label.moved" | "label.imported"
            | "label.restored" => self.prompts.apply(e, &mut self.problems),
            "release.recorded" | "rollback.recorded" => {
                self.prompts.apply_release_move(e);
                self.releases.apply(e, &self.prompts, &mut self.problems);
            }
            "release.imported"
            | "key.registered"
            | "key.imported"
            | "key.revoked"
            | "key_revocation.imported"
            | "role.set"
            | "role.imported"
            | "policy.set"
            | "policy.imported"
            | "review.requested"
            | "review.imported"
            | "review_event.imported"
            | "eval.finished" => self.releases.apply(e, &self.prompts, &mut self.problems),
            k if k.starts_with("review.") => {
                self.releases.apply(e, &self.prompts, &mut self.problems)
            }
            "suite.created"
            | "suite.renamed"
            | "suite.cases_added"
            | "suite.case_updated"
            | "suite.case_removed"
            | "output.rated"
            | "incident.opened"
            | "incident.updated"
            | "incident.resolved"
            | "incident.noted"
            | "incident.rolled_back"
            | "postmortem.saved" => self.records.apply(e, &self.prompts, &mut self.problems),
            "sync.refused" => {
                if let Some(event) = e.text("event") {
                    self.records.refused(event, self.pulled_upto);
                }
            }
            // registry.created, identity.set, sample.*, remote.set: nothing derived to rebuild.
            _ => {}
        }
    }
}

/// `#ab12cd34ef56…` for messages.
pub(crate) fn short(hash: &str) -> String {
    format!("#{}…", &hash[..hash.len().min(12)])
}

/// A value or `none`, for messages.
pub(crate) fn shown(v: Option<&str>) -> String {
    v.map_or_else(|| "none".to_string(), |s| format!("{s:?}"))
}

/// Pushes `table: key: what` when `ours` (the file) and `ledger` differ.
pub(crate) fn differs<T: PartialEq + std::fmt::Debug>(
    problems: &mut Vec<String>,
    place: &str,
    column: &str,
    ours: &T,
    ledger: &T,
) {
    if ours != ledger {
        problems.push(format!(
            "{place}: {column} is {ours:?} but the ledger says {ledger:?}"
        ));
    }
}

/// The exchanges recorded with the server, by the ledger entry they are: its sequence number
/// there, if known.
pub(crate) fn exchanges(conn: &Connection) -> Result<HashMap<String, Option<i64>>> {
    crate::store::sync_events::by_ledger_entry(conn)
}
