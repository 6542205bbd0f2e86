//! The `promptdesk-fakellm` program: flags into a [`Config`], then serve until SIGINT or
//! SIGTERM. Its first line of stdout is `listening on http://127.0.0.1:PORT`, so a parent
//! process can read the port it got.

use std::ffi::OsString;
use std::io::Write;
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use tokio_util::sync::CancellationToken;

use crate::Config;

/// A local stand-in for OpenAI- and Anthropic-compatible LLM APIs, with deterministic replies
/// and injected latency and faults.
#[derive(Debug, Parser)]
#[command(name = "promptdesk-fakellm", version)]
pub struct Args {
    /// Port on 127.0.0.1 (0 picks a free one).
    #[arg(long, default_value_t = 0)]
    pub port: u16,
    /// Require this API key (Bearer for OpenAI, x-api-key for Anthropic); any key when unset.
    #[arg(long, env = "PROMPTDESK_FAKELLM_API_KEY", hide_env_values = true)]
    pub api_key: Option<String>,
    /// Fixed delay before every answer, in milliseconds.
    #[arg(long, default_value_t = 0)]
    pub latency_ms: u64,
    /// Extra uniform random delay of up to this many milliseconds.
    #[arg(long, default_value_t = 0)]
    pub jitter_ms: u64,
    /// Every Nth completion request gets a 500.
    #[arg(long)]
    pub fail_every: Option<u64>,
    /// This fraction (0..=1) of completion requests gets a 429.
    #[arg(long, default_value_t = 0.0)]
    pub rate_limit_fraction: f64,
    /// The Retry-After of those 429s, in seconds.
    #[arg(long, default_value_t = 1)]
    pub retry_after: u64,
    /// Every Nth completion request never answers.
    #[arg(long)]
    pub hang_every: Option<u64>,
    /// Seed of the latency jitter.
    #[arg(long, default_value_t = 0x5eed)]
    pub seed: u64,
}

impl From<Args> for Config {
    fn from(a: Args) -> Config {
        Config {
            port: a.port,
            api_key: a.api_key,
            latency: Duration::from_millis(a.latency_ms),
            jitter: Duration::from_millis(a.jitter_ms),
            fail_every: a.fail_every,
            rate_limit_fraction: a.rate_limit_fraction,
            retry_after_s: a.retry_after,
            hang_every: a.hang_every,
            seed: a.seed,
        }
    }
}

/// Parses `args` (the program name first) and serves until SIGINT or SIGTERM.
pub fn run<I, T>(args: I) -> ExitCode
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    let args = match Args::try_parse_from(args) {
        Ok(a) => a,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() {
                ExitCode::from(2)
            } else {
                ExitCode::SUCCESS
            };
        }
    };
    let config = Config::from(args);
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("promptdesk-fakellm: cannot start a runtime: {e}");
            return ExitCode::from(3);
        }
    };
    rt.block_on(async move {
        let listener = match tokio::net::TcpListener::bind(("127.0.0.1", config.port)).await {
            Ok(l) => l,
            Err(e) => {
                eprintln!(
                    "promptdesk-fakellm: cannot listen on 127.0.0.1:{}: {e}",
                    config.port
                );
                return ExitCode::from(2);
            }
        };
        let addr = match listener.local_addr() {
            Ok(a) => a,
            Err(e) => {
                eprintln!("promptdesk-fakellm: {e}");
                return ExitCode::from(3);
            }
        };
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "listening on http://{addr}");
        let _ = out.flush();
        drop(out);
        let shutdown = CancellationToken::new();
        let on_signal = shutdown.clone();
        tokio::spawn(async move {
            stop_signal().await;
            on_signal.cancel();
        });
        match crate::serve(config, listener, shutdown).await {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("promptdesk-fakellm: {e}");
                ExitCode::from(3)
            }
        }
    })
}

async fn stop_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
