//! Test suites, eval runs and the release gate on a real registry file. A model is not called
//! here (core has no network): outcomes are what a runner would hand back, produced by an echo
//! model (the reply is the rendered prompt), so a version that drops text from its prompt drops
//! it from its replies too — the demo's regression.

use promptdesk_core::eval::{
    assertions::parse_short, cache_key, CaseInput, Outcome, ReplyFacts, RunStatus,
};
use promptdesk_core::policy::{Policy, Role, SuiteRequirement};
use promptdesk_core::registry::RenderTarget;
use promptdesk_core::release::ReleaseRequest;
use promptdesk_core::signing::MemorySigner;
use promptdesk_core::{Error, Ref, Registry};
use promptdesk_template::render_in_process;

const REFUND: &str = "support/refund-reply";

fn demo() -> (tempfile::TempDir, Registry) {
    let dir = tempfile::tempdir().unwrap();
    let (mut reg, _) = Registry::init(&dir.path().join("registry.db")).unwrap();
    reg.set_actor("seed");
    promptdesk_demo::seed(&mut reg).unwrap();
    as_(&mut reg, "root");
    reg.set_role("root", Role::Admin).unwrap();
    reg.set_role("ana", Role::Editor).unwrap();
    reg.set_role("ben", Role::Reviewer).unwrap();
    reg.set_role("rita", Role::Releaser).unwrap();
    (dir, reg)
}

fn as_(reg: &mut Registry, who: &str) {
    let mut seed = [7u8; 32];
    for (i, b) in who.bytes().enumerate() {
        seed[i % 32] ^= b;
    }
    reg.set_actor(who);
    reg.set_signer(Box::new(MemorySigner::from_seed(seed)));
}

/// Runs `suite` on `name@n` with the echo model, recording every case; returns the run id.
fn run_echo(reg: &mut Registry, name: &str, n: u32, suite: &str) -> String {
    let prepared = reg
        .start_run(name, Some(&Ref::Number(n)), suite, None)
        .unwrap();
    let run_id = prepared.run.id.clone();
    for case in prepared.cases {
        let req = reg
            .render_request(RenderTarget::Version(&prepared.version), &case.vars)
            .unwrap();
        let rendered = render_in_process(&req).unwrap();
        let key = cache_key(&prepared.version.hash, &prepared.run.model, &rendered);
        let cached = reg.cached_reply(&key).unwrap();
        let reply = cached.clone().unwrap_or_else(|| ReplyFacts {
            output: rendered.to_plain_text(),
            tokens_in: 10,
            tokens_out: 20,
            latency_ms: 5,
            cost: Some(0.001),
            finish_reason: "stop".into(),
        });
        reg.record_result(
            &run_id,
            Outcome {
                case,
                input: Some(rendered),
                reply: Ok(reply),
                rubric_verdicts: vec![],
                cached: cached.is_some(),
                attempts: u32::from(cached.is_none()),
                cache_key: Some(key),
            },
        )
        .unwrap();
    }
    reg.finish_run(&run_id, RunStatus::Completed, None).unwrap();
    run_id
}

fn require_suite(reg: &mut Registry, rate: f64, no_regressions: bool) {
    as_(reg, "root");
    let mut p: Policy = reg.policy("production").unwrap();
    p.required_suite = Some(SuiteRequirement {
        suite: "regression".into(),
        min_pass_rate: rate,
        no_regressions,
    });
    reg.set_policy("production", &p).unwrap();
}

/// ana asks for v4, ben approves: everything but the suite is in order.
fn approved_v4(reg: &mut Registry) -> u32 {
    as_(reg, "ana");
    let review = reg
        .request_review(REFUND, Some(&Ref::Number(4)), "production", "shorter reply")
        .unwrap();
    as_(reg, "ben");
    reg.approve(review.number, "reads well").unwrap();
    review.number
}

fn release_v4(reg: &mut Registry, review: u32) -> Result<promptdesk_core::release::Release, Error> {
    as_(reg, "rita");
    reg.release(
        REFUND,
        Some(&Ref::Number(4)),
        "production",
        ReleaseRequest {
            changelog: "Shorter, friendlier reply",
            review: Some(review),
            ..Default::default()
        },
    )
}

#[test]
fn the_shortened_refund_reply_fails_its_suite_and_its_release_is_refused_with_the_cases() {
    let (_d, mut reg) = demo();
    require_suite(&mut reg, 1.0, false);
    let review = approved_v4(&mut reg);

    // No run yet: refused, and the message says how to run it.
    let e = release_v4(&mut reg, review).unwrap_err();
    assert!(matches!(e, Error::Refused(_)));
    assert!(
        e.to_string()
            .contains("test suite regression has not run on version 4"),
        "{e}"
    );

    let run = run_echo(&mut reg, REFUND, 4, "regression");
    let summary = reg.eval_run(&run).unwrap();
    assert_eq!(summary.status, RunStatus::Completed);
    assert_eq!((summary.total, summary.passed, summary.failed), (3, 1, 2));

    let e = release_v4(&mut reg, review).unwrap_err().to_string();
    assert!(
        e.contains("passed 1/3 (33%) on version 4 (needs 100%)"),
        "{e}"
    );
    assert!(
        e.contains("#1 within the window") && e.contains("#2 outside the window"),
        "the failing cases are listed: {e}"
    );
    assert_eq!(
        reg.resolve(REFUND, Some(&Ref::Label("production".into())))
            .unwrap()
            .number,
        3
    );

    // What failed, and why, is on record case by case.
    let failures = reg.run_results(&run, true).unwrap();
    assert_eq!(failures.len(), 2);
    let why: Vec<&str> = failures[0]
        .checks
        .iter()
        .filter(|c| !c.passed)
        .map(|c| c.message.as_str())
        .collect();
    assert!(why.iter().any(|m| m.contains("within 30 days")), "{why:?}");
}

#[test]
fn a_passing_run_lets_the_release_through_and_its_id_is_frozen_into_the_record() {
    let (_d, mut reg) = demo();
    require_suite(&mut reg, 1.0, false);
    // v3 passes the suite; release it again under the suite policy via a fresh version that
    // keeps v3's text (ana restores it as v5).
    as_(&mut reg, "ana");
    let v3 = reg.resolve(REFUND, Some(&Ref::Number(3))).unwrap();
    let mut draft = reg.draft(REFUND).unwrap().content;
    draft.body = v3.content.body.clone();
    draft.variables = v3.content.variables.clone();
    draft.model = v3.content.model.clone();
    draft
        .model
        .parameters
        .insert("temperature".into(), serde_json::json!(0.1));
    reg.save_draft(REFUND, draft).unwrap();
    let v5 = reg
        .commit(REFUND, "v3's text at a lower temperature")
        .unwrap();
    let review = reg
        .request_review(
            REFUND,
            Some(&Ref::Number(v5.number)),
            "production",
            "cooler",
        )
        .unwrap();
    as_(&mut reg, "ben");
    reg.approve(review.number, "ok").unwrap();
    let run = run_echo(&mut reg, REFUND, v5.number, "regression");
    assert_eq!(reg.eval_run(&run).unwrap().pass_rate, 1.0);

    as_(&mut reg, "rita");
    let released = reg
        .release(
            REFUND,
            Some(&Ref::Number(v5.number)),
            "production",
            ReleaseRequest {
                changelog: "Lower temperature",
                review: Some(review.number),
                ..Default::default()
            },
        )
        .unwrap();
    let record = reg
        .releases(REFUND, Some("production"))
        .unwrap()
        .into_iter()
        .find(|r| r.id == released.id)
        .unwrap();
    assert_eq!(record.to_version, v5.number);
    // The decision stored with the release names the run.
    let stored: String = reg
        .connection()
        .query_row(
            "SELECT decision FROM releases WHERE id = ?1",
            [&released.id],
            |r| r.get(0),
        )
        .unwrap();
    let decision: serde_json::Value = serde_json::from_str(&stored).unwrap();
    assert_eq!(decision["evidence"]["run_id"], serde_json::json!(run));
    assert_eq!(decision["evidence"]["passed"], 3);
}

#[test]
fn the_gate_counts_only_a_complete_run_of_the_current_cases_with_the_versions_settings() {
    let (_d, mut reg) = demo();
    require_suite(&mut reg, 0.3, false);
    let review = approved_v4(&mut reg);

    // A run with another model does not count.
    let over = promptdesk_content::ModelSettings {
        provider: "anthropic".into(),
        model: "claude-x".into(),
        parameters: Default::default(),
    };
    let prepared = reg
        .start_run(REFUND, Some(&Ref::Number(4)), "regression", Some(&over))
        .unwrap();
    assert!(!prepared.run.own_settings);
    reg.finish_run(&prepared.run.id, RunStatus::Cancelled, None)
        .unwrap();
    let e = release_v4(&mut reg, review).unwrap_err().to_string();
    assert!(e.contains("only with other model settings"), "{e}");

    // A run cut short is recorded as failed even when its caller says completed.
    let partial = reg
        .start_run(REFUND, Some(&Ref::Number(4)), "regression", None)
        .unwrap();
    let finished = reg
        .finish_run(&partial.run.id, RunStatus::Completed, None)
        .unwrap();
    assert_eq!(finished.status, RunStatus::Failed);
    let e = reg
        .record_result(
            &partial.run.id,
            Outcome {
                case: partial.cases[0].clone(),
                input: None,
                reply: Err("late".into()),
                rubric_verdicts: vec![],
                cached: false,
                attempts: 1,
                cache_key: None,
            },
        )
        .unwrap_err();
    assert!(e.to_string().contains("takes no more results"), "{e}");

    // A complete run at 1/3 meets 30%...
    run_echo(&mut reg, REFUND, 4, "regression");
    let decision = reg
        .decide(
            &reg.resolve(REFUND, Some(&Ref::Number(4))).unwrap(),
            "production",
            "x",
            false,
        )
        .unwrap();
    let suite = decision
        .conditions
        .iter()
        .find(|c| c.code == "suite")
        .unwrap();
    assert!(suite.met, "{}", suite.message);

    // ...until a case is added: the suite changed since it ran.
    as_(&mut reg, "ana");
    reg.add_cases(
        REFUND,
        "regression",
        vec![CaseInput {
            vars: serde_json::json!({"customer_name": "Max", "order_id": "D-1", "days_since_purchase": 1, "product": "a mug"})
                .as_object()
                .cloned()
                .unwrap(),
            assertions: vec![parse_short("contains: Max").unwrap()],
            ..Default::default()
        }],
        "postmortem:abc",
        false,
    )
    .unwrap();
    let e = release_v4(&mut reg, review).unwrap_err().to_string();
    assert!(e.contains("changed since it last ran on version 4"), "{e}");
}

#[test]
fn no_regressions_refuses_a_case_that_passes_on_production_and_fails_on_the_candidate() {
    let (_d, mut reg) = demo();
    require_suite(&mut reg, 0.0, true);
    let review = approved_v4(&mut reg);
    run_echo(&mut reg, REFUND, 4, "regression");
    // Production (v3) has not run the suite: nothing to compare with, and it says so.
    let e = release_v4(&mut reg, review).unwrap_err().to_string();
    assert!(
        e.contains("no complete run of its current cases on version 3"),
        "{e}"
    );
    run_echo(&mut reg, REFUND, 3, "regression");
    let e = release_v4(&mut reg, review).unwrap_err().to_string();
    assert!(
        e.contains("2 case(s) that pass on version 3 fail here"),
        "{e}"
    );
}

#[test]
fn suites_record_every_change_in_the_ledger_and_the_cache_saves_a_second_run() {
    let (_d, mut reg) = demo();
    as_(&mut reg, "ana");
    let cases = promptdesk_core::eval::import::parse_csv(
        "customer_name,order_id,days_since_purchase,product,__assert,__tags\n\
         Ada,A-1,3,a hat,contains: Ada,smoke\n\
         Bo,B-2,40,a cap,contains: outside,late\n",
    )
    .unwrap();
    let added = reg
        .add_cases(REFUND, "imported", cases, "import:cases.csv", true)
        .unwrap();
    assert_eq!(added.len(), 2);
    assert_eq!(added[1].origin, "import:cases.csv");
    // CSV cells are text; a variable the prompt declares as a number becomes one.
    assert_eq!(added[0].vars["days_since_purchase"], serde_json::json!(3));
    assert_eq!(added[0].vars["customer_name"], "Ada");
    let bad = promptdesk_core::eval::import::parse_csv(
        "customer_name,order_id,days_since_purchase,product\nCy,C-1,three,a cup\n",
    )
    .unwrap();
    let e = reg
        .add_cases(REFUND, "imported", bad, "import:bad.csv", true)
        .unwrap_err();
    assert!(
        e.to_string().contains(
            "case 1: variable days_since_purchase is a number, and \"three\" cannot be read as one"
        ),
        "{e}"
    );
    let before = reg.suite(REFUND, "imported").unwrap().suite.hash;
    let mut edit = CaseInput {
        description: "late".into(),
        vars: added[1].vars.clone(),
        expected: None,
        assertions: vec![parse_short("contains: outside the refund window").unwrap()],
        tags: vec!["late".into()],
    };
    reg.update_case(REFUND, "imported", &added[1].id, edit.clone())
        .unwrap();
    assert_ne!(reg.suite(REFUND, "imported").unwrap().suite.hash, before);
    edit.assertions = vec![parse_short("regex: (").unwrap_or_else(|_| {
        serde_json::from_value(serde_json::json!({"type": "regex", "pattern": "("})).unwrap()
    })];
    let e = reg
        .update_case(REFUND, "imported", &added[1].id, edit)
        .unwrap_err();
    assert!(e.to_string().contains("does not compile"), "{e}");
    reg.remove_case(REFUND, "imported", &added[0].id).unwrap();
    assert_eq!(reg.suite(REFUND, "imported").unwrap().cases.len(), 1);
    let kinds: Vec<String> = reg
        .ledger(Some(REFUND), 0, 10_000)
        .unwrap()
        .into_iter()
        .map(|e| e.kind)
        .filter(|k| k.starts_with("suite."))
        .collect();
    assert!(kinds.ends_with(&[
        "suite.created".to_string(),
        "suite.cases_added".into(),
        "suite.case_updated".into(),
        "suite.case_removed".into()
    ]));
    let origin = reg
        .ledger(Some(REFUND), 0, 10_000)
        .unwrap()
        .into_iter()
        .find(|e| e.kind == "suite.cases_added" && e.payload["origin"] == "import:cases.csv");
    assert!(
        origin.is_some(),
        "the ledger says where the cases came from"
    );

    let first = run_echo(&mut reg, REFUND, 3, "regression");
    let second = run_echo(&mut reg, REFUND, 3, "regression");
    assert_eq!(reg.eval_run(&first).unwrap().cached, 0);
    assert_eq!(reg.eval_run(&second).unwrap().cached, 3);
    let ledger = reg.ledger(Some(REFUND), 0, 10_000).unwrap();
    let finished: Vec<_> = ledger
        .iter()
        .filter(|e| e.kind == "eval.finished")
        .collect();
    assert_eq!(finished.len(), 2);
    assert_eq!(finished[1].payload["run"], serde_json::json!(second));
}

#[test]
fn a_comparison_shows_versions_side_by_side_with_diffs_and_ratings() {
    let (_d, mut reg) = demo();
    as_(&mut reg, "ana");
    run_echo(&mut reg, REFUND, 3, "regression");
    run_echo(&mut reg, REFUND, 4, "regression");
    let cmp = reg
        .compare(
            REFUND,
            &[Ref::Label("production".into()), Ref::Number(4)],
            "regression",
        )
        .unwrap();
    assert_eq!(cmp.columns.len(), 2);
    assert_eq!(cmp.columns[0].version, 3);
    assert_eq!(cmp.columns[0].labels, vec!["production".to_string()]);
    assert_eq!(cmp.rows.len(), 3);
    assert!(cmp.rows.iter().all(|r| r.differs));
    assert_eq!(cmp.rows.iter().filter(|r| r.has_failure).count(), 2);
    let cell = cmp.rows[0].cells[1].as_ref().unwrap();
    assert!(!cell.passed);
    let diff = cell.diff.as_ref().expect("a diff against the first column");
    assert!(!diff.hunks.is_empty());

    // A rating is of one cell and becomes part of what a review of v4 shows.
    let case = cmp.rows[0].case_id.clone();
    as_(&mut reg, "ben");
    let e = reg
        .rate_output(REFUND, &Ref::Number(4), &case, "bad", " ")
        .unwrap_err();
    assert!(e.to_string().contains("needs a comment"), "{e}");
    reg.rate_output(
        REFUND,
        &Ref::Number(4),
        &case,
        "bad",
        "drops the refund policy",
    )
    .unwrap();
    reg.rate_output(REFUND, &Ref::Number(4), &case, "good", "")
        .unwrap();
    reg.rate_output(
        REFUND,
        &Ref::Number(4),
        &case,
        "bad",
        "no: it drops the policy",
    )
    .unwrap();
    let evals = reg.version_evals(REFUND, &Ref::Number(4)).unwrap();
    assert_eq!(evals.ratings.len(), 1, "ben's latest rating counts");
    assert_eq!(evals.bad, 1);
    assert_eq!(evals.ratings[0].comment, "no: it drops the policy");
    assert_eq!(evals.runs.len(), 1);
    let cmp = reg
        .compare(REFUND, &[Ref::Number(3), Ref::Number(4)], "regression")
        .unwrap();
    assert_eq!(cmp.rows[0].cells[1].as_ref().unwrap().ratings.len(), 1);
}
