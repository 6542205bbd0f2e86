//! Eval runs as they sync, and the evidence a registry server can check again from them.
//!
//! A finished run travels as one record ([`EvalRunRecord`]: the run and every case's outcome),
//! so reviewers on other machines see the same outputs, and so a server can decide a gated
//! release from what it holds instead of from the numbers a releaser sends. [`recheck`] is that
//! decision's core: given the suite's cases as the server has them now, it verifies that a run
//! is of exactly this content, these model settings and these cases, and recomputes every
//! verdict — re-running each deterministic assertion on the stored output.
//!
//! What cannot be checked again is taken as its runner recorded it, and counted as such: the
//! outputs themselves (the model's answers), model-graded rubric verdicts, and the latency and
//! cost a runner measured.

use rusqlite::{params, Connection, OptionalExtension};
use serde_json::Value;

use super::assertions::{case_score, check_all, Observation};
use super::{Case, CaseInput, Check, RubricVerdict};
use crate::error::{Error, Result};
use crate::sync::records::{EvalResultRecord, EvalRunRecord};

/// A finished run of this registry as the record that syncs it.
pub(crate) fn run_record(conn: &Connection, run_id: &str) -> Result<Value> {
    let run = conn
        .query_row(
            "SELECT suite_id, version_hash, suite_hash, model, settings_hash, status, total,
                    started_by, started_at, finished_at, error
             FROM eval_runs WHERE id = ?1",
            [run_id],
            |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, String>(3)?,
                    r.get::<_, String>(4)?,
                    r.get::<_, String>(5)?,
                    r.get::<_, u32>(6)?,
                    r.get::<_, String>(7)?,
                    r.get::<_, String>(8)?,
                    r.get::<_, Option<String>>(9)?,
                    r.get::<_, Option<String>>(10)?,
                ))
            },
        )
        .optional()?
        .ok_or_else(|| Error::NotFound(format!("there is no eval run {run_id}")))?;
    let mut stmt = conn.prepare_cached(
        "SELECT case_id, position, test_case, output, error, passed, score, checks, latency_ms,
                tokens_in, tokens_out, cost, cached, at
         FROM eval_results WHERE run_id = ?1 ORDER BY position, case_id",
    )?;
    let results = stmt
        .query_map([run_id], |r| {
            let json_of = |i: usize| -> rusqlite::Result<Value> {
                let text: String = r.get(i)?;
                Ok(serde_json::from_str(&text).unwrap_or(Value::Null))
            };
            Ok(EvalResultRecord {
                case_id: r.get(0)?,
                position: r.get(1)?,
                test_case: json_of(2)?,
                output: r.get(3)?,
                error: r.get(4)?,
                passed: r.get(5)?,
                score: r.get(6)?,
                checks: json_of(7)?,
                latency_ms: r.get::<_, i64>(8)?.max(0) as u64,
                tokens_in: r.get::<_, i64>(9)?.max(0) as u64,
                tokens_out: r.get::<_, i64>(10)?.max(0) as u64,
                cost: r.get(11)?,
                cached: r.get(12)?,
                at: r.get(13)?,
            })
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    let record = EvalRunRecord {
        suite: run.0,
        version_hash: run.1,
        suite_hash: run.2,
        model: serde_json::from_str(&run.3).unwrap_or(Value::Null),
        settings_hash: run.4,
        status: run.5,
        total: run.6,
        started_by: run.7,
        started_at: run.8,
        finished_at: run.9,
        error: run.10,
        results,
    };
    serde_json::to_value(record).map_err(|e| Error::Integrity(format!("eval run {run_id}: {e}")))
}

/// Records a run pulled from the server, as its runner recorded it. Runs never change once
/// finished: one already here is left as it is.
pub(crate) fn apply_run_record(
    conn: &Connection,
    prompt_id: i64,
    run_id: &str,
    r: &EvalRunRecord,
) -> Result<()> {
    let here: Option<String> = conn
        .query_row(
            "SELECT status FROM eval_runs WHERE id = ?1",
            [run_id],
            |row| row.get(0),
        )
        .optional()?;
    if here.is_some() {
        return Ok(());
    }
    let known = |sql: &str, p: &[&dyn rusqlite::ToSql]| -> Result<bool> {
        Ok(conn.query_row(sql, p, |row| row.get(0))?)
    };
    if !known(
        "SELECT EXISTS (SELECT 1 FROM versions WHERE prompt_id = ?1 AND hash = ?2)",
        &[&prompt_id, &r.version_hash],
    )? {
        return Err(Error::bad(format!(
            "eval run {run_id} is of content {}, which is not a version here",
            r.version_hash
        )));
    }
    if !known(
        "SELECT EXISTS (SELECT 1 FROM suites WHERE id = ?1 AND prompt_id = ?2)",
        &[&r.suite, &prompt_id],
    )? {
        return Err(Error::bad(format!(
            "eval run {run_id} is of test suite {}, which is not here",
            r.suite
        )));
    }
    let done = r.results.len() as i64;
    let passed = r.results.iter().filter(|x| x.passed).count() as i64;
    let errored = r.results.iter().filter(|x| x.output.is_none()).count() as i64;
    let cached = r.results.iter().filter(|x| x.cached).count() as i64;
    let score_sum: f64 = r.results.iter().map(|x| x.score).sum();
    let tokens_in: u64 = r.results.iter().map(|x| x.tokens_in).sum();
    let tokens_out: u64 = r.results.iter().map(|x| x.tokens_out).sum();
    let latency: u64 = r.results.iter().map(|x| x.latency_ms).sum();
    let costs: Vec<f64> = r
        .results
        .iter()
        .filter(|x| !x.cached)
        .filter_map(|x| x.cost)
        .collect();
    let cost = (!costs.is_empty()).then(|| costs.iter().sum::<f64>());
    conn.execute(
        "INSERT INTO eval_runs (id, prompt_id, version_hash, suite_id, suite_hash, model,
             settings_hash, status, total, done, passed, errored, cached, score_sum, tokens_in,
             tokens_out, cost, latency_ms, started_by, started_at, finished_at, error)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18,
                 ?19, ?20, ?21, ?22)",
        params![
            run_id,
            prompt_id,
            r.version_hash,
            r.suite,
            r.suite_hash,
            r.model.to_string(),
            r.settings_hash,
            r.status,
            r.total,
            done,
            passed,
            errored,
            cached,
            score_sum,
            tokens_in as i64,
            tokens_out as i64,
            cost,
            latency as i64,
            r.started_by,
            r.started_at,
            r.finished_at,
            r.error
        ],
    )?;
    let mut insert = conn.prepare_cached(
        "INSERT INTO eval_results (run_id, case_id, position, test_case, input, output, error,
             passed, score, checks, latency_ms, tokens_in, tokens_out, cost, cached, attempts, at)
         VALUES (?1, ?2, ?3, ?4, NULL, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, 0, ?15)",
    )?;
    for x in &r.results {
        insert.execute(params![
            run_id,
            x.case_id,
            x.position,
            x.test_case.to_string(),
            x.output,
            x.error,
            x.passed,
            x.score,
            if x.checks.is_null() {
                "[]".to_string()
            } else {
                x.checks.to_string()
            },
            x.latency_ms as i64,
            x.tokens_in as i64,
            x.tokens_out as i64,
            x.cost,
            x.cached,
            x.at
        ])?;
    }
    Ok(())
}

/// A run's verdicts as a server recomputes them.
#[derive(Debug, Clone, PartialEq)]
pub struct Rechecked {
    /// Cases that pass, by id.
    pub passing: Vec<String>,
    /// Cases that fail, by id and label, in the suite's order.
    pub failing: Vec<(String, String)>,
    /// Verdicts that could not be checked again (model-graded rubrics, latency and cost) and
    /// were taken as the runner recorded them.
    pub taken_as_recorded: u32,
    /// Verdicts of deterministic checks, run again here on the stored outputs.
    pub rerun: u32,
    /// Stored verdicts that the recheck overturned (a runner that claimed a pass, or a fail).
    pub overturned: Vec<String>,
}

/// Checks that `run` is evidence about `version_hash` with `settings_hash` on exactly `cases`
/// (the suite as it is now), and recomputes every case's verdict from the stored outputs. Says
/// what is wrong when the run cannot count.
pub fn recheck(
    run: &EvalRunRecord,
    version_hash: &str,
    settings_hash: &str,
    cases: &[Case],
) -> std::result::Result<Rechecked, String> {
    if run.version_hash != version_hash {
        return Err(format!(
            "the run is of content {}, not of the version being released ({version_hash})",
            run.version_hash
        ));
    }
    if run.status != "completed" {
        return Err(format!("the run is {}, not completed", run.status));
    }
    if run.settings_hash != settings_hash || settings_hash_of(&run.model) != settings_hash {
        return Err(
            "the run used other model settings than the version's own; the gate counts a run \
             with the version's own settings"
                .into(),
        );
    }
    let current = super::suites::suite_hash(cases);
    if run.suite_hash != current {
        return Err(
            "the suite's cases changed since the run (or the run claims cases the server does \
             not have); run it again"
                .into(),
        );
    }
    if run.results.len() != cases.len() {
        return Err(format!(
            "the run has {} results for the suite's {} cases",
            run.results.len(),
            cases.len()
        ));
    }
    let mut out = Rechecked {
        passing: Vec::new(),
        failing: Vec::new(),
        taken_as_recorded: 0,
        rerun: 0,
        overturned: Vec::new(),
    };
    for case in cases {
        let Some(result) = run.results.iter().find(|r| r.case_id == case.id) else {
            return Err(format!("the run has no result for case {}", case.label()));
        };
        let passed = match &result.output {
            None => false,
            Some(output) => {
                let stored: Vec<Check> =
                    serde_json::from_value(result.checks.clone()).unwrap_or_default();
                // Rubric verdicts come from a grader model: the stored ones are all there is.
                let mut rubric = Vec::new();
                for (a, c) in case.assertions.iter().zip(stored.iter()) {
                    if a.kind.is_deterministic() {
                        out.rerun += 1;
                    } else {
                        out.taken_as_recorded += 1;
                        if a.kind.type_name() == "rubric" {
                            rubric.push(RubricVerdict {
                                pass: c.passed != a.not,
                                score: if a.not { 1.0 - c.score } else { c.score },
                                reason: c.message.clone(),
                            });
                        }
                    }
                }
                let obs = Observation {
                    output,
                    expected: case.expected.as_deref(),
                    latency_ms: result.latency_ms,
                    cost: result.cost,
                    rubric_verdicts: &rubric,
                };
                let checks = check_all(&case.assertions, &obs);
                case_score(&case.assertions, &checks).0
            }
        };
        if passed != result.passed {
            out.overturned.push(case.label());
        }
        if passed {
            out.passing.push(case.id.clone());
        } else {
            out.failing.push((case.id.clone(), case.label()));
        }
    }
    Ok(out)
}

/// The hash of model settings given as JSON (empty when they do not read as settings).
fn settings_hash_of(model: &Value) -> String {
    serde_json::from_value::<promptdesk_content::ModelSettings>(model.clone())
        .map(|m| super::settings_hash(&m))
        .unwrap_or_default()
}

/// A case as a synced case record describes it.
pub fn case_from_record(id: &str, record: &crate::sync::records::CaseRecord) -> Case {
    Case {
        id: id.to_string(),
        position: record.position,
        description: record.description.clone(),
        vars: record.vars.clone(),
        expected: record.expected.clone(),
        assertions: record.assertions.clone(),
        tags: record.tags.clone(),
        origin: record.origin.clone(),
        updated_by: record.updated_by.clone(),
        updated_at: record.updated_at.clone(),
    }
}

/// The cases in the order every registry keeps them (position, then id): the order the
/// suite's hash is taken in.
pub fn sort_cases(cases: &mut [Case]) {
    cases.sort_by(|a, b| (a.position, &a.id).cmp(&(b.position, &b.id)));
}

/// A run's test case snapshot, for messages.
pub fn snapshot_of(result: &EvalResultRecord) -> CaseInput {
    serde_json::from_value(result.test_case.clone()).unwrap_or_default()
}
