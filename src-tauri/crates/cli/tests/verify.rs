//! `promptdesk verify` on a registry file someone edited directly: exit code 1, one line per
//! differing row naming its table and key (the JSON report lists the same), and a release made
//! while the policy row was edited is named even after the row was put back.

use std::process::{Command, Output};

use serde_json::Value;

struct Env {
    dir: tempfile::TempDir,
}

impl Env {
    fn new() -> Env {
        let env = Env {
            dir: tempfile::tempdir().unwrap(),
        };
        env.ok("seed", &["demo"]);
        env.ok("root", &["role", "set", "root", "admin"]);
        env.ok("root", &["role", "set", "rita", "releaser"]);
        env
    }

    fn db(&self) -> std::path::PathBuf {
        self.dir.path().join("registry.db")
    }

    fn run(&self, who: &str, args: &[&str]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_promptdesk"))
            .arg("--registry")
            .arg(self.db())
            .args(args)
            .env("PROMPTDESK_USER", who)
            .env(
                "PROMPTDESK_KEYSTORE",
                format!("file:{}", self.dir.path().join("keys").display()),
            )
            .env_remove("PROMPTDESK_REGISTRY")
            .env("NO_COLOR", "1")
            .output()
            .unwrap()
    }

    fn ok(&self, who: &str, args: &[&str]) -> String {
        let out = self.run(who, args);
        assert!(
            out.status.success(),
            "{who}: promptdesk {args:?} failed ({:?}):\n{}{}",
            out.status.code(),
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    /// `verify`, which must fail with exit code 1: its stdout lines and stderr.
    fn verify_fails(&self) -> (Vec<String>, String) {
        let out = self.run("root", &["verify"]);
        assert_eq!(
            out.status.code(),
            Some(1),
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        let lines = String::from_utf8(out.stdout)
            .unwrap()
            .lines()
            .map(str::to_string)
            .collect();
        (lines, String::from_utf8(out.stderr).unwrap())
    }

    fn sql(&self, sql: &str) {
        rusqlite::Connection::open(self.db())
            .unwrap()
            .execute_batch(sql)
            .unwrap();
    }

    fn hash(&self, number: u32) -> String {
        let v: Value = serde_json::from_str(&self.ok(
            "root",
            &["--json", "show", &format!("support/refund-reply@{number}")],
        ))
        .unwrap();
        v["hash"].as_str().unwrap().to_string()
    }
}

#[test]
fn a_label_edited_in_the_file_fails_verify_naming_the_label() {
    let env = Env::new();
    assert!(env.ok("root", &["verify"]).starts_with("ok:"));
    let v1 = env.hash(1);
    env.sql(&format!(
        "UPDATE labels SET hash = '{v1}' WHERE name = 'production'
           AND prompt_id = (SELECT id FROM prompts WHERE name = 'support/refund-reply')"
    ));
    let (lines, stderr) = env.verify_fails();
    let wanted = format!(
        "labels: support/refund-reply/production points at version 1 (#{}",
        &v1[..12]
    );
    assert!(
        lines.iter().any(|l| l.starts_with(&wanted)),
        "{lines:#?}\n{stderr}"
    );
    assert!(stderr.starts_with("error: verify found"), "{stderr}");

    // The JSON report carries the same lines.
    let out = env.run("root", &["--json", "verify"]);
    assert_eq!(out.status.code(), Some(1));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["error"]["kind"], "verify_failed");
    let problems: Vec<&str> = v["error"]["details"]["problems"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert_eq!(problems, lines);
}

#[test]
fn a_release_made_while_the_policy_row_said_no_approvals_fails_verify_after_it_is_put_back() {
    let env = Env::new();
    env.ok("root", &["policy", "set", "production", "--approvals", "1"]);
    let original = "(SELECT policy FROM policies WHERE label = 'production')";
    env.sql(&format!(
        "CREATE TABLE kept AS SELECT {original} AS policy;
         UPDATE policies SET policy = json_set(policy, '$.required_approvals', 0)
           WHERE label = 'production';"
    ));
    // Nobody approved v4; with the row edited the release goes through.
    env.ok(
        "rita",
        &[
            "release",
            "support/refund-reply@4",
            "--label",
            "production",
            "-m",
            "Quietly",
        ],
    );
    env.sql(
        "UPDATE policies SET policy = (SELECT policy FROM kept) WHERE label = 'production';
         DROP TABLE kept;",
    );
    let (lines, stderr) = env.verify_fails();
    assert!(
        !lines.iter().any(|l| l.starts_with("policies:")),
        "{lines:#?}"
    );
    assert!(
        lines.iter().any(|l| l.starts_with("releases: release")
            && l.contains("to production by rita")
            && l.contains("was not allowed by the policy the ledger had in force")
            && l.contains("1 approval of version 4")),
        "{lines:#?}\n{stderr}"
    );
}
