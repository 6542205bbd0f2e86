//! Load on the runtime API: a prompt fetched by label over loopback, with a token, by N
//! keep-alive connections at once (64 unless `PROMPTDESK_BENCH_CONNECTIONS`), for the 200 path
//! (no ETag) and the 304 path (`If-None-Match` with the current ETag). Client and server share
//! the machine, as in the setup. Figures go to `target/figures/server-runtime.json`.
//!
//! `cargo bench -p promptdesk-server --bench runtime_load` (a release build; run by
//! tests/bench.sh).

use std::sync::Arc;
use std::time::{Duration, Instant};

use promptdesk_core::policy::Role;
use promptdesk_core::sync::{EventBody, MoveKind, SyncEvent};
use promptdesk_server::apply::{apply, Principal};
use promptdesk_server::Store;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const RUN: Duration = Duration::from_secs(5);

fn seed(store: &Store) -> String {
    let admin = Principal {
        user: "ana".into(),
        role: Role::Admin,
    };
    let content: promptdesk_content::VersionContent = serde_json::from_value(serde_json::json!({
        "body": {"kind": "text", "template": "Hello {{ customer_name }},\n\nThank you for contacting us about order {{ order_id }}. Refunds go back to the original payment method within 30 days.\n\nBest regards,\nThe support team"},
        "model": {"provider": "openai", "model": "gpt-4o-mini", "parameters": {"temperature": 0.2}}
    }))
    .unwrap();
    let hash = content.content_hash();
    let at = promptdesk_server::now();
    let events = [
        EventBody::PromptCreate {
            name: "support/refund-reply".into(),
            kind: promptdesk_content::PromptKind::Text,
            description: String::new(),
            tags: vec![],
        },
        EventBody::VersionCreate {
            prompt: "support/refund-reply".into(),
            hash: hash.clone(),
            parent_hash: None,
            content,
            message: "first".into(),
        },
        // `staging` is unprotected, so a plain move serves for the benchmark.
        EventBody::LabelMove {
            prompt: "support/refund-reply".into(),
            label: "staging".into(),
            kind: MoveKind::Set,
            from_hash: None,
            to_hash: hash.clone(),
            changelog: String::new(),
            review: None,
            bundle: None,
            key_id: None,
            signature: None,
        },
    ];
    for body in events {
        let e = SyncEvent::new("ana", &at, body);
        store.write(|tx| apply(tx, &admin, &e, &at)).unwrap();
    }
    format!("\"{hash}\"")
}

struct Figures {
    requests: u64,
    per_second: f64,
    p50_ms: f64,
    p99_ms: f64,
    status: u16,
}

async fn one_connection(
    addr: std::net::SocketAddr,
    request: Arc<Vec<u8>>,
    until: Instant,
) -> (Vec<u32>, u16) {
    let mut s = TcpStream::connect(addr).await.unwrap();
    s.set_nodelay(true).unwrap();
    let mut buf = vec![0u8; 64 * 1024];
    let mut latencies = Vec::new();
    let mut status = 0;
    while Instant::now() < until {
        let started = Instant::now();
        s.write_all(&request).await.unwrap();
        // Read one response: headers, then Content-Length bytes of body.
        let mut have = 0;
        loop {
            let n = s.read(&mut buf[have..]).await.unwrap();
            assert!(n > 0, "the server closed the connection");
            have += n;
            if let Some(end) = find(&buf[..have], b"\r\n\r\n") {
                let head = std::str::from_utf8(&buf[..end]).unwrap();
                status = head[9..12].parse().unwrap();
                let len: usize = head
                    .lines()
                    .find_map(|l| {
                        l.to_ascii_lowercase()
                            .strip_prefix("content-length:")
                            .map(|v| v.trim().parse().unwrap())
                    })
                    .unwrap_or(0);
                while have < end + 4 + len {
                    let n = s.read(&mut buf[have..]).await.unwrap();
                    assert!(n > 0);
                    have += n;
                }
                break;
            }
        }
        latencies.push(started.elapsed().as_micros() as u32);
    }
    (latencies, status)
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

async fn run(addr: std::net::SocketAddr, connections: usize, request: Vec<u8>) -> Figures {
    let request = Arc::new(request);
    let started = Instant::now();
    let until = started + RUN;
    let tasks: Vec<_> = (0..connections)
        .map(|_| tokio::spawn(one_connection(addr, request.clone(), until)))
        .collect();
    let mut all = Vec::new();
    let mut status = 0;
    for t in tasks {
        let (l, s) = t.await.unwrap();
        all.extend(l);
        status = s;
    }
    let elapsed = started.elapsed().as_secs_f64();
    all.sort_unstable();
    let pct = |p: f64| all[((all.len() as f64 * p) as usize).min(all.len() - 1)] as f64 / 1000.0;
    Figures {
        requests: all.len() as u64,
        per_second: all.len() as f64 / elapsed,
        p50_ms: pct(0.50),
        p99_ms: pct(0.99),
        status,
    }
}

fn main() {
    // `cargo bench` passes --bench; `cargo test --benches` runs this as a smoke test.
    let smoke = !std::env::args().any(|a| a == "--bench");
    std::env::set_var("PROMPTDESK_SERVER_QUIET", "1");
    let connections: usize = std::env::var("PROMPTDESK_BENCH_CONNECTIONS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(64);
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(
        Store::open(&format!(
            "sqlite://{}",
            dir.path().join("bench.db").display()
        ))
        .unwrap(),
    );
    let etag = seed(&store);
    let token = promptdesk_server::auth::create_token(
        &store,
        "app",
        Role::Viewer,
        false,
        "2026-01-01T00:00:00Z",
    )
    .unwrap()
    .secret;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let figures = rt.block_on(async move {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(promptdesk_server::serve(store, listener, std::future::pending()));
        let base = format!(
            "GET /v1/prompts/support%2Frefund-reply?label=staging HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer {token}\r\n"
        );
        let full = format!("{base}\r\n").into_bytes();
        let cond = format!("{base}If-None-Match: {etag}\r\n\r\n").into_bytes();
        let conns = if smoke { 2 } else { connections };
        let ok = run(addr, conns, full).await;
        let not_modified = run(addr, conns, cond).await;
        (ok, not_modified, conns)
    });
    let (ok, nm, conns) = figures;
    assert_eq!((ok.status, nm.status), (200, 304));
    let json = serde_json::json!({
        "benchmark": "runtime fetch by label over loopback with a token",
        "connections": conns,
        "seconds_each": RUN.as_secs(),
        "cores": std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0),
        "200": { "requests": ok.requests, "per_second": ok.per_second.round(), "p50_ms": ok.p50_ms, "p99_ms": ok.p99_ms },
        "304": { "requests": nm.requests, "per_second": nm.per_second.round(), "p50_ms": nm.p50_ms, "p99_ms": nm.p99_ms },
    });
    println!("{}", serde_json::to_string_pretty(&json).unwrap());
    if !smoke {
        let out = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../target/figures");
        std::fs::create_dir_all(&out).unwrap();
        std::fs::write(out.join("server-runtime.json"), json.to_string()).unwrap();
    }
}
