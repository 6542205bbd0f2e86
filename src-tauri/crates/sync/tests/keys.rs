//! Key rotation and revocation across registries: a reviewer rotates to a new key, an admin
//! revokes a releaser's key, and every registry (and the server) stops counting what the old
//! keys signed; a release pushed from a registry that had not heard of the revocation yet is
//! refused by the server and undone where it was made.

mod common;

use common::{signer, Member, Server};
use promptdesk_core::policy::Role;
use promptdesk_core::release::ReleaseRequest;
use promptdesk_core::signing::{key_id, MemorySigner, Sign};
use promptdesk_core::Ref;

const NAME: &str = "support/greeting";

fn counted(m: &Member, n: u32) -> Vec<String> {
    let v = m.reg.resolve(NAME, Some(&Ref::Number(n))).unwrap();
    m.reg
        .decide(&v, "production", "Warmer", false)
        .unwrap()
        .counted_approvals
}

fn release(m: &mut Member, n: u32) -> promptdesk_core::Result<promptdesk_core::release::Release> {
    m.reg.release(
        NAME,
        Some(&Ref::Number(n)),
        "production",
        ReleaseRequest {
            changelog: "Warmer",
            ..Default::default()
        },
    )
}

#[test]
fn rotated_and_revoked_keys_stop_counting_everywhere() {
    let server = Server::start();
    let mut ana = Member::join(&server, "ana", Role::Editor);
    let mut ben = Member::join(&server, "ben", Role::Reviewer);
    let mut rita = Member::join(&server, "rita", Role::Releaser);
    let mut root = Member::join(&server, "root", Role::Admin);
    ana.new_text(NAME, "Hello {{ name }}.");
    let review = ana
        .reg
        .request_review(NAME, Some(&Ref::Number(1)), "production", "First")
        .unwrap();
    ana.sync();
    ben.sync();
    ben.reg.approve(review.number_for(&ben), "Good").unwrap();
    ben.sync();
    rita.sync();
    assert_eq!(counted(&rita, 1), vec!["ben".to_string()]);

    // Ben rotates to a new key and syncs; rita has not pulled yet and releases on the old
    // approval: the server refuses, and her label goes back to where the server has it.
    let new_key = MemorySigner::from_seed([77; 32]);
    let rotation = ben
        .reg
        .rotate_signing_key(Some(&signer("ben").public_key()), &new_key.public_key())
        .unwrap();
    ben.reg
        .set_signer(Box::new(MemorySigner::from_seed([77; 32])));
    assert_eq!(
        rotation.old_key.as_ref().unwrap().key_id,
        key_id(&signer("ben").public_key())
    );
    let pushed = ben.sync();
    assert_eq!(
        pushed.pushed, 2,
        "the new key and the revocation: {pushed:?}"
    );
    release(&mut rita, 1).unwrap();
    let r = rita.sync();
    assert_eq!(r.refused.len(), 1, "{r:?}");
    assert!(r.refused[0].message.contains("0 so far"), "{:?}", r.refused);
    assert!(
        !rita
            .reg
            .labels(NAME)
            .unwrap()
            .iter()
            .any(|l| l.name == "production"),
        "the refused release is undone"
    );
    assert!(
        counted(&rita, 1).is_empty(),
        "the pulled revocation counts here too"
    );
    let keys = rita.reg.signing_keys().unwrap();
    let old = keys
        .iter()
        .find(|k| k.key_id == key_id(&signer("ben").public_key()))
        .unwrap();
    let revoked = old.revoked.as_ref().expect("pulled revocation");
    assert_eq!(
        (revoked.by.as_str(), revoked.reason.as_str()),
        ("ben", "rotated to a new key")
    );
    assert!(keys
        .iter()
        .any(|k| k.key_id == key_id(&new_key.public_key()) && k.revoked.is_none()));

    // Ben approves again with the new key: it counts on the server and at rita's.
    ben.reg
        .approve(review.number_for(&ben), "Still good")
        .unwrap();
    ben.sync();
    rita.sync();
    assert_eq!(counted(&rita, 1), vec!["ben".to_string()]);
    release(&mut rita, 1).unwrap();
    assert!(rita.sync().refused.is_empty());

    // An admin revokes rita's key (she left): her next release is refused at her registry
    // once she pulls it, and the server would refuse it anyway.
    root.sync();
    root.reg
        .revoke_signing_key(&key_id(&signer("rita").public_key()), "Rita left the team")
        .unwrap();
    root.sync();
    rita.sync();
    ana.edit(NAME, "Hello {{ name }}, welcome.", "Warmer");
    let second = ana
        .reg
        .request_review(NAME, Some(&Ref::Number(2)), "production", "Warmer")
        .unwrap();
    ana.sync();
    ben.sync();
    ben.reg.approve(second.number_for(&ben), "Yes").unwrap();
    ben.sync();
    rita.sync();
    let e = release(&mut rita, 2).unwrap_err().to_string();
    assert!(e.contains("was revoked by root"), "{e}");

    // Every registry agrees, and each verifies clean (revocations replayed from the ledger).
    for m in [&mut ana, &mut ben, &mut rita, &mut root] {
        m.sync();
    }
    let state = |m: &Member| {
        let mut keys: Vec<(String, Option<String>)> = m
            .reg
            .signing_keys()
            .unwrap()
            .into_iter()
            .map(|k| (k.key_id, k.revoked.map(|r| r.by)))
            .collect();
        keys.sort();
        keys
    };
    for m in [&ana, &ben, &rita] {
        assert_eq!(state(m), state(&root), "{}", m.name);
        let report = m.reg.verify().unwrap();
        assert!(
            report.problems.is_empty(),
            "{}: {:#?}",
            m.name,
            report.problems
        );
    }
}

/// A review's number differs per registry (each numbers the reviews it holds); find it by id.
trait ReviewHere {
    fn number_for(&self, m: &Member) -> u32;
}

impl ReviewHere for promptdesk_core::release::Review {
    fn number_for(&self, m: &Member) -> u32 {
        m.reg
            .reviews(true)
            .unwrap()
            .into_iter()
            .find(|r| r.id == self.id)
            .unwrap_or_else(|| panic!("review {} not at {}", self.id, m.name))
            .number
    }
}

#[test]
fn events_an_admin_carried_over_say_who_pushed_them() {
    let server = Server::start();
    let mut root = Member::join(&server, "root", Role::Admin);
    let mut rita = Member::join(&server, "rita", Role::Releaser);

    // A registry kept before the team server existed: ana wrote, ben commented.
    let dir = tempfile::tempdir().unwrap();
    let (mut old, _) = promptdesk_core::Registry::init(&dir.path().join("old.db")).unwrap();
    old.set_actor("ana");
    old.create_prompt(
        NAME,
        promptdesk_content::PromptKind::Text,
        promptdesk_core::NewPrompt {
            draft: Some(common::text("Hello.")),
            ..Default::default()
        },
    )
    .unwrap();
    old.commit(NAME, "First").unwrap();
    let review = old
        .request_review(NAME, Some(&Ref::Number(1)), "production", "First")
        .unwrap();
    old.set_actor("ben");
    old.comment(review.number, "Say hi instead?", None, None)
        .unwrap();
    promptdesk_core::export::export(&old, &dir.path().join("export")).unwrap();

    // The admin imports it and pushes it under the admin's token (ana and ben have accounts,
    // whose roles the server weighs).
    server.token("ana", Role::Editor);
    server.token("ben", Role::Viewer);
    promptdesk_core::export::import(&mut root.reg, &dir.path().join("export")).unwrap();
    let r = root.sync();
    assert!(r.refused.is_empty(), "{r:?}");
    rita.sync();
    let here = review.number_for(&rita);
    let detail = rita.reg.review_detail(here).unwrap();
    let comment = detail.events.iter().find(|e| e.kind == "comment").unwrap();
    assert_eq!(comment.actor, "ben");
    assert_eq!(comment.pushed_by.as_deref(), Some("root"));
    // What people push themselves says nothing more.
    rita.reg.comment(here, "Fine by me", None, None).unwrap();
    rita.sync();
    root.sync();
    let at_root = root.reg.review_detail(review.number_for(&root)).unwrap();
    let own = at_root.events.iter().find(|e| e.actor == "rita").unwrap();
    assert_eq!(own.pushed_by, None);
}
