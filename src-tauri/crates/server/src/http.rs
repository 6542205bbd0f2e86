//! Routes, authentication, the runtime cache and the layers every request passes through.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use axum::body::{Body, Bytes};
use axum::extract::{ConnectInfo, DefaultBodyLimit, Path, Query, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use promptdesk_protocol::events::SyncEvent;
use serde::Deserialize;
use serde_json::{json, Value};

use crate::apply::{self, Principal};
use crate::auth::{self, Credentials, FailureLimiter};
use crate::error::{Result, ServerError};
use crate::store::{Pick, PromptRow, Store, VersionRow};

/// How long a verified token is trusted without asking the database again: a revoked token
/// stops working within this time on every replica (each asks the shared database again after
/// it). One lookup per token per half second costs nothing next to a request.
const AUTH_TTL: Duration = Duration::from_millis(500);

pub struct ServerState {
    pub store: Arc<Store>,
    /// Failed sign-ins per address.
    limiter: FailureLimiter,
    /// Failed sign-ins per account (a key pair's public key), whatever the address: more are
    /// allowed than per address, since anyone who knows a public key could otherwise lock its
    /// owner out.
    account_limiter: FailureLimiter,
    auth_cache: RwLock<HashMap<String, (Principal, Instant)>>,
    /// Runtime answers by request key; dropped whenever the event log grows.
    runtime_cache: RwLock<HashMap<String, Arc<Cached>>>,
    cache_head: AtomicI64,
    /// Bumped (under the cache's write lock) each time the cache is dropped. A fetch remembers
    /// its answer only if no drop happened since it began reading: otherwise an answer read
    /// before another replica's commit could land in the cache just after the drop that commit
    /// caused, and be served until the next change.
    cache_generation: AtomicU64,
}

pub(crate) struct Cached {
    pub etag: HeaderValue,
    pub body: Bytes,
}

impl ServerState {
    pub fn new(store: Arc<Store>) -> Arc<ServerState> {
        Arc::new(ServerState {
            store,
            limiter: FailureLimiter::new(10, Duration::from_secs(60)),
            account_limiter: FailureLimiter::new(30, Duration::from_secs(60)),
            auth_cache: RwLock::new(HashMap::new()),
            runtime_cache: RwLock::new(HashMap::new()),
            cache_head: AtomicI64::new(-1),
            cache_generation: AtomicU64::new(0),
        })
    }

    /// Drops the runtime cache whenever the event log grows, whoever wrote to it (this replica
    /// or another one over the same database).
    pub fn watch_for_changes(self: &Arc<Self>) {
        let state = Arc::downgrade(self);
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(crate::CACHE_CHECK).await;
                let Some(state) = state.upgrade() else { return };
                let store = state.store.clone();
                if let Ok(Ok(head)) =
                    tokio::task::spawn_blocking(move || store.read(|tx| tx.head())).await
                {
                    state.saw_head(head);
                }
            }
        });
    }

    fn saw_head(&self, head: i64) {
        if self.cache_head.swap(head, Ordering::SeqCst) != head {
            self.drop_cache();
        }
    }

    pub(crate) fn changed(&self) {
        self.cache_head.store(-1, Ordering::SeqCst);
        self.drop_cache();
    }

    fn drop_cache(&self) {
        let mut cache = self
            .runtime_cache
            .write()
            .unwrap_or_else(|p| p.into_inner());
        self.cache_generation.fetch_add(1, Ordering::SeqCst);
        cache.clear();
    }

    /// Taken before reading what [`ServerState::remember`] will keep.
    pub(crate) fn cache_generation(&self) -> u64 {
        self.cache_generation.load(Ordering::SeqCst)
    }

    pub(crate) fn cached(&self, key: &str) -> Option<Arc<Cached>> {
        self.runtime_cache
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(key)
            .cloned()
    }

    /// Keeps `value` unless the cache was dropped since `generation` was taken (the value may
    /// predate the change that dropped it).
    pub(crate) fn remember(&self, key: String, value: Arc<Cached>, generation: u64) {
        let mut cache = self
            .runtime_cache
            .write()
            .unwrap_or_else(|p| p.into_inner());
        if self.cache_generation.load(Ordering::SeqCst) != generation {
            return;
        }
        // A bound on memory whatever names clients ask for.
        if cache.len() >= 50_000 {
            cache.clear();
        }
        cache.insert(key, value);
    }

    /// The person behind the request's credentials, or a response refusing it.
    pub(crate) async fn principal(
        self: &Arc<Self>,
        headers: &HeaderMap,
        peer: SocketAddr,
    ) -> std::result::Result<Principal, Refusal> {
        let address = auth::Attempt::Address(peer.ip());
        if let Some(wait) = self.limiter.blocked(&address) {
            return Err(Refusal::TooMany(wait));
        }
        let Some(creds) = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(auth::parse_authorization)
        else {
            self.limiter.failed(address);
            return Err(Refusal::Error(ServerError::Unauthorized(
                "this server needs a token: Authorization: Bearer pdt_… (or HTTP Basic with a Langfuse key pair)".into(),
            )));
        };
        let account = creds.account();
        if let Some(wait) = account
            .as_ref()
            .and_then(|a| self.account_limiter.blocked(a))
        {
            return Err(Refusal::TooMany(wait));
        }
        let key = match &creds {
            Credentials::Bearer(t) => auth::secret_hash(t),
            Credentials::Basic { public, secret } => {
                auth::secret_hash(&format!("{public}:{secret}"))
            }
        };
        if let Some((p, at)) = self
            .auth_cache
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(&key)
        {
            if at.elapsed() < AUTH_TTL {
                return Ok(p.clone());
            }
        }
        let store = self.store.clone();
        let found = blocking(move || auth::authenticate(&store, &creds)).await;
        match found {
            Ok(p) => {
                let mut cache = self.auth_cache.write().unwrap_or_else(|p| p.into_inner());
                if cache.len() > 10_000 {
                    cache.clear();
                }
                cache.insert(key, (p.clone(), Instant::now()));
                Ok(p)
            }
            Err(e @ ServerError::Unauthorized(_)) => {
                self.limiter.failed(address);
                if let Some(account) = account {
                    self.account_limiter.failed(account);
                }
                Err(Refusal::Error(e))
            }
            Err(e) => Err(Refusal::Error(e)),
        }
    }
}

/// Why a request was turned away before its handler ran.
pub(crate) enum Refusal {
    TooMany(u64),
    Error(ServerError),
}

/// Runs store work on the blocking pool.
pub(crate) async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T> + Send + 'static,
) -> Result<T> {
    tokio::task::spawn_blocking(f).await.unwrap_or_else(|_| {
        Err(ServerError::Internal(
            "the request failed unexpectedly".into(),
        ))
    })
}

pub fn router(state: Arc<ServerState>) -> Router {
    Router::new()
        .route("/v1/health", get(health))
        .route("/v1/me", get(me))
        .route("/v1/sync/push", post(push))
        .route("/v1/sync/pull", get(pull))
        .route("/v1/sync/summary", get(summary))
        .route("/v1/prompts/{name}", get(runtime_fetch))
        .merge(crate::langfuse::routes())
        .layer(DefaultBodyLimit::max(crate::BODY_LIMIT))
        .layer(middleware::from_fn(limit_declared_body))
        .layer(middleware::from_fn(log_request))
        .with_state(state)
}

/// A declared oversize body is refused before routing, let alone reading it.
async fn limit_declared_body(req: Request, next: Next) -> Response {
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > crate::BODY_LIMIT as u64) {
        return error_response(&ServerError::BadInput(format!(
            "the request body is larger than {} MiB",
            crate::BODY_LIMIT / (1024 * 1024)
        )))
        .map_status(StatusCode::PAYLOAD_TOO_LARGE);
    }
    next.run(req).await
}

/// One JSON line per request on stderr: method, path, status, duration. Never headers (they
/// carry credentials) and never bodies.
async fn log_request(req: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = req.method().to_string();
    let path = req.uri().path().to_string();
    let res = next.run(req).await;
    if std::env::var_os("PROMPTDESK_SERVER_QUIET").is_none() {
        eprintln!(
            "{}",
            json!({
                "at": crate::now(), "method": method, "path": path,
                "status": res.status().as_u16(),
                "ms": (started.elapsed().as_secs_f64() * 1000.0 * 100.0).round() / 100.0,
            })
        );
    }
    res
}

trait MapStatus {
    fn map_status(self, status: StatusCode) -> Response;
}

impl MapStatus for Response {
    fn map_status(mut self, status: StatusCode) -> Response {
        *self.status_mut() = status;
        self
    }
}

/// The native API's error body: `{kind, message}`.
pub(crate) fn error_response(e: &ServerError) -> Response {
    (
        e.status(),
        axum::Json(json!({ "kind": e.kind(), "message": e.to_string() })),
    )
        .into_response()
}

/// The answer to a request turned away before its handler ran; `error` writes the body in the
/// dialect of the route (native or Langfuse).
pub(crate) fn refusal_response(r: Refusal, error: fn(&ServerError) -> Response) -> Response {
    match r {
        Refusal::TooMany(wait) => {
            let mut res = error(&ServerError::RateLimited(format!(
                "too many failed sign-ins from this address; try again in {wait} s"
            )));
            res.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(wait));
            res
        }
        Refusal::Error(e) => error(&e),
    }
}

/// The caller, or an early return with the refusal written by `$error`.
macro_rules! principal_or_refuse {
    ($state:expr, $headers:expr, $peer:expr) => {
        principal_or_refuse!($state, $headers, $peer, error_response)
    };
    ($state:expr, $headers:expr, $peer:expr, $error:expr) => {
        match $state.principal(&$headers, $peer).await {
            Ok(p) => p,
            Err(r) => return crate::http::refusal_response(r, $error),
        }
    };
}
pub(crate) use principal_or_refuse;

async fn health() -> Response {
    axum::Json(json!({ "status": "ok", "version": env!("CARGO_PKG_VERSION") })).into_response()
}

async fn me(
    State(state): State<Arc<ServerState>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
) -> Response {
    let p = principal_or_refuse!(state, headers, peer);
    axum::Json(json!({ "user": p.user, "role": p.role.as_str() })).into_response()
}

#[derive(Deserialize)]
struct PushBody {
    events: Vec<Value>,
}

/// Records events in order, each in its own transaction. Stops at the first refusal: later
/// events may depend on it. The answer lists what became of each event up to there, so an
/// interrupted or refused push resumes where it stopped.
async fn push(
    State(state): State<Arc<ServerState>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let who = principal_or_refuse!(state, headers, peer);
    let parsed: PushBody = match serde_json::from_slice(&body) {
        Ok(b) => b,
        Err(e) => {
            return error_response(&ServerError::BadInput(format!(
                "the push body is not {{\"events\": [...]}}: {e}"
            )))
        }
    };
    let store = state.store.clone();
    let outcome = blocking(move || {
        let mut results = Vec::new();
        for (i, raw) in parsed.events.into_iter().enumerate() {
            let event: SyncEvent = match serde_json::from_value(raw) {
                Ok(e) => e,
                Err(e) => {
                    return Ok((
                        results,
                        Some((
                            None,
                            ServerError::BadInput(format!(
                                "event {i} of the push is malformed: {e}"
                            )),
                        )),
                    ))
                }
            };
            let now = crate::now();
            match store.write(|tx| apply::apply(tx, &who, &event, &now)) {
                Ok(applied) => results.push(applied),
                Err(e) => return Ok((results, Some((Some(event.id), e)))),
            }
        }
        Ok((results, None))
    })
    .await;
    let (results, failure) = match outcome {
        Ok(x) => x,
        Err(e) => return error_response(&e),
    };
    if results.iter().any(|r| r.status == "stored") {
        state.changed();
    }
    match failure {
        None => axum::Json(json!({ "results": results })).into_response(),
        Some((id, e)) => (
            e.status(),
            axum::Json(json!({
                "results": results,
                "error": { "id": id, "kind": e.kind(), "message": e.to_string() },
            })),
        )
            .into_response(),
    }
}

#[derive(Deserialize)]
struct PullQuery {
    #[serde(default)]
    after: i64,
    limit: Option<u32>,
}

async fn pull(
    State(state): State<Arc<ServerState>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Query(q): Query<PullQuery>,
) -> Response {
    let _who = principal_or_refuse!(state, headers, peer);
    let limit = q.limit.unwrap_or(500).clamp(1, 5000);
    let store = state.store.clone();
    match blocking(move || {
        store.read(|tx| {
            let head = tx.head()?;
            let events = tx.events_after(q.after, limit)?;
            Ok((head, events))
        })
    })
    .await
    {
        Ok((head, events)) => axum::Json(json!({ "head": head, "events": events })).into_response(),
        Err(e) => error_response(&e),
    }
}

#[derive(Deserialize)]
struct SummaryQuery {
    upto: Option<i64>,
}

/// How many events up to `upto` and a digest of their ids: a client with the same count and
/// digest has every one of them; otherwise it pulls again from the start to fill its gaps.
async fn summary(
    State(state): State<Arc<ServerState>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Query(q): Query<SummaryQuery>,
) -> Response {
    let _who = principal_or_refuse!(state, headers, peer);
    let store = state.store.clone();
    match blocking(move || {
        store.read(|tx| {
            let upto = match q.upto {
                Some(u) => u,
                None => tx.head()?,
            };
            let (count, digest) = tx.summary(upto)?;
            Ok(json!({ "upto": upto, "count": count, "digest": digest }))
        })
    })
    .await
    {
        Ok(v) => axum::Json(v).into_response(),
        Err(e) => error_response(&e),
    }
}

#[derive(Deserialize)]
pub(crate) struct PickQuery {
    pub label: Option<String>,
    pub version: Option<u32>,
}

impl PickQuery {
    /// The version asked for; by default what `production` serves.
    pub fn resolve(&self) -> Result<(Option<String>, Option<u32>)> {
        match (&self.label, self.version) {
            (Some(_), Some(_)) => Err(ServerError::BadInput(
                "ask for a label or a version, not both".into(),
            )),
            (None, None) => Ok((Some("production".into()), None)),
            (l, v) => Ok((l.clone(), v)),
        }
    }
}

/// The runtime fetch: the version a label serves (or a numbered one), as JSON, with its
/// content hash as the ETag.
async fn runtime_fetch(
    State(state): State<Arc<ServerState>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Path(name): Path<String>,
    Query(q): Query<PickQuery>,
) -> Response {
    let _who = principal_or_refuse!(state, headers, peer);
    fetch_cached(&state, &headers, "v1", name, &q, runtime_body)
        .await
        .unwrap_or_else(|e| error_response(&e))
}

/// Answers a fetch of one version from the per-replica cache, or reads it (with `render` making
/// the body) and caches it; then 200 or 304 against `If-None-Match`.
pub(crate) async fn fetch_cached(
    state: &Arc<ServerState>,
    headers: &HeaderMap,
    api: &'static str,
    name: String,
    q: &PickQuery,
    render: fn(&mut dyn crate::store::Tx, &PromptRow, &VersionRow) -> Result<Value>,
) -> Result<Response> {
    let (label, version) = q.resolve()?;
    let key = format!(
        "{api}\u{0}{name}\u{0}{}\u{0}{}",
        label.as_deref().unwrap_or(""),
        version.map(|v| v.to_string()).unwrap_or_default()
    );
    let cached = match state.cached(&key) {
        Some(c) => c,
        None => {
            let generation = state.cache_generation();
            let store = state.store.clone();
            let c = blocking(move || {
                store.read(|tx| {
                    let (p, v) = pick_version(tx, &name, label.as_deref(), version)?;
                    let body = render(tx, &p, &v)?;
                    Ok(Cached {
                        etag: HeaderValue::from_str(&format!("\"{}\"", v.hash))
                            .map_err(|e| ServerError::Internal(e.to_string()))?,
                        body: Bytes::from(body.to_string()),
                    })
                })
            })
            .await?;
            let c = Arc::new(c);
            state.remember(key, c.clone(), generation);
            c
        }
    };
    Ok(conditional(headers, &cached, "application/json"))
}

/// The prompt and the version a label serves (`latest`: the newest), or a numbered version.
fn pick_version(
    tx: &mut dyn crate::store::Tx,
    name: &str,
    label: Option<&str>,
    version: Option<u32>,
) -> Result<(PromptRow, VersionRow)> {
    let prompt = tx
        .prompt(name)?
        .ok_or_else(|| ServerError::NotFound(format!("no prompt named '{name}'")))?;
    let found = match (label, version) {
        (_, Some(n)) => tx.version(name, &Pick::Number(n))?,
        (Some("latest"), None) => tx.version(name, &Pick::Latest)?,
        (Some(l), None) => match tx.label(name, l)? {
            Some(at) => tx.version(name, &Pick::Hash(at.hash))?,
            None => None,
        },
        (None, None) => None,
    };
    let v = found.ok_or_else(|| {
        ServerError::NotFound(match (label, version) {
            (_, Some(n)) => format!("'{name}' has no version {n}"),
            (Some(l), _) => format!("the label '{l}' of '{name}' points nowhere"),
            _ => format!("no version of '{name}' asked for"),
        })
    })?;
    Ok((prompt, v))
}

/// 304 when the client already holds this content, else the body; both with the ETag.
pub(crate) fn conditional(headers: &HeaderMap, c: &Cached, content_type: &'static str) -> Response {
    let matches = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.split(',')
                .map(|t| t.trim().trim_start_matches("W/"))
                .any(|t| t == "*" || t.as_bytes() == c.etag.as_bytes())
        });
    let mut res = if matches {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        let mut r = Response::new(Body::from(c.body.clone()));
        r.headers_mut()
            .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
        r
    };
    let h = res.headers_mut();
    h.insert(header::ETAG, c.etag.clone());
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, max-age=5"),
    );
    res
}

fn runtime_body(tx: &mut dyn crate::store::Tx, p: &PromptRow, v: &VersionRow) -> Result<Value> {
    let labels: Vec<String> = tx
        .labels(&p.name)?
        .into_iter()
        .filter(|l| l.hash == v.hash)
        .map(|l| l.label)
        .collect();
    Ok(json!({
        "name": p.name,
        "kind": p.kind,
        "version": v.number,
        "hash": v.hash,
        "labels": labels,
        "body": v.content.get("body"),
        "variables": v.content.get("variables"),
        "model": v.content.get("model"),
        "includes": v.content.get("includes"),
        "author": v.author,
        "message": v.message,
        "created_at": v.created_at,
    }))
}

/// Sign-in limits as the routes apply them, with the peer addresses a test cannot make over a
/// real socket: many addresses guessing at one account.
#[cfg(test)]
mod tests {
    use super::*;
    use promptdesk_protocol::policy::Role;

    fn basic(public: &str, secret: &str) -> HeaderMap {
        use base64::Engine as _;
        let mut h = HeaderMap::new();
        let b = base64::engine::general_purpose::STANDARD.encode(format!("{public}:{secret}"));
        h.insert(
            header::AUTHORIZATION,
            HeaderValue::from_str(&format!("Basic {b}")).unwrap(),
        );
        h
    }

    fn from(i: u32) -> SocketAddr {
        SocketAddr::from(([10, (i >> 16) as u8, (i >> 8) as u8, i as u8], 40000))
    }

    #[tokio::test]
    async fn failed_sign_ins_are_limited_per_account_whatever_the_address() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("server.db").display());
        let store = Arc::new(Store::open(&url).unwrap());
        let mine =
            auth::create_token(&store, "ana", Role::Editor, true, "2026-01-01T00:00:00Z").unwrap();
        let other =
            auth::create_token(&store, "ben", Role::Editor, true, "2026-01-01T00:00:00Z").unwrap();
        let pk = mine.row.public_key.clone().unwrap();
        let state = ServerState::new(store);
        // One wrong guess from each of many addresses: no address reaches its own limit.
        for i in 0..30 {
            let r = state.principal(&basic(&pk, "sk-lf-wrong"), from(i)).await;
            assert!(
                matches!(r, Err(Refusal::Error(_))),
                "guess {i} is refused as wrong"
            );
        }
        // Now the account itself waits, from a new address, even with the right secret.
        let r = state.principal(&basic(&pk, &mine.secret), from(999)).await;
        assert!(
            matches!(r, Err(Refusal::TooMany(_))),
            "the account is limited after 30 failures from 30 addresses"
        );
        // Other accounts are not.
        let ben_pk = other.row.public_key.unwrap();
        let r = state
            .principal(&basic(&ben_pk, &other.secret), from(1000))
            .await;
        assert!(matches!(r, Ok(p) if p.user == "ben"));
        // And one address is limited on its own, sooner.
        for _ in 0..10 {
            let _ = state
                .principal(&basic(&ben_pk, "sk-lf-wrong"), from(2000))
                .await;
        }
        let r = state
            .principal(&basic(&ben_pk, &other.secret), from(2000))
            .await;
        assert!(
            matches!(r, Err(Refusal::TooMany(_))),
            "10 failures from one address"
        );
    }
}
