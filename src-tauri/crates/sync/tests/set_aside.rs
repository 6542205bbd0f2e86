//! One bad event from anyone never stops anyone else's sync. The server refuses such events
//! now, but a server before that rule (or one newer than a registry) may still hand one out:
//! a registry that cannot apply a pulled event sets it aside, visibly, and applies everything
//! after it; pulling again from the start leaves it aside and counts it as exchanged.

mod common;

use common::{Member, Server};
use promptdesk_core::policy::Role;
use promptdesk_core::sync::{EventBody, ReviewEventKind, SyncEvent};
use promptdesk_core::Ref;
use serde_json::json;

const NAME: &str = "support/greeting";

#[test]
fn a_pulled_event_that_cannot_be_applied_is_set_aside_and_the_rest_still_arrives() {
    let server = Server::start();
    let mut ana = Member::join(&server, "ana", Role::Editor);
    let mut ben = Member::join(&server, "ben", Role::Reviewer);

    ana.new_text(NAME, "Hello {{ name }}.");
    let review = ana
        .reg
        .request_review(NAME, Some(&Ref::Number(1)), "production", "First words")
        .unwrap();
    ana.sync();

    // What an older server let through: a viewer's comment with an anchor no registry can
    // read, written straight into the server's log.
    let poison = SyncEvent::new(
        "vic",
        "2026-11-21T10:00:00Z",
        EventBody::ReviewEvent {
            review: review.id.clone(),
            decision: ReviewEventKind::Comment,
            body: "see line three".into(),
            anchor: Some(json!({"line": "three"})),
            reply_to: None,
            content_hash: None,
            key_id: None,
            signature: None,
        },
    );
    server
        .store
        .write(|tx| {
            tx.append_event(
                &serde_json::to_value(&poison).unwrap(),
                &poison.id,
                &poison.hash,
                &json!({"actor_role": "viewer"}),
                "vic",
                &promptdesk_server::now(),
            )
        })
        .unwrap();
    // And after it, ordinary work that must still reach ben.
    ana.edit(NAME, "Hello {{ name }}, welcome.", "Warmer");
    ana.sync();

    let r = ben.sync();
    assert!(
        r.pulled >= 3,
        "ben pulled the prompt, both versions and the review: {r:?}"
    );
    assert_eq!(
        ben.reg.resolve(NAME, None).unwrap().number,
        2,
        "the version after the bad event arrived"
    );
    let state = ben.reg.sync_state().unwrap();
    assert_eq!(state.set_aside.len(), 1, "{state:?}");
    let aside = &state.set_aside[0];
    assert_eq!(aside.event_id, poison.id);
    assert_eq!(aside.author, "vic");
    assert!(aside.message.contains("anchor"), "{}", aside.message);

    // Syncing again, and pulling everything again from the start (the summary check), keeps it
    // aside without failing and without applying it twice.
    let again = ben.sync();
    assert!(
        !again.gap_filled,
        "a set-aside event counts as exchanged: {again:?}"
    );
    ben.reg.reset_sync_cursor().unwrap();
    ben.sync();
    assert_eq!(ben.reg.sync_state().unwrap().set_aside.len(), 1);
    let comments: i64 = ben
        .reg
        .connection()
        .query_row(
            "SELECT count(*) FROM review_events WHERE id = ?1",
            [&poison.id],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(comments, 0, "nothing of the bad event was applied");
    // ana, whose registry also pulls it, is not stopped either.
    ana.sync();
    assert_eq!(ana.reg.sync_state().unwrap().set_aside.len(), 1);
    for m in [&ana, &ben] {
        let report = m.reg.verify().unwrap();
        assert!(
            report.problems.is_empty(),
            "{}: {:#?}",
            m.name,
            report.problems
        );
    }
}

/// The rollback rule holds in the pull path too: a rollback to content the label never served,
/// as an older server might have accepted, is set aside, not applied.
#[test]
fn a_pulled_rollback_to_content_never_served_is_set_aside() {
    let server = Server::start();
    let mut ana = Member::join(&server, "ana", Role::Editor);
    let mut ben = Member::join(&server, "ben", Role::Reviewer);
    ana.new_text(NAME, "Hello.");
    ana.edit(NAME, "Hello there.", "Second");
    ana.reg
        .set_label(NAME, Some(&Ref::Number(1)), "staging", "first try")
        .unwrap();
    ana.sync();
    ben.sync();
    let v1 = ben.reg.resolve(NAME, Some(&Ref::Number(1))).unwrap().hash;
    let v2 = ben.reg.resolve(NAME, Some(&Ref::Number(2))).unwrap().hash;
    let forged = SyncEvent::new(
        "rita",
        "2026-11-21T10:00:00Z",
        EventBody::LabelMove {
            prompt: NAME.into(),
            label: "staging".into(),
            kind: promptdesk_core::sync::MoveKind::Rollback,
            from_hash: Some(v1.clone()),
            to_hash: v2.clone(),
            changelog: "incident".into(),
            review: None,
            bundle: None,
            key_id: Some("0123456789abcdef".into()),
            signature: Some("00".into()),
            evidence: None,
        },
    );
    server
        .store
        .write(|tx| {
            tx.append_event(
                &serde_json::to_value(&forged).unwrap(),
                &forged.id,
                &forged.hash,
                &json!({"number": 2, "actor_role": "releaser", "decision": {}}),
                "rita",
                &promptdesk_server::now(),
            )
        })
        .unwrap();
    ben.sync();
    let state = ben.reg.sync_state().unwrap();
    assert_eq!(state.set_aside.len(), 1, "{state:?}");
    assert!(
        state.set_aside[0].message.contains("never served"),
        "{}",
        state.set_aside[0].message
    );
    let staging = ben
        .reg
        .resolve(NAME, Some(&Ref::Label("staging".into())))
        .unwrap();
    assert_eq!(staging.hash, v1, "staging still serves what it served");
    for m in [&ana, &ben] {
        let report = m.reg.verify().unwrap();
        assert!(
            report.problems.is_empty(),
            "{}: {:#?}",
            m.name,
            report.problems
        );
    }
}
