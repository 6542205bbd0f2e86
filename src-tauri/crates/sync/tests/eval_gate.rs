//! A release gated by a test suite crosses the server: the server runs no evals, so the
//! releaser's registry sends the evidence it weighed (signed with the release), the server
//! checks it against the policy, and everyone who pulls the release can verify its signature
//! and read which run allowed it.

mod common;

use common::{Member, Server};
use promptdesk_content::PromptKind;
use promptdesk_core::eval::{assertions::parse_short, CaseInput};
use promptdesk_core::policy::{Policy, Role, SuiteRequirement};
use promptdesk_core::release::ReleaseRequest;
use promptdesk_core::{DraftContent, NewPrompt, Ref};

const NAME: &str = "support/greeting";

fn with_model(template: &str) -> DraftContent {
    serde_json::from_value(serde_json::json!({
        "body": { "kind": "text", "template": template },
        "model": { "provider": "fake", "model": "echo" },
    }))
    .unwrap()
}

#[test]
fn a_suite_gated_release_carries_its_evidence_to_the_server_and_to_every_registry() {
    let server = Server::start();
    let mut root = Member::join(&server, "root", Role::Admin);
    let mut rita = Member::join(&server, "rita", Role::Releaser);
    let mut ben = Member::join(&server, "ben", Role::Reviewer);

    let mut policy = Policy::default_for("production");
    policy.required_approvals = 0;
    policy.required_suite = Some(SuiteRequirement {
        suite: "smoke".into(),
        min_pass_rate: 1.0,
        no_regressions: false,
    });
    root.reg.set_policy("production", &policy).unwrap();
    root.sync();
    rita.sync();

    rita.reg
        .create_prompt(
            NAME,
            PromptKind::Text,
            NewPrompt {
                draft: Some(with_model("Hello {{ name }}.")),
                ..Default::default()
            },
        )
        .unwrap();
    rita.reg.commit(NAME, "First version").unwrap();
    rita.reg
        .add_cases(
            NAME,
            "smoke",
            vec![CaseInput {
                vars: serde_json::json!({"name": "Ana"})
                    .as_object()
                    .cloned()
                    .unwrap(),
                assertions: vec![parse_short("contains: Hello").unwrap()],
                ..Default::default()
            }],
            "",
            true,
        )
        .unwrap();
    let run_id = common::run_suite(&mut rita, NAME, 1, "smoke", "Hello Ana.");
    rita.reg
        .release(
            NAME,
            Some(&Ref::Number(1)),
            "production",
            ReleaseRequest {
                changelog: "First greeting",
                ..Default::default()
            },
        )
        .unwrap();
    let r = rita.sync();
    assert!(
        r.refused.is_empty(),
        "the server accepts the evidence: {r:?}"
    );

    ben.sync();
    let production = ben
        .reg
        .resolve(NAME, Some(&Ref::Label("production".into())))
        .unwrap();
    assert_eq!(production.number, 1);
    let decision: String = ben
        .reg
        .connection()
        .query_row(
            "SELECT decision FROM releases WHERE kind = 'release'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    let decision: serde_json::Value = serde_json::from_str(&decision).unwrap();
    assert_eq!(decision["evidence"]["run_id"], serde_json::json!(run_id));
    // The server's own account of the run: who ran it, and that its one check was run again on
    // the stored output (none taken as recorded).
    assert_eq!(decision["evidence"]["ran_by"], "rita");
    assert_eq!(decision["evidence"]["rerun_checks"], 1);
    assert!(
        decision["evidence"].get("recorded_checks").is_none(),
        "{decision}"
    );
    let report = ben.reg.verify().unwrap();
    assert!(
        report.problems.is_empty(),
        "the pulled release's signature covers its run: {:?}",
        report.problems
    );
}
