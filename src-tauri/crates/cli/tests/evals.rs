//! Test suites and evals through the real `promptdesk` binary against a protocol-faithful local
//! model server (its model echoes the prompt back, so a version that drops the refund policy
//! from its prompt drops it from its replies): the CI gate's exit codes, the cache, the
//! comparison, ratings, the promptfoo export, case imports that name the bad line, an API key
//! that never reaches the registry file, and the demo's regression refused at release.

mod common;

use std::io::Write;
use std::process::Stdio;

use common::{Config, Env, REFUND};
use serde_json::Value;

#[test]
fn eval_is_a_ci_gate_the_cache_saves_calls_and_the_regression_is_refused_at_release() {
    let env = Env::new(Config::default());

    // Production (v3) passes its suite; the shortened v4 does not.
    let v3 = env.json(
        "ana",
        &["eval", &format!("{REFUND}@production"), "--fail-under", "1"],
    );
    assert_eq!(v3["run"]["passed"], 3);
    assert_eq!(env.fake.stats().total, 3);
    let why = env.fails(
        "ana",
        &["eval", &format!("{REFUND}@4"), "--fail-under", "0.9"],
        1,
    );
    assert!(
        why.contains("33% of the cases passed, below --fail-under 90%"),
        "{why}"
    );
    // Without a threshold a completed run succeeds, and its failures are listed.
    let out = env.ok("ana", &["eval", &format!("{REFUND}@4")]);
    assert!(out.contains("FAIL #1 within the window"), "{out}");
    assert!(
        out.contains("\"within 30 days\" (any case) is not in the output"),
        "{out}"
    );
    // That second run of v4 came from the cache: the model saw 3 + 3 requests, not 9.
    assert_eq!(env.fake.stats().total, 6);
    let runs = env.json("ana", &["runs", REFUND, "--version", "4"]);
    assert_eq!(runs.as_array().unwrap().len(), 2);
    assert_eq!(runs[0]["cached"], 3);
    assert_eq!(runs[1]["cached"], 0);

    // The policy now asks for the suite; ben approves v4; rita's release is refused, listing the
    // failing cases.
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
    let review: Value = env.json(
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
    let number = review["number"].to_string();
    env.ok("ben", &["review", "approve", &number]);
    let why = env.fails(
        "rita",
        &[
            "release",
            &format!("{REFUND}@4"),
            "--label",
            "production",
            "-m",
            "Shorter reply",
        ],
        1,
    );
    assert!(
        why.contains("test suite regression passed 1/3 (33%) on version 4 (needs 100%)")
            && why.contains("#1 within the window")
            && why.contains("#2 outside the window"),
        "{why}"
    );
    let production: Value = env.json("ana", &["show", &format!("{REFUND}@production")]);
    assert_eq!(production["number"], 3);
}

#[test]
fn compare_rate_and_export_to_promptfoo() {
    let env = Env::new(Config::default());
    env.ok("ana", &["eval", &format!("{REFUND}@3")]);
    env.ok("ana", &["eval", &format!("{REFUND}@4")]);
    let cmp = env.json(
        "ana",
        &[
            "compare",
            &format!("{REFUND}@production"),
            &format!("{REFUND}@4"),
            "--only-failures",
        ],
    );
    assert_eq!(cmp["columns"][0]["version"], 3);
    assert_eq!(cmp["rows"].as_array().unwrap().len(), 2);
    let case = cmp["rows"][0]["case_id"].as_str().unwrap().to_string();
    assert_eq!(cmp["rows"][0]["cells"][1]["passed"], false);
    assert!(cmp["rows"][0]["cells"][1]["diff"]["hunks"]
        .as_array()
        .is_some());

    let why = env.fails("ben", &["rate", &format!("{REFUND}@4"), &case, "bad"], 2);
    assert!(why.contains("needs a comment"), "{why}");
    env.ok(
        "ben",
        &[
            "rate",
            &format!("{REFUND}@4"),
            &case,
            "bad",
            "--comment",
            "drops the policy",
        ],
    );
    let cmp = env.json(
        "ana",
        &["compare", &format!("{REFUND}@3"), &format!("{REFUND}@4")],
    );
    let ratings = &cmp["rows"][0]["cells"][1]["ratings"];
    assert_eq!(ratings[0]["rated_by"], "ben");
    assert_eq!(ratings[0]["comment"], "drops the policy");

    let out = env.dir.path().join("pf");
    env.ok(
        "ana",
        &[
            "export-promptfoo",
            &format!("{REFUND}@3"),
            out.to_str().unwrap(),
        ],
    );
    let yaml = std::fs::read_to_string(out.join("promptfooconfig.yaml")).unwrap();
    let config: Value = serde_yaml_ng::from_str(&yaml).unwrap();
    assert_eq!(config["prompts"][0], "file://prompt.txt");
    assert_eq!(config["providers"][0]["id"], "openai:chat:gpt-4o-mini");
    assert_eq!(config["tests"].as_array().unwrap().len(), 3);
    assert_eq!(config["tests"][2]["assert"][1]["type"], "not-icontains");
    assert_eq!(config["tests"][0]["vars"]["days_since_purchase"], 12);
    let prompt = std::fs::read_to_string(out.join("prompt.txt")).unwrap();
    assert!(
        prompt.contains("Refunds are accepted within 30 days") && !prompt.contains("include"),
        "the pinned include is inlined: {prompt}"
    );
}

#[test]
fn imports_name_the_bad_line_and_keep_nothing_of_a_bad_file() {
    let env = Env::new(Config::default());
    let good = env.dir.path().join("cases.csv");
    std::fs::write(
        &good,
        "customer_name,order_id,days_since_purchase,product,__assert,__tags\n\
         Ada,A-9,2,a hat,contains: Ada,smoke\n\
         Bo,B-9,50,a cap,contains: outside,late\n",
    )
    .unwrap();
    env.ok(
        "ana",
        &["suite", "import", REFUND, "smoke", good.to_str().unwrap()],
    );
    let bad = env.dir.path().join("bad.jsonl");
    std::fs::write(
        &bad,
        "{\"vars\": {\"customer_name\": \"Cy\"}}\n{\"vars\": {}, \"assert\": [\"frobnicate: x\"]}\n",
    )
    .unwrap();
    let why = env.fails(
        "ana",
        &["suite", "import", REFUND, "smoke", bad.to_str().unwrap()],
        2,
    );
    assert!(
        why.contains("bad.jsonl: line 2, assert[0]: unknown assertion type"),
        "{why}"
    );
    let suite = env.json("ana", &["suite", "show", REFUND, "smoke"]);
    assert_eq!(suite["cases"].as_array().unwrap().len(), 2);
    assert_eq!(suite["cases"][0]["origin"], "import:cases.csv");
    let ledger = env.ok("ana", &["ledger", REFUND]);
    assert!(ledger.contains("suite.cases_added"), "{ledger}");

    // `eval` needs --suite once the prompt has two.
    let why = env.fails("ana", &["eval", &format!("{REFUND}@3")], 2);
    assert!(why.contains("several suites (regression, smoke)"), "{why}");
}

#[test]
fn an_api_key_goes_to_the_key_store_and_never_into_the_registry() {
    let env = Env::new(Config {
        api_key: Some("sk-secret-123".into()),
        ..Config::default()
    });
    let url = format!("{}/v1", env.fake.base_url());
    // Without the key the provider refuses, and the run says so (it ends with every case an
    // error, so it is not a completed run that could count for anything).
    let out = env.run(
        "ana",
        &["eval", &format!("{REFUND}@3"), "--fail-under", "1"],
    );
    assert_eq!(out.status.code(), Some(1));
    let text =
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    assert!(
        text.to_lowercase().contains("unauthorized") || text.contains("401"),
        "{text}"
    );

    let mut child = env
        .cmd(
            "ana",
            &[
                "provider",
                "set",
                "openai",
                "--base-url",
                &url,
                "--key-stdin",
            ],
        )
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"sk-secret-123\n")
        .unwrap();
    assert!(child.wait().unwrap().success());
    env.ok(
        "ana",
        &["eval", &format!("{REFUND}@3"), "--fail-under", "1"],
    );
    let listed = env.ok("ana", &["provider", "list"]);
    assert!(listed.contains("key kept in the key store") && !listed.contains("sk-secret"));

    let db = std::fs::read(env.dir.path().join("registry.db")).unwrap();
    let wal = std::fs::read(env.dir.path().join("registry.db-wal")).unwrap_or_default();
    for bytes in [&db, &wal] {
        assert!(
            !bytes.windows(13).any(|w| w == b"sk-secret-123"),
            "the key is not in the registry file"
        );
    }
    // Another person on this machine does not get ana's key (v4 has not run: nothing cached).
    let out = env.run("ben", &["eval", &format!("{REFUND}@4")]);
    assert_eq!(out.status.code(), Some(1));
}

#[test]
fn an_anthropic_provider_and_a_rubric_graded_by_another_model_run_through_the_same_path() {
    let env = Env::new(Config::default());
    let base = env.fake.base_url();
    env.ok(
        "root",
        &[
            "provider",
            "set",
            "claude",
            "--kind",
            "anthropic",
            "--base-url",
            &base,
            "--price",
            "claude-test=3/15",
        ],
    );
    // A rubric whose grader is named per assertion: the fake's grader model checks the
    // `must contain:` lines against the output.
    let cases = env.dir.path().join("rubric.jsonl");
    std::fs::write(
        &cases,
        r#"{"vars": {"customer_name": "Ada", "order_id": "A-1", "days_since_purchase": 3, "product": "a hat"}, "assert": [{"type": "rubric", "rubric": "must contain: refund\nmust contain: original payment method", "grader": "openai/grader-1"}]}
"#,
    )
    .unwrap();
    env.ok(
        "ana",
        &["suite", "import", REFUND, "graded", cases.to_str().unwrap()],
    );

    let v3 = env.json(
        "ana",
        &[
            "eval",
            &format!("{REFUND}@3"),
            "--suite",
            "graded",
            "--model",
            "claude/claude-test",
        ],
    );
    assert_eq!(v3["run"]["passed"], 1, "{v3}");
    assert_eq!(v3["run"]["model"]["provider"], "claude");
    assert!(v3["run"]["cost"].as_f64().unwrap() > 0.0, "priced: {v3}");
    assert_eq!(
        v3["run"]["own_settings"], false,
        "an override does not count for the gate"
    );
    let requests = env.fake.stats().requests;
    assert!(
        requests
            .iter()
            .any(|r| r.route.contains("messages") && r.model == "claude-test"),
        "the run went through the Messages API"
    );
    let v4 = env.out_of(
        "ana",
        &[
            "eval",
            &format!("{REFUND}@4"),
            "--suite",
            "graded",
            "--model",
            "claude/claude-test",
            "--fail-under",
            "1",
        ],
        1,
    );
    assert!(
        v4.contains("missing \\\"original payment method\\\"")
            || v4.contains("missing \"original payment method\""),
        "{v4}"
    );
}
