//! Sync under faults, through the real binaries: `promptdesk serve` killed with SIGKILL in the
//! middle of a push and restarted, an answer cut short by a proxy, and a replayed push. In each
//! case the client's next `promptdesk sync` completes, the server holds every change exactly
//! once, and a second registry pulling everything ends up with the same state.

use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use promptdesk_content::PromptKind;
use promptdesk_core::{DraftContent, NewPrompt, Registry};
use serde_json::{json, Value};

fn bin() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_promptdesk"));
    c.env_remove("PROMPTDESK_REGISTRY")
        .env_remove("PROMPTDESK_TOKEN")
        .env("PROMPTDESK_SERVER_QUIET", "1")
        .env("NO_COLOR", "1");
    c
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// `promptdesk serve` as a child process over a database file that outlives it.
struct ServerProcess {
    db: PathBuf,
    port: u16,
    child: Option<Child>,
}

impl ServerProcess {
    fn start(db: &Path, port: u16) -> ServerProcess {
        let child = bin()
            .args(["serve", "--database"])
            .arg(format!("sqlite://{}", db.display()))
            .args(["--addr", &format!("127.0.0.1:{port}")])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(20);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "the server did not start");
            std::thread::sleep(Duration::from_millis(20));
        }
        ServerProcess {
            db: db.to_path_buf(),
            port,
            child: Some(child),
        }
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    fn token(&self, user: &str, role: &str) -> String {
        let out = bin()
            .args(["--json", "server", "--database"])
            .arg(format!("sqlite://{}", self.db.display()))
            .args(["token", "create", "--user", user, "--role", role])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let v: Value = serde_json::from_slice(&out.stdout).unwrap();
        v["secret"].as_str().unwrap().to_string()
    }

    fn kill9(&mut self) {
        if let Some(mut c) = self.child.take() {
            // SIGKILL: no graceful shutdown, no chance to finish the transaction in flight.
            unsafe {
                libc::kill(c.id() as i32, libc::SIGKILL);
            }
            let _ = c.wait();
        }
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        self.kill9();
    }
}

/// One person's registry, driven through the CLI (and opened directly to read its state).
struct Client {
    dir: tempfile::TempDir,
    user: String,
}

impl Client {
    fn new(user: &str) -> Client {
        let c = Client {
            dir: tempfile::tempdir().unwrap(),
            user: user.into(),
        };
        Registry::init(&c.path()).unwrap();
        c
    }

    fn path(&self) -> PathBuf {
        self.dir.path().join("registry.db")
    }

    fn cmd(&self, args: &[&str]) -> Command {
        let mut c = bin();
        c.arg("--registry")
            .arg(self.path())
            .args(args)
            .env("PROMPTDESK_USER", &self.user)
            .env(
                "PROMPTDESK_KEYSTORE",
                format!("file:{}", self.dir.path().join("keys").display()),
            );
        c
    }

    fn connect(&self, url: &str, token: &str) {
        let mut child = self
            .cmd(&["remote", "set", url, "--token-stdin"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(format!("{token}\n").as_bytes())
            .unwrap();
        let out = child.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    fn sync(&self) -> Output {
        self.cmd(&["--json", "sync"]).output().unwrap()
    }

    fn synced(&self) -> Value {
        let out = self.sync();
        assert!(
            out.status.success(),
            "sync failed: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).unwrap()
    }

    /// Writes `prompts` prompts with `versions` versions each, straight into the registry.
    fn write(&self, prompts: usize, versions: usize) {
        let mut reg = Registry::open(&self.path()).unwrap();
        reg.set_actor(&self.user);
        reg.batch(|reg| {
            for p in 0..prompts {
                let name = format!("load/p{p:03}");
                reg.create_prompt(
                    &name,
                    PromptKind::Text,
                    NewPrompt {
                        draft: Some(text(&format!("Prompt {p}, version 1"))),
                        ..Default::default()
                    },
                )?;
                reg.commit(&name, "v1")?;
                for v in 2..=versions {
                    reg.save_draft(&name, text(&format!("Prompt {p}, version {v}")))?;
                    reg.commit(&name, &format!("v{v}"))?;
                }
            }
            Ok(())
        })
        .unwrap();
    }

    /// Versions by prompt, number and hash: what must agree between registries.
    fn versions(&self) -> Vec<(String, u32, String)> {
        let reg = Registry::open(&self.path()).unwrap();
        let mut stmt = reg
            .connection()
            .prepare(
                "SELECT p.name, v.number, v.hash FROM versions v JOIN prompts p ON p.id = v.prompt_id
                 ORDER BY p.name, v.number",
            )
            .unwrap();
        stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .unwrap()
            .map(Result::unwrap)
            .collect()
    }

    fn pending(&self) -> u64 {
        Registry::open(&self.path())
            .unwrap()
            .sync_state()
            .unwrap()
            .pending
    }
}

fn text(template: &str) -> DraftContent {
    serde_json::from_value(json!({ "body": { "kind": "text", "template": template } })).unwrap()
}

/// The server's event count and whether its ids are all distinct, read through the API.
fn server_events(url: &str, token: &str) -> (u64, bool) {
    let remote = promptdesk_sync::Remote::new(url, token);
    let mut ids = std::collections::BTreeSet::new();
    let mut after = 0;
    let mut n = 0;
    loop {
        let (_, page) = remote
            .get(&format!("/v1/sync/pull?after={after}&limit=5000"))
            .unwrap();
        let events = page["events"].as_array().unwrap();
        if events.is_empty() {
            return (n, ids.len() as u64 == n);
        }
        for e in events {
            ids.insert(e["event"]["id"].as_str().unwrap().to_string());
            after = e["seq"].as_i64().unwrap();
            n += 1;
        }
    }
}

#[test]
fn a_server_killed_mid_push_loses_nothing_and_duplicates_nothing() {
    let home = tempfile::tempdir().unwrap();
    let db = home.path().join("server.db");
    let port = free_port();
    let mut server = ServerProcess::start(&db, port);
    let token = server.token("ana", "editor");
    let ana = Client::new("ana");
    ana.write(20, 60); // 20 prompt events + 1,200 versions: several push batches
    let expected = ana.pending();
    assert_eq!(expected, 20 + 20 * 60);
    ana.connect(&server.url(), &token);

    let sync = ana
        .cmd(&["--json", "sync"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Kill the server once part of the push has landed.
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let (stored, _) = server_events(&server.url(), &token);
        if stored > 0 {
            assert!(
                stored < expected,
                "the push finished before the kill; make it bigger"
            );
            break;
        }
        assert!(Instant::now() < deadline, "nothing was pushed");
        std::thread::sleep(Duration::from_millis(5));
    }
    server.kill9();
    let out = sync.wait_with_output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(1),
        "an interrupted sync is exit 1: {}",
        String::from_utf8_lossy(&out.stdout)
    );
    let msg = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        msg.contains("offline") || msg.contains("cannot be reached"),
        "{msg}"
    );
    assert!(ana.pending() > 0, "some of the push was not acknowledged");

    // Restarted on the same database, the retry completes.
    let server = ServerProcess::start(&db, port);
    let report = ana.synced();
    assert_eq!(ana.pending(), 0, "{report}");
    let (stored, distinct) = server_events(&server.url(), &token);
    assert_eq!(
        stored, expected,
        "every change is on the server exactly once"
    );
    assert!(distinct);

    // Someone else pulls everything and sees the same versions under the same numbers.
    let ben = Client::new("ben");
    ben.connect(&server.url(), &server.token("ben", "reviewer"));
    ben.synced();
    assert_eq!(ben.versions(), ana.versions());
    assert_eq!(ana.versions().len(), 1200);
}

/// Forwards connections to `upstream`; while `cut` is armed, the answer to the next push is
/// cut short after a few bytes and the connection closed (then `cut` disarms itself).
fn proxy(upstream: u16, cut: Arc<AtomicBool>) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for client in listener.incoming() {
            let Ok(client) = client else { continue };
            let Ok(server) = TcpStream::connect(("127.0.0.1", upstream)) else {
                continue;
            };
            let cut = cut.clone();
            let push_seen = Arc::new(AtomicBool::new(false));
            let (mut c_read, mut s_write) =
                (client.try_clone().unwrap(), server.try_clone().unwrap());
            let seen = push_seen.clone();
            std::thread::spawn(move || {
                let mut buf = [0u8; 16384];
                while let Ok(n) = c_read.read(&mut buf) {
                    if n == 0 {
                        break;
                    }
                    if buf[..n].windows(18).any(|w| w == b"POST /v1/sync/push") {
                        seen.store(true, Ordering::SeqCst);
                    }
                    if s_write.write_all(&buf[..n]).is_err() {
                        break;
                    }
                }
                let _ = s_write.shutdown(Shutdown::Write);
            });
            let (mut s_read, mut c_write) = (server, client);
            std::thread::spawn(move || {
                let mut buf = [0u8; 16384];
                while let Ok(n) = s_read.read(&mut buf) {
                    if n == 0 {
                        break;
                    }
                    if push_seen.load(Ordering::SeqCst) && cut.swap(false, Ordering::SeqCst) {
                        // The headers and part of the body (the answer lists 200 results), then
                        // nothing: the client must not use half an answer.
                        let _ = c_write.write_all(&buf[..n / 2]);
                        let _ = c_write.shutdown(Shutdown::Both);
                        let _ = s_read.shutdown(Shutdown::Both);
                        return;
                    }
                    if c_write.write_all(&buf[..n]).is_err() {
                        break;
                    }
                }
                let _ = c_write.shutdown(Shutdown::Both);
            });
        }
    });
    port
}

#[test]
fn a_truncated_answer_and_a_replayed_push_change_nothing_twice() {
    let home = tempfile::tempdir().unwrap();
    let server = ServerProcess::start(&home.path().join("server.db"), free_port());
    let token = server.token("ana", "editor");
    let cut = Arc::new(AtomicBool::new(true));
    let via = proxy(server.port, cut.clone());
    let url = format!("http://127.0.0.1:{via}");

    let ana = Client::new("ana");
    ana.write(3, 100); // 303 events: two push batches
    let expected = ana.pending();
    // Remember what the first sync will push, to replay it afterwards.
    let first_batch = Registry::open(&ana.path())
        .unwrap()
        .sync_pending(200)
        .unwrap();
    ana.connect(&url, &token);

    let out = ana.sync();
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("cut short")
            || String::from_utf8_lossy(&out.stderr).contains("cut short"),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!cut.load(Ordering::SeqCst), "the proxy did cut an answer");
    assert_eq!(ana.pending(), expected, "nothing was acknowledged");

    // The retry sends the first batch again: the server already has it.
    let report = ana.synced();
    assert_eq!(report["report"]["duplicates"], 200, "{report}");
    assert_eq!(ana.pending(), 0);
    let (stored, distinct) = server_events(&server.url(), &token);
    assert_eq!((stored, distinct), (expected, true));

    // Replaying the same push by hand: every event is a duplicate, the log does not grow.
    let remote = promptdesk_sync::Remote::new(&server.url(), &token);
    let events: Vec<_> = first_batch.iter().map(|p| &p.event).collect();
    let (status, answer) = remote
        .post("/v1/sync/push", &json!({ "events": events }))
        .unwrap();
    assert_eq!(status, 200, "{answer}");
    let results = answer["results"].as_array().unwrap();
    assert_eq!(results.len(), 200);
    assert!(results.iter().all(|r| r["status"] == "duplicate"));
    assert_eq!(server_events(&server.url(), &token).0, expected);
}
