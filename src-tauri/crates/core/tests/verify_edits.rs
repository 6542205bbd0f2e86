//! `verify` against someone with write access to the registry file: a realistic registry (the
//! demo, a team with roles, a review with an approval and a signed release, a policy change, a
//! suite gate, a suite with cases added, edited and removed, an eval run and a rating, an
//! incident with a note, a rollback from it and a postmortem) verifies clean; then each derived
//! table is edited behind the ledger's back on a fresh copy, and `verify` must name the table and
//! the row. Policies and roles edited for the length of one release and put back are found by
//! judging the release again under what the ledger had in force.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use promptdesk_content::{sha256_hex, Body};
use promptdesk_core::eval::{
    assertions::parse_short, cache_key, CaseInput, Outcome, ReplyFacts, RunStatus,
};
use promptdesk_core::incidents::{ActionItem, NewIncident, PostmortemDoc};
use promptdesk_core::policy::{FreezeWindow, Policy, Role, SuiteRequirement};
use promptdesk_core::release::ReleaseRequest;
use promptdesk_core::signing::MemorySigner;
use promptdesk_core::{Ref, Registry, RenderTarget};
use promptdesk_template::render_in_process;
use serde_json::json;

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
    let mut seed = [7u8; 32];
    for (i, b) in who.bytes().enumerate() {
        seed[i % 32] ^= b;
    }
    reg.set_actor(who);
    reg.set_signer(Box::new(MemorySigner::from_seed(seed)));
}

fn case(description: &str, name: &str, days: u32, asserts: &[&str]) -> CaseInput {
    CaseInput {
        description: description.into(),
        vars: json!({"customer_name": name, "order_id": "Z-1", "days_since_purchase": days, "product": "a hat"})
            .as_object()
            .cloned()
            .unwrap(),
        expected: None,
        assertions: asserts.iter().map(|a| parse_short(a).unwrap()).collect(),
        tags: vec!["refunds".into()],
    }
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

fn release(
    reg: &mut Registry,
    n: u32,
    label: &str,
    changelog: &str,
) -> promptdesk_core::Result<promptdesk_core::release::Release> {
    reg.release(
        REFUND,
        Some(&Ref::Number(n)),
        label,
        ReleaseRequest {
            changelog,
            ..Default::default()
        },
    )
}

/// The registry every attack starts from, and a clean copy of its file.
struct Base {
    dir: tempfile::TempDir,
    file: PathBuf,
}

fn base() -> Base {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("registry.db");
    let (mut reg, _) = Registry::init(&path).unwrap();
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

    // v4 is reviewed, approved and released to production, signed.
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
    reg.comment(review.number, "Reads well", None, None)
        .unwrap();
    reg.approve(review.number, "Friendlier indeed").unwrap();
    as_(&mut reg, "rita");
    release(&mut reg, 4, "production", "Shorter, friendlier reply").unwrap();

    // Policy changes: production gains a (past) freeze window; canary is gated by the suite.
    as_(&mut reg, "root");
    let mut production = reg.policy("production").unwrap();
    production.freeze_windows.push(FreezeWindow {
        from: "2020-01-01T00:00:00Z".into(),
        to: "2020-01-02T00:00:00Z".into(),
        reason: "new year".into(),
    });
    reg.set_policy("production", &production).unwrap();
    let canary = Policy {
        required_suite: Some(SuiteRequirement {
            suite: "regression".into(),
            min_pass_rate: 0.0,
            no_regressions: false,
        }),
        ..Policy::unprotected()
    };
    reg.set_policy("canary", &canary).unwrap();

    // The suite: cases added, one edited, one removed; a run of v4 and a rating.
    as_(&mut reg, "ana");
    let added = reg
        .add_cases(
            REFUND,
            "regression",
            vec![
                case("late", "Noor", 40, &["icontains: store credit"]),
                case("early", "Omar", 2, &["contains: Omar"]),
            ],
            "import:more.csv",
            false,
        )
        .unwrap();
    reg.update_case(
        REFUND,
        "regression",
        &added[0].id,
        case("late, edited", "Noor", 41, &["icontains: credit"]),
    )
    .unwrap();
    reg.remove_case(REFUND, "regression", &added[1].id).unwrap();
    echo_run(&mut reg, 4, "regression");
    reg.rate_output(REFUND, &Ref::Number(4), &added[0].id, "good", "")
        .unwrap();
    // The gate counts that run: v4 goes to canary.
    release(&mut reg, 4, "canary", "Try it on canary").unwrap();

    // An incident on the production release, a note, the rollback from it, a postmortem.
    as_(&mut reg, "ben");
    let incident = reg
        .open_incident(NewIncident {
            title: "Refund answers lost the policy".into(),
            severity: "SEV2".into(),
            detection: "user_reports".into(),
            prompt: REFUND.into(),
            ..Default::default()
        })
        .unwrap();
    reg.add_incident_note(&incident.id, None, "Three tickets in ten minutes")
        .unwrap();
    as_(&mut reg, "rita");
    reg.incident_rollback(&incident.id, "").unwrap();
    as_(&mut reg, "ben");
    reg.save_postmortem(
        &incident.id,
        PostmortemDoc {
            summary: "The shorter reply dropped the policy".into(),
            actions: vec![ActionItem {
                id: String::new(),
                text: "Add a regression case".into(),
                owner: "ana".into(),
                due: "2026-12-01".into(),
                status: "open".into(),
            }],
            ..Default::default()
        },
    )
    .unwrap();

    // v5, not reviewed yet, on staging.
    as_(&mut reg, "ana");
    let mut draft = reg.draft(REFUND).unwrap().content;
    match &mut draft.body {
        Body::Text { template } => template.push_str(" Thanks!"),
        Body::Chat { messages } => messages[0].template.push_str(" Thanks!"),
    }
    reg.save_draft(REFUND, draft).unwrap();
    reg.commit(REFUND, "Say thanks").unwrap();
    reg.set_label(REFUND, Some(&Ref::Number(5)), "staging", "try v5")
        .unwrap();

    let report = reg.verify().unwrap();
    assert!(report.problems.is_empty(), "{:#?}", report.problems);
    let file = dir.path().join("base.db");
    reg.connection()
        .execute("VACUUM INTO ?1", [file.to_str().unwrap()])
        .unwrap();
    Base { dir, file }
}

impl Base {
    /// A fresh copy of the base registry's file.
    fn copy(&self, name: &str) -> PathBuf {
        let path = self.dir.path().join(format!("{name}.db"));
        std::fs::copy(&self.file, &path).unwrap();
        path
    }

    fn query(&self, sql: &str) -> String {
        let conn = rusqlite::Connection::open(&self.file).unwrap();
        conn.query_row(sql, [], |r| r.get(0)).unwrap()
    }
}

/// Edits `path` directly, as someone with the file and the sqlite3 shell would.
fn tamper(path: &Path, sql: &str) {
    let conn = rusqlite::Connection::open(path).unwrap();
    conn.execute_batch(sql).unwrap();
}

fn problems(path: &Path) -> Vec<String> {
    Registry::open(path).unwrap().verify().unwrap().problems
}

fn assert_named(problems: &[String], wanted: &[&str]) {
    for w in wanted {
        assert!(
            problems.iter().any(|p| p.contains(w)),
            "no problem mentions {w:?}; verify said: {problems:#?}"
        );
    }
}

fn refund_hash(b: &Base, n: u32) -> String {
    b.query(&format!(
        "SELECT v.hash FROM versions v JOIN prompts p ON p.id = v.prompt_id
         WHERE p.name = '{REFUND}' AND v.number = {n}"
    ))
}

#[test]
fn every_derived_table_edited_behind_the_ledgers_back_is_named_with_its_key() {
    let b = base();
    assert!(problems(&b.copy("untouched")).is_empty());
    let refund = format!("(SELECT id FROM prompts WHERE name = '{REFUND}')");
    let v2 = refund_hash(&b, 2);
    let v3 = refund_hash(&b, 3);
    let rita_key = b.query("SELECT key_id FROM signing_keys WHERE person = 'rita'");
    let review = b.query("SELECT CAST(number AS TEXT) FROM reviews ORDER BY number DESC LIMIT 1");
    let approval =
        b.query("SELECT id FROM review_events WHERE kind = 'approve' ORDER BY seq DESC LIMIT 1");
    let released = b.query("SELECT id FROM releases WHERE kind = 'release' AND label = 'production' ORDER BY seq DESC LIMIT 1");
    let rolled_back =
        b.query("SELECT id FROM releases WHERE kind = 'rollback' ORDER BY seq DESC LIMIT 1");
    let suite = b.query("SELECT id FROM suites WHERE name = 'regression'");
    let edited_case = b.query("SELECT id FROM suite_cases WHERE description = 'late, edited'");
    let first_case = b.query("SELECT id FROM suite_cases ORDER BY position LIMIT 1");
    let rating = b.query("SELECT id FROM ratings LIMIT 1");
    let incident = b.query("SELECT id FROM incidents LIMIT 1");
    let note = b.query("SELECT id FROM incident_notes LIMIT 1");
    let run = b.query("SELECT id FROM eval_runs LIMIT 1");
    let swapped_key = "ab".repeat(32);

    let cases: Vec<(&str, String, Vec<String>)> = vec![
        (
            "production pointed at an unapproved version",
            format!("UPDATE labels SET hash = '{v2}' WHERE prompt_id = {refund} AND name = 'production'"),
            vec![
                format!("labels: {REFUND}/production points at version 2 (#{}", &v2[..12]),
                format!("but the ledger moved it to version 3 (#{}", &v3[..12]),
            ],
        ),
        (
            "a label's mover rewritten",
            format!("UPDATE labels SET moved_by = 'mallory' WHERE prompt_id = {refund} AND name = 'staging'"),
            vec![format!("labels: {REFUND}/staging: moved_by is \"mallory\"")],
        ),
        (
            "latest pointed back",
            format!("UPDATE labels SET hash = '{v3}' WHERE prompt_id = {refund} AND name = 'latest'"),
            vec![format!("labels: {REFUND}/latest points at version 3")],
        ),
        (
            "a label_history row added",
            format!(
                "DROP TRIGGER label_history_is_append_only;
                 INSERT INTO label_history (prompt_id, label, from_hash, to_hash, actor, at, reason)
                 VALUES ({refund}, 'production', '{v3}', '{v2}', 'rita', '2026-11-20T09:00:00.000Z', 'quiet fix')"
            ),
            vec![format!("label_history: {REFUND}/production row #"), "is not in the ledger".into()],
        ),
        (
            "a label_history row's reason rewritten",
            "DROP TRIGGER label_history_is_append_only;
                 UPDATE label_history SET reason = 'CEO said so' WHERE id = (SELECT max(id) FROM label_history WHERE label = 'production')"
                .into(),
            vec![format!("label_history: {REFUND}/production row #"), "reason is \"CEO said so\"".into()],
        ),
        (
            "a policy row edited to 0 approvals",
            "UPDATE policies SET policy = json_set(policy, '$.required_approvals', 0) WHERE label = 'production'".into(),
            vec!["policies: production is".into(), "\"required_approvals\":0".into()],
        ),
        (
            "a policy row removed",
            "DELETE FROM policies WHERE label = 'canary'".into(),
            vec!["policies: canary is not set but the ledger set it to".into()],
        ),
        (
            "a role raised",
            "UPDATE roles SET role = 'admin' WHERE person = 'ana'".into(),
            vec!["roles: ana is admin but the ledger made them editor".into()],
        ),
        (
            "a role given to someone the ledger never named",
            "INSERT INTO roles (person, role, granted_by, granted_at) VALUES ('mallory', 'releaser', 'root', '2026-11-20T09:00:00.000Z')".into(),
            vec!["roles: mallory is releaser but the ledger never gave them a role".into()],
        ),
        (
            "a key's public key swapped",
            format!(
                "DROP TRIGGER signing_keys_are_append_only;
                 UPDATE signing_keys SET public_key = '{swapped_key}' WHERE key_id = '{rita_key}'"
            ),
            vec![format!("signing_keys: {rita_key}: public_key is \"{swapped_key}\"")],
        ),
        (
            "a review's version hash changed",
            format!(
                "DROP TRIGGER reviews_are_immutable;
                 UPDATE reviews SET version_hash = '{v3}' WHERE number = {review}"
            ),
            vec![format!("reviews: #{review} asks for version 3")],
        ),
        (
            "an approval's role raised",
            format!(
                "DROP TRIGGER review_events_are_append_only;
                 UPDATE review_events SET actor_role = 'admin' WHERE id = '{approval}'"
            ),
            vec![format!("review_events: {approval} (review #{review}): actor_role is \"admin\"")],
        ),
        (
            "an approval removed",
            format!(
                "DROP TRIGGER review_events_are_never_deleted;
                 DELETE FROM review_events WHERE id = '{approval}'"
            ),
            vec![format!("review_events: {approval} (review #{review}): ben's approve is in the ledger but not in the table")],
        ),
        (
            "a release row's changelog edited",
            format!(
                "DROP TRIGGER releases_are_append_only;
                 UPDATE releases SET changelog = 'Approved by the CEO' WHERE id = '{released}'"
            ),
            vec![format!("releases: release {released} of {REFUND} to production: changelog is \"Approved by the CEO\"")],
        ),
        (
            "a release row removed",
            format!(
                "DROP TRIGGER releases_are_never_deleted;
                 DELETE FROM releases WHERE id = '{rolled_back}'"
            ),
            vec![format!("releases: rollback {rolled_back} of {REFUND} to production is in the ledger but not in the table")],
        ),
        (
            "a version renumbered",
            format!("UPDATE versions SET number = 99 WHERE prompt_id = {refund} AND number = 5"),
            vec![format!("versions: {REFUND}@99 (#"), "is version 5 in the ledger".into()],
        ),
        (
            "a prompt's description rewritten",
            format!("UPDATE prompts SET description = 'nothing to see' WHERE id = {refund}"),
            vec![format!("prompts: {REFUND}: description is \"nothing to see\"")],
        ),
        (
            "a suite renamed",
            format!("UPDATE suites SET name = 'renamed' WHERE id = '{suite}'"),
            vec![format!("suites: {suite}: name is \"renamed\" but the ledger says \"regression\"")],
        ),
        (
            "a case's assertion weakened",
            format!("UPDATE suite_cases SET assertions = '[]' WHERE id = '{edited_case}'"),
            vec![format!("suite_cases: {edited_case}: assertions is []")],
        ),
        (
            "a case removed",
            format!("DELETE FROM suite_cases WHERE id = '{first_case}'"),
            vec![format!("suite_cases: {first_case}"), "is in the ledger but not in the table".into()],
        ),
        (
            "a rating flipped",
            format!("DROP TRIGGER ratings_are_append_only; UPDATE ratings SET rating = 'bad' WHERE id = '{rating}'"),
            vec![format!("ratings: {rating}: rating is \"bad\" but the ledger says \"good\"")],
        ),
        (
            "an eval run's outcome improved",
            format!("UPDATE eval_runs SET passed = 99 WHERE id = '{run}'"),
            vec![format!("eval_runs: {run}: passed is 99")],
        ),
        (
            "an incident closed quietly",
            format!("UPDATE incidents SET status = 'resolved' WHERE id = '{incident}'"),
            vec![format!("incidents: {incident}: status is \"resolved\" but the ledger says \"mitigated\"")],
        ),
        (
            "an incident note rewritten",
            format!("UPDATE incident_notes SET text = 'all fine' WHERE id = '{note}'"),
            vec![format!("incident_notes: {note}: text is \"all fine\"")],
        ),
        (
            "a postmortem rewritten",
            format!("UPDATE postmortems SET doc = json_set(doc, '$.summary', 'nobody knows') WHERE incident_id = '{incident}'"),
            vec![format!("postmortems: {incident}: doc is")],
        ),
    ];
    for (i, (what, sql, wanted)) in cases.iter().enumerate() {
        let copy = b.copy(&format!("attack{i}"));
        tamper(&copy, sql);
        let found = problems(&copy);
        let wanted: Vec<&str> = wanted.iter().map(String::as_str).collect();
        assert!(!found.is_empty(), "{what}: verify found nothing");
        for w in &wanted {
            assert!(
                found.iter().any(|p| p.contains(w)),
                "{what}: no problem mentions {w:?}; verify said: {found:#?}"
            );
        }
    }
}

#[test]
fn a_released_versions_content_rewritten_with_its_hash_is_named() {
    let b = base();
    let copy = b.copy("content");
    let reg = Registry::open(&copy).unwrap();
    let v4 = reg.resolve(REFUND, Some(&Ref::Number(4))).unwrap();
    drop(reg);
    let mut content = v4.content.clone();
    match &mut content.body {
        Body::Text { template } => template.push_str(" Refunds are never possible."),
        Body::Chat { messages } => messages[0]
            .template
            .push_str(" Refunds are never possible."),
    }
    let bytes = content.canonical_bytes();
    let forged = sha256_hex(&bytes);
    // The attacker keeps the file consistent: content and hash together, and every row that
    // names the old hash follows.
    let conn = rusqlite::Connection::open(&copy).unwrap();
    conn.execute_batch(
        "PRAGMA foreign_keys = OFF;
         DROP TRIGGER versions_are_immutable; DROP TRIGGER reviews_are_immutable;
         DROP TRIGGER releases_are_append_only; DROP TRIGGER label_history_is_append_only;",
    )
    .unwrap();
    let text = String::from_utf8(bytes).unwrap();
    conn.execute(
        "UPDATE versions SET content = ?3, hash = ?2 WHERE hash = ?1",
        [&v4.hash, &forged, &text],
    )
    .unwrap();
    for sql in [
        "UPDATE labels SET hash = ?2 WHERE hash = ?1",
        "UPDATE label_history SET to_hash = ?2 WHERE to_hash = ?1",
        "UPDATE label_history SET from_hash = ?2 WHERE from_hash = ?1",
        "UPDATE reviews SET version_hash = ?2 WHERE version_hash = ?1",
        "UPDATE releases SET to_hash = ?2 WHERE to_hash = ?1",
        "UPDATE releases SET from_hash = ?2 WHERE from_hash = ?1",
    ] {
        conn.execute(sql, [&v4.hash, &forged]).unwrap();
    }
    drop(conn);
    let found = problems(&copy);
    assert_named(
        &found,
        &[&format!(
            "versions: {REFUND}@4 has hash #{}… but the ledger recorded #{}… for version 4",
            &forged[..12],
            &v4.hash[..12]
        )],
    );
    // The label that serves it, its releases and their signatures are named too.
    assert_named(
        &found,
        &[
            &format!("labels: {REFUND}/canary points at #{}", &forged[..12]),
            &format!("label_history: {REFUND}/production"),
            &format!(
                "releases: release {} of {REFUND} to production moves it",
                b.query("SELECT id FROM releases WHERE kind = 'release' AND label = 'production' ORDER BY seq DESC LIMIT 1")
            ),
            "signatures: release of support/refund-reply to production by rita",
        ],
    );
}

/// Sets the production policy row to `policy` (JSON text) on `path`.
fn set_policy_row(path: &Path, policy: &str) {
    let conn = rusqlite::Connection::open(path).unwrap();
    conn.execute(
        "UPDATE policies SET policy = ?1 WHERE label = 'production'",
        [policy],
    )
    .unwrap();
}

fn open_as(path: &Path, who: &str) -> Registry {
    let mut reg = Registry::open(path).unwrap();
    as_(&mut reg, who);
    reg
}

#[test]
fn a_policy_edited_to_no_approvals_and_then_a_release_is_named() {
    let b = base();
    let copy = b.copy("zero");
    let original = b.query("SELECT policy FROM policies WHERE label = 'production'");
    let zero = original.replace("\"required_approvals\":1", "\"required_approvals\":0");
    assert_ne!(zero, original);
    set_policy_row(&copy, &zero);
    // v5 has no approval; with the row edited the registry lets rita ship it.
    let mut reg = open_as(&copy, "rita");
    let shipped = release(&mut reg, 5, "production", "Sneak it in").unwrap();
    drop(reg);
    let found = problems(&copy);
    assert_named(
        &found,
        &[
            "policies: production is",
            &format!(
                "releases: release {} of {REFUND} to production by rita",
                shipped.id
            ),
            "was not allowed by the policy the ledger had in force then",
            "1 approval of version 5",
        ],
    );
}

#[test]
fn a_policy_edited_for_one_release_and_put_back_is_named() {
    let b = base();
    let copy = b.copy("restored");
    let original = b.query("SELECT policy FROM policies WHERE label = 'production'");
    set_policy_row(
        &copy,
        &original.replace("\"required_approvals\":1", "\"required_approvals\":0"),
    );
    let mut reg = open_as(&copy, "rita");
    let shipped = release(&mut reg, 5, "production", "Sneak it in").unwrap();
    drop(reg);
    set_policy_row(&copy, &original);
    let found = problems(&copy);
    assert!(
        !found.iter().any(|p| p.starts_with("policies:")),
        "{found:#?}"
    );
    assert_named(
        &found,
        &[
            &format!(
                "releases: release {} of {REFUND} to production by rita",
                shipped.id
            ),
            "1 approval of version 5 from reviewers other than its author ana: 0 so far",
        ],
    );
}

#[test]
fn a_role_raised_for_one_release_and_put_back_is_named() {
    let b = base();
    let copy = b.copy("role");
    // ben approves v5 properly, then is made a releaser behind the ledger's back for as long as
    // it takes to ship it himself.
    let mut reg = open_as(&copy, "ana");
    let review = reg
        .request_review(REFUND, Some(&Ref::Number(5)), "production", "Thanks")
        .unwrap();
    as_(&mut reg, "ben");
    reg.approve(review.number, "ok").unwrap();
    drop(reg);
    tamper(
        &copy,
        "UPDATE roles SET role = 'releaser' WHERE person = 'ben'",
    );
    let mut reg = open_as(&copy, "ben");
    let shipped = release(&mut reg, 5, "production", "Ship it myself").unwrap();
    drop(reg);
    tamper(
        &copy,
        "UPDATE roles SET role = 'reviewer' WHERE person = 'ben'",
    );
    let found = problems(&copy);
    assert!(!found.iter().any(|p| p.starts_with("roles:")), "{found:#?}");
    assert_named(
        &found,
        &[
            &format!(
                "releases: release {} of {REFUND} to production by ben",
                shipped.id
            ),
            "ben is a reviewer; only a releaser or above may promote to production",
        ],
    );
}

#[test]
fn the_same_steps_through_the_registry_verify_clean() {
    // The counterpart of the attacks above: the same release made with the approval it needs.
    let b = base();
    let copy = b.copy("honest");
    let mut reg = open_as(&copy, "ana");
    let review = reg
        .request_review(REFUND, Some(&Ref::Number(5)), "production", "Thanks")
        .unwrap();
    as_(&mut reg, "ben");
    reg.approve(review.number, "ok").unwrap();
    as_(&mut reg, "rita");
    release(&mut reg, 5, "production", "Say thanks").unwrap();
    reg.rollback(
        REFUND,
        "production",
        promptdesk_core::release::RollbackRequest {
            reason: "back again",
            ..Default::default()
        },
    )
    .unwrap();
    let report = reg.verify().unwrap();
    assert!(report.problems.is_empty(), "{:#?}", report.problems);
}

#[test]
fn an_imported_registry_verifies_and_its_imported_records_are_checked_whole() {
    let b = base();
    let source = Registry::open(&b.file).unwrap();
    let export = b.dir.path().join("export");
    promptdesk_core::export::export(&source, &export).unwrap();
    drop(source);
    let path = b.dir.path().join("imported.db");
    let (mut copy, _) = Registry::init(&path).unwrap();
    copy.set_actor("root");
    promptdesk_core::export::import(&mut copy, &export).unwrap();
    let report = copy.verify().unwrap();
    assert!(report.problems.is_empty(), "{:#?}", report.problems);
    drop(copy);

    // An imported release's entry carries the whole record: its stored decision is compared
    // too, and an imported label move's time.
    let released = b.query(
        "SELECT id FROM releases WHERE kind = 'release' AND label = 'production'
         ORDER BY seq DESC LIMIT 1",
    );
    tamper(
        &path,
        &format!(
            "DROP TRIGGER releases_are_append_only;
             UPDATE releases SET decision = json_set(decision, '$.allowed', json('false'))
               WHERE id = '{released}';
             UPDATE labels SET moved_at = '2030-01-01T00:00:00Z' WHERE name = 'production';"
        ),
    );
    assert_named(
        &problems(&path),
        &[
            &format!("releases: release {released} of {REFUND} to production: decision is"),
            &format!("labels: {REFUND}/production: moved_at is \"2030-01-01T00:00:00Z\""),
        ],
    );
}
