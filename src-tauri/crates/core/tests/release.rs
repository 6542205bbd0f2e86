//! Review and release on a real registry file: the demo's refund-reply story, refusals that say
//! exactly why, compare-and-swap between two handles on one file, bundles all or nothing, and
//! rollback.

use promptdesk_core::policy::{Policy, Role};
use promptdesk_core::release::{BundleItem, ReleaseRequest, ReviewStatus, RollbackRequest};
use promptdesk_core::signing::MemorySigner;
use promptdesk_core::{DraftContent, Error, Ref, Registry};

fn demo() -> (tempfile::TempDir, Registry) {
    let dir = tempfile::tempdir().unwrap();
    let (mut reg, _) = Registry::init(&dir.path().join("registry.db")).unwrap();
    reg.set_actor("seed");
    promptdesk_demo::seed(&mut reg).unwrap();
    // A team: root administers, ana writes, ben reviews, rita releases.
    as_(&mut reg, "root");
    reg.set_role("root", Role::Admin).unwrap();
    reg.set_role("ana", Role::Editor).unwrap();
    reg.set_role("ben", Role::Reviewer).unwrap();
    reg.set_role("rita", Role::Releaser).unwrap();
    (dir, reg)
}

/// Acts as `who`, signing with a key derived from the name (tests only).
fn as_(reg: &mut Registry, who: &str) {
    reg.set_actor(who);
    reg.set_signer(Box::new(signer(who)));
}

fn signer(who: &str) -> MemorySigner {
    let mut seed = [0u8; 32];
    for (i, b) in who.bytes().enumerate() {
        seed[i % 32] ^= b;
    }
    seed[31] ^= 0x5a;
    MemorySigner::from_seed(seed)
}

fn refused(e: Error) -> String {
    match e {
        Error::Refused(m) => m,
        other => panic!("expected a policy refusal, got {other:?}"),
    }
}

fn release(
    reg: &mut Registry,
    n: u32,
    changelog: &str,
) -> Result<promptdesk_core::release::Release, Error> {
    reg.release(
        "support/refund-reply",
        Some(&Ref::Number(n)),
        "production",
        ReleaseRequest {
            changelog,
            ..Default::default()
        },
    )
}

fn production(reg: &Registry) -> u32 {
    reg.resolve(
        "support/refund-reply",
        Some(&Ref::Label("production".into())),
    )
    .unwrap()
    .number
}

#[test]
fn the_refund_reply_story_from_review_to_rollback() {
    let (_d, mut reg) = demo();
    assert_eq!(production(&reg), 3);

    // ana asks for v4 (the shorter reply) to go to production.
    as_(&mut reg, "ana");
    let review = reg
        .request_review(
            "support/refund-reply",
            Some(&Ref::Number(4)),
            "production",
            "Shorter reply",
        )
        .unwrap();
    assert_eq!(review.status, ReviewStatus::Open);

    // Nobody may ship it yet, and every refusal says exactly why.
    let why = refused(release(&mut reg, 4, "Shorter reply").unwrap_err());
    assert!(
        why.contains("ana is an editor; only a releaser or above may promote to production"),
        "{why}"
    );
    assert!(why.contains("1 approval of version 4"), "{why}");
    as_(&mut reg, "rita");
    let why = refused(release(&mut reg, 4, "").unwrap_err());
    assert!(!why.contains("rita is"), "rita may release: {why}");
    assert!(
        why.contains("0 so far") && why.contains("a changelog is required"),
        "{why}"
    );

    // The author cannot approve her own version; an editor cannot approve at all.
    as_(&mut reg, "ana");
    let why = refused(reg.approve(review.number, "lgtm").unwrap_err());
    assert!(
        why.contains("ana is an editor; only a reviewer or above may approve"),
        "{why}"
    );

    // ben asks for changes, then approves; a comment anchored to a line.
    as_(&mut reg, "ben");
    reg.comment(
        review.number,
        "Keep the 30 days here?",
        Some(&promptdesk_core::release::Anchor {
            template: "template".into(),
            line: 1,
        }),
        None,
    )
    .unwrap();
    let bad_anchor = reg.comment(
        review.number,
        "x",
        Some(&promptdesk_core::release::Anchor {
            template: "template".into(),
            line: 99,
        }),
        None,
    );
    assert!(matches!(bad_anchor, Err(Error::BadInput(_))));
    reg.request_changes(review.number, "Say the refund goes back to the card")
        .unwrap();
    assert_eq!(
        reg.review(review.number).unwrap().status,
        ReviewStatus::ChangesRequested
    );
    reg.approve(review.number, "Fine after all").unwrap();
    assert_eq!(
        reg.review(review.number).unwrap().status,
        ReviewStatus::Approved
    );
    assert!(matches!(
        reg.approve(review.number, "again"),
        Err(Error::Conflict(_))
    ));
    let detail = reg.review_detail(review.number).unwrap();
    assert_eq!(detail.serving, Some(3));
    assert_eq!(detail.events.len(), 3);

    // ana commits v5 meanwhile: ben's approval of v4 does not cover it.
    as_(&mut reg, "ana");
    let mut draft = reg.draft("support/refund-reply").unwrap().content;
    if let promptdesk_content::Body::Text { template } = &mut draft.body {
        template.push_str("\nThanks for your patience.");
    }
    reg.save_draft("support/refund-reply", draft).unwrap();
    reg.commit("support/refund-reply", "Thank them").unwrap();
    as_(&mut reg, "rita");
    let why = refused(release(&mut reg, 5, "Thank them").unwrap_err());
    assert!(
        why.contains("ben approved version 4, not version 5"),
        "{why}"
    );
    // Asked to review v5, ben is pointed at what changed since the v4 he approved.
    as_(&mut reg, "ana");
    let r5 = reg
        .request_review(
            "support/refund-reply",
            Some(&Ref::Number(5)),
            "production",
            "",
        )
        .unwrap();
    as_(&mut reg, "ben");
    assert_eq!(
        reg.review_detail(r5.number).unwrap().previously_approved,
        Some(4)
    );
    as_(&mut reg, "rita");
    assert_eq!(
        reg.review_detail(r5.number).unwrap().previously_approved,
        None
    );

    // rita releases v4: recorded with its approvals, the review becomes released.
    let shipped = release(&mut reg, 4, "Shorter, friendlier reply").unwrap();
    assert_eq!((shipped.from_version, shipped.to_version), (Some(3), 4));
    assert_eq!(shipped.approvals, ["ben"]);
    assert_eq!(shipped.review, Some(review.number));
    assert_eq!(production(&reg), 4);
    assert_eq!(
        reg.review(review.number).unwrap().status,
        ReviewStatus::Released
    );
    assert!(matches!(
        release(&mut reg, 4, "again"),
        Err(Error::Conflict(_))
    ));

    // The old way around the policy is closed.
    let why = refused(
        reg.set_label(
            "support/refund-reply",
            Some(&Ref::Number(5)),
            "production",
            "sneaky",
        )
        .unwrap_err(),
    );
    assert!(why.contains("protected"), "{why}");

    // An incident: one action back to the previous release, with a reason.
    assert!(matches!(
        reg.rollback("support/refund-reply", "production", because(" ")),
        Err(Error::Refused(_))
    ));
    as_(&mut reg, "ben");
    let why = refused(
        reg.rollback("support/refund-reply", "production", because("bad answers"))
            .unwrap_err(),
    );
    assert!(
        why.contains("only a releaser or above may roll back"),
        "{why}"
    );
    as_(&mut reg, "rita");
    let back = reg
        .rollback(
            "support/refund-reply",
            "production",
            because("Customers got no policy text"),
        )
        .unwrap();
    assert_eq!(
        (back.kind.as_str(), back.from_version, back.to_version),
        ("rollback", Some(4), 3)
    );
    assert_eq!(production(&reg), 3);
    assert!(
        back.approvals.is_empty(),
        "nobody approved the rollback itself"
    );
    // Rolling back again goes further back, never forward to the version just left.
    let again = reg.rollback("support/refund-reply", "production", because("again"));
    assert!(
        matches!(&again, Err(Error::Conflict(m)) if m.contains("no earlier release")),
        "{again:?}"
    );

    let history = reg
        .releases("support/refund-reply", Some("production"))
        .unwrap();
    let kinds: Vec<_> = history
        .iter()
        .map(|r| (r.kind.as_str(), r.to_version))
        .collect();
    assert_eq!(kinds, [("rollback", 3), ("release", 4), ("release", 3)]);
    let report = reg.verify().unwrap();
    assert!(report.problems.is_empty(), "{:?}", report.problems);

    // Releases and review decisions cannot be rewritten.
    for sql in [
        "UPDATE releases SET changelog = 'x'",
        "DELETE FROM review_events",
        "UPDATE reviews SET label = 'staging'",
    ] {
        let err = reg.connection().execute(sql, []).unwrap_err().to_string();
        assert!(
            err.contains("append-only") || err.contains("immutable"),
            "{sql}: {err}"
        );
    }
}

#[test]
fn two_handles_racing_for_one_label_exactly_one_wins() {
    let (dir, mut reg) = demo();
    as_(&mut reg, "ana");
    let mut d = reg.draft("support/refund-reply").unwrap().content;
    if let promptdesk_content::Body::Text { template } = &mut d.body {
        template.push_str("\nP.S.");
    }
    reg.save_draft("support/refund-reply", d).unwrap();
    reg.commit("support/refund-reply", "v5").unwrap();
    for n in [4, 5] {
        as_(&mut reg, "ana");
        let r = reg
            .request_review(
                "support/refund-reply",
                Some(&Ref::Number(n)),
                "production",
                "",
            )
            .unwrap();
        as_(&mut reg, "ben");
        reg.approve(r.number, "ok").unwrap();
    }
    let mut other = Registry::open(&dir.path().join("registry.db")).unwrap();
    other.set_actor("rita");
    other.set_signer(Box::new(signer("rita")));
    as_(&mut reg, "rita");
    // Both decided while production served v3.
    let three = Ref::Number(3);
    let first = reg.release(
        "support/refund-reply",
        Some(&Ref::Number(4)),
        "production",
        ReleaseRequest {
            changelog: "four",
            expect_from: Some(&three),
            review: None,
        },
    );
    let second = other.release(
        "support/refund-reply",
        Some(&Ref::Number(5)),
        "production",
        ReleaseRequest {
            changelog: "five",
            expect_from: Some(&three),
            review: None,
        },
    );
    assert!(first.is_ok(), "{first:?}");
    match second {
        Err(Error::Conflict(m)) => assert!(
            m.contains("moved to version 4") && m.contains("rita"),
            "{m}"
        ),
        other => panic!("the second release must lose, got {other:?}"),
    }
    assert_eq!(production(&reg), 4);
}

#[test]
fn a_bundle_moves_every_label_or_none() {
    let (_d, mut reg) = demo();
    // refund-reply@4 is approved; triage@1 is not.
    as_(&mut reg, "ana");
    let r = reg
        .request_review(
            "support/refund-reply",
            Some(&Ref::Number(4)),
            "production",
            "",
        )
        .unwrap();
    as_(&mut reg, "ben");
    reg.approve(r.number, "ok").unwrap();
    as_(&mut reg, "rita");
    let items = vec![
        BundleItem {
            prompt: "support/refund-reply".into(),
            reference: "4".into(),
            label: "production".into(),
            changelog: String::new(),
        },
        BundleItem {
            prompt: "support/triage".into(),
            reference: "1".into(),
            label: "production".into(),
            changelog: String::new(),
        },
    ];
    let ledger_before = reg.ledger(None, 0, 100_000).unwrap().len();
    let why = refused(reg.release_bundle(&items, "Holiday bundle").unwrap_err());
    assert!(
        why.contains("nothing in the bundle was released") && why.contains("support/triage@1"),
        "{why}"
    );
    assert_eq!(production(&reg), 3, "the first item was undone");
    assert_eq!(reg.ledger(None, 0, 100_000).unwrap().len(), ledger_before);

    let ok = reg.release_bundle(&items[..1], "Holiday bundle").unwrap();
    assert_eq!(ok.len(), 1);
    assert!(ok[0].bundle.is_some());
    assert_eq!(
        reg.releases("support/refund-reply", None).unwrap()[0].bundle,
        ok[0].bundle
    );
}

#[test]
fn roles_and_policies_are_administered_by_admins_only() {
    let (_d, mut reg) = demo();
    assert_eq!(reg.role_of("stranger").unwrap(), Role::Viewer);
    as_(&mut reg, "rita");
    let why = refused(reg.set_role("rita", Role::Admin).unwrap_err());
    assert!(
        why.contains("only an admin or above may assign roles"),
        "{why}"
    );
    let strict = Policy {
        required_approvals: 2,
        ..Policy::default_for("production")
    };
    assert!(matches!(
        reg.set_policy("production", &strict),
        Err(Error::Refused(_))
    ));

    as_(&mut reg, "root");
    let why = refused(reg.set_role("root", Role::Editor).unwrap_err());
    assert!(why.contains("without an admin"), "{why}");
    reg.set_policy("production", &strict).unwrap();
    assert_eq!(reg.policy("production").unwrap().required_approvals, 2);
    let bad = Policy {
        required_approvals: 1,
        required_suite: Some(promptdesk_core::policy::SuiteRequirement {
            suite: "s".into(),
            min_pass_rate: 2.0,
            no_regressions: false,
        }),
        ..strict
    };
    assert!(matches!(
        reg.set_policy("production", &bad),
        Err(Error::BadInput(_))
    ));
    assert_eq!(
        reg.policy("staging").unwrap(),
        Policy::default_for("staging")
    );
    let kinds: Vec<String> = reg
        .ledger(None, 0, 100_000)
        .unwrap()
        .into_iter()
        .map(|e| e.kind)
        .collect();
    assert!(kinds.contains(&"policy.set".to_string()) && kinds.contains(&"role.set".to_string()));

    // A viewer cannot edit drafts into versions through labels either.
    as_(&mut reg, "stranger");
    assert!(matches!(
        reg.set_label("support/refund-reply", Some(&Ref::Number(4)), "canary", ""),
        Err(Error::Refused(_))
    ));
    let _ = DraftContent::empty(promptdesk_content::PromptKind::Text);
}

#[test]
fn sign_offs_are_signed_and_verify_catches_forgeries() {
    let (_d, mut reg) = demo();
    // The demo's own approvals and releases verify.
    assert!(reg.verify().unwrap().problems.is_empty());

    // No key, no sign-off: never an unsigned approval.
    reg.set_actor("ana");
    reg.take_signer();
    let r = reg
        .request_review(
            "support/refund-reply",
            Some(&Ref::Number(4)),
            "production",
            "",
        )
        .unwrap();
    reg.set_actor("ben");
    let why = refused(reg.approve(r.number, "ok").unwrap_err());
    assert!(why.contains("no signing key is available for ben"), "{why}");
    // Someone else's key is refused.
    reg.set_signer(Box::new(signer("rita")));
    reg.set_actor("rita");
    reg.comment(r.number, "register rita's key", None, None)
        .unwrap();
    as_(&mut reg, "ben");
    reg.approve(r.number, "ok").unwrap();
    as_(&mut reg, "rita");
    release(&mut reg, 4, "Shorter reply").unwrap();
    reg.set_actor("ben"); // ben acting with rita's key
    let r2 = {
        as_(&mut reg, "ana");
        reg.request_review("support/refund-reply", Some(&Ref::Number(3)), "canary", "")
            .unwrap()
    };
    reg.set_actor("ben");
    reg.set_signer(Box::new(signer("rita")));
    let why = refused(reg.approve(r2.number, "ok").unwrap_err());
    assert!(why.contains("belongs to rita"), "{why}");
    assert!(reg.verify().unwrap().problems.is_empty());

    // Someone with write access to the file rewrites history behind the triggers' back.
    let conn = reg.connection();
    conn.execute_batch(
        "DROP TRIGGER releases_are_append_only;
         UPDATE releases SET changelog = 'Approved by the CEO' WHERE seq = (SELECT max(seq) FROM releases);
         DROP TRIGGER review_events_are_append_only;
         UPDATE review_events SET content_hash = (SELECT hash FROM versions v JOIN prompts p ON p.id = v.prompt_id
             WHERE p.name = 'support/refund-reply' AND v.number = 5 LIMIT 1)
           WHERE seq = (SELECT max(seq) FROM review_events WHERE kind = 'approve');",
    )
    .unwrap();
    let problems = reg.verify().unwrap().problems;
    assert!(
        problems
            .iter()
            .any(|p| p.contains("release of support/refund-reply") && p.contains("does not match")),
        "{problems:?}"
    );
    assert!(
        problems
            .iter()
            .any(|p| p.contains("ben's approve") && p.contains("does not match")),
        "{problems:?}"
    );
}

#[test]
fn a_rollback_is_checked_before_it_is_taken_and_moves_only_what_the_person_saw() {
    let (_d, mut reg) = demo();
    // Production serves v3; a new version goes there through the policy.
    as_(&mut reg, "ana");
    let mut draft = reg.draft("support/refund-reply").unwrap().content;
    if let promptdesk_content::Body::Text { template } = &mut draft.body {
        template.push_str("\nP.S. Thank you for your patience.");
    }
    reg.save_draft("support/refund-reply", draft).unwrap();
    let v = reg
        .commit("support/refund-reply", "Add a postscript")
        .unwrap();
    let review = reg
        .request_review(
            "support/refund-reply",
            Some(&Ref::Number(v.number)),
            "production",
            "",
        )
        .unwrap();
    as_(&mut reg, "ben");
    reg.approve(review.number, "fine").unwrap();
    as_(&mut reg, "rita");
    release(&mut reg, v.number, "Postscript").unwrap();

    // The check names the target and the checklist, and changes nothing.
    let check = reg
        .check_rollback("support/refund-reply", "production", "", None)
        .unwrap();
    assert_eq!((check.from, check.to), (v.number, 3));
    assert!(!check.decision.allowed, "a rollback without a reason");
    assert!(
        check.decision.refusal().contains("reason"),
        "{}",
        check.decision.refusal()
    );
    assert_eq!(production(&reg), v.number);
    as_(&mut reg, "ben");
    let check = reg
        .check_rollback("support/refund-reply", "production", "bad", None)
        .unwrap();
    assert!(
        check.decision.refusal().contains("only a releaser"),
        "{}",
        check.decision.refusal()
    );

    // rita saw v3 serving (stale): her rollback is refused, not applied to what serves now.
    as_(&mut reg, "rita");
    let stale = Ref::Number(3);
    let moved = reg.rollback(
        "support/refund-reply",
        "production",
        RollbackRequest {
            reason: "bad answers",
            expect_from: Some(&stale),
            ..Default::default()
        },
    );
    assert!(
        matches!(&moved, Err(Error::Conflict(m)) if m.contains("moved to version")),
        "{moved:?}"
    );
    assert_eq!(production(&reg), v.number);
    let seen = Ref::Number(v.number);
    let back = reg
        .rollback(
            "support/refund-reply",
            "production",
            RollbackRequest {
                reason: "bad answers",
                expect_from: Some(&seen),
                ..Default::default()
            },
        )
        .unwrap();
    assert_eq!((back.from_version, back.to_version), (Some(v.number), 3));
}

fn because(reason: &str) -> RollbackRequest<'_> {
    RollbackRequest {
        reason,
        ..Default::default()
    }
}
