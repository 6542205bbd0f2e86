//! `promptdesk ui`: web mode, the second transport of the UI's command surface.
//!
//! The desktop app carries each command over Tauri IPC; here the same commands are served as
//! `POST /api/<command>` with a JSON body, next to the built UI (`ui/dist`), on a loopback port.
//! Both transports call [`promptdesk_api::Api::dispatch`], so a browser driving web mode
//! exercises exactly the backend the desktop window runs.
//!
//! What keeps other local software and web pages out:
//!
//! - The server listens on 127.0.0.1 only, on a random port by default.
//! - Every API call needs `Authorization: Bearer <token>`, a random 256-bit token made for this
//!   run. The printed URL carries it in the fragment (`#token=…`), which browsers never send to
//!   the server, so it does not end up in request lines or logs; the UI reads it from
//!   `location.hash`. A page on another origin cannot set that header without a CORS preflight,
//!   and we answer no preflight, so cross-site requests cannot call the API. Tokens are compared
//!   in constant time.
//! - The Host header must be `127.0.0.1:PORT` or `localhost:PORT` (anything else is a 403):
//!   a DNS-rebinding page reaches us under its own host name and is refused before anything runs.
//! - Request bodies are capped at 8 MiB (413).
//! - Static files come only from the UI directory: no `..` segments, and a file is served only
//!   if its real path (symlinks resolved) is inside the directory's real path.
//! - Every response carries a strict Content-Security-Policy (no inline or remote scripts, no
//!   framing), `X-Content-Type-Options: nosniff` and `Referrer-Policy: no-referrer`.
//!
//! The API is synchronous (SQLite, the render worker's pipes), so each call runs on tokio's
//! blocking pool; dispatch turns a panic into an `internal` error, and a failed blocking task
//! is reported the same way, so no request can take the server down. SIGINT and SIGTERM stop it
//! gracefully (in-flight requests finish, then the process exits 0).

use std::io::Write;
use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Component, Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::{DefaultBodyLimit, FromRequest, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode, Uri};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use promptdesk_api::{Api, ApiError, ApiErrorKind};
use serde_json::Value;

use crate::output::Failure;

/// The largest request body accepted (413 above it).
pub const BODY_LIMIT: usize = 8 * 1024 * 1024;

/// Applied to every response, static files and API answers alike. `'unsafe-inline'` styles are
/// allowed because the UI sets element styles from script; scripts are never inline.
const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; \
                   img-src 'self' data:; connect-src 'self'; object-src 'none'; \
                   frame-ancestors 'none'; base-uri 'none'";

/// The built UI when neither `--ui-dir` nor `PROMPTDESK_UI_DIR` says otherwise: the
/// repository's `ui/dist`, as seen from this crate when it was compiled.
const DEFAULT_UI_DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../../ui/dist");

/// How long to wait, after the server stopped, for API calls still running on the blocking pool.
const BLOCKING_GRACE: Duration = Duration::from_secs(5);

struct AppState {
    api: Arc<Api>,
    token: String,
    /// `127.0.0.1:PORT` and `localhost:PORT`.
    hosts: [String; 2],
    /// The UI directory, symlinks resolved.
    root: PathBuf,
}

/// Runs web mode until SIGINT or SIGTERM.
pub fn run(registry: &Path, json: bool, port: u16, ui_dir: Option<PathBuf>) -> Result<(), Failure> {
    let root = ui_root(ui_dir)?;

    // A browser closing a connection (or the render worker dying) must surface as a write
    // error, not kill the server: the CLI restores SIGPIPE's default action for pipelines,
    // so ignore it again here.
    #[cfg(unix)]
    // SAFETY: called before the runtime starts any thread.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_IGN);
    }

    let exe = std::env::current_exe()
        .map_err(|e| Failure::internal(format!("cannot find the promptdesk executable: {e}")))?;
    let api = Arc::new(Api::open(registry, Api::worker_config(exe)));
    // Opening the registry is allowed to fail (the UI shows why and can open another file);
    // say so on the terminal too.
    if let Err(e) = api.dispatch("app_info", Value::Null) {
        eprintln!("warning: {}", e.message);
    }

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| Failure::internal(format!("cannot start the async runtime: {e}")))?;
    let result = runtime.block_on(serve(api.clone(), root, json, port));
    // Requests that were still running when the server stopped finish (or are abandoned) here.
    runtime.shutdown_timeout(BLOCKING_GRACE);
    result
}

async fn serve(api: Arc<Api>, root: PathBuf, json: bool, port: u16) -> Result<(), Failure> {
    let listener = tokio::net::TcpListener::bind(SocketAddr::from((Ipv4Addr::LOCALHOST, port)))
        .await
        .map_err(|e| Failure::bad_input(format!("cannot listen on 127.0.0.1:{port}: {e}")))?;
    let port = listener
        .local_addr()
        .map_err(|e| Failure::internal(format!("cannot read the listening address: {e}")))?
        .port();

    // Listen for the signals before announcing the URL, so a stop request that follows the
    // announcement is never lost.
    let shutdown = shutdown_signal()?;

    let worker = api.clone();
    tokio::task::spawn_blocking(move || worker.warm_up())
        .await
        .map_err(|e| Failure::internal(format!("starting the render worker failed: {e}")))?;

    let token = new_token()?;
    let url = format!("http://127.0.0.1:{port}/#token={token}");
    let state = Arc::new(AppState {
        api,
        token,
        hosts: [format!("127.0.0.1:{port}"), format!("localhost:{port}")],
        root,
    });
    let app = router(state);

    {
        let line = if json {
            serde_json::json!({ "url": url }).to_string()
        } else {
            format!("Promptdesk is running at {url}")
        };
        let mut out = std::io::stdout().lock();
        // Nobody may be reading stdout (started in the background): keep serving anyway.
        let _ = writeln!(out, "{line}").and_then(|_| out.flush());
    }

    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown)
        .await
        .map_err(|e| Failure::internal(format!("the web server failed: {e}")))
}

fn router(state: Arc<AppState>) -> Router {
    Router::new()
        .route("/api/{command}", post(api_call))
        .fallback(get(static_file))
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .layer(middleware::from_fn_with_state(state.clone(), check_host))
        // Outermost, so refusals from the layers above carry the headers too.
        .layer(middleware::map_response(security_headers))
        .with_state(state)
}

/// `--ui-dir`, else `PROMPTDESK_UI_DIR` (clap reads both into `dir`), else the repository's
/// `ui/dist`; it must hold a built UI.
fn ui_root(dir: Option<PathBuf>) -> Result<PathBuf, Failure> {
    let dir = dir.unwrap_or_else(|| PathBuf::from(DEFAULT_UI_DIR));
    let missing = || {
        Failure::bad_input(format!(
            "no built UI in {} (index.html is missing): run `npm run build` in ui/, or pass --ui-dir DIR",
            dir.display()
        ))
    };
    if !dir.join("index.html").is_file() {
        return Err(missing());
    }
    dir.canonicalize().map_err(|_| missing())
}

/// A random 256-bit token, as hex.
fn new_token() -> Result<String, Failure> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes)
        .map_err(|e| Failure::internal(format!("no random numbers for the access token: {e}")))?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

/// Resolves when SIGINT or SIGTERM arrives. The handlers are installed by this call.
pub(crate) fn shutdown_signal() -> Result<impl std::future::Future<Output = ()>, Failure> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let install = |kind| {
            signal(kind).map_err(|e| Failure::internal(format!("cannot handle signals: {e}")))
        };
        let mut interrupt = install(SignalKind::interrupt())?;
        let mut terminate = install(SignalKind::terminate())?;
        Ok(async move {
            tokio::select! {
                _ = interrupt.recv() => {}
                _ = terminate.recv() => {}
            }
        })
    }
    #[cfg(not(unix))]
    {
        Ok(async {
            let _ = tokio::signal::ctrl_c().await;
        })
    }
}

/// The HTTP status of an API error kind (the one mapping, in the taxonomy itself).
pub fn status_of(kind: ApiErrorKind) -> StatusCode {
    StatusCode::from_u16(kind.http_status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
}

fn error_response(status: StatusCode, error: ApiError) -> Response {
    let mut res = (status, Json(error)).into_response();
    res.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    res
}

fn api_error(error: ApiError) -> Response {
    error_response(status_of(error.kind), error)
}

/// Refuses requests addressed to any host but ours (DNS rebinding).
async fn check_host(State(state): State<Arc<AppState>>, req: Request, next: Next) -> Response {
    let host = req
        .headers()
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .map(str::to_ascii_lowercase);
    let ours = |h: &str| state.hosts.iter().any(|allowed| allowed == h);
    let host_ok = host.as_deref().is_some_and(ours);
    // An absolute-form request line names a host too; it must agree.
    let authority_ok = req
        .uri()
        .authority()
        .is_none_or(|a| ours(&a.as_str().to_ascii_lowercase()));
    if host_ok && authority_ok {
        return next.run(req).await;
    }
    error_response(
        StatusCode::FORBIDDEN,
        ApiError::new(
            ApiErrorKind::Unauthorized,
            format!(
                "this server only answers requests addressed to {} or {}",
                state.hosts[0], state.hosts[1]
            ),
        ),
    )
}

async fn security_headers(mut res: Response) -> Response {
    let headers = res.headers_mut();
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    res
}

/// Compares without an early exit, so the time taken does not tell how much of a guess was
/// right. (The length is not secret: every token has the same.)
fn same_token(given: &[u8], expected: &[u8]) -> bool {
    if given.len() != expected.len() {
        return false;
    }
    let diff = given
        .iter()
        .zip(expected)
        .fold(0u8, |acc, (a, b)| acc | (a ^ b));
    std::hint::black_box(diff) == 0
}

fn authorized(headers: &HeaderMap, token: &str) -> bool {
    let Some(value) = headers.get(header::AUTHORIZATION) else {
        return false;
    };
    let value = value.as_bytes();
    let scheme = b"bearer ";
    if value.len() < scheme.len() || !value[..scheme.len()].eq_ignore_ascii_case(scheme) {
        return false;
    }
    same_token(value[scheme.len()..].trim_ascii(), token.as_bytes())
}

/// `POST /api/<command>`: the JSON body (none = no arguments) goes to `Api::dispatch`.
async fn api_call(
    State(state): State<Arc<AppState>>,
    axum::extract::Path(command): axum::extract::Path<String>,
    req: Request,
) -> Response {
    if !authorized(req.headers(), &state.token) {
        return api_error(ApiError::new(
            ApiErrorKind::Unauthorized,
            "missing or wrong access token: open the URL promptdesk ui printed",
        ));
    }
    // Refuse a declared oversize body before reading any of it; a body without a length is
    // cut off at the limit while it is read.
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > BODY_LIMIT as u64) {
        return too_large();
    }
    let body = match Bytes::from_request(req, &()).await {
        Ok(body) => body,
        Err(rejection) if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE => {
            return too_large()
        }
        Err(rejection) => {
            return error_response(
                rejection.status(),
                ApiError::bad_input(format!(
                    "cannot read the request: {}",
                    rejection.body_text()
                )),
            )
        }
    };
    let args = if body.iter().all(u8::is_ascii_whitespace) {
        Value::Null
    } else {
        match serde_json::from_slice(&body) {
            Ok(args) => args,
            Err(e) => {
                return api_error(ApiError::bad_input(format!(
                    "the body of '{command}' is not JSON: {e}"
                )))
            }
        }
    };
    let api = state.api.clone();
    let name = command.clone();
    let outcome = tokio::task::spawn_blocking(move || api.dispatch(&name, args))
        .await
        .unwrap_or_else(|_| {
            Err(ApiError::internal(format!(
                "'{command}' failed unexpectedly (a bug in Promptdesk)"
            )))
        });
    match outcome {
        Ok(value) => {
            let mut res = Json(value).into_response();
            res.headers_mut()
                .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            res
        }
        Err(e) => api_error(e),
    }
}

fn too_large() -> Response {
    error_response(
        StatusCode::PAYLOAD_TOO_LARGE,
        ApiError::bad_input(format!(
            "the request body is larger than {} MiB",
            BODY_LIMIT / (1024 * 1024)
        )),
    )
}

/// Where a request path leads inside the UI directory.
#[derive(Debug, PartialEq, Eq)]
enum Target {
    /// A file inside the directory (real path).
    File(PathBuf),
    /// Nothing there: the single-page app's own route, answered with index.html.
    Fallback,
    /// A path that tries to leave the directory.
    Refused,
}

/// Maps a URL path onto the UI directory `root` (already canonical).
fn resolve(root: &Path, url_path: &str) -> Target {
    let mut path = root.to_path_buf();
    for raw in url_path.split('/') {
        let Some(decoded) = percent_decode(raw) else {
            return Target::Refused;
        };
        // An encoded separator separates too (`support%2Frefund-reply` is an app route with
        // a prompt name in it), so `..%2F` is as much a parent step as `../`.
        for part in decoded.split(['/', '\\']).filter(|p| !p.is_empty()) {
            let mut components = Path::new(part).components();
            let plain = matches!(components.next(), Some(Component::Normal(_)))
                && components.next().is_none();
            // `.` and `..`, and on Windows drive prefixes such as `C:`, are not file names.
            if !plain || part.contains('\0') {
                return Target::Refused;
            }
            path.push(part);
        }
    }
    // Follow symlinks only to see where they really lead: outside the directory is refused.
    match path.canonicalize() {
        Ok(real) if !real.starts_with(root) => Target::Refused,
        Ok(real) if real.is_file() => Target::File(real),
        _ => Target::Fallback,
    }
}

fn percent_decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = std::str::from_utf8(bytes.get(i + 1..i + 3)?).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

fn content_type(path: &Path) -> &'static str {
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase);
    match ext.as_deref() {
        Some("html" | "htm") => "text/html; charset=utf-8",
        Some("js" | "mjs") => "text/javascript; charset=utf-8",
        Some("css") => "text/css; charset=utf-8",
        Some("json" | "map") => "application/json",
        Some("svg") => "image/svg+xml",
        Some("png") => "image/png",
        Some("jpg" | "jpeg") => "image/jpeg",
        Some("gif") => "image/gif",
        Some("webp") => "image/webp",
        Some("ico") => "image/x-icon",
        Some("woff2") => "font/woff2",
        Some("woff") => "font/woff",
        Some("ttf") => "font/ttf",
        Some("txt") => "text/plain; charset=utf-8",
        Some("wasm") => "application/wasm",
        _ => "application/octet-stream",
    }
}

/// Every GET outside `/api/`: a file of the built UI, else index.html.
async fn static_file(State(state): State<Arc<AppState>>, method: Method, uri: Uri) -> Response {
    let url_path = uri.path();
    if url_path == "/api" || url_path.starts_with("/api/") {
        return api_error(ApiError::new(
            ApiErrorKind::NotFound,
            format!("no such API route {method} {url_path}: commands are POST /api/<command>"),
        ));
    }
    let target = match resolve(&state.root, url_path) {
        Target::Fallback => resolve(&state.root, "/index.html"),
        target => target,
    };
    let file = match target {
        Target::File(file) => file,
        Target::Fallback => {
            return (StatusCode::NOT_FOUND, "the UI's index.html is gone\n").into_response()
        }
        Target::Refused => {
            return (StatusCode::BAD_REQUEST, "this path leads outside the UI\n").into_response()
        }
    };
    let read = {
        let file = file.clone();
        tokio::task::spawn_blocking(move || std::fs::read(file)).await
    };
    match read {
        Ok(Ok(bytes)) => (
            [
                (header::CONTENT_TYPE, content_type(&file)),
                (header::CACHE_CONTROL, "no-cache"),
            ],
            Body::from(bytes),
        )
            .into_response(),
        _ => (
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("cannot read {}\n", file.display()),
        )
            .into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_compare_whole() {
        assert!(same_token(b"abcd", b"abcd"));
        assert!(!same_token(b"abce", b"abcd"));
        assert!(!same_token(b"abc", b"abcd"));
        assert!(!same_token(b"", b"abcd"));
    }

    #[test]
    fn bearer_scheme_is_case_insensitive_and_token_exact() {
        let mut h = HeaderMap::new();
        assert!(!authorized(&h, "t0k"));
        h.insert(
            header::AUTHORIZATION,
            HeaderValue::from_static("Bearer t0k"),
        );
        assert!(authorized(&h, "t0k"));
        h.insert(
            header::AUTHORIZATION,
            HeaderValue::from_static("bearer t0k"),
        );
        assert!(authorized(&h, "t0k"));
        h.insert(header::AUTHORIZATION, HeaderValue::from_static("Basic t0k"));
        assert!(!authorized(&h, "t0k"));
        h.insert(header::AUTHORIZATION, HeaderValue::from_static("Bearer t0"));
        assert!(!authorized(&h, "t0k"));
    }

    #[test]
    fn tokens_are_long_and_fresh() {
        let a = new_token().unwrap();
        let b = new_token().unwrap();
        assert_eq!(a.len(), 64);
        assert!(a.bytes().all(|c| c.is_ascii_hexdigit()));
        assert_ne!(a, b);
    }

    #[test]
    fn paths_stay_inside_the_ui_directory() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().canonicalize().unwrap();
        std::fs::create_dir(root.join("assets")).unwrap();
        std::fs::write(root.join("index.html"), "<p>hi</p>").unwrap();
        std::fs::write(root.join("assets/a b.js"), "1").unwrap();
        let outside = tempfile::tempdir().unwrap();
        std::fs::write(outside.path().join("secret.txt"), "no").unwrap();

        assert_eq!(
            resolve(&root, "/assets/a%20b.js"),
            Target::File(root.join("assets/a b.js"))
        );
        assert_eq!(
            resolve(&root, "/"),
            Target::Fallback,
            "a directory is the app's route"
        );
        assert_eq!(resolve(&root, "/some/deep/path"), Target::Fallback);
        assert_eq!(
            resolve(&root, "/prompts/support%2Frefund-reply"),
            Target::Fallback
        );
        for bad in [
            "/../x",
            "/assets/../../x",
            "/%2e%2e/x",
            "/a%2f..%2fx",
            "/..%5cx",
            "/%zz",
            "/a%00",
        ] {
            assert_eq!(resolve(&root, bad), Target::Refused, "{bad}");
        }
        #[cfg(unix)]
        {
            std::os::unix::fs::symlink(outside.path(), root.join("out")).unwrap();
            std::os::unix::fs::symlink(outside.path().join("secret.txt"), root.join("s.txt"))
                .unwrap();
            std::os::unix::fs::symlink(root.join("index.html"), root.join("home.html")).unwrap();
            assert_eq!(resolve(&root, "/out/secret.txt"), Target::Refused);
            assert_eq!(resolve(&root, "/s.txt"), Target::Refused);
            assert_eq!(
                resolve(&root, "/home.html"),
                Target::File(root.join("index.html")),
                "links inside the directory are fine"
            );
        }
    }

    #[test]
    fn error_kinds_map_to_statuses() {
        assert_eq!(status_of(ApiErrorKind::BadInput), StatusCode::BAD_REQUEST);
        assert_eq!(status_of(ApiErrorKind::NotFound), StatusCode::NOT_FOUND);
        assert_eq!(status_of(ApiErrorKind::Conflict), StatusCode::CONFLICT);
        assert_eq!(
            status_of(ApiErrorKind::InvalidTemplate),
            StatusCode::UNPROCESSABLE_ENTITY
        );
        assert_eq!(
            status_of(ApiErrorKind::PolicyRefused),
            StatusCode::FORBIDDEN
        );
        assert_eq!(
            status_of(ApiErrorKind::Unauthorized),
            StatusCode::UNAUTHORIZED
        );
        assert_eq!(
            status_of(ApiErrorKind::Internal),
            StatusCode::INTERNAL_SERVER_ERROR
        );
    }
}
