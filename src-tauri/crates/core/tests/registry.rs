//! The registry on a real temporary SQLite file: versions, includes, labels, refs, ledger,
//! export/import. Each test reads as the workflow it protects.

use promptdesk_content::{Body, ChatMessage, ModelSettings, PromptKind, VarType, Variable};
use promptdesk_core::export::{export, import};
use promptdesk_core::{DraftContent, Error, NewPrompt, Ref, Registry, RenderTarget};
use serde_json::{json, Map, Value};

fn registry() -> (tempfile::TempDir, Registry) {
    let dir = tempfile::tempdir().unwrap();
    let (mut reg, created) = Registry::init(&dir.path().join("registry.db")).unwrap();
    assert!(created);
    reg.set_actor("ana");
    let ticks = std::sync::atomic::AtomicU32::new(0);
    reg.set_clock(Box::new(move || {
        let tick = ticks.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
        format!("2026-11-20T10:{:02}:{:02}.000Z", tick / 60, tick % 60)
    }));
    (dir, reg)
}

fn text(t: &str) -> DraftContent {
    DraftContent {
        body: Body::Text { template: t.into() },
        variables: vec![],
        model: ModelSettings::default(),
    }
}

fn new_text(reg: &mut Registry, name: &str, template: &str) {
    reg.create_prompt(name, PromptKind::Text, NewPrompt::default())
        .unwrap();
    reg.save_draft(name, text(template)).unwrap();
}

fn vars(v: Value) -> Map<String, Value> {
    v.as_object().unwrap().clone()
}

fn render_in_process(reg: &Registry, target: RenderTarget<'_>, v: Value) -> String {
    let req = reg.render_request(target, &vars(v)).unwrap();
    promptdesk_template::render_in_process(&req)
        .unwrap()
        .to_plain_text()
}

fn ledger_len(reg: &Registry) -> usize {
    reg.ledger(None, 0, 100_000).unwrap().len()
}

#[test]
fn committing_a_draft_creates_an_immutable_content_addressed_version() {
    let (_d, mut reg) = registry();
    new_text(&mut reg, "support/hello", "Hello {{ name }}");
    let v1 = reg.commit("support/hello", "first").unwrap();
    assert_eq!(v1.number, 1);
    assert_eq!(v1.hash, v1.content.content_hash());
    assert_eq!(v1.parent_hash, None);
    assert_eq!(v1.author, "ana");

    reg.save_draft("support/hello", text("Hi {{ name }}"))
        .unwrap();
    let v2 = reg.commit("support/hello", "friendlier").unwrap();
    assert_eq!(v2.number, 2);
    assert_eq!(v2.parent_hash.as_deref(), Some(v1.hash.as_str()));
    let latest = reg
        .resolve("support/hello", Some(&Ref::Label("latest".into())))
        .unwrap();
    assert_eq!(latest.hash, v2.hash, "latest follows every commit");
    assert_eq!(
        reg.resolve("support/hello", Some(&Ref::Number(1))).unwrap(),
        v1
    );

    let err = reg
        .connection()
        .execute("UPDATE versions SET message = 'rewritten'", [])
        .unwrap_err();
    assert!(err.to_string().contains("immutable"), "{err}");
}

#[test]
fn the_same_content_twice_is_refused_and_nothing_changes() {
    let (_d, mut reg) = registry();
    new_text(&mut reg, "a", "x");
    reg.commit("a", "one").unwrap();
    let before = ledger_len(&reg);
    let err = reg.commit("a", "again").unwrap_err();
    assert!(matches!(err, Error::Conflict(_)), "{err}");
    assert!(err.to_string().contains("nothing to commit"), "{err}");
    reg.save_draft("a", text("y")).unwrap();
    reg.commit("a", "two").unwrap();
    reg.save_draft("a", text("x")).unwrap();
    let err = reg.commit("a", "back to one").unwrap_err();
    assert!(
        err.to_string().contains("a@1"),
        "points at the existing version: {err}"
    );
    assert_eq!(reg.history("a", None, 10).unwrap().len(), 2);
    assert_eq!(
        ledger_len(&reg),
        before + 1,
        "only the second commit was recorded"
    );
}

#[test]
fn a_syntax_error_blocks_the_commit_with_its_line_and_column() {
    let (_d, mut reg) = registry();
    new_text(&mut reg, "a", "line one\nHello {{ name }\n");
    let err = reg.commit("a", "broken").unwrap_err();
    let Error::Template(t) = &err else {
        panic!("expected a template error, got {err}")
    };
    let loc = t.location.as_ref().expect("a location");
    assert_eq!(loc.line, 2, "{err}");
    assert!(loc.source_line.contains("Hello {{ name }"), "{err}");
    assert!(err.to_string().contains("line 2"), "{err}");
    assert!(
        reg.history("a", None, 10).unwrap().is_empty(),
        "no version was created"
    );
    assert_eq!(
        reg.draft("a").unwrap().content,
        text("line one\nHello {{ name }\n"),
        "the draft is kept"
    );
}

#[test]
fn an_empty_changelog_is_refused() {
    let (_d, mut reg) = registry();
    new_text(&mut reg, "a", "x");
    let err = reg.commit("a", "   ").unwrap_err();
    assert!(
        err.to_string().contains("changelog message is required"),
        "{err}"
    );
}

#[test]
fn includes_are_pinned_when_a_version_is_committed() {
    let (_d, mut reg) = registry();
    new_text(&mut reg, "policies/refunds", "Refunds within 30 days.");
    reg.commit("policies/refunds", "v1").unwrap();
    new_text(
        &mut reg,
        "support/reply",
        "Dear {{ name }}. {% include \"policies/refunds\" %}",
    );
    let reply = reg.commit("support/reply", "v1").unwrap();
    assert_eq!(reply.content.includes.len(), 1);

    reg.save_draft("policies/refunds", text("Refunds within 14 days."))
        .unwrap();
    reg.commit("policies/refunds", "v2").unwrap();

    let pinned = render_in_process(&reg, RenderTarget::Version(&reply), json!({"name": "Ada"}));
    assert_eq!(
        pinned, "Dear Ada. Refunds within 30 days.",
        "the released version never changes"
    );
    let draft = render_in_process(
        &reg,
        RenderTarget::Draft("support/reply"),
        json!({"name": "Ada"}),
    );
    assert_eq!(
        draft, "Dear Ada. Refunds within 14 days.",
        "the draft follows the latest include"
    );
    let analysis = reg.analyse_draft("support/reply").unwrap();
    assert_eq!(analysis.includes.get("policies/refunds"), Some(&2));
}

#[test]
fn an_include_can_name_an_exact_version() {
    let (_d, mut reg) = registry();
    new_text(&mut reg, "p", "one");
    reg.commit("p", "1").unwrap();
    reg.save_draft("p", text("two")).unwrap();
    reg.commit("p", "2").unwrap();
    new_text(&mut reg, "q", "[{% include \"p@1\" %}]");
    assert_eq!(
        render_in_process(&reg, RenderTarget::Draft("q"), json!({})),
        "[one]"
    );
}

#[test]
fn include_cycles_and_unknown_includes_are_reported_where_they_are_written() {
    let (_d, mut reg) = registry();
    new_text(&mut reg, "a", "A");
    reg.commit("a", "1").unwrap();
    new_text(&mut reg, "b", "B {% include \"a\" %}");
    reg.commit("b", "1").unwrap();
    reg.save_draft("a", text("first line\nA {% include \"b\" %}"))
        .unwrap();
    let err = reg.commit("a", "cycle").unwrap_err();
    assert!(
        err.to_string().contains("include cycle: a → b → a"),
        "{err}"
    );

    reg.save_draft("a", text("x\ny\n{% include \"nope/missing\" %}"))
        .unwrap();
    let err = reg.commit("a", "unknown").unwrap_err();
    let msg = err.to_string();
    assert!(
        msg.contains("nope/missing") && msg.contains("line 3"),
        "{msg}"
    );

    reg.save_draft("a", text("{% include \"a\" %}")).unwrap();
    assert!(reg
        .commit("a", "self")
        .unwrap_err()
        .to_string()
        .contains("include cycle: a → a"));
    assert_eq!(reg.history("a", None, 10).unwrap().len(), 1);
}

#[test]
fn refs_resolve_numbers_labels_and_marked_hash_prefixes() {
    let (_d, mut reg) = registry();
    new_text(&mut reg, "a", "one");
    let v1 = reg.commit("a", "1").unwrap();
    reg.save_draft("a", text("two")).unwrap();
    let v2 = reg.commit("a", "2").unwrap();
    reg.set_label("a", Some(&Ref::Number(1)), "canary", "first release")
        .unwrap();

    assert_eq!(reg.resolve("a", None).unwrap().hash, v2.hash);
    assert_eq!(
        reg.resolve("a", Some(&Ref::Label("canary".into())))
            .unwrap()
            .hash,
        v1.hash
    );
    let prefix = Ref::parse(&format!("#{}", &v1.hash[..8])).unwrap();
    assert_eq!(reg.resolve("a", Some(&prefix)).unwrap().number, 1);

    let missing = reg
        .resolve("a", Some(&Ref::Number(9)))
        .unwrap_err()
        .to_string();
    assert!(
        missing.contains("no version 9") && missing.contains("1 to 2"),
        "{missing}"
    );
    let no_label = reg
        .resolve("a", Some(&Ref::Label("staging".into())))
        .unwrap_err()
        .to_string();
    assert!(
        no_label.contains("no label 'staging'") && no_label.contains("canary"),
        "{no_label}"
    );
    let unknown = reg.resolve("nope", None).unwrap_err().to_string();
    assert!(unknown.contains("no prompt named 'nope'"), "{unknown}");
}

#[test]
fn labels_keep_an_append_only_history_and_latest_is_reserved() {
    let (_d, mut reg) = registry();
    new_text(&mut reg, "a", "one");
    reg.commit("a", "1").unwrap();
    reg.save_draft("a", text("two")).unwrap();
    reg.commit("a", "2").unwrap();
    reg.set_actor("ben");
    reg.set_label("a", Some(&Ref::Number(2)), "canary", "ship it")
        .unwrap();
    reg.set_label("a", Some(&Ref::Number(1)), "canary", "roll back")
        .unwrap();

    let history = reg.label_history("a", Some("canary")).unwrap();
    assert_eq!(history.len(), 2);
    assert_eq!((history[0].from_number, history[0].to_number), (None, 2));
    assert_eq!((history[1].from_number, history[1].to_number), (Some(2), 1));
    assert_eq!(history[1].actor, "ben");
    assert_eq!(history[1].reason, "roll back");

    assert!(reg
        .set_label("a", Some(&Ref::Number(1)), "latest", "")
        .unwrap_err()
        .to_string()
        .contains("reserved"));
    assert!(reg
        .set_label("a", Some(&Ref::Number(1)), "Prod!", "")
        .is_err());
    assert!(reg
        .set_label("a", Some(&Ref::Number(1)), "canary", "")
        .unwrap_err()
        .to_string()
        .contains("already points"));
    let err = reg
        .connection()
        .execute("DELETE FROM label_history", [])
        .unwrap_err();
    assert!(err.to_string().contains("append-only"), "{err}");
}

#[test]
fn inputs_are_checked_against_the_schema_before_rendering() {
    let (_d, mut reg) = registry();
    reg.create_prompt("a", PromptKind::Text, NewPrompt::default())
        .unwrap();
    reg.save_draft(
        "a",
        DraftContent {
            body: Body::Text {
                template: "{{ name }} owes {{ total }}".into(),
            },
            variables: vec![
                Variable {
                    name: "name".into(),
                    ty: VarType::String,
                    required: true,
                    default: None,
                    description: None,
                },
                Variable {
                    name: "total".into(),
                    ty: VarType::Number,
                    required: false,
                    default: Some(json!(0)),
                    description: None,
                },
            ],
            model: ModelSettings::default(),
        },
    )
    .unwrap();
    let missing = reg
        .render_request(RenderTarget::Draft("a"), &vars(json!({})))
        .unwrap_err()
        .to_string();
    assert!(missing.contains("'name'"), "{missing}");
    let wrong = reg
        .render_request(
            RenderTarget::Draft("a"),
            &vars(json!({"name": "Ada", "total": "ten"})),
        )
        .unwrap_err()
        .to_string();
    assert!(
        wrong.contains("'total'") && wrong.contains("number"),
        "{wrong}"
    );
    assert_eq!(
        render_in_process(&reg, RenderTarget::Draft("a"), json!({"name": "Ada"})),
        "Ada owes 0"
    );
}

#[test]
fn drafts_of_the_wrong_kind_or_with_bad_names_are_refused() {
    let (_d, mut reg) = registry();
    reg.create_prompt("c", PromptKind::Chat, NewPrompt::default())
        .unwrap();
    assert!(reg
        .save_draft("c", text("x"))
        .unwrap_err()
        .to_string()
        .contains("chat prompt"));
    let bad_role = DraftContent {
        body: Body::Chat {
            messages: vec![ChatMessage {
                role: "System Prompt".into(),
                template: "x".into(),
            }],
        },
        variables: vec![],
        model: ModelSettings::default(),
    };
    assert!(reg
        .save_draft("c", bad_role)
        .unwrap_err()
        .to_string()
        .contains("message 1"));
    assert!(reg
        .commit("c", "empty chat")
        .unwrap_err()
        .to_string()
        .contains("no messages"));
    assert!(reg
        .create_prompt("Bad Name", PromptKind::Text, NewPrompt::default())
        .is_err());
    assert!(reg
        .create_prompt("c", PromptKind::Text, NewPrompt::default())
        .unwrap_err()
        .to_string()
        .contains("already exists"));
}

#[test]
fn list_and_search_find_prompts_by_folder_and_text() {
    let (_d, mut reg) = registry();
    new_text(
        &mut reg,
        "support/refund-reply",
        "We refund within 30 days.",
    );
    reg.commit("support/refund-reply", "1").unwrap();
    new_text(&mut reg, "support/triage", "Sort the message.");
    new_text(&mut reg, "supportive", "Be kind.");
    new_text(&mut reg, "sales/pitch", "Buy now.");

    let names =
        |l: Vec<promptdesk_core::PromptListing>| l.into_iter().map(|p| p.name).collect::<Vec<_>>();
    assert_eq!(
        names(reg.list(Some("support")).unwrap()),
        ["support/refund-reply", "support/triage"]
    );
    assert_eq!(reg.list(None).unwrap().len(), 4);
    assert_eq!(
        names(reg.search("within 30", 10).unwrap()),
        ["support/refund-reply"]
    );
    assert_eq!(
        names(reg.search("MESSAGE", 10).unwrap()),
        ["support/triage"],
        "case-insensitive"
    );
    assert_eq!(
        names(reg.search("pi", 10).unwrap()),
        ["sales/pitch"],
        "short queries match names"
    );
    let listing = reg.list(Some("support")).unwrap();
    assert_eq!(listing[0].latest, Some(1));
    assert!(!listing[0].has_changes);
    assert!(
        listing[1].has_changes,
        "a prompt without versions has changes to commit"
    );
}

#[test]
fn verify_detects_a_tampered_ledger_row_and_version() {
    let (dir, mut reg) = registry();
    new_text(&mut reg, "a", "x");
    reg.commit("a", "1").unwrap();
    let report = reg.verify().unwrap();
    assert!(report.problems.is_empty(), "{:?}", report.problems);
    assert_eq!(report.versions, 1);
    assert!(report.ledger_entries >= 3);
    drop(reg);

    // An attacker with the file drops the triggers and rewrites history.
    let conn = rusqlite::Connection::open(dir.path().join("registry.db")).unwrap();
    conn.execute_batch(
        "DROP TRIGGER ledger_is_append_only; UPDATE ledger SET actor = 'mallory' WHERE seq = 2;
         DROP TRIGGER versions_are_immutable; UPDATE versions SET content = replace(content, '\"x\"', '\"y\"');",
    )
    .unwrap();
    drop(conn);
    let reg = Registry::open(&dir.path().join("registry.db")).unwrap();
    let report = reg.verify().unwrap();
    let all = report.problems.join("\n");
    assert!(
        all.contains("ledger entry 2") && all.contains("altered"),
        "{all}"
    );
    assert!(
        all.contains("a@1: stored content does not match its hash"),
        "{all}"
    );
}

#[test]
fn export_then_import_reproduces_every_hash_label_and_history() {
    let (dir, mut reg) = registry();
    promptdesk_demo::seed(&mut reg).unwrap();
    let out = dir.path().join("export");
    let summary = export(&reg, &out).unwrap();
    assert_eq!(summary.prompts, 3);
    let first: Vec<(String, Vec<u8>)> = files(&out);
    export(&reg, &out).unwrap();
    assert_eq!(first, files(&out), "exporting twice gives identical bytes");

    let (mut copy, _) = Registry::init(&dir.path().join("copy.db")).unwrap();
    let imported = import(&mut copy, &out).unwrap();
    assert_eq!(imported.versions, summary.versions);
    for p in reg.list(None).unwrap() {
        let a = reg.history(&p.name, None, 100).unwrap();
        let b = copy.history(&p.name, None, 100).unwrap();
        assert_eq!(a, b, "history of {} must match", p.name);
        assert_eq!(reg.labels(&p.name).unwrap(), copy.labels(&p.name).unwrap());
        assert_eq!(
            reg.label_history(&p.name, None).unwrap(),
            copy.label_history(&p.name, None).unwrap()
        );
        assert_eq!(
            reg.samples(&p.name).unwrap(),
            copy.samples(&p.name).unwrap()
        );
    }
    assert!(copy.verify().unwrap().problems.is_empty());
    // Importing the same export again finds everything already there and writes nothing (a
    // prompt with other content is a conflict: see tests/export_release.rs).
    let again = import(&mut copy, &out).unwrap();
    assert_eq!((again.prompts, again.versions), (0, 0));
    let records = summary.signing_keys
        + summary.roles
        + summary.policies
        + summary.reviews
        + summary.review_events
        + summary.releases;
    assert_eq!(again.unchanged, summary.prompts + records);
}

#[test]
fn an_export_edited_by_hand_is_refused_before_anything_is_written() {
    let (dir, mut reg) = registry();
    promptdesk_demo::seed(&mut reg).unwrap();
    let out = dir.path().join("export");
    export(&reg, &out).unwrap();
    let file = out.join("prompts/support/refund-reply/_v0002.prompt");
    let text = std::fs::read_to_string(&file)
        .unwrap()
        .replace("5 business days", "3 business days");
    std::fs::write(&file, text).unwrap();
    let (mut copy, _) = Registry::init(&dir.path().join("copy.db")).unwrap();
    let err = import(&mut copy, &out).unwrap_err().to_string();
    assert!(
        err.contains("_v0002.prompt") && err.contains("does not match its recorded hash"),
        "{err}"
    );
    assert!(copy.list(None).unwrap().is_empty(), "nothing was imported");
}

#[test]
fn the_demo_states_the_refund_policy_in_production() {
    let (_d, mut reg) = registry();
    promptdesk_demo::seed(&mut reg).unwrap();
    let prod = reg
        .resolve(
            "support/refund-reply",
            Some(&Ref::Label("production".into())),
        )
        .unwrap();
    let samples = reg.samples("support/refund-reply").unwrap();
    let req = reg
        .render_request(RenderTarget::Version(&prod), &samples["within-window"])
        .unwrap();
    let out = promptdesk_template::render_in_process(&req)
        .unwrap()
        .to_plain_text();
    assert!(
        out.contains("30 days") && out.contains("original payment method"),
        "{out}"
    );
    assert!(reg.verify().unwrap().problems.is_empty());
}

fn files(root: &std::path::Path) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for e in std::fs::read_dir(&dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push((
                    p.strip_prefix(root).unwrap().display().to_string(),
                    std::fs::read(&p).unwrap(),
                ));
            }
        }
    }
    out.sort();
    out
}

#[test]
fn a_failing_import_leaves_the_registry_exactly_as_it_was() {
    let (dir, mut reg) = registry();
    promptdesk_demo::seed(&mut reg).unwrap();
    let out = dir.path().join("export");
    export(&reg, &out).unwrap();
    // The last prompt (by path) gets a label history entry with an invalid label name: every
    // earlier prompt imports fine before it fails, and must be undone with it.
    let record = out.join("prompts/support/triage/_prompt.yaml");
    let text = std::fs::read_to_string(&record)
        .unwrap()
        .replace("label: production", "label: Prod!");
    std::fs::write(&record, text.replace("  production: 2", "  Prod!: 2")).unwrap();
    let (mut copy, _) = Registry::init(&dir.path().join("copy.db")).unwrap();
    let before = ledger_len(&copy);
    let err = import(&mut copy, &out).unwrap_err().to_string();
    assert!(err.contains("Prod!"), "{err}");
    assert!(copy.list(None).unwrap().is_empty(), "nothing was imported");
    assert_eq!(ledger_len(&copy), before, "no event was recorded");
}

#[test]
fn floats_survive_storage_so_verify_and_export_stay_truthful() {
    let (dir, mut reg) = registry();
    new_text(&mut reg, "a", "{{ x }}");
    let mut draft = text("{{ x }}");
    draft
        .model
        .parameters
        .insert("temperature".into(), json!(1.5777777777770001));
    reg.save_draft("a", draft).unwrap();
    reg.save_sample("a", "s", &vars(json!({"x": 0.30000000000000004})))
        .unwrap();
    reg.commit("a", "1").unwrap();
    assert!(
        reg.verify().unwrap().problems.is_empty(),
        "{:?}",
        reg.verify().unwrap().problems
    );
    let out = dir.path().join("export");
    export(&reg, &out).unwrap();
    let (mut copy, _) = Registry::init(&dir.path().join("copy.db")).unwrap();
    import(&mut copy, &out).unwrap();
    assert_eq!(
        copy.history("a", None, 5).unwrap(),
        reg.history("a", None, 5).unwrap()
    );
}

#[test]
fn the_draft_diffs_against_its_version_with_includes_pinned() {
    let (_d, mut reg) = registry();
    new_text(&mut reg, "p", "policy");
    reg.commit("p", "1").unwrap();
    new_text(&mut reg, "q", "{% include \"p\" %}");
    let v = reg.commit("q", "1").unwrap();
    assert_eq!(reg.draft_as_version_content("q").unwrap(), v.content);
}

#[test]
fn renaming_moves_a_prompt_but_is_refused_while_others_include_it() {
    let (_d, mut reg) = registry();
    new_text(&mut reg, "policies/refunds", "Refunds within 30 days.");
    reg.commit("policies/refunds", "policy").unwrap();
    new_text(
        &mut reg,
        "support/reply",
        "{% include \"policies/refunds\" %}",
    );
    new_text(&mut reg, "support/other", "Hi");
    reg.commit("support/other", "first").unwrap();

    // A draft that includes it is enough to refuse: its renders would break.
    assert_eq!(
        reg.included_by("policies/refunds").unwrap(),
        ["support/reply"]
    );
    let before = ledger_len(&reg);
    let err = reg
        .rename_prompt("policies/refunds", "policies/returns")
        .unwrap_err();
    assert!(matches!(err, Error::Conflict(_)), "{err}");
    assert!(err.to_string().contains("support/reply"), "{err}");
    assert_eq!(ledger_len(&reg), before);

    // A committed version that includes it refuses too (its pin is looked up by name).
    reg.commit("support/reply", "uses the policy").unwrap();
    reg.save_draft("support/reply", text("no include now"))
        .unwrap();
    assert_eq!(
        reg.included_by("policies/refunds").unwrap(),
        ["support/reply"]
    );

    // An unreferenced prompt moves to another folder with its history, labels and search entry.
    let moved = reg.rename_prompt("support/other", "billing/other").unwrap();
    assert_eq!(moved.name, "billing/other");
    assert_eq!(reg.history("billing/other", None, 10).unwrap().len(), 1);
    assert!(matches!(
        reg.prompt("support/other"),
        Err(Error::NotFound(_))
    ));
    assert_eq!(reg.search("billing", 10).unwrap()[0].name, "billing/other");
    assert_eq!(
        reg.ledger(None, 0, 1000).unwrap().last().unwrap().kind,
        "prompt.renamed"
    );
    // Names are validated and taken names refused.
    assert!(matches!(
        reg.rename_prompt("billing/other", "Billing/Other"),
        Err(Error::InvalidName(_))
    ));
    assert!(matches!(
        reg.rename_prompt("billing/other", "support/reply"),
        Err(Error::Conflict(_))
    ));
    assert!(reg.verify().unwrap().problems.is_empty());
}

#[test]
fn unsaved_content_renders_without_touching_the_draft() {
    let (_d, mut reg) = registry();
    new_text(&mut reg, "policies/refunds", "30 days");
    reg.commit("policies/refunds", "policy").unwrap();
    new_text(&mut reg, "support/reply", "saved");
    let editing = text("Policy: {% include \"policies/refunds\" %} for {{ who }}");
    let out = render_in_process(
        &reg,
        RenderTarget::Content {
            name: "support/reply",
            content: &editing,
        },
        json!({"who": "Ada"}),
    );
    assert_eq!(out, "Policy: 30 days for Ada");
    assert_eq!(reg.draft("support/reply").unwrap().content, text("saved"));
    // An unknown prompt is an error, not a render of nothing.
    assert!(reg
        .render_request(
            RenderTarget::Content {
                name: "nope",
                content: &editing
            },
            &Map::new()
        )
        .is_err());
}

#[test]
fn a_half_typed_tag_does_not_call_declared_variables_unused() {
    let (_d, mut reg) = registry();
    new_text(&mut reg, "a", "Hi {{ name }}");
    let mut content = text("Hi {{ name }}\n{% if %}");
    content.variables = vec![Variable {
        name: "name".into(),
        ty: VarType::String,
        required: true,
        default: None,
        description: None,
    }];
    let report = reg.analyse("a", &content).unwrap();
    assert_eq!(report.errors.len(), 1);
    assert!(report.schema.unused.is_empty(), "{report:?}");
    content.body = Body::Text {
        template: "Hi there".into(),
    };
    assert_eq!(reg.analyse("a", &content).unwrap().schema.unused, ["name"]);
}
