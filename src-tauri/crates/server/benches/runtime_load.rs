//! Load on the runtime API: a prompt fetched by label over loopback, with a token, by N
//! keep-alive connections at once (64 unless `PROMPTDESK_BENCH_CONNECTIONS`), for the 200 path
//! (no ETag) and the 304 path (`If-None-Match` with the current ETag). Client and server share
//! the machine, as in the setup.
//!
//! Then, in the same run and never at the same time, the same load generator (same connections,
//! same duration) drives an MLflow tracking server from PyPI on SQLite, started by
//! tests/mlflow/serve.sh, fetching a prompt by alias: `GET
//! /api/2.0/mlflow/registered-models/alias`, the request in which
//! `mlflow.genai.load_prompt("prompts:/NAME@production")` resolves the alias (load_prompt sends
//! more requests than that one; the script records which). Our throughput is reported as a ratio
//! to it. `PROMPTDESK_BENCH_MLFLOW=0` skips MLflow; if it cannot start, the figures say why.
//!
//! Only responses with the expected status (200, or 304 on the conditional path) count towards
//! requests per second and the percentiles; any other status and any connection failure is
//! counted under `errors`. A connection the server closes is reopened, and the reconnection
//! counts in that request's time.
//!
//! Figures go to `$CARGO_TARGET_DIR/figures/server-runtime.json` (or the workspace's `target/`).
//!
//! `cargo bench -p promptdesk-server --bench runtime_load` (a release build; run by
//! tests/bench.sh).

use std::collections::{BTreeMap, HashMap};
use std::io::{self, BufRead};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant};

use promptdesk_protocol::events::{EventBody, MoveKind, SyncEvent};
use promptdesk_protocol::policy::Role;
use promptdesk_server::apply::{apply, Principal};
use promptdesk_server::Store;
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const RUN: Duration = Duration::from_secs(5);
/// Unrecorded load before each measured run, so that neither server is measured cold.
const WARM_UP: Duration = Duration::from_secs(1);

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
            evidence: None,
        },
    ];
    for body in events {
        let e = SyncEvent::new("ana", &at, body);
        store.write(|tx| apply(tx, &admin, &e, &at)).unwrap();
    }
    format!("\"{hash}\"")
}

// ---------------------------------------------------------------------------------------------
// The load generator: raw HTTP/1.1 over tokio, one request at a time per connection.

/// One parsed response.
struct Response {
    status: u16,
    /// The server said it closes the connection (or gave no length, so it had to).
    close: bool,
    /// Head and body, as received.
    bytes: usize,
}

/// Reads more bytes into `buf`; the peer closing the connection is an `UnexpectedEof`.
async fn more(s: &mut TcpStream, buf: &mut Vec<u8>) -> io::Result<()> {
    buf.reserve(16 * 1024);
    let n = s.read_buf(buf).await?;
    if n == 0 {
        return Err(io::ErrorKind::UnexpectedEof.into());
    }
    Ok(())
}

async fn at_least(s: &mut TcpStream, buf: &mut Vec<u8>, len: usize) -> io::Result<()> {
    while buf.len() < len {
        more(s, buf).await?;
    }
    Ok(())
}

/// The end of the line that starts at `from` (the index of its CR), reading as needed.
async fn line_end(s: &mut TcpStream, buf: &mut Vec<u8>, from: usize) -> io::Result<usize> {
    loop {
        if let Some(i) = find(&buf[from..], b"\r\n") {
            return Ok(from + i);
        }
        more(s, buf).await?;
    }
}

fn bad(what: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, what.to_string())
}

/// Reads one response and removes it from the front of `buf`. Bodies are delimited by
/// Content-Length, chunked transfer coding, or (neither) the end of the connection.
async fn read_response(s: &mut TcpStream, buf: &mut Vec<u8>) -> io::Result<Response> {
    let head_end = loop {
        if let Some(i) = find(buf, b"\r\n\r\n") {
            break i;
        }
        more(s, buf).await?;
    };
    let head = std::str::from_utf8(&buf[..head_end]).map_err(|_| bad("a non-UTF-8 head"))?;
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap_or("");
    let status: u16 = status_line
        .get(9..12)
        .and_then(|c| c.parse().ok())
        .ok_or_else(|| bad("no status line"))?;
    let mut close = status_line.starts_with("HTTP/1.0");
    let mut length = None;
    let mut chunked = false;
    for line in lines {
        let Some((name, value)) = line.split_once(':') else {
            continue;
        };
        let value = value.trim().to_ascii_lowercase();
        match name.trim().to_ascii_lowercase().as_str() {
            "content-length" => {
                length = Some(value.parse::<usize>().map_err(|_| bad("Content-Length"))?)
            }
            "transfer-encoding" => chunked = value.split(',').any(|c| c.trim() == "chunked"),
            "connection" => {
                if value.split(',').any(|c| c.trim() == "close") {
                    close = true;
                } else if value.split(',').any(|c| c.trim() == "keep-alive") {
                    close = false;
                }
            }
            _ => {}
        }
    }
    let mut at = head_end + 4;
    if (100..200).contains(&status) || status == 204 || status == 304 {
        // No body, whatever the headers say.
    } else if chunked {
        loop {
            let end = line_end(s, buf, at).await?;
            let size = std::str::from_utf8(&buf[at..end])
                .ok()
                .and_then(|l| usize::from_str_radix(l.split(';').next()?.trim(), 16).ok())
                .ok_or_else(|| bad("a chunk size"))?;
            at = end + 2;
            if size == 0 {
                // Trailers, up to an empty line.
                loop {
                    let end = line_end(s, buf, at).await?;
                    let empty = end == at;
                    at = end + 2;
                    if empty {
                        break;
                    }
                }
                break;
            }
            at_least(s, buf, at + size + 2).await?;
            at += size + 2;
        }
    } else if let Some(len) = length {
        at_least(s, buf, at + len).await?;
        at += len;
    } else {
        loop {
            match more(s, buf).await {
                Ok(()) => {}
                Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => break,
                Err(e) => return Err(e),
            }
        }
        at = buf.len();
        close = true;
    }
    buf.drain(..at);
    Ok(Response {
        status,
        close,
        bytes: at,
    })
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

async fn connect(addr: SocketAddr) -> io::Result<TcpStream> {
    let s = TcpStream::connect(addr).await?;
    s.set_nodelay(true)?;
    Ok(s)
}

#[derive(Default)]
struct Tally {
    /// Microseconds, for responses with the expected status only.
    latencies: Vec<u32>,
    /// Every response, by status.
    statuses: BTreeMap<u16, u64>,
    /// Requests that got no response: resets, a close mid-response, unparseable answers.
    failures: u64,
    /// Connections opened, the first one included.
    connections: u64,
    /// Connections that could not be opened.
    refused: u64,
    /// Size of one response with the expected status (head and body).
    response_bytes: usize,
}

async fn one_connection(
    addr: SocketAddr,
    request: Arc<Vec<u8>>,
    expected: u16,
    until: Instant,
) -> Tally {
    let mut t = Tally::default();
    let mut buf = Vec::with_capacity(64 * 1024);
    // The first connection is opened outside any request's time; reopening one is not.
    let mut stream = match connect(addr).await {
        Ok(s) => Some(s),
        Err(_) => {
            t.refused += 1;
            return t;
        }
    };
    t.connections += 1;
    while Instant::now() < until {
        let started = Instant::now();
        let s = match stream.as_mut() {
            Some(s) => s,
            None => match connect(addr).await {
                Ok(s) => {
                    t.connections += 1;
                    buf.clear();
                    stream.insert(s)
                }
                Err(_) => {
                    // Nothing to measure on a server that no longer accepts.
                    t.refused += 1;
                    break;
                }
            },
        };
        let answer = match s.write_all(&request).await {
            Ok(()) => read_response(s, &mut buf).await,
            Err(e) => Err(e),
        };
        match answer {
            Ok(r) => {
                *t.statuses.entry(r.status).or_default() += 1;
                if r.status == expected {
                    t.latencies.push(started.elapsed().as_micros() as u32);
                    t.response_bytes = r.bytes;
                }
                if r.close {
                    stream = None;
                }
            }
            Err(_) => {
                t.failures += 1;
                stream = None;
            }
        }
    }
    t
}

struct Figures {
    /// Responses with the expected status.
    requests: u64,
    per_second: f64,
    p50_ms: Option<f64>,
    p99_ms: Option<f64>,
    statuses: BTreeMap<u16, u64>,
    /// Responses with another status.
    unexpected: u64,
    failures: u64,
    connections: u64,
    refused: u64,
    response_bytes: usize,
}

impl Figures {
    fn json(&self) -> Value {
        let statuses: serde_json::Map<String, Value> = self
            .statuses
            .iter()
            .map(|(s, n)| (s.to_string(), json!(n)))
            .collect();
        json!({
            "requests": self.requests,
            "per_second": self.per_second.round(),
            "p50_ms": self.p50_ms,
            "p99_ms": self.p99_ms,
            "errors": self.unexpected + self.failures + self.refused,
            "errors_detail": {
                "other_status": self.unexpected,
                "no_response": self.failures,
                "connect_failed": self.refused,
            },
            "statuses": statuses,
            "connections_opened": self.connections,
            "response_bytes": self.response_bytes,
        })
    }
}

/// `connections` connections for `WARM_UP` (not recorded), then for `RUN`.
async fn run(addr: SocketAddr, connections: usize, request: Vec<u8>, expected: u16) -> Figures {
    let request = Arc::new(request);
    let burst = |length: Duration| {
        let until = Instant::now() + length;
        (0..connections)
            .map(|_| tokio::spawn(one_connection(addr, request.clone(), expected, until)))
            .collect::<Vec<_>>()
    };
    for t in burst(WARM_UP) {
        t.await.unwrap();
    }
    let started = Instant::now();
    let tasks = burst(RUN);
    let mut all = Tally::default();
    for t in tasks {
        let one = t.await.unwrap();
        all.latencies.extend(one.latencies);
        for (s, n) in one.statuses {
            *all.statuses.entry(s).or_default() += n;
        }
        all.failures += one.failures;
        all.connections += one.connections;
        all.refused += one.refused;
        all.response_bytes = all.response_bytes.max(one.response_bytes);
    }
    let elapsed = started.elapsed().as_secs_f64();
    let mut latencies = all.latencies;
    latencies.sort_unstable();
    let pct = |p: f64| {
        (!latencies.is_empty()).then(|| {
            let i = ((latencies.len() as f64 * p) as usize).min(latencies.len() - 1);
            latencies[i] as f64 / 1000.0
        })
    };
    let requests = latencies.len() as u64;
    let total: u64 = all.statuses.values().sum();
    Figures {
        requests,
        per_second: requests as f64 / elapsed,
        p50_ms: pct(0.50),
        p99_ms: pct(0.99),
        unexpected: total - requests,
        statuses: all.statuses,
        failures: all.failures,
        connections: all.connections,
        refused: all.refused,
        response_bytes: all.response_bytes,
    }
}

// ---------------------------------------------------------------------------------------------
// MLflow, started by tests/mlflow/serve.sh.

/// A running tests/mlflow/serve.sh and what it printed. Dropping it stops the script and with it
/// the server; so does this process ending, however it ends (the script's stdin closes).
struct Mlflow {
    child: Child,
    stdin: Option<ChildStdin>,
    info: HashMap<String, String>,
}

impl Mlflow {
    fn start(root: &Path, log: &Path) -> Result<Mlflow, String> {
        let script = root.join("tests/mlflow/serve.sh");
        if !script.exists() {
            return Err("tests/mlflow/serve.sh is missing".into());
        }
        let stderr = std::fs::File::create(log).map_err(|e| e.to_string())?;
        let mut child = Command::new("bash")
            .arg(&script)
            .arg("--until-stdin-closes")
            .current_dir(root)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(stderr)
            .spawn()
            .map_err(|e| format!("could not run bash tests/mlflow/serve.sh: {e}"))?;
        let stdin = child.stdin.take();
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in io::BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let mut mlflow = Mlflow {
            child,
            stdin,
            info: HashMap::new(),
        };
        // The first run installs MLflow into a virtualenv, which takes a while.
        let limit = Duration::from_secs(
            std::env::var("PROMPTDESK_BENCH_MLFLOW_TIMEOUT")
                .ok()
                .and_then(|v| v.parse().ok())
                .unwrap_or(900),
        );
        let deadline = Instant::now() + limit;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match rx.recv_timeout(left) {
                Ok(line) if line == "ready" => return Ok(mlflow),
                Ok(line) => {
                    if let Some((k, v)) = line.split_once('=') {
                        mlflow.info.insert(k.to_string(), v.to_string());
                    }
                }
                Err(mpsc::RecvTimeoutError::Timeout) => {
                    return Err(format!(
                        "tests/mlflow/serve.sh was not ready after {} s; {}",
                        limit.as_secs(),
                        tail(log)
                    ))
                }
                Err(mpsc::RecvTimeoutError::Disconnected) => {
                    let status = mlflow.child.wait().map(|s| s.to_string());
                    return Err(format!(
                        "tests/mlflow/serve.sh ended ({}) before the server was ready; {}",
                        status.unwrap_or_else(|e| e.to_string()),
                        tail(log)
                    ));
                }
            }
        }
    }

    fn get(&self, key: &str) -> Option<&str> {
        self.info.get(key).map(String::as_str)
    }

    /// The server's process session (the script starts it in one of its own).
    fn session(&self) -> Option<u32> {
        self.get("session")?.parse().ok()
    }
}

impl Drop for Mlflow {
    fn drop(&mut self) {
        // Closing stdin stops a script that is serving; SIGTERM one that is still starting.
        drop(self.stdin.take());
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        eprintln!("tests/mlflow/serve.sh did not stop within 20 s; killing it");
        if let Some(session) = self.session() {
            let _ = Command::new("kill")
                .args(["-KILL", "--", &format!("-{session}")])
                .status();
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The last lines of the script's stderr, for a reason in the figures.
fn tail(log: &Path) -> String {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    let last = lines[lines.len().saturating_sub(8)..].join(" | ");
    if last.is_empty() {
        "it wrote nothing on stderr".into()
    } else {
        format!("its stderr ends: {last}")
    }
}

/// CPU seconds (user + system) used so far by each kind of process in a session: uvicorn and
/// its HTTP workers, MLflow's background job runner and its consumers, the rest. Linux only;
/// empty elsewhere.
fn session_cpu(session: u32) -> BTreeMap<&'static str, (f64, u32)> {
    let ticks: f64 = Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(100.0);
    let mut out = BTreeMap::new();
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return out;
    };
    for entry in dir.flatten() {
        let path = entry.path();
        let Ok(stat) = std::fs::read_to_string(path.join("stat")) else {
            continue;
        };
        // pid (comm) state ppid pgrp session ... utime(14) stime(15)
        let Some(rest) = stat.rsplit_once(") ").map(|(_, r)| r) else {
            continue;
        };
        let fields: Vec<&str> = rest.split_whitespace().collect();
        if fields.get(3).and_then(|s| s.parse::<u32>().ok()) != Some(session) {
            continue;
        }
        let cpu = |i: usize| fields.get(i).and_then(|s| s.parse::<f64>().ok());
        let (Some(user), Some(system)) = (cpu(11), cpu(12)) else {
            continue;
        };
        let cmdline = std::fs::read(path.join("cmdline")).unwrap_or_default();
        let cmdline = String::from_utf8_lossy(&cmdline);
        let kind = if cmdline.contains("huey") || cmdline.contains("_job_runner") {
            "background_jobs"
        } else if cmdline.contains("uvicorn") || cmdline.contains("spawn_main") {
            "http_server"
        } else {
            "other"
        };
        let e = out.entry(kind).or_insert((0.0, 0));
        e.0 += (user + system) / ticks;
        e.1 += 1;
    }
    out
}

/// Waits until the session's processes use less than a tenth of a core over a second (at most
/// 120 s); the seconds it waited.
fn settle(session: u32) -> u64 {
    let total = |cpu: BTreeMap<&str, (f64, u32)>| cpu.values().map(|c| c.0).sum::<f64>();
    let started = Instant::now();
    let mut before = total(session_cpu(session));
    while started.elapsed() < Duration::from_secs(120) {
        std::thread::sleep(Duration::from_secs(1));
        let now = total(session_cpu(session));
        if now - before < 0.1 {
            break;
        }
        before = now;
    }
    started.elapsed().as_secs()
}

/// Starts MLflow, drives its alias route, stops it. Err: why there are no MLflow figures.
fn bench_mlflow(
    rt: &tokio::runtime::Runtime,
    connections: usize,
    root: &Path,
    log: &Path,
) -> Result<(Value, Figures), String> {
    let mlflow = Mlflow::start(root, log)?;
    let url = mlflow
        .get("url")
        .ok_or("tests/mlflow/serve.sh printed no url")?
        .to_string();
    let rest = url
        .strip_prefix("http://")
        .ok_or_else(|| format!("not an http URL: {url}"))?;
    let (host, target) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    let addr: SocketAddr = host
        .parse()
        .map_err(|e| format!("the URL's host {host}: {e}"))?;
    let session = mlflow.session();
    // `ready` comes before the server's start-up is over: its job runner goes on starting
    // consumers, each importing MLflow, for some seconds. Measure once the server is idle.
    let settled = session.map(settle);
    let request = format!("GET {target} HTTP/1.1\r\nHost: {host}\r\n\r\n").into_bytes();
    let load_before = load_average();
    let cpu_before = session.map(session_cpu).unwrap_or_default();
    let figures = rt.block_on(run(addr, connections, request, 200));
    let cpu_after = session.map(session_cpu).unwrap_or_default();
    // Warm-up and run together: the CPU figures are per run.
    let cpu: serde_json::Map<String, Value> = cpu_after
        .iter()
        .map(|(kind, (after, processes))| {
            let before = cpu_before.get(kind).map(|c| c.0).unwrap_or(0.0);
            let used = ((after - before) * 100.0).round() / 100.0;
            (
                kind.to_string(),
                json!({"cpu_seconds": used, "processes": processes}),
            )
        })
        .collect();
    let number = |k: &str| -> Value {
        mlflow
            .get(k)
            .and_then(|v| v.parse::<u64>().ok())
            .map_or(Value::Null, Value::from)
    };
    let sequence: Vec<&str> = (1..)
        .map_while(|i| mlflow.get(&format!("load_prompt_request_{i}")))
        .collect();
    let background: Vec<&str> = (1..)
        .map_while(|i| mlflow.get(&format!("load_prompt_background_request_{i}")))
        .collect();
    let prompt = mlflow.get("prompt").unwrap_or("?");
    let info = json!({
        "version": mlflow.get("version"),
        "package": "mlflow (the full package, from PyPI, in tests/.venv-mlflow)",
        "backend": "sqlite",
        "server": mlflow.get("server"),
        "workers": number("workers"),
        "worker_processes": number("worker_processes"),
        "served_by": "`mlflow server --backend-store-uri sqlite:///… --host 127.0.0.1 --port …` with its defaults (no auth, access log on, job execution on), telemetry off; its log went to a file",
        "route": format!("GET {}", target.split('?').next().unwrap_or(target)),
        "request": format!("GET {target}"),
        "auth": "none (MLflow's default); ours sends and checks a Bearer token",
        "load_prompt": {
            "call": format!("mlflow.genai.load_prompt(\"prompts:/{prompt}@production\", cache_ttl_seconds=0)"),
            "requests": sequence.len(),
            "sequence": sequence,
            "background_requests": background,
            "note": "the benchmark drives only the second, which resolves the alias; its answer already carries the template",
        },
        "idle_after_ready_seconds": settled,
        "load_average_1m_before": load_before,
        "cpu_during_warm_up_and_run": cpu,
    });
    drop(mlflow);
    Ok((info, figures))
}

/// The 1-minute load average (Linux), to show how busy the shared machine was.
fn load_average() -> Option<f64> {
    std::fs::read_to_string("/proc/loadavg")
        .ok()?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

/// `$CARGO_TARGET_DIR/figures`, or `target/figures` at the workspace root.
fn figures_dir(root: &Path) -> PathBuf {
    if let Some(dir) = std::env::var_os("CARGO_TARGET_DIR") {
        return PathBuf::from(dir).join("figures");
    }
    root.join("target").join("figures")
}

fn main() {
    // `cargo bench` passes --bench; `cargo test --benches` runs this as a smoke test.
    let smoke = !std::env::args().any(|a| a == "--bench");
    std::env::set_var("PROMPTDESK_SERVER_QUIET", "1");
    let connections: usize = std::env::var("PROMPTDESK_BENCH_CONNECTIONS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(64);
    let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let root = manifest
        .ancestors()
        .find(|p| p.join("Cargo.lock").exists())
        .map(PathBuf::from)
        .unwrap_or(manifest);
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
    let load_before_ours = load_average();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let conns = if smoke { 2 } else { connections };
    let (ok, nm, stop) = rt.block_on(async {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(promptdesk_server::serve(store, listener, async {
            let _ = stopped.await;
        }));
        let base = format!(
            "GET /v1/prompts/support%2Frefund-reply?label=staging HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer {token}\r\n"
        );
        let full = format!("{base}\r\n").into_bytes();
        let cond = format!("{base}If-None-Match: {etag}\r\n\r\n").into_bytes();
        let ok = run(addr, conns, full, 200).await;
        let not_modified = run(addr, conns, cond, 304).await;
        (ok, not_modified, stop)
    });
    // Our server stops before MLflow starts: the two never share the machine's time.
    let _ = stop.send(());
    assert!(
        ok.requests > 0 && nm.requests > 0,
        "no 200s or no 304s: {:?} / {:?}",
        ok.statuses,
        nm.statuses
    );
    let mut json = json!({
        "benchmark": "runtime fetch by label over loopback with a token",
        "connections": conns,
        "seconds_each": RUN.as_secs(),
        "warm_up_seconds_each": WARM_UP.as_secs(),
        "cores": std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0),
        "load_average_1m_before": load_before_ours,
        "200": ok.json(),
        "304": nm.json(),
    });
    let mlflow = if smoke {
        Err("skipped: a smoke run (cargo test --benches)".to_string())
    } else if std::env::var("PROMPTDESK_BENCH_MLFLOW").as_deref() == Ok("0") {
        Err("skipped: PROMPTDESK_BENCH_MLFLOW=0".to_string())
    } else {
        bench_mlflow(&rt, conns, &root, &dir.path().join("mlflow-serve.log"))
    };
    match mlflow {
        Ok((mut info, m)) => {
            if let (Value::Object(info), Value::Object(figures)) = (&mut info, m.json()) {
                info.extend(figures);
            }
            json["mlflow"] = info;
            // Four significant digits: the p99 ratio can be far below 1.
            let ratio = |ours: f64, theirs: f64| {
                (theirs > 0.0 && ours > 0.0).then(|| {
                    let r = ours / theirs;
                    let scale = 10f64.powi(3 - r.log10().floor() as i32);
                    (r * scale).round() / scale
                })
            };
            json["ratio_vs_mlflow"] = json!(ratio(ok.per_second, m.per_second));
            json["p99_ratio_vs_mlflow"] = json!(match (ok.p99_ms, m.p99_ms) {
                (Some(ours), Some(theirs)) => ratio(ours, theirs),
                _ => None,
            });
            json["ratios_mean"] = json!(
                "ratio_vs_mlflow: our 200-path requests/s ÷ MLflow's; p99_ratio_vs_mlflow: our 200-path p99 ÷ MLflow's (below 1: ours is lower)"
            );
        }
        Err(reason) => {
            eprintln!("MLflow: {reason}");
            json["mlflow"] = json!({ "error": reason });
            json["ratio_vs_mlflow"] = Value::Null;
            json["p99_ratio_vs_mlflow"] = Value::Null;
        }
    }
    println!("{}", serde_json::to_string_pretty(&json).unwrap());
    if !smoke {
        let out = figures_dir(&root);
        std::fs::create_dir_all(&out).unwrap();
        let path = out.join("server-runtime.json");
        std::fs::write(&path, serde_json::to_string_pretty(&json).unwrap() + "\n").unwrap();
        println!("figures written to {}", path.display());
    }
}
