//! Running a test suite against a model, end to end: the registry says what to run
//! ([`Registry::start_run`]), every case is rendered through the isolated worker, the runner in
//! `promptdesk-eval` sends them to the provider (bounded, retried, cancellable), and
//! [`RegistrySink`] checks and stores each outcome as it arrives, on its own handle on the
//! registry file. The CLI's `eval` and the app's `start_eval` both come through here.
//!
//! API keys come from the environment (`PROMPTDESK_<PROVIDER>_API_KEY`, and `OPENAI_API_KEY` /
//! `ANTHROPIC_API_KEY` for the providers of those names) or from the key store, where they are
//! bound to the provider's name and base URL; never from the registry.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use promptdesk_content::{ModelSettings, Rendered};
use promptdesk_core::eval::{
    cache_key, AssertionKind, Case, EvalRun, Outcome, ProviderSettings, ReplyFacts, RunStatus,
};
use promptdesk_core::{Ref, Registry, RenderTarget};
use promptdesk_eval::{
    ChatRequest, Complete, Grader, Job, JobOutcome, Plan, Progress, Provider, ProviderConfig,
    ProviderKind, Reply, RubricCheck, RunEnd, Sink, SinkError,
};
use promptdesk_keys::KeyStore;
use promptdesk_template::worker::RenderWorker;

pub use promptdesk_eval::CancellationToken;

use crate::ApiError;

type R<T> = Result<T, ApiError>;

/// What to run.
#[derive(Debug, Clone)]
pub struct RunRequest {
    pub prompt: String,
    pub version: Ref,
    pub suite: String,
    pub model: Option<ModelSettings>,
    /// Requests in flight at once.
    pub concurrency: usize,
}

/// A run recorded and ready to go: its jobs, its provider, its sink.
pub struct Prepared {
    pub run: EvalRun,
    plan: Plan,
    provider: Arc<dyn Complete>,
    sink: RegistrySink,
    /// Cases that could not be rendered (recorded as errors already).
    pub render_errors: usize,
}

/// The environment variables an API key for `provider` may come from, most specific first.
pub fn key_env_vars(provider: &ProviderSettings) -> Vec<String> {
    let mut vars = vec![format!(
        "PROMPTDESK_{}_API_KEY",
        provider.name.to_ascii_uppercase().replace(['-', '.'], "_")
    )];
    match provider.name.as_str() {
        "openai" => vars.push("OPENAI_API_KEY".into()),
        "anthropic" => vars.push("ANTHROPIC_API_KEY".into()),
        _ => {}
    }
    vars
}

/// The API key for `provider`: the environment first (CI, scripts; never stored), then the key
/// store. `None` is allowed: local servers (Ollama, llama.cpp) need none.
pub fn api_key_for(
    provider: &ProviderSettings,
    keys: Option<&KeyStore>,
    person: &str,
) -> R<Option<String>> {
    for var in key_env_vars(provider) {
        if let Ok(k) = std::env::var(&var) {
            if !k.trim().is_empty() {
                return Ok(Some(k.trim().to_string()));
            }
        }
    }
    match keys {
        None => Ok(None),
        Some(store) => store
            .provider_key(&provider.name, &provider.base_url, person)
            .map_err(|e| {
                ApiError::bad_input(format!(
                    "the API key of provider {} could not be read: {e}",
                    provider.name
                ))
            }),
    }
}

fn client_for(settings: &ProviderSettings, key: Option<String>) -> R<Arc<Provider>> {
    let kind = match settings.kind.as_str() {
        "anthropic" => ProviderKind::Anthropic,
        _ => ProviderKind::OpenAi,
    };
    let mut config = ProviderConfig::new(&settings.name, kind, &settings.base_url);
    config.api_key = key;
    config.timeout = Duration::from_secs(settings.timeout_s.unwrap_or(60));
    config.prices = settings
        .prices
        .iter()
        .map(|(m, p)| {
            (
                m.clone(),
                promptdesk_eval::Price {
                    input_per_mtok: p.input_per_mtok,
                    output_per_mtok: p.output_per_mtok,
                },
            )
        })
        .collect();
    Provider::new(config)
        .map(Arc::new)
        .map_err(|e| ApiError::bad_input(format!("provider {}: {e}", settings.name)))
}

/// Records the run, renders its cases and builds what the runner needs. The registry handle
/// given is used for preparing only; the sink opens its own on the same file.
pub fn prepare(
    reg: &mut Registry,
    worker: &mut RenderWorker,
    keys: Option<&KeyStore>,
    req: &RunRequest,
) -> R<Prepared> {
    // Check the provider before recording a run that could not start.
    let version = reg.resolve(&req.prompt, Some(&req.version))?;
    let model = promptdesk_core::eval::effective_model(&version.content.model, req.model.as_ref());
    let settings = if model.provider.is_empty() {
        None
    } else {
        Some(reg.provider(&model.provider)?)
    };
    let person = reg.actor().to_string();
    let prepared = reg.start_run(
        &req.prompt,
        Some(&req.version),
        &req.suite,
        req.model.as_ref(),
    )?;
    let settings = settings.expect("start_run refuses a run without a provider");
    let provider = client_for(&settings, api_key_for(&settings, keys, &person)?)?;

    // Graders: `provider/model` per rubric, the run's own model when not given.
    let mut graders: HashMap<String, Grader> = HashMap::new();
    let mut grader_for = |spec: &str, reg: &Registry| -> R<Grader> {
        let spec = if spec.trim().is_empty() {
            format!("{}/{}", model.provider, model.model)
        } else {
            spec.trim().to_string()
        };
        if let Some(g) = graders.get(&spec) {
            return Ok(g.clone());
        }
        let (p, m) = spec.split_once('/').ok_or_else(|| {
            ApiError::bad_input(format!(
                "rubric grader {spec:?}: write it as provider/model (e.g. openai/gpt-4o-mini)"
            ))
        })?;
        let settings = reg.provider(p)?;
        let client: Arc<dyn Complete> = if p == model.provider {
            provider.clone()
        } else {
            client_for(&settings, api_key_for(&settings, keys, &person)?)?
        };
        let g = Grader {
            provider: client,
            model: m.to_string(),
            parameters: Default::default(),
        };
        graders.insert(spec, g.clone());
        Ok(g)
    };

    let path = reg.path().to_path_buf();
    let mut sink_reg = Registry::open(&path)?;
    sink_reg.set_actor(person.clone());
    let mut jobs = Vec::with_capacity(prepared.cases.len());
    let mut cases: HashMap<String, (Case, Option<Rendered>)> = HashMap::new();
    let mut render_errors = 0;
    for case in prepared.cases {
        let rendered = reg
            .render_request(RenderTarget::Version(&prepared.version), &case.vars)
            .map_err(ApiError::from)
            .and_then(|r| worker.render(&r).map_err(ApiError::from));
        let rendered = match rendered {
            Ok(r) => r,
            Err(e) => {
                render_errors += 1;
                sink_reg.record_result(
                    &prepared.run.id,
                    Outcome {
                        case,
                        input: None,
                        reply: Err(format!("the case does not render: {}", e.message)),
                        rubric_verdicts: vec![],
                        cached: false,
                        attempts: 0,
                        cache_key: None,
                    },
                )?;
                continue;
            }
        };
        let mut rubrics = Vec::new();
        for a in &case.assertions {
            if let AssertionKind::Rubric { rubric, grader } = &a.kind {
                rubrics.push(RubricCheck {
                    rubric: rubric.clone(),
                    grader: grader_for(grader, reg)?,
                });
            }
        }
        let key = cache_key(&prepared.version.hash, &prepared.run.model, &rendered);
        jobs.push(Job {
            case_id: case.id.clone(),
            request: ChatRequest::from_rendered(&rendered, &prepared.run.model),
            cache_key: key,
            rubrics,
        });
        cases.insert(case.id.clone(), (case, Some(rendered)));
    }
    let mut plan = Plan::new(jobs);
    plan.concurrency = req.concurrency.clamp(1, 256);
    plan.timeout = Duration::from_secs(settings.timeout_s.unwrap_or(60));
    Ok(Prepared {
        run: prepared.run.clone(),
        plan,
        provider,
        sink: RegistrySink {
            reg: sink_reg,
            run_id: prepared.run.id,
            cases,
        },
        render_errors,
    })
}

/// Runs a prepared run to its end on a runtime of its own and returns the run as recorded.
/// `progress` is called after every case; cancelling `cancel` stops it (what finished stays).
pub fn execute(
    prepared: Prepared,
    progress: impl Fn(Progress) + Send + Sync,
    cancel: CancellationToken,
) -> R<EvalRun> {
    let run_id = prepared.run.id.clone();
    let path = prepared.sink.reg.path().to_path_buf();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| ApiError::internal(format!("could not start the eval runtime: {e}")))?;
    let summary = runtime.block_on(promptdesk_eval::run(
        prepared.plan,
        prepared.provider,
        prepared.sink,
        progress,
        cancel,
    ));
    drop(runtime);
    let reg = Registry::open(&path)?;
    let run = reg.eval_run(&run_id)?;
    if let Some(e) = summary.sink_error {
        return Err(ApiError::internal(format!(
            "eval run {run_id} stopped: its results could not be stored ({e})"
        )));
    }
    Ok(run)
}

/// Stores each outcome in the registry as it arrives: the assertions are checked there, the
/// run's counters move, a fresh reply goes to the cache.
pub struct RegistrySink {
    reg: Registry,
    run_id: String,
    /// Each case with what was sent for it; taken out when its outcome is recorded.
    cases: HashMap<String, (Case, Option<Rendered>)>,
}

/// The registry's form of a runner's outcome, with the case it was for.
fn prepare_outcome(
    cases: &mut HashMap<String, (Case, Option<Rendered>)>,
    outcome: JobOutcome,
) -> Result<Outcome, SinkError> {
    let (case, input) = cases
        .remove(&outcome.case_id)
        .ok_or_else(|| format!("the runner returned an unknown case {}", outcome.case_id))?;
    let reply = match outcome.result {
        Ok(r) => Ok(ReplyFacts {
            output: r.text,
            tokens_in: r.tokens_in,
            tokens_out: r.tokens_out,
            latency_ms: r.latency_ms,
            cost: r.cost,
            finish_reason: r.finish_reason.unwrap_or_default(),
        }),
        Err(e) => Err(e.to_string()),
    };
    let rubric_verdicts = outcome
        .rubric_verdicts
        .into_iter()
        .map(|v| match v {
            Ok(v) => promptdesk_core::eval::RubricVerdict {
                pass: v.pass,
                score: v.score,
                reason: v.reason,
            },
            Err(e) => promptdesk_core::eval::RubricVerdict {
                pass: false,
                score: 0.0,
                reason: format!("the grader gave no verdict: {e}"),
            },
        })
        .collect();
    Ok(Outcome {
        case,
        input,
        reply,
        rubric_verdicts,
        cached: outcome.cached,
        attempts: outcome.attempts,
        cache_key: (!outcome.cache_key.is_empty()).then_some(outcome.cache_key),
    })
}

fn reply_of(f: ReplyFacts) -> Reply {
    Reply {
        text: f.output,
        tokens_in: f.tokens_in,
        tokens_out: f.tokens_out,
        latency_ms: f.latency_ms,
        cost: f.cost,
        finish_reason: (!f.finish_reason.is_empty()).then_some(f.finish_reason),
    }
}

impl Sink for RegistrySink {
    fn cached(&mut self, key: &str) -> Option<Reply> {
        self.reg.cached_reply(key).ok().flatten().map(reply_of)
    }

    fn record(&mut self, outcome: JobOutcome) -> Result<(), SinkError> {
        let outcome = prepare_outcome(&mut self.cases, outcome)?;
        self.reg.record_result(&self.run_id, outcome)?;
        Ok(())
    }

    /// Results that finished together are stored in one transaction: a run of thousands of
    /// fast cases is not held back by one disk sync per case.
    fn record_many(&mut self, outcomes: Vec<JobOutcome>) -> Result<(), SinkError> {
        let mut first_error = None;
        let this = &mut *self;
        let stored = this.reg.batch(|reg| {
            for outcome in outcomes {
                let prepared = match prepare_outcome(&mut this.cases, outcome) {
                    Ok(o) => o,
                    Err(e) => {
                        first_error = Some(e);
                        return Err(promptdesk_core::Error::Conflict("stopped".into()));
                    }
                };
                reg.record_result(&this.run_id, prepared)?;
            }
            Ok(())
        });
        match (first_error, stored) {
            (Some(e), _) => Err(e),
            (None, Err(e)) => Err(e.into()),
            (None, Ok(())) => Ok(()),
        }
    }

    fn finish(&mut self, end: RunEnd) -> Result<(), SinkError> {
        let (status, error) = match end {
            RunEnd::Completed => (RunStatus::Completed, None),
            RunEnd::Cancelled => (RunStatus::Cancelled, None),
            RunEnd::Failed { message } => (RunStatus::Failed, Some(message)),
        };
        self.reg
            .finish_run(&self.run_id, status, error.as_deref())?;
        Ok(())
    }
}
