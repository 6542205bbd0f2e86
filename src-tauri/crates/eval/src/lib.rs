//! Eval runs: a prompt version's test cases sent to a model, with bounded concurrency, retries,
//! a cache and rubric grading, results handed to a store as they arrive.
//!
//! - [`provider`]: the HTTP clients of the two API dialects every model we target speaks,
//!   OpenAI Chat Completions (OpenAI, and locally Ollama, vLLM, llama.cpp) and Anthropic
//!   Messages; one pooled connection set per provider; errors sorted into kinds a runner can
//!   act on ([`ProviderError::retryable`]).
//! - [`runner`]: [`run`] a [`Plan`] of jobs against a provider — at most `concurrency` requests
//!   in flight, retries with capped exponential backoff and jitter that honour `Retry-After`,
//!   a per-request timeout, the [`Sink`]'s cache consulted first, each finished job handed to
//!   the sink at once on one dedicated thread, and cancellation that aborts what is in flight
//!   and keeps what finished.
//! - [`rubric`]: the request that asks a grader model to judge an output against a rubric, and
//!   a lenient reader of its JSON verdict.
//!
//! The registry's store (in `promptdesk-core`) implements [`Sink`]; this crate does not depend
//! on it. Tests and benchmarks run this code against `promptdesk-fakellm`, a local server that
//! speaks both dialects.
//!
//! ```no_run
//! use std::sync::Arc;
//! use promptdesk_eval::*;
//!
//! # async fn example(jobs: Vec<Job>) -> Result<(), ProviderError> {
//! let mut config = ProviderConfig::new("ollama", ProviderKind::OpenAi, "http://localhost:11434/v1");
//! config.api_key = None;
//! let provider: Arc<dyn Complete> = Arc::new(Provider::new(config)?);
//! let plan = Plan { concurrency: 16, ..Plan::new(jobs) };
//! let sink = MemorySink::new();
//! let cancel = CancellationToken::new(); // cancel.cancel() from elsewhere stops the run
//! let summary = run(plan, provider, sink.clone(), |p| eprintln!("{}/{}", p.done, p.total), cancel).await;
//! println!("{} done, {} failed, cancelled: {}", summary.done, summary.failed, summary.cancelled);
//! # Ok(())
//! # }
//! ```

pub mod provider;
pub mod rubric;
pub mod runner;

pub use provider::{
    ChatRequest, Complete, CompleteFuture, Message, Price, Provider, ProviderConfig, ProviderError,
    ProviderKind, Reply,
};
pub use rubric::{RubricError, RubricVerdict, VerdictError};
pub use runner::{
    run, Backoff, Grader, Job, JobOutcome, MemorySink, Plan, Progress, RubricCheck, RunEnd,
    RunSummary, Sink, SinkError,
};
pub use tokio_util::sync::CancellationToken;
