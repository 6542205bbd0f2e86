//! Test suites and eval runs: the cases of a prompt, what a run of them against a model
//! produced, ratings of outputs, comparisons of versions, and the evidence the release gate
//! weighs. Calling models is not done here (no network in core): a runner (crates/eval) asks
//! [`Registry::start_run`] what to run, renders and sends each case, and hands every outcome to
//! [`Registry::record_result`] as it arrives, which checks the assertions and stores it.

pub mod evidence;
pub mod import;
pub mod providers;
mod runs;
mod suites;

use promptdesk_content::{ModelSettings, Rendered};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

pub use promptdesk_protocol::eval::{
    assertions, case_label, schema, settings_hash, suite_hash, Assertion, AssertionKind, Case,
    CaseInput, Check, RubricVerdict,
};
pub use providers::{builtin_providers, ModelPrice, ProviderSettings};
pub(crate) use runs::gate_evidence;
pub use runs::{cache_key, effective_model, listed_cases};

/// A named set of test cases of one prompt.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ts_rs::TS)]
pub struct Suite {
    pub id: String,
    pub prompt: String,
    pub name: String,
    pub description: String,
    pub cases: u32,
    /// Changes whenever a case's variables, expected output or assertions change: a run of an
    /// older hash no longer stands for the suite.
    pub hash: String,
    pub created_by: String,
    pub created_at: String,
}

/// A suite with its cases, in order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ts_rs::TS)]
pub struct SuiteDetail {
    pub suite: Suite,
    pub cases: Vec<Case>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ts_rs::TS)]
#[serde(rename_all = "snake_case")]
pub enum RunStatus {
    Running,
    Completed,
    Cancelled,
    Failed,
}

impl RunStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            RunStatus::Running => "running",
            RunStatus::Completed => "completed",
            RunStatus::Cancelled => "cancelled",
            RunStatus::Failed => "failed",
        }
    }

    pub(crate) fn parse(s: &str) -> RunStatus {
        match s {
            "completed" => RunStatus::Completed,
            "cancelled" => RunStatus::Cancelled,
            "failed" => RunStatus::Failed,
            _ => RunStatus::Running,
        }
    }
}

/// One run of a suite against one version.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ts_rs::TS)]
pub struct EvalRun {
    pub id: String,
    pub prompt: String,
    pub version: u32,
    pub version_hash: String,
    pub suite: String,
    pub suite_hash: String,
    /// The suite's cases changed since this run began.
    pub suite_changed: bool,
    pub model: ModelSettings,
    pub settings_hash: String,
    /// The version's own model settings were used (not an override): only such runs count
    /// for the release gate.
    pub own_settings: bool,
    pub status: RunStatus,
    pub total: u32,
    pub done: u32,
    pub passed: u32,
    /// Cases that ran and failed an assertion.
    pub failed: u32,
    /// Cases with no output (the call or the render failed).
    pub errored: u32,
    pub cached: u32,
    /// passed / total, 0..1.
    pub pass_rate: f64,
    /// Mean case score of the cases done, 0..1.
    pub score: f64,
    pub tokens_in: u64,
    pub tokens_out: u64,
    pub cost: Option<f64>,
    pub mean_latency_ms: u64,
    pub started_by: String,
    pub started_at: String,
    pub finished_at: Option<String>,
    pub error: Option<String>,
}

/// A case's outcome in a run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ts_rs::TS)]
pub struct CaseResult {
    pub case_id: String,
    pub position: u32,
    pub label: String,
    pub case: CaseInput,
    pub input: Option<Rendered>,
    pub output: Option<String>,
    pub error: Option<String>,
    pub passed: bool,
    pub score: f64,
    pub checks: Vec<Check>,
    pub latency_ms: u64,
    pub tokens_in: u64,
    pub tokens_out: u64,
    pub cost: Option<f64>,
    pub cached: bool,
    pub attempts: u32,
    pub at: String,
}

/// A model's reply as a runner reports it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ts_rs::TS)]
pub struct ReplyFacts {
    pub output: String,
    pub tokens_in: u64,
    pub tokens_out: u64,
    pub latency_ms: u64,
    pub cost: Option<f64>,
    #[serde(default)]
    pub finish_reason: String,
}

/// What a runner hands back for one case.
#[derive(Debug, Clone)]
pub struct Outcome {
    pub case: Case,
    pub input: Option<Rendered>,
    /// The reply, or why there is none (a render error, a provider error after retries).
    pub reply: Result<ReplyFacts, String>,
    pub rubric_verdicts: Vec<RubricVerdict>,
    pub cached: bool,
    pub attempts: u32,
    /// The cache key of this case's call, when it had one (a reply not from the cache is
    /// stored under it).
    pub cache_key: Option<String>,
}

/// A run about to start: the run record and what to run.
#[derive(Debug, Clone)]
pub struct PreparedRun {
    pub run: EvalRun,
    pub version: crate::model::Version,
    pub cases: Vec<Case>,
}

/// A person's rating of one output.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ts_rs::TS)]
pub struct Rating {
    pub id: String,
    pub version: u32,
    pub version_hash: String,
    pub case_id: String,
    pub case_label: String,
    pub run_id: Option<String>,
    pub output_hash: String,
    /// `good` or `bad`.
    pub rating: String,
    pub comment: String,
    pub rated_by: String,
    pub rated_at: String,
}

/// Versions × cases of one suite, from each version's latest run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ts_rs::TS)]
pub struct Comparison {
    pub prompt: String,
    pub suite: String,
    pub columns: Vec<ComparisonColumn>,
    pub rows: Vec<ComparisonRow>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ts_rs::TS)]
pub struct ComparisonColumn {
    pub version: u32,
    pub version_hash: String,
    /// Labels pointing at this version now.
    pub labels: Vec<String>,
    /// The run the column shows; `None` when the suite has not run on this version.
    pub run: Option<EvalRun>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ts_rs::TS)]
pub struct ComparisonRow {
    pub case_id: String,
    pub label: String,
    #[ts(type = "Record<string, unknown>")]
    pub vars: Map<String, Value>,
    pub expected: Option<String>,
    /// One per column, in the columns' order.
    pub cells: Vec<Option<ComparisonCell>>,
    /// The outputs are not all the same.
    pub differs: bool,
    /// Some cell failed (or has no output).
    pub has_failure: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ts_rs::TS)]
pub struct ComparisonCell {
    pub output: Option<String>,
    pub error: Option<String>,
    pub passed: bool,
    pub score: f64,
    pub checks: Vec<Check>,
    pub latency_ms: u64,
    pub cached: bool,
    /// Word-level diff of this output against the first column's (absent for the first column
    /// and when either has no output).
    pub diff: Option<promptdesk_diff::TextDiff>,
    /// Each person's latest rating of this version's output for this case.
    pub ratings: Vec<Rating>,
}

/// What a review shows of a version's evals: its latest runs and everyone's ratings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ts_rs::TS)]
pub struct VersionEvals {
    pub runs: Vec<EvalRun>,
    pub ratings: Vec<Rating>,
    pub good: u32,
    pub bad: u32,
}
