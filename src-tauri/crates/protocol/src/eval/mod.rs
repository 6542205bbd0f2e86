//! Test cases as every registry and the server read them: a case, its assertions (checked the
//! same way wherever a run is judged), the hashes that say which suite and which model settings
//! a run was of, and the recheck a server makes of a synced run.

pub mod assertions;
pub mod evidence;
pub mod schema;

use promptdesk_content::{sha256_hex, write_canonical, ModelSettings};
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

pub use assertions::{Assertion, AssertionKind, Check, RubricVerdict};

/// One test case.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ts_rs::TS)]
pub struct Case {
    pub id: String,
    pub position: u32,
    pub description: String,
    #[ts(type = "Record<string, unknown>")]
    pub vars: Map<String, Value>,
    pub expected: Option<String>,
    pub assertions: Vec<Assertion>,
    pub tags: Vec<String>,
    /// Where the case came from: empty (written here), `import:FILE` or `postmortem:ID`.
    pub origin: String,
    pub updated_by: String,
    pub updated_at: String,
}

impl Case {
    /// How the case is named in messages: its description, else its position and variables.
    pub fn label(&self) -> String {
        case_label(self.position, &self.description, &self.vars)
    }
}

pub fn case_label(position: u32, description: &str, vars: &Map<String, Value>) -> String {
    if !description.trim().is_empty() {
        return format!("#{} {}", position, description.trim());
    }
    let mut vars_text = Value::Object(vars.clone()).to_string();
    if vars_text.chars().count() > 60 {
        vars_text = vars_text.chars().take(60).collect::<String>() + "…";
    }
    format!("#{position} {vars_text}")
}

/// A case as written by a person or a file, before it has an id.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ts_rs::TS)]
pub struct CaseInput {
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    #[ts(type = "Record<string, unknown>")]
    pub vars: Map<String, Value>,
    #[serde(default)]
    pub expected: Option<String>,
    #[serde(default)]
    pub assertions: Vec<Assertion>,
    #[serde(default)]
    pub tags: Vec<String>,
}

/// What identifies a suite's content: each case's id, variables, expected output and
/// assertions, in order. Descriptions and tags do not change what a run measures.
/// The hash of a suite's cases (ids, variables, expected outputs, assertions), in the order
/// given (every registry keeps them by position, then id): what a run records it ran.
pub fn suite_hash(cases: &[Case]) -> String {
    let items: Vec<Value> = cases
        .iter()
        .map(|c| {
            json!({"id": c.id, "vars": c.vars, "expected": c.expected,
                   "assertions": c.assertions})
        })
        .collect();
    let mut bytes = Vec::new();
    write_canonical(&Value::Array(items), &mut bytes);
    sha256_hex(&bytes)
}

/// Hash of model settings (canonical JSON): runs with equal settings compare.
pub fn settings_hash(model: &ModelSettings) -> String {
    let mut bytes = Vec::new();
    write_canonical(
        &serde_json::to_value(model).expect("model settings serialise"),
        &mut bytes,
    );
    sha256_hex(&bytes)
}
