//! Running a plan of jobs against a provider: bounded concurrency, retries, the cache, rubric
//! grading, results streamed to a synchronous sink, cancellation.
//!
//! # What stays true
//!
//! - At most `concurrency` jobs exist at any time: jobs are taken from the plan one by one as
//!   others finish (a [`JoinSet`] topped up to the limit), never spawned all up front, so
//!   10,000 cases cost no more memory than 16. A job's rubric gradings run inside its slot, so
//!   the limit bounds the grader's requests too.
//! - Each attempt has `timeout`; a retryable failure ([`ProviderError::retryable`]) is retried
//!   up to `retries` times, waiting [`Backoff::delay`]: capped exponential backoff with jitter,
//!   or the provider's `Retry-After` (never less; longer than [`MAX_RETRY_AFTER`] ends the job's
//!   retries).
//! - The [`Sink`] runs on one dedicated blocking thread fed by a bounded channel, so the async
//!   side never blocks on it and a SQLite sink writes in order on one connection. A job whose
//!   `cache_key` the sink knows ([`Sink::cached`]) is not sent to the provider.
//! - Every finished job reaches the sink as soon as the sink is free, in completion order:
//!   [`Sink::record`] when it is the only one waiting, [`Sink::record_many`] for those that
//!   finished while the sink was busy (so a database commits once per batch under load, once
//!   per job otherwise). Cache lookups are answered before waiting records are written, so a
//!   slow write never delays the start of a job by more than the write in progress.
//!   [`Sink::finish`] is called exactly once, last.
//! - Cancelling stops new jobs and aborts those in flight (their HTTP requests are dropped, so
//!   the connections close); jobs that had finished are still recorded; the summary says
//!   `cancelled`. An error from the sink stops the run the same way and ends it as failed.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::hash::{BuildHasher, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde::Serialize;
use serde_json::Value;
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use crate::provider::{ChatRequest, Complete, ProviderError, Reply};
use crate::rubric::{self, RubricError, RubricVerdict};

/// A `Retry-After` longer than this ends the job's retries instead of stalling the run.
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(300);

/// How long to wait between attempts.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Backoff {
    /// The wait before the first retry, doubled for each further one.
    pub base: Duration,
    /// No computed wait exceeds this (a provider's `Retry-After` may).
    pub cap: Duration,
}

impl Default for Backoff {
    fn default() -> Self {
        Backoff {
            base: Duration::from_millis(500),
            cap: Duration::from_secs(30),
        }
    }
}

impl Backoff {
    /// The wait before retry number `retry` (1 for the first), given the provider's
    /// `retry_after` and a `random` number: without `retry_after`, a uniform pick in
    /// `[d/2, d]` where `d = min(cap, base·2^(retry−1))` ("equal jitter"); with it, the
    /// `retry_after` plus up to a tenth more, so that requests limited together do not all
    /// come back at once. None when `retry_after` exceeds [`MAX_RETRY_AFTER`].
    pub fn delay(
        &self,
        retry: u32,
        retry_after: Option<Duration>,
        random: u64,
    ) -> Option<Duration> {
        if let Some(wait) = retry_after {
            if wait > MAX_RETRY_AFTER {
                return None;
            }
            let spread = wait.as_micros() as u64 / 10;
            return Some(wait + Duration::from_micros(random % (spread + 1)));
        }
        let factor = 1u32
            .checked_shl(retry.saturating_sub(1))
            .unwrap_or(u32::MAX);
        let full = self.base.saturating_mul(factor).min(self.cap);
        let half = full.as_micros() as u64 / 2;
        Some(Duration::from_micros(half + random % (half + 1)))
    }
}

/// A grader: which model judges rubrics, through which provider.
#[derive(Clone)]
pub struct Grader {
    pub provider: Arc<dyn Complete>,
    pub model: String,
    /// Sent with each grading request (`temperature` is 0 unless set here).
    pub parameters: BTreeMap<String, Value>,
}

impl fmt::Debug for Grader {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Grader")
            .field("model", &self.model)
            .field("parameters", &self.parameters)
            .finish_non_exhaustive()
    }
}

/// A rubric to grade a job's output against.
#[derive(Debug, Clone)]
pub struct RubricCheck {
    pub rubric: String,
    pub grader: Grader,
}

/// One case to run.
#[derive(Debug, Clone)]
pub struct Job {
    pub case_id: String,
    pub request: ChatRequest,
    /// What determines the reply (the store derives it from the version hash, model settings
    /// and rendered input). Empty: never looked up.
    pub cache_key: String,
    /// Graded, in order, when the job has a reply (also a cached one).
    pub rubrics: Vec<RubricCheck>,
}

/// What to run, and how.
#[derive(Debug, Clone)]
pub struct Plan {
    pub jobs: Vec<Job>,
    /// Requests in flight at most (0 counts as 1). Default 8.
    pub concurrency: usize,
    /// Retries after the first attempt, per request. Default 4.
    pub retries: u32,
    /// Default: 500 ms base, 30 s cap.
    pub backoff: Backoff,
    /// Per attempt. Default 60 s.
    pub timeout: Duration,
}

impl Plan {
    /// `jobs` with the default concurrency, retries, backoff and timeout.
    pub fn new(jobs: Vec<Job>) -> Plan {
        Plan {
            jobs,
            concurrency: 8,
            retries: 4,
            backoff: Backoff::default(),
            timeout: Duration::from_secs(60),
        }
    }
}

/// A finished job, as the sink receives it.
#[derive(Debug, Clone)]
pub struct JobOutcome {
    pub case_id: String,
    pub cache_key: String,
    /// The reply, or the last error after the retries.
    pub result: Result<Reply, ProviderError>,
    /// The reply came from [`Sink::cached`]; the provider was not called.
    pub cached: bool,
    /// Requests sent to the provider for the job's reply (0 when cached).
    pub attempts: u32,
    /// One per [`Job::rubrics`], in order; empty when there is no reply.
    pub rubric_verdicts: Vec<Result<RubricVerdict, RubricError>>,
}

/// How a run ended, as [`Sink::finish`] hears it.
#[derive(Debug, Clone, PartialEq)]
pub enum RunEnd {
    /// Every job finished (some possibly with errors).
    Completed,
    /// Cancelled: only some jobs were recorded.
    Cancelled,
    /// The sink failed (its error), and the run stopped.
    Failed { message: String },
}

/// An error a sink reports; it stops the run.
pub type SinkError = Box<dyn std::error::Error + Send + Sync>;

/// Where a run's results go: the registry's store, or memory. Called only from the run's one
/// sink thread, in the order the run sends: lookups and records interleaved as jobs start and
/// finish, then `finish` exactly once.
pub trait Sink: Send + 'static {
    /// A reply stored earlier under `key` (by an earlier run's [`Sink::record`]). A failed
    /// lookup should answer None: the job is then run.
    fn cached(&mut self, key: &str) -> Option<Reply>;

    /// A finished job. Store it durably before returning if it must survive a crash; an error
    /// stops the run (no new jobs, in-flight ones aborted, `finish` with [`RunEnd::Failed`]).
    /// A reply that is not `cached` is what later runs should find under its `cache_key`.
    fn record(&mut self, outcome: JobOutcome) -> Result<(), SinkError>;

    /// Several finished jobs, in completion order, that finished while the sink was busy
    /// (never more than 64). The default records them one by one; a database should write them
    /// in one transaction, so that a sink slower than the provider commits (and fsyncs) once per
    /// batch instead of once per job. An error stops the run, as from `record`.
    fn record_many(&mut self, outcomes: Vec<JobOutcome>) -> Result<(), SinkError> {
        for outcome in outcomes {
            self.record(outcome)?;
        }
        Ok(())
    }

    /// The run is over; nothing more will be recorded.
    fn finish(&mut self, end: RunEnd) -> Result<(), SinkError>;
}

/// Counts after each finished job.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Progress {
    pub total: u64,
    pub done: u64,
    /// Of `done`, answered from the cache.
    pub cached: u64,
    /// Of `done`, ended with an error (after retries).
    pub failed_requests: u64,
    /// Retries so far (every retried request, job or grading).
    pub retries: u64,
    pub in_flight: u64,
}

/// How a run went.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RunSummary {
    pub total: u64,
    /// Recorded (cached and failed included).
    pub done: u64,
    pub cached: u64,
    pub failed: u64,
    pub retries: u64,
    /// In flight when the run stopped, and aborted.
    pub aborted: u64,
    /// Never started because the run stopped.
    pub not_started: u64,
    pub cancelled: bool,
    /// The sink's error, when it failed (the run then stopped early).
    pub sink_error: Option<String>,
    pub tokens_in: u64,
    pub tokens_out: u64,
    /// The sum of the known costs; None when no reply had one.
    pub cost: Option<f64>,
    pub elapsed_ms: u64,
}

/// A sink that keeps everything in memory, with a cache; clones share their contents (keep
/// one to read the results after the run). For tests, benchmarks and one-off runs.
#[derive(Clone, Default)]
pub struct MemorySink {
    state: Arc<Mutex<MemoryState>>,
}

#[derive(Default)]
struct MemoryState {
    cache: HashMap<String, Reply>,
    outcomes: Vec<JobOutcome>,
    end: Option<RunEnd>,
}

impl MemorySink {
    pub fn new() -> MemorySink {
        MemorySink::default()
    }

    /// Adds a cached reply.
    pub fn with_cached(self, key: impl Into<String>, reply: Reply) -> MemorySink {
        self.lock().cache.insert(key.into(), reply);
        self
    }

    /// What was recorded so far, in order.
    pub fn outcomes(&self) -> Vec<JobOutcome> {
        self.lock().outcomes.clone()
    }

    /// How the run ended, once it has.
    pub fn end(&self) -> Option<RunEnd> {
        self.lock().end.clone()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, MemoryState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl Sink for MemorySink {
    fn cached(&mut self, key: &str) -> Option<Reply> {
        self.lock().cache.get(key).cloned()
    }

    fn record(&mut self, outcome: JobOutcome) -> Result<(), SinkError> {
        let mut state = self.lock();
        if let (Ok(reply), false, false) = (
            &outcome.result,
            outcome.cached,
            outcome.cache_key.is_empty(),
        ) {
            state.cache.insert(outcome.cache_key.clone(), reply.clone());
        }
        state.outcomes.push(outcome);
        Ok(())
    }

    fn finish(&mut self, end: RunEnd) -> Result<(), SinkError> {
        self.lock().end = Some(end);
        Ok(())
    }
}

/// Runs `plan` against `provider`, recording into `sink`, calling `progress` after each job,
/// until every job is done or `cancel` is cancelled. Must run inside a tokio runtime with
/// timers enabled (the sink gets a thread from its blocking pool). Never panics on a provider's or sink's failure: they
/// end up in the outcomes and the summary.
pub async fn run<S: Sink>(
    plan: Plan,
    provider: Arc<dyn Complete>,
    sink: S,
    progress: impl Fn(Progress) + Send + Sync,
    cancel: CancellationToken,
) -> RunSummary {
    let started = Instant::now();
    let total = plan.jobs.len() as u64;
    let concurrency = plan.concurrency.max(1);
    let (to_sink, from_runner) = mpsc::channel(concurrency * 2 + 8);
    let sink_failed = CancellationToken::new();
    let sink_thread = {
        let failed = sink_failed.clone();
        tokio::task::spawn_blocking(move || sink_loop(sink, from_runner, failed))
    };
    let shared = Arc::new(Shared {
        provider,
        retries: plan.retries,
        backoff: plan.backoff,
        timeout: plan.timeout,
        retries_done: AtomicU64::new(0),
        to_sink: to_sink.clone(),
    });

    let mut tally = Tally::default();
    let mut jobs = plan.jobs.into_iter();
    let mut running: JoinSet<JobOutcome> = JoinSet::new();
    // Which case each running task is, to report a task that panicked.
    let mut identities: HashMap<tokio::task::Id, (String, String)> = HashMap::new();
    let mut stop: Option<RunEnd> = None;
    let report = |tally: &Tally, in_flight: usize| {
        progress(Progress {
            total,
            done: tally.done,
            cached: tally.cached,
            failed_requests: tally.failed,
            retries: shared.retries_done.load(Ordering::Relaxed),
            in_flight: in_flight as u64,
        })
    };
    report(&tally, 0);

    loop {
        if cancel.is_cancelled() {
            stop.get_or_insert(RunEnd::Cancelled);
        } else if sink_failed.is_cancelled() {
            stop.get_or_insert(RunEnd::Failed {
                message: "the sink failed".into(),
            });
        }
        if stop.is_some() {
            break;
        }
        while running.len() < concurrency {
            let Some(job) = jobs.next() else { break };
            let identity = (job.case_id.clone(), job.cache_key.clone());
            let handle = running.spawn(run_job(job, shared.clone()));
            identities.insert(handle.id(), identity);
        }
        if running.is_empty() {
            break;
        }
        tokio::select! {
            biased;
            _ = cancel.cancelled() => {}
            _ = sink_failed.cancelled() => {}
            Some(joined) = running.join_next_with_id() => {
                let outcome = match joined {
                    Ok((id, outcome)) => {
                        identities.remove(&id);
                        outcome
                    }
                    Err(e) => panicked(e, &mut identities),
                };
                tally.add(&outcome);
                if to_sink.send(ToSink::Record(Box::new(outcome))).await.is_err() {
                    sink_failed.cancel();
                }
                report(&tally, running.len());
            }
        }
    }

    let mut aborted = 0;
    if stop.is_some() {
        running.abort_all();
        while let Some(joined) = running.join_next_with_id().await {
            let outcome = match joined {
                Ok((id, outcome)) => {
                    identities.remove(&id);
                    outcome
                }
                Err(e) if e.is_cancelled() => {
                    aborted += 1;
                    continue;
                }
                Err(e) => panicked(e, &mut identities),
            };
            tally.add(&outcome);
            let _ = to_sink.send(ToSink::Record(Box::new(outcome))).await;
        }
        report(&tally, 0);
    }
    let not_started = jobs.len() as u64;
    drop(jobs);
    let end = stop.clone().unwrap_or(RunEnd::Completed);
    let _ = to_sink.send(ToSink::Finish(end)).await;
    drop(to_sink);
    let retries = shared.retries_done.load(Ordering::Relaxed);
    drop(shared);
    let sink_error = match sink_thread.await {
        Ok(error) => error,
        Err(e) => Some(format!("the sink panicked: {}", panic_text(e))),
    };
    RunSummary {
        total,
        done: tally.done,
        cached: tally.cached,
        failed: tally.failed,
        retries,
        aborted,
        not_started,
        cancelled: stop == Some(RunEnd::Cancelled),
        sink_error,
        tokens_in: tally.tokens_in,
        tokens_out: tally.tokens_out,
        cost: tally.cost,
        elapsed_ms: started.elapsed().as_millis() as u64,
    }
}

/// The outcome standing for a job whose task panicked (a bug in a [`Complete`] implementation
/// or here): recorded as a failed job rather than lost.
fn panicked(
    e: tokio::task::JoinError,
    identities: &mut HashMap<tokio::task::Id, (String, String)>,
) -> JobOutcome {
    let (case_id, cache_key) = identities.remove(&e.id()).unwrap_or_default();
    JobOutcome {
        case_id,
        cache_key,
        result: Err(ProviderError::Protocol {
            message: format!("the job failed unexpectedly: {}", panic_text(e)),
        }),
        cached: false,
        attempts: 0,
        rubric_verdicts: Vec::new(),
    }
}

fn panic_text(e: tokio::task::JoinError) -> String {
    match e.try_into_panic() {
        Ok(payload) => payload
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "a panic".into()),
        Err(e) => e.to_string(),
    }
}

#[derive(Default)]
struct Tally {
    done: u64,
    cached: u64,
    failed: u64,
    tokens_in: u64,
    tokens_out: u64,
    cost: Option<f64>,
}

impl Tally {
    fn add(&mut self, o: &JobOutcome) {
        self.done += 1;
        self.cached += u64::from(o.cached);
        match &o.result {
            Ok(r) => {
                self.tokens_in += r.tokens_in;
                self.tokens_out += r.tokens_out;
                if let Some(c) = r.cost {
                    *self.cost.get_or_insert(0.0) += c;
                }
            }
            Err(_) => self.failed += 1,
        }
    }
}

enum ToSink {
    Lookup {
        key: String,
        answer: oneshot::Sender<Option<Reply>>,
    },
    Record(Box<JobOutcome>),
    Finish(RunEnd),
}

/// The most finished jobs handed to [`Sink::record_many`] at once.
const MAX_BATCH: usize = 64;

/// The sink's thread, until the runner hangs up. Whatever is queued is taken at once: lookups
/// are answered first (a job waiting to start never waits behind a write), then the results
/// gathered so far are recorded together, in completion order; `finish` comes after the last
/// of them. After a failed record it answers lookups with None, records nothing more and
/// reports the failure in `finish`. Returns the sink's first error.
fn sink_loop<S: Sink>(
    sink: S,
    mut inbox: mpsc::Receiver<ToSink>,
    failed: CancellationToken,
) -> Option<String> {
    let mut state = SinkThread {
        sink,
        error: None,
        waiting: Vec::new(),
        end: None,
    };
    let mut open = true;
    loop {
        if open && state.waiting.is_empty() && state.end.is_none() {
            match inbox.blocking_recv() {
                Some(m) => state.take(m),
                None => open = false,
            }
        }
        while open && state.waiting.len() < MAX_BATCH {
            match inbox.try_recv() {
                Ok(m) => state.take(m),
                Err(mpsc::error::TryRecvError::Empty) => break,
                Err(mpsc::error::TryRecvError::Disconnected) => open = false,
            }
        }
        if !state.waiting.is_empty() {
            state.record_waiting(&failed);
            continue;
        }
        if let Some(end) = state.end.take() {
            state.finish(end);
        }
        if !open {
            return state.error;
        }
    }
}

struct SinkThread<S> {
    sink: S,
    /// The sink's first error.
    error: Option<String>,
    /// Finished jobs not yet recorded, in completion order.
    waiting: Vec<JobOutcome>,
    /// The run's end, once the runner has sent it.
    end: Option<RunEnd>,
}

impl<S: Sink> SinkThread<S> {
    fn take(&mut self, message: ToSink) {
        match message {
            ToSink::Lookup { key, answer } => {
                let hit = match self.error {
                    None => self.sink.cached(&key),
                    Some(_) => None,
                };
                let _ = answer.send(hit);
            }
            ToSink::Record(outcome) => self.waiting.push(*outcome),
            ToSink::Finish(end) => self.end = Some(end),
        }
    }

    fn record_waiting(&mut self, failed: &CancellationToken) {
        let mut batch = std::mem::take(&mut self.waiting);
        if self.error.is_some() {
            return;
        }
        let recorded = match batch.len() {
            1 => self.sink.record(batch.remove(0)),
            _ => self.sink.record_many(batch),
        };
        if let Err(e) = recorded {
            self.error = Some(format!("recording a result failed: {e}"));
            failed.cancel();
        }
    }

    fn finish(&mut self, end: RunEnd) {
        let end = match &self.error {
            Some(message) => RunEnd::Failed {
                message: message.clone(),
            },
            None => end,
        };
        if let Err(e) = self.sink.finish(end) {
            self.error
                .get_or_insert(format!("finishing the run failed: {e}"));
        }
    }
}

/// What every job task shares.
struct Shared {
    provider: Arc<dyn Complete>,
    retries: u32,
    backoff: Backoff,
    timeout: Duration,
    retries_done: AtomicU64,
    to_sink: mpsc::Sender<ToSink>,
}

impl Shared {
    async fn lookup(&self, key: &str) -> Option<Reply> {
        if key.is_empty() {
            return None;
        }
        let (answer, hit) = oneshot::channel();
        self.to_sink
            .send(ToSink::Lookup {
                key: key.to_string(),
                answer,
            })
            .await
            .ok()?;
        hit.await.ok().flatten()
    }

    /// `request` to `provider` with timeout and retries: the last result and the attempts.
    async fn call(
        &self,
        provider: &dyn Complete,
        request: &ChatRequest,
    ) -> (Result<Reply, ProviderError>, u32) {
        let mut attempts = 0;
        loop {
            attempts += 1;
            let result = match tokio::time::timeout(self.timeout, provider.complete(request)).await
            {
                Ok(result) => result,
                Err(_) => Err(ProviderError::Timeout {
                    after: self.timeout,
                }),
            };
            let error = match result {
                Ok(reply) => return (Ok(reply), attempts),
                Err(e) if e.retryable() && attempts <= self.retries => e,
                Err(e) => return (Err(e), attempts),
            };
            let Some(wait) = self.backoff.delay(attempts, error.retry_after(), random()) else {
                return (Err(error), attempts);
            };
            self.retries_done.fetch_add(1, Ordering::Relaxed);
            tokio::time::sleep(wait).await;
        }
    }

    async fn grade(&self, check: &RubricCheck, output: &str) -> Result<RubricVerdict, RubricError> {
        let request = rubric::grading_request(
            &check.rubric,
            output,
            &check.grader.model,
            &check.grader.parameters,
        );
        let (reply, _) = self.call(check.grader.provider.as_ref(), &request).await;
        let reply = reply.map_err(RubricError::Provider)?;
        rubric::parse_verdict(&reply.text).map_err(RubricError::Verdict)
    }
}

async fn run_job(job: Job, shared: Arc<Shared>) -> JobOutcome {
    let Job {
        case_id,
        request,
        cache_key,
        rubrics,
    } = job;
    let (result, cached, attempts) = match shared.lookup(&cache_key).await {
        Some(reply) => (Ok(reply), true, 0),
        None => {
            let (result, attempts) = shared.call(shared.provider.as_ref(), &request).await;
            (result, false, attempts)
        }
    };
    let mut rubric_verdicts = Vec::new();
    if let Ok(reply) = &result {
        for check in &rubrics {
            rubric_verdicts.push(shared.grade(check, &reply.text).await);
        }
    }
    JobOutcome {
        case_id,
        cache_key,
        result,
        cached,
        attempts,
        rubric_verdicts,
    }
}

/// A random number for jitter (std's per-process random hash keys over a counter).
fn random() -> u64 {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u64(COUNTER.fetch_add(1, Ordering::Relaxed));
    h.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_from_the_base_up_to_the_cap_with_jitter_in_the_upper_half() {
        let b = Backoff {
            base: Duration::from_millis(500),
            cap: Duration::from_secs(3),
        };
        for (retry, full_ms) in [(1, 500), (2, 1000), (3, 2000), (4, 3000), (40, 3000)] {
            let low = b.delay(retry, None, 0).unwrap();
            let high = b.delay(retry, None, u64::MAX - 1).unwrap();
            assert!(
                low >= Duration::from_millis(full_ms / 2) && high <= Duration::from_millis(full_ms),
                "retry {retry}: {low:?}..{high:?} within [{}, {full_ms}] ms",
                full_ms / 2
            );
        }
    }

    #[test]
    fn retry_after_is_honoured_never_shortened_and_too_long_a_wait_gives_up() {
        let b = Backoff::default();
        let ra = Duration::from_secs(2);
        for random in [0, 7, u64::MAX] {
            let d = b.delay(1, Some(ra), random).unwrap();
            assert!(d >= ra && d <= ra + ra / 10, "{d:?}");
        }
        assert_eq!(
            b.delay(1, Some(MAX_RETRY_AFTER + Duration::from_secs(1)), 0),
            None
        );
    }
}
