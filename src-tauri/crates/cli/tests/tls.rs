//! TLS through the real binaries: `promptdesk serve --tls-cert --tls-key` with a certificate
//! from a private CA the test makes, and registries that sync with it over https:// through
//! `promptdesk remote set … --ca-file` or PROMPTDESK_CA_FILE. Without the CA, a certificate
//! message; plain http:// to another machine refused before anything is sent; bad certificate
//! or key files refused at start, naming the file.

#[path = "../../server/tests/common/pki.rs"]
mod pki;

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};

use pki::Ca;
use serde_json::Value;

const NAME: &str = "support/greeting";

fn bin() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_promptdesk"));
    c.env_remove("PROMPTDESK_REGISTRY")
        .env_remove("PROMPTDESK_TOKEN")
        .env_remove("PROMPTDESK_CA_FILE")
        .env("NO_COLOR", "1");
    c
}

fn text(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr)
}

fn token(db: &Path, user: &str) -> String {
    let out = bin()
        .args(["--json", "server", "--database"])
        .arg(format!("sqlite://{}", db.display()))
        .args(["token", "create", "--user", user, "--role", "editor"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    v["secret"].as_str().unwrap().to_string()
}

/// `promptdesk serve` with TLS on a free port; stopped with SIGTERM when dropped.
struct Serve {
    child: Child,
    url: String,
}

impl Serve {
    fn start(db: &Path, cert: &Path, key: &Path) -> Serve {
        let mut child = bin()
            .args(["--json", "serve", "--addr", "127.0.0.1:0", "--database"])
            .arg(format!("sqlite://{}", db.display()))
            .arg("--tls-cert")
            .arg(cert)
            .arg("--tls-key")
            .arg(key)
            .env("PROMPTDESK_SERVER_QUIET", "1")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let started: Value = serde_json::from_str(&line).unwrap_or_else(|e| panic!("{line}: {e}"));
        assert_eq!(started["tls"], true, "{line}");
        let url = started["url"].as_str().unwrap().to_string();
        Serve { child, url }
    }

    /// SIGTERM: the server stops gracefully and exits 0.
    fn stop(mut self) {
        unsafe {
            libc::kill(self.child.id() as i32, libc::SIGTERM);
        }
        let status = self.child.wait().unwrap();
        assert!(status.success(), "{status:?}");
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One person's registry through the CLI.
struct Person {
    dir: tempfile::TempDir,
    name: String,
}

impl Person {
    fn new(name: &str) -> Person {
        let p = Person {
            dir: tempfile::tempdir().unwrap(),
            name: name.into(),
        };
        let out = p.cmd(&["init"]).output().unwrap();
        assert!(out.status.success(), "{}", text(&out));
        p
    }

    fn cmd(&self, args: &[&str]) -> Command {
        let mut c = bin();
        c.arg("--registry")
            .arg(self.dir.path().join("registry.db"))
            .args(args)
            .current_dir(self.dir.path())
            .env("PROMPTDESK_USER", &self.name)
            .env(
                "PROMPTDESK_KEYSTORE",
                format!("file:{}", self.dir.path().join("keys").display()),
            );
        c
    }

    /// `remote set` with the token on stdin, in `env`.
    fn remote_set(&self, args: &[&str], token: &str, env: &[(&str, &Path)]) -> Output {
        let mut all = vec!["remote", "set"];
        all.extend_from_slice(args);
        all.push("--token-stdin");
        let mut c = self.cmd(&all);
        for (k, v) in env {
            c.env(k, v);
        }
        let mut child = c
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        // The command may refuse before reading its stdin.
        let _ = child
            .stdin
            .take()
            .unwrap()
            .write_all(format!("{token}\n").as_bytes());
        child.wait_with_output().unwrap()
    }

    fn run(&self, args: &[&str], env: &[(&str, &Path)]) -> Output {
        let mut c = self.cmd(args);
        for (k, v) in env {
            c.env(k, v);
        }
        c.output().unwrap()
    }

    fn ok(&self, args: &[&str], env: &[(&str, &Path)]) -> String {
        let out = self.run(args, env);
        assert!(
            out.status.success(),
            "{}: {args:?}: {}",
            self.name,
            text(&out)
        );
        String::from_utf8(out.stdout).unwrap()
    }
}

fn exit(out: &Output) -> Option<i32> {
    out.status.code()
}

#[test]
fn registries_sync_through_promptdesk_serve_over_https_with_the_private_ca() {
    let home = tempfile::tempdir().unwrap();
    let ca = Ca::new(home.path(), "team");
    let leaf = ca.issue(home.path(), "server", &["localhost", "127.0.0.1"]);
    let db = home.path().join("server.db");
    let ana_token = token(&db, "ana");
    let ben_token = token(&db, "ben");
    let server = Serve::start(&db, &leaf.cert, &leaf.key);
    assert!(
        server.url.starts_with("https://127.0.0.1:"),
        "{}",
        server.url
    );

    // Without the CA: a certificate message, exit 2 (a setting to fix), and nothing kept.
    let ana = Person::new("ana");
    let out = ana.remote_set(&[&server.url], &ana_token, &[]);
    assert_eq!(exit(&out), Some(2), "{}", text(&out));
    let message = text(&out);
    assert!(
        message.contains("certificate of 127.0.0.1") && message.contains("unknown issuer"),
        "{message}"
    );
    assert!(message.contains("--ca-file"), "{message}");
    assert!(ana
        .ok(&["remote", "show"], &[])
        .contains("No server is set"));

    // With it (a relative path, kept as an absolute one).
    std::fs::copy(&ca.pem, ana.dir.path().join("team-ca.pem")).unwrap();
    let out = ana.remote_set(&[&server.url, "--ca-file", "team-ca.pem"], &ana_token, &[]);
    assert!(out.status.success(), "{}", text(&out));
    let shown = ana.ok(&["--json", "remote", "show"], &[]);
    let shown: Value = serde_json::from_str(&shown).unwrap();
    assert_eq!(shown["user"], "ana", "{shown}");
    let kept = PathBuf::from(shown["ca_file"].as_str().unwrap());
    assert!(
        kept.is_absolute() && kept.ends_with("team-ca.pem"),
        "{shown}"
    );

    std::fs::write(
        ana.dir.path().join("greeting.prompt"),
        "Hello {{ name }}.\n",
    )
    .unwrap();
    ana.ok(&["new", NAME, "--file", "greeting.prompt"], &[]);
    ana.ok(&["commit", NAME, "-m", "First version"], &[]);
    let synced: Value = serde_json::from_str(&ana.ok(&["--json", "sync"], &[])).unwrap();
    assert_eq!(synced["report"]["pushed"], 2, "{synced}");

    // ben trusts the CA through the environment only.
    let ben = Person::new("ben");
    let env = [("PROMPTDESK_CA_FILE", ca.pem.as_path())];
    let out = ben.remote_set(&[&server.url], &ben_token, &env);
    assert!(out.status.success(), "{}", text(&out));
    let synced: Value = serde_json::from_str(&ben.ok(&["--json", "sync"], &env)).unwrap();
    assert_eq!(synced["report"]["pulled"], 2, "{synced}");
    let log = ben.ok(&["log", NAME], &[]);
    assert!(
        log.contains("First version") && log.contains("ana"),
        "{log}"
    );

    // The same sync without the CA fails in words, not as "offline" (which exits 1).
    let out = ben.run(&["--json", "sync"], &[]);
    assert_eq!(exit(&out), Some(2), "{}", text(&out));
    assert!(text(&out).contains("unknown issuer"), "{}", text(&out));
    assert!(text(&out).contains(r#""kind":"tls""#), "{}", text(&out));
    assert!(!text(&out).contains("cannot be reached"), "{}", text(&out));
    // An unusable CA file is named.
    let missing = home.path().join("missing-ca.pem");
    let out = ben.run(&["sync"], &[("PROMPTDESK_CA_FILE", missing.as_path())]);
    assert_eq!(exit(&out), Some(2), "{}", text(&out));
    assert!(text(&out).contains("missing-ca.pem"), "{}", text(&out));

    server.stop();
}

#[test]
fn plain_http_to_another_machine_is_refused_when_set() {
    let ana = Person::new("ana");
    // Never contacted: the refusal comes before the token is read or anything is sent.
    for url in ["http://10.0.0.1:8600", "http://registry.example.invalid"] {
        let out = ana.remote_set(&[url], "pdt_unused", &[]);
        assert_eq!(exit(&out), Some(2), "{}", text(&out));
        let message = text(&out);
        assert!(message.contains("refusing plain http://"), "{message}");
        assert!(
            message.contains("--insecure") && message.contains("https://"),
            "{message}"
        );
    }
    // --insecure is for http:// only; it never turns certificate checks off.
    let out = ana.remote_set(&["https://10.0.0.1:8600", "--insecure"], "pdt_unused", &[]);
    assert_eq!(exit(&out), Some(2), "{}", text(&out));
    assert!(text(&out).contains("never turned off"), "{}", text(&out));
    assert!(ana
        .ok(&["remote", "show"], &[])
        .contains("No server is set"));
}

#[test]
fn serve_refuses_unusable_certificate_files_at_start_naming_them() {
    let home = tempfile::tempdir().unwrap();
    let ca = Ca::new(home.path(), "team");
    let leaf = ca.issue(home.path(), "server", &["127.0.0.1"]);
    let other = ca.issue(home.path(), "other", &["127.0.0.1"]);
    let empty = home.path().join("empty.pem");
    std::fs::write(&empty, "nothing here\n").unwrap();
    let missing = home.path().join("missing.pem");
    let db = format!("sqlite://{}", home.path().join("server.db").display());
    let serve = |cert: &Path, key: &Path| {
        let out = bin()
            .args(["serve", "--addr", "127.0.0.1:0", "--database", &db])
            .arg("--tls-cert")
            .arg(cert)
            .arg("--tls-key")
            .arg(key)
            .output()
            .unwrap();
        assert_eq!(exit(&out), Some(2), "{}", text(&out));
        String::from_utf8_lossy(&out.stderr).to_string()
    };
    let e = serve(&missing, &leaf.key);
    assert!(
        e.contains("missing.pem") && e.contains("cannot read"),
        "{e}"
    );
    let e = serve(&empty, &leaf.key);
    assert!(
        e.contains("empty.pem") && e.contains("no certificate"),
        "{e}"
    );
    let e = serve(&leaf.cert, &empty);
    assert!(e.contains("empty.pem") && e.contains("private key"), "{e}");
    let e = serve(&leaf.cert, &other.key);
    assert!(e.contains("cannot be used together"), "{e}");
    // One without the other is a usage error.
    let out = bin()
        .args(["serve", "--addr", "127.0.0.1:0", "--database", &db])
        .arg("--tls-cert")
        .arg(&leaf.cert)
        .output()
        .unwrap();
    assert_eq!(exit(&out), Some(2), "{}", text(&out));
    assert!(text(&out).contains("--tls-key"), "{}", text(&out));
}

#[test]
fn plain_http_beyond_loopback_is_served_with_a_warning() {
    let home = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", home.path().join("server.db").display());
    let start = |addr: &str| {
        let mut child = bin()
            .args(["--json", "serve", "--addr", addr, "--database", &db])
            .env("PROMPTDESK_SERVER_QUIET", "1")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let started: Value = serde_json::from_str(&line).unwrap_or_else(|e| panic!("{line}: {e}"));
        assert_eq!(started["tls"], false, "{line}");
        unsafe {
            libc::kill(child.id() as i32, libc::SIGTERM);
        }
        let out = child.wait_with_output().unwrap();
        assert!(out.status.success(), "{}", text(&out));
        String::from_utf8_lossy(&out.stderr).to_string()
    };
    // Every address of this machine (nothing is sent anywhere; the server only listens).
    let warned = start("0.0.0.0:0");
    assert!(
        warned.contains("plain HTTP") && warned.contains("--tls-cert"),
        "{warned}"
    );
    assert!(!start("127.0.0.1:0").contains("Warning"));
}
