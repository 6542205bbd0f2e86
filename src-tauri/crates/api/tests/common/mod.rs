//! A real registry server on 127.0.0.1 over a real SQLite file (as in the sync crate's tests),
//! and desktop backends ([`Api`]) over registries of their own, each with its keys in plain
//! files in its own directory.

#![allow(dead_code)] // each test file uses part of this

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use promptdesk_api::{Api, ApiError};
use promptdesk_core::policy::Role;
use promptdesk_server::Store;
use serde_json::{json, Value};

pub struct Server {
    /// Declared first: fields drop in order, so the server stops before its database goes.
    running: promptdesk_server::Background,
    pub addr: SocketAddr,
    pub store: Arc<Store>,
    _dir: tempfile::TempDir,
}

impl Server {
    pub fn start() -> Server {
        std::env::set_var("PROMPTDESK_SERVER_QUIET", "1");
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("server.db").display());
        let store = Arc::new(Store::open(&url).unwrap());
        let running = promptdesk_server::Background::start(store.clone()).unwrap();
        let addr = running.addr;
        Server {
            addr,
            store,
            _dir: dir,
            running,
        }
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// A new token for `user` with `role` (the secret, shown once).
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

    /// Stops the server and waits until it no longer answers.
    pub fn stop(&mut self) {
        self.running.stop();
    }
}

/// One person's desktop backend: a registry and a key folder of their own. Every answer it
/// gives is kept, so a test can check what ever crossed to the UI.
pub struct Desk {
    pub api: Api,
    pub dir: tempfile::TempDir,
    pub answers: std::cell::RefCell<Vec<String>>,
}

impl Desk {
    /// A fresh registry acting as `name` (unless PROMPTDESK_USER says otherwise: then
    /// [`Desk::actor`] is that), with signing keys and server tokens in plain files.
    pub fn new(name: &str) -> Desk {
        let dir = tempfile::tempdir().unwrap();
        let exe = std::env::current_exe().unwrap();
        let api = Api::open(&dir.path().join("registry.db"), Api::worker_config(exe))
            .key_files_in(dir.path().join("keys"));
        let desk = Desk {
            api,
            dir,
            answers: Default::default(),
        };
        desk.ok(
            "set_identity",
            json!({ "name": name, "email": format!("{name}@example.com") }),
        );
        let keys = desk.ok("choose_key_store", json!({ "store": "files" }));
        assert_eq!(keys["ok"], true, "{keys}");
        desk
    }

    pub fn call(&self, command: &str, req: Value) -> Result<Value, ApiError> {
        let out = self.api.dispatch(command, req);
        self.answers.borrow_mut().push(match &out {
            Ok(v) => v.to_string(),
            Err(e) => serde_json::to_string(e).unwrap(),
        });
        out
    }

    pub fn ok(&self, command: &str, req: Value) -> Value {
        self.call(command, req)
            .unwrap_or_else(|e| panic!("{command} failed: {e:?}"))
    }

    pub fn actor(&self) -> String {
        self.ok("app_info", json!({}))["actor"]
            .as_str()
            .unwrap()
            .to_string()
    }

    pub fn registry_file(&self) -> PathBuf {
        self.dir.path().join("registry.db")
    }

    pub fn key_dir(&self) -> PathBuf {
        self.dir.path().join("keys")
    }

    /// Creates a text prompt and commits its first version.
    pub fn new_prompt(&self, name: &str, template: &str) {
        self.ok("create_prompt", json!({ "name": name, "kind": "text" }));
        self.edit(name, template, "First version");
    }

    /// Replaces the draft and commits it; returns the new version's number.
    pub fn edit(&self, name: &str, template: &str, message: &str) -> u64 {
        self.ok(
            "save_draft",
            json!({ "name": name, "content": { "body": { "kind": "text", "template": template } } }),
        );
        self.ok(
            "commit_version",
            json!({ "name": name, "message": message }),
        )["number"]
            .as_u64()
            .unwrap()
    }
}
