//! Eval runs through the UI's command surface (`Api::dispatch`, what both the desktop app and
//! web mode call), with the real render worker and a protocol-faithful local model server:
//! a run goes on in the background while the UI polls its progress, cancelling stops it and
//! keeps what finished, the comparison fills in, ratings and the gate's verdict reach the
//! review, and an API key given in Settings never comes back.

use std::time::{Duration, Instant};

use promptdesk_api::Api;
use promptdesk_fakellm::{Config, FakeLlm};
use serde_json::{json, Value};

const REFUND: &str = "support/refund-reply";

fn demo_api(fake: &FakeLlm) -> (tempfile::TempDir, Api) {
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
    ok(
        &api,
        "set_provider",
        json!({"provider": {"name": "openai", "kind": "openai",
                            "base_url": format!("{}/v1", fake.base_url())}}),
    );
    (dir, api)
}

fn ok(api: &Api, command: &str, args: Value) -> Value {
    api.dispatch(command, args)
        .unwrap_or_else(|e| panic!("{command} failed: {e:?}"))
}

/// Polls `eval_status` until `done` says so; returns every answer seen.
fn poll(api: &Api, run: &str, done: impl Fn(&Value) -> bool) -> Vec<Value> {
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut seen = Vec::new();
    loop {
        let status = ok(api, "eval_status", json!({"run_id": run}));
        seen.push(status.clone());
        if done(&status) {
            return seen;
        }
        assert!(
            Instant::now() < deadline,
            "run {run} never got there: {status}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn finished(s: &Value) -> bool {
    s["run"]["status"] != "running" && s["live"] == false
}

#[test]
fn a_writer_runs_two_versions_watches_them_compare_rates_and_the_reviewer_sees_it_all() {
    let fake = FakeLlm::start(Config {
        latency: Duration::from_millis(150),
        ..Config::default()
    })
    .unwrap();
    let (_d, api) = demo_api(&fake);

    let run3 = ok(
        &api,
        "start_eval",
        json!({"name": REFUND, "version": "production", "suite": "regression", "concurrency": 1}),
    );
    assert_eq!(run3["status"], "running", "start_eval answers at once");
    assert_eq!(run3["total"], 3);
    let seen = poll(&api, run3["id"].as_str().unwrap(), finished);
    assert!(
        seen.iter().any(|s| s["live"] == true
            && s["run"]["done"].as_u64().unwrap() >= 1
            && s["run"]["done"].as_u64().unwrap() < 3),
        "progress is visible while the run goes on: {seen:?}"
    );
    assert_eq!(seen.last().unwrap()["run"]["passed"], 3);

    let run4 = ok(
        &api,
        "start_eval",
        json!({"name": REFUND, "version": "4", "suite": "regression"}),
    );
    // While v4 runs, the comparison already has v3's column and fills v4's in.
    let early = ok(
        &api,
        "compare_versions",
        json!({"name": REFUND, "versions": ["production", "4"], "suite": "regression"}),
    );
    assert_eq!(early["columns"][1]["run"]["id"], run4["id"]);
    poll(&api, run4["id"].as_str().unwrap(), finished);
    let cmp = ok(
        &api,
        "compare_versions",
        json!({"name": REFUND, "versions": ["production", "4"], "suite": "regression"}),
    );
    let rows = cmp["rows"].as_array().unwrap();
    assert_eq!(rows.iter().filter(|r| r["has_failure"] == true).count(), 2);
    assert!(rows.iter().all(|r| r["differs"] == true));
    let case = rows[0]["case_id"].as_str().unwrap();
    assert!(!rows[0]["cells"][1]["diff"]["hunks"]
        .as_array()
        .unwrap()
        .is_empty());

    ok(
        &api,
        "rate_output",
        json!({"name": REFUND, "version": "4", "case_id": case, "rating": "bad",
               "comment": "drops the refund policy"}),
    );
    ok(
        &api,
        "rate_output",
        json!({"name": REFUND, "version": "3", "case_id": case, "rating": "good"}),
    );

    // The reviewer's view of v4: its run, the ratings, and the gate's verdict once production
    // requires the suite.
    let mut policy = ok(&api, "policy_of_label", json!({"label": "production"}))["policy"].clone();
    policy["required_suite"] = json!({"suite": "regression", "min_pass_rate": 1.0});
    ok(
        &api,
        "set_policy",
        json!({"label": "production", "policy": policy}),
    );
    let evals = ok(
        &api,
        "version_evals",
        json!({"name": REFUND, "reference": "4"}),
    );
    assert_eq!(evals["bad"], 1);
    assert_eq!(evals["ratings"][0]["comment"], "drops the refund policy");
    assert_eq!(evals["runs"][0]["passed"], 1);
    let review = ok(
        &api,
        "request_review",
        json!({"name": REFUND, "reference": "4", "label": "production", "description": "shorter"}),
    );
    let detail = ok(&api, "review_detail", json!({"number": review["number"]}));
    let suite = detail["decision"]["conditions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["code"] == "suite")
        .unwrap()
        .clone();
    assert_eq!(suite["met"], false);
    assert!(
        suite["message"]
            .as_str()
            .unwrap()
            .contains("#1 within the window"),
        "{suite}"
    );
    assert_eq!(detail["decision"]["evidence"]["run_id"], run4["id"]);
}

#[test]
fn cancelling_stops_the_requests_in_flight_and_keeps_what_finished() {
    // Every third request never answers: the run gets stuck with requests in flight.
    let fake = FakeLlm::start(Config {
        hang_every: Some(3),
        ..Config::default()
    })
    .unwrap();
    let (_d, api) = demo_api(&fake);
    // Twelve cases, so some finish and some hang.
    let cases: Vec<Value> = (0..12)
        .map(|i| {
            json!({"vars": {"customer_name": format!("C{i}"), "order_id": format!("X-{i}"),
                            "days_since_purchase": i, "product": "a mug"},
                   "assertions": [{"type": "contains", "value": format!("C{i}")}]})
        })
        .collect();
    ok(
        &api,
        "add_cases",
        json!({"name": REFUND, "suite": "many", "cases": cases, "create": true}),
    );
    let run = ok(
        &api,
        "start_eval",
        json!({"name": REFUND, "version": "3", "suite": "many", "concurrency": 4}),
    );
    let id = run["id"].as_str().unwrap();
    poll(&api, id, |s| {
        s["in_flight"].as_u64().unwrap_or(0) > 0 && s["run"]["done"].as_u64().unwrap() >= 4
    });
    let cancelling = ok(&api, "cancel_eval", json!({"run_id": id}));
    assert_eq!(cancelling["cancelling"], true);
    let last = poll(&api, id, finished).pop().unwrap();
    assert_eq!(last["run"]["status"], "cancelled");
    let done = last["run"]["done"].as_u64().unwrap();
    assert!((4..12).contains(&done), "{last}");
    let results = ok(&api, "run_results", json!({"run_id": id}));
    assert_eq!(results.as_array().unwrap().len() as u64, done);
    // The hanging requests were dropped, not left open.
    let deadline = Instant::now() + Duration::from_secs(5);
    while fake.stats().in_flight > 0 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(fake.stats().in_flight, 0);
    assert!(fake.stats().aborted >= 1);
}

#[test]
fn a_provider_key_given_in_settings_never_comes_back() {
    let fake = FakeLlm::start(Config {
        api_key: Some("sk-from-settings-42".into()),
        ..Config::default()
    })
    .unwrap();
    let (dir, api) = demo_api(&fake);
    let url = format!("{}/v1", fake.base_url());
    let answer = ok(
        &api,
        "set_provider",
        json!({"provider": {"name": "openai", "kind": "openai", "base_url": url},
               "api_key": "sk-from-settings-42"}),
    );
    assert!(!answer.to_string().contains("sk-from-settings"), "{answer}");
    let openai = answer
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["settings"]["name"] == "openai")
        .unwrap()
        .clone();
    assert_eq!(openai["key_kept"], true);
    let run = ok(
        &api,
        "start_eval",
        json!({"name": REFUND, "version": "3", "suite": "regression"}),
    );
    let last = poll(&api, run["id"].as_str().unwrap(), finished)
        .pop()
        .unwrap();
    assert_eq!(last["run"]["passed"], 3, "the kept key was sent: {last}");
    assert!(!last.to_string().contains("sk-from-settings"));
    let db = std::fs::read(dir.path().join("registry.db")).unwrap();
    assert!(!db.windows(19).any(|w| w == b"sk-from-settings-42"));

    // Forgetting it: the next (uncached) run is turned away by the provider, and says so.
    ok(
        &api,
        "set_provider",
        json!({"provider": {"name": "openai", "kind": "openai", "base_url": url},
               "forget_key": true}),
    );
    let run = ok(
        &api,
        "start_eval",
        json!({"name": REFUND, "version": "4", "suite": "regression"}),
    );
    let last = poll(&api, run["id"].as_str().unwrap(), finished)
        .pop()
        .unwrap();
    assert_eq!(last["run"]["errored"], 3, "{last}");
    let results = ok(&api, "run_results", json!({"run_id": run["id"]}));
    let error = results[0]["error"].as_str().unwrap().to_lowercase();
    assert!(
        error.contains("401") || error.contains("unauthorized"),
        "{error}"
    );
}
