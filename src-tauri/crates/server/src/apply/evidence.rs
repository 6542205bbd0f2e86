//! The test-suite condition of a gated release, decided from what the server holds.
//!
//! A release names the eval run it relies on (the run id is in the signed statement). The
//! server does not take the releaser's numbers: it looks the run up among the runs registries
//! synced to it, checks it is a completed run of exactly the candidate content, with the
//! version's own model settings, of the suite's cases as the server has them now, and
//! recomputes every verdict from the stored outputs (`promptdesk_protocol::eval::evidence`). With
//! "no regressions", the baseline is the server's own latest such run on what the label serves.

use promptdesk_content::ModelSettings;
use promptdesk_protocol::eval::evidence::{self, Rechecked};
use promptdesk_protocol::eval::{settings_hash, Case};
use promptdesk_protocol::events::Collection;
use promptdesk_protocol::policy::{SuiteRequirement, SuiteResult};
use promptdesk_protocol::records::{CaseRecord, EvalRunRecord};

use crate::error::Result;
use crate::store::{Pick, Tx, VersionRow};

/// What the server knows of `req`'s suite on `target`, for [`promptdesk_protocol::policy::check_release`].
/// `cited` is what the release claims; only its run id is used.
pub(super) fn suite_result(
    tx: &mut dyn Tx,
    req: &SuiteRequirement,
    target: &VersionRow,
    label: &str,
    cited: Option<&SuiteResult>,
) -> Result<SuiteResult> {
    let mut result = SuiteResult {
        suite: req.suite.clone(),
        content_hash: target.hash.clone(),
        run_id: cited.and_then(|c| c.run_id.clone()),
        ..SuiteResult::default()
    };
    let prompt = &target.prompt;
    let Some(suite) = tx.named_record(Collection::Suite.as_str(), prompt, &req.suite)? else {
        result.problem = Some(format!(
            "{prompt} has no test suite named {} on the server; sync the registry that has it",
            req.suite
        ));
        return Ok(result);
    };
    let Some(run_id) = result.run_id.clone() else {
        result.problem = Some(format!(
            "the release cites no run of test suite {}; run it on version {} and sync before \
             releasing",
            req.suite, target.number
        ));
        return Ok(result);
    };
    let cases = current_cases(tx, prompt, &suite.id)?;
    let own = own_settings(target);
    let run = match run_of(tx, prompt, &run_id)? {
        Some(run) => run,
        None => {
            result.problem = Some(format!(
                "eval run {} of test suite {} is not on the server: sync the registry that ran \
                 it, then release again",
                short(&run_id),
                req.suite
            ));
            return Ok(result);
        }
    };
    if run.suite != suite.id {
        result.problem = Some(format!(
            "eval run {} is not a run of test suite {}",
            short(&run_id),
            req.suite
        ));
        return Ok(result);
    }
    let checked = match evidence::recheck(&run, &target.hash, &own, &cases) {
        Ok(c) => c,
        Err(why) => {
            result.problem = Some(format!(
                "eval run {} does not count for version {}: {why}",
                short(&run_id),
                target.number
            ));
            return Ok(result);
        }
    };
    result.ran_by = Some(run.started_by.clone());
    result.rerun_checks = checked.rerun;
    result.recorded_checks = checked.taken_as_recorded;
    result.total = cases.len() as u32;
    result.passed = checked.passing.len() as u32;
    result.pass_rate = if cases.is_empty() {
        0.0
    } else {
        f64::from(result.passed) / cases.len() as f64
    };
    result.failing = checked.failing.iter().map(|(_, l)| l.clone()).collect();
    if req.no_regressions {
        if let Some(serving) = tx.label(prompt, label)? {
            if serving.hash != target.hash {
                let base = tx.version(prompt, &Pick::Hash(serving.hash.clone()))?;
                let found = match &base {
                    Some(b) => baseline(tx, prompt, &suite.id, b, &cases)?,
                    None => None,
                };
                match (base, found) {
                    (Some(b), Some((id, base_checked))) => {
                        let failing: std::collections::BTreeSet<&str> =
                            checked.failing.iter().map(|(id, _)| id.as_str()).collect();
                        result.regressions = cases
                            .iter()
                            .filter(|c| {
                                failing.contains(c.id.as_str())
                                    && base_checked.passing.contains(&c.id)
                            })
                            .map(Case::label)
                            .collect();
                        result.baseline_run = Some(id);
                        result.baseline_version = Some(b.number);
                    }
                    _ => {
                        result.problem = Some(format!(
                            "no regressions is required, and the server has no complete run of \
                             test suite {}'s current cases on version {} ({label} now) to \
                             compare with: run it there and sync",
                            req.suite, serving.number
                        ));
                    }
                }
            }
        }
    }
    Ok(result)
}

/// The suite's live cases on the server, in every registry's order.
fn current_cases(tx: &mut dyn Tx, prompt: &str, suite: &str) -> Result<Vec<Case>> {
    let mut cases: Vec<Case> = tx
        .live_records(Collection::Case.as_str(), prompt)?
        .into_iter()
        .filter_map(|(id, fields)| {
            let c: CaseRecord = serde_json::from_value(fields).ok()?;
            (c.suite == suite).then(|| evidence::case_from_record(&id, &c))
        })
        .collect();
    evidence::sort_cases(&mut cases);
    Ok(cases)
}

fn run_of(tx: &mut dyn Tx, prompt: &str, id: &str) -> Result<Option<EvalRunRecord>> {
    match tx.record(Collection::EvalRun.as_str(), id)? {
        Some(r) if r.prompt == prompt => {}
        _ => return Ok(None),
    }
    Ok(tx
        .record_fields(Collection::EvalRun.as_str(), id)?
        .and_then(|f| serde_json::from_value(f).ok()))
}

/// The version's own model settings' hash (a run with other settings does not count).
fn own_settings(v: &VersionRow) -> String {
    let model: ModelSettings = v
        .content
        .get("model")
        .cloned()
        .and_then(|m| serde_json::from_value(m).ok())
        .unwrap_or_default();
    settings_hash(&model)
}

/// The latest run on `base` that counts (completed, its own settings, the current cases), by
/// when it finished, with its rechecked verdicts.
fn baseline(
    tx: &mut dyn Tx,
    prompt: &str,
    suite: &str,
    base: &VersionRow,
    cases: &[Case],
) -> Result<Option<(String, Rechecked)>> {
    let own = own_settings(base);
    // Latest by the instant it finished (a runner's clock, but only runs that count compete).
    let mut best: Option<(String, Option<time::OffsetDateTime>, Rechecked)> = None;
    for (id, fields) in tx.live_records(Collection::EvalRun.as_str(), prompt)? {
        let Ok(run) = serde_json::from_value::<EvalRunRecord>(fields) else {
            continue;
        };
        if run.suite != suite || run.version_hash != base.hash {
            continue;
        }
        let Ok(checked) = evidence::recheck(&run, &base.hash, &own, cases) else {
            continue;
        };
        let finished = run
            .finished_at
            .as_deref()
            .and_then(|t| promptdesk_protocol::policy::parse_instant(t).ok());
        if best.as_ref().is_none_or(|(_, f, _)| finished > *f) {
            best = Some((id, finished, checked));
        }
    }
    Ok(best.map(|(id, _, c)| (id, c)))
}

fn short(id: &str) -> &str {
    &id[..id.len().min(8)]
}
