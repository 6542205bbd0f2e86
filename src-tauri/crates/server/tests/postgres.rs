//! What only the PostgreSQL backend has: several replicas over one database (a release made
//! through one is served by the other, racing label moves through different replicas, gapless
//! event sequences under concurrent pushes), schema setup racing itself, and what it says when
//! the database is wrong or unreachable.
//!
//! Everything shared with SQLite is in `server.rs`, which runs on both backends.

mod common;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Barrier;
use std::time::{Duration, Instant};

use common::events::*;
use common::{pg, Auth, Backend, Server};
use promptdesk_protocol::events::{EventBody, SyncEvent};
use promptdesk_protocol::policy::Role;
use promptdesk_server::Store;
use serde_json::Value;

const PRODUCTION: &str = "/v1/prompts/faq?label=production";

struct Team {
    ana: String,
    ben: String,
    rita: String,
    rob: String,
}

/// ana writes, ben reviews, rita and rob release; their signing keys are registered.
fn team(a: &Server) -> Team {
    let t = Team {
        ana: a.token("ana", Role::Editor),
        ben: a.token("ben", Role::Reviewer),
        rita: a.token("rita", Role::Releaser),
        rob: a.token("rob", Role::Releaser),
    };
    for (who, token) in [("ben", &t.ben), ("rita", &t.rita), ("rob", &t.rob)] {
        let r = push(a, token, &[&key_event(who)]);
        assert_eq!(r.status, 200, "{}", r.body);
    }
    let r = push(a, &t.ana, &[&prompt_create("ana", "faq")]);
    assert_eq!(r.status, 200, "{}", r.body);
    t
}

/// A new version of `faq` by ana, approved for production by ben, pushed through `via`.
fn approved_version(via: &Server, t: &Team, text: &str) -> String {
    let (v, hash) = version_event("ana", "faq", text);
    let review = SyncEvent::new(
        "ana",
        AT,
        EventBody::ReviewRequest {
            prompt: "faq".into(),
            version_hash: hash.clone(),
            label: "production".into(),
            description: String::new(),
        },
    );
    let r = push(via, &t.ana, &[&v, &review]);
    assert_eq!(r.status, 200, "{}", r.body);
    let ok = approve("ben", &review.id, "production", &hash);
    let r = push(via, &t.ben, &[&ok]);
    assert_eq!(r.status, 200, "{}", r.body);
    hash
}

fn pull_all(server: &Server, token: &str) -> Vec<(i64, String)> {
    let mut out = Vec::new();
    loop {
        let after = out.last().map(|(s, _)| *s).unwrap_or(0);
        let r = server.request(
            "GET",
            &format!("/v1/sync/pull?after={after}&limit=100"),
            Auth::Bearer(token),
            None,
        );
        assert_eq!(r.status, 200, "{}", r.body);
        let events = r.json()["events"].as_array().unwrap().clone();
        if events.is_empty() {
            return out;
        }
        out.extend(events.iter().map(|e| {
            (
                e["seq"].as_i64().unwrap(),
                e["event"]["id"].as_str().unwrap().to_string(),
            )
        }));
    }
}

#[test]
fn a_release_through_one_replica_is_served_by_the_other() {
    let a = Server::start_on(Backend::Postgres);
    let b = a.replica();
    let t = team(&a);
    let h1 = approved_version(&a, &t, "Answer one");
    let r = push(
        &a,
        &t.rita,
        &[&release(
            "rita",
            "rita",
            "faq",
            "production",
            None,
            &h1,
            None,
        )],
    );
    assert_eq!(r.status, 200, "{}", r.body);

    // B serves v1 (and now holds it in its cache).
    let first = b.request("GET", PRODUCTION, Auth::Bearer(&t.ana), None);
    assert_eq!(first.status, 200, "{}", first.body);
    assert_eq!(first.json()["version"], 1);
    let etag1 = first.header("etag").unwrap().to_string();
    let again = b.raw(
        "GET",
        PRODUCTION,
        Auth::Bearer(&t.ana),
        &[("If-None-Match", &etag1)],
        None,
    );
    assert_eq!(again.status, 304);

    // v2 is released through A only; B must notice on its own.
    let h2 = approved_version(&a, &t, "Answer two");
    let r = push(
        &a,
        &t.rita,
        &[&release(
            "rita",
            "rita",
            "faq",
            "production",
            Some(&h1),
            &h2,
            None,
        )],
    );
    assert_eq!(r.status, 200, "{}", r.body);
    let released = Instant::now();
    let seen = loop {
        let r = b.raw(
            "GET",
            PRODUCTION,
            Auth::Bearer(&t.ana),
            &[("If-None-Match", &etag1)],
            None,
        );
        if r.status == 200 {
            break r;
        }
        assert_eq!(r.status, 304, "{}", r.body);
        assert!(
            released.elapsed() < Duration::from_secs(3),
            "replica B still serves version 1 {:?} after the release through A",
            released.elapsed()
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    assert_eq!(seen.json()["version"], 2, "{}", seen.body);
    let etag2 = seen.header("etag").unwrap();
    assert_ne!(etag2, etag1);
    assert_eq!(etag2, format!("\"{h2}\""));
    eprintln!(
        "replica B served the release after {:?}",
        released.elapsed()
    );
}

#[test]
fn racing_label_moves_through_two_replicas_have_exactly_one_winner() {
    let a = Server::start_on(Backend::Postgres);
    let b = a.replica();
    let t = team(&a);
    let mut current = approved_version(&a, &t, "Round 0");
    let r = push(
        &a,
        &t.rita,
        &[&release(
            "rita",
            "rita",
            "faq",
            "production",
            None,
            &current,
            None,
        )],
    );
    assert_eq!(r.status, 200, "{}", r.body);

    for round in 1..=20 {
        // Two candidates, both approved; rita (through A) and rob (through B) each release
        // one, both having seen `current`.
        let for_rita = approved_version(&a, &t, &format!("Round {round}, rita's"));
        let for_rob = approved_version(&b, &t, &format!("Round {round}, rob's"));
        let rita_move = release(
            "rita",
            "rita",
            "faq",
            "production",
            Some(&current),
            &for_rita,
            None,
        );
        let rob_move = release(
            "rob",
            "rob",
            "faq",
            "production",
            Some(&current),
            &for_rob,
            None,
        );
        let start = Barrier::new(2);
        let (rita_reply, rob_reply) = std::thread::scope(|s| {
            let rita = s.spawn(|| {
                start.wait();
                push(&a, &t.rita, &[&rita_move])
            });
            let rob = s.spawn(|| {
                start.wait();
                push(&b, &t.rob, &[&rob_move])
            });
            (rita.join().unwrap(), rob.join().unwrap())
        });
        let statuses = (rita_reply.status, rob_reply.status);
        let (winner, loser) = match statuses {
            (200, 409) => (for_rita, &rob_reply),
            (409, 200) => (for_rob, &rita_reply),
            _ => panic!(
                "round {round}: expected one 200 and one 409, got {statuses:?}:\n{}\n{}",
                rita_reply.body, rob_reply.body
            ),
        };
        assert!(
            loser.body.contains("before this move arrived"),
            "round {round}: {}",
            loser.body
        );
        // Both replicas agree on what production serves.
        for s in [&a, &b] {
            let label = s.store.read(|tx| tx.label("faq", "production")).unwrap();
            assert_eq!(label.unwrap().hash, winner, "round {round}");
        }
        current = winner;
    }
    // One stored release per round (and the first), whichever replica took it.
    let log: Vec<Value> = b
        .store
        .read(|tx| tx.events_after(0, 10_000))
        .unwrap()
        .into_iter()
        .map(|e| e.event)
        .collect();
    let releases = log.iter().filter(|e| e["kind"] == "label.move").count();
    assert_eq!(releases, 21);
}

#[test]
fn concurrent_pushes_through_two_replicas_get_gapless_ordered_sequences() {
    const WRITERS_PER_REPLICA: usize = 2;
    const EVENTS_PER_WRITER: usize = 30;
    let a = Server::start_on(Backend::Postgres);
    let b = a.replica();
    let ana = a.token("ana", Role::Editor);
    let before = a.store.read(|tx| tx.head()).unwrap();
    let total = 2 * WRITERS_PER_REPLICA * EVENTS_PER_WRITER;

    // Set when a writer fails, so the reader stops waiting for events that will never come and
    // the writer's own failure is what the test reports.
    let writer_failed = AtomicBool::new(false);
    struct OnPanic<'a>(&'a AtomicBool);
    impl Drop for OnPanic<'_> {
        fn drop(&mut self) {
            if std::thread::panicking() {
                self.0.store(true, Ordering::SeqCst);
            }
        }
    }

    let pushed_seqs = std::thread::scope(|s| {
        // A reader following the log through B while the writers run: after seeing N it must
        // next see N+1, never a later number with N+1 still to come.
        let reader = s.spawn(|| {
            let mut cursor = before;
            let deadline = Instant::now() + Duration::from_secs(60);
            while cursor < before + total as i64 && !writer_failed.load(Ordering::SeqCst) {
                assert!(Instant::now() < deadline, "the reader stalled at {cursor}");
                let r = b.request(
                    "GET",
                    &format!("/v1/sync/pull?after={cursor}&limit=7"),
                    Auth::Bearer(&ana),
                    None,
                );
                assert_eq!(r.status, 200, "{}", r.body);
                for e in r.json()["events"].as_array().unwrap() {
                    let seq = e["seq"].as_i64().unwrap();
                    assert_eq!(seq, cursor + 1, "a pull after {cursor} skipped to {seq}");
                    cursor = seq;
                }
            }
            cursor
        });
        let writers: Vec<_> = [&a, &b]
            .into_iter()
            .flat_map(|server| (0..WRITERS_PER_REPLICA).map(move |w| (server, w)))
            .enumerate()
            .map(|(i, (server, _))| {
                let ana = &ana;
                let writer_failed = &writer_failed;
                s.spawn(move || {
                    let _flag = OnPanic(writer_failed);
                    (0..EVENTS_PER_WRITER)
                        .map(|n| {
                            let e = prompt_create("ana", &format!("w{i}/p{n}"));
                            let r = push(server, ana, &[&e]);
                            assert_eq!(r.status, 200, "{}", r.body);
                            r.json()["results"][0]["seq"].as_i64().unwrap()
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        let mut seqs: Vec<i64> = writers
            .into_iter()
            .flat_map(|w| w.join().unwrap())
            .collect();
        assert_eq!(reader.join().unwrap(), before + total as i64);
        seqs.sort();
        seqs
    });
    let expected: Vec<i64> = (before + 1..=before + total as i64).collect();
    assert_eq!(
        pushed_seqs, expected,
        "every push got its own number, no gaps"
    );

    // Both replicas hand out the same log, numbered 1, 2, 3, … and with the same digest.
    let through_a = pull_all(&a, &ana);
    let through_b = pull_all(&b, &ana);
    assert_eq!(through_a, through_b);
    let seqs: Vec<i64> = through_a.iter().map(|(s, _)| *s).collect();
    assert_eq!(seqs, (1..=before + total as i64).collect::<Vec<_>>());
    let digest = |s: &Server| {
        s.request("GET", "/v1/sync/summary", Auth::Bearer(&ana), None)
            .json()
    };
    assert_eq!(digest(&a), digest(&b));
}

#[test]
fn replicas_starting_together_over_an_empty_database_all_come_up() {
    let db = pg::TestDb::create();
    let go = Barrier::new(4);
    let stores: Vec<Store> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..4)
            .map(|_| {
                s.spawn(|| {
                    go.wait();
                    Store::open(&db.url)
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap().expect("every replica opens"))
            .collect()
    });
    for s in &stores {
        assert_eq!(s.read(|tx| tx.head()).unwrap(), 0);
    }
    // And a second start changes nothing.
    let again = Store::open(&db.url).unwrap();
    assert_eq!(again.read(|tx| tx.head()).unwrap(), 0);
}

#[test]
fn the_event_log_cannot_be_rewritten_in_the_database() {
    let server = Server::start_on(Backend::Postgres);
    let ana = server.token("ana", Role::Editor);
    let (v, _) = version_event("ana", "x", "Hello");
    let r = push(&server, &ana, &[&prompt_create("ana", "x"), &v]);
    assert_eq!(r.status, 200, "{}", r.body);
    let mut direct = postgres::Client::connect(&server.database_url(), postgres::NoTls).unwrap();
    for sql in [
        "UPDATE events SET hash = 'forged'",
        "DELETE FROM events",
        "TRUNCATE events",
    ] {
        let e = direct.batch_execute(sql).unwrap_err();
        let why = e.as_db_error().map(|d| d.message().to_string());
        assert_eq!(why.as_deref(), Some("events are append-only"), "{sql}");
    }
    let e = direct
        .batch_execute("UPDATE versions SET message = 'rewritten'")
        .unwrap_err();
    let why = e.as_db_error().map(|d| d.message().to_string());
    assert_eq!(why.as_deref(), Some("versions are immutable"));
    assert_eq!(server.store.read(|tx| tx.head()).unwrap(), 2);
}

#[test]
fn unreachable_or_unfit_databases_are_refused_with_the_reason_and_no_password() {
    let pg = pg::instance();
    // Nothing listens on a port just freed.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("postgres://ana:hunter2@127.0.0.1:{port}/registry?connect_timeout=5");
    let why = Store::open(&url)
        .err()
        .expect("nothing listens")
        .to_string();
    assert!(
        why.contains(&format!(
            "cannot connect to PostgreSQL at 127.0.0.1:{port}/registry as ana"
        )),
        "{why}"
    );
    assert!(why.to_lowercase().contains("refused"), "{why}");
    assert!(!why.contains("hunter2"), "{why}");

    // A database that does not exist is named.
    let url = format!(
        "postgresql://postgres:hunter2@127.0.0.1:{}/no_such_registry",
        pg.port
    );
    let why = Store::open(&url)
        .err()
        .expect("no such database")
        .to_string();
    assert!(why.contains("no_such_registry"), "{why}");
    assert!(why.contains("does not exist"), "{why}");
    assert!(!why.contains("hunter2"), "{why}");

    // A malformed URL says so without repeating it.
    let why = Store::open("postgres://ana:hunter2@127.0.0.1:notaport/db")
        .err()
        .expect("bad port")
        .to_string();
    assert!(
        why.contains("not valid") && !why.contains("hunter2"),
        "{why}"
    );

    // A database that cannot hold UTF-8 text is refused before anything is written to it.
    let name = format!("t_{}", uuid::Uuid::new_v4().simple());
    let provider = if pg.icu { "LOCALE_PROVIDER libc" } else { "" };
    pg.admin_execute(&format!(
        "CREATE DATABASE {name} ENCODING 'SQL_ASCII' LC_COLLATE 'C' LC_CTYPE 'C' {provider} TEMPLATE template0"
    ));
    let why = Store::open(&pg.url(&name))
        .err()
        .expect("SQL_ASCII is refused")
        .to_string();
    assert!(why.contains("SQL_ASCII") && why.contains("UTF8"), "{why}");
    pg.admin_execute(&format!("DROP DATABASE {name}"));
}

/// PostgreSQL text cannot hold U+0000 (SQLite's can): such an event is the client's mistake, a
/// 400 that names the reason, not a 500, and it leaves nothing behind.
#[test]
fn text_the_database_cannot_hold_is_refused_as_bad_input() {
    let server = Server::start_on(Backend::Postgres);
    let ana = server.token("ana", Role::Editor);
    let r = push(&server, &ana, &[&prompt_create("ana", "x")]);
    assert_eq!(r.status, 200, "{}", r.body);
    let (mut v, _) = version_event("ana", "x", "Hello");
    if let EventBody::VersionCreate { message, .. } = &mut v.body {
        *message = "a\u{0}b".into();
    }
    v.hash = v.compute_hash();
    let r = push(&server, &ana, &[&v]);
    assert_eq!(r.status, 400, "{}", r.body);
    assert_eq!(r.json()["error"]["kind"], "bad_input");
    assert!(r.body.contains("0x00"), "{}", r.body);
    assert_eq!(server.store.read(|tx| tx.head()).unwrap(), 1);
}

/// A database a newer server has migrated is left alone, as SQLite's `user_version` check does.
#[test]
fn a_database_from_a_newer_server_is_refused() {
    let db = pg::TestDb::create();
    drop(Store::open(&db.url).unwrap());
    let mut direct = postgres::Client::connect(&db.url, postgres::NoTls).unwrap();
    direct
        .batch_execute("UPDATE promptdesk_schema SET version = 99")
        .unwrap();
    let why = Store::open(&db.url)
        .err()
        .expect("schema 99 is refused")
        .to_string();
    assert!(why.contains("newer Promptdesk server (schema 99"), "{why}");
}
