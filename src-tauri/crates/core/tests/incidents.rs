//! The demo's incident, end to end on a real registry file: the shorter, friendlier refund reply
//! (v4) ships, refund answers go wrong, an incident is opened on its release, production is
//! rolled back from the incident, the postmortem's timeline and root-cause diff come from the
//! ledger, the failing inputs become a regression case, and the same v4 is then refused by the
//! eval gate. The Markdown export is snapshot-tested (times and ids are made to repeat).

use std::sync::atomic::{AtomicU64, Ordering};

use promptdesk_core::eval::{
    assertions::parse_short, cache_key, CaseInput, Outcome, ReplyFacts, RunStatus,
};
use promptdesk_core::incidents::{ActionItem, IncidentChange, NewIncident, PostmortemDoc};
use promptdesk_core::policy::{Role, SuiteRequirement};
use promptdesk_core::release::ReleaseRequest;
use promptdesk_core::signing::MemorySigner;
use promptdesk_core::{Error, Ref, Registry, RenderTarget};
use promptdesk_template::render_in_process;

const REFUND: &str = "support/refund-reply";

fn ticking_clock() -> promptdesk_core::registry::Clock {
    let n = AtomicU64::new(0);
    Box::new(move || {
        let t = n.fetch_add(1, Ordering::SeqCst);
        format!(
            "2026-11-20T{:02}:{:02}:{:02}.000Z",
            8 + t / 3600,
            t / 60 % 60,
            t % 60
        )
    })
}

fn as_(reg: &mut Registry, who: &str) {
    let mut seed = [3u8; 32];
    for (i, b) in who.bytes().enumerate() {
        seed[i % 32] ^= b;
    }
    reg.set_actor(who);
    reg.set_signer(Box::new(MemorySigner::from_seed(seed)));
}

/// The demo with repeatable times and ids, a team, and v4 released to production.
fn v4_in_production() -> (tempfile::TempDir, Registry) {
    let dir = tempfile::tempdir().unwrap();
    let (mut reg, _) = Registry::init(&dir.path().join("registry.db")).unwrap();
    reg.set_clock(ticking_clock());
    let mut n = 0u64;
    reg.set_id_source(Box::new(move || {
        n += 1;
        format!("00000000-0000-4000-8000-{n:012}")
    }));
    reg.set_actor("seed");
    promptdesk_demo::seed(&mut reg).unwrap();
    as_(&mut reg, "root");
    reg.set_role("root", Role::Admin).unwrap();
    reg.set_role("ana", Role::Editor).unwrap();
    reg.set_role("ben", Role::Reviewer).unwrap();
    reg.set_role("rita", Role::Releaser).unwrap();
    as_(&mut reg, "ana");
    let review = reg
        .request_review(
            REFUND,
            Some(&Ref::Number(4)),
            "production",
            "Shorter, friendlier",
        )
        .unwrap();
    as_(&mut reg, "ben");
    reg.approve(review.number, "Friendlier indeed").unwrap();
    as_(&mut reg, "rita");
    reg.release(
        REFUND,
        Some(&Ref::Number(4)),
        "production",
        ReleaseRequest {
            changelog: "Shorter, friendlier reply",
            review: Some(review.number),
            ..Default::default()
        },
    )
    .unwrap();
    (dir, reg)
}

fn production(reg: &Registry) -> u32 {
    reg.resolve(REFUND, Some(&Ref::Label("production".into())))
        .unwrap()
        .number
}

fn echo_run(reg: &mut Registry, n: u32, suite: &str) -> String {
    let prepared = reg
        .start_run(REFUND, Some(&Ref::Number(n)), suite, None)
        .unwrap();
    for case in prepared.cases {
        let req = reg
            .render_request(RenderTarget::Version(&prepared.version), &case.vars)
            .unwrap();
        let rendered = render_in_process(&req).unwrap();
        let key = cache_key(&prepared.version.hash, &prepared.run.model, &rendered);
        reg.record_result(
            &prepared.run.id,
            Outcome {
                case,
                reply: Ok(ReplyFacts {
                    output: rendered.to_plain_text(),
                    tokens_in: 1,
                    tokens_out: 1,
                    latency_ms: 1,
                    cost: None,
                    finish_reason: "stop".into(),
                }),
                input: Some(rendered),
                rubric_verdicts: vec![],
                cached: false,
                attempts: 1,
                cache_key: Some(key),
            },
        )
        .unwrap();
    }
    reg.finish_run(&prepared.run.id, RunStatus::Completed, None)
        .unwrap();
    prepared.run.id
}

#[test]
fn from_refund_answers_are_wrong_to_a_rolled_back_production_and_a_postmortem() {
    let (_d, mut reg) = v4_in_production();
    assert_eq!(production(&reg), 4);

    // ben is on call: refund answers no longer state the policy.
    as_(&mut reg, "ben");
    let incident = reg
        .open_incident(NewIncident {
            title: "Refund answers no longer state the refund policy".into(),
            severity: "SEV2".into(),
            detection: "user_reports".into(),
            detected_at: "2026-11-20T08:00:44.500Z".into(),
            prompt: REFUND.into(),
            ..Default::default()
        })
        .unwrap();
    assert_eq!(incident.label, "production");
    assert_eq!(incident.status, "investigating");
    let detail = reg.incident_detail(&incident.id[..8]).unwrap();
    let suspected = detail
        .suspected
        .clone()
        .expect("the latest release is suspected");
    assert_eq!((suspected.from_version, suspected.to_version), (Some(3), 4));
    assert_eq!(detail.rollback_to, Some(3));
    assert_eq!(detail.blast_radius.labels, ["production", "staging"]);
    reg.add_incident_note(
        &incident.id,
        Some("2026-11-20T08:00:44.700Z"),
        "Support lead: three tickets in ten minutes about missing refund terms",
    )
    .unwrap();

    // ben may not roll production back (the policy says releasers); nothing changes.
    let e = reg.incident_rollback(&incident.id, "").unwrap_err();
    assert!(e.to_string().contains("only a releaser or above"), "{e}");
    assert_eq!(production(&reg), 4);
    assert_eq!(reg.incident(&incident.id).unwrap().status, "investigating");

    // rita: one action, production goes back to what the suspected release replaced.
    as_(&mut reg, "rita");
    let (mitigated, rollback) = reg.incident_rollback(&incident.id, "").unwrap();
    assert_eq!(production(&reg), 3);
    assert_eq!(rollback.kind, "rollback");
    assert_eq!(rollback.to_version, 3);
    assert!(rollback
        .changelog
        .contains("Refund answers no longer state"));
    assert_eq!(mitigated.status, "mitigated");
    assert_eq!(
        mitigated.rollback_release.as_deref(),
        Some(rollback.id.as_str())
    );
    assert!(mitigated.mitigated_at.is_some());
    // Rolling back again from the incident is refused: production no longer serves v4.
    let e = reg.incident_rollback(&incident.id, "again").unwrap_err();
    assert!(matches!(e, Error::Conflict(_)), "{e}");
    assert!(
        e.to_string()
            .contains("no longer serves the suspected release"),
        "{e}"
    );

    // The timeline, from the ledger: v4 saved, reviewed, approved, released, the incident,
    // the note, the rollback.
    let detail = reg.incident_detail(&incident.id).unwrap();
    let kinds: Vec<&str> = detail.timeline.iter().map(|e| e.kind.as_str()).collect();
    for k in [
        "version.created",
        "review.requested",
        "review.approve",
        "release.recorded",
        "detected",
        "note",
        "incident.opened",
        "rollback.recorded",
        "incident.rolled_back",
    ] {
        assert!(kinds.contains(&k), "{k} missing from {kinds:?}");
    }
    let pos = |k: &str| kinds.iter().position(|x| *x == k).unwrap();
    assert!(pos("version.created") < pos("release.recorded"));
    assert!(pos("release.recorded") < pos("incident.opened"));
    assert!(pos("incident.opened") < pos("rollback.recorded"));
    assert!(
        detail.timeline[pos("version.created")]
            .text
            .contains("version 4"),
        "{:?}",
        detail.timeline
    );

    // The postmortem: root-cause diff v3 → v4, the failing inputs as a regression case.
    let pm = reg.postmortem(&incident.id).unwrap();
    assert!(!pm.saved);
    assert_eq!((pm.good_version, pm.bad_version), (Some(3), Some(4)));
    let diff = pm.diff.as_ref().unwrap();
    assert!(diff.template.is_some(), "the template changed");
    let added = reg
        .add_regression_cases(
            &incident.id,
            "regression",
            vec![CaseInput {
                description: "refund request a week after purchase (incident)".into(),
                vars: serde_json::json!({"customer_name": "Noor", "order_id": "R-7", "days_since_purchase": 7, "product": "a blender"})
                    .as_object()
                    .cloned()
                    .unwrap(),
                assertions: vec![
                    parse_short("icontains: within 30 days").unwrap(),
                    parse_short("contains: original payment method").unwrap(),
                ],
                ..Default::default()
            }],
        )
        .unwrap();
    assert_eq!(added[0].origin, format!("postmortem:{}", incident.id));
    assert!(added[0].tags.contains(&"regression".to_string()));
    let pm = reg
        .save_postmortem(
            &incident.id,
            PostmortemDoc {
                summary: "For 40 minutes refund replies left out the refund policy.".into(),
                root_cause: "The shorter reply dropped the policy include.".into(),
                impact: "Customers asking for refunds were not told the 30-day window.".into(),
                went_well: "Rollback from the incident took one action.".into(),
                went_badly: "The suite did not gate production.".into(),
                learning: "Require the regression suite for production.".into(),
                actions: vec![ActionItem {
                    text: "Require suite regression at 100% for production".into(),
                    owner: "root".into(),
                    due: "2026-11-27".into(),
                    ..Default::default()
                }],
            },
        )
        .unwrap();
    assert!(pm.saved);
    assert!(!pm.doc.actions[0].id.is_empty());
    assert_eq!(pm.regression_cases.len(), 1);
    let open = reg.open_actions("2026-11-30").unwrap();
    assert_eq!(open.len(), 1);
    assert!(open[0].overdue);
    let bad = reg.save_postmortem(
        &incident.id,
        PostmortemDoc {
            actions: vec![ActionItem {
                text: "x".into(),
                due: "next week".into(),
                ..Default::default()
            }],
            ..pm.doc.clone()
        },
    );
    assert!(bad.unwrap_err().to_string().contains("not YYYY-MM-DD"));

    let resolved = reg.resolve_incident(&incident.id).unwrap();
    assert_eq!(resolved.status, "resolved");
    assert!(reg.incidents(true).unwrap().is_empty());
    assert_eq!(reg.incidents(false).unwrap().len(), 1);

    // The same v4 cannot ship again: the suite gates production, and v4 fails the new case.
    as_(&mut reg, "root");
    let mut policy = reg.policy("production").unwrap();
    policy.required_suite = Some(SuiteRequirement {
        suite: "regression".into(),
        min_pass_rate: 1.0,
        no_regressions: false,
    });
    reg.set_policy("production", &policy).unwrap();
    as_(&mut reg, "ana");
    echo_run(&mut reg, 4, "regression");
    let v4 = reg.resolve(REFUND, Some(&Ref::Number(4))).unwrap();
    let decision = reg.decide(&v4, "production", "again", false).unwrap();
    let suite = decision
        .conditions
        .iter()
        .find(|c| c.code == "suite")
        .unwrap();
    assert!(!suite.met);
    assert!(
        suite
            .message
            .contains("refund request a week after purchase (incident)"),
        "{}",
        suite.message
    );

    // The ledger shows every step.
    let kinds: Vec<String> = reg
        .ledger(Some(REFUND), 0, 100_000)
        .unwrap()
        .into_iter()
        .map(|e| e.kind)
        .collect();
    for k in [
        "incident.opened",
        "incident.noted",
        "rollback.recorded",
        "incident.rolled_back",
        "suite.cases_added",
        "postmortem.saved",
        "incident.resolved",
    ] {
        assert!(kinds.iter().any(|x| x == k), "{k} not in the ledger");
    }
    assert!(reg.verify().unwrap().problems.is_empty());

    insta::assert_snapshot!(
        "refund_reply_postmortem",
        reg.export_postmortem(&incident.id).unwrap()
    );
}

#[test]
fn bad_incidents_are_refused_with_the_reason_and_nothing_is_saved() {
    let (_d, mut reg) = v4_in_production();
    let base = NewIncident {
        title: "x".into(),
        severity: "SEV2".into(),
        detection: "monitoring".into(),
        prompt: REFUND.into(),
        ..Default::default()
    };
    for (bad, needle) in [
        (
            NewIncident {
                severity: "SEV9".into(),
                ..base.clone()
            },
            "severity must be one of",
        ),
        (
            NewIncident {
                detection: "tea leaves".into(),
                ..base.clone()
            },
            "detection must be one of",
        ),
        (
            NewIncident {
                title: "  ".into(),
                ..base.clone()
            },
            "needs a title",
        ),
        (
            NewIncident {
                detected_at: "yesterday".into(),
                ..base.clone()
            },
            "RFC 3339",
        ),
        (
            NewIncident {
                suspected_release: "nope".into(),
                ..base.clone()
            },
            "has no release nope",
        ),
        (
            NewIncident {
                prompt: "support/none".into(),
                ..base.clone()
            },
            "support/none",
        ),
    ] {
        let e = reg.open_incident(bad).unwrap_err().to_string();
        assert!(e.contains(needle), "{needle}: {e}");
    }
    assert!(reg.incidents(false).unwrap().is_empty());
    let i = reg.open_incident(base).unwrap();
    let e = reg
        .update_incident(
            &i.id,
            IncidentChange {
                status: Some("done".into()),
                ..Default::default()
            },
        )
        .unwrap_err();
    assert!(e.to_string().contains("status must be one of"), "{e}");
    let e = reg.incident("abc").unwrap_err().to_string();
    assert!(e.contains("at least 4 characters"), "{e}");
}
