//! The registry's records as the rest of the program sees them (CLI, UI, export).

use std::collections::BTreeMap;

use promptdesk_content::{Body, ModelSettings, PromptKind, Variable, VersionContent};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// A prompt: a name with folders, a kind, a description and tags.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ts_rs::TS)]
pub struct Prompt {
    pub id: i64,
    pub name: String,
    pub kind: PromptKind,
    pub description: String,
    pub tags: Vec<String>,
    pub created_at: String,
    pub created_by: String,
}

/// What a draft holds: everything a version holds except the pinned includes, which are
/// resolved when the draft is committed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ts_rs::TS)]
pub struct DraftContent {
    pub body: Body,
    #[serde(default)]
    pub variables: Vec<Variable>,
    #[serde(default)]
    pub model: ModelSettings,
}

impl DraftContent {
    pub fn empty(kind: PromptKind) -> Self {
        DraftContent {
            body: Body::empty(kind),
            variables: Vec::new(),
            model: ModelSettings::default(),
        }
    }

    pub fn from_version(content: &VersionContent) -> Self {
        DraftContent {
            body: content.body.clone(),
            variables: content.variables.clone(),
            model: content.model.clone(),
        }
    }
}

/// A prompt's working copy.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ts_rs::TS)]
pub struct Draft {
    pub content: DraftContent,
    /// The version the draft was started from (`None` before the first commit).
    pub base_hash: Option<String>,
    pub updated_at: String,
    pub updated_by: String,
}

/// An immutable version.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ts_rs::TS)]
pub struct Version {
    pub prompt: String,
    pub number: u32,
    pub hash: String,
    pub parent_hash: Option<String>,
    pub author: String,
    pub message: String,
    pub created_at: String,
    pub content: VersionContent,
}

/// A version without its content, with the labels that point at it: one row of a history.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ts_rs::TS)]
pub struct VersionSummary {
    pub number: u32,
    pub hash: String,
    pub parent_hash: Option<String>,
    pub author: String,
    pub message: String,
    pub created_at: String,
    pub labels: Vec<String>,
}

/// Where a label points now.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ts_rs::TS)]
pub struct Label {
    pub name: String,
    pub number: u32,
    pub hash: String,
    pub moved_at: String,
    pub moved_by: String,
}

/// One move of a label, as kept in its append-only history.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ts_rs::TS)]
pub struct LabelMove {
    pub label: String,
    pub from_number: Option<u32>,
    pub from_hash: Option<String>,
    pub to_number: u32,
    pub to_hash: String,
    pub actor: String,
    pub at: String,
    pub reason: String,
}

/// One row of the hash-chained ledger.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ts_rs::TS)]
pub struct LedgerEntry {
    pub seq: i64,
    pub id: String,
    pub at: String,
    pub actor: String,
    pub kind: String,
    pub subject: String,
    pub payload: Value,
    pub prev_hash: String,
    pub hash: String,
}

/// A named set of inputs saved with a prompt.
pub type Samples = BTreeMap<String, serde_json::Map<String, Value>>;

/// A prompt in a listing, with its latest version and labels.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ts_rs::TS)]
pub struct PromptListing {
    pub name: String,
    pub kind: PromptKind,
    pub description: String,
    pub tags: Vec<String>,
    pub latest: Option<u32>,
    pub labels: BTreeMap<String, u32>,
    /// True when the draft differs from the latest version (or there is no version yet).
    pub has_changes: bool,
}
