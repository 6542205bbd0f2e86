//! Eval runs as they sync: a finished run of this registry as the one record that carries it
//! (so reviewers on other machines see the same outputs), and a pulled run stored here. The
//! recheck a server makes of such a record is in `promptdesk_protocol::eval::evidence`.

use rusqlite::{params, Connection, OptionalExtension};
use serde_json::Value;

use crate::error::{Error, Result};
use crate::sync::records::{EvalResultRecord, EvalRunRecord};

pub use promptdesk_protocol::eval::evidence::*;

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
