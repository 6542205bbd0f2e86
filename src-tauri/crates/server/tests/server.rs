//! The registry server over HTTP: events pushed by real signed clients, the release policy on
//! every route, idempotent push, compare-and-swap on labels, the runtime API's ETags and the
//! Langfuse-compatible routes, and the hardening every request passes through.

mod common;

use common::events::*;
use common::{Auth, Backend, Server};
use promptdesk_protocol::events::{EventBody, MoveKind, SyncEvent};
use promptdesk_protocol::policy::Role;
use serde_json::{json, Value};

/// Each test below runs once per storage backend: `sqlite::NAME` and `postgres::NAME`. The
/// PostgreSQL ones share one server per test binary, with a fresh database each.
macro_rules! on_every_backend {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(#[test]
            fn $name() {
                super::$name(super::Backend::Sqlite)
            })*
        }
        mod postgres {
            $(#[test]
            fn $name() {
                super::$name(super::Backend::Postgres)
            })*
        }
    };
}

on_every_backend!(
    a_version_reaches_production_only_through_review_and_the_policy,
    an_editor_cannot_move_production_through_any_route,
    roles_decide_what_each_token_may_push,
    requests_are_authenticated_limited_and_refused_clearly,
    a_revoked_token_stops_working_and_secrets_are_stored_hashed,
    names_and_labels_are_listed_in_byte_order,
);

fn a_version_reaches_production_only_through_review_and_the_policy(backend: Backend) {
    let server = Server::start_on(backend);
    let ana = server.token("ana", Role::Editor);
    let ben = server.token("ben", Role::Reviewer);
    let rita = server.token("rita", Role::Releaser);
    let name = "support/refund-reply";

    let create = prompt_create("ana", name);
    let (v1, h1) = version_event("ana", name, "Refunds go back within 30 days.");
    let r = push(&server, &ana, &[&create, &v1]);
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json()["results"][1]["assigned"]["number"], 1);

    // Nothing serves production yet.
    let path = "/v1/prompts/support%2Frefund-reply?label=production";
    let r = server.request("GET", path, Auth::Bearer(&ana), None);
    assert_eq!(r.status, 404, "{}", r.body);

    // A releaser without an approval is refused, with every unmet condition.
    let rk = key_event("rita");
    let early = release("rita", "rita", name, "production", None, &h1, None);
    let r = push(&server, &rita, &[&rk, &early]);
    assert_eq!(r.status, 403, "{}", r.body);
    let why = r.json()["error"]["message"].as_str().unwrap().to_string();
    assert!(why.contains("1 approval"), "{why}");
    assert_eq!(
        r.json()["results"][0]["status"],
        "stored",
        "the key went in"
    );

    // ana asks, ben approves (signed, bound to the content hash), rita releases.
    let review = SyncEvent::new(
        "ana",
        AT,
        EventBody::ReviewRequest {
            prompt: name.into(),
            version_hash: h1.clone(),
            label: "production".into(),
            description: "first reply".into(),
        },
    );
    assert_eq!(push(&server, &ana, &[&review]).status, 200);
    // The author may not approve her own content (and an editor may not approve at all).
    let own = approve("ana", &review.id, "production", &h1);
    let r = push(&server, &ana, &[&key_event("ana"), &own]);
    assert_eq!(r.status, 403, "{}", r.body);
    let bk = key_event("ben");
    let ok = approve("ben", &review.id, "production", &h1);
    let r = push(&server, &ben, &[&bk, &ok]);
    assert_eq!(r.status, 200, "{}", r.body);
    let shipped = release(
        "rita",
        "rita",
        name,
        "production",
        None,
        &h1,
        Some(&review.id),
    );
    let r = push(&server, &rita, &[&shipped]);
    assert_eq!(r.status, 200, "{}", r.body);

    // The runtime API serves it, with the content hash as ETag, and 304 for a client that has it.
    let r = server.request("GET", path, Auth::Bearer(&ana), None);
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json()["version"], 1);
    assert_eq!(r.json()["labels"], json!(["production"]));
    let etag = r.header("etag").unwrap().to_string();
    assert_eq!(etag, format!("\"{h1}\""));
    assert!(r.header("cache-control").unwrap().contains("max-age"));
    let again = server.raw(
        "GET",
        path,
        Auth::Bearer(&ana),
        &[("If-None-Match", &etag)],
        None,
    );
    assert_eq!(again.status, 304);
    assert!(again.body.is_empty());

    // A replayed push changes nothing; the same id with other content is a 409 with both hashes.
    let head = server.store.read(|tx| tx.head()).unwrap();
    let r = push(&server, &ana, &[&create, &v1]);
    assert_eq!(r.status, 200);
    assert!(r.json()["results"]
        .as_array()
        .unwrap()
        .iter()
        .all(|x| x["status"] == "duplicate"));
    assert_eq!(server.store.read(|tx| tx.head()).unwrap(), head);
    let (mut other, _) = version_event("ana", name, "Something else");
    other.id = v1.id.clone();
    other.hash = other.compute_hash();
    let r = push(&server, &ana, &[&other]);
    assert_eq!(r.status, 409, "{}", r.body);
    let why = r.json()["error"]["message"].as_str().unwrap().to_string();
    assert!(why.contains(&v1.hash) && why.contains(&other.hash), "{why}");

    // A signature made with someone else's key is refused.
    let (v2, h2) = version_event("ana", name, "Refunds within 30 days, to the original card.");
    let review2 = SyncEvent::new(
        "ana",
        AT,
        EventBody::ReviewRequest {
            prompt: name.into(),
            version_hash: h2.clone(),
            label: "production".into(),
            description: String::new(),
        },
    );
    assert_eq!(push(&server, &ana, &[&v2, &review2]).status, 200);
    assert_eq!(
        push(
            &server,
            &ben,
            &[&approve("ben", &review2.id, "production", &h2)]
        )
        .status,
        200
    );
    let forged = release("rita", "ben", name, "production", Some(&h1), &h2, None);
    let r = push(&server, &rita, &[&forged]);
    assert_eq!(r.status, 403, "{}", r.body);
    assert!(r.body.contains("belongs to ben"), "{}", r.body);

    // Two releases from what rita saw (v1): exactly one wins, the other is told what happened.
    let first = release("rita", "rita", name, "production", Some(&h1), &h2, None);
    assert_eq!(push(&server, &rita, &[&first]).status, 200);
    let (v3, h3) = version_event("ana", name, "A third reply");
    assert_eq!(push(&server, &ana, &[&v3]).status, 200);
    let late = release("rita", "rita", name, "production", Some(&h1), &h3, None);
    let r = push(&server, &rita, &[&late]);
    assert_eq!(r.status, 409, "{}", r.body);
    assert!(r.body.contains("moved to version 2"), "{}", r.body);

    // Pull returns everything in order, with the numbers the server assigned.
    let r = server.request("GET", "/v1/sync/pull?after=0", Auth::Bearer(&ben), None);
    let events = r.json()["events"].as_array().unwrap().clone();
    let seqs: Vec<i64> = events.iter().map(|e| e["seq"].as_i64().unwrap()).collect();
    assert!(seqs.windows(2).all(|w| w[0] < w[1]));
    assert_eq!(r.json()["head"], *seqs.last().unwrap());
    let numbers: Vec<&Value> = events
        .iter()
        .filter(|e| e["event"]["kind"] == "version.create")
        .map(|e| &e["assigned"]["number"])
        .collect();
    assert_eq!(numbers, [&json!(1), &json!(2), &json!(3)]);
    let half = server.request(
        "GET",
        "/v1/sync/pull?after=2&limit=2",
        Auth::Bearer(&ben),
        None,
    );
    assert_eq!(half.json()["events"][0]["seq"], 3);
    assert_eq!(half.json()["events"].as_array().unwrap().len(), 2);
    let summary = server.request("GET", "/v1/sync/summary", Auth::Bearer(&ben), None);
    assert_eq!(summary.json()["count"], events.len());
}

fn an_editor_cannot_move_production_through_any_route(backend: Backend) {
    let server = Server::start_on(backend);
    let ana = server.token("ana", Role::Editor);
    let ben = server.token("ben", Role::Reviewer);
    let (pk, sk) = server.langfuse_keys("ana", Role::Editor);
    let name = "faq";
    let (v1, h1) = version_event("ana", name, "Answer");
    assert_eq!(
        push(&server, &ana, &[&prompt_create("ana", name), &v1]).status,
        200
    );
    let review = SyncEvent::new(
        "ana",
        AT,
        EventBody::ReviewRequest {
            prompt: name.into(),
            version_hash: h1.clone(),
            label: "production".into(),
            description: String::new(),
        },
    );
    assert_eq!(push(&server, &ana, &[&review]).status, 200);
    let approval = approve("ben", &review.id, "production", &h1);
    assert_eq!(
        push(&server, &ben, &[&key_event("ben"), &approval]).status,
        200
    );
    let moved = || {
        server
            .store
            .read(|tx| tx.label(name, "production"))
            .unwrap()
    };

    // Native push: a plain move, and a signed release with an approval on record.
    let plain = SyncEvent::new(
        "ana",
        AT,
        EventBody::LabelMove {
            prompt: name.into(),
            label: "production".into(),
            kind: MoveKind::Set,
            from_hash: None,
            to_hash: h1.clone(),
            changelog: "x".into(),
            review: None,
            bundle: None,
            key_id: None,
            signature: None,
            evidence: None,
        },
    );
    let r = push(&server, &ana, &[&plain]);
    assert_eq!(r.status, 403, "{}", r.body);
    assert!(r.body.contains("protected"), "{}", r.body);
    let signed = release(
        "ana",
        "ana",
        name,
        "production",
        None,
        &h1,
        Some(&review.id),
    );
    let r = push(&server, &ana, &[&key_event("ana"), &signed]);
    assert_eq!(r.status, 403, "{}", r.body);
    assert!(r.body.contains("only a releaser"), "{}", r.body);

    // Langfuse-compatible: create with the label, and move it on an existing version.
    let r = server.request(
        "POST",
        "/api/public/v2/prompts",
        Auth::Basic(&pk, &sk),
        Some(&json!({"name": name, "prompt": "Answer 2", "labels": ["production"]})),
    );
    assert_eq!(r.status, 403, "{}", r.body);
    assert_eq!(r.json()["error"], "AccessDeniedError");
    let versions = server.store.read(|tx| tx.version_numbers(name)).unwrap();
    assert_eq!(versions, [1], "a refused create leaves nothing behind");
    let r = server.request(
        "PATCH",
        "/api/public/v2/prompts/faq/versions/1",
        Auth::Basic(&pk, &sk),
        Some(&json!({"newLabels": ["production"]})),
    );
    assert_eq!(r.status, 403, "{}", r.body);
    // The same token with a native header is the same person.
    let r = server.request(
        "PATCH",
        "/api/public/v2/prompts/faq/versions/1",
        Auth::Bearer(&ana),
        Some(&json!({"newLabels": ["production"]})),
    );
    assert_eq!(r.status, 403, "{}", r.body);
    assert_eq!(moved(), None);

    // An unprotected label is the editor's to move.
    let r = server.request(
        "PATCH",
        "/api/public/v2/prompts/faq/versions/1",
        Auth::Basic(&pk, &sk),
        Some(&json!({"newLabels": ["staging"]})),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json()["labels"], json!(["staging", "latest"]));
}

/// Who may do what on the server, route by route.
fn roles_decide_what_each_token_may_push(backend: Backend) {
    let server = Server::start_on(backend);
    let tokens: Vec<(Role, String)> = [
        Role::Viewer,
        Role::Editor,
        Role::Reviewer,
        Role::Releaser,
        Role::Admin,
    ]
    .into_iter()
    .map(|r| (r, server.token(r.as_str(), r)))
    .collect();
    for (role, token) in &tokens {
        let who = role.as_str();
        let name = format!("p-{who}");
        // Creating prompts and versions: editors and above.
        let r = push(&server, token, &[&prompt_create(who, &name)]);
        assert_eq!(r.status == 200, *role >= Role::Editor, "{who}: {}", r.body);
        // Changing a policy: admins only.
        let policy = SyncEvent::new(
            who,
            AT,
            EventBody::PolicySet {
                label: "staging".into(),
                policy: promptdesk_protocol::policy::Policy::unprotected(),
            },
        );
        let r = push(&server, token, &[&policy]);
        assert_eq!(r.status == 200, *role == Role::Admin, "{who}: {}", r.body);
        // Pushing someone else's event: admins only, and then the author's own role counts
        // (someone has no token here, so is a viewer).
        let theirs = prompt_create("someone", &format!("q-{who}"));
        let r = push(&server, token, &[&theirs]);
        assert_eq!(r.status, 403, "{}", r.body);
        let expected = if *role == Role::Admin {
            "someone is a viewer"
        } else {
            "may not push an event made by someone"
        };
        assert!(r.body.contains(expected), "{who}: {}", r.body);
        // Everyone may read.
        let r = server.request("GET", "/v1/sync/pull", Auth::Bearer(token), None);
        assert_eq!(r.status, 200);
        let r = server.request("GET", "/v1/me", Auth::Bearer(token), None);
        assert_eq!(r.json()["role"], who);
    }
}

fn requests_are_authenticated_limited_and_refused_clearly(backend: Backend) {
    let server = Server::start_on(backend);
    let ana = server.token("ana", Role::Editor);

    let r = server.request("GET", "/v1/prompts/x", Auth::None, None);
    assert_eq!(r.status, 401);
    assert!(r.json()["message"].as_str().unwrap().contains("Bearer"));

    // Unknown names answer 404; both a label and a version is a 400.
    let r = server.request("GET", "/v1/prompts/nope", Auth::Bearer(&ana), None);
    assert_eq!(
        (r.status, r.json()["kind"].as_str()),
        (404, Some("not_found"))
    );
    let r = server.request(
        "GET",
        "/api/public/v2/prompts/nope?label=a&version=1",
        Auth::Bearer(&ana),
        None,
    );
    assert_eq!(r.status, 400, "{}", r.body);

    // A declared body over the limit is refused before it is read.
    let big = (promptdesk_server::BODY_LIMIT + 1).to_string();
    let r = server.raw(
        "POST",
        "/v1/sync/push",
        Auth::Bearer(&ana),
        &[("Content-Length", &big)],
        Some(b"{}"),
    );
    assert_eq!(r.status, 413, "{}", r.body);

    // A malformed push says where.
    let r = server.request(
        "POST",
        "/v1/sync/push",
        Auth::Bearer(&ana),
        Some(&json!({"events": [{"id": "x"}]})),
    );
    assert_eq!(r.status, 400);
    assert!(r.body.contains("event 0"), "{}", r.body);

    // Guessing tokens: after ten failures (the token-less request above was the first) the
    // address waits.
    for _ in 0..9 {
        let r = server.request("GET", "/v1/me", Auth::Bearer("pdt_wrong"), None);
        assert_eq!(r.status, 401);
    }
    let r = server.request("GET", "/v1/me", Auth::Bearer("pdt_wrong"), None);
    assert_eq!(r.status, 429, "{}", r.body);
    assert_eq!(r.json()["kind"], "rate_limited");
    let wait: u64 = r.header("retry-after").unwrap().parse().unwrap();
    assert!((1..=60).contains(&wait));
    // Even a right token waits out the window from that address.
    let r = server.request("GET", "/v1/me", Auth::Bearer(&ana), None);
    assert_eq!(r.status, 429);
}

fn a_revoked_token_stops_working_and_secrets_are_stored_hashed(backend: Backend) {
    let server = Server::start_on(backend);
    let t = promptdesk_server::auth::create_token(
        &server.store,
        "ana",
        Role::Editor,
        false,
        &promptdesk_server::now(),
    )
    .unwrap();
    assert!(t.secret.starts_with("pdt_"));
    let listed = server.store.read(|tx| tx.tokens()).unwrap();
    assert!(!serde_json::to_string(&listed).unwrap().contains(&t.secret));
    assert!(server
        .store
        .write(|tx| tx.revoke_token(&t.row.id, &promptdesk_server::now()))
        .unwrap());
    // Checked again after the short auth cache expires at the latest; a fresh server has none.
    let r = server.request("GET", "/v1/me", Auth::Bearer(&t.secret), None);
    assert_eq!(r.status, 401);
}

/// Listings sort by bytes, as SQLite does, whatever the database's collation (the PostgreSQL
/// test databases use an ICU collation, which would put `a_b` before `a-b` and `a1`).
fn names_and_labels_are_listed_in_byte_order(backend: Backend) {
    let server = Server::start_on(backend);
    let ana = server.token("ana", Role::Editor);
    let names = ["a_b", "a1", "a.b", "a-b"];
    for name in names {
        let (v, _) = version_event("ana", name, "Hello");
        let r = push(&server, &ana, &[&prompt_create("ana", name), &v]);
        assert_eq!(r.status, 200, "{}", r.body);
    }
    let r = server.request("GET", "/api/public/v2/prompts", Auth::Bearer(&ana), None);
    assert_eq!(r.status, 200, "{}", r.body);
    let listed: Vec<String> = r.json()["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(listed, ["a-b", "a.b", "a1", "a_b"]);

    let r = server.request(
        "PATCH",
        "/api/public/v2/prompts/a1/versions/1",
        Auth::Bearer(&ana),
        Some(&json!({"newLabels": ["s_b", "s1", "s-b", "s.b"]})),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    let labels: Vec<String> = server
        .store
        .read(|tx| tx.labels("a1"))
        .unwrap()
        .into_iter()
        .map(|l| l.label)
        .collect();
    assert_eq!(labels, ["s-b", "s.b", "s1", "s_b"]);
}
