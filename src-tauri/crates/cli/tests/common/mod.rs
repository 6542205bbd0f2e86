//! A demo registry driven through the real `promptdesk` binary, with its team (root admin, ana
//! editor, ben reviewer, rita releaser) and a local model server its `openai` provider points at.

#![allow(dead_code)] // each test file uses part of this

use std::process::{Command, Output};

pub use promptdesk_fakellm::{Config, FakeLlm};
use serde_json::Value;

pub const REFUND: &str = "support/refund-reply";

pub struct Env {
    pub dir: tempfile::TempDir,
    pub fake: FakeLlm,
}

impl Env {
    pub fn new(config: Config) -> Env {
        let env = Env {
            dir: tempfile::tempdir().unwrap(),
            fake: FakeLlm::start(config).unwrap(),
        };
        env.ok("seed", &["demo"]);
        env.ok("root", &["role", "set", "root", "admin"]);
        env.ok("root", &["role", "set", "ana", "editor"]);
        env.ok("root", &["role", "set", "ben", "reviewer"]);
        env.ok("root", &["role", "set", "rita", "releaser"]);
        let url = format!("{}/v1", env.fake.base_url());
        env.ok(
            "root",
            &[
                "provider",
                "set",
                "openai",
                "--kind",
                "openai",
                "--base-url",
                &url,
            ],
        );
        env
    }

    pub fn cmd(&self, who: &str, args: &[&str]) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_promptdesk"));
        c.arg("--registry")
            .arg(self.dir.path().join("registry.db"))
            .args(args)
            .env("PROMPTDESK_USER", who)
            .env(
                "PROMPTDESK_KEYSTORE",
                format!("file:{}", self.dir.path().join("keys").display()),
            )
            .env_remove("PROMPTDESK_REGISTRY")
            .env_remove("OPENAI_API_KEY")
            .env_remove("PROMPTDESK_OPENAI_API_KEY")
            .env("NO_COLOR", "1");
        c
    }

    pub fn run(&self, who: &str, args: &[&str]) -> Output {
        self.cmd(who, args).output().unwrap()
    }

    pub fn ok(&self, who: &str, args: &[&str]) -> String {
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

    pub fn json(&self, who: &str, args: &[&str]) -> Value {
        let mut all = vec!["--json"];
        all.extend_from_slice(args);
        serde_json::from_str(&self.ok(who, &all)).unwrap()
    }

    /// Runs a command that must exit with `code`; returns stdout and stderr.
    pub fn out_of(&self, who: &str, args: &[&str], code: i32) -> String {
        let out = self.run(who, args);
        let text = String::from_utf8_lossy(&out.stdout).to_string()
            + &String::from_utf8_lossy(&out.stderr);
        assert_eq!(
            out.status.code(),
            Some(code),
            "{who}: promptdesk {args:?}:\n{text}"
        );
        text
    }

    /// Runs a command that must exit with `code`; returns stderr.
    pub fn fails(&self, who: &str, args: &[&str], code: i32) -> String {
        let out = self.run(who, args);
        assert_eq!(
            out.status.code(),
            Some(code),
            "{who}: promptdesk {args:?}:\n{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stderr).unwrap()
    }
}
