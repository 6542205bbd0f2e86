//! The real `promptdesk` binary on a real registry file: the workflows, the exit codes, the
//! one-line errors, and crash safety under SIGKILL.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

struct Env {
    dir: tempfile::TempDir,
}

impl Env {
    fn new() -> Env {
        let env = Env {
            dir: tempfile::tempdir().unwrap(),
        };
        env.ok(&["init"]);
        env
    }

    fn registry(&self) -> PathBuf {
        self.dir.path().join("registry.db")
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_promptdesk"));
        c.arg("--registry")
            .arg(self.registry())
            .args(args)
            .env("PROMPTDESK_USER", "ana")
            .env_remove("PROMPTDESK_REGISTRY")
            .env("NO_COLOR", "1");
        c
    }

    fn run(&self, args: &[&str]) -> Output {
        self.command(args).output().unwrap()
    }

    fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(
            out.status.success(),
            "promptdesk {args:?} failed ({:?}):\n{}{}",
            out.status.code(),
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    fn json(&self, args: &[&str]) -> Value {
        let mut all = vec!["--json"];
        all.extend_from_slice(args);
        serde_json::from_str(&self.ok(&all)).unwrap()
    }

    /// Runs a command that must fail with `code`; returns its one-line error.
    fn fails(&self, code: i32, args: &[&str]) -> String {
        let out = self.run(args);
        let stderr = String::from_utf8(out.stderr).unwrap();
        assert_eq!(
            out.status.code(),
            Some(code),
            "promptdesk {args:?} should exit {code}; stderr: {stderr}"
        );
        let lines: Vec<&str> = stderr.lines().collect();
        assert_eq!(lines.len(), 1, "one line of error expected, got: {stderr}");
        assert!(lines[0].starts_with("error: "), "{stderr}");
        lines[0].to_string()
    }

    fn file(&self, name: &str, contents: &str) -> String {
        let p = self.dir.path().join(name);
        std::fs::write(&p, contents).unwrap();
        p.display().to_string()
    }

    /// Everything a failed command must leave unchanged.
    fn state(&self) -> (usize, String) {
        let ledger = self.json(&["ledger", "--limit", "100000"]);
        let export = self.dir.path().join(format!("state-{}", rand_suffix()));
        self.ok(&["export", export.to_str().unwrap()]);
        // Drafts are not exported: compare each prompt's draft too.
        let mut digest = dir_digest(&export);
        for p in self.json(&["list"]).as_array().unwrap() {
            let shown = self.json(&["show", p["name"].as_str().unwrap()]);
            digest.push_str(&shown["draft"]["content"].to_string());
        }
        (ledger.as_array().unwrap().len(), digest)
    }
}

fn rand_suffix() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos()
}

fn dir_digest(root: &Path) -> String {
    let mut files = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                files.push(format!(
                    "{}\n{}",
                    p.strip_prefix(root).unwrap().display(),
                    std::fs::read_to_string(&p).unwrap()
                ));
            }
        }
    }
    files.sort();
    files.join("\n\n")
}

const REPLY: &str = "---\ndescription: Refund reply\nvariables:\n  name: {type: string, required: true}\n  days: {type: number, required: true}\nsamples:\n  ada: {name: Ada, days: 3}\n---\nHello {{ name }}, you bought it {{ days }} days ago.\n";

#[test]
fn the_everyday_workflow_works_end_to_end() {
    let env = Env::new();
    let f = env.file("reply.prompt", REPLY);
    env.ok(&["new", "support/refund-reply", "--file", &f]);
    let v1 = env.json(&["commit", "support/refund-reply", "-m", "First reply"]);
    assert_eq!(v1["version"], 1);
    assert_eq!(v1["hash"].as_str().unwrap().len(), 64);

    let rendered = env.ok(&["render", "support/refund-reply@1", "--sample", "ada"]);
    assert_eq!(rendered, "Hello Ada, you bought it 3 days ago.\n");
    let rendered = env.ok(&[
        "render",
        "support/refund-reply",
        "--vars",
        r#"{"name":"Bo","days":1}"#,
    ]);
    assert!(rendered.starts_with("Hello Bo"), "{rendered}");

    let f2 = env.file(
        "reply2.prompt",
        &REPLY.replace("Hello {{ name }}", "Hi {{ name }}"),
    );
    env.ok(&["draft", "support/refund-reply", "--file", &f2]);
    let v2 = env.json(&["commit", "support/refund-reply", "-m", "Friendlier"]);
    assert_eq!(v2["version"], 2);

    let log = env.ok(&["log", "support/refund-reply"]);
    assert!(
        log.contains("Friendlier") && log.contains("First reply"),
        "{log}"
    );
    let diff = env.ok(&[
        "diff",
        "support/refund-reply@1",
        "support/refund-reply@2",
        "--rendered",
        "--sample",
        "ada",
    ]);
    assert!(
        diff.contains("-Hello {{ name }}") && diff.contains("+Hi {{ name }}"),
        "{diff}"
    );
    assert!(
        diff.contains("rendered"),
        "the rendered section is shown: {diff}"
    );

    env.ok(&[
        "label",
        "support/refund-reply@1",
        "staging",
        "--reason",
        "first release",
    ]);
    let labels = env.json(&["labels", "support/refund-reply"]);
    let prod = labels["labels"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["name"] == "staging")
        .unwrap();
    assert_eq!(prod["number"], 1);
    let shown = env.ok(&["show", "support/refund-reply@staging"]);
    assert!(
        shown.contains("Hello {{ name }}") && shown.contains("number: 1"),
        "{shown}"
    );
    let shown = env.ok(&[
        "show",
        &format!(
            "support/refund-reply@#{}",
            &v2["hash"].as_str().unwrap()[..8]
        ),
    ]);
    assert!(shown.contains("Hi {{ name }}"), "{shown}");

    let export = env.dir.path().join("export");
    env.ok(&["export", export.to_str().unwrap()]);
    let copy = env.dir.path().join("copy.db");
    let imported = Command::new(env!("CARGO_BIN_EXE_promptdesk"))
        .args([
            "--registry",
            copy.to_str().unwrap(),
            "--json",
            "import",
            export.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert!(
        imported.status.success(),
        "{}",
        String::from_utf8_lossy(&imported.stderr)
    );
    let log_copy = Command::new(env!("CARGO_BIN_EXE_promptdesk"))
        .args([
            "--registry",
            copy.to_str().unwrap(),
            "--json",
            "log",
            "support/refund-reply",
        ])
        .output()
        .unwrap();
    let a: Value = serde_json::from_slice(&log_copy.stdout).unwrap();
    let b = env.json(&["log", "support/refund-reply"]);
    assert_eq!(a, b, "the import reproduces the same versions and hashes");
    assert!(env.ok(&["verify"]).starts_with("ok:"));
    let verified = Command::new(env!("CARGO_BIN_EXE_promptdesk"))
        .args(["--registry", copy.to_str().unwrap(), "verify"])
        .output()
        .unwrap();
    assert!(
        String::from_utf8_lossy(&verified.stdout).starts_with("ok:"),
        "the copy verifies too: {}",
        String::from_utf8_lossy(&verified.stderr)
    );
}

#[test]
fn bad_input_gets_one_line_naming_the_thing_exit_2_and_changes_nothing() {
    let env = Env::new();
    let f = env.file("reply.prompt", REPLY);
    env.ok(&["new", "support/refund-reply", "--file", &f]);
    env.ok(&["commit", "support/refund-reply", "-m", "First"]);
    let a = env.file("a.txt", "A {% include \"b\" %}");
    env.ok(&["new", "a", "--file", &a]);
    let b = env.file("b.txt", "B");
    env.ok(&["new", "b", "--file", &b]);
    env.ok(&["commit", "b", "-m", "1"]);
    env.ok(&["commit", "a", "-m", "1"]);
    let cycle = env.file("b2.txt", "B {% include \"a\" %}");
    env.ok(&["draft", "b", "--file", &cycle]);
    let broken = env.file("broken.txt", "line one\nHello {{ name }\n");
    env.ok(&["new", "broken", "--file", &broken]);
    let before = env.state();

    let cases: Vec<(Vec<&str>, Vec<&str>)> = vec![
        (
            vec!["commit", "broken", "-m", "x"],
            vec!["broken", "line 2"],
        ),
        (
            vec![
                "render",
                "support/refund-reply@1",
                "--vars",
                r#"{"name":"Ada"}"#,
            ],
            vec!["'days'", "missing"],
        ),
        (
            vec![
                "render",
                "support/refund-reply@1",
                "--vars",
                r#"{"name":"Ada","days":"many"}"#,
            ],
            vec!["'days'", "number"],
        ),
        (
            vec!["commit", "b", "-m", "cycle"],
            vec!["include cycle", "b → a → b"],
        ),
        (
            vec!["show", "nope/missing"],
            vec!["no prompt named 'nope/missing'"],
        ),
        (vec!["show", "support/refund-reply@7"], vec!["no version 7"]),
        (
            vec!["show", "support/refund-reply@staging"],
            vec!["no label 'staging'"],
        ),
        (
            vec!["new", "Bad Name"],
            vec!["invalid prompt name 'Bad Name'"],
        ),
        (
            vec!["label", "support/refund-reply@1", "Prod!"],
            vec!["invalid label 'Prod!'"],
        ),
        (
            vec!["render", "support/refund-reply@1", "--vars", "{not json"],
            vec!["--vars", "not valid JSON"],
        ),
        (
            vec!["commit", "support/refund-reply", "-m", ""],
            vec!["changelog"],
        ),
    ];
    for (args, expected) in &cases {
        let line = env.fails(2, args);
        for e in expected {
            assert!(
                line.contains(e),
                "promptdesk {args:?}: expected {e:?} in {line}"
            );
        }
    }
    let undefined = env.file(
        "undefined.txt",
        "---\nvariables: {}\n---\nHi {{ customr }}\n",
    );
    env.ok(&["draft", "broken", "--file", &undefined]);
    let line = env.fails(2, &["render", "broken"]);
    assert!(
        line.contains("customr") && line.contains("line 1"),
        "{line}"
    );
    env.ok(&["draft", "broken", "--file", &broken]);

    let malformed = env.file("malformed.prompt", "---\nkind: poem\n---\nx\n");
    let line = env.fails(2, &["draft", "broken", "--file", &malformed]);
    assert!(
        line.contains("malformed.prompt") && line.contains("kind must be text or chat"),
        "{line}"
    );
    // `draft` of a malformed file must not have replaced anything either.
    assert_eq!(env.state().1, before.1, "the registry is unchanged");
    let same = env.fails(1, &["commit", "support/refund-reply", "-m", "same"]);
    assert!(same.contains("nothing to commit"), "{same}");
    let json_err: Value =
        serde_json::from_slice(&env.run(&["--json", "show", "nope"]).stdout).unwrap();
    assert_eq!(json_err["error"]["kind"], "not_found");
    assert_eq!(
        env.state().0,
        before.0,
        "nothing was recorded in the ledger (draft saves are not events)"
    );
}

#[test]
fn a_template_bomb_through_the_cli_fails_fast_and_clearly() {
    let env = Env::new();
    let bomb = env.file("bomb.txt", "{{ 'x'|indent(10000000000) }}");
    env.ok(&["new", "bomb", "--file", &bomb]);
    let started = Instant::now();
    let line = env.fails(2, &["render", "bomb"]);
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "took {:?}",
        started.elapsed()
    );
    assert!(line.contains("bomb"), "{line}");
}

#[test]
fn sigkill_during_commit_never_loses_a_reported_version() {
    let env = Env::new();
    let f = env.file("k.txt", "start");
    env.ok(&["new", "crash/test", "--file", &f]);
    let mut round = 0u64;
    let mut next_draft = |env: &Env| {
        round += 1;
        let f = env.file("k.txt", &format!("content number {round}\n{{{{ x }}}}"));
        env.ok(&["draft", "crash/test", "--file", &f]);
        round
    };
    // How long a whole commit process takes here, so the kills can be spread across it.
    let mut took = Vec::new();
    for _ in 0..5 {
        let i = next_draft(&env);
        let started = Instant::now();
        env.ok(&["commit", "crash/test", "-m", &format!("timed {i}")]);
        took.push(started.elapsed());
    }
    took.sort();
    let window = took[2];

    let mut reported: Vec<(u64, String)> = Vec::new();
    let mut killed = 0;
    let mut attempts = 0u32;
    while killed < 50 && attempts < 400 {
        attempts += 1;
        let i = next_draft(&env);
        let mut child = env
            .command(&[
                "--json",
                "commit",
                "crash/test",
                "-m",
                &format!("commit {i}"),
            ])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        // From a fifth of the way in to the very end of a typical commit.
        let fraction = 0.2 + 0.8 * f64::from(attempts % 25) / 25.0;
        std::thread::sleep(window.mul_f64(fraction));
        child.kill().unwrap(); // SIGKILL
        let out = child.wait_with_output().unwrap();
        if out.status.success() {
            let v: Value = serde_json::from_slice(&out.stdout).unwrap();
            reported.push((
                v["version"].as_u64().unwrap(),
                v["hash"].as_str().unwrap().to_string(),
            ));
        } else {
            killed += 1;
        }
    }
    assert!(
        killed >= 50,
        "only {killed} of {attempts} commits were killed mid-flight"
    );
    let log = env.json(&["log", "crash/test", "--limit", "100000"]);
    let log = log.as_array().unwrap();
    for (number, hash) in &reported {
        let found = log
            .iter()
            .find(|v| v["number"].as_u64() == Some(*number))
            .unwrap_or_else(|| panic!("reported version {number} is missing"));
        assert_eq!(
            found["hash"].as_str(),
            Some(hash.as_str()),
            "version {number} changed"
        );
    }
    // verify re-hashes every version, walks the ledger and runs PRAGMA integrity_check.
    let report = env.json(&["verify"]);
    assert_eq!(report["problems"], serde_json::json!([]), "{report}");
    assert!(report["versions"].as_u64().unwrap() >= 5 + reported.len() as u64);
}

#[test]
fn a_prompt_file_with_a_bad_sample_name_changes_nothing() {
    let env = Env::new();
    let f = env.file("reply.prompt", REPLY);
    env.ok(&["new", "support/refund-reply", "--file", &f]);
    let before = env.state();
    let bad = env.file(
        "bad.prompt",
        &REPLY
            .replace("Hello", "Changed")
            .replace("  ada: {", "  \"bad!\": {"),
    );
    let line = env.fails(2, &["draft", "support/refund-reply", "--file", &bad]);
    assert!(line.contains("bad!"), "{line}");
    assert_eq!(env.state(), before, "the draft was not replaced");
    let out = env.run(&["--json", "check", "support/refund-reply"]);
    assert!(out.status.success());
    let _: Value = serde_json::from_slice(&out.stdout).expect("one JSON document");
}
