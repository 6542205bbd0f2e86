//! The sync commands against a real registry server on 127.0.0.1: connecting checks the token
//! first, a round pushes and pulls, being offline is an outcome, a lost label race is explained,
//! and the server token never reaches an answer or the registry file.

mod common;

use common::{Desk, Server};
use promptdesk_api::ApiErrorKind;
use promptdesk_core::policy::Role;
use promptdesk_keys::KeyStore;
use serde_json::json;

const NAME: &str = "support/greeting";

/// Whether `needle` occurs anywhere in the file at `path` (or its WAL), as bytes.
fn file_contains(path: &std::path::Path, needle: &str) -> bool {
    let mut wal = path.as_os_str().to_owned();
    wal.push("-wal");
    [path.to_path_buf(), std::path::PathBuf::from(wal)]
        .iter()
        .filter_map(|p| std::fs::read(p).ok())
        .any(|bytes| bytes.windows(needle.len()).any(|w| w == needle.as_bytes()))
}

#[test]
fn a_wrong_token_or_an_unreachable_server_is_refused_and_nothing_is_saved() {
    let server = Server::start();
    let desk = Desk::new("ana");
    let store = KeyStore::Files(desk.key_dir());

    let wrong = desk
        .call(
            "set_remote",
            json!({ "url": server.url(), "token": "pdt_not-a-real-token" }),
        )
        .unwrap_err();
    assert_eq!(wrong.kind, ApiErrorKind::BadInput, "{wrong:?}");
    assert!(
        wrong.message.contains("does not accept this token")
            && wrong.message.contains("Nothing was saved"),
        "{}",
        wrong.message
    );
    assert_eq!(wrong.details.as_ref().unwrap()["sync_kind"], "unauthorized");

    // A server that is not there: a port that was just free.
    let gone = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let token = server.token(&desk.actor(), Role::Admin);
    let unreachable = desk
        .call(
            "set_remote",
            json!({ "url": format!("http://{gone}"), "token": token }),
        )
        .unwrap_err();
    assert!(
        unreachable.message.contains("cannot be reached"),
        "{}",
        unreachable.message
    );
    assert_eq!(
        unreachable.details.as_ref().unwrap()["sync_kind"],
        "offline"
    );

    let not_a_url = desk
        .call(
            "set_remote",
            json!({ "url": "team-server", "token": token }),
        )
        .unwrap_err();
    assert_eq!(not_a_url.kind, ApiErrorKind::BadInput);
    assert!(
        not_a_url.message.contains("http://"),
        "{}",
        not_a_url.message
    );

    // Nothing was kept: no server in the registry, no token in the key store.
    let status = desk.ok("sync_status", json!({}));
    assert_eq!(status["remote"], json!(null), "{status}");
    assert_eq!(status["token_kept"], false);
    let me = desk.actor();
    assert_eq!(store.server_token(&server.url(), &me).unwrap(), None);
    assert_eq!(
        store.server_token(&format!("http://{gone}"), &me).unwrap(),
        None
    );

    // With no server, a round is an outcome that says so, not an error.
    let round = desk.ok("sync_now", json!({}));
    assert_eq!(round["ok"], false);
    assert_eq!(round["kind"], "not_configured");
}

#[test]
fn a_round_pushes_what_is_pending_pulls_it_elsewhere_and_the_token_stays_in_the_key_store() {
    let server = Server::start();
    let ana = Desk::new("ana");
    ana.new_prompt(NAME, "Hello {{ name }}");
    ana.edit(NAME, "Hello {{ name }}!", "Warmer");
    let before = ana.ok("sync_status", json!({}));
    assert!(before["pending"].as_u64().unwrap() >= 3, "{before}");

    let token = server.token(&ana.actor(), Role::Admin);
    let set = ana.ok(
        "set_remote",
        json!({ "url": format!("{}/", server.url()), "token": token }),
    );
    assert_eq!(set["user"], ana.actor());
    assert_eq!(set["role"], "admin");
    assert_eq!(set["warning"], json!(null), "{set}");
    assert_eq!(
        set["status"]["remote"],
        server.url(),
        "trailing slash dropped"
    );
    assert_eq!(set["status"]["token_kept"], true);
    assert_eq!(
        KeyStore::Files(ana.key_dir())
            .server_token(&server.url(), &ana.actor())
            .unwrap()
            .as_deref(),
        Some(token.as_str())
    );

    let round = ana.ok("sync_now", json!({}));
    assert_eq!(round["ok"], true, "{round}");
    assert_eq!(round["kind"], json!(null));
    assert_eq!(
        round["report"]["pushed"].as_u64(),
        before["pending"].as_u64(),
        "{round}"
    );
    assert_eq!(round["state"]["pending"], 0, "{round}");
    assert!(round["state"]["last_synced_at"].is_string(), "{round}");
    assert_eq!(round["state"]["last_error"], json!(null));
    assert_eq!(ana.ok("sync_status", json!({}))["pending"], 0);

    // Someone else's desk pulls it.
    let ben = Desk::new("ben");
    let ben_token = server.token(&ben.actor(), Role::Editor);
    ben.ok(
        "set_remote",
        json!({ "url": server.url(), "token": ben_token }),
    );
    let pulled = ben.ok("sync_now", json!({}));
    assert_eq!(pulled["ok"], true, "{pulled}");
    assert!(
        pulled["report"]["pulled"].as_u64().unwrap() >= 3,
        "{pulled}"
    );
    let listed = ben.ok("list_prompts", json!({}));
    assert_eq!(listed[0]["name"], NAME, "{listed}");
    assert_eq!(
        ben.ok("history", json!({ "name": NAME }))["total"],
        2,
        "both versions arrived"
    );

    // Forgetting the token: the status says none is kept, and a round says what is missing.
    let forgot = ben.ok("forget_remote", json!({}));
    assert_eq!(forgot["token_kept"], false, "{forgot}");
    if forgot["token_from_env"] == false {
        let round = ben.ok("sync_now", json!({}));
        assert_eq!(round["ok"], false);
        assert_eq!(round["kind"], "not_configured");
        assert!(
            round["state"]["last_error"]
                .as_str()
                .unwrap()
                .contains("No token is kept"),
            "{round}"
        );
    }

    // The token crossed to no answer, and neither registry file holds it.
    for desk in [&ana, &ben] {
        desk.ok("sync_status", json!({}));
        let answers = desk.answers.borrow();
        assert!(answers.len() > 5);
        for answer in answers.iter() {
            assert!(
                !answer.contains(&token) && !answer.contains(&ben_token),
                "a token in an answer: {answer}"
            );
        }
        assert!(!file_contains(&desk.registry_file(), &token));
        assert!(!file_contains(&desk.registry_file(), &ben_token));
    }
    // (The search works: the key store's file does hold it.)
    let kept = std::fs::read_dir(ana.key_dir())
        .unwrap()
        .map(|e| e.unwrap().path())
        .any(|p| file_contains(&p, &token));
    assert!(kept);
}

#[test]
fn a_token_of_someone_else_works_with_a_warning() {
    let server = Server::start();
    let desk = Desk::new("ana");
    let token = server.token("someone-else", Role::Editor);
    let set = desk.ok("set_remote", json!({ "url": server.url(), "token": token }));
    assert_eq!(set["user"], "someone-else");
    let warning = set["warning"].as_str().unwrap();
    assert!(
        warning.contains("someone-else") && warning.contains(&desk.actor()),
        "{warning}"
    );
}

#[test]
fn an_offline_server_is_a_state_not_an_error() {
    let mut server = Server::start();
    let desk = Desk::new("ana");
    desk.new_prompt(NAME, "Hello");
    let token = server.token(&desk.actor(), Role::Admin);
    desk.ok("set_remote", json!({ "url": server.url(), "token": token }));
    server.stop();

    let round = desk.ok("sync_now", json!({}));
    assert_eq!(round["ok"], false, "{round}");
    assert_eq!(round["kind"], "offline");
    assert!(
        round["message"].as_str().unwrap().contains(&server.url()),
        "{round}"
    );
    let error = round["state"]["last_error"].as_str().unwrap();
    assert!(error.contains("cannot be reached"), "{error}");
    assert!(round["state"]["pending"].as_u64().unwrap() > 0);
    // The status says the same afterwards.
    assert_eq!(
        desk.ok("sync_status", json!({}))["last_error"].as_str(),
        Some(error)
    );
}

#[test]
fn a_lost_label_race_says_what_was_tried_and_what_the_label_serves_now() {
    let server = Server::start();
    let ana = Desk::new("ana");
    let ben = Desk::new("ben");
    for desk in [&ana, &ben] {
        let token = server.token(&desk.actor(), Role::Releaser);
        desk.ok("set_remote", json!({ "url": server.url(), "token": token }));
    }
    ana.new_prompt(NAME, "Hello");
    ana.edit(NAME, "Hello there", "Warmer");
    assert_eq!(ana.ok("sync_now", json!({}))["ok"], true);
    assert_eq!(ben.ok("sync_now", json!({}))["ok"], true);

    // Offline, both move staging: ana to version 1, ben to version 2. Ana's arrives first.
    let release = |desk: &Desk, version: &str| {
        desk.ok(
            "release_version",
            json!({ "name": NAME, "reference": version, "label": "staging", "changelog": "try it" }),
        )
    };
    release(&ana, "1");
    release(&ben, "2");
    assert_eq!(ana.ok("sync_now", json!({}))["ok"], true);
    let round = ben.ok("sync_now", json!({}));
    assert_eq!(round["ok"], true, "a refusal is part of a round: {round}");
    let refused = round["report"]["refused"].as_array().unwrap();
    assert_eq!(refused.len(), 1, "{round}");

    let state = &round["state"];
    let conflicts = state["refused"].as_array().unwrap();
    assert_eq!(conflicts.len(), 1, "{state}");
    let c = &conflicts[0];
    assert_eq!(c["kind"], "label.move");
    assert_eq!(c["subject"], NAME);
    assert_eq!(c["label"], "staging");
    assert_eq!(c["move_kind"], "release");
    assert_eq!(c["to_version"], 2);
    assert_eq!(c["from_version"], json!(null));
    let message = c["message"].as_str().unwrap();
    assert!(
        message.contains("staging") && message.contains(&format!("by {}", ana.actor())),
        "{message}"
    );

    // What it serves now, as the conflict view looks it up: ana's version 1, moved by ana.
    let timeline = ben.ok("list_releases", json!({ "name": NAME }));
    let staging = timeline["serving"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["name"] == "staging")
        .unwrap_or_else(|| panic!("no staging in {timeline}"));
    assert_eq!(staging["number"], 1);
    assert_eq!(staging["moved_by"], ana.actor());

    // A later status still explains it.
    let later = ben.ok("sync_status", json!({}));
    assert_eq!(later["refused"][0]["to_version"], 2);
    assert_eq!(later["pending"], 0);
}

#[test]
fn a_lost_plain_label_move_is_explained_too() {
    // A plain move of an unprotected label (as `promptdesk label` makes it, on the same file).
    let move_label = |desk: &Desk, version: u32| {
        let mut reg = promptdesk_core::Registry::open(&desk.registry_file()).unwrap();
        reg.set_actor(desk.actor());
        reg.set_label(
            NAME,
            Some(&promptdesk_core::Ref::Number(version)),
            "beta",
            "try it",
        )
        .unwrap();
    };
    let server = Server::start();
    let ana = Desk::new("ana");
    let ben = Desk::new("ben");
    for desk in [&ana, &ben] {
        let token = server.token(&desk.actor(), Role::Editor);
        desk.ok("set_remote", json!({ "url": server.url(), "token": token }));
    }
    ana.new_prompt(NAME, "Hello");
    ana.edit(NAME, "Hello there", "Warmer");
    ana.edit(NAME, "Hello there!", "Warmest");
    assert_eq!(ana.ok("sync_now", json!({}))["ok"], true);
    assert_eq!(ben.ok("sync_now", json!({}))["ok"], true);

    move_label(&ana, 2);
    move_label(&ben, 3);
    assert_eq!(ben.ok("sync_status", json!({}))["pending"], 1);
    assert_eq!(ana.ok("sync_now", json!({}))["ok"], true);
    let round = ben.ok("sync_now", json!({}));
    let c = &round["state"]["refused"][0];
    assert_eq!(c["label"], "beta", "{round}");
    assert_eq!(c["move_kind"], "set");
    assert_eq!(c["to_version"], 3);
    assert_eq!(c["from_version"], json!(null));
    let serving = ben.ok("list_releases", json!({ "name": NAME }))["serving"].clone();
    let beta = serving
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["name"] == "beta")
        .unwrap_or_else(|| panic!("no beta in {serving}"));
    assert_eq!(beta["number"], 2);
}

#[test]
fn a_round_waiting_for_the_server_does_not_hold_up_other_commands() {
    use std::io::{Read, Write};
    // A server that answers who the token belongs to, then takes the round's first request and
    // sits on it until told to hang up.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let desk = Desk::new("ana");
    let actor = desk.actor();
    let (hang_up, hung_up) = std::sync::mpsc::channel::<()>();
    let (waiting, is_waiting) = std::sync::mpsc::channel::<()>();
    let server = std::thread::spawn(move || {
        let (mut me, _) = listener.accept().unwrap();
        let mut buf = [0u8; 4096];
        let _ = me.read(&mut buf).unwrap();
        let body = json!({ "user": actor, "role": "admin" }).to_string();
        write!(
            me,
            "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
            body.len()
        )
        .unwrap();
        drop(me);
        let (round, _) = listener.accept().unwrap();
        waiting.send(()).unwrap();
        hung_up.recv().unwrap();
        drop(round);
    });
    desk.ok("set_remote", json!({ "url": url, "token": "pdt_test" }));
    desk.new_prompt(NAME, "Hello");

    std::thread::scope(|s| {
        let round = s.spawn(|| desk.api.dispatch("sync_now", json!({})).unwrap());
        is_waiting.recv().unwrap();
        // The round is waiting for the server: the registry is free for everything else. (A
        // deadlock guard, not a speed limit: a command that waits for the round never returns
        // until the server hangs up.)
        let (tx, rx) = std::sync::mpsc::channel();
        let api = &desk.api;
        s.spawn(move || {
            let _ = tx.send(api.dispatch("open_prompt", json!({ "name": NAME })));
        });
        let Ok(opened) = rx.recv_timeout(std::time::Duration::from_secs(60)) else {
            hang_up.send(()).unwrap();
            panic!("open_prompt waited for the sync round to end");
        };
        assert_eq!(opened.unwrap()["prompt"]["name"], NAME);
        desk.api
            .dispatch(
                "commit_version",
                json!({ "name": NAME, "message": "again" }),
            )
            .unwrap_err(); // nothing changed: refused, but answered
        let status = desk.api.dispatch("sync_status", json!({})).unwrap();
        assert!(status["pending"].as_u64().unwrap() > 0);
        assert!(!round.is_finished());
        hang_up.send(()).unwrap();
        let outcome = round.join().unwrap();
        assert_eq!(outcome["ok"], false, "{outcome}");
        assert_eq!(outcome["kind"], "offline", "{outcome}");
    });
    server.join().unwrap();
}
