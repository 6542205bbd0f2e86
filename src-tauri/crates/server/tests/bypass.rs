//! The bypass matrix: route × attack, by a hostile client holding a valid token of some role.
//! Each row is tried against a real server (on SQLite and on PostgreSQL) whose `production`
//! serves an approved release, and asserts two things: the server refuses it (with the status
//! that says why), and nothing changed — the label, what the runtime API serves, and the event
//! log every registry pulls from (so no registry can learn of it either).
//!
//! The world: ana (editor) wrote v1, v2 and v3 of `refund`; ben (reviewer) approved v1 and v2
//! for production; rita (releaser) released v1 and then v2, so production served v1 and serves
//! v2 now; v3 was never reviewed. root is an admin, vic a viewer. `greeting` has one version and
//! no label at all.

mod common;

use std::cell::Cell;

use common::events::{prompt_create, push, signer, version_event};
use common::{Auth, Backend, Reply, Server};
use promptdesk_content::ModelSettings;
use promptdesk_protocol::eval::assertions::parse_short;
use promptdesk_protocol::eval::evidence;
use promptdesk_protocol::events::{Collection, EventBody, MoveKind, ReviewEventKind, SyncEvent};
use promptdesk_protocol::policy::{FreezeWindow, Policy, Role, SuiteRequirement, SuiteResult};
use promptdesk_protocol::records::{CaseRecord, RecordChange};
use promptdesk_protocol::signing::{self, MemorySigner, Sign};
use promptdesk_protocol::statements::{decision_statement, release_statement, ReleaseStatement};
use serde_json::{json, Value};

const AT: &str = "2026-11-21T10:00:00Z";

struct World {
    server: Server,
    ana: String,
    ben: String,
    rita: String,
    root: String,
    vic: String,
    v1: String,
    v2: String,
    v3: String,
    greeting: String,
    /// The review of v2 for production, and ben's approval of it.
    review_v2: String,
    approval_v2: String,
    /// The event that released v1 (first).
    release_v1: SyncEvent,
    /// Where the log stood when a row's attack began (after its setup steps, if any).
    mark: Cell<Option<i64>>,
}

impl World {
    /// A row's setup is done: what comes next is the attack.
    fn ready(&self) {
        self.mark
            .set(Some(self.server.store.read(|tx| tx.head()).unwrap()));
    }
}

/// A signed approval by `who` with `key`'s key, at `at`.
fn approval(
    who: &str,
    key: &MemorySigner,
    review: &str,
    label: &str,
    hash: &str,
    at: &str,
) -> SyncEvent {
    let id = uuid::Uuid::new_v4().to_string();
    let statement = decision_statement(&id, review, label, hash, "approve", who, at);
    SyncEvent::with_id(
        &id,
        who,
        at,
        EventBody::ReviewEvent {
            review: review.into(),
            decision: ReviewEventKind::Approve,
            body: "ok".into(),
            anchor: None,
            reply_to: None,
            content_hash: Some(hash.into()),
            key_id: Some(signing::key_id(&key.public_key())),
            signature: Some(key.sign(&signing::statement_bytes(&statement)).unwrap()),
        },
    )
}

/// A label move as a client makes it, signed with `key` (for a release or rollback).
struct Move<'a> {
    who: &'a str,
    key: Option<MemorySigner>,
    prompt: &'a str,
    label: &'a str,
    kind: MoveKind,
    from: Option<&'a str>,
    to: &'a str,
    review: Option<&'a str>,
    at: &'a str,
}

impl Move<'_> {
    fn event(&self) -> SyncEvent {
        let id = uuid::Uuid::new_v4().to_string();
        let changelog = "incident 12: refunds answered rudely";
        let statement = release_statement(&ReleaseStatement {
            id: &id,
            kind: self.kind.as_str(),
            label: self.label,
            from_hash: self.from,
            to_hash: self.to,
            changelog,
            review_id: self.review,
            actor: self.who,
            at: self.at,
            eval_run: None,
        });
        let signed = self.key.as_ref().map(|k| {
            (
                signing::key_id(&k.public_key()),
                k.sign(&signing::statement_bytes(&statement)).unwrap(),
            )
        });
        SyncEvent::with_id(
            &id,
            self.who,
            self.at,
            EventBody::LabelMove {
                prompt: self.prompt.into(),
                label: self.label.into(),
                kind: self.kind,
                from_hash: self.from.map(Into::into),
                to_hash: self.to.into(),
                changelog: changelog.into(),
                review: self.review.map(Into::into),
                bundle: None,
                key_id: signed.as_ref().map(|s| s.0.clone()),
                signature: signed.map(|s| s.1),
                evidence: None,
            },
        )
    }
}

/// A move of production of `refund` by `who`, signed with `key_of`'s key when given.
fn production_move<'a>(
    who: &'a str,
    key_of: Option<&str>,
    kind: MoveKind,
    from: Option<&'a str>,
    to: &'a str,
    review: Option<&'a str>,
    at: &'a str,
) -> Move<'a> {
    Move {
        who,
        key: key_of.map(signer),
        prompt: "refund",
        label: "production",
        kind,
        from,
        to,
        review,
        at,
    }
}

fn review_request(who: &str, prompt: &str, hash: &str) -> SyncEvent {
    SyncEvent::new(
        who,
        AT,
        EventBody::ReviewRequest {
            prompt: prompt.into(),
            version_hash: hash.into(),
            label: "production".into(),
            description: String::new(),
        },
    )
}

fn comment(who: &str, review: &str, anchor: Option<Value>, reply_to: Option<&str>) -> SyncEvent {
    SyncEvent::new(
        who,
        AT,
        EventBody::ReviewEvent {
            review: review.into(),
            decision: ReviewEventKind::Comment,
            body: "what about line 3?".into(),
            anchor,
            reply_to: reply_to.map(Into::into),
            content_hash: None,
            key_id: None,
            signature: None,
        },
    )
}

fn key_register(owner: &str, key: &MemorySigner) -> SyncEvent {
    let pk = key.public_key();
    SyncEvent::new(
        owner,
        AT,
        EventBody::KeyRegister {
            key_id: signing::key_id(&pk),
            public_key: pk,
        },
    )
}

fn key_revoke(who: &str, key_id: &str) -> SyncEvent {
    SyncEvent::new(
        who,
        AT,
        EventBody::KeyRevoke {
            key_id: key_id.into(),
            reason: "laptop lost".into(),
        },
    )
}

fn ok(r: Reply) -> Value {
    assert_eq!(r.status, 200, "{}", r.body);
    r.json()
}

fn setup(backend: Backend) -> World {
    let server = Server::start_on(backend);
    let ana = server.token("ana", Role::Editor);
    let ben = server.token("ben", Role::Reviewer);
    let rita = server.token("rita", Role::Releaser);
    let root = server.token("root", Role::Admin);
    let vic = server.token("vic", Role::Viewer);
    for (who, token) in [
        ("ana", &ana),
        ("ben", &ben),
        ("rita", &rita),
        ("root", &root),
    ] {
        ok(push(&server, token, &[&key_register(who, &signer(who))]));
    }
    let (e1, v1) = version_event("ana", "refund", "Refunds take 5 days.");
    let (e2, v2) = version_event("ana", "refund", "Refunds take 3 days.");
    let (e3, v3) = version_event("ana", "refund", "Refunds? Never.");
    let (eg, greeting) = version_event("ana", "greeting", "Hello.");
    ok(push(
        &server,
        &ana,
        &[
            &prompt_create("ana", "refund"),
            &e1,
            &e2,
            &e3,
            &prompt_create("ana", "greeting"),
            &eg,
        ],
    ));
    let r1 = review_request("ana", "refund", &v1);
    let r2 = review_request("ana", "refund", &v2);
    ok(push(&server, &ana, &[&r1, &r2]));
    let a1 = approval("ben", &signer("ben"), &r1.id, "production", &v1, AT);
    let a2 = approval("ben", &signer("ben"), &r2.id, "production", &v2, AT);
    ok(push(&server, &ben, &[&a1, &a2]));
    let release = |from: Option<&str>, to: &str, review: &str| {
        Move {
            who: "rita",
            key: Some(signer("rita")),
            prompt: "refund",
            label: "production",
            kind: MoveKind::Release,
            from,
            to,
            review: Some(review),
            at: AT,
        }
        .event()
    };
    let release_v1 = release(None, &v1, &r1.id);
    ok(push(&server, &rita, &[&release_v1]));
    ok(push(&server, &rita, &[&release(Some(&v1), &v2, &r2.id)]));
    World {
        server,
        ana,
        ben,
        rita,
        root,
        vic,
        v1,
        v2,
        v3,
        greeting,
        review_v2: r2.id,
        approval_v2: a2.id,
        release_v1,
        mark: Cell::new(None),
    }
}

/// Everything an attack must leave as it was: where each label of both prompts points, what
/// applications are served, and the log every registry pulls.
#[derive(Debug, PartialEq)]
struct Observed {
    labels: Vec<(String, String, String)>,
    served: String,
    head: i64,
}

fn observe(w: &World) -> Observed {
    let mut labels = Vec::new();
    for prompt in ["refund", "greeting"] {
        for l in w.server.store.read(|tx| tx.labels(prompt)).unwrap() {
            labels.push((prompt.to_string(), l.label, l.hash));
        }
    }
    let served = w
        .server
        .request("GET", "/v1/prompts/refund", Auth::Bearer(&w.vic), None);
    let head = w.server.store.read(|tx| tx.head()).unwrap();
    Observed {
        labels,
        served: served.json()["hash"]
            .as_str()
            .unwrap_or_default()
            .to_string(),
        head,
    }
}

/// One row: an attack by some route, the statuses that count as its refusal, and a fragment of
/// the reason it must give.
struct Attack {
    what: &'static str,
    run: Box<dyn Fn(&World) -> Reply>,
    statuses: &'static [u16],
    reason: &'static str,
}

fn attack(
    what: &'static str,
    statuses: &'static [u16],
    reason: &'static str,
    run: impl Fn(&World) -> Reply + 'static,
) -> Attack {
    Attack {
        what,
        run: Box::new(run),
        statuses,
        reason,
    }
}

fn by(w: &World, token: &str, events: &[&SyncEvent]) -> Reply {
    push(&w.server, token, events)
}

fn rollback<'a>(who: &'a str, prompt: &'a str, from: Option<&'a str>, to: &'a str) -> Move<'a> {
    Move {
        who,
        key: Some(signer(who)),
        prompt,
        label: "production",
        kind: MoveKind::Rollback,
        from,
        to,
        review: None,
        at: AT,
    }
}

fn attacks() -> Vec<Attack> {
    vec![
        // 1. Rollbacks to content the label never served.
        attack(
            "a releaser rolls production back to a version it never served",
            &[403],
            "never served version 3",
            |w| by(w, &w.rita, &[&rollback("rita", "refund", Some(&w.v2), &w.v3).event()]),
        ),
        attack(
            "an admin rolls production back to a version it never served",
            &[403],
            "never served",
            |w| {
                by(w, &w.root, &[&rollback("root", "refund", Some(&w.v2), &w.v3).event()])
            },
        ),
        // 2. A rollback onto a label that was never set: a first release without review.
        attack(
            "a releaser 'rolls back' a label that serves nothing",
            &[403],
            "serves nothing yet",
            |w| by(w, &w.rita, &[&rollback("rita", "greeting", None, &w.greeting).event()]),
        ),
        attack(
            "a rollback that names a review is not a release",
            &[400],
            "ships no review",
            |w| {
                let mut m = rollback("rita", "refund", Some(&w.v2), &w.v1);
                m.review = Some(&w.review_v2);
                by(w, &w.rita, &[&m.event()])
            },
        ),
        // 5. Keys belong to their person.
        attack(
            "an admin registers a key for a reviewer",
            &[403],
            "registered only with its owner's own token",
            |w| {
                let forged = MemorySigner::from_seed([42; 32]);
                by(w, &w.root, &[&key_register("ben", &forged)])
            },
        ),
        attack(
            "an admin signs an approval as a reviewer with a key it made",
            &[400, 403],
            "not registered",
            |w| {
                let forged = MemorySigner::from_seed([43; 32]);
                let r3 = review_request("ana", "refund", &w.v3);
                ok(by(w, &w.ana, &[&r3]));
                w.ready();
                by(
                    w,
                    &w.root,
                    &[&approval("ben", &forged, &r3.id, "production", &w.v3, AT)],
                )
            },
        ),
        attack(
            "an approval signed with a key an admin registered for its signer (before this rule) counts for nothing",
            &[403],
            "registered by root, not by ben",
            |w| {
                // As a server before schema 3 would have let happen.
                let forged = MemorySigner::from_seed([44; 32]);
                let pk = forged.public_key();
                w.server
                    .store
                    .write(|tx| {
                        tx.insert_key(&promptdesk_server::store::KeyRow {
                            key_id: signing::key_id(&pk),
                            person: "ben".into(),
                            public_key: pk.clone(),
                            registered_by: Some("root".into()),
                            revoked_at: None,
                            revoked_by: None,
                        })
                    })
                    .unwrap();
                let r3 = review_request("ana", "refund", &w.v3);
                ok(by(w, &w.ana, &[&r3]));
                w.ready();
                by(
                    w,
                    &w.root,
                    &[&approval("ben", &forged, &r3.id, "production", &w.v3, AT)],
                )
            },
        ),
        attack(
            "an editor revokes a releaser's key (to stop their releases)",
            &[403],
            "revoked by rita or by an admin",
            |w| {
                let k = signing::key_id(&signer("rita").public_key());
                by(w, &w.ana, &[&key_revoke("ana", &k)])
            },
        ),
        attack(
            "a release counting an approval signed with a key already revoked (kept, never counted)",
            &[403],
            "0 so far",
            |w| {
                let lost = MemorySigner::from_seed([45; 32]);
                ok(by(w, &w.ben, &[&key_register("ben", &lost)]));
                let id = signing::key_id(&lost.public_key());
                ok(by(w, &w.ben, &[&key_revoke("ben", &id)]));
                let r3 = review_request("ana", "refund", &w.v3);
                ok(by(w, &w.ana, &[&r3]));
                ok(by(w, &w.ben, &[&approval("ben", &lost, &r3.id, "production", &w.v3, AT)]));
                w.ready();
                let m = production_move("rita", Some("rita"), MoveKind::Release, Some(&w.v2), &w.v3, Some(&r3.id), AT);
                by(w, &w.rita, &[&m.event()])
            },
        ),
        attack(
            "a release signed with the releaser's revoked key",
            &[403],
            "was revoked by root",
            |w| {
                let old = MemorySigner::from_seed([48; 32]);
                ok(by(w, &w.rita, &[&key_register("rita", &old)]));
                let id = signing::key_id(&old.public_key());
                ok(by(w, &w.root, &[&key_revoke("root", &id)]));
                w.ready();
                let mut m = production_move("rita", None, MoveKind::Release, Some(&w.v2), &w.v1, None, AT);
                m.key = Some(MemorySigner::from_seed([48; 32]));
                by(w, &w.rita, &[&m.event()])
            },
        ),
        attack(
            "a revoked key registered again",
            &[409],
            "cannot be registered again",
            |w| {
                let old = MemorySigner::from_seed([46; 32]);
                ok(by(w, &w.ana, &[&key_register("ana", &old)]));
                let id = signing::key_id(&old.public_key());
                ok(by(w, &w.root, &[&key_revoke("root", &id)]));
                w.ready();
                by(w, &w.ana, &[&key_register("ana", &old)])
            },
        ),
        attack(
            "a release counting an approval whose key was revoked after it was given",
            &[403],
            "0 so far",
            |w| {
                let laptop = MemorySigner::from_seed([47; 32]);
                ok(by(w, &w.ben, &[&key_register("ben", &laptop)]));
                let r3 = review_request("ana", "refund", &w.v3);
                ok(by(w, &w.ana, &[&r3]));
                ok(by(w, &w.ben, &[&approval("ben", &laptop, &r3.id, "production", &w.v3, AT)]));
                let id = signing::key_id(&laptop.public_key());
                ok(by(w, &w.root, &[&key_revoke("root", &id)]));
                w.ready();
                let m = production_move("rita", Some("rita"), MoveKind::Release, Some(&w.v2), &w.v3, Some(&r3.id), AT);
                by(w, &w.rita, &[&m.event()])
            },
        ),
        attack(
            "a release signed with someone else's key",
            &[403],
            "belongs to ben, not rita",
            |w| {
                let m = production_move("rita", Some("ben"), MoveKind::Release, Some(&w.v2), &w.v1, None, AT);
                by(w, &w.rita, &[&m.event()])
            },
        ),
        // 6. Poison events: refused on push, so no registry's pull stops at them.
        attack(
            "a viewer's comment with a malformed anchor",
            &[400],
            "anchor",
            |w| {
                by(
                    w,
                    &w.vic,
                    &[&comment("vic", &w.review_v2, Some(json!({"line": "three"})), None)],
                )
            },
        ),
        attack(
            "a comment anchored to something that is not a template",
            &[400],
            "anchor must name",
            |w| {
                by(
                    w,
                    &w.vic,
                    &[&comment(
                        "vic",
                        &w.review_v2,
                        Some(json!({"template": "../../etc", "line": 0})),
                        None,
                    )],
                )
            },
        ),
        attack(
            "a reply to an event the review does not have",
            &[404],
            "not an earlier event of review",
            |w| by(w, &w.vic, &[&comment("vic", &w.review_v2, None, Some("no-such-event"))]),
        ),
        attack(
            "a reply to an event of another review",
            &[404],
            "not an earlier event of review",
            |w| {
                let r3 = review_request("ana", "refund", &w.v3);
                ok(by(w, &w.ana, &[&r3]));
                w.ready();
                by(w, &w.vic, &[&comment("vic", &r3.id, None, Some(&w.approval_v2))])
            },
        ),
        attack(
            "a comment that carries a signature",
            &[400],
            "carries no content hash, key or signature",
            |w| {
                let mut e = comment("vic", &w.review_v2, None, None);
                if let EventBody::ReviewEvent { key_id, .. } = &mut e.body {
                    *key_id = Some("0123456789abcdef".into());
                }
                let e = SyncEvent::with_id(&e.id, &e.author, &e.at, e.body.clone());
                by(w, &w.vic, &[&e])
            },
        ),
        attack(
            "a release naming a review the server does not have",
            &[404],
            "not on the server",
            |w| {
                let m = production_move("rita", Some("rita"), MoveKind::Release, Some(&w.v2), &w.v1, Some("made-up-review"), AT);
                by(w, &w.rita, &[&m.event()])
            },
        ),
        attack(
            "a release naming the review of other content",
            &[400],
            "asks to release",
            |w| {
                let m = production_move("rita", Some("rita"), MoveKind::Release, Some(&w.v2), &w.v1, Some(&w.review_v2), AT);
                by(w, &w.rita, &[&m.event()])
            },
        ),
        attack(
            "a key whose public key is not 32 bytes of hex",
            &[400],
            "64 lowercase hex digits",
            |w| {
                let pk = "ZZ".repeat(32);
                let e = SyncEvent::new(
                    "vic",
                    AT,
                    EventBody::KeyRegister {
                        key_id: signing::key_id(&pk),
                        public_key: pk,
                    },
                );
                by(w, &w.vic, &[&e])
            },
        ),
        // 8. Credentials.
        attack(
            "a Langfuse secret alone as a Bearer token on sync push",
            &[401],
            "unknown or revoked token",
            |w| {
                let (_pk, sk) = w.server.langfuse_keys("rita2", Role::Releaser);
                by(w, &sk, &[&rollback("rita2", "refund", Some(&w.v2), &w.v1).event()])
            },
        ),
        attack(
            "a native token as the password of HTTP Basic",
            &[401],
            "unknown or revoked token",
            |w| {
                let body = json!({"newLabels": ["production"]});
                w.server.request(
                    "PATCH",
                    "/api/public/v2/prompts/refund/versions/3",
                    Auth::Basic("pk-lf-anything", &w.rita),
                    Some(&body),
                )
            },
        ),
        // Beyond the ten.
        attack(
            "an admin moves the protected label without a release",
            &[403],
            "is protected",
            |w| {
                let m = production_move("root", None, MoveKind::Set, Some(&w.v2), &w.v3, None, AT);
                by(w, &w.root, &[&m.event()])
            },
        ),
        attack(
            "a release of unreviewed content, signed properly",
            &[403],
            "approval",
            |w| {
                let m = production_move("rita", Some("rita"), MoveKind::Release, Some(&w.v2), &w.v3, None, AT);
                by(w, &w.rita, &[&m.event()])
            },
        ),
        attack(
            "the version's author approves it",
            &[403],
            "may not approve it",
            |w| {
                // ana is an editor; even a reviewer may not approve their own version.
                let cho = w.server.token("ana", Role::Reviewer);
                let r3 = review_request("ana", "refund", &w.v3);
                ok(by(w, &cho, &[&r3]));
                w.ready();
                by(
                    w,
                    &cho,
                    &[&approval("ana", &signer("ana"), &r3.id, "production", &w.v3, AT)],
                )
            },
        ),
        attack(
            "an approval bound to other content than its review",
            &[400],
            "is bound to content",
            |w| {
                let r3 = review_request("ana", "refund", &w.v3);
                ok(by(w, &w.ana, &[&r3]));
                w.ready();
                by(
                    w,
                    &w.ben,
                    &[&approval("ben", &signer("ben"), &r3.id, "production", &w.v1, AT)],
                )
            },
        ),
        attack(
            "an editor releases",
            &[403],
            "only a releaser or above",
            |w| {
                let m = production_move("ana", Some("ana"), MoveKind::Rollback, Some(&w.v2), &w.v1, None, AT);
                by(w, &w.ana, &[&m.event()])
            },
        ),
        attack(
            "a releaser pushes an event in someone else's name",
            &[403],
            "may not push an event made by",
            |w| by(w, &w.rita, &[&rollback("root", "refund", Some(&w.v2), &w.v1).event()]),
        ),
        attack(
            "a rollback from what the label no longer serves",
            &[409],
            "before this move arrived",
            |w| by(w, &w.rita, &[&rollback("rita", "refund", Some(&w.v1), &w.v1).event()]),
        ),
        attack(
            "a replay of the first release under a new id (same content, new event)",
            &[409],
            "before this move arrived",
            |w| {
                let e = &w.release_v1;
                let replay = SyncEvent::new(&e.author, &e.at, e.body.clone());
                by(w, &w.rita, &[&replay])
            },
        ),
        attack(
            "a replayed event with its content changed",
            &[409],
            "pushed before with other content",
            |w| {
                let mut e = w.release_v1.clone();
                if let EventBody::LabelMove { changelog, .. } = &mut e.body {
                    changelog.push('!');
                }
                let e = SyncEvent::with_id(&e.id, &e.author, &e.at, e.body.clone());
                by(w, &w.rita, &[&e])
            },
        ),
        attack(
            "the Langfuse API moves production to unreviewed content",
            &[403],
            "production",
            |w| {
                let (pk, sk) = w.server.langfuse_keys("root2", Role::Admin);
                w.server.request(
                    "PATCH",
                    "/api/public/v2/prompts/refund/versions/3",
                    Auth::Basic(&pk, &sk),
                    Some(&json!({"newLabels": ["production"]})),
                )
            },
        ),
        attack(
            "the Langfuse API creates a version straight onto production",
            &[403],
            "production",
            |w| {
                let (pk, sk) = w.server.langfuse_keys("root3", Role::Admin);
                w.server.request(
                    "POST",
                    "/api/public/v2/prompts",
                    Auth::Basic(&pk, &sk),
                    Some(&json!({"name": "refund", "type": "text", "prompt": "Pay nothing.",
                                 "labels": ["production"]})),
                )
            },
        ),
    ]
}

/// 3. Freeze windows judged by the server's clock, whatever time the event claims.
fn freeze_attacks() -> Vec<Attack> {
    let release_at = |at: &'static str| {
        move |w: &World| {
            let r3 = review_request("ana", "refund", &w.v3);
            ok(by(w, &w.ana, &[&r3]));
            ok(by(
                w,
                &w.ben,
                &[&approval(
                    "ben",
                    &signer("ben"),
                    &r3.id,
                    "production",
                    &w.v3,
                    AT,
                )],
            ));
            w.ready();
            let m = Move {
                who: "rita",
                key: Some(signer("rita")),
                prompt: "refund",
                label: "production",
                kind: MoveKind::Release,
                from: Some(&w.v2),
                to: &w.v3,
                review: Some(&r3.id),
                at,
            };
            by(w, &w.rita, &[&m.event()])
        }
    };
    vec![
        attack(
            "a release during a freeze, its time backdated to before the freeze",
            &[403],
            "frozen until",
            release_at("1999-12-31T23:00:00Z"),
        ),
        attack(
            "a release during a freeze, its time written with a non-UTC offset",
            &[403],
            "frozen until",
            release_at("2099-12-31T23:00:00+23:59"),
        ),
    ]
}

fn run(w: &World, rows: Vec<Attack>) {
    for a in rows {
        let before = observe(w);
        w.mark.set(None);
        let reply = (a.run)(w);
        assert!(
            a.statuses.contains(&reply.status),
            "{}: expected a refusal {:?}, got {} {}",
            a.what,
            a.statuses,
            reply.status,
            reply.body
        );
        assert!(
            reply.body.contains(a.reason),
            "{}: the refusal should say {:?}: {}",
            a.what,
            a.reason,
            reply.body
        );
        let after = observe(w);
        assert_eq!(
            (&before.labels, &before.served),
            (&after.labels, &after.served),
            "{}: the labels and what applications get must not change",
            a.what
        );
        // Setup steps of a row (a review request) may add events; the attack itself adds none.
        let since = w.mark.get().unwrap_or(before.head);
        let pulled = w.server.request(
            "GET",
            &format!("/v1/sync/pull?after={since}"),
            Auth::Bearer(&w.vic),
            None,
        );
        let attack_events: Vec<String> = pulled.json()["events"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["event"]["kind"].as_str().unwrap_or_default().to_string())
            .collect();
        assert!(
            attack_events.is_empty(),
            "{}: nothing of the attack may reach anyone's pull: {attack_events:?}",
            a.what
        );
    }
}

fn matrix(backend: Backend) {
    let w = setup(backend);
    let before = observe(&w);
    assert_eq!(before.served, w.v2, "production serves the approved v2");
    run(&w, attacks());

    // A legitimate rollback still works, to what production served before, without fresh
    // approvals; and going forward again to v2 is a rollback too (it served v2).
    ok(by(
        &w,
        &w.rita,
        &[&rollback("rita", "refund", Some(&w.v2), &w.v1).event()],
    ));
    assert_eq!(observe(&w).served, w.v1);
    ok(by(
        &w,
        &w.rita,
        &[&rollback("rita", "refund", Some(&w.v1), &w.v2).event()],
    ));
    let history = w
        .server
        .store
        .read(|tx| tx.label_history("refund", "production"))
        .unwrap();
    let kinds: Vec<&str> = history.iter().map(|m| m.kind.as_str()).collect();
    assert_eq!(kinds, ["release", "release", "rollback", "rollback"]);

    // Freeze production for the whole century, by the server's clock.
    let frozen = Policy {
        freeze_windows: vec![FreezeWindow {
            from: "2000-01-01T00:00:00Z".into(),
            to: "2100-01-01T00:00:00Z".into(),
            reason: "the big freeze".into(),
        }],
        ..Policy::default_for("production")
    };
    ok(by(
        &w,
        &w.root,
        &[&SyncEvent::new(
            "root",
            AT,
            EventBody::PolicySet {
                label: "production".into(),
                policy: frozen,
            },
        )],
    ));
    run(&w, freeze_attacks());
    // Rollbacks stay allowed in a freeze: an incident never waits.
    ok(by(
        &w,
        &w.rita,
        &[&rollback("rita", "refund", Some(&w.v2), &w.v1).event()],
    ));

    // The rows the server kept carry its own clock, not the events' claimed times.
    let label = w
        .server
        .store
        .read(|tx| tx.label("refund", "production"))
        .unwrap()
        .unwrap();
    assert_ne!(
        label.moved_at, AT,
        "the label records when the server moved it"
    );
    assert!(label.moved_at.starts_with("20"), "{}", label.moved_at);
}

#[test]
fn no_route_or_token_bypasses_the_server_on_sqlite() {
    matrix(Backend::Sqlite);
}

#[test]
fn no_route_or_token_bypasses_the_server_on_postgres() {
    matrix(Backend::Postgres);
}

/// Pulls say who pushed each event, so a registry can show an admin carrying someone's change.
#[test]
fn pulls_carry_who_pushed_each_event_and_when_the_server_took_it() {
    let w = setup(Backend::Sqlite);
    let (e, _) = version_event("ana", "refund", "Carried by an admin.");
    ok(by(&w, &w.root, &[&e]));
    let pulled = w
        .server
        .request("GET", "/v1/sync/pull?after=0", Auth::Bearer(&w.vic), None)
        .json();
    let events = pulled["events"].as_array().unwrap();
    let carried = events
        .iter()
        .find(|p| p["event"]["id"] == e.id.as_str())
        .unwrap();
    assert_eq!(carried["pushed_by"], "root");
    assert_eq!(carried["event"]["author"], "ana");
    let own = &events[0];
    assert_eq!(own["pushed_by"], own["event"]["author"]);
    let received = carried["received_at"].as_str().unwrap();
    assert_ne!(received, AT, "the server's clock, not the author's");
    promptdesk_protocol::policy::parse_instant(received).unwrap();
}

// ---- 4. Eval evidence: the server decides the suite condition from runs it holds ----------

fn records_put(by: &str, kind: &str, changes: Vec<RecordChange>) -> SyncEvent {
    SyncEvent::new(
        by,
        AT,
        EventBody::RecordsPut {
            prompt: "refund".into(),
            kind: kind.into(),
            payload: json!({}),
            records: changes,
        },
    )
}

fn case_fields(position: u32, assertion: &str) -> Value {
    json!({"suite": "s-smoke", "position": position, "vars": {"name": "Ana"},
           "assertions": [parse_short(assertion).unwrap()],
           "updated_by": "ana", "updated_at": AT})
}

/// The suite's cases as the server will hold them, for the hash a run records.
fn smoke_cases(assertions: &[&str]) -> Vec<promptdesk_protocol::eval::Case> {
    let mut cases: Vec<_> = assertions
        .iter()
        .enumerate()
        .map(|(i, a)| {
            let record: CaseRecord = serde_json::from_value(case_fields(i as u32 + 1, a)).unwrap();
            evidence::case_from_record(&format!("c{}", i + 1), &record)
        })
        .collect();
    evidence::sort_cases(&mut cases);
    cases
}

const SMOKE: [&str; 2] = ["contains: 3 days", "not-contains: Never"];

/// A finished run record of `version` with `outputs`, each claimed to pass.
fn run_fields(version: &str, outputs: &[&str], model: Value, cases_hash: &str) -> Value {
    let settings = serde_json::from_value::<ModelSettings>(model.clone())
        .map(|m| promptdesk_protocol::eval::settings_hash(&m))
        .unwrap();
    json!({
        "suite": "s-smoke", "version_hash": version, "suite_hash": cases_hash,
        "model": model, "settings_hash": settings, "status": "completed",
        "total": outputs.len(), "started_by": "ana", "started_at": AT, "finished_at": AT,
        "results": outputs.iter().enumerate().map(|(i, o)| json!({
            "case_id": format!("c{}", i + 1), "position": i + 1,
            "test_case": {"vars": {"name": "Ana"}}, "output": o, "passed": true, "score": 1.0,
            "checks": [], "latency_ms": 5
        })).collect::<Vec<_>>(),
    })
}

fn push_run(w: &World, id: &str, fields: Value) {
    ok(by(
        w,
        &w.ana,
        &[&records_put(
            "ana",
            "eval.finished",
            vec![RecordChange::put(Collection::EvalRun, id, fields)],
        )],
    ));
}

fn gated_release(w: &World, run_id: &str) -> Reply {
    let r3 = review_request("ana", "refund", &w.v3);
    ok(by(w, &w.ana, &[&r3]));
    ok(by(
        w,
        &w.ben,
        &[&approval(
            "ben",
            &signer("ben"),
            &r3.id,
            "production",
            &w.v3,
            AT,
        )],
    ));
    w.ready();
    // The releaser claims a perfect run, whatever the run says.
    let claimed = SuiteResult {
        suite: "smoke".into(),
        content_hash: w.v3.clone(),
        pass_rate: 1.0,
        run_id: Some(run_id.into()),
        passed: 2,
        total: 2,
        failing: vec![],
        regressions: vec![],
        baseline_run: None,
        baseline_version: None,
        problem: None,
        // What a releaser would claim: nothing of it is taken (the server recounts).
        ran_by: Some("rita".into()),
        rerun_checks: 2,
        recorded_checks: 0,
    };
    let id = uuid::Uuid::new_v4().to_string();
    let changelog = "Shorter";
    let statement = release_statement(&ReleaseStatement {
        id: &id,
        kind: "release",
        label: "production",
        from_hash: Some(&w.v2),
        to_hash: &w.v3,
        changelog,
        review_id: Some(&r3.id),
        actor: "rita",
        at: AT,
        eval_run: Some(run_id),
    });
    let key = signer("rita");
    let e = SyncEvent::with_id(
        &id,
        "rita",
        AT,
        EventBody::LabelMove {
            prompt: "refund".into(),
            label: "production".into(),
            kind: MoveKind::Release,
            from_hash: Some(w.v2.clone()),
            to_hash: w.v3.clone(),
            changelog: changelog.into(),
            review: Some(r3.id.clone()),
            bundle: None,
            key_id: Some(signing::key_id(&key.public_key())),
            signature: Some(key.sign(&signing::statement_bytes(&statement)).unwrap()),
            evidence: Some(claimed),
        },
    );
    by(w, &w.rita, &[&e])
}

fn gated_matrix(backend: Backend) {
    let w = setup(backend);
    let mut policy = Policy::default_for("production");
    policy.required_suite = Some(SuiteRequirement {
        suite: "smoke".into(),
        min_pass_rate: 1.0,
        no_regressions: false,
    });
    ok(by(
        &w,
        &w.root,
        &[&SyncEvent::new(
            "root",
            AT,
            EventBody::PolicySet {
                label: "production".into(),
                policy,
            },
        )],
    ));
    ok(by(
        &w,
        &w.ana,
        &[
            &records_put(
                "ana",
                "suite.created",
                vec![RecordChange::put(
                    Collection::Suite,
                    "s-smoke",
                    json!({"name": "smoke", "created_by": "ana", "created_at": AT}),
                )],
            ),
            &records_put(
                "ana",
                "suite.cases_added",
                vec![
                    RecordChange::put(Collection::Case, "c1", case_fields(1, SMOKE[0])),
                    RecordChange::put(Collection::Case, "c2", case_fields(2, SMOKE[1])),
                ],
            ),
        ],
    ));
    let hash = promptdesk_protocol::eval::suite_hash(&smoke_cases(&SMOKE));
    let no_model = serde_json::to_value(ModelSettings::default()).unwrap();
    let good = ["Refunds take 3 days.", "Refunds take 3 days."];

    push_run(
        &w,
        "run-failing",
        run_fields(&w.v3, &["Never.", "Never."], no_model.clone(), &hash),
    );
    push_run(
        &w,
        "run-of-v2",
        run_fields(&w.v2, &good, no_model.clone(), &hash),
    );
    push_run(
        &w,
        "run-other-model",
        run_fields(
            &w.v3,
            &good,
            json!({"provider": "fake", "model": "other"}),
            &hash,
        ),
    );
    let old_cases = promptdesk_protocol::eval::suite_hash(&smoke_cases(&["contains: 3 days"]));
    push_run(
        &w,
        "run-old-cases",
        run_fields(&w.v3, &good, no_model.clone(), &old_cases),
    );

    let rows = vec![
        attack(
            "a release citing a made-up run with a pass rate of 1.0",
            &[403],
            "is not on the server",
            |w| gated_release(w, "run-made-up"),
        ),
        attack(
            "a release citing a run whose stored outputs fail, claimed as passing",
            &[403],
            "passed 0/2 (0%)",
            |w| gated_release(w, "run-failing"),
        ),
        attack(
            "a release citing a run of other content",
            &[403],
            "is of content",
            |w| gated_release(w, "run-of-v2"),
        ),
        attack(
            "a release citing a run with other model settings",
            &[403],
            "other model settings",
            |w| gated_release(w, "run-other-model"),
        ),
        attack(
            "a release citing a run of cases the suite no longer has",
            &[403],
            "changed since the run",
            |w| gated_release(w, "run-old-cases"),
        ),
    ];
    run(&w, rows);

    // The same release citing an honest run goes through, and every registry pulls the
    // server's verdict (recomputed, not the claim).
    push_run(&w, "run-good", run_fields(&w.v3, &good, no_model, &hash));
    let reply = gated_release(&w, "run-good");
    let body = ok(reply);
    let decision = &body["results"][0]["assigned"]["decision"];
    assert_eq!(decision["allowed"], true, "{body}");
    assert_eq!(decision["evidence"]["run_id"], "run-good");
    assert_eq!(decision["evidence"]["passed"], 2);
    assert_eq!(observe(&w).served, w.v3);
}

#[test]
fn eval_evidence_is_decided_from_runs_the_server_holds_on_sqlite() {
    gated_matrix(Backend::Sqlite);
}

#[test]
fn eval_evidence_is_decided_from_runs_the_server_holds_on_postgres() {
    gated_matrix(Backend::Postgres);
}
