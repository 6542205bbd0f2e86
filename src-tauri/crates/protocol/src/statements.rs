//! What people sign: the canonical statements of a review decision and of a release. A
//! signature covers exactly these fields, so the desktop that signs, the server that checks and
//! `verify` that replays must build them identically; they are built here only.

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

/// Where a comment points: a line of the template or of one message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ts_rs::TS)]
pub struct Anchor {
    /// `template`, or `message N` for chat prompts.
    pub template: String,
    pub line: u32,
}

/// What a reviewer signs when deciding: this decision, on this content, for this label.
pub fn decision_statement(
    id: &str,
    review_id: &str,
    label: &str,
    content_hash: &str,
    decision: &str,
    actor: &str,
    at: &str,
) -> Value {
    json!({
        "statement": "promptdesk.review-decision/1", "id": id, "review": review_id, "label": label,
        "content_hash": content_hash, "decision": decision, "actor": actor, "at": at,
    })
}

/// The fields of a release that its signature covers.
pub struct ReleaseStatement<'a> {
    pub id: &'a str,
    pub kind: &'a str,
    pub label: &'a str,
    pub from_hash: Option<&'a str>,
    pub to_hash: &'a str,
    pub changelog: &'a str,
    pub review_id: Option<&'a str>,
    pub actor: &'a str,
    pub at: &'a str,
    /// The eval run the release gate counted, when the policy required a suite.
    pub eval_run: Option<&'a str>,
}

/// What a releaser signs: this label moved from this content to that, and why (and on the
/// evidence of which eval run, when a suite gated it; releases without one sign exactly what
/// they signed before evals existed).
pub fn release_statement(r: &ReleaseStatement<'_>) -> Value {
    let mut v = json!({
        "statement": "promptdesk.release/1", "id": r.id, "kind": r.kind, "label": r.label,
        "from_hash": r.from_hash, "to_hash": r.to_hash, "changelog": r.changelog,
        "review": r.review_id, "actor": r.actor, "at": r.at,
    });
    if let Some(run) = r.eval_run {
        v["eval_run"] = json!(run);
    }
    v
}

/// The eval run a stored decision (JSON) counted, if any.
pub fn decision_eval_run(decision: &Value) -> Option<&str> {
    decision["evidence"]["run_id"].as_str()
}
