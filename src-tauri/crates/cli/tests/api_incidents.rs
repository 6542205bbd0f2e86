//! Incidents and postmortems through the UI's command surface (`Api::dispatch`), on the demo
//! registry: v4 ships, an incident is opened on its release, production is rolled back from the
//! incident (signed), the postmortem is filled in from the ledger, regression cases added, and
//! the Markdown export and the open actions are what the app shows.

use promptdesk_api::{Api, ApiErrorKind};
use serde_json::{json, Value};

const REFUND: &str = "support/refund-reply";

fn ok(api: &Api, command: &str, args: Value) -> Value {
    api.dispatch(command, args)
        .unwrap_or_else(|e| panic!("{command} failed: {e:?}"))
}

#[test]
fn an_incident_from_open_to_exported_postmortem_in_the_app() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("registry.db");
    {
        let (mut reg, _) = promptdesk_core::Registry::init(&path).unwrap();
        reg.set_actor("seed");
        promptdesk_demo::seed(&mut reg).unwrap();
    }
    let worker = Api::worker_config(env!("CARGO_BIN_EXE_promptdesk").into());
    let api = Api::open(&path, worker).key_files_in(dir.path().join("keys"));
    ok(&api, "choose_key_store", json!({"store": "files"}));

    // v4 ships (this registry has no roles yet: the person here may do everything but approve
    // their own version, and v4 is ana's).
    let review = ok(
        &api,
        "request_review",
        json!({"name": REFUND, "reference": "4", "label": "production", "description": "shorter"}),
    );
    ok(
        &api,
        "decide_review",
        json!({"number": review["number"], "decision": "approve", "body": "ok"}),
    );
    ok(
        &api,
        "release_version",
        json!({"name": REFUND, "reference": "4", "label": "production",
               "changelog": "Shorter, friendlier reply", "review": review["number"]}),
    );

    let detail = ok(
        &api,
        "open_incident",
        json!({"title": "Refund answers no longer state the refund policy", "severity": "SEV2",
               "detection": "user_reports", "prompt": REFUND}),
    );
    let id = detail["incident"]["id"].as_str().unwrap().to_string();
    assert_eq!(detail["rollback_to"], 3);
    assert_eq!(
        ok(&api, "list_incidents", json!({}))
            .as_array()
            .unwrap()
            .len(),
        1
    );
    let bad = api
        .dispatch(
            "open_incident",
            json!({"title": "x", "severity": "SEV7", "detection": "other", "prompt": REFUND}),
        )
        .unwrap_err();
    assert_eq!(bad.kind, ApiErrorKind::BadInput);
    assert!(
        bad.message.contains("severity must be one of"),
        "{}",
        bad.message
    );

    let rolled = ok(&api, "incident_rollback", json!({"id": &id[..8]}));
    assert_eq!(rolled["release"]["to_version"], 3);
    assert_eq!(rolled["incident"]["status"], "mitigated");
    let serving = ok(
        &api,
        "get_version",
        json!({"name": REFUND, "reference": "production"}),
    );
    assert_eq!(serving["number"], 3);
    let detail = ok(
        &api,
        "add_incident_note",
        json!({"id": id, "text": "Tickets stopped after the rollback"}),
    );
    let kinds: Vec<&str> = detail["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    for k in [
        "version.created",
        "release.recorded",
        "incident.opened",
        "rollback.recorded",
        "note",
    ] {
        assert!(kinds.contains(&k), "{k} missing: {kinds:?}");
    }

    let pm = ok(&api, "get_postmortem", json!({"id": id}));
    assert_eq!(pm["saved"], false);
    assert_eq!(pm["bad_version"], 4);
    assert_eq!(pm["good_version"], 3);
    assert!(pm["diff"]["template"].is_object());
    let cases = ok(
        &api,
        "add_regression_cases",
        json!({"id": id, "suite": "regression", "cases": [{
            "description": "incident input",
            "vars": {"customer_name": "Noor", "order_id": "R-7", "days_since_purchase": "7", "product": "a blender"},
            "assertions": [{"type": "icontains", "value": "within 30 days"}]}]}),
    );
    assert_eq!(cases[0]["origin"], format!("postmortem:{id}"));
    assert_eq!(
        cases[0]["vars"]["days_since_purchase"], 7,
        "typed as declared"
    );
    let pm = ok(
        &api,
        "save_postmortem",
        json!({"id": id, "doc": {"summary": "Replies left out the policy.",
               "root_cause": "The include was dropped.",
               "actions": [{"text": "Gate production on the suite", "owner": "root", "due": "2000-01-01"}]}}),
    );
    assert_eq!(pm["saved"], true);
    assert_eq!(pm["regression_cases"].as_array().unwrap().len(), 1);
    let actions = ok(&api, "open_actions", json!({}));
    assert_eq!(actions[0]["overdue"], true);
    let md = ok(&api, "export_postmortem", json!({"id": id}));
    assert!(md["file_name"].as_str().unwrap().starts_with("postmortem-"));
    let text = md["markdown"].as_str().unwrap();
    assert!(
        text.contains("## Root cause") && text.contains("The include was dropped."),
        "{text}"
    );
    let done = ok(
        &api,
        "update_incident",
        json!({"id": id, "change": {"status": "resolved"}}),
    );
    assert_eq!(done["incident"]["status"], "resolved");
    assert!(ok(&api, "list_incidents", json!({}))
        .as_array()
        .unwrap()
        .is_empty());
}
