//! Test suites, eval runs, comparisons and ratings as the UI sees them.
//!
//! A run started from the app goes on in the background (`start_eval` answers at once with the
//! run); the UI polls `eval_status`, which reads the run's counters from the registry (results
//! are stored as they arrive) and adds what only this process knows (requests in flight,
//! retries). `cancel_eval` stops it; what finished stays.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use promptdesk_core::eval::{
    assertions::parse_short, import, Assertion, Case, Comparison, EvalRun, Rating, RunStatus,
    Suite, SuiteDetail, VersionEvals,
};
use promptdesk_core::Ref;
use promptdesk_eval::Progress;

use crate::eval_run::{self, CancellationToken, RunRequest};
use crate::types::*;
use crate::{lock, Api, ApiError};

type R<T> = Result<T, ApiError>;

/// A run going on in this backend.
pub(crate) struct LiveRun {
    cancel: CancellationToken,
    progress: Arc<Mutex<Option<Progress>>>,
}

/// The runs going on in this backend, by id.
pub(crate) type LiveRuns = Mutex<HashMap<String, LiveRun>>;

fn reference(text: &str) -> R<Ref> {
    Ok(Ref::parse(text.trim())?)
}

pub fn list_suites(api: &Api, req: PromptName) -> R<Vec<Suite>> {
    api.with(|reg| Ok(reg.suites(&req.name)?))
}

pub fn get_suite(api: &Api, req: SuiteRef) -> R<SuiteDetail> {
    api.with(|reg| Ok(reg.suite(&req.name, &req.suite)?))
}

pub fn create_suite(api: &Api, req: CreateSuite) -> R<SuiteDetail> {
    api.with(|reg| {
        reg.create_suite(
            &req.name,
            &req.suite,
            req.description.as_deref().unwrap_or(""),
        )?;
        Ok(reg.suite(&req.name, &req.suite)?)
    })
}

pub fn add_cases(api: &Api, req: AddCases) -> R<SuiteDetail> {
    api.with(|reg| {
        reg.add_cases(
            &req.name,
            &req.suite,
            req.cases,
            "",
            req.create.unwrap_or(false),
        )?;
        Ok(reg.suite(&req.name, &req.suite)?)
    })
}

pub fn import_cases(api: &Api, req: ImportCases) -> R<SuiteDetail> {
    let format = import::format_of(&req.file_name).ok_or_else(|| {
        ApiError::bad_input(format!(
            "{}: pick a .csv or .jsonl file of test cases",
            req.file_name
        ))
    })?;
    let cases = import::parse(format, &req.text)
        .map_err(|e| ApiError::bad_input(format!("{}: {e}", req.file_name)))?;
    if cases.is_empty() {
        return Err(ApiError::bad_input(format!(
            "{}: the file has no cases",
            req.file_name
        )));
    }
    let file = std::path::Path::new(&req.file_name)
        .file_name()
        .map(|f| f.to_string_lossy().into_owned())
        .unwrap_or_else(|| req.file_name.clone());
    api.with(|reg| {
        reg.add_cases(
            &req.name,
            &req.suite,
            cases,
            &format!("import:{file}"),
            req.create.unwrap_or(true),
        )?;
        Ok(reg.suite(&req.name, &req.suite)?)
    })
}

pub fn update_case(api: &Api, req: UpdateCase) -> R<Case> {
    api.with(|reg| Ok(reg.update_case(&req.name, &req.suite, &req.case_id, req.case)?))
}

pub fn remove_case(api: &Api, req: CaseRef) -> R<SuiteDetail> {
    api.with(|reg| {
        reg.remove_case(&req.name, &req.suite, &req.case_id)?;
        Ok(reg.suite(&req.name, &req.suite)?)
    })
}

pub fn parse_assertion(_: &Api, req: ParseAssertion) -> R<Assertion> {
    parse_short(&req.text).map_err(ApiError::bad_input)
}

pub fn list_providers(api: &Api, _: NoArgs) -> R<Vec<ProviderInfo>> {
    let (providers, person) = api.with(|reg| Ok((reg.providers()?, reg.actor().to_string())))?;
    let store = api.key_store().map(|(s, _)| s);
    Ok(providers
        .into_iter()
        .map(|p| {
            let key_from_env = eval_run::key_env_vars(&p)
                .iter()
                .any(|v| std::env::var(v).is_ok_and(|k| !k.trim().is_empty()));
            let (key_kept, key_problem) = match &store {
                Ok(s) => match s.provider_key(&p.name, &p.base_url, &person) {
                    Ok(k) => (k.is_some(), None),
                    Err(e) => (false, Some(e.to_string())),
                },
                Err(e) => (false, Some(e.message.clone())),
            };
            ProviderInfo {
                settings: p,
                key_kept,
                key_from_env,
                key_problem,
            }
        })
        .collect())
}

pub fn set_provider(api: &Api, req: SetProvider) -> R<Vec<ProviderInfo>> {
    let person = api.with(|reg| {
        reg.set_provider(req.provider.clone())?;
        Ok(reg.actor().to_string())
    })?;
    let saved = api.with(|reg| Ok(reg.provider(&req.provider.name)?))?;
    let wants_key = req.api_key.as_deref().is_some_and(|k| !k.trim().is_empty());
    if wants_key || req.forget_key.unwrap_or(false) {
        let (store, _) = api.key_store()?;
        if req.forget_key.unwrap_or(false) {
            store
                .forget_provider_key(&saved.name, &saved.base_url, &person)
                .map_err(|e| ApiError::bad_input(e.to_string()))?;
        }
        if let Some(key) = req.api_key.as_deref().filter(|k| !k.trim().is_empty()) {
            store
                .set_provider_key(&saved.name, &saved.base_url, &person, key.trim())
                .map_err(|e| ApiError::bad_input(e.to_string()))?;
        }
    }
    list_providers(api, NoArgs {})
}

pub fn remove_provider(api: &Api, req: PromptName) -> R<Vec<ProviderInfo>> {
    api.with(|reg| {
        reg.remove_provider(&req.name)?;
        Ok(())
    })?;
    list_providers(api, NoArgs {})
}

/// Starts a run in the background and answers with it at once.
pub fn start_eval(api: &Api, req: StartEval) -> R<EvalRun> {
    let request = RunRequest {
        prompt: req.name.clone(),
        version: reference(&req.version)?,
        suite: req.suite.clone(),
        model: req.model.clone(),
        concurrency: req.concurrency.unwrap_or(8).clamp(1, 64) as usize,
    };
    let keys = api.key_store().ok().map(|(s, _)| s);
    let prepared = {
        let mut guard = api.reg()?;
        let reg = match &mut *guard {
            Ok(reg) => reg,
            Err(e) => return Err(e.clone()),
        };
        let mut worker = lock(&api.worker);
        eval_run::prepare(reg, &mut worker, keys.as_ref(), &request)?
    };
    let run = prepared.run.clone();
    let cancel = CancellationToken::new();
    let progress = Arc::new(Mutex::new(None));
    lock(&api.evals).insert(
        run.id.clone(),
        LiveRun {
            cancel: cancel.clone(),
            progress: progress.clone(),
        },
    );
    let live = api.evals_handle();
    let id = run.id.clone();
    std::thread::Builder::new()
        .name(format!("eval {}", &id[..8.min(id.len())]))
        .spawn(move || {
            let shown = progress.clone();
            let outcome = eval_run::execute(prepared, move |p| *lock(&shown) = Some(p), cancel);
            if let Err(e) = outcome {
                eprintln!("promptdesk: eval run {id}: {}", e.message);
            }
            lock(&live).remove(&id);
        })
        .map_err(|e| ApiError::internal(format!("could not start the eval run: {e}")))?;
    Ok(run)
}

pub fn eval_status(api: &Api, req: RunId) -> R<EvalProgress> {
    let run = api.with(|reg| Ok(reg.eval_run(&req.run_id)?))?;
    let evals = lock(&api.evals);
    let live = evals.get(&req.run_id);
    let progress = live.and_then(|l| *lock(&l.progress));
    Ok(EvalProgress {
        live: live.is_some() && run.status == RunStatus::Running,
        in_flight: progress.map_or(0, |p| p.in_flight as u32),
        retries: progress.map_or(0, |p| p.retries as u32),
        cancelling: live.is_some_and(|l| l.cancel.is_cancelled()),
        run,
    })
}

/// Stops a run going on here; a `running` run nobody is running (the app was closed during
/// it) is marked cancelled.
pub fn cancel_eval(api: &Api, req: RunId) -> R<EvalProgress> {
    let live = lock(&api.evals).get(&req.run_id).map(|l| l.cancel.clone());
    match live {
        Some(cancel) => cancel.cancel(),
        None => {
            api.with(|reg| {
                let run = reg.eval_run(&req.run_id)?;
                if run.status == RunStatus::Running {
                    reg.finish_run(
                        &req.run_id,
                        RunStatus::Cancelled,
                        Some("cut off: no process was running it"),
                    )?;
                }
                Ok(())
            })?;
        }
    }
    eval_status(api, req)
}

pub fn list_runs(api: &Api, req: ListRuns) -> R<Vec<EvalRun>> {
    let version = req.version.as_deref().map(reference).transpose()?;
    api.with(|reg| {
        Ok(reg.eval_runs(
            &req.name,
            req.suite.as_deref(),
            version.as_ref(),
            req.limit.unwrap_or(50).clamp(1, 500) as usize,
        )?)
    })
}

pub fn run_results(api: &Api, req: RunResults) -> R<Vec<promptdesk_core::eval::CaseResult>> {
    api.with(|reg| Ok(reg.run_results(&req.run_id, req.only_failures.unwrap_or(false))?))
}

pub fn compare_versions(api: &Api, req: CompareVersions) -> R<Comparison> {
    let refs = req
        .versions
        .iter()
        .map(|v| reference(v))
        .collect::<R<Vec<_>>>()?;
    api.with(|reg| Ok(reg.compare(&req.name, &refs, &req.suite)?))
}

pub fn rate_output(api: &Api, req: RateOutput) -> R<Rating> {
    let version = reference(&req.version)?;
    api.with(|reg| {
        Ok(reg.rate_output(
            &req.name,
            &version,
            &req.case_id,
            &req.rating,
            req.comment.as_deref().unwrap_or(""),
        )?)
    })
}

pub fn version_evals(api: &Api, req: GetVersion) -> R<VersionEvals> {
    let version = reference(&req.reference)?;
    api.with(|reg| Ok(reg.version_evals(&req.name, &version)?))
}
