//! The demo's incident through the real `promptdesk` binary, as a person on call runs it: the
//! shorter, friendlier refund reply ships, refund answers go wrong, an incident is opened on its
//! release, production is rolled back from the incident, the postmortem's timeline and
//! root-cause diff come from the ledger, the failing inputs become a regression case, the
//! postmortem is written (YAML) and exported (Markdown), and the same shortened version is then
//! refused by the eval gate.

mod common;

use common::{Config, Env, REFUND};
use serde_json::Value;

fn ship_v4(env: &Env) {
    let review = env.json(
        "ana",
        &[
            "review",
            "request",
            &format!("{REFUND}@4"),
            "--label",
            "production",
            "-m",
            "shorter",
        ],
    );
    env.ok("ben", &["review", "approve", &review["number"].to_string()]);
    env.ok(
        "rita",
        &[
            "release",
            &format!("{REFUND}@4"),
            "--label",
            "production",
            "-m",
            "Shorter, friendlier reply",
        ],
    );
}

fn production(env: &Env) -> u64 {
    env.json("ana", &["show", &format!("{REFUND}@production")])["number"]
        .as_u64()
        .unwrap()
}

#[test]
fn on_call_goes_from_wrong_refund_answers_to_a_rollback_and_an_exported_postmortem() {
    let env = Env::new(Config::default());
    ship_v4(&env);
    assert_eq!(production(&env), 4);

    let opened = env.json(
        "ben",
        &[
            "incident",
            "open",
            REFUND,
            "--title",
            "Refund answers no longer state the refund policy",
            "--severity",
            "sev2",
            "--detection",
            "user_reports",
        ],
    );
    let id = opened["incident"]["id"].as_str().unwrap().to_string();
    let short = &id[..8];
    assert_eq!(opened["suspected"]["to_version"], 4);
    assert_eq!(opened["rollback_to"], 3);

    // ben is a reviewer: the policy lets only releasers roll production back.
    let why = env.fails("ben", &["incident", "rollback", short], 1);
    assert!(why.contains("only a releaser or above"), "{why}");
    let out = env.ok("rita", &["incident", "rollback", short]);
    assert!(out.contains("back to version 3"), "{out}");
    assert_eq!(production(&env), 3);
    env.ok(
        "ben",
        &[
            "incident",
            "note",
            short,
            "Support confirms new tickets stopped",
        ],
    );

    let shown = env.ok("ben", &["incident", "show", short]);
    for needle in [
        "mitigated",
        "version 4 saved",
        "review #",
        "released version 4 to production",
        "incident opened (SEV2)",
        "rolled production back to version 3",
        "Support confirms new tickets stopped",
    ] {
        assert!(shown.contains(needle), "{needle:?} missing from:\n{shown}");
    }

    // The inputs that exposed it become a regression case of the suite.
    env.ok(
        "ana",
        &[
            "incident",
            "add-case",
            short,
            "--var",
            "customer_name=Noor",
            "--var",
            "order_id=R-7",
            "--var",
            "days_since_purchase=7",
            "--var",
            "product=a blender",
            "--assert",
            "icontains: within 30 days",
            "--description",
            "refund asked a week after purchase (incident)",
        ],
    );
    let suite = env.json("ana", &["suite", "show", REFUND, "regression"]);
    let last = suite["cases"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(last["origin"], format!("postmortem:{id}"));

    // The postmortem: written in YAML from the template, exported as Markdown.
    let template = env.ok("ana", &["postmortem", short, "--template"]);
    assert!(
        template.contains("summary:") && template.contains("actions:"),
        "{template}"
    );
    let file = env.dir.path().join("pm.yaml");
    std::fs::write(
        &file,
        "summary: For forty minutes refund replies left out the refund policy.\n\
         root_cause: The shorter reply dropped the policy include.\n\
         impact: Customers were not told the 30-day window.\n\
         went_well: One action rolled production back.\n\
         went_badly: No suite gated production.\n\
         learning: Production requires the regression suite.\n\
         actions:\n  - text: Require suite regression for production\n    owner: root\n    due: 2026-12-01\n",
    )
    .unwrap();
    env.ok(
        "ana",
        &["postmortem", short, "--edit", file.to_str().unwrap()],
    );
    let bad = env.dir.path().join("bad.yaml");
    std::fs::write(&bad, "summary: [unclosed\n").unwrap();
    let why = env.fails(
        "ana",
        &["postmortem", short, "--edit", bad.to_str().unwrap()],
        2,
    );
    assert!(why.contains("bad.yaml"), "{why}");
    let md = env.ok("ana", &["postmortem", short, "--export", "md"]);
    for needle in [
        "# Postmortem: Refund answers no longer state the refund policy",
        "## Timeline",
        "released version 4 to production (was 3)",
        "## Root cause",
        "```diff",
        "-{% include \"policies/refunds\" %}",
        "| Require suite regression for production | root | 2026-12-01 | open |",
        "refund asked a week after purchase (incident)",
        "Time to mitigate",
    ] {
        assert!(md.contains(needle), "{needle:?} missing from:\n{md}");
    }
    let actions: Value = env.json("ana", &["actions"]);
    assert_eq!(actions[0]["action"]["owner"], "root");
    env.ok("ben", &["incident", "resolve", short]);
    assert_eq!(
        env.json("ana", &["incident", "list"])
            .as_array()
            .unwrap()
            .len(),
        0
    );
    assert_eq!(
        env.json("ana", &["incident", "list", "--all"])
            .as_array()
            .unwrap()
            .len(),
        1
    );

    // The same v4 cannot ship again: the suite gates production and v4 fails the new case.
    env.ok(
        "root",
        &[
            "policy",
            "set",
            "production",
            "--suite",
            "regression",
            "--min-pass-rate",
            "1",
        ],
    );
    let why = env.fails(
        "ana",
        &["eval", &format!("{REFUND}@4"), "--fail-under", "1"],
        1,
    );
    assert!(why.contains("below --fail-under"), "{why}");
    // ben's approval of v4's content still stands; only the suite stops it now.
    let why = env.fails(
        "rita",
        &[
            "release",
            &format!("{REFUND}@4"),
            "--label",
            "production",
            "-m",
            "again",
        ],
        1,
    );
    assert!(
        why.contains("refund asked a week after purchase (incident)"),
        "the refusal names the incident's case: {why}"
    );
    let ledger = env.ok("ana", &["ledger", REFUND]);
    for kind in [
        "incident.opened",
        "incident.rolled_back",
        "postmortem.saved",
        "incident.resolved",
    ] {
        assert!(ledger.contains(kind), "{kind} not in the ledger");
    }
    env.ok("ana", &["verify"]);
}
