//! The evidence a registry server can check again from a synced eval run.
//!
//! A finished run travels as one record ([`EvalRunRecord`]: the run and every case's outcome),
//! so a server can decide a gated release from what it holds instead of from the numbers a
//! releaser sends. [`recheck`] is that decision's core: given the suite's cases as the server has
//! them now, it verifies that a run is of exactly this content, these model settings and these
//! cases, and recomputes every verdict — re-running each deterministic assertion on the stored
//! output.
//!
//! What cannot be checked again is taken as its runner recorded it, and counted as such: the
//! outputs themselves (the model's answers), model-graded rubric verdicts, and the latency and
//! cost a runner measured.

use serde_json::Value;

use super::assertions::{case_score, check_all, Observation};
use super::{Case, CaseInput, Check, RubricVerdict};
use crate::records::{EvalResultRecord, EvalRunRecord};

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
    let current = super::suite_hash(cases);
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
pub fn case_from_record(id: &str, record: &crate::records::CaseRecord) -> Case {
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
