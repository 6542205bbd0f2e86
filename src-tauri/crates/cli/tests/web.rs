//! Web mode end to end: the real `promptdesk ui` binary on a demo registry, spoken to over
//! plain HTTP/1.1 on a TCP socket (so the tests control every header, the Host included).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdout, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

const BIN: &str = env!("CARGO_BIN_EXE_promptdesk");

/// No single request of these tests takes this long unless something is broken.
const IO_TIMEOUT: Duration = Duration::from_secs(30);

/// A running `promptdesk ui`, killed when dropped (a failing assertion included).
struct Server {
    child: Child,
    port: u16,
    token: String,
    /// Kept open: the server may write to it.
    _stdout: BufReader<ChildStdout>,
    dir: tempfile::TempDir,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn demo_registry(dir: &Path) -> PathBuf {
    let registry = dir.join("registry.db");
    let out = Command::new(BIN)
        .arg("--registry")
        .arg(&registry)
        .arg("demo")
        .env_remove("PROMPTDESK_REGISTRY")
        .env("PROMPTDESK_USER", "ana")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "demo failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    registry
}

fn ui_dir(dir: &Path) -> PathBuf {
    let ui = dir.join("dist");
    std::fs::create_dir_all(ui.join("assets")).unwrap();
    std::fs::write(
        ui.join("index.html"),
        "<!doctype html><title>pd-test-index</title><script src=\"/a.js\"></script>",
    )
    .unwrap();
    std::fs::write(ui.join("a.js"), "console.log('pd-test-script');").unwrap();
    std::fs::write(ui.join("assets/style.css"), "body{}").unwrap();
    ui
}

impl Server {
    fn start() -> Server {
        Self::start_with(&[])
    }

    fn start_with(extra: &[&str]) -> Server {
        let dir = tempfile::tempdir().unwrap();
        let registry = demo_registry(dir.path());
        let ui = ui_dir(dir.path());
        let mut child = Command::new(BIN)
            .arg("--registry")
            .arg(&registry)
            .args(extra)
            .arg("ui")
            .arg("--ui-dir")
            .arg(&ui)
            .env_remove("PROMPTDESK_REGISTRY")
            .env_remove("PROMPTDESK_UI_DIR")
            .env("PROMPTDESK_USER", "ana")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let mut stdout = BufReader::new(child.stdout.take().unwrap());
        let mut line = String::new();
        let read = stdout.read_line(&mut line);
        let mut server = Server {
            child,
            port: 0,
            token: String::new(),
            _stdout: stdout,
            dir,
        };
        read.unwrap();
        let url = if extra.contains(&"--json") {
            let v: Value =
                serde_json::from_str(&line).unwrap_or_else(|e| panic!("not JSON ({e}): {line:?}"));
            v["url"].as_str().unwrap().to_string()
        } else {
            line.trim_end()
                .strip_prefix("Promptdesk is running at ")
                .unwrap_or_else(|| panic!("unexpected first line: {line:?}"))
                .to_string()
        };
        let (port, token) = parse_url(&url);
        server.port = port;
        server.token = token;
        server
    }

    fn request(&self, method: &str, path: &str, headers: &[(&str, &str)], body: &[u8]) -> Reply {
        let host = format!("127.0.0.1:{}", self.port);
        let mut all: Vec<(&str, &str)> = Vec::new();
        if !headers.iter().any(|(k, _)| k.eq_ignore_ascii_case("host")) {
            all.push(("Host", &host));
        }
        all.extend_from_slice(headers);
        http(self.port, method, path, &all, body)
    }

    /// `POST /api/<command>` with the right token.
    fn call(&self, command: &str, args: Value) -> Reply {
        let auth = format!("Bearer {}", self.token);
        self.request(
            "POST",
            &format!("/api/{command}"),
            &[
                ("Authorization", &auth),
                ("Content-Type", "application/json"),
            ],
            args.to_string().as_bytes(),
        )
    }

    fn ok(&self, command: &str, args: Value) -> Value {
        let reply = self.call(command, args);
        assert_eq!(reply.status, 200, "{command}: {reply:?}");
        reply.json()
    }

    /// Sends SIGTERM and waits (bounded) for the process to end.
    fn terminate(&mut self) -> Option<ExitStatus> {
        let pid = self.child.id() as libc::pid_t;
        // SAFETY: signalling our own child, which has not been reaped yet.
        assert_eq!(unsafe { libc::kill(pid, libc::SIGTERM) }, 0);
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Some(status) = self.child.try_wait().unwrap() {
                return Some(status);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        None
    }
}

fn parse_url(url: &str) -> (u16, String) {
    let rest = url
        .strip_prefix("http://127.0.0.1:")
        .unwrap_or_else(|| panic!("not a loopback URL: {url}"));
    let (port, rest) = rest.split_once('/').unwrap();
    let token = rest
        .strip_prefix("#token=")
        .unwrap_or_else(|| panic!("no token in the fragment: {url}"));
    assert!(
        token.len() >= 32 && token.bytes().all(|b| b.is_ascii_hexdigit()),
        "token must be at least 128 bits of hex: {token}"
    );
    (port.parse().unwrap(), token.to_string())
}

struct Reply {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

/// Status and the start of the body, for assertion messages.
impl std::fmt::Debug for Reply {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let text = self.text();
        let cut = text.char_indices().nth(500).map_or(text.len(), |(i, _)| i);
        write!(f, "{} {}", self.status, &text[..cut])
    }
}

impl Reply {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {self:?}"))
    }

    /// The `kind` of an ApiError body.
    fn kind(&self) -> String {
        self.json()["kind"].as_str().unwrap_or_default().to_string()
    }
}

/// One HTTP/1.1 request on a fresh connection (`Connection: close`, read to the end).
fn http(port: u16, method: &str, path: &str, headers: &[(&str, &str)], body: &[u8]) -> Reply {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    stream.set_read_timeout(Some(IO_TIMEOUT)).unwrap();
    stream.set_write_timeout(Some(IO_TIMEOUT)).unwrap();
    let mut head = format!("{method} {path} HTTP/1.1\r\n");
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    if !headers
        .iter()
        .any(|(k, _)| k.eq_ignore_ascii_case("content-length"))
    {
        head.push_str(&format!("Content-Length: {}\r\n", body.len()));
    }
    head.push_str("Connection: close\r\n\r\n");
    stream.write_all(head.as_bytes()).unwrap();
    stream.write_all(body).unwrap();
    read_reply(&mut stream)
}

fn read_reply(stream: &mut TcpStream) -> Reply {
    let mut raw = Vec::new();
    let mut buf = [0u8; 64 * 1024];
    loop {
        match stream.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => raw.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            // A server that answers before reading the whole request (413) closes a socket
            // with unread data, which resets the connection after its answer was sent.
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset && !raw.is_empty() => break,
            Err(e) => panic!("reading the reply failed after {} bytes: {e}", raw.len()),
        }
    }
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or_else(|| panic!("no header end in {:?}", String::from_utf8_lossy(&raw)));
    let head = String::from_utf8(raw[..split].to_vec()).unwrap();
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap();
    let status = status_line.split(' ').nth(1).unwrap().parse().unwrap();
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect();
    let mut body = raw[split + 4..].to_vec();
    let chunked = headers.iter().any(|(k, v)| {
        k.eq_ignore_ascii_case("transfer-encoding") && v.eq_ignore_ascii_case("chunked")
    });
    if chunked {
        body = dechunk(&body);
    }
    Reply {
        status,
        headers,
        body,
    }
}

fn dechunk(mut data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let eol = data.windows(2).position(|w| w == b"\r\n").unwrap();
        let size_text = std::str::from_utf8(&data[..eol]).unwrap();
        let size = usize::from_str_radix(size_text.split(';').next().unwrap().trim(), 16).unwrap();
        data = &data[eol + 2..];
        if size == 0 {
            return out;
        }
        out.extend_from_slice(&data[..size]);
        data = &data[size + 2..];
    }
}

fn assert_security_headers(reply: &Reply, what: &str) {
    let csp = reply
        .header("content-security-policy")
        .unwrap_or_else(|| panic!("{what}: no CSP"));
    for part in [
        "default-src 'self'",
        "script-src 'self'",
        "object-src 'none'",
        "frame-ancestors 'none'",
        "base-uri 'none'",
    ] {
        assert!(csp.contains(part), "{what}: CSP lacks {part}: {csp}");
    }
    assert_eq!(
        reply.header("x-content-type-options"),
        Some("nosniff"),
        "{what}"
    );
    assert_eq!(
        reply.header("referrer-policy"),
        Some("no-referrer"),
        "{what}"
    );
}

#[test]
fn api_calls_need_the_token_and_our_host_name() {
    let server = Server::start();
    let path = "/api/app_info";

    let none = server.request("POST", path, &[], b"");
    assert_eq!(none.status, 401, "{none:?}");
    assert_eq!(none.kind(), "unauthorized");
    assert_security_headers(&none, "401");

    let wrong_token = format!("Bearer {}", "0".repeat(server.token.len()));
    let wrong = server.request("POST", path, &[("Authorization", &wrong_token)], b"");
    assert_eq!(wrong.status, 401, "{wrong:?}");
    assert_eq!(wrong.kind(), "unauthorized");

    let prefix = format!("Bearer {}", &server.token[..server.token.len() - 1]);
    let short = server.request("POST", path, &[("Authorization", &prefix)], b"");
    assert_eq!(short.status, 401, "a prefix of the token is not the token");

    let auth = format!("Bearer {}", server.token);
    let rebound_host = format!("attacker.example:{}", server.port);
    for host in [rebound_host.as_str(), "127.0.0.1:1", "localhost"] {
        let foreign = server.request(
            "POST",
            path,
            &[("Host", host), ("Authorization", &auth)],
            b"",
        );
        assert_eq!(foreign.status, 403, "Host {host}: {foreign:?}");
        assert_security_headers(&foreign, "403");
    }
    let page = server.request("GET", "/", &[("Host", &rebound_host)], b"");
    assert_eq!(page.status, 403, "static files check the host too");

    let localhost = format!("localhost:{}", server.port);
    let ok = server.request(
        "POST",
        path,
        &[("Host", &localhost), ("Authorization", &auth)],
        b"",
    );
    assert_eq!(ok.status, 200, "{ok:?}");
    assert_security_headers(&ok, "200");
}

#[test]
fn commands_answer_with_json_and_errors_with_their_status() {
    let server = Server::start();

    // No body at all means no arguments.
    let auth = format!("Bearer {}", server.token);
    let info = server.request("POST", "/api/app_info", &[("Authorization", &auth)], b"");
    assert_eq!(info.status, 200, "{info:?}");
    assert!(info
        .header("content-type")
        .unwrap()
        .starts_with("application/json"));
    let info = info.json();
    assert_eq!(info["name"], "Promptdesk");
    assert!(info["registry_path"]
        .as_str()
        .unwrap()
        .ends_with("registry.db"));

    let listing = server.ok("list_prompts", json!({}));
    let mut names: Vec<&str> = listing
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    names.sort();
    assert_eq!(
        names,
        ["policies/refunds", "support/refund-reply", "support/triage"]
    );

    // The draft as stored (version 4, no policy include) with a saved sample's inputs...
    let opened = server.ok("open_prompt", json!({"name": "support/refund-reply"}));
    let content = opened["draft"]["content"].clone();
    let inputs = opened["samples"]["within-window"].clone();
    assert!(inputs.is_object(), "{opened}");
    let preview = server.ok(
        "preview_draft",
        json!({"name": "support/refund-reply", "content": content, "inputs": inputs}),
    );
    assert!(preview["error"].is_null(), "{preview}");
    let text = preview["rendered"]["text"].as_str().unwrap();
    assert!(
        text.contains("Ada") && text.contains("the blue kettle"),
        "{text}"
    );

    // ...and the same draft being edited to include the policy again: the include resolves
    // through the registry and renders in the worker.
    let mut edited = content.clone();
    let template = edited["body"]["template"].as_str().unwrap().to_string();
    edited["body"]["template"] = json!(format!("{{% include \"policies/refunds\" %}}\n{template}"));
    let preview = server.ok(
        "preview_draft",
        json!({"name": "support/refund-reply", "content": edited, "inputs": inputs}),
    );
    let text = preview["rendered"]["text"].as_str().unwrap();
    assert!(text.contains("30 days"), "{text}");

    // A syntax error while typing is a normal answer with a located error.
    let mut broken = content.clone();
    broken["body"]["template"] = json!("Hello\n{% if customer_name %}\nno end");
    let preview = server.ok(
        "preview_draft",
        json!({"name": "support/refund-reply", "content": broken, "inputs": inputs}),
    );
    assert!(preview["rendered"].is_null(), "{preview}");
    assert!(
        preview["error"]["location"]["line"].as_u64().unwrap() >= 2,
        "{preview}"
    );

    let bad = server.call(
        "create_prompt",
        json!({"name": "../no good", "kind": "text"}),
    );
    assert_eq!(bad.status, 400, "{bad:?}");
    assert_eq!(bad.kind(), "bad_input");
    assert!(bad.json()["message"].as_str().unwrap().len() > 5);

    let missing = server.call("open_prompt", json!({"name": "nope/missing"}));
    assert_eq!(missing.status, 404, "{missing:?}");
    assert_eq!(missing.kind(), "not_found");

    let taken = server.call(
        "create_prompt",
        json!({"name": "support/triage", "kind": "chat"}),
    );
    assert_eq!(taken.status, 409, "{taken:?}");
    assert_eq!(taken.kind(), "conflict");

    let unknown = server.call("no_such_command", json!({}));
    assert_eq!(unknown.status, 400, "{unknown:?}");
    assert_eq!(unknown.kind(), "bad_input");

    let not_json = server.request(
        "POST",
        "/api/list_prompts",
        &[("Authorization", &auth)],
        b"{nope",
    );
    assert_eq!(not_json.status, 400, "{not_json:?}");
    assert_eq!(not_json.kind(), "bad_input");

    // Changes go to the registry file: the CLI sees what the web UI created.
    server.ok(
        "create_prompt",
        json!({"name": "web/made-here", "kind": "text"}),
    );
    let out = Command::new(BIN)
        .arg("--registry")
        .arg(server.dir.path().join("registry.db"))
        .args(["list", "web"])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).contains("web/made-here"));
}

#[test]
fn serves_the_built_ui_and_nothing_outside_it() {
    let server = Server::start();
    // A file next to the UI directory that traversal would reach.
    std::fs::write(server.dir.path().join("secret.txt"), "pd-test-secret").unwrap();

    for path in ["/", "/some/deep/path", "/prompts/support%2Frefund-reply"] {
        let page = server.request("GET", path, &[], b"");
        assert_eq!(page.status, 200, "{path}");
        assert!(page.text().contains("pd-test-index"), "{path}");
        assert!(page
            .header("content-type")
            .unwrap()
            .starts_with("text/html"));
        assert_eq!(page.header("cache-control"), Some("no-cache"), "{path}");
        assert_security_headers(&page, path);
    }

    let script = server.request("GET", "/a.js", &[], b"");
    assert_eq!(script.status, 200);
    assert!(script.text().contains("pd-test-script"));
    assert!(
        script
            .header("content-type")
            .unwrap()
            .contains("javascript"),
        "{:?}",
        script.header("content-type")
    );
    assert_eq!(script.header("cache-control"), Some("no-cache"));
    let css = server.request("GET", "/assets/style.css", &[], b"");
    assert!(css.header("content-type").unwrap().starts_with("text/css"));

    let head = server.request("HEAD", "/a.js", &[], b"");
    assert_eq!(head.status, 200);
    assert!(head.body.is_empty());

    for path in [
        "/../secret.txt",
        "/../../../../../../etc/passwd",
        "/assets/../../secret.txt",
        "/%2e%2e/secret.txt",
        "/..%2fsecret.txt",
        "/../Cargo.toml",
    ] {
        let reply = server.request("GET", path, &[], b"");
        assert!(reply.status >= 400, "{path} answered {reply:?}");
        assert!(!reply.text().contains("pd-test-secret"), "{path}");
        assert!(!reply.text().contains("root:"), "{path}");
    }

    #[cfg(unix)]
    {
        let ui = server.dir.path().join("dist");
        std::os::unix::fs::symlink(server.dir.path().join("secret.txt"), ui.join("link.txt"))
            .unwrap();
        let reply = server.request("GET", "/link.txt", &[], b"");
        assert!(reply.status >= 400, "a symlink out of the UI was followed");
        assert!(!reply.text().contains("pd-test-secret"));
    }

    // /api/ is never the SPA, and API routes only take POST.
    let api_get = server.request("GET", "/api/app_info", &[], b"");
    assert_eq!(api_get.status, 405, "{api_get:?}");
    let api_other = server.request("GET", "/api/a/b", &[], b"");
    assert_eq!(api_other.status, 404, "{api_other:?}");
    assert!(!api_other.text().contains("pd-test-index"));
}

#[test]
fn oversized_bodies_are_refused() {
    let server = Server::start();
    let auth = format!("Bearer {}", server.token);
    let limit = 8 * 1024 * 1024;

    // Declared too large: refused from the headers alone, before any body is sent.
    let declared = (limit + 1).to_string();
    let reply = server.request(
        "POST",
        "/api/list_prompts",
        &[("Authorization", &auth), ("Content-Length", &declared)],
        b"",
    );
    assert_eq!(reply.status, 413, "{reply:?}");
    assert_eq!(reply.kind(), "bad_input");

    // No declared length: the body is cut off once it passes the limit.
    let mut stream = TcpStream::connect(("127.0.0.1", server.port)).unwrap();
    stream.set_read_timeout(Some(IO_TIMEOUT)).unwrap();
    let head = format!(
        "POST /api/list_prompts HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nAuthorization: {auth}\r\n\
         Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n",
        server.port
    );
    stream.write_all(head.as_bytes()).unwrap();
    let mut writer = stream.try_clone().unwrap();
    let sender = std::thread::spawn(move || {
        let chunk = vec![b' '; 64 * 1024];
        for _ in 0..(limit / chunk.len() + 16) {
            let mut frame = format!("{:x}\r\n", chunk.len()).into_bytes();
            frame.extend_from_slice(&chunk);
            frame.extend_from_slice(b"\r\n");
            // The server stops reading at the limit; writing may then fail.
            if writer.write_all(&frame).is_err() {
                return;
            }
        }
        let _ = writer.write_all(b"0\r\n\r\n");
    });
    let reply = read_reply(&mut stream);
    sender.join().unwrap();
    assert_eq!(reply.status, 413, "{reply:?}");
    assert_eq!(reply.kind(), "bad_input");

    // Exactly the limit is read and used (the padding is an argument nobody asked for).
    let mut body = b"{\"pad\": \"".to_vec();
    body.resize(limit - 2, b'a');
    body.extend_from_slice(b"\"}");
    assert_eq!(body.len(), limit);
    let reply = server.request(
        "POST",
        "/api/list_prompts",
        &[("Authorization", &auth)],
        &body,
    );
    assert_eq!(reply.status, 200, "{reply:?}");
    assert_eq!(reply.json().as_array().unwrap().len(), 3);
}

#[test]
fn json_flag_prints_the_url_as_json_and_sigterm_stops_cleanly() {
    let mut server = Server::start_with(&["--json"]);
    server.ok("app_info", json!({}));
    let status = server
        .terminate()
        .expect("still running 10 s after SIGTERM");
    assert!(status.success(), "{status:?}");
}

#[test]
fn sigterm_ends_with_status_zero() {
    let mut server = Server::start();
    let status = server
        .terminate()
        .expect("still running 10 s after SIGTERM");
    assert_eq!(status.code(), Some(0), "{status:?}");
}

#[test]
fn without_a_built_ui_it_says_how_to_build_it() {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(BIN)
        .arg("--registry")
        .arg(dir.path().join("registry.db"))
        .args(["ui", "--ui-dir"])
        .arg(dir.path())
        .env_remove("PROMPTDESK_UI_DIR")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty());
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("npm run build"), "{err}");
    assert!(
        !dir.path().join("registry.db").exists(),
        "nothing is created when the UI is missing"
    );
}
