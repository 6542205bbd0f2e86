//! Eval runs as they sync: a finished run of this registry as the one record that carries it
//! (so reviewers on other machines see the same outputs), and a pulled run stored here. The
//! recheck a server makes of such a record is in `promptdesk_protocol::eval::evidence`.

use rusqlite::Connection;
use serde_json::Value;

use crate::error::{Error, Result};
use crate::store::eval_runs::{self, ResultRow, RunRow};
use crate::store::{suites, versions};
use crate::sync::records::{EvalResultRecord, EvalRunRecord};

pub use promptdesk_protocol::eval::evidence::*;

/// JSON text as a value (`null` when it does not parse).
fn json_of(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or(Value::Null)
}

/// A finished run of this registry as the record that syncs it.
pub(crate) fn run_record(conn: &Connection, run_id: &str) -> Result<Value> {
    let run = eval_runs::get(conn, run_id)?
        .ok_or_else(|| Error::NotFound(format!("there is no eval run {run_id}")))?;
    let results = eval_runs::results(conn, run_id, false)?
        .into_iter()
        .map(|x| EvalResultRecord {
            test_case: json_of(&x.test_case),
            checks: json_of(&x.checks),
            case_id: x.case_id,
            position: x.position,
            output: x.output,
            error: x.error,
            passed: x.passed,
            score: x.score,
            latency_ms: x.latency_ms,
            tokens_in: x.tokens_in,
            tokens_out: x.tokens_out,
            cost: x.cost,
            cached: x.cached,
            at: x.at,
        })
        .collect();
    let record = EvalRunRecord {
        suite: run.suite_id,
        version_hash: run.version_hash,
        suite_hash: run.suite_hash,
        model: json_of(&run.model),
        settings_hash: run.settings_hash,
        status: run.status,
        total: run.total,
        started_by: run.started_by,
        started_at: run.started_at,
        finished_at: run.finished_at,
        error: run.error,
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
    if eval_runs::status(conn, run_id)?.is_some() {
        return Ok(());
    }
    if versions::by_hash(conn, prompt_id, &r.version_hash)?.is_none() {
        return Err(Error::bad(format!(
            "eval run {run_id} is of content {}, which is not a version here",
            r.version_hash
        )));
    }
    if suites::get(conn, &r.suite)?.is_none_or(|s| s.prompt_id != prompt_id) {
        return Err(Error::bad(format!(
            "eval run {run_id} is of test suite {}, which is not here",
            r.suite
        )));
    }
    let done = r.results.len() as u32;
    let passed = r.results.iter().filter(|x| x.passed).count() as u32;
    let errored = r.results.iter().filter(|x| x.output.is_none()).count() as u32;
    let cached = r.results.iter().filter(|x| x.cached).count() as u32;
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
    eval_runs::insert(
        conn,
        &RunRow {
            id: run_id.to_string(),
            prompt_id,
            version_hash: r.version_hash.clone(),
            suite_id: r.suite.clone(),
            suite_hash: r.suite_hash.clone(),
            model: r.model.to_string(),
            settings_hash: r.settings_hash.clone(),
            status: r.status.clone(),
            total: r.total,
            done,
            passed,
            errored,
            cached,
            score_sum,
            tokens_in,
            tokens_out,
            cost,
            latency_ms: latency,
            started_by: r.started_by.clone(),
            started_at: r.started_at.clone(),
            finished_at: r.finished_at.clone(),
            error: r.error.clone(),
        },
    )?;
    for x in &r.results {
        eval_runs::insert_result(
            conn,
            &ResultRow {
                run_id: run_id.to_string(),
                case_id: x.case_id.clone(),
                position: x.position,
                test_case: x.test_case.to_string(),
                // The rendered input stays with the runner.
                input: None,
                output: x.output.clone(),
                error: x.error.clone(),
                passed: x.passed,
                score: x.score,
                checks: if x.checks.is_null() {
                    "[]".to_string()
                } else {
                    x.checks.to_string()
                },
                latency_ms: x.latency_ms,
                tokens_in: x.tokens_in,
                tokens_out: x.tokens_out,
                cost: x.cost,
                cached: x.cached,
                attempts: 0,
                at: x.at.clone(),
            },
        )?;
    }
    Ok(())
}
