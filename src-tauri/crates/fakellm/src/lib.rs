//! A local stand-in for hosted LLM providers, faithful to their wire protocols, for tests,
//! benchmarks, the end-to-end suites and the demo (no machine here reaches a hosted model).
//!
//! # Routes
//!
//! - `POST /v1/chat/completions` — OpenAI Chat Completions (also what Ollama, vLLM and llama.cpp
//!   serve). `Authorization: Bearer KEY` is checked when the server has a key; errors have
//!   OpenAI's shape `{"error": {"message", "type", "param", "code"}}`.
//! - `POST /v1/messages` — Anthropic Messages: `x-api-key`, `anthropic-version` (required, 400
//!   without it), `max_tokens` (required), `system` top-level (a string or a list of text
//!   blocks), message content as a string or a list of blocks; a `system` role inside
//!   `messages` is refused as Anthropic refuses it. Errors have Anthropic's shape
//!   `{"type": "error", "error": {"type", "message"}}`.
//! - `GET /v1/models` — the models below, in OpenAI's list shape.
//! - `GET /_stats` — [`Stats`] as JSON; `DELETE /_stats` resets them.
//!
//! # Models (the reply is derived from the request, so tests can reason about outputs)
//!
//! - any name not listed below (`echo`, `gpt-4o-mini`, …): the system text (every system
//!   message, or Anthropic's `system`, joined by a blank line), a blank line, then the last user
//!   message; just the last user message when there is no system text. A prompt that drops its
//!   refund policy gets a reply without it.
//! - `json-echo`: the request body itself (messages, system, parameters) as compact JSON.
//! - `grader`, and any name starting with `grader`: a rubric grader. It reads the grading request
//!   described below and replies `{"pass": bool, "score": number, "reason": string}`. `pass` is
//!   true iff every rubric line starting with `must contain:` names text found in the output
//!   and every line starting with `must not contain:` names text not found in it (both
//!   case-insensitive, surrounding quotes ignored); `score` is the fraction of such lines
//!   satisfied (1 when there are none). `grader-fenced` wraps the same verdict in prose and a
//!   ```` ```json ```` fence; `grader-prose` answers without any JSON.
//! - `hang`: never answers (until the server stops), for timeout and cancellation tests.
//!
//! `max_tokens` (and OpenAI's `max_completion_tokens`) truncate the reply to that many words,
//! with `finish_reason: "length"` / `stop_reason: "max_tokens"`. Token counts are
//! whitespace-separated words: of every message's text (and the system text) for the input, of
//! the reply for the output.
//!
//! # The grading request
//!
//! The grader model reads the **last user message** of the request, which must be
//!
//! ```text
//! <rubric>
//! RUBRIC TEXT
//! </rubric>
//! <output>
//! THE OUTPUT BEING GRADED
//! </output>
//! ```
//!
//! (the rubric ends at the first `\n</rubric>\n<output>\n`, the output at the last
//! `\n</output>`). `promptdesk_eval::rubric` builds exactly this.
//!
//! # Faults ([`Config`])
//!
//! The completion routes number the requests that pass authentication 1, 2, 3 … and then, in
//! this order: every `hang_every`-th request never answers; every `fail_every`-th gets a 500; a
//! `rate_limit_fraction` of them (spread evenly: request n when ⌊n·f⌋ > ⌊(n−1)·f⌋) gets a 429
//! with `Retry-After: retry_after_s`. Every answer of a completion route (errors included,
//! except 401) comes after `latency` plus a uniform random `0..=jitter`.
//!
//! # Running it
//!
//! In-process: [`FakeLlm::start`] runs it on its own thread and runtime (so tests with or
//! without a tokio runtime can use it) and stops it on drop. As a program:
//! `promptdesk-fakellm --port 0 --latency-ms 200` prints `listening on http://127.0.0.1:PORT`
//! as its first line of stdout (see [`cli`]).

mod anthropic;
mod behaviour;
pub mod cli;
mod openai;
pub mod process;
mod stats;

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::routing::{get, post};
use axum::Router;
use tokio_util::sync::CancellationToken;

pub use behaviour::{grade, GRADER_PREFIX};
pub use stats::{RequestRecord, Stats, LOG_CAPACITY};

use stats::Recorder;

/// How the fake behaves. `Config::default()` answers at once, accepts any key and injects no
/// faults.
#[derive(Clone, PartialEq)]
pub struct Config {
    /// 0 picks a free port.
    pub port: u16,
    /// When set, requests must carry this key (`Authorization: Bearer` for OpenAI, `x-api-key`
    /// for Anthropic); otherwise any key, or none, is accepted.
    pub api_key: Option<String>,
    /// Added before every answer of a completion route.
    pub latency: Duration,
    /// A uniform random extra delay in `0..=jitter` on top of `latency`.
    pub jitter: Duration,
    /// Every Nth completion request gets a 500.
    pub fail_every: Option<u64>,
    /// This fraction (0..=1) of completion requests gets a 429, spread evenly.
    pub rate_limit_fraction: f64,
    /// The `Retry-After` of those 429s, in seconds.
    pub retry_after_s: u64,
    /// Every Nth completion request never answers (1: all of them).
    pub hang_every: Option<u64>,
    /// Seeds the jitter.
    pub seed: u64,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            port: 0,
            api_key: None,
            latency: Duration::ZERO,
            jitter: Duration::ZERO,
            fail_every: None,
            rate_limit_fraction: 0.0,
            retry_after_s: 1,
            hang_every: None,
            seed: 0x5eed,
        }
    }
}

impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Config")
            .field("port", &self.port)
            .field("api_key", &self.api_key.as_ref().map(|_| "[redacted]"))
            .field("latency", &self.latency)
            .field("jitter", &self.jitter)
            .field("fail_every", &self.fail_every)
            .field("rate_limit_fraction", &self.rate_limit_fraction)
            .field("retry_after_s", &self.retry_after_s)
            .field("hang_every", &self.hang_every)
            .field("seed", &self.seed)
            .finish()
    }
}

/// What a completion request is answered with, decided before the reply is built.
pub(crate) enum Fault {
    Hang,
    ServerError,
    RateLimited { retry_after_s: u64 },
}

/// State shared by every handler of one server.
pub(crate) struct Shared {
    pub(crate) config: Config,
    pub(crate) recorder: Recorder,
    /// Completion requests that passed authentication (numbers the fault schedule).
    admitted: AtomicU64,
    /// Response ids.
    ids: AtomicU64,
    rng: AtomicU64,
    /// Cancelled when the server stops: hanging requests and delays end then.
    pub(crate) shutdown: CancellationToken,
}

impl Shared {
    fn new(config: Config, shutdown: CancellationToken) -> Shared {
        Shared {
            rng: AtomicU64::new(config.seed),
            config,
            recorder: Recorder::new(),
            admitted: AtomicU64::new(0),
            ids: AtomicU64::new(0),
            shutdown,
        }
    }

    pub(crate) fn next_id(&self) -> u64 {
        self.ids.fetch_add(1, Ordering::Relaxed) + 1
    }

    /// Whether `presented` is acceptable under the configured key.
    pub(crate) fn key_ok(&self, presented: Option<&str>) -> bool {
        match &self.config.api_key {
            None => true,
            Some(k) => presented == Some(k.as_str()),
        }
    }

    /// Numbers an authenticated completion request and says which fault, if any, it gets.
    pub(crate) fn admit(&self, model: &str) -> Option<Fault> {
        let n = self.admitted.fetch_add(1, Ordering::SeqCst) + 1;
        let c = &self.config;
        if model == "hang" || c.hang_every.is_some_and(|k| k > 0 && n % k == 0) {
            return Some(Fault::Hang);
        }
        if c.fail_every.is_some_and(|k| k > 0 && n % k == 0) {
            return Some(Fault::ServerError);
        }
        let f = c.rate_limit_fraction.clamp(0.0, 1.0);
        if f > 0.0 && (n as f64 * f).floor() > ((n - 1) as f64 * f).floor() {
            return Some(Fault::RateLimited {
                retry_after_s: c.retry_after_s,
            });
        }
        None
    }

    /// Waits for the configured latency (and jitter); returns false if the server stopped
    /// meanwhile.
    pub(crate) async fn delay(&self) -> bool {
        let mut d = self.config.latency;
        let jitter = self.config.jitter.as_micros() as u64;
        if jitter > 0 {
            d += Duration::from_micros(self.random() % (jitter + 1));
        }
        if d.is_zero() {
            return true;
        }
        tokio::select! {
            _ = tokio::time::sleep(d) => true,
            _ = self.shutdown.cancelled() => false,
        }
    }

    /// Waits until the server stops.
    pub(crate) async fn hang(&self) {
        self.shutdown.cancelled().await
    }

    /// splitmix64 over a shared state: good enough for jitter, and seeded.
    fn random(&self) -> u64 {
        let mut z = self
            .rng
            .fetch_add(0x9E37_79B9_7F4A_7C15, Ordering::Relaxed)
            .wrapping_add(0x9E37_79B9_7F4A_7C15);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
}

/// The fake's routes over `shared`.
fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/v1/chat/completions", post(openai::chat_completions))
        .route("/v1/models", get(openai::models))
        .route("/v1/messages", post(anthropic::messages))
        .route("/_stats", get(stats::get_stats).delete(stats::reset_stats))
        .with_state(shared)
}

/// Serves the fake on `listener` until `shutdown` is cancelled. Requests that hang or wait out
/// their latency end when it is; the future returns once connections have closed (or two
/// seconds after the cancellation, whichever is first).
pub async fn serve(
    config: Config,
    listener: tokio::net::TcpListener,
    shutdown: CancellationToken,
) -> std::io::Result<()> {
    let shared = Arc::new(Shared::new(config, shutdown.clone()));
    serve_shared(shared, listener).await
}

async fn serve_shared(
    shared: Arc<Shared>,
    listener: tokio::net::TcpListener,
) -> std::io::Result<()> {
    let shutdown = shared.shutdown.clone();
    let app = router(shared);
    let graceful =
        axum::serve(listener, app).with_graceful_shutdown(shutdown.clone().cancelled_owned());
    tokio::select! {
        r = graceful => r,
        _ = async {
            shutdown.cancelled().await;
            tokio::time::sleep(Duration::from_secs(2)).await;
        } => Ok(()),
    }
}

/// A fake on its own thread and runtime, listening on 127.0.0.1. Dropping it (or [`stop`])
/// stops it: requests still waiting end, and the call returns once the thread has.
///
/// [`stop`]: FakeLlm::stop
pub struct FakeLlm {
    addr: SocketAddr,
    shared: Arc<Shared>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl FakeLlm {
    /// Starts a fake with `config` and returns once it is listening.
    pub fn start(config: Config) -> std::io::Result<FakeLlm> {
        let shared = Arc::new(Shared::new(config, CancellationToken::new()));
        let (ready, listening) = std::sync::mpsc::channel();
        let for_thread = shared.clone();
        let thread = std::thread::Builder::new()
            .name("fakellm".into())
            .spawn(move || {
                let started = tokio::runtime::Builder::new_multi_thread()
                    .worker_threads(2)
                    .thread_name("fakellm-worker")
                    .enable_all()
                    .build();
                let rt = match started {
                    Ok(rt) => rt,
                    Err(e) => return drop(ready.send(Err(e))),
                };
                rt.block_on(async move {
                    let port = for_thread.config.port;
                    let listener = match tokio::net::TcpListener::bind(("127.0.0.1", port)).await {
                        Ok(l) => l,
                        Err(e) => return drop(ready.send(Err(e))),
                    };
                    let _ = ready.send(listener.local_addr());
                    let _ = serve_shared(for_thread, listener).await;
                });
                rt.shutdown_timeout(Duration::from_secs(1));
            })?;
        let addr = listening
            .recv()
            .map_err(|_| std::io::Error::other("the fake's thread ended before listening"))??;
        Ok(FakeLlm {
            addr,
            shared,
            thread: Some(thread),
        })
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:PORT`, without `/v1` (clients append their paths).
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Counts so far (the same as `GET /_stats`).
    pub fn stats(&self) -> Stats {
        self.shared.recorder.snapshot()
    }

    /// Forgets the counts and the request log (the fault schedule keeps counting).
    pub fn reset_stats(&self) {
        self.shared.recorder.reset()
    }

    /// Stops the server and waits for its thread.
    pub fn stop(&mut self) {
        self.shared.shutdown.cancel();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for FakeLlm {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Milliseconds since `start`, as a float (sub-millisecond precision for the request log).
pub(crate) fn ms_since(start: Instant, at: Instant) -> f64 {
    at.saturating_duration_since(start).as_secs_f64() * 1000.0
}
