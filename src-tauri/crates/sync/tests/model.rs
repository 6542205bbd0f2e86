//! A model of a team: three people, each with their own registry, working offline in random
//! order against one real server, syncing now and then. Whatever they did, once everyone has
//! synced:
//!
//! 1. every registry agrees on what is shared (versions and their numbers, labels, reviews,
//!    decisions, accepted releases, keys, and the test suites the server accepted with their
//!    cases, field for field: the last edit in the server's order wins everywhere), and another
//!    round changes nothing. One difference
//!    is allowed, and checked to be exactly that: versions are immutable, so who saved a
//!    content offline that someone else pushed first stays its author in their own registry
//!    (see `comparable_state`);
//! 2. the server's `production` only ever moved to content its policy allowed: every release
//!    on the server's log follows an approval of exactly that content, for `production`, by a
//!    reviewer who is not the content's author, and is made by a releaser; a rollback only
//!    goes back to content `production` served before; what the runtime API serves is the last
//!    of those moves;
//! 3. nothing made anywhere is lost: every ledger entry of a syncable kind is on the server
//!    (same event, same hash) or is listed as refused, with the server's reason;
//! 4. every registry verifies (hashes, ledger chain, signatures).
//!
//! Roles are the server's: ana is an editor, ben a reviewer, rita a releaser. Locally nobody
//! has a role configured, so each registry lets its owner try anything (an editor approving,
//! a reviewer releasing) and the server has the last word: those attempts are refused there
//! and must come back explained, with the labels put back.
//!
//! Each case is 40 to 60 steps over two prompt names and five texts, so that people create
//! the same prompt and save the same content offline, and one suite name, so that people create
//! the same suite offline (the server refuses the second; its maker keeps it under another name)
//! and add, edit and remove the same cases. `PROPTEST_CASES` sets the number of
//! cases (24 by default), `PROPTEST_RNG_SEED` replays a run.

mod common;

use std::collections::{BTreeMap, BTreeSet};

use common::{shared_state, text, Member, Server};
use promptdesk_content::PromptKind;
use promptdesk_core::eval::CaseInput;
use promptdesk_core::policy::Role;
use promptdesk_core::release::{ReleaseRequest, ReviewStatus, RollbackRequest};
use promptdesk_core::sync::inbox::Pulled;
use promptdesk_core::sync::outbox::is_synced;
use promptdesk_core::sync::{EventBody, MoveKind, ReviewEventKind};
use promptdesk_core::{NewPrompt, Ref};
use promptdesk_sync::Remote;
use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use rusqlite::OptionalExtension;

/// A few names, so that two people create the same prompt offline.
const PROMPTS: &[&str] = &["support/greeting", "sales/intro"];
/// A few texts, so that two people commit the same content offline.
const TEXTS: &[&str] = &[
    "Hello {{ name }}.",
    "Hi {{ name }}!",
    "Welcome, {{ name }}.",
    "Dear {{ name }},",
    "Hey {{ name }}",
];
const PEOPLE: &[(&str, Role)] = &[
    ("ana", Role::Editor),
    ("ben", Role::Reviewer),
    ("rita", Role::Releaser),
];
const MAX_OPS: usize = 60;

/// One thing one person does on their own registry, offline (or a sync). `pick` chooses among
/// what exists when the step runs (a version, a review), so shrinking keeps steps meaningful.
#[derive(Debug, Clone)]
enum Op {
    Create {
        who: usize,
        prompt: usize,
    },
    Commit {
        who: usize,
        prompt: usize,
        text: usize,
    },
    Stage {
        who: usize,
        prompt: usize,
        pick: usize,
    },
    RequestReview {
        who: usize,
        prompt: usize,
        pick: usize,
    },
    Approve {
        who: usize,
        pick: usize,
    },
    Release {
        who: usize,
        pick: usize,
    },
    Rollback {
        who: usize,
        prompt: usize,
    },
    /// Test suite `smoke` of a prompt, and its cases.
    CreateSuite {
        who: usize,
        prompt: usize,
    },
    AddCase {
        who: usize,
        prompt: usize,
        text: usize,
    },
    EditCase {
        who: usize,
        prompt: usize,
        pick: usize,
        text: usize,
    },
    RemoveCase {
        who: usize,
        prompt: usize,
        pick: usize,
    },
    Sync {
        who: usize,
    },
    /// Everyone syncs, one after the other (a team's morning).
    SyncAll,
}

fn op() -> impl Strategy<Value = Op> {
    let who = 0..PEOPLE.len();
    // Mostly the first prompt, so that it gets far (a second release, a rollback); the other
    // keeps review numbers and labels of two prompts apart.
    let prompt = prop_oneof![3 => Just(0), 1 => 0..PROMPTS.len()];
    let pick = 0usize..16;
    // Anyone may try anything, but mostly those whose role lets it through on the server, so
    // that cases get as far as a second release and a rollback.
    let reviewer = prop_oneof![3 => 1..PEOPLE.len(), 1 => Just(0)];
    let releaser = prop_oneof![3 => Just(PEOPLE.len() - 1), 1 => 0..PEOPLE.len() - 1];
    prop_oneof![
        1 => (who.clone(), prompt.clone()).prop_map(|(who, prompt)| Op::Create { who, prompt }),
        4 => (who.clone(), prompt.clone(), 0..TEXTS.len())
            .prop_map(|(who, prompt, text)| Op::Commit { who, prompt, text }),
        2 => (who.clone(), prompt.clone(), pick.clone())
            .prop_map(|(who, prompt, pick)| Op::Stage { who, prompt, pick }),
        6 => (who.clone(), prompt.clone(), pick.clone())
            .prop_map(|(who, prompt, pick)| Op::RequestReview { who, prompt, pick }),
        6 => (reviewer, pick.clone()).prop_map(|(who, pick)| Op::Approve { who, pick }),
        6 => (releaser.clone(), pick).prop_map(|(who, pick)| Op::Release { who, pick }),
        3 => (releaser, prompt.clone()).prop_map(|(who, prompt)| Op::Rollback { who, prompt }),
        1 => (who.clone(), prompt.clone())
            .prop_map(|(who, prompt)| Op::CreateSuite { who, prompt }),
        3 => (who.clone(), prompt.clone(), 0..TEXTS.len())
            .prop_map(|(who, prompt, text)| Op::AddCase { who, prompt, text }),
        2 => (who.clone(), prompt.clone(), 0usize..16, 0..TEXTS.len())
            .prop_map(|(who, prompt, pick, text)| Op::EditCase { who, prompt, pick, text }),
        1 => (who.clone(), prompt, 0usize..16)
            .prop_map(|(who, prompt, pick)| Op::RemoveCase { who, prompt, pick }),
        5 => who.prop_map(|who| Op::Sync { who }),
        5 => Just(Op::SyncAll),
    ]
}

/// What happened across all cases, to check that the model exercises what it claims to.
#[derive(Debug, Default)]
struct Tally {
    events_on_server: usize,
    approvals_on_server: usize,
    releases_on_server: usize,
    rollbacks_on_server: usize,
    refused: usize,
    shared_contents: usize,
    /// Suite and case changes on the server, and cases every registry ended with.
    record_changes_on_server: usize,
    shared_cases: usize,
}

fn sync(m: &mut Member) -> Result<promptdesk_sync::Report, TestCaseError> {
    promptdesk_sync::sync(&mut m.reg, &m.remote, &mut |_| {})
        .map_err(|e| TestCaseError::fail(format!("{} could not sync: {e}", m.name)))
}

/// Runs one step. A step the local registry refuses is skipped: that is the person being told
/// no, not a failure.
fn step(team: &mut [Member], op: &Op) -> Result<(), TestCaseError> {
    match *op {
        Op::Create { who, prompt } => {
            let _ = team[who].reg.create_prompt(
                PROMPTS[prompt],
                PromptKind::Text,
                NewPrompt {
                    draft: Some(text(TEXTS[0])),
                    ..Default::default()
                },
            );
        }
        Op::Commit {
            who,
            prompt,
            text: t,
        } => {
            let reg = &mut team[who].reg;
            // Someone who does not have the prompt yet starts it (as often happens offline).
            if reg.prompt(PROMPTS[prompt]).is_err() {
                let _ = reg.create_prompt(PROMPTS[prompt], PromptKind::Text, NewPrompt::default());
            }
            if reg.save_draft(PROMPTS[prompt], text(TEXTS[t])).is_ok() {
                let _ = reg.commit(PROMPTS[prompt], &format!("text {t}"));
            }
        }
        Op::Stage { who, prompt, pick } => {
            let reg = &mut team[who].reg;
            if let Ok(history) = reg.history(PROMPTS[prompt], None, 100) {
                if !history.is_empty() {
                    let v = &history[pick % history.len()];
                    let _ = reg.set_label(
                        PROMPTS[prompt],
                        Some(&Ref::Number(v.number)),
                        "staging",
                        "try it",
                    );
                }
            }
        }
        Op::RequestReview { who, prompt, pick } => {
            let reg = &mut team[who].reg;
            if let Ok(history) = reg.history(PROMPTS[prompt], None, 100) {
                if !history.is_empty() {
                    let v = &history[pick % history.len()];
                    let _ = reg.request_review(
                        PROMPTS[prompt],
                        Some(&Ref::Number(v.number)),
                        "production",
                        "ship it",
                    );
                }
            }
        }
        Op::Approve { who, pick } => {
            let me = team[who].name.clone();
            let reg = &mut team[who].reg;
            let open: Vec<_> = reg
                .reviews(false)
                .map_err(|e| TestCaseError::fail(e.to_string()))?
                .into_iter()
                .filter(|r| r.label == "production" && r.version_author != me)
                .collect();
            if !open.is_empty() {
                let _ = reg.approve(open[pick % open.len()].number, "reads well");
            }
        }
        Op::Release { who, pick } => {
            let reg = &mut team[who].reg;
            let approved: Vec<_> = reg
                .reviews(false)
                .map_err(|e| TestCaseError::fail(e.to_string()))?
                .into_iter()
                .filter(|r| r.label == "production" && r.status == ReviewStatus::Approved)
                .collect();
            if !approved.is_empty() {
                let r = &approved[pick % approved.len()];
                let _ = reg.release(
                    &r.prompt,
                    Some(&Ref::HashPrefix(r.version_hash.clone())),
                    "production",
                    ReleaseRequest {
                        changelog: "ship it",
                        review: Some(r.number),
                        ..Default::default()
                    },
                );
            }
        }
        Op::Rollback { who, prompt } => {
            let _ = team[who].reg.rollback(
                PROMPTS[prompt],
                "production",
                RollbackRequest {
                    reason: "it misbehaves",
                    ..Default::default()
                },
            );
        }
        Op::CreateSuite { who, prompt } => {
            let _ = team[who].reg.create_suite(PROMPTS[prompt], "smoke", "");
        }
        Op::AddCase { who, prompt, text } => {
            // Creates the suite when this registry has none of that name yet.
            let _ =
                team[who]
                    .reg
                    .add_cases(PROMPTS[prompt], "smoke", vec![case_input(text)], "", true);
        }
        Op::EditCase {
            who,
            prompt,
            pick,
            text,
        } => {
            let reg = &mut team[who].reg;
            if let Ok(suite) = reg.suite(PROMPTS[prompt], "smoke") {
                if !suite.cases.is_empty() {
                    let id = suite.cases[pick % suite.cases.len()].id.clone();
                    let _ = reg.update_case(PROMPTS[prompt], "smoke", &id, case_input(text));
                }
            }
        }
        Op::RemoveCase { who, prompt, pick } => {
            let reg = &mut team[who].reg;
            if let Ok(suite) = reg.suite(PROMPTS[prompt], "smoke") {
                if !suite.cases.is_empty() {
                    let id = suite.cases[pick % suite.cases.len()].id.clone();
                    let _ = reg.remove_case(PROMPTS[prompt], "smoke", &id);
                }
            }
        }
        Op::Sync { who } => {
            sync(&mut team[who])?;
        }
        Op::SyncAll => {
            for m in team.iter_mut() {
                sync(m)?;
            }
        }
    }
    Ok(())
}

fn case_input(text: usize) -> CaseInput {
    CaseInput {
        vars: serde_json::json!({ "name": TEXTS[text] })
            .as_object()
            .cloned()
            .unwrap(),
        expected: Some(format!("text {text}")),
        ..Default::default()
    }
}

/// The suites the server accepted (a suite whose creation it refused stays, under another name,
/// only where it was made) and their cases, every field.
fn shared_suites(m: &Member) -> serde_json::Value {
    let conn = m.reg.connection();
    let rows = |sql: &str| -> Vec<Vec<String>> {
        let mut stmt = conn.prepare(sql).unwrap();
        let n = stmt.column_count();
        stmt.query_map([], |r| {
            (0..n)
                .map(|i| {
                    r.get::<_, rusqlite::types::Value>(i).map(|v| match v {
                        rusqlite::types::Value::Null => "null".to_string(),
                        rusqlite::types::Value::Integer(i) => i.to_string(),
                        rusqlite::types::Value::Text(t) => t,
                        other => format!("{other:?}"),
                    })
                })
                .collect()
        })
        .unwrap()
        .map(Result::unwrap)
        .collect()
    };
    let shared = "SELECT id FROM suites WHERE id NOT IN (
        SELECT json_extract(l.payload, '$.id') FROM ledger l
        JOIN sync_events e ON e.ledger_id = l.id
        WHERE l.kind = 'suite.created' AND e.status = 'refused')";
    serde_json::json!({
        "suites": rows(&format!(
            "SELECT p.name, s.id, s.name, s.description, s.created_by, s.created_at
             FROM suites s JOIN prompts p ON p.id = s.prompt_id
             WHERE s.id IN ({shared}) ORDER BY p.name, s.name")),
        "cases": rows(&format!(
            "SELECT id, suite_id, position, description, vars, expected, assertions, tags,
                    origin, updated_by, updated_at
             FROM suite_cases WHERE suite_id IN ({shared}) ORDER BY id")),
    })
}

/// Everything on the server's log, in its order.
fn server_log(auditor: &Remote) -> Result<Vec<Pulled>, TestCaseError> {
    let mut out: Vec<Pulled> = Vec::new();
    loop {
        let after = out.last().map_or(0, |p| p.seq);
        let (status, body) = auditor
            .get(&format!("/v1/sync/pull?after={after}&limit=1000"))
            .map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(status, 200, "{}", body);
        let page: Vec<Pulled> = serde_json::from_value(body["events"].clone())
            .map_err(|e| TestCaseError::fail(format!("the server's log: {e}")))?;
        if page.is_empty() {
            return Ok(out);
        }
        out.extend(page);
    }
}

fn role(assigned: &serde_json::Value) -> Role {
    assigned["actor_role"]
        .as_str()
        .and_then(Role::parse)
        .unwrap_or(Role::Viewer)
}

/// Property 2, from the server's own log: walks it in order, remembering who wrote each content
/// (the first push of it, as the server records), every review and every approval, and checks
/// each move of `production` against what was on record before it. Returns the hash each
/// prompt's `production` ends on.
fn check_production_moves(
    log: &[Pulled],
    tally: &mut Tally,
) -> Result<BTreeMap<String, String>, TestCaseError> {
    let mut author_of: BTreeMap<(String, String), String> = BTreeMap::new();
    let mut reviews: BTreeMap<String, (String, String)> = BTreeMap::new();
    // (prompt, content hash) -> approvers (with their role then) for production.
    let mut approved: BTreeMap<(String, String), Vec<(String, Role)>> = BTreeMap::new();
    let mut served: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for p in log {
        let e = &p.event;
        match &e.body {
            EventBody::VersionCreate { prompt, hash, .. } => {
                author_of
                    .entry((prompt.clone(), hash.clone()))
                    .or_insert_with(|| e.author.clone());
            }
            EventBody::ReviewRequest {
                prompt,
                version_hash,
                label,
                ..
            } => {
                prop_assert!(
                    author_of.contains_key(&(prompt.clone(), version_hash.clone())),
                    "review {} of a version the server does not have",
                    e.id
                );
                if label == "production" {
                    reviews.insert(e.id.clone(), (prompt.clone(), version_hash.clone()));
                }
            }
            EventBody::ReviewEvent {
                review,
                decision: ReviewEventKind::Approve,
                content_hash,
                ..
            } => {
                if let Some((prompt, hash)) = reviews.get(review) {
                    prop_assert_eq!(Some(hash), content_hash.as_ref());
                    tally.approvals_on_server += 1;
                    approved
                        .entry((prompt.clone(), hash.clone()))
                        .or_default()
                        .push((e.author.clone(), role(&p.assigned)));
                }
            }
            EventBody::LabelMove {
                prompt,
                label,
                kind,
                from_hash,
                to_hash,
                ..
            } if label == "production" => {
                let history = served.entry(prompt.clone()).or_default();
                prop_assert_eq!(
                    from_hash.as_ref(),
                    history.last(),
                    "move #{} of {}'s production does not start where it was",
                    p.seq,
                    prompt
                );
                prop_assert!(
                    role(&p.assigned) >= Role::Releaser,
                    "#{}: {} moved production as {:?}",
                    p.seq,
                    e.author,
                    p.assigned
                );
                match kind {
                    MoveKind::Set => {
                        return Err(TestCaseError::fail(format!(
                            "#{}: production of {prompt} was moved by a plain label move",
                            p.seq
                        )))
                    }
                    MoveKind::Release => {
                        let key = (prompt.clone(), to_hash.clone());
                        let author = author_of.get(&key).ok_or_else(|| {
                            TestCaseError::fail(format!("#{}: release of unknown content", p.seq))
                        })?;
                        let ok = approved.get(&key).is_some_and(|a| {
                            a.iter()
                                .any(|(who, r)| who != author && *r >= Role::Reviewer)
                        });
                        prop_assert!(
                            ok,
                            "#{}: {} released {}@{} (written by {}) to production without an \
                             approval by another reviewer; approvals on record: {:?}",
                            p.seq,
                            e.author,
                            prompt,
                            &to_hash[..12],
                            author,
                            approved.get(&key)
                        );
                        tally.releases_on_server += 1;
                    }
                    MoveKind::Rollback => {
                        prop_assert!(
                            history.contains(to_hash),
                            "#{}: production of {} rolled back to {}, which it never served",
                            p.seq,
                            prompt,
                            &to_hash[..12]
                        );
                        tally.rollbacks_on_server += 1;
                    }
                }
                history.push(to_hash.clone());
            }
            _ => {}
        }
    }
    Ok(served
        .into_iter()
        .filter_map(|(prompt, h)| h.last().cloned().map(|last| (prompt, last)))
        .collect())
}

/// Property 3 for one registry: every syncable ledger entry was exchanged with the server
/// (pushed or pulled, and the server has that event with that hash) or is listed as refused
/// with a reason.
fn check_nothing_lost(
    m: &Member,
    on_server: &BTreeMap<String, String>,
    tally: &mut Tally,
) -> Result<(), TestCaseError> {
    let state = m
        .reg
        .sync_state()
        .map_err(|e| TestCaseError::fail(e.to_string()))?;
    prop_assert_eq!(state.pending, 0, "{} still has changes to push", &m.name);
    let refused: BTreeSet<&str> = state.refused.iter().map(|r| r.event_id.as_str()).collect();
    for r in &state.refused {
        prop_assert!(
            !r.message.trim().is_empty(),
            "{}: refusal without a reason",
            &m.name
        );
    }
    tally.refused += refused.len();
    let entries = m
        .reg
        .ledger(None, 0, 1_000_000)
        .map_err(|e| TestCaseError::fail(e.to_string()))?;
    let conn = m.reg.connection();
    for entry in entries.iter().filter(|e| is_synced(&e.kind)) {
        let row: Option<(String, String, String, String)> = conn
            .query_row(
                "SELECT event_id, hash, status, message FROM sync_events WHERE ledger_id = ?1",
                [&entry.id],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
            )
            .optional()
            .map_err(|e| TestCaseError::fail(e.to_string()))?;
        let Some((event, hash, status, message)) = row else {
            return Err(TestCaseError::fail(format!(
                "{}: ledger entry {} ({} of {}) was never exchanged with the server",
                m.name, entry.seq, entry.kind, entry.subject
            )));
        };
        match status.as_str() {
            "pushed" | "pulled" => prop_assert_eq!(
                on_server.get(&event),
                Some(&hash),
                "{}: ledger entry {} ({}) is {} as event {}, which the server does not have",
                &m.name,
                entry.seq,
                &entry.kind,
                &status,
                &event
            ),
            "refused" => {
                prop_assert!(
                    refused.contains(event.as_str()) && !message.is_empty(),
                    "{}: event {} is refused without being listed with a reason",
                    &m.name,
                    &event
                );
                prop_assert!(
                    !on_server.contains_key(&event),
                    "{}: event {} is listed as refused but the server has it",
                    &m.name,
                    &event
                );
            }
            other => {
                return Err(TestCaseError::fail(format!(
                    "{}: event {event} has status {other}",
                    m.name
                )))
            }
        }
    }
    Ok(())
}

/// Who the server records as the author of each content: whoever pushed it first.
fn first_authors(log: &[Pulled]) -> BTreeMap<(String, String), String> {
    let mut out = BTreeMap::new();
    for p in log {
        if let EventBody::VersionCreate { prompt, hash, .. } = &p.event.body {
            out.entry((prompt.clone(), hash.clone()))
                .or_insert_with(|| p.event.author.clone());
        }
    }
    out
}

/// [`shared_state`], with one difference allowed: a version is immutable, author included, so
/// a person who saved the same content offline as someone who pushed it first keeps it as
/// theirs in their own registry (the server, and everyone who got it by pulling, name the
/// first pusher). Such a row is checked to be exactly that and then compared as the server's.
fn comparable_state(
    m: &Member,
    first_author: &BTreeMap<(String, String), String>,
) -> Result<serde_json::Value, TestCaseError> {
    let mut state = shared_state(&m.reg);
    state["suites"] = shared_suites(m);
    let made_here = |prompt: &str, hash: &str| -> bool {
        m.reg
            .ledger(Some(prompt), 0, 1_000_000)
            .unwrap()
            .iter()
            .any(|e| {
                e.kind == "version.created"
                    && e.actor == m.name
                    && e.payload.get("sync").is_none()
                    && e.payload["hash"] == hash
            })
    };
    for row in state["versions"].as_array_mut().unwrap() {
        let (prompt, hash) = (
            row[0].as_str().unwrap().to_string(),
            row[2].as_str().unwrap().to_string(),
        );
        let server = first_author
            .get(&(prompt.clone(), hash.clone()))
            .ok_or_else(|| {
                TestCaseError::fail(format!(
                    "{}: {prompt} #{} is not on the server",
                    m.name,
                    &hash[..12]
                ))
            })?;
        if row[3].as_str() != Some(server.as_str()) {
            prop_assert!(
                row[3].as_str() == Some(m.name.as_str()) && made_here(&prompt, &hash),
                "{}: {} #{} is by {} here but by {} on the server",
                &m.name,
                prompt,
                &hash[..12],
                &row[3],
                server
            );
            row[3] = serde_json::Value::String(server.clone());
        }
    }
    Ok(state)
}

fn run_case(ops: &[Op], tally: &mut Tally) -> Result<(), TestCaseError> {
    let server = Server::start();
    let mut team: Vec<Member> = PEOPLE
        .iter()
        .map(|(name, role)| Member::join(&server, name, *role))
        .collect();
    for op in ops {
        step(&mut team, op)?;
    }
    // Everyone syncs, twice round: the second round brings what the first round's later
    // members pushed to the earlier ones.
    for _ in 0..2 {
        for m in team.iter_mut() {
            sync(m)?;
        }
    }

    for m in team.iter_mut() {
        let r = sync(m)?;
        prop_assert_eq!(
            (r.pushed, r.pulled, r.restored.len()),
            (0, 0, 0),
            "{}: a third round still changed something: {:?}",
            &m.name,
            r
        );
    }

    let auditor = Remote::new(&server.url(), &server.token("auditor", Role::Admin));
    let log = server_log(&auditor)?;
    tally.events_on_server += log.len();
    tally.record_changes_on_server += log
        .iter()
        .filter(|p| matches!(p.event.body, EventBody::RecordsPut { .. }))
        .count();

    // 1. Convergence.
    let first_author = first_authors(&log);
    let states = team
        .iter()
        .map(|m| comparable_state(m, &first_author))
        .collect::<Result<Vec<_>, _>>()?;
    for (m, s) in team.iter().zip(&states).skip(1) {
        prop_assert_eq!(
            &states[0],
            s,
            "{} and {} disagree after syncing",
            &team[0].name,
            &m.name
        );
    }
    tally.shared_contents += states[0]["versions"].as_array().map_or(0, Vec::len);
    tally.shared_cases += states[0]["suites"]["cases"].as_array().map_or(0, Vec::len);

    // 2. Production on the server.
    let production = check_production_moves(&log, tally)?;
    for name in PROMPTS {
        let (status, body) = auditor
            .get(&format!(
                "/v1/prompts/{}?label=production",
                name.replace('/', "%2F")
            ))
            .map_err(|e| TestCaseError::fail(e.to_string()))?;
        match production.get(*name) {
            Some(hash) => {
                prop_assert_eq!(status, 200, "{}: {}", name, body);
                prop_assert_eq!(body["hash"].as_str(), Some(hash.as_str()), "{}", name);
            }
            None => prop_assert_eq!(status, 404, "{} serves {} from production", name, body),
        }
        // Every registry serves what the server serves.
        for m in &team {
            let here = m
                .reg
                .resolve(name, Some(&Ref::Label("production".into())))
                .ok()
                .map(|v| v.hash);
            prop_assert_eq!(
                here.as_ref(),
                production.get(*name),
                "{}'s production of {}",
                &m.name,
                name
            );
        }
    }

    // 3. Nothing lost.
    let on_server: BTreeMap<String, String> = log
        .iter()
        .map(|p| (p.event.id.clone(), p.hash.clone()))
        .collect();
    for m in &team {
        check_nothing_lost(m, &on_server, tally)?;
    }

    // 4. Every registry verifies.
    for m in &team {
        let report = m
            .reg
            .verify()
            .map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert!(
            report.problems.is_empty(),
            "{}: {:?}",
            &m.name,
            report.problems
        );
    }
    Ok(())
}

#[test]
fn a_team_working_offline_converges_and_production_serves_only_approved_content() {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(24);
    let mut runner = TestRunner::new(Config {
        cases,
        max_shrink_iters: 256,
        failure_persistence: None,
        ..Config::default()
    });
    let tally = std::cell::RefCell::new(Tally::default());
    let result = runner.run(&proptest::collection::vec(op(), 40..=MAX_OPS), |ops| {
        run_case(&ops, &mut tally.borrow_mut())
    });
    if let Err(e) = result {
        panic!("{e}");
    }
    let tally = tally.into_inner();
    println!("{cases} cases: {tally:?}");
    // The model must reach what it checks: releases that went through, and refusals.
    if cases >= 16 {
        assert!(
            tally.releases_on_server > 0,
            "no release ever went through: {tally:?}"
        );
        assert!(
            tally.refused > 0,
            "the server never refused anything: {tally:?}"
        );
        assert!(
            tally.record_changes_on_server > 0 && tally.shared_cases > 0,
            "no suite or case ever went through: {tally:?}"
        );
    }
}
