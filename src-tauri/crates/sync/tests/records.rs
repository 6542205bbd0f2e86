//! Test suites, ratings, incidents and postmortems sync like everything else: each change is
//! one event, the server checks it and relays it in its order, and every registry ends with the
//! same rows (last writer in the server's order wins), the same ledger story and nothing of its
//! own lost. Real server on loopback, each person's own registry file.

mod common;

use common::{Member, Server};
use promptdesk_content::PromptKind;
use promptdesk_core::eval::{assertions::parse_short, CaseInput};
use promptdesk_core::incidents::{ActionItem, NewIncident, PostmortemDoc};
use promptdesk_core::policy::Role;
use promptdesk_core::release::ReleaseRequest;
use promptdesk_core::sync::inbox::Pulled;
use promptdesk_core::{DraftContent, NewPrompt, Ref};
use serde_json::json;

const REFUND: &str = "support/refund";
const GREETING: &str = "support/greeting";

fn with_model(template: &str) -> DraftContent {
    serde_json::from_value(json!({
        "body": { "kind": "text", "template": template },
        "model": { "provider": "fake", "model": "echo" },
    }))
    .unwrap()
}

fn case(name: &str, must: &str) -> CaseInput {
    CaseInput {
        description: format!("for {name}"),
        vars: json!({ "name": name }).as_object().cloned().unwrap(),
        assertions: vec![parse_short(&format!("contains: {must}")).unwrap()],
        tags: vec!["refunds".into()],
        ..Default::default()
    }
}

/// A text prompt with a model, its first version committed.
fn new_prompt(m: &mut Member, name: &str, template: &str) {
    m.reg
        .create_prompt(
            name,
            PromptKind::Text,
            NewPrompt {
                draft: Some(with_model(template)),
                ..Default::default()
            },
        )
        .unwrap();
    m.reg.commit(name, "First version").unwrap();
}

fn ledger_len(m: &Member) -> usize {
    m.reg.ledger(None, 0, 1_000_000).unwrap().len()
}

/// Each registry's tables are what its own ledger says.
fn assert_verifies(team: &[&Member]) {
    for m in team {
        let report = m.reg.verify().unwrap();
        assert!(
            report.problems.is_empty(),
            "{}: {:#?}",
            m.name,
            report.problems
        );
    }
}

/// Everyone syncs until nobody pushes or pulls anything.
fn settle(team: &mut [&mut Member]) {
    for _ in 0..2 {
        for m in team.iter_mut() {
            m.sync();
        }
    }
    for m in team.iter_mut() {
        let r = m.sync();
        assert_eq!((r.pushed, r.pulled), (0, 0), "{}: {r:?}", m.name);
    }
}

#[test]
fn suites_cases_and_ratings_reach_every_registry_and_the_last_edit_wins() {
    let server = Server::start();
    let mut ana = Member::join(&server, "ana", Role::Editor);
    let mut ben = Member::join(&server, "ben", Role::Reviewer);

    new_prompt(
        &mut ana,
        REFUND,
        "Dear {{ name }}, your refund is on its way.",
    );
    let suite = ana
        .reg
        .create_suite(REFUND, "smoke", "Refund replies")
        .unwrap();
    let cases = ana
        .reg
        .add_cases(
            REFUND,
            "smoke",
            vec![
                case("Ana", "refund"),
                case("Ben", "Ben"),
                case("Cy", "sorry"),
            ],
            "",
            false,
        )
        .unwrap();
    ana.reg
        .update_case(REFUND, "smoke", &cases[1].id, case("Ben", "Dear Ben"))
        .unwrap();
    ana.reg.remove_case(REFUND, "smoke", &cases[2].id).unwrap();
    let r = ana.sync();
    assert!(r.refused.is_empty(), "{r:?}");
    // The prompt, its version, the suite, the added cases, the edit and the removal.
    assert_eq!(r.pushed, 6, "{r:?}");

    let r = ben.sync();
    assert_eq!(r.pulled, 6, "{r:?}");
    let here = ana.reg.suite(REFUND, "smoke").unwrap();
    let there = ben.reg.suite(REFUND, "smoke").unwrap();
    assert_eq!(there.suite.id, suite.id);
    assert_eq!(there.suite.hash, here.suite.hash, "the same cases");
    assert_eq!(
        there, here,
        "the same suite, case for case, field for field"
    );
    assert_eq!(there.cases.len(), 2);
    // The ledger tells the same story on ben's machine, marked as pulled.
    let kinds = |m: &Member| -> Vec<(String, String)> {
        m.reg
            .ledger(Some(REFUND), 0, 10_000)
            .unwrap()
            .into_iter()
            .filter(|e| e.kind.starts_with("suite."))
            .map(|e| (e.kind, e.actor))
            .collect()
    };
    assert_eq!(kinds(&ben), kinds(&ana));
    let pulled = ben.reg.ledger(Some(REFUND), 0, 10_000).unwrap();
    let updated = pulled
        .iter()
        .find(|e| e.kind == "suite.case_updated")
        .unwrap();
    assert!(updated.payload["sync"]["seq"].as_i64().is_some());
    assert_eq!(updated.payload["after"]["id"], json!(cases[1].id));

    // ben runs the suite on his machine (runs stay there) and rates what came out.
    let run_id = common::run_suite(
        &mut ben,
        REFUND,
        1,
        "smoke",
        "Dear Ben, your refund is on its way.",
    );
    ben.reg
        .rate_output(REFUND, &Ref::Number(1), &cases[0].id, "good", "")
        .unwrap();
    ben.reg
        .rate_output(
            REFUND,
            &Ref::Number(1),
            &cases[1].id,
            "bad",
            "too stiff for a refund",
        )
        .unwrap();
    let r = ben.sync();
    assert!(r.refused.is_empty(), "{r:?}");
    assert_eq!(r.pushed, 3, "the finished run and the two ratings: {r:?}");
    ana.sync();
    let evals = ana.reg.version_evals(REFUND, &Ref::Number(1)).unwrap();
    assert_eq!((evals.good, evals.bad), (1, 1), "{evals:?}");
    let mine = ben.reg.version_evals(REFUND, &Ref::Number(1)).unwrap();
    assert_eq!(mine.runs.len(), 1);
    assert_eq!(
        evals.runs.len(),
        1,
        "ben's run reaches ana's registry, so she reviews the same outputs"
    );
    assert_eq!(evals.runs[0].id, run_id);
    assert_eq!(evals.runs[0].started_by, "ben");
    let outputs = |m: &common::Member| -> Vec<(String, Option<String>, bool)> {
        m.reg
            .run_results(&run_id, false)
            .unwrap()
            .into_iter()
            .map(|r| (r.case_id, r.output, r.passed))
            .collect()
    };
    assert_eq!(
        outputs(&ana),
        outputs(&ben),
        "every case's output and verdict"
    );
    assert!(mine
        .ratings
        .iter()
        .all(|r| r.run_id.as_deref() == Some(&*run_id)));
    assert_eq!(
        evals.ratings, mine.ratings,
        "the same ratings, tied to the same run"
    );
    assert!(evals.ratings.iter().all(|r| r.rated_by == "ben"));

    // Pulling everything again changes nothing.
    let before = (ledger_len(&ana), ana.reg.suite(REFUND, "smoke").unwrap());
    ana.reg.reset_sync_cursor().unwrap();
    let r = ana.sync();
    assert_eq!(r.pulled, 0, "{r:?}");
    assert_eq!(
        (ledger_len(&ana), ana.reg.suite(REFUND, "smoke").unwrap()),
        before
    );

    // Both edit the same case offline: ana's edit reaches the server first, ben's second, so
    // ben's is the last and both end with it.
    ana.reg
        .update_case(REFUND, "smoke", &cases[0].id, case("Ana", "on its way"))
        .unwrap();
    ben.reg
        .update_case(REFUND, "smoke", &cases[0].id, case("Ana", "refund is"))
        .unwrap();
    ana.sync();
    ben.sync();
    ana.sync();
    let a = ana.reg.suite(REFUND, "smoke").unwrap();
    assert_eq!(a, ben.reg.suite(REFUND, "smoke").unwrap());
    assert_eq!(a.cases[0].updated_by, "ben");
    assert_eq!(
        a.cases[0].assertions,
        vec![parse_short("contains: refund is").unwrap()]
    );

    // A change made here and not pushed yet is not overwritten by an earlier one pulled
    // meanwhile: ben edits, then pulls ana's later-made (but earlier-pushed) edit before pushing.
    ana.reg
        .update_case(REFUND, "smoke", &cases[1].id, case("Ben", "by ana"))
        .unwrap();
    ana.sync();
    ben.reg
        .update_case(REFUND, "smoke", &cases[1].id, case("Ben", "by ben"))
        .unwrap();
    let (status, body) = ben
        .remote
        .get(&format!(
            "/v1/sync/pull?after={}",
            ben.reg.sync_cursor().unwrap()
        ))
        .unwrap();
    assert_eq!(status, 200, "{body}");
    let events: Vec<Pulled> = serde_json::from_value(body["events"].clone()).unwrap();
    assert_eq!(events.len(), 1);
    ben.reg.sync_apply_pulled(&events).unwrap();
    let mine = ben.reg.suite(REFUND, "smoke").unwrap();
    assert_eq!(mine.cases[1].updated_by, "ben", "ben's unpushed edit stays");
    settle(&mut [&mut ana, &mut ben]);
    let a = ana.reg.suite(REFUND, "smoke").unwrap();
    assert_eq!(a, ben.reg.suite(REFUND, "smoke").unwrap());
    assert_eq!(a.cases[1].updated_by, "ben", "and is the last everywhere");
    for m in [&ana, &ben] {
        let state = m.reg.sync_state().unwrap();
        assert_eq!((state.pending, state.refused.len()), (0, 0), "{state:?}");
    }
    // Both verify: the replay orders synced record changes as the server did (ben's ledger
    // has ana's earlier-pushed edit after his own, which still wins).
    assert_verifies(&[&ana, &ben]);
}

/// ana writes, ben approves, rita releases `number` of GREETING to production.
fn release(ana: &mut Member, ben: &mut Member, rita: &mut Member, number: u32, why: &str) {
    let review = ana
        .reg
        .request_review(GREETING, Some(&Ref::Number(number)), "production", why)
        .unwrap();
    ana.sync();
    ben.sync();
    let here = ben
        .reg
        .reviews(true)
        .unwrap()
        .into_iter()
        .find(|r| r.id == review.id)
        .unwrap();
    ben.reg.approve(here.number, "reads well").unwrap();
    ben.sync();
    rita.sync();
    rita.reg
        .release(
            GREETING,
            Some(&Ref::Number(number)),
            "production",
            ReleaseRequest {
                changelog: why,
                ..Default::default()
            },
        )
        .unwrap();
    let r = rita.sync();
    assert!(r.refused.is_empty(), "{r:?}");
}

#[test]
fn an_incident_its_rollback_and_postmortem_tell_the_same_story_everywhere() {
    let server = Server::start();
    let mut ana = Member::join(&server, "ana", Role::Editor);
    let mut ben = Member::join(&server, "ben", Role::Reviewer);
    let mut rita = Member::join(&server, "rita", Role::Releaser);
    ana.new_text(GREETING, "Hello {{ name }}.");
    ana.edit(GREETING, "Yo {{ name }}", "Casual");
    release(&mut ana, &mut ben, &mut rita, 1, "First greeting");
    release(&mut ana, &mut ben, &mut rita, 2, "Casual greeting");

    // rita opens an incident on production (the casual release is suspected), notes what
    // support saw, rolls back from it, writes the postmortem and adds a regression case.
    let incident = rita
        .reg
        .open_incident(NewIncident {
            title: "Customers find the greeting rude".into(),
            severity: "SEV2".into(),
            detection: "user_reports".into(),
            prompt: GREETING.into(),
            ..Default::default()
        })
        .unwrap();
    rita.reg
        .add_incident_note(&incident.id, None, "Support saw the first ticket")
        .unwrap();
    let (mitigated, rollback) = rita.reg.incident_rollback(&incident.id, "").unwrap();
    assert_eq!(mitigated.status, "mitigated");
    rita.reg
        .save_postmortem(
            &incident.id,
            PostmortemDoc {
                summary: "A casual greeting reached production.".into(),
                root_cause: "Tone was not tested.".into(),
                actions: vec![ActionItem {
                    text: "Test the greeting's tone".into(),
                    owner: "ana".into(),
                    due: "2099-01-31".into(),
                    ..Default::default()
                }],
                ..Default::default()
            },
        )
        .unwrap();
    rita.reg
        .add_regression_cases(
            &incident.id,
            "regressions",
            vec![CaseInput {
                vars: json!({"name": "Ana"}).as_object().cloned().unwrap(),
                assertions: vec![parse_short("contains: Hello").unwrap()],
                ..Default::default()
            }],
        )
        .unwrap();
    let r = rita.sync();
    assert!(r.refused.is_empty(), "{r:?}");

    ben.sync();
    let there = ben.reg.incident_detail(&incident.id).unwrap();
    let here = rita.reg.incident_detail(&incident.id).unwrap();
    assert_eq!(there.incident, here.incident, "the same incident row");
    assert_eq!(there.incident.status, "mitigated");
    assert_eq!(
        there.incident.rollback_release.as_deref(),
        Some(rollback.id.as_str())
    );
    assert_eq!(
        there.rollback.as_ref().map(|r| (&r.id, r.to_version)),
        Some((&rollback.id, 1)),
        "the rollback release pulled with it"
    );
    assert_eq!(there.serving, Some(1));
    // (The release row itself may differ in the role it records: the server's for ben, the
    // one rita's registry weighed for her.)
    assert_eq!(
        there.suspected.as_ref().map(|r| (&r.id, r.to_version)),
        here.suspected.as_ref().map(|r| (&r.id, r.to_version))
    );
    assert!(there.has_postmortem);
    let story = |d: &promptdesk_core::incidents::IncidentDetail| -> Vec<(String, String, String)> {
        d.timeline
            .iter()
            .map(|t| (t.kind.clone(), t.actor.clone(), t.at.clone()))
            .collect()
    };
    assert_eq!(story(&there), story(&here), "the same timeline");
    let kinds: Vec<&str> = here.timeline.iter().map(|t| t.kind.as_str()).collect();
    for k in [
        "version.created",
        "release.recorded",
        "incident.opened",
        "note",
        "rollback.recorded",
        "incident.rolled_back",
        "suite.cases_added",
    ] {
        assert!(kinds.contains(&k), "{k} in {kinds:?}");
    }

    let pm_there = ben.reg.postmortem(&incident.id).unwrap();
    let pm_here = rita.reg.postmortem(&incident.id).unwrap();
    assert_eq!(pm_there.doc, pm_here.doc);
    assert_eq!(pm_there.updated_by.as_deref(), Some("rita"));
    assert_eq!(pm_there.regression_cases, pm_here.regression_cases);
    assert_eq!(pm_there.regression_cases.len(), 1);
    assert_eq!(
        pm_there.regression_cases[0].origin,
        format!("postmortem:{}", incident.id)
    );
    assert_eq!(
        ben.reg.open_actions("2026-01-01").unwrap(),
        rita.reg.open_actions("2026-01-01").unwrap()
    );
    assert_eq!(ben.reg.open_actions("2026-01-01").unwrap().len(), 1);
    assert_eq!(
        ben.reg.export_postmortem(&incident.id).unwrap(),
        rita.reg.export_postmortem(&incident.id).unwrap()
    );

    // ben (a reviewer) resolves it on his machine; rita and ana see it resolved.
    ben.reg.resolve_incident(&incident.id).unwrap();
    settle(&mut [&mut ben, &mut rita, &mut ana]);
    let resolved = ben.reg.incident(&incident.id).unwrap();
    assert_eq!(resolved.status, "resolved");
    for m in [&rita, &ana] {
        assert_eq!(
            m.reg.incident(&incident.id).unwrap(),
            resolved,
            "{}",
            m.name
        );
        assert_eq!(
            story(&m.reg.incident_detail(&incident.id).unwrap()),
            story(&ben.reg.incident_detail(&incident.id).unwrap()),
            "{}",
            m.name
        );
    }
    for m in [&ana, &ben, &rita] {
        let report = m.reg.verify().unwrap();
        assert!(
            report.problems.is_empty(),
            "{}: {:?}",
            m.name,
            report.problems
        );
    }
}

#[test]
fn two_suites_of_one_name_made_offline_the_second_is_refused_and_kept_where_it_was_made() {
    let server = Server::start();
    let mut ana = Member::join(&server, "ana", Role::Editor);
    let mut ben = Member::join(&server, "ben", Role::Reviewer);
    new_prompt(&mut ana, REFUND, "Dear {{ name }}.");
    ana.sync();
    ben.sync();

    ana.reg.create_suite(REFUND, "smoke", "ana's").unwrap();
    ana.reg
        .add_cases(REFUND, "smoke", vec![case("Ana", "Ana")], "", false)
        .unwrap();
    let bens = ben.reg.create_suite(REFUND, "smoke", "ben's").unwrap();
    let bens_cases = ben
        .reg
        .add_cases(REFUND, "smoke", vec![case("Ben", "Ben")], "", false)
        .unwrap();
    let r = ana.sync();
    assert!(r.refused.is_empty(), "{r:?}");
    let r = ben.sync();
    assert_eq!(r.refused.len(), 2, "the suite and its cases: {r:?}");
    let first = &r.refused[0];
    assert!(
        first.message.contains("smoke") && first.message.contains("ana created it first"),
        "the refusal names who made the suite first: {}",
        first.message
    );
    assert!(
        r.refused[1].message.contains("not on the server"),
        "{}",
        r.refused[1].message
    );

    // ben has ana's smoke (the server's), and his own under another name, cases and all.
    let smoke = ben.reg.suite(REFUND, "smoke").unwrap();
    assert_eq!(smoke, ana.reg.suite(REFUND, "smoke").unwrap());
    let kept = ben.reg.suite(REFUND, "smoke.local").unwrap();
    assert_eq!(kept.suite.id, bens.id);
    assert_eq!(kept.cases, bens_cases);
    let state = ben.reg.sync_state().unwrap();
    assert_eq!(state.pending, 0);
    let mut kinds: Vec<&str> = state.refused.iter().map(|r| r.kind.as_str()).collect();
    kinds.sort();
    assert_eq!(kinds, ["suite.cases_added", "suite.created"]);
    let created = state
        .refused
        .iter()
        .find(|r| r.kind == "suite.created")
        .unwrap();
    assert!(
        created.message.contains("kept here as smoke.local"),
        "{}",
        created.message
    );
    let renamed = ben
        .reg
        .ledger(Some(REFUND), 0, 10_000)
        .unwrap()
        .into_iter()
        .find(|e| e.kind == "suite.renamed")
        .expect("the ledger says where ben's suite went");
    assert_eq!(renamed.payload["to"], "smoke.local");

    // What ben adds to the shared suite from now on is shared.
    ben.reg
        .add_cases(REFUND, "smoke", vec![case("Cy", "Cy")], "", false)
        .unwrap();
    settle(&mut [&mut ana, &mut ben]);
    let a = ana.reg.suite(REFUND, "smoke").unwrap();
    assert_eq!(a, ben.reg.suite(REFUND, "smoke").unwrap());
    assert_eq!(a.cases.len(), 2);
    assert!(ana.reg.suite(REFUND, "smoke.local").is_err());

    // A viewer's suite is refused by role, and stays theirs.
    let mut vic = Member::join(&server, "vic", Role::Viewer);
    vic.sync();
    vic.reg.create_suite(REFUND, "tone", "").unwrap();
    let r = vic.sync();
    assert_eq!(r.refused.len(), 1, "{r:?}");
    assert!(r.refused[0].message.contains("editor"), "{:?}", r.refused);
    assert!(vic.reg.suite(REFUND, "tone").is_ok());
    // The refused suites, the one kept as smoke.local and the shared one all verify where they
    // are.
    assert_verifies(&[&ana, &ben, &vic]);
}

#[test]
fn large_imports_travel_in_batches_and_pages_and_one_too_large_is_refused() {
    let server = Server::start();
    let mut ana = Member::join(&server, "ana", Role::Editor);
    let mut ben = Member::join(&server, "ben", Role::Reviewer);
    new_prompt(&mut ana, REFUND, "Dear {{ name }}.");
    let long = "x".repeat(10_000);
    let import = |round: usize, n: usize| -> Vec<CaseInput> {
        (0..n)
            .map(|i| CaseInput {
                vars: json!({ "name": format!("{round}-{i}"), "history": long })
                    .as_object()
                    .cloned()
                    .unwrap(),
                ..Default::default()
            })
            .collect()
    };
    // Three imports of about 4.5 MiB of event each: together more than the server takes in one
    // request (16 MiB) and than the client reads in one answer (10 MiB).
    for round in 0..3 {
        ana.reg
            .add_cases(REFUND, "bulk", import(round, 200), "import:bulk.csv", true)
            .unwrap();
    }
    let r = ana.sync();
    assert!(r.refused.is_empty(), "{r:?}");
    assert_eq!(r.pushed, 6, "{r:?}");
    ben.sync();
    let a = ana.reg.suite(REFUND, "bulk").unwrap();
    assert_eq!(a.cases.len(), 600);
    assert_eq!(a, ben.reg.suite(REFUND, "bulk").unwrap());

    // One import too large for a single change is refused, stays with ana, and holds up
    // nothing: the next changes go through.
    ana.reg
        .add_cases(REFUND, "bulk", import(3, 350), "import:huge.csv", false)
        .unwrap();
    ana.reg
        .add_cases(REFUND, "bulk", import(4, 1), "", false)
        .unwrap();
    let r = ana.sync();
    assert_eq!(r.refused.len(), 1, "{r:?}");
    assert!(r.refused[0].message.contains("MiB"), "{:?}", r.refused);
    assert_eq!(ana.reg.suite(REFUND, "bulk").unwrap().cases.len(), 951);
    ben.sync();
    assert_eq!(ben.reg.suite(REFUND, "bulk").unwrap().cases.len(), 601);
}

#[test]
fn suites_made_before_they_synced_are_pushed_after_the_upgrade() {
    let server = Server::start();
    let mut ana = Member::join(&server, "ana", Role::Editor);
    let mut ben = Member::join(&server, "ben", Role::Reviewer);
    new_prompt(&mut ana, REFUND, "Dear {{ name }}.");
    ana.sync();
    ana.reg
        .add_cases(REFUND, "smoke", vec![case("Ana", "Ana")], "", true)
        .unwrap();
    // As an older Promptdesk leaves a registry: its outbox mark past the suite's entries, which
    // were not of a kind that synced then.
    let conn = ana.reg.connection();
    let head: i64 = conn
        .query_row("SELECT max(seq) FROM ledger", [], |r| r.get(0))
        .unwrap();
    for (key, value) in [
        ("sync.outbox_done_upto", head.to_string()),
        (
            "sync.outbox_kinds",
            "the kinds of an older version".to_string(),
        ),
    ] {
        conn.execute(
            "INSERT INTO settings (key, value) VALUES (?1, ?2)
             ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            [key, &value],
        )
        .unwrap();
    }
    assert_eq!(ana.reg.sync_state().unwrap().pending, 2);
    let r = ana.sync();
    assert_eq!((r.pushed, r.duplicates), (2, 0), "{r:?}");
    ben.sync();
    assert_eq!(
        ben.reg.suite(REFUND, "smoke").unwrap(),
        ana.reg.suite(REFUND, "smoke").unwrap()
    );
    assert_eq!(ana.reg.sync_state().unwrap().pending, 0);
}
