//! A real server on 127.0.0.1:0 over a real database (a SQLite file, or a fresh database on a
//! real PostgreSQL started by [`pg`]), and a plain HTTP/1.1 client (one request per connection),
//! so the tests see exactly the bytes a client would.

#![allow(dead_code)] // each test file uses part of this

pub mod events;
pub mod pg;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;

use promptdesk_protocol::policy::Role;
use promptdesk_server::Store;
use serde_json::Value;

/// Which storage backend a server runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// A test's database, removed when the last server over it is dropped.
pub enum Database {
    Sqlite(tempfile::TempDir),
    Postgres(pg::TestDb),
}

impl Database {
    pub fn create(backend: Backend) -> Database {
        match backend {
            Backend::Sqlite => Database::Sqlite(tempfile::tempdir().unwrap()),
            Backend::Postgres => Database::Postgres(pg::TestDb::create()),
        }
    }

    pub fn url(&self) -> String {
        match self {
            Database::Sqlite(dir) => format!("sqlite://{}", dir.path().join("server.db").display()),
            Database::Postgres(db) => db.url.clone(),
        }
    }
}

pub struct Server {
    /// Declared first: fields drop in order, so the server stops before its database goes.
    running: promptdesk_server::Background,
    pub addr: SocketAddr,
    pub store: Arc<Store>,
    pub backend: Backend,
    database: Arc<Database>,
}

impl Server {
    /// A server over a new SQLite file.
    pub fn start() -> Server {
        Server::start_on(Backend::Sqlite)
    }

    /// A server over a new database of `backend`.
    pub fn start_on(backend: Backend) -> Server {
        Server::serve(backend, Arc::new(Database::create(backend)))
    }

    /// Another replica over this server's database: its own store (connections, caches) and
    /// its own listener, as a second `promptdesk serve` would be.
    pub fn replica(&self) -> Server {
        Server::serve(self.backend, self.database.clone())
    }

    /// The URL this server's store was opened with.
    pub fn database_url(&self) -> String {
        self.database.url()
    }

    fn serve(backend: Backend, database: Arc<Database>) -> Server {
        std::env::set_var("PROMPTDESK_SERVER_QUIET", "1");
        let store = Arc::new(Store::open(&database.url()).unwrap());
        let running = promptdesk_server::Background::start(store.clone()).unwrap();
        let addr = running.addr;
        Server {
            addr,
            store,
            backend,
            database,
            running,
        }
    }

    /// A native token for `user` with `role`.
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

    /// A Langfuse key pair, as the `user:password` of HTTP Basic.
    pub fn langfuse_keys(&self, user: &str, role: Role) -> (String, String) {
        let t = promptdesk_server::auth::create_token(
            &self.store,
            user,
            role,
            true,
            &promptdesk_server::now(),
        )
        .unwrap();
        (t.row.public_key.unwrap(), t.secret)
    }

    pub fn request(&self, method: &str, path: &str, auth: Auth<'_>, body: Option<&Value>) -> Reply {
        let body = body.map(|b| b.to_string());
        self.raw(method, path, auth, &[], body.as_deref().map(str::as_bytes))
    }

    pub fn raw(
        &self,
        method: &str,
        path: &str,
        auth: Auth<'_>,
        headers: &[(&str, &str)],
        body: Option<&[u8]>,
    ) -> Reply {
        let mut s = TcpStream::connect(self.addr).unwrap();
        let mut head =
            format!("{method} {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n");
        match auth {
            Auth::None => {}
            Auth::Bearer(t) => head.push_str(&format!("Authorization: Bearer {t}\r\n")),
            Auth::Basic(u, p) => {
                use base64::Engine as _;
                let b = base64::engine::general_purpose::STANDARD.encode(format!("{u}:{p}"));
                head.push_str(&format!("Authorization: Basic {b}\r\n"));
            }
        }
        for (k, v) in headers {
            head.push_str(&format!("{k}: {v}\r\n"));
        }
        if let Some(b) = body {
            if !headers
                .iter()
                .any(|(k, _)| k.eq_ignore_ascii_case("content-length"))
            {
                head.push_str(&format!("Content-Length: {}\r\n", b.len()));
            }
            head.push_str("Content-Type: application/json\r\n");
        }
        head.push_str("\r\n");
        s.write_all(head.as_bytes()).unwrap();
        if let Some(b) = body {
            // The server may refuse before reading the body; that is what some tests check.
            let _ = s.write_all(b);
        }
        let mut raw = Vec::new();
        let _ = s.read_to_end(&mut raw);
        Reply::parse(&raw)
    }
}

#[derive(Clone, Copy)]
pub enum Auth<'a> {
    None,
    Bearer(&'a str),
    Basic(&'a str, &'a str),
}

#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Reply {
    fn parse(raw: &[u8]) -> Reply {
        let text = String::from_utf8_lossy(raw);
        let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
        let mut lines = head.lines();
        let status = lines
            .next()
            .and_then(|l| l.split(' ').nth(1))
            .and_then(|s| s.parse().ok())
            .unwrap_or(0);
        let headers = lines
            .filter_map(|l| l.split_once(':'))
            .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
            .collect::<Vec<_>>();
        let chunked = headers
            .iter()
            .any(|(k, v)| k == "transfer-encoding" && v.contains("chunked"));
        let body = if chunked {
            dechunk(body)
        } else {
            body.to_string()
        };
        Reply {
            status,
            headers,
            body,
        }
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {} {}", self.status, self.body))
    }
}

fn dechunk(mut s: &str) -> String {
    let mut out = String::new();
    while let Some((size, rest)) = s.split_once("\r\n") {
        let n = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
        if n == 0 {
            break;
        }
        out.push_str(&rest[..n.min(rest.len())]);
        s = rest.get(n + 2..).unwrap_or("");
    }
    out
}
