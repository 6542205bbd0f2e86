//! The team's registry server (`promptdesk serve`).
//!
//! - **Sync** (`/v1/sync/*`): clients push events (idempotent: a replay changes nothing; the same
//!   id with other content is a 409 showing both hashes) and pull everything after a cursor. The
//!   server assigns sequence numbers and version numbers, stamps each event with its own clock,
//!   and checks every event with the same policy code as the desktop app, deciding from what it
//!   holds (label history, its own keys register, the eval runs synced to it), never from what
//!   a client claims ([`apply`]).
//! - **Runtime** (`GET /v1/prompts/{name}`): what an application fetches, with the content hash as
//!   `ETag` (`If-None-Match` → 304) and a short `Cache-Control`; served from a per-replica cache
//!   that is dropped whenever the event log grows (checked every [`CACHE_CHECK`]).
//! - **Langfuse-compatible** (`/api/public/*`, see [`langfuse`]): existing SDKs fetch and create
//!   prompts; every label change obeys the release policy (403 with the reason).
//!
//! Every route needs a token; failed authentication is rate limited per address and per key
//! pair (429 with `Retry-After`); a verified token is trusted for half a second at most, so a
//! revocation reaches every replica within a second; bodies over [`BODY_LIMIT`] are refused with 413 before any handler runs;
//! each request is logged as one JSON line without credentials.
//!
//! HTTPS: [`serve_tls`] serves the same routes over TLS ([`tls`]: rustls with ring, through
//! tokio-rustls); plain HTTP ([`serve`]) stays for loopback and behind a TLS-terminating proxy.

pub mod apply;
pub mod auth;
pub mod error;
mod http;
mod langfuse;
pub mod store;
pub mod tls;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

pub use error::{Result, ServerError};
pub use http::{router, ServerState};
pub use store::Store;

/// The largest request body accepted.
pub const BODY_LIMIT: usize = 16 * 1024 * 1024;
/// How often a replica checks whether the shared database changed under its cache.
pub const CACHE_CHECK: Duration = Duration::from_millis(200);

/// Now, as RFC 3339 UTC with milliseconds.
pub fn now() -> String {
    let t = time::OffsetDateTime::now_utc();
    let t = t
        .replace_nanosecond(t.millisecond() as u32 * 1_000_000)
        .unwrap_or(t);
    t.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

/// A server on its own thread and async runtime, listening on 127.0.0.1 at a free port (the
/// test suites of the server, the sync client and the API run real servers this way). Dropping
/// it, or `stop`, shuts it down gracefully and waits for it.
pub struct Background {
    pub addr: SocketAddr,
    scheme: &'static str,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Background {
    pub fn start(store: Arc<Store>) -> std::io::Result<Background> {
        Background::start_with(store, None)
    }

    /// The same over HTTPS with `tls` (see [`tls::server_config`]); `url` is then `https://`.
    pub fn start_tls(
        store: Arc<Store>,
        tls: Arc<rustls::ServerConfig>,
    ) -> std::io::Result<Background> {
        Background::start_with(store, Some(tls))
    }

    fn start_with(
        store: Arc<Store>,
        tls: Option<Arc<rustls::ServerConfig>>,
    ) -> std::io::Result<Background> {
        let scheme = if tls.is_some() { "https" } else { "http" };
        let (ready, listening) = std::sync::mpsc::channel();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::spawn(move || {
            let started = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build();
            let rt = match started {
                Ok(rt) => rt,
                Err(e) => return drop(ready.send(Err(e))),
            };
            rt.block_on(async move {
                let listener = match tokio::net::TcpListener::bind("127.0.0.1:0").await {
                    Ok(l) => l,
                    Err(e) => return drop(ready.send(Err(e))),
                };
                let _ = ready.send(listener.local_addr());
                let shutdown = async {
                    let _ = stopped.await;
                };
                let _ = match tls {
                    Some(tls) => serve_tls(store, listener, tls, shutdown).await,
                    None => serve(store, listener, shutdown).await,
                };
            });
        });
        let addr = listening
            .recv()
            .map_err(|_| std::io::Error::other("the server thread ended before listening"))??;
        Ok(Background {
            addr,
            scheme,
            stop: Some(stop),
            thread: Some(thread),
        })
    }

    pub fn url(&self) -> String {
        format!("{}://{}", self.scheme, self.addr)
    }

    /// Stops the server and waits until it no longer answers.
    pub fn stop(&mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for Background {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Serves `store` on `listener` until `shutdown` resolves; requests in flight finish first.
pub async fn serve(
    store: Arc<Store>,
    listener: tokio::net::TcpListener,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let state = ServerState::new(store);
    state.watch_for_changes();
    let app = router(state);
    axum::serve(
        listener,
        app.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown)
    .await
}

/// [`serve`] over TLS: the same routes, limits, logging and graceful shutdown; only connections
/// that finished a TLS handshake reach them.
pub async fn serve_tls(
    store: Arc<Store>,
    listener: tokio::net::TcpListener,
    tls: Arc<rustls::ServerConfig>,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    use axum::serve::ListenerExt;
    let state = ServerState::new(store);
    state.watch_for_changes();
    let app = router(state);
    // `tap_io` gives the listener axum's `ConnectInfo<SocketAddr>` (the per-address sign-in
    // limit reads it) for any listener whose address is a `SocketAddr`.
    let listener = tls::TlsListener::new(listener, tls)?.tap_io(|_| {});
    axum::serve(
        listener,
        app.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown)
    .await
}
