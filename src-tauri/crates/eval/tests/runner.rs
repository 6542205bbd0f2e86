//! The runner against the fake over real HTTP: retries and Retry-After, giving up, timeouts,
//! cancellation, the cache, the concurrency limit, streaming to the sink, rubric grading and
//! a failing sink. Timing claims are checked with the fake's own request log, not with
//! wall-clock bounds.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use promptdesk_eval::{
    run, Backoff, CancellationToken, ChatRequest, Complete, CompleteFuture, Grader, Job,
    JobOutcome, MemorySink, Message, Plan, Progress, Provider, ProviderConfig, ProviderError,
    ProviderKind, Reply, RubricCheck, RubricError, RunEnd, RunSummary, Sink, SinkError,
};
use promptdesk_fakellm::{Config, FakeLlm};

fn provider(fake: &FakeLlm, kind: ProviderKind) -> Arc<dyn Complete> {
    Arc::new(Provider::new(ProviderConfig::new("fake", kind, fake.base_url())).unwrap())
}

fn job(id: &str, model: &str, text: &str) -> Job {
    Job {
        case_id: id.into(),
        request: ChatRequest {
            model: model.into(),
            messages: vec![Message {
                role: "user".into(),
                content: text.into(),
            }],
            parameters: BTreeMap::new(),
        },
        cache_key: format!("key-{id}"),
        rubrics: Vec::new(),
    }
}

fn jobs(n: usize, model: &str) -> Vec<Job> {
    (0..n)
        .map(|i| job(&format!("case-{i}"), model, &format!("question {i}")))
        .collect()
}

/// A plan with fast backoff, so tests that retry do not wait half a second per retry.
fn plan(jobs: Vec<Job>, concurrency: usize) -> Plan {
    Plan {
        concurrency,
        backoff: Backoff {
            base: Duration::from_millis(10),
            cap: Duration::from_millis(50),
        },
        timeout: Duration::from_secs(20),
        ..Plan::new(jobs)
    }
}

async fn run_plan(plan: Plan, provider: Arc<dyn Complete>, sink: impl Sink) -> RunSummary {
    run(plan, provider, sink, |_| {}, CancellationToken::new()).await
}

/// Polls `done` until it holds, failing the test after 10 s.
async fn wait_for(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for: {what}");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_429_is_retried_after_the_retry_after_the_provider_asked_for() {
    // Request 2 of every 2 is limited (fraction 0.5) with Retry-After: 1.
    let fake = FakeLlm::start(Config {
        rate_limit_fraction: 0.5,
        retry_after_s: 1,
        ..Config::default()
    })
    .unwrap();
    let sink = MemorySink::new();
    let summary = run_plan(
        plan(jobs(2, "echo"), 1),
        provider(&fake, ProviderKind::OpenAi),
        sink.clone(),
    )
    .await;
    let outcomes = sink.outcomes();
    assert!(outcomes.iter().all(|o| o.result.is_ok()), "{outcomes:?}");
    assert_eq!(outcomes[1].attempts, 2, "the limited job took two attempts");
    assert_eq!(summary.retries, 1);
    let log = fake.stats().requests;
    let statuses: Vec<_> = log.iter().map(|r| r.status).collect();
    assert_eq!(statuses, [Some(200), Some(429), Some(200)]);
    // Backoff alone would have waited 5-10 ms; the retry came at least the second the 429 asked.
    let waited = log[2].received_ms - log[1].ended_ms;
    assert!(
        waited >= 1000.0,
        "the retry arrived {waited:.1} ms after the 429 was sent; Retry-After asked for 1000"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_errors_are_retried_then_the_last_error_is_recorded() {
    let fake = FakeLlm::start(Config {
        fail_every: Some(1),
        ..Config::default()
    })
    .unwrap();
    let sink = MemorySink::new();
    let seen = Mutex::new(Vec::<Progress>::new());
    let summary = run(
        Plan {
            retries: 2,
            ..plan(jobs(1, "echo"), 4)
        },
        provider(&fake, ProviderKind::Anthropic),
        sink.clone(),
        |p| seen.lock().unwrap().push(p),
        CancellationToken::new(),
    )
    .await;
    let outcome = &sink.outcomes()[0];
    match &outcome.result {
        Err(ProviderError::Server {
            status: 500,
            message,
        }) => {
            assert_eq!(
                message, "Internal server error",
                "the provider's own message"
            )
        }
        other => panic!("expected the 500 to be recorded, got {other:?}"),
    }
    assert_eq!(outcome.attempts, 3, "one attempt and two retries");
    assert_eq!(
        fake.stats().count(500),
        3,
        "the fake saw exactly three requests"
    );
    assert_eq!((summary.failed, summary.retries, summary.done), (1, 2, 1));
    let last = *seen.lock().unwrap().last().unwrap();
    assert_eq!((last.done, last.failed_requests, last.retries), (1, 1, 2));
    assert_eq!(sink.end(), Some(RunEnd::Completed));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_attempt_that_outlives_the_timeout_is_abandoned_and_retried() {
    let fake = FakeLlm::start(Config::default()).unwrap();
    let sink = MemorySink::new();
    run_plan(
        Plan {
            retries: 1,
            timeout: Duration::from_millis(200),
            ..plan(jobs(1, "hang"), 1)
        },
        provider(&fake, ProviderKind::OpenAi),
        sink.clone(),
    )
    .await;
    let outcome = &sink.outcomes()[0];
    assert!(
        matches!(outcome.result, Err(ProviderError::Timeout { after }) if after == Duration::from_millis(200)),
        "{:?}",
        outcome.result
    );
    assert_eq!(outcome.attempts, 2);
    wait_for("the fake to see both requests dropped", || {
        fake.stats().aborted == 2
    })
    .await;
    assert_eq!(fake.stats().total, 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancelling_aborts_what_is_in_flight_keeps_what_finished_and_starts_nothing_new() {
    let fake = FakeLlm::start(Config::default()).unwrap();
    // Six quick jobs, then eight that hang: four of them fill the slots, four never start.
    let mut all = jobs(6, "echo");
    all.extend((0..8).map(|i| job(&format!("slow-{i}"), "hang", "wait")));
    let sink = MemorySink::new();
    let cancel = CancellationToken::new();
    let runner = tokio::spawn(run(
        plan(all, 4),
        provider(&fake, ProviderKind::OpenAi),
        sink.clone(),
        |_| {},
        cancel.clone(),
    ));
    wait_for("six results and four hanging requests", || {
        sink.outcomes().len() == 6 && fake.stats().in_flight == 4
    })
    .await;
    cancel.cancel();
    let summary = tokio::time::timeout(Duration::from_secs(10), runner)
        .await
        .expect("the run returns promptly once cancelled")
        .unwrap();
    assert!(summary.cancelled);
    assert_eq!(
        (summary.done, summary.aborted, summary.not_started),
        (6, 4, 4),
        "{summary:?}"
    );
    let outcomes = sink.outcomes();
    assert_eq!(outcomes.len(), 6, "what finished was recorded");
    assert!(outcomes
        .iter()
        .all(|o| o.result.is_ok() && o.case_id.starts_with("case-")));
    assert_eq!(sink.end(), Some(RunEnd::Cancelled));
    wait_for("the fake to see the four requests dropped", || {
        let s = fake.stats();
        s.in_flight == 0 && s.aborted == 4
    })
    .await;
    assert_eq!(
        fake.stats().total,
        10,
        "the four unstarted jobs never reached the fake"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cached_replies_skip_the_provider() {
    let fake = FakeLlm::start(Config::default()).unwrap();
    let cached_reply = Reply {
        text: "from the cache".into(),
        tokens_in: 1,
        tokens_out: 3,
        latency_ms: 5,
        cost: Some(0.5),
        finish_reason: Some("stop".into()),
    };
    let mut sink = MemorySink::new();
    for i in 0..4 {
        sink = sink.with_cached(format!("key-case-{i}"), cached_reply.clone());
    }
    let p = provider(&fake, ProviderKind::OpenAi);
    let summary = run_plan(plan(jobs(10, "echo"), 3), p.clone(), sink.clone()).await;
    assert_eq!(
        fake.stats().total,
        6,
        "only the six uncached jobs reached the provider"
    );
    assert_eq!(summary.cached, 4);
    assert_eq!(summary.cost, Some(2.0), "cached costs count in the summary");
    for o in sink.outcomes() {
        let index: usize = o.case_id["case-".len()..].parse().unwrap();
        assert_eq!(o.cached, index < 4, "{o:?}");
        if o.cached {
            assert_eq!(o.attempts, 0);
            assert_eq!(o.result.as_ref().unwrap(), &cached_reply);
        }
    }
    // The sink cached what it recorded: the same plan again costs no request at all.
    let again = run_plan(plan(jobs(10, "echo"), 3), p, sink.clone()).await;
    assert_eq!((again.cached, again.done), (10, 10));
    assert_eq!(fake.stats().total, 6, "the second run sent nothing");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_in_flight_reach_the_concurrency_limit_and_never_exceed_it() {
    let fake = FakeLlm::start(Config {
        latency: Duration::from_millis(40),
        ..Config::default()
    })
    .unwrap();
    let most = Mutex::new(0u64);
    let summary = run(
        plan(jobs(48, "echo"), 6),
        provider(&fake, ProviderKind::OpenAi),
        MemorySink::new(),
        |p| {
            let mut m = most.lock().unwrap();
            *m = (*m).max(p.in_flight)
        },
        CancellationToken::new(),
    )
    .await;
    assert_eq!(summary.done, 48);
    assert_eq!(
        fake.stats().max_in_flight,
        6,
        "the fake saw exactly the limit at once"
    );
    assert!(*most.lock().unwrap() <= 6);
}

/// Records, for each outcome, how many requests the fake had received by then.
struct Observing {
    fake: Arc<FakeLlm>,
    seen_at: Arc<Mutex<Vec<u64>>>,
}

impl Sink for Observing {
    fn cached(&mut self, _: &str) -> Option<Reply> {
        None
    }
    fn record(&mut self, _: JobOutcome) -> Result<(), SinkError> {
        self.seen_at.lock().unwrap().push(self.fake.stats().total);
        Ok(())
    }
    fn finish(&mut self, _: RunEnd) -> Result<(), SinkError> {
        Ok(())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn results_reach_the_sink_while_the_run_is_still_going() {
    let fake = Arc::new(
        FakeLlm::start(Config {
            latency: Duration::from_millis(50),
            ..Config::default()
        })
        .unwrap(),
    );
    let seen_at = Arc::new(Mutex::new(Vec::new()));
    let sink = Observing {
        fake: fake.clone(),
        seen_at: seen_at.clone(),
    };
    run_plan(
        plan(jobs(12, "echo"), 2),
        provider(&fake, ProviderKind::OpenAi),
        sink,
    )
    .await;
    let seen_at = seen_at.lock().unwrap().clone();
    assert_eq!(seen_at.len(), 12);
    assert!(
        seen_at[0] <= 4,
        "the first result was recorded when the fake had seen {} of 12 requests",
        seen_at[0]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rubrics_are_graded_by_the_grader_model_and_unreadable_verdicts_are_errors() {
    let fake = FakeLlm::start(Config::default()).unwrap();
    // Outputs from an OpenAI-compatible model, graded through the Anthropic dialect.
    let grader = |model: &str| Grader {
        provider: provider(&fake, ProviderKind::Anthropic),
        model: model.into(),
        parameters: BTreeMap::new(),
    };
    let rubric = "The reply must be kind.\nmust contain: refund\nmust contain: 30 days";
    let check = |model: &str| RubricCheck {
        rubric: rubric.into(),
        grader: grader(model),
    };
    let mut with_policy = job("with-policy", "echo", "Your refund arrives within 30 days.");
    with_policy.rubrics = vec![
        check("grader"),
        check("grader-fenced"),
        check("grader-prose"),
    ];
    let mut without = job("without-policy", "echo", "Your refund is on its way.");
    without.rubrics = vec![check("grader")];
    let sink = MemorySink::new();
    run_plan(
        plan(vec![with_policy, without], 2),
        provider(&fake, ProviderKind::OpenAi),
        sink.clone(),
    )
    .await;
    let outcomes = sink.outcomes();
    let by_id = |id: &str| outcomes.iter().find(|o| o.case_id == id).unwrap().clone();

    let passed = by_id("with-policy").rubric_verdicts;
    assert_eq!(passed.len(), 3);
    let plain = passed[0].as_ref().unwrap();
    assert!(plain.pass && plain.score == 1.0, "{plain:?}");
    assert_eq!(
        passed[1].as_ref().unwrap(),
        plain,
        "a fenced verdict reads the same"
    );
    match &passed[2] {
        Err(RubricError::Verdict(e)) => assert!(e.excerpt.contains("looks reasonable"), "{e}"),
        other => panic!("a reply without JSON is a verdict error: {other:?}"),
    }

    let failed = by_id("without-policy").rubric_verdicts;
    let v = failed[0].as_ref().unwrap();
    assert!(!v.pass, "{v:?}");
    assert_eq!(v.score, 0.5);
    assert!(
        v.reason.contains("30 days"),
        "the reason names what is missing: {v:?}"
    );
}

struct Failing {
    after: usize,
    recorded: Arc<Mutex<usize>>,
    end: Arc<Mutex<Option<RunEnd>>>,
}

impl Sink for Failing {
    fn cached(&mut self, _: &str) -> Option<Reply> {
        None
    }
    fn record(&mut self, _: JobOutcome) -> Result<(), SinkError> {
        let mut n = self.recorded.lock().unwrap();
        if *n == self.after {
            return Err("disk full".into());
        }
        *n += 1;
        Ok(())
    }
    fn finish(&mut self, end: RunEnd) -> Result<(), SinkError> {
        *self.end.lock().unwrap() = Some(end);
        Ok(())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sink_that_cannot_record_stops_the_run_as_failed() {
    let fake = FakeLlm::start(Config {
        latency: Duration::from_millis(20),
        ..Config::default()
    })
    .unwrap();
    let end = Arc::new(Mutex::new(None));
    let sink = Failing {
        after: 3,
        recorded: Arc::new(Mutex::new(0)),
        end: end.clone(),
    };
    let summary = run_plan(
        plan(jobs(200, "echo"), 2),
        provider(&fake, ProviderKind::OpenAi),
        sink,
    )
    .await;
    assert!(
        summary
            .sink_error
            .as_deref()
            .is_some_and(|e| e.contains("disk full")),
        "{summary:?}"
    );
    assert!(!summary.cancelled);
    assert!(
        summary.not_started > 150,
        "the run stopped early: {summary:?}"
    );
    assert!(
        matches!(&*end.lock().unwrap(), Some(RunEnd::Failed { message }) if message.contains("disk full")),
        "{:?}",
        end.lock().unwrap()
    );
}

/// A provider with a bug.
struct Panicking;

impl Complete for Panicking {
    fn complete<'a>(&'a self, _: &'a ChatRequest) -> CompleteFuture<'a> {
        Box::pin(async { panic!("provider bug") })
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_whose_provider_panics_is_recorded_as_failed_not_lost() {
    let sink = MemorySink::new();
    let summary = run_plan(plan(jobs(3, "echo"), 2), Arc::new(Panicking), sink.clone()).await;
    assert_eq!((summary.done, summary.failed), (3, 3));
    let outcomes = sink.outcomes();
    let mut ids: Vec<_> = outcomes.iter().map(|o| o.case_id.clone()).collect();
    ids.sort();
    assert_eq!(ids, ["case-0", "case-1", "case-2"]);
    assert!(outcomes.iter().all(|o| matches!(&o.result,
        Err(ProviderError::Protocol { message }) if message.contains("provider bug"))));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unauthorized_is_not_retried() {
    let fake = FakeLlm::start(Config {
        api_key: Some("right".into()),
        ..Config::default()
    })
    .unwrap();
    let sink = MemorySink::new();
    run_plan(
        plan(jobs(1, "echo"), 1),
        provider(&fake, ProviderKind::OpenAi),
        sink.clone(),
    )
    .await;
    let o = &sink.outcomes()[0];
    assert!(
        matches!(
            o.result,
            Err(ProviderError::Unauthorized { status: 401, .. })
        ),
        "{o:?}"
    );
    assert_eq!(o.attempts, 1);
    assert_eq!(fake.stats().total, 1);
}

/// A sink that takes 100 ms per write and notes how many results each write carried.
struct SlowWrites {
    batches: Arc<Mutex<Vec<usize>>>,
}

impl Sink for SlowWrites {
    fn cached(&mut self, _: &str) -> Option<Reply> {
        None
    }
    fn record(&mut self, outcome: JobOutcome) -> Result<(), SinkError> {
        self.record_many(vec![outcome])
    }
    fn record_many(&mut self, outcomes: Vec<JobOutcome>) -> Result<(), SinkError> {
        std::thread::sleep(Duration::from_millis(100));
        self.batches.lock().unwrap().push(outcomes.len());
        Ok(())
    }
    fn finish(&mut self, _: RunEnd) -> Result<(), SinkError> {
        Ok(())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn results_that_finish_while_the_sink_writes_are_handed_over_together() {
    let fake = FakeLlm::start(Config::default()).unwrap();
    let batches = Arc::new(Mutex::new(Vec::new()));
    let summary = run_plan(
        plan(jobs(24, "echo"), 8),
        provider(&fake, ProviderKind::OpenAi),
        SlowWrites {
            batches: batches.clone(),
        },
    )
    .await;
    assert_eq!(summary.done, 24);
    let batches = batches.lock().unwrap().clone();
    assert_eq!(
        batches.iter().sum::<usize>(),
        24,
        "every result written once: {batches:?}"
    );
    assert!(
        batches.len() < 12,
        "results waiting for a slow sink went in batches, not one write each: {batches:?}"
    );
}
