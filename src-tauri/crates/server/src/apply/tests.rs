//! The record rules on both backends, straight through [`apply`], and the step from schema 1
//! (no records index) to schema 2 on each.

/// The PostgreSQL the server's integration tests start (one per test binary).
#[allow(dead_code)]
#[path = "../../tests/common/pg.rs"]
mod test_pg;

use super::*;
use crate::store::Store;
use promptdesk_content::{PromptKind, VersionContent};
use promptdesk_protocol::events::Collection;
use promptdesk_protocol::records::RecordChange;
use serde_json::json;

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
        conn.execute_batch(include_str!("../store/sqlite_schema.sql"))
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
    assert_eq!(version, 5, "opened databases reach the current schema");
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
    assert_eq!(version, 5, "opened databases reach the current schema");
}
