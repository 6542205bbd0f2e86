//! The sign-off workflow through the real `promptdesk` binary: the demo's refund-reply story,
//! refusals with exit code 1 that say exactly why, and two releases racing from separate
//! processes for one label.

use std::process::{Command, Output};

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
        env.ok("root", &["role", "set", "ana", "editor"]);
        env.ok("root", &["role", "set", "ben", "reviewer"]);
        env.ok("root", &["role", "set", "rita", "releaser"]);
        env
    }

    fn cmd(&self, who: &str, args: &[&str]) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_promptdesk"));
        c.arg("--registry")
            .arg(self.dir.path().join("registry.db"))
            .args(args)
            .env("PROMPTDESK_USER", who)
            // These tests sign with key files, chosen explicitly; the OS keyring itself is
            // tested by the keys crate inside a D-Bus session with gnome-keyring.
            .env(
                "PROMPTDESK_KEYSTORE",
                format!("file:{}", self.dir.path().join("keys").display()),
            )
            .env_remove("PROMPTDESK_REGISTRY")
            .env("NO_COLOR", "1");
        c
    }

    fn run(&self, who: &str, args: &[&str]) -> Output {
        self.cmd(who, args).output().unwrap()
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

    /// Runs a command that must be refused (exit 1); returns its error line.
    fn refused(&self, who: &str, args: &[&str]) -> String {
        let out = self.run(who, args);
        assert_eq!(
            out.status.code(),
            Some(1),
            "{who}: promptdesk {args:?} should be refused:\n{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stderr).unwrap()
    }

    fn production(&self) -> u64 {
        let v: serde_json::Value = serde_json::from_str(&self.ok(
            "ana",
            &["--json", "show", "support/refund-reply@production"],
        ))
        .unwrap();
        v["number"].as_u64().unwrap()
    }
}

#[test]
fn the_refund_reply_story_plays_in_the_cli() {
    let env = Env::new();
    let req: serde_json::Value = serde_json::from_str(&env.ok(
        "ana",
        &[
            "--json",
            "review",
            "request",
            "support/refund-reply@4",
            "--label",
            "production",
            "-m",
            "Shorter reply",
        ],
    ))
    .unwrap();
    let id = req["number"].to_string();

    let why = env.refused(
        "ana",
        &[
            "release",
            "support/refund-reply@4",
            "--label",
            "production",
            "-m",
            "Shorter reply",
        ],
    );
    assert!(
        why.contains("only a releaser or above") && why.contains("1 approval"),
        "{why}"
    );
    let why = env.refused("ana", &["review", "approve", &id]);
    assert!(
        why.contains("only a reviewer or above may approve"),
        "{why}"
    );

    env.ok(
        "ben",
        &[
            "review",
            "comment",
            &id,
            "-m",
            "Policy text is gone",
            "--line",
            "1",
        ],
    );
    env.ok("ben", &["review", "approve", &id, "-m", "ok for now"]);
    let shown = env.ok("rita", &["review", "show", &id]);
    assert!(
        shown.contains("[x] 1 approval of version 4") && shown.contains("on template line 1"),
        "{shown}"
    );

    let why = env.refused(
        "rita",
        &["release", "support/refund-reply@4", "--label", "production"],
    );
    assert!(why.contains("a changelog is required"), "{why}");
    env.ok(
        "rita",
        &[
            "release",
            "support/refund-reply@4",
            "--label",
            "production",
            "-m",
            "Shorter, friendlier reply",
        ],
    );
    assert_eq!(env.production(), 4);

    let why = env.refused("ana", &["label", "support/refund-reply@4", "production"]);
    assert!(why.contains("protected"), "{why}");

    env.ok(
        "rita",
        &[
            "rollback",
            "support/refund-reply",
            "--label",
            "production",
            "--reason",
            "No policy text in replies",
        ],
    );
    assert_eq!(env.production(), 3);
    let releases = env.ok(
        "ana",
        &["releases", "support/refund-reply", "--label", "production"],
    );
    let lines: Vec<&str> = releases
        .lines()
        .filter(|l| l.contains("rollback") || l.contains(" release "))
        .collect();
    assert_eq!(lines.len(), 3, "{releases}");
    assert!(
        lines[0].contains("rollback") && lines[0].contains("4 → 3"),
        "{releases}"
    );
    assert!(lines[1].contains("approved by ben"), "{releases}");
    env.ok("root", &["verify"]);

    let status: serde_json::Value =
        serde_json::from_str(&env.ok("ana", &["--json", "review", "list", "--all"])).unwrap();
    assert_eq!(status[0]["status"], "released");

    // Policies: admins only, and the new rule applies at once.
    let why = env.refused("rita", &["policy", "set", "production", "--approvals", "2"]);
    assert!(why.contains("only an admin"), "{why}");
    env.ok("root", &["policy", "set", "production", "--approvals", "2"]);
    let p = env.ok("rita", &["policy", "show", "production"]);
    assert!(p.contains("approvals required:     2"), "{p}");
    let bad = env.run(
        "root",
        &["policy", "set", "production", "--freeze", "tomorrow"],
    );
    assert_eq!(bad.status.code(), Some(2));
}

#[test]
fn two_releases_racing_from_separate_processes_exactly_one_wins() {
    let env = Env::new();
    // Version 5, and approved reviews for versions 4 and 5.
    let file = env.dir.path().join("v5.prompt");
    std::fs::write(
        &file,
        "Hi {{ customer_name }}, your refund for {{ order_id }} is on its way.\n",
    )
    .unwrap();
    env.ok(
        "ana",
        &[
            "draft",
            "support/refund-reply",
            "--file",
            file.to_str().unwrap(),
        ],
    );
    env.ok("ana", &["commit", "support/refund-reply", "-m", "Shortest"]);
    for v in ["4", "5"] {
        let spec = format!("support/refund-reply@{v}");
        let out: serde_json::Value = serde_json::from_str(&env.ok(
            "ana",
            &[
                "--json",
                "review",
                "request",
                &spec,
                "--label",
                "production",
            ],
        ))
        .unwrap();
        env.ok("ben", &["review", "approve", &out["number"].to_string()]);
    }

    for round in 0..4 {
        assert_eq!(env.production(), 3, "round {round} starts from version 3");
        let racers: Vec<_> = ["4", "5"]
            .iter()
            .map(|v| {
                env.cmd(
                    "rita",
                    &[
                        "release",
                        &format!("support/refund-reply@{v}"),
                        "--label",
                        "production",
                        "--expect-from",
                        "3",
                        "-m",
                        &format!("race {round}"),
                    ],
                )
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
            })
            .collect();
        let outs: Vec<Output> = racers
            .into_iter()
            .map(|c| c.wait_with_output().unwrap())
            .collect();
        let winners: Vec<&Output> = outs.iter().filter(|o| o.status.success()).collect();
        assert_eq!(winners.len(), 1, "round {round}: exactly one release wins");
        let loser = outs.iter().find(|o| !o.status.success()).unwrap();
        let why = String::from_utf8_lossy(&loser.stderr);
        assert_eq!(loser.status.code(), Some(1), "{why}");
        assert!(
            why.contains("while this release was being decided"),
            "{why}"
        );
        let won = env.production();
        assert!(won == 4 || won == 5);
        env.ok(
            "rita",
            &[
                "rollback",
                "support/refund-reply",
                "--label",
                "production",
                "--to",
                "3",
                "--reason",
                "next round",
            ],
        );
    }
    env.ok("root", &["verify"]);
}

#[test]
fn without_a_keyring_signing_is_refused_with_the_reason() {
    let env = Env::new();
    let req: serde_json::Value = serde_json::from_str(&env.ok(
        "ana",
        &[
            "--json",
            "review",
            "request",
            "support/refund-reply@4",
            "--label",
            "production",
        ],
    ))
    .unwrap();
    let id = req["number"].to_string();
    for args in [
        vec!["keys", "check"],
        vec!["review", "approve", id.as_str()],
    ] {
        let out = env
            .cmd("ben", &args)
            .env_remove("PROMPTDESK_KEYSTORE")
            .env(
                "DBUS_SESSION_BUS_ADDRESS",
                "unix:path=/nonexistent/promptdesk-test-bus",
            )
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(
            err.contains("the OS keyring is not available")
                && err.contains("PROMPTDESK_KEYSTORE=file:DIR"),
            "{err}"
        );
    }
    // Nothing was approved.
    let shown: serde_json::Value =
        serde_json::from_str(&env.ok("ben", &["--json", "review", "show", &id])).unwrap();
    assert_eq!(shown["events"].as_array().unwrap().len(), 0);
    // The key store can be chosen explicitly, and says so.
    let out = env.run("ben", &["keys", "check"]);
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("plain files"));
}

#[test]
fn a_bundle_file_releases_everything_or_nothing() {
    let env = Env::new();
    let bundle = env.dir.path().join("bundle.yaml");
    std::fs::write(
        &bundle,
        "- {prompt: support/refund-reply, ref: '4', label: production}\n\
         - {prompt: support/triage, ref: '1', label: production, changelog: back to v1}\n",
    )
    .unwrap();
    let approve = |spec: &str| {
        let req: serde_json::Value = serde_json::from_str(&env.ok(
            "ana",
            &["--json", "review", "request", spec, "--label", "production"],
        ))
        .unwrap();
        env.ok("ben", &["review", "approve", &req["number"].to_string()]);
    };
    approve("support/refund-reply@4");
    let args = [
        "release",
        "--bundle",
        bundle.to_str().unwrap(),
        "-m",
        "Holiday bundle",
    ];
    let why = env.refused("rita", &args);
    assert!(
        why.contains("nothing in the bundle was released") && why.contains("support/triage@1"),
        "{why}"
    );
    assert_eq!(env.production(), 3);
    approve("support/triage@1");
    let with_json: Vec<&str> = std::iter::once("--json").chain(args).collect();
    let out: serde_json::Value = serde_json::from_str(&env.ok("rita", &with_json)).unwrap();
    assert_eq!(out.as_array().unwrap().len(), 2);
    assert_eq!(out[0]["bundle"], out[1]["bundle"]);
    assert_eq!(env.production(), 4);
    let bad = env.dir.path().join("bad.yaml");
    std::fs::write(&bad, "prompt: not a list").unwrap();
    let out = env.run("rita", &["release", "--bundle", bad.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn keys_are_listed_rotated_and_revoked_from_the_command_line() {
    let env = Env::new();
    let req: serde_json::Value = serde_json::from_str(&env.ok(
        "ana",
        &[
            "--json",
            "review",
            "request",
            "support/refund-reply@4",
            "--label",
            "production",
        ],
    ))
    .unwrap();
    let id = req["number"].to_string();
    env.ok("ben", &["review", "approve", &id]);
    let keys: serde_json::Value =
        serde_json::from_str(&env.ok("ben", &["--json", "keys", "list"])).unwrap();
    let ben_old = keys
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["person"] == "ben")
        .unwrap()["key_id"]
        .as_str()
        .unwrap()
        .to_string();

    // Ben rotates: his key file holds the new key, and the old one is revoked.
    let rotated: serde_json::Value =
        serde_json::from_str(&env.ok("ben", &["--json", "keys", "rotate"])).unwrap();
    assert_eq!(rotated["old_key"]["key_id"], ben_old.as_str());
    assert_eq!(rotated["old_key"]["revoked"]["by"], "ben");
    let new_id = rotated["new_key"]["key_id"].as_str().unwrap().to_string();
    assert_ne!(new_id, ben_old);
    assert!(env.ok("ben", &["keys", "check"]).contains(&new_id));
    let listed = env.ok("ben", &["keys", "list"]);
    assert!(
        listed.contains(&format!("{ben_old}  ben")) && listed.contains("revoked by ben"),
        "{listed}"
    );

    // His old approval no longer counts: the release is refused, and says so.
    let why = env.refused(
        "rita",
        &[
            "release",
            "support/refund-reply@4",
            "--label",
            "production",
            "-m",
            "Friendlier",
        ],
    );
    assert!(why.contains("0 so far"), "{why}");
    env.ok("ben", &["review", "approve", &id, "-m", "again, new key"]);
    env.ok(
        "rita",
        &[
            "release",
            "support/refund-reply@4",
            "--label",
            "production",
            "-m",
            "Friendlier",
        ],
    );

    // Ana may not revoke rita's key; root may; a reason is required.
    let rita_key =
        serde_json::from_str::<serde_json::Value>(&env.ok("rita", &["--json", "keys", "list"]))
            .unwrap()
            .as_array()
            .unwrap()
            .iter()
            .find(|k| k["person"] == "rita")
            .unwrap()["key_id"]
            .as_str()
            .unwrap()
            .to_string();
    let why = env.refused(
        "ana",
        &["keys", "revoke", &rita_key, "--reason", "mine now"],
    );
    assert!(why.contains("revoked by rita or by an admin"), "{why}");
    env.ok(
        "root",
        &[
            "keys",
            "revoke",
            &rita_key[..8],
            "--reason",
            "Rita left the team",
        ],
    );
    let out = env.run(
        "rita",
        &[
            "release",
            "support/refund-reply@3",
            "--label",
            "production",
            "-m",
            "back",
        ],
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("was revoked by root"), "{err}");
    assert!(env.ok("root", &["verify"]).contains("ok"));
}
