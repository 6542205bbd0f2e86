//! The policy table: role × action × policy state → decision and reason. Each row reads as a
//! sentence; the expected reason is a fragment of the refusal (or "" when allowed).

use super::*;
use Role::*;

const V3: &str = "hash-of-version-3";
const V2: &str = "hash-of-version-2";
const NOW: &str = "2026-11-21T12:00:00.000Z";

fn approval(reviewer: &str, role: Role, hash: &str) -> ApprovalFact {
    ApprovalFact {
        reviewer: reviewer.into(),
        reviewer_role: role,
        content_hash: hash.into(),
        version: if hash == V3 { 3 } else { 2 },
    }
}

fn production() -> Policy {
    Policy::default_for("production")
}

fn two_approvals() -> Policy {
    Policy {
        required_approvals: 2,
        ..production()
    }
}

fn with_suite(rate: f64) -> Policy {
    Policy {
        required_suite: Some(SuiteRequirement {
            suite: "refunds".into(),
            min_pass_rate: rate,
            no_regressions: false,
        }),
        ..production()
    }
}

fn frozen() -> Policy {
    Policy {
        freeze_windows: vec![FreezeWindow {
            from: "2026-11-20T00:00:00Z".into(),
            to: "2026-11-25T00:00:00Z".into(),
            reason: "holiday sale".into(),
        }],
        ..production()
    }
}

fn strict_rollback() -> Policy {
    Policy {
        rollback_needs_approvals: true,
        rollback_role: Admin,
        ..production()
    }
}

struct Row {
    what: &'static str,
    policy: Policy,
    role: Role,
    rollback: bool,
    approvals: Vec<ApprovalFact>,
    changelog: &'static str,
    suite: Vec<SuiteResult>,
    expect_allowed: bool,
    expect_reason: &'static str,
}

fn row(what: &'static str, policy: Policy, role: Role) -> Row {
    Row {
        what,
        policy,
        role,
        rollback: false,
        approvals: vec![approval("bob", Reviewer, V3)],
        changelog: "Shorter reply",
        suite: vec![],
        expect_allowed: true,
        expect_reason: "",
    }
}

impl Row {
    fn rollback(mut self) -> Self {
        self.rollback = true;
        self
    }
    fn approvals(mut self, a: Vec<ApprovalFact>) -> Self {
        self.approvals = a;
        self
    }
    fn changelog(mut self, c: &'static str) -> Self {
        self.changelog = c;
        self
    }
    fn suite(mut self, rate: f64, hash: &str) -> Self {
        self.suite = vec![SuiteResult {
            suite: "refunds".into(),
            content_hash: hash.into(),
            pass_rate: rate,
            run_id: Some("run-1".into()),
            passed: (rate * 20.0).round() as u32,
            total: 20,
            failing: (0..20 - (rate * 20.0).round() as u32)
                .map(|i| format!("#{i} case"))
                .collect(),
            regressions: Vec::new(),
            baseline_run: None,
            baseline_version: None,
            problem: None,
            ran_by: None,
            rerun_checks: 0,
            recorded_checks: 0,
        }];
        self
    }
    fn refused(mut self, reason: &'static str) -> Self {
        self.expect_allowed = false;
        self.expect_reason = reason;
        self
    }
}

fn table() -> Vec<Row> {
    let none = Vec::new;
    vec![
        // --- who may promote to production (1 approval, changelog) ---------------------
        row("a releaser with an approval promotes", production(), Releaser),
        row("an admin with an approval promotes", production(), Admin),
        row("a reviewer may not promote", production(), Reviewer).refused("only a releaser or above may promote to production"),
        row("an editor may not promote", production(), Editor).refused("only a releaser"),
        row("a viewer may not promote", production(), Viewer).refused("only a releaser"),
        // --- approvals --------------------------------------------------------------------
        row("no approval at all", production(), Releaser).approvals(none()).refused("1 approval of version 3"),
        row("the author approving their own version does not count", production(), Releaser)
            .approvals(vec![approval("ana", Reviewer, V3)]).refused("ana wrote version 3 and cannot approve it"),
        row("an approval of version 2 does not cover version 3", production(), Releaser)
            .approvals(vec![approval("bob", Reviewer, V2)]).refused("bob approved version 2, not version 3"),
        row("an editor's approval does not count", production(), Releaser)
            .approvals(vec![approval("eve", Editor, V3)]).refused("eve was an editor when approving"),
        row("a viewer's approval does not count", production(), Releaser)
            .approvals(vec![approval("vic", Viewer, V3)]).refused("not a reviewer"),
        row("an admin's approval counts", production(), Releaser).approvals(vec![approval("root", Admin, V3)]),
        row("a releaser's approval counts", production(), Releaser).approvals(vec![approval("rel", Releaser, V3)]),
        row("two approvals needed, one given", two_approvals(), Releaser).refused("2 approvals of version 3"),
        row("two approvals needed, the same reviewer twice", two_approvals(), Releaser)
            .approvals(vec![approval("bob", Reviewer, V3), approval("bob", Reviewer, V3)]).refused("1 so far"),
        row("two approvals needed, two reviewers", two_approvals(), Releaser)
            .approvals(vec![approval("bob", Reviewer, V3), approval("cy", Reviewer, V3)]),
        row("two needed: one right, one for the old version", two_approvals(), Releaser)
            .approvals(vec![approval("bob", Reviewer, V3), approval("cy", Reviewer, V2)]).refused("cy approved version 2"),
        row("two needed: one right, one self-approval", two_approvals(), Releaser)
            .approvals(vec![approval("bob", Reviewer, V3), approval("ana", Admin, V3)]).refused("ana wrote version 3"),
        // --- changelog ----------------------------------------------------------------------
        row("an empty changelog is refused", production(), Releaser).changelog("").refused("a changelog is required"),
        row("a blank changelog is refused", production(), Releaser).changelog("   ").refused("a changelog is required"),
        row("no approval and no changelog: both reported", production(), Releaser).approvals(none()).changelog("")
            .refused("1 approval of version 3 from reviewers other than its author ana: 0 so far; a changelog is required"),
        // --- test suites --------------------------------------------------------------------
        row("a required suite that never ran", with_suite(0.9), Releaser).refused("test suite refunds has not run on version 3"),
        row("a suite that passed enough", with_suite(0.9), Releaser).suite(0.95, V3),
        row("a suite exactly at the threshold", with_suite(0.9), Releaser).suite(0.9, V3),
        row("a suite below the threshold", with_suite(0.9), Releaser).suite(0.8, V3).refused("passed 16/20 (80%) on version 3 (needs 90%); failing: #0 case; #1 case; #2 case; #3 case"),
        row("a suite result for another version does not count", with_suite(0.9), Releaser).suite(1.0, V2)
            .refused("has not run on version 3"),
        // --- freeze windows -------------------------------------------------------------------
        row("a freeze blocks a promotion", frozen(), Admin).refused("production is frozen until 2026-11-25T00:00:00Z (holiday sale)"),
        row("a freeze does not block a rollback", frozen(), Releaser).rollback().approvals(none()).changelog("incident 7"),
        // --- rollbacks under the production default ----------------------------------------
        row("a releaser rolls back without fresh approvals", production(), Releaser).rollback().approvals(none()).changelog("bad answers"),
        row("an admin rolls back", production(), Admin).rollback().approvals(none()).changelog("bad answers"),
        row("a rollback needs a reason", production(), Releaser).rollback().approvals(none()).changelog("")
            .refused("a reason is required to roll back production"),
        row("a reviewer may not roll back", production(), Reviewer).rollback().approvals(none()).changelog("x")
            .refused("only a releaser or above may roll back production"),
        row("an editor may not roll back", production(), Editor).rollback().approvals(none()).changelog("x").refused("only a releaser"),
        row("a rollback ignores a missing suite", with_suite(0.9), Releaser).rollback().approvals(none()).changelog("x"),
        // --- rollbacks under a strict policy --------------------------------------------------
        row("strict: a releaser may not roll back", strict_rollback(), Releaser).rollback().changelog("x")
            .refused("only an admin or above may roll back"),
        row("strict: an admin needs approvals", strict_rollback(), Admin).rollback().approvals(none()).changelog("x")
            .refused("1 approval of version 3"),
        row("strict: an admin with an approval rolls back", strict_rollback(), Admin).rollback().changelog("x"),
        // --- an unprotected label (staging) ------------------------------------------------
        row("an editor moves staging", Policy::default_for("staging"), Editor).approvals(none()).changelog(""),
        row("a releaser moves staging", Policy::default_for("staging"), Releaser).approvals(none()).changelog(""),
        row("a viewer may not move staging", Policy::default_for("staging"), Viewer).approvals(none()).changelog("")
            .refused("only an editor or above may promote to staging"),
        row("an editor rolls staging back with a reason", Policy::default_for("staging"), Editor).rollback().approvals(none()).changelog("oops"),
        row("staging rollback still needs a reason", Policy::default_for("staging"), Editor).rollback().approvals(none()).changelog("")
            .refused("a reason is required"),
        // --- everything wrong at once -----------------------------------------------------
        row("a viewer, no approval, no changelog, suite missing, frozen", Policy { required_suite: Some(SuiteRequirement { suite: "refunds".into(), min_pass_rate: 0.5, no_regressions: false }), ..frozen() }, Viewer)
            .approvals(none()).changelog("")
            .refused("only a releaser or above may promote to production; 1 approval of version 3 from reviewers other than its author ana: 0 so far; a changelog is required to promote to production; test suite refunds has not run on version 3; production is frozen until"),
    ]
}

#[test]
fn the_policy_table() {
    let rows = table();
    assert!(rows.len() >= 40, "the table has {} rows", rows.len());
    let mut failures = Vec::new();
    for r in &rows {
        let label = if r.policy == Policy::default_for("staging") {
            "staging"
        } else {
            "production"
        };
        let s = Situation {
            label,
            actor: "rel",
            actor_role: r.role,
            version: 3,
            version_hash: V3,
            version_author: "ana",
            changelog: r.changelog,
            approvals: &r.approvals,
            suite_results: &r.suite,
            now: NOW,
            rollback: r.rollback,
        };
        let d = check_release(&r.policy, &s);
        let refusal = d.refusal();
        if d.allowed != r.expect_allowed || !refusal.contains(r.expect_reason) {
            failures.push(format!(
                "{}: expected {} ({:?}), got {} ({refusal:?})",
                r.what,
                if r.expect_allowed {
                    "allowed"
                } else {
                    "refused"
                },
                r.expect_reason,
                if d.allowed { "allowed" } else { "refused" },
            ));
        }
        // Every decision lists the role condition, and allowed means nothing is unmet.
        assert!(d.conditions.iter().any(|c| c.code == "role"), "{}", r.what);
        assert_eq!(d.allowed, refusal.is_empty(), "{}", r.what);
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn role_gated_actions() {
    let cases = [
        (Viewer, Action::Comment, true),
        (Viewer, Action::EditDraft, false),
        (Editor, Action::EditDraft, true),
        (Editor, Action::CommitVersion, true),
        (Editor, Action::RequestReview, true),
        (Editor, Action::Approve, false),
        (Reviewer, Action::Approve, true),
        (Reviewer, Action::RequestChanges, true),
        (Reviewer, Action::SetPolicy, false),
        (Releaser, Action::SetRole, false),
        (Admin, Action::SetRole, true),
        (Admin, Action::SetPolicy, true),
    ];
    for (role, action, allowed) in cases {
        let got = check_action("pat", role, action);
        assert_eq!(got.is_ok(), allowed, "{role} {action:?}: {got:?}");
        if let Err(e) = got {
            assert!(
                e.starts_with(&format!("pat is {}; only ", role.with_article())),
                "{e}"
            );
        }
    }
}

#[test]
fn policies_that_cannot_work_are_refused() {
    assert!(production().validate().is_ok());
    assert!(with_suite(1.5)
        .validate()
        .unwrap_err()
        .contains("between 0 and 1"));
    let backwards = Policy {
        freeze_windows: vec![FreezeWindow {
            from: "2026-11-25T00:00:00Z".into(),
            to: "2026-11-20T00:00:00Z".into(),
            reason: String::new(),
        }],
        ..production()
    };
    assert!(backwards
        .validate()
        .unwrap_err()
        .contains("ends before it starts"));
    assert!(production().is_protected());
    assert!(!Policy::default_for("staging").is_protected());
}

fn decide_at(policy: &Policy, now: &str) -> Decision {
    check_release(
        policy,
        &Situation {
            label: "production",
            actor: "rita",
            actor_role: Releaser,
            version: 3,
            version_hash: V3,
            version_author: "ana",
            changelog: "Shorter reply",
            approvals: &[approval("bob", Reviewer, V3)],
            suite_results: &[],
            now,
            rollback: false,
        },
    )
}

fn window(from: &str, to: &str) -> Policy {
    Policy {
        freeze_windows: vec![FreezeWindow {
            from: from.into(),
            to: to.into(),
            reason: "sale".into(),
        }],
        ..production()
    }
}

#[test]
fn freeze_windows_compare_instants_not_text() {
    let frozen = frozen();
    // 2026-11-22T03:00:00+05:00 is 2026-11-21T22:00:00Z: inside the window, although as text it
    // sorts like any other string.
    for now in [
        "2026-11-22T03:00:00+05:00",
        "2026-11-21T22:00:00Z",
        "2026-11-24T19:00:00-04:59",
    ] {
        let d = decide_at(&frozen, now);
        assert!(!d.allowed, "a release at {now} falls in the freeze: {d:?}");
        assert!(d.refusal().contains("frozen until"), "{}", d.refusal());
    }
    // Just outside, written with offsets that make the text look inside.
    for now in ["2026-11-19T23:59:59-00:00", "2026-11-25T04:00:00+04:00"] {
        let d = decide_at(&frozen, now);
        assert!(d.allowed, "a release at {now} is outside the freeze: {d:?}");
    }
    // A window written with an offset is the same instants as in UTC.
    let east = window("2026-11-20T05:00:00+05:00", "2026-11-25T05:00:00+05:00");
    assert!(!decide_at(&east, "2026-11-24T23:59:59Z").allowed);
    assert!(decide_at(&east, "2026-11-25T00:00:00Z").allowed);
}

#[test]
fn a_freeze_or_clock_that_cannot_be_read_blocks_a_release() {
    let unreadable = window("next tuesday", "2026-11-25T00:00:00Z");
    assert!(!decide_at(&unreadable, NOW).allowed);
    assert!(unreadable
        .validate()
        .unwrap_err()
        .contains("not an RFC 3339 time"));
    assert!(!decide_at(&frozen(), "yesterday").allowed);
}
