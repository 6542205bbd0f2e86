//! The UI's command surface (`promptdesk_api::Api::dispatch`), on a real registry file with the
//! real render worker (this package's `promptdesk` binary). Both transports call exactly this.

use promptdesk_api::{Api, ApiErrorKind};
use serde_json::{json, Value};

fn api() -> (tempfile::TempDir, Api) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("registry.db");
    let worker = Api::worker_config(env!("CARGO_BIN_EXE_promptdesk").into());
    (dir, Api::open(&path, worker))
}

fn ok(api: &Api, command: &str, args: Value) -> Value {
    api.dispatch(command, args)
        .unwrap_or_else(|e| panic!("{command} failed: {e:?}"))
}

fn err(api: &Api, command: &str, args: Value) -> promptdesk_api::ApiError {
    match api.dispatch(command, args) {
        Ok(v) => panic!("{command} should fail, answered {v}"),
        Err(e) => e,
    }
}

fn text(template: &str, vars: Value) -> Value {
    json!({
        "body": {"kind": "text", "template": template},
        "variables": vars,
        "model": {"provider": "", "model": "", "parameters": {}},
    })
}

#[test]
fn a_writer_edits_previews_and_saves_versions_through_the_api() {
    let (_d, api) = api();
    let opened = ok(
        &api,
        "create_prompt",
        json!({"name": "support/hello", "kind": "text"}),
    );
    assert_eq!(opened["prompt"]["name"], "support/hello");
    assert_eq!(opened["has_changes"], true);
    assert_eq!(opened["latest"], Value::Null);

    let declared = json!([{"name": "name", "type": "string", "required": true, "default": null, "description": null}]);
    let content = text("Hello {{ name }}!", declared.clone());

    // The preview renders unsaved content through the worker.
    let preview = ok(
        &api,
        "preview_draft",
        json!({"name": "support/hello", "content": content, "inputs": {"name": "Ada"}}),
    );
    assert_eq!(
        preview["rendered"],
        json!({"kind": "text", "text": "Hello Ada!"})
    );
    assert_eq!(preview["error"], Value::Null);

    // A missing input and a syntax error are outcomes of the preview, located, not failures.
    let missing = ok(
        &api,
        "preview_draft",
        json!({"name": "support/hello", "content": content, "inputs": {}}),
    );
    assert_eq!(missing["error"]["kind"], "missing_input");
    let broken = text("Hello\n{{ name }\n", declared.clone());
    let syntax = ok(
        &api,
        "preview_draft",
        json!({"name": "support/hello", "content": broken, "inputs": {"name": "Ada"}}),
    );
    assert_eq!(syntax["error"]["kind"], "syntax");
    assert_eq!(syntax["error"]["location"]["line"], 2);
    assert_eq!(syntax["analysis"]["errors"][0]["location"]["line"], 2);

    // Undeclared variables are reported while editing.
    let saved = ok(
        &api,
        "save_draft",
        json!({"name": "support/hello", "content": text("Hi {{ who }}", json!([]))}),
    );
    assert_eq!(saved["analysis"]["schema"]["undeclared"], json!(["who"]));

    ok(
        &api,
        "save_draft",
        json!({"name": "support/hello", "content": content}),
    );
    let diff = ok(
        &api,
        "draft_diff",
        json!({"name": "support/hello", "inputs": {"name": "Ada"}}),
    );
    assert_eq!(diff["old_label"], "(nothing yet)");
    assert_eq!(diff["diff"]["template"]["added"], 1);
    assert!(diff["diff"]["rendered"].is_object());

    let refused = err(
        &api,
        "commit_version",
        json!({"name": "support/hello", "message": "  "}),
    );
    assert_eq!(refused.kind, ApiErrorKind::BadInput);
    let v1 = ok(
        &api,
        "commit_version",
        json!({"name": "support/hello", "message": "first"}),
    );
    assert_eq!(v1["number"], 1);

    ok(
        &api,
        "save_draft",
        json!({"name": "support/hello", "content": text("Welcome {{ name }}!", declared)}),
    );
    let v2 = ok(
        &api,
        "commit_version",
        json!({"name": "support/hello", "message": "warmer"}),
    );
    assert_eq!(v2["number"], 2);

    let page = ok(
        &api,
        "history",
        json!({"name": "support/hello", "limit": 1}),
    );
    assert_eq!(page["total"], 2);
    assert_eq!(page["versions"].as_array().unwrap().len(), 1);
    assert_eq!(page["versions"][0]["message"], "warmer");
    let older = ok(
        &api,
        "history",
        json!({"name": "support/hello", "before": 2}),
    );
    assert_eq!(older["versions"][0]["number"], 1);

    let diff = ok(
        &api,
        "diff_versions",
        json!({"name": "support/hello", "old": "1", "new": "2", "inputs": {"name": "Ada"}}),
    );
    assert_eq!(
        (diff["old_label"].as_str(), diff["new_label"].as_str()),
        (Some("support/hello@1"), Some("support/hello@2"))
    );
    let words: Vec<&str> = diff["diff"]["template"]["hunks"][0]["lines"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|l| l["spans"].as_array().unwrap())
        .filter(|s| s["changed"] == true)
        .map(|s| s["text"].as_str().unwrap())
        .collect();
    assert_eq!(words, ["Hello", "Welcome"]);
    assert!(diff["diff"]["rendered"]["text"]["hunks"].is_array());

    let listing = ok(&api, "list_prompts", json!({}));
    assert_eq!(listing[0]["latest"], 2);
    assert_eq!(listing[0]["has_changes"], false);
    assert_eq!(
        ok(&api, "search_prompts", json!({"query": "Welcome"}))[0]["name"],
        "support/hello"
    );
}

#[test]
fn bad_requests_get_a_kind_and_a_message_that_names_the_problem() {
    let (_d, api) = api();
    let e = err(
        &api,
        "create_prompt",
        json!({"name": "Bad Name", "kind": "text"}),
    );
    assert_eq!(e.kind, ApiErrorKind::BadInput);
    assert!(e.message.contains("Bad Name"), "{}", e.message);

    let e = err(&api, "open_prompt", json!({"name": "missing/prompt"}));
    assert_eq!(e.kind, ApiErrorKind::NotFound);
    assert!(e.message.contains("missing/prompt"), "{}", e.message);

    let e = err(&api, "no_such_command", json!({}));
    assert_eq!(e.kind, ApiErrorKind::BadInput);
    assert!(e.message.contains("no_such_command"));

    let e = err(&api, "open_prompt", json!({"nam": "x"}));
    assert_eq!(e.kind, ApiErrorKind::BadInput);
    assert!(
        e.message.contains("open_prompt") && e.message.contains("name"),
        "{}",
        e.message
    );

    ok(
        &api,
        "create_prompt",
        json!({"name": "a/b", "kind": "text"}),
    );
    let e = err(
        &api,
        "create_prompt",
        json!({"name": "a/b", "kind": "chat"}),
    );
    assert_eq!(e.kind, ApiErrorKind::Conflict);

    // A chat draft for a text prompt is refused and the saved draft is unchanged.
    let chat = json!({"body": {"kind": "chat", "messages": []}, "variables": [], "model": {"provider": "", "model": "", "parameters": {}}});
    let e = err(&api, "save_draft", json!({"name": "a/b", "content": chat}));
    assert_eq!(e.kind, ApiErrorKind::BadInput);
    let opened = ok(&api, "open_prompt", json!({"name": "a/b"}));
    assert_eq!(opened["draft"]["content"]["body"]["kind"], "text");

    // Commands without arguments accept null.
    assert_eq!(ok(&api, "app_info", Value::Null)["name"], "Promptdesk");
}

#[test]
fn a_template_that_eats_memory_fails_cleanly_and_the_next_preview_works() {
    let (_d, api) = api();
    ok(
        &api,
        "create_prompt",
        json!({"name": "bomb", "kind": "text"}),
    );
    // String doubling: 2^60 bytes, far past the worker's address-space limit.
    let bomb = text(
        "{% set ns = namespace(s='x') %}{% for i in range(60) %}{% set ns.s = ns.s ~ ns.s %}{% endfor %}{{ ns.s | length }}",
        json!([]),
    );
    let out = ok(
        &api,
        "preview_draft",
        json!({"name": "bomb", "content": bomb, "inputs": {}}),
    );
    assert!(out["rendered"].is_null());
    let kind = out["error"]["kind"].as_str().unwrap();
    assert!(
        [
            "out_of_memory",
            "out_of_fuel",
            "output_too_large",
            "timeout"
        ]
        .contains(&kind),
        "{out}"
    );
    let fine = text("still {{ 1 + 1 }}", json!([]));
    let out = ok(
        &api,
        "preview_draft",
        json!({"name": "bomb", "content": fine, "inputs": {}}),
    );
    assert_eq!(out["rendered"]["text"], "still 2");
}

#[test]
fn settings_identity_and_switching_registries() {
    let (dir, api) = api();
    let e = err(&api, "set_identity", json!({"name": "", "email": "x"}));
    assert_eq!(e.kind, ApiErrorKind::BadInput);
    let s = ok(
        &api,
        "set_identity",
        json!({"name": "Ada Writer", "email": "ada@example.com"}),
    );
    assert_eq!(s["identity"]["name"], "Ada Writer");
    if std::env::var_os("PROMPTDESK_USER").is_none() {
        assert_eq!(s["actor"], "Ada Writer");
    }

    // A path that cannot be a registry leaves the open one in place.
    let not_a_registry = dir.path().join("plain.txt");
    std::fs::write(&not_a_registry, "hello").unwrap();
    let e = err(&api, "open_registry", json!({"path": not_a_registry}));
    assert_ne!(e.kind, ApiErrorKind::NotFound);
    let before = ok(&api, "get_settings", json!({}));
    assert!(before["registry_path"]
        .as_str()
        .unwrap()
        .ends_with("registry.db"));

    let other = dir.path().join("other.db");
    let s = ok(&api, "open_registry", json!({"path": other}));
    assert!(s["registry_path"].as_str().unwrap().ends_with("other.db"));
    assert_eq!(ok(&api, "list_prompts", json!({})), json!([]));
}

#[test]
fn the_desktop_app_remembers_the_registry_picked_in_settings() {
    let dir = tempfile::tempdir().unwrap();
    let settings = dir.path().join("config").join("settings.json");
    assert_eq!(promptdesk_api::remembered_registry(&settings), None);
    let worker = Api::worker_config(env!("CARGO_BIN_EXE_promptdesk").into());
    let api = Api::open(&dir.path().join("a.db"), worker).remember_registry_in(settings.clone());
    let picked = dir.path().join("b.db");
    ok(&api, "open_registry", json!({"path": picked}));
    assert_eq!(promptdesk_api::remembered_registry(&settings), Some(picked));
    // A refused pick changes neither the open registry nor the remembered one.
    let e = err(&api, "open_registry", json!({"path": ""}));
    assert_eq!(e.kind, ApiErrorKind::BadInput);
    assert_eq!(
        promptdesk_api::remembered_registry(&settings),
        Some(dir.path().join("b.db"))
    );
}

#[test]
fn the_generated_typescript_declares_every_command() {
    let ts = promptdesk_api::typescript();
    for command in promptdesk_api::COMMANDS {
        assert!(
            ts.contains(&format!("  {command}: {{ req: ")),
            "{command} missing from Commands"
        );
    }
    assert!(ts.contains("export type ApiError = "));
    assert!(
        !ts.contains("bigint"),
        "ids and counts must be numbers in JSON"
    );
}

#[test]
fn review_approve_release_and_roll_back_through_the_api() {
    let (dir, api) = api();
    let api = api.key_files_in(dir.path().join("keys"));
    // Signing keys in plain files, chosen explicitly for the test; people switch by identity.
    let status = ok(&api, "choose_key_store", json!({"store": "files"}));
    assert_eq!(status["ok"], true, "{status}");
    std::env::remove_var("PROMPTDESK_USER");
    let who = |name: &str| {
        ok(
            &api,
            "set_identity",
            json!({"name": name, "email": format!("{name}@example.com")}),
        );
    };
    who("ana");
    ok(
        &api,
        "create_prompt",
        json!({"name": "faq", "kind": "text"}),
    );
    for (n, text) in [(1, "Answer: yes"), (2, "Answer: yes, within 30 days")] {
        ok(
            &api,
            "save_draft",
            json!({"name": "faq", "content": text_of(text)}),
        );
        assert_eq!(
            ok(
                &api,
                "commit_version",
                json!({"name": "faq", "message": format!("v{n}")})
            )["number"],
            n
        );
    }
    let review = ok(
        &api,
        "request_review",
        json!({"name": "faq", "reference": "1", "label": "production", "description": "first"}),
    );
    let number = review["number"].clone();

    let check = ok(
        &api,
        "check_release",
        json!({"name": "faq", "reference": "1", "label": "production", "changelog": "x"}),
    );
    assert_eq!(check["allowed"], false);
    let e = err(
        &api,
        "decide_review",
        json!({"number": number, "decision": "approve"}),
    );
    assert_eq!(e.kind, ApiErrorKind::PolicyRefused);
    assert!(e.message.contains("ana wrote faq@1"), "{}", e.message);

    who("ben");
    assert_eq!(ok(&api, "check_signing_key", json!({}))["ok"], true);
    ok(
        &api,
        "comment_review",
        json!({"number": number, "body": "ok?", "anchor": {"template": "template", "line": 1}}),
    );
    let approval = ok(
        &api,
        "decide_review",
        json!({"number": number, "decision": "approve", "body": "yes"}),
    );
    assert_eq!(approval["version"], 1);
    let detail = ok(&api, "review_detail", json!({"number": number}));
    assert_eq!(detail["review"]["status"], "approved");
    assert_eq!(detail["events"].as_array().unwrap().len(), 2);

    who("ana");
    let e = err(
        &api,
        "release_version",
        json!({"name": "faq", "reference": "1", "label": "production", "changelog": ""}),
    );
    assert_eq!(e.kind, ApiErrorKind::PolicyRefused);
    assert!(
        e.message.contains("a changelog is required"),
        "{}",
        e.message
    );
    // Production serves nothing yet: the reviewer's diff is from nothing, everything added.
    let from_nothing = ok(&api, "diff_versions", json!({"name": "faq", "new": "1"}));
    assert_eq!(from_nothing["old_label"], "(nothing yet)", "{from_nothing}");
    assert!(
        from_nothing["diff"]["template"]
            .to_string()
            .contains("insert"),
        "{from_nothing}"
    );
    let shipped = ok(
        &api,
        "release_version",
        json!({"name": "faq", "reference": "1", "label": "production", "changelog": "First FAQ"}),
    );
    assert_eq!(shipped["approvals"], json!(["ben"]));

    // v2 through review, then an incident: back to v1 in one call.
    let r2 = ok(
        &api,
        "request_review",
        json!({"name": "faq", "reference": "2", "label": "production"}),
    );
    who("ben");
    ok(
        &api,
        "decide_review",
        json!({"number": r2["number"], "decision": "approve"}),
    );
    who("ana");
    ok(
        &api,
        "release_version",
        json!({"name": "faq", "reference": "2", "label": "production", "changelog": "Say 30 days", "expect_from": "1"}),
    );
    // Before rolling back: where it would go and what the policy says, without a reason yet.
    let check = ok(
        &api,
        "check_rollback",
        json!({"name": "faq", "label": "production"}),
    );
    assert_eq!(
        (check["from"].as_u64(), check["to"].as_u64()),
        (Some(2), Some(1))
    );
    assert_eq!(check["decision"]["allowed"], false, "{check}");
    // The person saw v1 serving: a stale screen cannot roll back what serves now.
    let e = err(
        &api,
        "rollback_label",
        json!({"name": "faq", "label": "production", "reason": "Wrong window", "expect_from": "1"}),
    );
    assert_eq!(e.kind, ApiErrorKind::Conflict, "{}", e.message);
    let back = ok(
        &api,
        "rollback_label",
        json!({"name": "faq", "label": "production", "reason": "Wrong window", "expect_from": "2"}),
    );
    assert_eq!(
        (back["kind"].as_str(), back["to_version"].as_u64()),
        (Some("rollback"), Some(1))
    );
    let timeline = ok(&api, "list_releases", json!({"name": "faq"}));
    let kinds: Vec<&str> = timeline["releases"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["rollback", "release", "release"]);
    assert!(timeline["serving"]
        .as_array()
        .unwrap()
        .iter()
        .any(|l| l["name"] == "production" && l["number"] == 1));
    assert_eq!(
        ok(&api, "policy_of_label", json!({"label": "production"}))["policy"]["required_approvals"],
        1
    );
    // A bundle is all or nothing: production already serves v1, so staging does not move either.
    let e = err(
        &api,
        "release_bundle",
        json!({"items": [
            {"prompt": "faq", "ref": "1", "label": "staging", "changelog": ""},
            {"prompt": "faq", "ref": "1", "label": "production", "changelog": ""}
        ], "changelog": "Together"}),
    );
    assert_eq!(e.kind, ApiErrorKind::Conflict, "{}", e.message);
    let serving = ok(&api, "list_releases", json!({"name": "faq"}))["serving"].clone();
    assert!(!serving.to_string().contains("staging"), "{serving}");
    // Ben's approval of v2's content still stands, so v2 can go back out, with staging.
    let moved = ok(
        &api,
        "release_bundle",
        json!({"items": [
            {"prompt": "faq", "ref": "2", "label": "staging", "changelog": ""},
            {"prompt": "faq", "ref": "2", "label": "production", "changelog": ""}
        ], "changelog": "Fixed the window"}),
    );
    assert_eq!(moved.as_array().unwrap().len(), 2);
    assert_eq!(moved[0]["bundle"], moved[1]["bundle"]);
    let labels: Vec<Value> = serde_json::from_value(ok(&api, "list_policies", json!({}))).unwrap();
    assert!(
        labels
            .iter()
            .any(|p| p["label"] == "production" && p["protected"] == true),
        "{labels:?}"
    );
}

#[test]
fn the_key_store_is_chosen_explicitly_and_the_desktop_app_remembers_it() {
    let dir = tempfile::tempdir().unwrap();
    let settings = dir.path().join("config").join("settings.json");
    let keys = dir.path().join("keys");
    let open = || {
        let worker = Api::worker_config(env!("CARGO_BIN_EXE_promptdesk").into());
        Api::open(&dir.path().join("a.db"), worker)
            .remember_registry_in(settings.clone())
            .key_files_in(keys.clone())
    };
    let api = open();
    ok(&api, "set_identity", json!({"name": "kim", "email": ""}));
    let chosen = ok(&api, "choose_key_store", json!({"store": "files"}));
    assert_eq!(
        (&chosen["ok"], &chosen["store_kind"], &chosen["decided_by"]),
        (&json!(true), &json!("files"), &json!("chosen")),
        "{chosen}"
    );
    assert_eq!(chosen["choice_remembered"], true);
    let key_id = chosen["key_id"].as_str().unwrap().to_string();
    // Only the public key's id reaches the UI; the private key stays in the store.
    assert!(!chosen.to_string().contains(
        &std::fs::read_to_string(
            std::fs::read_dir(&keys)
                .unwrap()
                .next()
                .unwrap()
                .unwrap()
                .path()
        )
        .unwrap()
    ));

    // The next start uses the same store and the same key (unless PROMPTDESK_KEYSTORE says
    // otherwise, which a test elsewhere in this binary never sets).
    let again = ok(&open(), "check_signing_key", json!({}));
    assert_eq!(again["decided_by"], "remembered", "{again}");
    assert_eq!(again["key_id"], key_id.as_str());
    // A setting the app cannot read is reported, not replaced by a default.
    std::fs::write(&settings, r#"{"key_store": "vault:x"}"#).unwrap();
    let e = err(&open(), "check_signing_key", json!({}));
    assert!(
        e.message.contains("vault:x") && e.message.contains("settings.json"),
        "{}",
        e.message
    );
}

fn text_of(template: &str) -> Value {
    text(template, json!([]))
}
