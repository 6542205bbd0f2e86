//! Eval runs: starting one, recording each case's outcome as it arrives, finishing, reading
//! runs and results back, the reply cache, ratings, comparisons, and the evidence the release
//! gate weighs.

use std::collections::BTreeMap;

use promptdesk_content::{sha256_hex, write_canonical, ModelSettings, Rendered};
use promptdesk_diff::{diff_text, DiffOptions};
use rusqlite::Connection;
use serde_json::{json, Value};

use super::assertions::{case_score, check_all, Observation};
use super::suites::{cases, require_suite};
use super::{
    case_label, CaseInput, CaseResult, Comparison, ComparisonCell, ComparisonColumn, ComparisonRow,
    EvalRun, Outcome, PreparedRun, Rating, ReplyFacts, RunStatus, VersionEvals,
};
use super::{settings_hash, suite_hash};
use crate::error::{Error, Result};
use crate::model::Version;
use crate::policy::{SuiteRequirement, SuiteResult};
use crate::refs::Ref;
use crate::registry::{resolve_version, Registry};
use crate::store::eval_cache::{self, CacheRow};
use crate::store::eval_runs::{self, ResultRow, RunRow, RunView, Tally};
use crate::store::ratings::{self, RatingRow};
use crate::store::{labels, prompts, suites, versions};

/// The version's model settings with an override applied: a non-empty provider or model
/// replaces the version's, parameters are merged (the override's win).
pub fn effective_model(own: &ModelSettings, over: Option<&ModelSettings>) -> ModelSettings {
    let mut m = own.clone();
    if let Some(o) = over {
        if !o.provider.is_empty() {
            m.provider = o.provider.clone();
        }
        if !o.model.is_empty() {
            m.model = o.model.clone();
        }
        for (k, v) in &o.parameters {
            m.parameters.insert(k.clone(), v.clone());
        }
    }
    m
}

/// The cache key of one call: the version hash, the model settings and the rendered input.
pub fn cache_key(version_hash: &str, model: &ModelSettings, input: &Rendered) -> String {
    let mut bytes = Vec::new();
    write_canonical(
        &json!({"version": version_hash, "model": model, "input": input}),
        &mut bytes,
    );
    sha256_hex(&bytes)
}

/// A stored run as the app shows it (whether its suite changed since is the caller's to say),
/// and its suite's id.
fn run_of(view: RunView) -> (EvalRun, String) {
    let RunView {
        run: r,
        prompt,
        version,
        version_content,
        suite,
    } = view;
    let model: ModelSettings = serde_json::from_str(&r.model).unwrap_or_default();
    let own_settings = serde_json::from_str::<Value>(&version_content)
        .ok()
        .and_then(|c| c.get("model").cloned())
        .and_then(|m| serde_json::from_value::<ModelSettings>(m).ok())
        .is_some_and(|m| super::settings_hash(&m) == r.settings_hash);
    let RunRow {
        total,
        done,
        passed,
        errored,
        ..
    } = r;
    (
        EvalRun {
            id: r.id,
            prompt,
            version,
            version_hash: r.version_hash,
            suite,
            suite_hash: r.suite_hash,
            suite_changed: false,
            model,
            settings_hash: r.settings_hash,
            own_settings,
            status: RunStatus::parse(&r.status),
            total,
            done,
            passed,
            failed: done.saturating_sub(passed).saturating_sub(errored),
            errored,
            cached: r.cached,
            pass_rate: if total == 0 {
                0.0
            } else {
                f64::from(passed) / f64::from(total)
            },
            score: if done == 0 {
                0.0
            } else {
                r.score_sum / f64::from(done)
            },
            tokens_in: r.tokens_in,
            tokens_out: r.tokens_out,
            cost: r.cost,
            mean_latency_ms: if done == 0 {
                0
            } else {
                r.latency_ms / u64::from(done)
            },
            started_by: r.started_by,
            started_at: r.started_at,
            finished_at: r.finished_at,
            error: r.error,
        },
        r.suite_id,
    )
}

/// Marks runs whose suite changed since they began.
fn with_current_hash(conn: &Connection, mut run: EvalRun, suite_id: &str) -> Result<EvalRun> {
    run.suite_changed = suite_hash(&cases(conn, suite_id)?) != run.suite_hash;
    Ok(run)
}

/// Runs of a prompt, newest first, of one suite and one version when given; each says whether
/// its suite changed since it began.
fn query_runs(
    conn: &Connection,
    prompt_id: i64,
    suite_id: Option<&str>,
    version_hash: Option<&str>,
) -> Result<Vec<EvalRun>> {
    let mut hashes: BTreeMap<String, String> = BTreeMap::new();
    let mut out = Vec::new();
    for view in eval_runs::views(conn, prompt_id, suite_id, version_hash)? {
        let (mut run, suite_id) = run_of(view);
        let current = match hashes.get(&suite_id) {
            Some(h) => h.clone(),
            None => {
                let h = suite_hash(&cases(conn, &suite_id)?);
                hashes.insert(suite_id.clone(), h.clone());
                h
            }
        };
        run.suite_changed = current != run.suite_hash;
        out.push(run);
    }
    Ok(out)
}

pub(crate) fn get_run(conn: &Connection, id: &str) -> Result<EvalRun> {
    let (run, suite_id) = run_and_suite(conn, id)?;
    with_current_hash(conn, run, &suite_id)
}

fn run_and_suite(conn: &Connection, id: &str) -> Result<(EvalRun, String)> {
    let view = eval_runs::view(conn, id)?
        .ok_or_else(|| Error::NotFound(format!("there is no eval run {id}")))?;
    Ok(run_of(view))
}

/// A run without checking whether its suite changed since (that reads every case of the suite:
/// the writes of a run, which never need it, skip it).
fn get_run_unchecked(conn: &Connection, id: &str) -> Result<EvalRun> {
    Ok(run_and_suite(conn, id)?.0)
}

fn result_of(x: ResultRow) -> CaseResult {
    let case: CaseInput = serde_json::from_str(&x.test_case).unwrap_or_default();
    CaseResult {
        case_id: x.case_id,
        position: x.position,
        label: case_label(x.position, &case.description, &case.vars),
        case,
        input: x.input.and_then(|i| serde_json::from_str(&i).ok()),
        output: x.output,
        error: x.error,
        passed: x.passed,
        score: x.score,
        checks: serde_json::from_str(&x.checks).unwrap_or_default(),
        latency_ms: x.latency_ms,
        tokens_in: x.tokens_in,
        tokens_out: x.tokens_out,
        cost: x.cost,
        cached: x.cached,
        attempts: x.attempts,
        at: x.at,
    }
}

fn results_of(conn: &Connection, run_id: &str) -> Result<Vec<CaseResult>> {
    results_where(conn, run_id, false)
}

fn results_where(conn: &Connection, run_id: &str, only_failures: bool) -> Result<Vec<CaseResult>> {
    Ok(eval_runs::results(conn, run_id, only_failures)?
        .into_iter()
        .map(result_of)
        .collect())
}

fn output_hash(output: &str) -> String {
    sha256_hex(output.as_bytes())
}

impl Registry {
    /// Records a new run of `suite` on a version and returns it with its cases. The model is
    /// the version's own unless overridden; a run needs a provider and a model.
    pub fn start_run(
        &mut self,
        prompt: &str,
        reference: Option<&Ref>,
        suite: &str,
        model_override: Option<&ModelSettings>,
    ) -> Result<PreparedRun> {
        self.write(|tx, ctx| {
            let version = resolve_version(tx, prompt, reference)?;
            let row = require_suite(tx, prompt, suite)?;
            let cases = cases(tx, &row.id)?;
            if cases.is_empty() {
                return Err(Error::bad(format!(
                    "test suite {suite} of '{prompt}' has no cases yet; add some first"
                )));
            }
            let model = effective_model(&version.content.model, model_override);
            if model.provider.is_empty() || model.model.is_empty() {
                return Err(Error::bad(format!(
                    "{prompt}@{} has no model set (provider {:?}, model {:?}); set one in the \
                     version's model settings or choose one for this run (--model provider/model)",
                    version.number, model.provider, model.model
                )));
            }
            let id = ctx.new_id();
            let hash = suite_hash(&cases);
            eval_runs::insert(
                tx,
                &RunRow {
                    id: id.clone(),
                    prompt_id: row.prompt_id,
                    version_hash: version.hash.clone(),
                    suite_id: row.id.clone(),
                    suite_hash: hash,
                    model: serde_json::to_string(&model).expect("model serialises"),
                    settings_hash: settings_hash(&model),
                    status: RunStatus::Running.as_str().to_string(),
                    total: cases.len() as u32,
                    done: 0,
                    passed: 0,
                    errored: 0,
                    cached: 0,
                    score_sum: 0.0,
                    tokens_in: 0,
                    tokens_out: 0,
                    cost: None,
                    latency_ms: 0,
                    started_by: ctx.actor.to_string(),
                    started_at: ctx.at.clone(),
                    finished_at: None,
                    error: None,
                },
            )?;
            let run = get_run_unchecked(tx, &id)?;
            Ok(PreparedRun {
                run,
                version,
                cases,
            })
        })
    }

    /// A reply stored under this cache key by an earlier run.
    pub fn cached_reply(&self, key: &str) -> Result<Option<ReplyFacts>> {
        Ok(
            eval_cache::get(self.connection(), key)?.map(|c| ReplyFacts {
                output: c.output,
                tokens_in: c.tokens_in,
                tokens_out: c.tokens_out,
                latency_ms: c.latency_ms,
                cost: c.cost,
                finish_reason: c.finish_reason,
            }),
        )
    }

    /// Checks one case's outcome against its assertions and stores it (and a fresh reply in
    /// the cache), in one transaction. Recording a case twice keeps the first.
    pub fn record_result(&mut self, run_id: &str, outcome: Outcome) -> Result<CaseResult> {
        let case = &outcome.case;
        let (output, error, checks, passed, score) = match &outcome.reply {
            Ok(reply) => {
                let expected = case.expected.as_deref();
                let obs = Observation {
                    output: &reply.output,
                    expected,
                    latency_ms: reply.latency_ms,
                    cost: reply.cost,
                    rubric_verdicts: &outcome.rubric_verdicts,
                };
                let checks = check_all(&case.assertions, &obs);
                let (passed, score) = case_score(&case.assertions, &checks);
                (Some(reply.output.clone()), None, checks, passed, score)
            }
            Err(e) => (None, Some(e.clone()), Vec::new(), false, 0.0),
        };
        let facts = outcome.reply.as_ref().ok();
        let snapshot = CaseInput {
            description: case.description.clone(),
            vars: case.vars.clone(),
            expected: case.expected.clone(),
            assertions: case.assertions.clone(),
            tags: case.tags.clone(),
        };
        self.write(|tx, ctx| {
            let status = eval_runs::status(tx, run_id)?;
            match status.as_deref() {
                None => return Err(Error::NotFound(format!("there is no eval run {run_id}"))),
                Some("running") => {}
                Some(s) => {
                    return Err(Error::Conflict(format!(
                        "eval run {run_id} is {s}; it takes no more results"
                    )))
                }
            }
            let inserted = eval_runs::insert_result_if_new(
                tx,
                &ResultRow {
                    run_id: run_id.to_string(),
                    case_id: case.id.clone(),
                    position: case.position,
                    test_case: serde_json::to_string(&snapshot).expect("case serialises"),
                    input: outcome
                        .input
                        .as_ref()
                        .map(|i| serde_json::to_string(i).expect("input serialises")),
                    output,
                    error,
                    passed,
                    score,
                    checks: serde_json::to_string(&checks).expect("checks serialise"),
                    latency_ms: facts.map_or(0, |f| f.latency_ms),
                    tokens_in: facts.map_or(0, |f| f.tokens_in),
                    tokens_out: facts.map_or(0, |f| f.tokens_out),
                    cost: facts.and_then(|f| f.cost),
                    cached: outcome.cached,
                    attempts: outcome.attempts,
                    at: ctx.at.clone(),
                },
            )?;
            if inserted {
                eval_runs::add_to_totals(
                    tx,
                    run_id,
                    &Tally {
                        passed,
                        errored: facts.is_none(),
                        cached: outcome.cached,
                        score,
                        tokens_in: facts.map_or(0, |f| f.tokens_in),
                        tokens_out: facts.map_or(0, |f| f.tokens_out),
                        // A cached reply cost nothing this time.
                        cost: facts.and_then(|f| f.cost).filter(|_| !outcome.cached),
                        latency_ms: facts.map_or(0, |f| f.latency_ms),
                    },
                )?;
                if let (Some(f), Some(key), false) = (facts, &outcome.cache_key, outcome.cached) {
                    eval_cache::put(
                        tx,
                        &CacheRow {
                            key: key.clone(),
                            output: f.output.clone(),
                            tokens_in: f.tokens_in,
                            tokens_out: f.tokens_out,
                            latency_ms: f.latency_ms,
                            cost: f.cost,
                            finish_reason: f.finish_reason.clone(),
                            created_at: ctx.at.clone(),
                        },
                    )?;
                }
            }
            let stored = eval_runs::result(tx, run_id, &case.id)?.ok_or_else(|| {
                Error::Integrity(format!(
                    "eval run {run_id} lost its result for case {}",
                    case.id
                ))
            })?;
            Ok(result_of(stored))
        })
    }

    /// Ends a run (completed, cancelled or failed) and writes its summary to the ledger.
    pub fn finish_run(
        &mut self,
        run_id: &str,
        status: RunStatus,
        error: Option<&str>,
    ) -> Result<EvalRun> {
        if status == RunStatus::Running {
            return Err(Error::bad(
                "a run finishes as completed, cancelled or failed",
            ));
        }
        self.write(|tx, ctx| {
            let run = get_run_unchecked(tx, run_id)?;
            if run.status != RunStatus::Running {
                return Ok(run);
            }
            // A run that did not get through every case is not complete, whatever the caller
            // thought: the gate must never count a partial run.
            let status = if status == RunStatus::Completed && run.done < run.total {
                RunStatus::Failed
            } else {
                status
            };
            eval_runs::finish(tx, run_id, status.as_str(), &ctx.at, error)?;
            let run = get_run_unchecked(tx, run_id)?;
            ctx.event(
                tx,
                "eval.finished",
                &run.prompt,
                json!({"run": run.id, "suite": run.suite, "version": run.version,
                       "version_hash": run.version_hash, "suite_hash": run.suite_hash,
                       "model": run.model, "status": run.status, "total": run.total,
                       "passed": run.passed, "failed": run.failed, "errored": run.errored,
                       "cached": run.cached, "pass_rate": run.pass_rate, "score": run.score,
                       "tokens_in": run.tokens_in, "tokens_out": run.tokens_out,
                       "cost": run.cost, "error": error}),
            )?;
            Ok(run)
        })
    }

    pub fn eval_run(&self, id: &str) -> Result<EvalRun> {
        get_run(self.connection(), id)
    }

    /// Runs of a prompt, newest first; of one suite and one version when given.
    pub fn eval_runs(
        &self,
        prompt: &str,
        suite: Option<&str>,
        version: Option<&Ref>,
        limit: usize,
    ) -> Result<Vec<EvalRun>> {
        let conn = self.connection();
        let p = prompts::get(conn, prompt)?;
        let hash = match version {
            Some(r) => Some(resolve_version(conn, prompt, Some(r))?.hash),
            None => None,
        };
        let suite_id = match suite {
            Some(name) => match suites::find(conn, p.id, name)? {
                Some(s) => Some(s.id),
                None => return Ok(Vec::new()),
            },
            None => None,
        };
        let mut runs = query_runs(conn, p.id, suite_id.as_deref(), hash.as_deref())?;
        runs.truncate(limit);
        Ok(runs)
    }

    /// A run's case results in case order; only the failed ones (and errors) when asked.
    pub fn run_results(&self, run_id: &str, only_failures: bool) -> Result<Vec<CaseResult>> {
        let conn = self.connection();
        get_run_unchecked(conn, run_id)?;
        results_where(conn, run_id, only_failures)
    }

    /// Rates a version's output for a case (from its latest run that has the case).
    pub fn rate_output(
        &mut self,
        prompt: &str,
        version: &Ref,
        case_id: &str,
        rating: &str,
        comment: &str,
    ) -> Result<Rating> {
        if rating != "good" && rating != "bad" {
            return Err(Error::bad(format!(
                "a rating is good or bad (got {rating:?})"
            )));
        }
        if rating == "bad" && comment.trim().is_empty() {
            return Err(Error::bad(
                "say what is wrong with the output: a bad rating needs a comment",
            ));
        }
        self.write(|tx, ctx| {
            let v = resolve_version(tx, prompt, Some(version))?;
            let p = prompts::get(tx, prompt)?;
            let found = eval_runs::latest_result(tx, p.id, &v.hash, case_id)?
                .map(|x| (x.run_id, x.output, x.test_case, x.position));
            let (run_id, output, case_json, position) = found.ok_or_else(|| {
                Error::NotFound(format!(
                    "{prompt}@{} has no output for case {case_id} to rate: run the suite on it first",
                    v.number
                ))
            })?;
            let output = output.ok_or_else(|| {
                Error::bad(format!(
                    "{prompt}@{} produced no output for case {case_id} (the call failed); \
                     there is nothing to rate",
                    v.number
                ))
            })?;
            let case: CaseInput = serde_json::from_str(&case_json).unwrap_or_default();
            let id = ctx.new_id();
            let hash = output_hash(&output);
            ratings::insert(
                tx,
                &RatingRow {
                    id: id.clone(),
                    prompt_id: p.id,
                    version_hash: v.hash.clone(),
                    case_id: case_id.to_string(),
                    run_id: Some(run_id.clone()),
                    output_hash: hash.clone(),
                    rating: rating.to_string(),
                    comment: comment.trim().to_string(),
                    rated_by: ctx.actor.to_string(),
                    rated_at: ctx.at.clone(),
                },
            )?;
            ctx.event(
                tx,
                "output.rated",
                prompt,
                json!({"id": id, "version": v.number, "version_hash": v.hash, "case": case_id,
                       "run": run_id, "output_hash": hash, "rating": rating,
                       "comment": comment.trim()}),
            )?;
            Ok(Rating {
                id,
                version: v.number,
                version_hash: v.hash,
                case_id: case_id.to_string(),
                case_label: case_label(position, &case.description, &case.vars),
                run_id: Some(run_id),
                output_hash: hash,
                rating: rating.to_string(),
                comment: comment.trim().to_string(),
                rated_by: ctx.actor.to_string(),
                rated_at: ctx.at.clone(),
            })
        })
    }

    /// Each person's latest rating of each case's output of one version.
    pub fn ratings(&self, prompt: &str, version: &Ref) -> Result<Vec<Rating>> {
        let conn = self.connection();
        let v = resolve_version(conn, prompt, Some(version))?;
        let p = prompts::get(conn, prompt)?;
        ratings_of(conn, p.id, &v)
    }

    /// What a review shows of a version's evals: the latest run of each suite on it and the
    /// ratings of its outputs.
    pub fn version_evals(&self, prompt: &str, version: &Ref) -> Result<VersionEvals> {
        let conn = self.connection();
        let v = resolve_version(conn, prompt, Some(version))?;
        let p = prompts::get(conn, prompt)?;
        let all = query_runs(conn, p.id, None, Some(&v.hash))?;
        let mut seen = std::collections::BTreeSet::new();
        let runs: Vec<EvalRun> = all
            .into_iter()
            .filter(|r| seen.insert((r.suite.clone(), r.settings_hash.clone())))
            .collect();
        let ratings = ratings_of(conn, p.id, &v)?;
        Ok(VersionEvals {
            good: ratings.iter().filter(|r| r.rating == "good").count() as u32,
            bad: ratings.iter().filter(|r| r.rating == "bad").count() as u32,
            runs,
            ratings,
        })
    }

    /// Versions × cases of a suite, each version shown by its latest run of the suite (running
    /// ones included, so a comparison fills in as results arrive). Diffs are against the
    /// first version given.
    pub fn compare(&self, prompt: &str, refs: &[Ref], suite: &str) -> Result<Comparison> {
        let conn = self.connection();
        if refs.is_empty() {
            return Err(Error::bad("name at least one version to compare"));
        }
        let p = prompts::get(conn, prompt)?;
        let row = require_suite(conn, prompt, suite)?;
        let current = cases(conn, &row.id)?;
        let all_labels = labels::list(conn, p.id)?;
        let mut columns = Vec::new();
        let mut results: Vec<BTreeMap<String, CaseResult>> = Vec::new();
        let mut ratings: Vec<Vec<Rating>> = Vec::new();
        for r in refs {
            let v = resolve_version(conn, prompt, Some(r))?;
            if columns
                .iter()
                .any(|c: &ComparisonColumn| c.version_hash == v.hash)
            {
                continue;
            }
            let run = query_runs(conn, p.id, Some(&row.id), Some(&v.hash))?
                .into_iter()
                .next();
            let by_case = match &run {
                Some(run) => results_of(conn, &run.id)?
                    .into_iter()
                    .map(|r| (r.case_id.clone(), r))
                    .collect(),
                None => BTreeMap::new(),
            };
            results.push(by_case);
            ratings.push(ratings_of(conn, p.id, &v)?);
            columns.push(ComparisonColumn {
                version: v.number,
                version_hash: v.hash.clone(),
                labels: all_labels
                    .iter()
                    .filter(|l| l.hash == v.hash)
                    .map(|l| l.name.clone())
                    .collect(),
                run,
            });
        }
        let opts = DiffOptions::default();
        let mut rows = Vec::with_capacity(current.len());
        for case in &current {
            let base = results[0].get(&case.id).and_then(|r| r.output.clone());
            let mut cells = Vec::with_capacity(columns.len());
            for (i, by_case) in results.iter().enumerate() {
                cells.push(by_case.get(&case.id).map(|r| {
                    ComparisonCell {
                        output: r.output.clone(),
                        error: r.error.clone(),
                        passed: r.passed,
                        score: r.score,
                        checks: r.checks.clone(),
                        latency_ms: r.latency_ms,
                        cached: r.cached,
                        diff: match (i, &base, &r.output) {
                            (0, _, _) => None,
                            (_, Some(b), Some(o)) => Some(diff_text(b, o, &opts)),
                            _ => None,
                        },
                        ratings: ratings[i]
                            .iter()
                            .filter(|x| x.case_id == case.id)
                            .cloned()
                            .collect(),
                    }
                }));
            }
            // Differences between outputs that exist: a version that has not run this case
            // is unknown, not different.
            let outputs: Vec<&String> = cells
                .iter()
                .filter_map(|c| c.as_ref().and_then(|c| c.output.as_ref()))
                .collect();
            let differs = outputs.windows(2).any(|w| w[0] != w[1]);
            let has_failure = cells.iter().any(|c| c.as_ref().is_some_and(|c| !c.passed));
            rows.push(ComparisonRow {
                case_id: case.id.clone(),
                label: case.label(),
                vars: case.vars.clone(),
                expected: case.expected.clone(),
                cells,
                differs,
                has_failure,
            });
        }
        Ok(Comparison {
            prompt: prompt.to_string(),
            suite: suite.to_string(),
            columns,
            rows,
        })
    }
}

/// The ratings that count for a version (each person's latest of each case), in case order.
fn ratings_of(conn: &Connection, prompt_id: i64, v: &Version) -> Result<Vec<Rating>> {
    Ok(ratings::current(conn, prompt_id, &v.hash)?
        .into_iter()
        .map(|c| {
            let r = c.rating;
            Rating {
                id: r.id,
                version: v.number,
                version_hash: v.hash.clone(),
                case_id: r.case_id,
                case_label: match c.case {
                    Some(case) => case_label(
                        case.position,
                        &case.description,
                        &serde_json::from_str(&case.vars).unwrap_or_default(),
                    ),
                    None => "(a case since removed)".into(),
                },
                run_id: r.run_id,
                output_hash: r.output_hash,
                rating: r.rating,
                comment: r.comment,
                rated_by: r.rated_by,
                rated_at: r.rated_at,
            }
        })
        .collect())
}

/// At most this many case names in a gate message.
const LISTED: usize = 10;

fn list_cases(labels: &[String]) -> String {
    let mut s = labels
        .iter()
        .take(LISTED)
        .cloned()
        .collect::<Vec<_>>()
        .join("; ");
    if labels.len() > LISTED {
        s.push_str(&format!("; and {} more", labels.len() - LISTED));
    }
    s
}

/// The latest complete run of the suite on this exact content with the version's own model
/// settings, of the suite as it is now.
fn gate_run(
    conn: &Connection,
    prompt_id: i64,
    suite_id: &str,
    version: &Version,
) -> Result<Option<EvalRun>> {
    let settings = settings_hash(&version.content.model);
    let runs = query_runs(conn, prompt_id, Some(suite_id), Some(&version.hash))?;
    Ok(runs
        .into_iter()
        .find(|r| r.settings_hash == settings && r.status == RunStatus::Completed))
}

/// What the release gate weighs for `version` going to `label` under `req`: the pass rate of
/// its latest complete run of the current suite, the failing cases, and (when the policy asks
/// for no regressions) the cases that pass on what the label serves now and fail here.
pub(crate) fn gate_evidence(
    conn: &Connection,
    version: &Version,
    label: &str,
    req: &SuiteRequirement,
) -> Result<SuiteResult> {
    let p = prompts::get(conn, &version.prompt)?;
    let mut result = SuiteResult {
        suite: req.suite.clone(),
        content_hash: version.hash.clone(),
        ..SuiteResult::default()
    };
    let name = &version.prompt;
    let Some(row) = suites::find(conn, p.id, &req.suite)? else {
        result.problem = Some(format!(
            "{name} has no test suite named {}; add it (with its cases) before releasing to {label}",
            req.suite
        ));
        return Ok(result);
    };
    let Some(run) = gate_run(conn, p.id, &row.id, version)? else {
        let any = query_runs(conn, p.id, Some(&row.id), Some(&version.hash))?;
        let own = settings_hash(&version.content.model);
        result.problem = Some(match any.first() {
            None => format!(
                "test suite {} has not run on version {} (`promptdesk eval {name}@{} --suite {}`)",
                req.suite, version.number, version.number, req.suite
            ),
            Some(r) if r.status == RunStatus::Running => format!(
                "test suite {} is still running on version {}",
                req.suite, version.number
            ),
            Some(r) if r.settings_hash != own && any.iter().all(|r| r.settings_hash != own) => {
                format!(
                    "test suite {} ran on version {} only with other model settings ({}/{}); \
                     the gate counts a run with the version's own settings",
                    req.suite, version.number, r.model.provider, r.model.model
                )
            }
            Some(r) => format!(
                "test suite {} has no complete run on version {} (the last one was {})",
                req.suite,
                version.number,
                r.status.as_str()
            ),
        });
        return Ok(result);
    };
    if run.suite_changed {
        result.problem = Some(format!(
            "test suite {} changed since it last ran on version {} (run {}); run it again",
            req.suite,
            version.number,
            short(&run.id)
        ));
        result.run_id = Some(run.id);
        return Ok(result);
    }
    let results = results_of(conn, &run.id)?;
    let failing: Vec<(String, String)> = results
        .iter()
        .filter(|r| !r.passed)
        .map(|r| (r.case_id.clone(), r.label.clone()))
        .collect();
    // Where its verdicts come from: checks on the outputs anyone can run again, or what the
    // runner recorded (a grader model's verdict, the latency and cost it measured).
    for r in results.iter().filter(|r| r.output.is_some()) {
        for a in &r.case.assertions {
            if a.kind.is_deterministic() {
                result.rerun_checks += 1;
            } else {
                result.recorded_checks += 1;
            }
        }
    }
    result.ran_by = Some(run.started_by.clone());
    result.pass_rate = run.pass_rate;
    result.passed = run.passed;
    result.total = run.total;
    result.failing = failing.iter().map(|(_, l)| l.clone()).collect();
    result.run_id = Some(run.id.clone());
    if req.no_regressions {
        if let Some(serving) = labels::get(conn, p.id, label)? {
            if serving.hash != version.hash {
                let base = versions::by_hash(conn, p.id, &serving.hash)?
                    .ok_or_else(|| {
                        Error::Integrity(format!("{label} points at a missing version"))
                    })?
                    .parse(name)?;
                match gate_run(conn, p.id, &row.id, &base)? {
                    Some(b) if !b.suite_changed => {
                        let failing_ids: std::collections::BTreeSet<&str> =
                            failing.iter().map(|(id, _)| id.as_str()).collect();
                        result.regressions = results_of(conn, &b.id)?
                            .into_iter()
                            .filter(|r| r.passed && failing_ids.contains(r.case_id.as_str()))
                            .map(|r| r.label)
                            .collect();
                        result.baseline_run = Some(b.id);
                        result.baseline_version = Some(base.number);
                    }
                    _ => {
                        result.problem = Some(format!(
                            "no regressions is required, and test suite {} has no complete run \
                             of its current cases on version {} ({label} now) to compare with \
                             (`promptdesk eval {name}@{} --suite {}`)",
                            req.suite, base.number, base.number, req.suite
                        ));
                    }
                }
            }
        }
    }
    Ok(result)
}

fn short(id: &str) -> &str {
    &id[..id.len().min(8)]
}

/// The failing cases as a gate message lists them (the first ten, then how many more).
pub fn listed_cases(labels: &[String]) -> String {
    list_cases(labels)
}
