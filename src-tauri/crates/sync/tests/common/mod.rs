//! A real registry server on 127.0.0.1 over a real SQLite file, and registries (each its own
//! file) acting as team members' desktop apps.

#![allow(dead_code)] // each test file uses part of this

use std::net::SocketAddr;
use std::sync::Arc;

use promptdesk_content::PromptKind;
use promptdesk_core::policy::Role;
use promptdesk_core::signing::MemorySigner;
use promptdesk_core::{DraftContent, NewPrompt, Registry};
use promptdesk_server::Store;
use promptdesk_sync::{Remote, RemoteOptions, Report};

pub struct Server {
    /// Declared first: fields drop in order, so the server stops before its database goes.
    running: promptdesk_server::Background,
    pub addr: SocketAddr,
    pub store: Arc<Store>,
    pub dir: tempfile::TempDir,
}

impl Server {
    pub fn start() -> Server {
        let dir = tempfile::tempdir().unwrap();
        Server::start_in(dir)
    }

    /// Starts (or restarts) a server over the database in `dir`.
    pub fn start_in(dir: tempfile::TempDir) -> Server {
        Server::start_with(dir, None)
    }

    /// A server speaking HTTPS with `tls`.
    pub fn start_tls(tls: Arc<rustls::ServerConfig>) -> Server {
        Server::start_with(tempfile::tempdir().unwrap(), Some(tls))
    }

    fn start_with(dir: tempfile::TempDir, tls: Option<Arc<rustls::ServerConfig>>) -> Server {
        std::env::set_var("PROMPTDESK_SERVER_QUIET", "1");
        let url = format!("sqlite://{}", dir.path().join("server.db").display());
        let store = Arc::new(Store::open(&url).unwrap());
        let running = match tls {
            Some(tls) => promptdesk_server::Background::start_tls(store.clone(), tls),
            None => promptdesk_server::Background::start(store.clone()),
        }
        .unwrap();
        let addr = running.addr;
        Server {
            addr,
            store,
            dir,
            running,
        }
    }

    pub fn url(&self) -> String {
        self.running.url()
    }

    pub fn token(&self, user: &str, role: Role) -> String {
        promptdesk_server::auth::create_token(
            &self.store,
            user,
            role,
            false,
            &promptdesk_server::now(),
        )
        .unwrap()
        .secret
    }

    pub fn stop(mut self) -> tempfile::TempDir {
        self.running.stop();
        let dir = tempfile::tempdir().unwrap();
        std::mem::replace(&mut self.dir, dir)
    }
}

/// One person's desktop registry, synced with the server under their token.
pub struct Member {
    pub name: String,
    pub reg: Registry,
    pub remote: Remote,
    _dir: tempfile::TempDir,
}

impl Member {
    pub fn join(server: &Server, name: &str, role: Role) -> Member {
        Member::join_at(server, &server.url(), name, role, &RemoteOptions::default())
            .unwrap_or_else(|e| panic!("{name} cannot join: {e}"))
    }

    /// Joins through `url` (the server's, or another name for it) with `options`.
    pub fn join_at(
        server: &Server,
        url: &str,
        name: &str,
        role: Role,
        options: &RemoteOptions,
    ) -> Result<Member, promptdesk_sync::SyncError> {
        let dir = tempfile::tempdir().unwrap();
        let (mut reg, _) = Registry::init(&dir.path().join("registry.db")).unwrap();
        reg.set_actor(name);
        reg.set_signer(Box::new(signer(name)));
        reg.set_sync_remote(url).unwrap();
        promptdesk_sync::set_remote_options(&reg, url, options)?;
        let token = server.token(name, role);
        let remote = promptdesk_sync::remote_for(&reg, url, &token)?;
        Ok(Member {
            name: name.into(),
            reg,
            remote,
            _dir: dir,
        })
    }

    pub fn sync(&mut self) -> Report {
        promptdesk_sync::sync(&mut self.reg, &self.remote, &mut |_| {})
            .unwrap_or_else(|e| panic!("{} could not sync: {e}", self.name))
    }

    pub fn new_text(&mut self, name: &str, template: &str) {
        self.reg
            .create_prompt(
                name,
                PromptKind::Text,
                NewPrompt {
                    draft: Some(text(template)),
                    ..Default::default()
                },
            )
            .unwrap();
        self.reg.commit(name, "First version").unwrap();
    }

    pub fn edit(&mut self, name: &str, template: &str, message: &str) -> u32 {
        self.reg.save_draft(name, text(template)).unwrap();
        self.reg.commit(name, message).unwrap().number
    }
}

pub fn text(template: &str) -> DraftContent {
    serde_json::from_value(serde_json::json!({
        "body": { "kind": "text", "template": template },
    }))
    .unwrap()
}

/// A signing key derived from the name (tests only).
pub fn signer(who: &str) -> MemorySigner {
    let mut seed = [0u8; 32];
    for (i, b) in who.bytes().enumerate() {
        seed[i % 32] ^= b;
    }
    seed[31] ^= 0x33;
    MemorySigner::from_seed(seed)
}

/// Everything that must agree between registries after they sync: every version by number and
/// hash, every label, and every review, review event and release the server accepted (a refused
/// one stays in the registry where it was made, which is append-only, listed as refused).
pub fn shared_state(reg: &Registry) -> serde_json::Value {
    let conn = reg.connection();
    let rows = |sql: &str| -> Vec<Vec<String>> {
        let mut stmt = conn.prepare(sql).unwrap();
        let n = stmt.column_count();
        stmt.query_map([], |r| {
            (0..n)
                .map(|i| {
                    r.get::<_, rusqlite::types::Value>(i).map(|v| match v {
                        rusqlite::types::Value::Null => "null".to_string(),
                        rusqlite::types::Value::Integer(i) => i.to_string(),
                        rusqlite::types::Value::Text(t) => t,
                        other => format!("{other:?}"),
                    })
                })
                .collect()
        })
        .unwrap()
        .map(Result::unwrap)
        .collect()
    };
    serde_json::json!({
        "prompts": rows("SELECT name, kind FROM prompts ORDER BY name"),
        "versions": rows("SELECT p.name, v.number, v.hash, v.author FROM versions v JOIN prompts p ON p.id = v.prompt_id ORDER BY p.name, v.number"),
        "labels": rows("SELECT p.name, l.name, l.hash FROM labels l JOIN prompts p ON p.id = l.prompt_id ORDER BY p.name, l.name"),
        "reviews": rows("SELECT id, version_hash, label, requested_by FROM reviews
                         WHERE id NOT IN (SELECT event_id FROM sync_events WHERE status = 'refused') ORDER BY id"),
        "review_events": rows("SELECT id, kind, actor, content_hash, signature FROM review_events
                               WHERE id NOT IN (SELECT event_id FROM sync_events WHERE status = 'refused') ORDER BY id"),
        "releases": rows("SELECT s.id, s.kind, s.label, s.from_hash, s.to_hash, s.actor, s.signature FROM releases s
                          WHERE s.id NOT IN (SELECT event_id FROM sync_events WHERE status = 'refused') ORDER BY s.id"),
        "keys": rows("SELECT key_id, person FROM signing_keys ORDER BY key_id"),
    })
}

/// Runs `suite` on `prompt@n` in `m`'s registry, every case answered with `reply`.
pub fn run_suite(m: &mut Member, prompt: &str, n: u32, suite: &str, reply: &str) -> String {
    let prepared = m
        .reg
        .start_run(prompt, Some(&promptdesk_core::Ref::Number(n)), suite, None)
        .unwrap();
    for case in prepared.cases {
        m.reg
            .record_result(
                &prepared.run.id,
                promptdesk_core::eval::Outcome {
                    case,
                    input: None,
                    reply: Ok(promptdesk_core::eval::ReplyFacts {
                        output: reply.into(),
                        tokens_in: 1,
                        tokens_out: 1,
                        latency_ms: 1,
                        cost: None,
                        finish_reason: "stop".into(),
                    }),
                    rubric_verdicts: vec![],
                    cached: false,
                    attempts: 1,
                    cache_key: None,
                },
            )
            .unwrap();
    }
    m.reg
        .finish_run(
            &prepared.run.id,
            promptdesk_core::eval::RunStatus::Completed,
            None,
        )
        .unwrap();
    prepared.run.id
}
