//! Team members with their own registries work offline, then sync through a real server: they
//! converge on the same versions (numbered by the server), labels, reviews and releases, and a
//! move the server refuses is explained and undone where it was made.

mod common;

use common::{shared_state, Member, Server};
use promptdesk_core::policy::Role;
use promptdesk_core::release::ReleaseRequest;
use promptdesk_core::Ref;

const NAME: &str = "support/greeting";

#[test]
fn offline_work_converges_and_a_release_goes_through_review_across_registries() {
    let server = Server::start();
    let mut ana = Member::join(&server, "ana", Role::Editor);
    let mut ben = Member::join(&server, "ben", Role::Reviewer);
    let mut rita = Member::join(&server, "rita", Role::Releaser);

    ana.new_text(NAME, "Hello {{ name }}.");
    let r = ana.sync();
    assert_eq!(r.pushed, 2, "{r:?}"); // the prompt and its first version
    assert_eq!(ben.sync().pulled, 2);

    // Offline, both write a second version: the server numbers them in push order.
    assert_eq!(ana.edit(NAME, "Hello {{ name }}, welcome.", "Warmer"), 2);
    assert_eq!(ben.edit(NAME, "Hi {{ name }}.", "Shorter"), 2);
    ana.sync();
    let r = ben.sync();
    assert_eq!(r.renumbered, 1, "ben's v2 becomes v3: {r:?}");
    ana.sync();
    rita.sync();
    let v2 = ana.reg.resolve(NAME, Some(&Ref::Number(2))).unwrap();
    let v3 = ana.reg.resolve(NAME, Some(&Ref::Number(3))).unwrap();
    assert_eq!(v2.author, "ana");
    assert_eq!(v3.author, "ben");
    assert_eq!(
        ben.reg.resolve(NAME, Some(&Ref::Number(3))).unwrap().hash,
        v3.hash
    );
    assert_eq!(
        ben.reg.resolve(NAME, None).unwrap().number,
        3,
        "latest follows"
    );

    // ana asks for v2 to go to production; ben approves on his machine; rita releases on hers.
    let review = ana
        .reg
        .request_review(NAME, Some(&Ref::Number(2)), "production", "Warmer greeting")
        .unwrap();
    ana.sync();
    ben.sync();
    let here = ben
        .reg
        .reviews(true)
        .unwrap()
        .into_iter()
        .find(|r| r.id == review.id)
        .expect("ben sees ana's review");
    ben.reg.approve(here.number, "Reads well").unwrap();
    ben.sync();
    rita.sync();
    rita.reg
        .release(
            NAME,
            Some(&Ref::Number(2)),
            "production",
            ReleaseRequest {
                changelog: "Warmer greeting",
                ..Default::default()
            },
        )
        .unwrap();
    let r = rita.sync();
    assert!(r.refused.is_empty(), "{r:?}");
    for m in [&mut ana, &mut ben] {
        m.sync();
        assert_eq!(
            m.reg
                .resolve(NAME, Some(&Ref::Label("production".into())))
                .unwrap()
                .hash,
            v2.hash,
            "{} sees the release",
            m.name
        );
        assert_eq!(m.reg.releases(NAME, None).unwrap().len(), 1);
    }
    // Every signature that arrived verifies here too.
    let report = ana.reg.verify().unwrap();
    assert!(report.problems.is_empty(), "{:?}", report.problems);

    // Offline, ana and ben both move `staging`: ana's arrives first; ben's is refused, explained,
    // and his staging goes back to what the server serves.
    ana.reg
        .set_label(NAME, Some(&Ref::Number(2)), "staging", "try the warm one")
        .unwrap();
    ben.reg
        .set_label(NAME, Some(&Ref::Number(3)), "staging", "try the short one")
        .unwrap();
    ana.sync();
    let r = ben.sync();
    assert_eq!(r.refused.len(), 1, "{r:?}");
    let refusal = &r.refused[0];
    assert_eq!(refusal.kind, "label.move");
    assert!(
        refusal.message.contains("staging") && refusal.message.contains("by ana"),
        "the refusal says who moved it first: {}",
        refusal.message
    );
    // The pull already brought ana's move: ben's staging serves what the server serves.
    let state = ben.reg.sync_state().unwrap();
    assert_eq!(state.refused.len(), 1);
    assert_eq!(state.pending, 0);
    assert_eq!(
        ben.reg
            .resolve(NAME, Some(&Ref::Label("staging".into())))
            .unwrap()
            .hash,
        v2.hash
    );

    // An administrator protects `staging`; ana, not having pulled that yet, moves it anyway.
    // The server refuses (403, with the policy's reason) and ana's staging goes back to where
    // the server has it.
    let mut root = Member::join(&server, "root", Role::Admin);
    root.sync();
    root.reg
        .set_policy(
            "staging",
            &promptdesk_core::policy::Policy::default_for("production"),
        )
        .unwrap();
    root.sync();
    ana.reg
        .set_label(
            NAME,
            Some(&Ref::Number(3)),
            "staging",
            "the short one after all",
        )
        .unwrap();
    let r = ana.sync();
    assert_eq!(r.refused.len(), 1, "{r:?}");
    assert!(
        r.refused[0].message.contains("protected"),
        "{:?}",
        r.refused
    );
    assert_eq!(r.restored, vec![format!("{NAME} staging")]);
    assert_eq!(
        ana.reg
            .resolve(NAME, Some(&Ref::Label("staging".into())))
            .unwrap()
            .hash,
        v2.hash
    );
    let entries = ana.reg.ledger(Some(NAME), 0, 10_000).unwrap();
    let last = entries.last().unwrap();
    assert_eq!(
        last.kind, "label.restored",
        "the ledger says why it moved back"
    );

    // Once everyone has synced, another round changes nothing, and everyone agrees.
    for m in [&mut ana, &mut ben, &mut rita, &mut root] {
        m.sync();
    }
    for m in [&mut ana, &mut ben, &mut rita, &mut root] {
        let r = m.sync();
        assert_eq!((r.pushed, r.pulled), (0, 0), "{}: {r:?}", m.name);
    }
    let a = shared_state(&ana.reg);
    assert_eq!(a, shared_state(&ben.reg));
    assert_eq!(a, shared_state(&rita.reg));
    assert_eq!(a, shared_state(&root.reg));
    assert_eq!(a["versions"].as_array().unwrap().len(), 3);
    assert_eq!(a["releases"].as_array().unwrap().len(), 1);
    // Every registry that pulled the others' versions, renumberings, review, release and
    // restored label verifies against its own ledger: the replay rebuilds what the pulls wrote.
    for m in [&ana, &ben, &rita, &root] {
        let report = m.reg.verify().unwrap();
        assert!(
            report.problems.is_empty(),
            "{}: {:#?}",
            m.name,
            report.problems
        );
    }
    // And what a pull wrote, edited behind the ledger's back, is named: ben's production is
    // pointed at the version nobody approved.
    let dir = tempfile::tempdir().unwrap();
    let copy = dir.path().join("ben.db");
    ben.reg
        .connection()
        .execute("VACUUM INTO ?1", [copy.to_str().unwrap()])
        .unwrap();
    let unapproved = ben.reg.resolve(NAME, Some(&Ref::Number(1))).unwrap().hash;
    rusqlite::Connection::open(&copy)
        .unwrap()
        .execute(
            "UPDATE labels SET hash = ?1 WHERE name = 'production'",
            [&unapproved],
        )
        .unwrap();
    let problems = promptdesk_core::Registry::open(&copy)
        .unwrap()
        .verify()
        .unwrap()
        .problems;
    assert!(
        problems.iter().any(|p| p.starts_with(&format!(
            "labels: {NAME}/production points at version 1 (#{}",
            &unapproved[..12]
        ))),
        "{problems:#?}"
    );

    // Nothing secret went into the registry file.
    let bytes = std::fs::read(ben.reg.path()).unwrap();
    let text = String::from_utf8_lossy(&bytes);
    assert!(!text.contains("pdt_"), "a token reached the registry file");
}
