//! Model-graded rubrics: the request that asks a grader model to judge an output, and a reader
//! of its verdict.
//!
//! # The grading request
//!
//! A system message, [`GRADER_INSTRUCTIONS`], then one user message:
//!
//! ```text
//! <rubric>
//! RUBRIC TEXT
//! </rubric>
//! <output>
//! THE OUTPUT BEING GRADED
//! </output>
//! ```
//!
//! The grader is asked to reply with only `{"pass": true|false, "score": 0..1, "reason":
//! "..."}`. `temperature` is 0 unless the grader's parameters say otherwise.
//! `promptdesk-fakellm`'s `grader` models read exactly this format (they pass an output iff
//! every `must contain:` line of the rubric is found in it).
//!
//! # Reading the verdict
//!
//! Graders wrap JSON in prose and code fences, so [`parse_verdict`] takes the first JSON object
//! anywhere in the reply that has a `pass` (or `passed`) field. `pass` may be a boolean or one
//! of the strings `true`/`false`, `pass`/`fail`, `yes`/`no`; `score` a number or a numeric
//! string (when missing: 1 for a pass, 0 for a fail); `reason` (or `reasoning`,
//! `explanation`) a string (empty when missing). Anything else is a [`VerdictError`] that
//! quotes the start of the reply.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

use crate::provider::{ChatRequest, Message, ProviderError};

/// The grader's system message.
pub const GRADER_INSTRUCTIONS: &str = "You grade the output of a language model against a rubric. \
The user message contains the rubric between <rubric> and </rubric>, then the output between \
<output> and </output>. Judge only the output, only against the rubric. Reply with only a JSON \
object and nothing else: {\"pass\": true or false, \"score\": a number from 0 to 1, \"reason\": \
\"one or two sentences\"}.";

/// How much of an unreadable reply an error quotes.
const EXCERPT_CHARS: usize = 200;

/// A grader's judgement of one output against one rubric.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RubricVerdict {
    pub pass: bool,
    /// 0..1 as the grader gave it (not clamped).
    pub score: f64,
    pub reason: String,
}

/// Why a rubric has no verdict.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum RubricError {
    /// The grader could not be asked (after the run's retries).
    #[error("the grader gave no reply: {0}")]
    Provider(ProviderError),
    /// The grader answered, but not with a verdict.
    #[error(transparent)]
    Verdict(VerdictError),
}

/// A grader reply without a readable verdict.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{message}; the grader replied: {excerpt:?}")]
pub struct VerdictError {
    pub message: String,
    /// The start of the reply.
    pub excerpt: String,
}

/// The request asking `model` to grade `output` against `rubric`.
pub fn grading_request(
    rubric: &str,
    output: &str,
    model: &str,
    parameters: &BTreeMap<String, Value>,
) -> ChatRequest {
    let mut parameters = parameters.clone();
    parameters.entry("temperature".into()).or_insert(json!(0));
    ChatRequest {
        model: model.to_string(),
        messages: vec![
            Message {
                role: "system".into(),
                content: GRADER_INSTRUCTIONS.into(),
            },
            Message {
                role: "user".into(),
                content: format!("<rubric>\n{rubric}\n</rubric>\n<output>\n{output}\n</output>\n"),
            },
        ],
        parameters,
    }
}

/// The verdict in a grader's reply (see the module docs for what is accepted).
pub fn parse_verdict(reply: &str) -> Result<RubricVerdict, VerdictError> {
    let mut first_problem = None;
    for (at, _) in reply.match_indices('{') {
        let mut values = serde_json::Deserializer::from_str(&reply[at..]).into_iter::<Value>();
        let Some(Ok(Value::Object(object))) = values.next() else {
            continue;
        };
        match verdict_from(&object) {
            Some(Ok(v)) => return Ok(v),
            Some(Err(problem)) => {
                first_problem.get_or_insert(problem);
            }
            None => {}
        }
    }
    Err(VerdictError {
        message: first_problem.unwrap_or_else(|| {
            "the grader's reply has no JSON object with a \"pass\" field".to_string()
        }),
        excerpt: excerpt(reply),
    })
}

/// None when `object` has no pass field at all; Some(Err) when it has one that is unreadable.
fn verdict_from(object: &Map<String, Value>) -> Option<Result<RubricVerdict, String>> {
    let field = |names: &[&str]| {
        object
            .iter()
            .find(|(k, _)| names.iter().any(|n| k.eq_ignore_ascii_case(n)))
            .map(|(_, v)| v)
    };
    let pass = field(&["pass", "passed"])?;
    let pass = match pass {
        Value::Bool(b) => *b,
        Value::String(s) => match s.trim().to_ascii_lowercase().as_str() {
            "true" | "pass" | "passed" | "yes" => true,
            "false" | "fail" | "failed" | "no" => false,
            _ => {
                return Some(Err(format!(
                    "the verdict's \"pass\" is {pass}, not true or false"
                )))
            }
        },
        other => {
            return Some(Err(format!(
                "the verdict's \"pass\" is {other}, not true or false"
            )))
        }
    };
    let score = match field(&["score"]) {
        None | Some(Value::Null) => {
            if pass {
                1.0
            } else {
                0.0
            }
        }
        Some(Value::Number(n)) => n.as_f64().unwrap_or(0.0),
        Some(Value::String(s)) => match s.trim().parse::<f64>() {
            Ok(n) if n.is_finite() => n,
            _ => {
                return Some(Err(format!(
                    "the verdict's \"score\" is {s:?}, not a number"
                )))
            }
        },
        Some(other) => {
            return Some(Err(format!(
                "the verdict's \"score\" is {other}, not a number"
            )))
        }
    };
    let reason = match field(&["reason", "reasoning", "explanation"]) {
        Some(Value::String(s)) => s.clone(),
        None | Some(Value::Null) => String::new(),
        Some(other) => other.to_string(),
    };
    Some(Ok(RubricVerdict {
        pass,
        score,
        reason,
    }))
}

fn excerpt(text: &str) -> String {
    let text = text.trim();
    match text.char_indices().nth(EXCERPT_CHARS) {
        Some((i, _)) => format!("{}…", &text[..i]),
        None => text.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(pass: bool, score: f64, reason: &str) -> Result<RubricVerdict, VerdictError> {
        Ok(RubricVerdict {
            pass,
            score,
            reason: reason.into(),
        })
    }

    #[test]
    fn a_bare_json_verdict_is_read() {
        assert_eq!(
            parse_verdict(r#"{"pass": true, "score": 0.9, "reason": "mentions the policy"}"#),
            ok(true, 0.9, "mentions the policy")
        );
    }

    #[test]
    fn a_verdict_wrapped_in_prose_and_a_code_fence_is_read() {
        let reply = "Sure! Here is my verdict {as requested}:\n```json\n{\n  \"PASS\": \"fail\",\n  \"score\": \"0.25\",\n  \"reasoning\": \"no refund window\"\n}\n```\nHope that helps.";
        assert_eq!(parse_verdict(reply), ok(false, 0.25, "no refund window"));
    }

    #[test]
    fn a_missing_score_follows_the_pass_and_a_missing_reason_is_empty() {
        assert_eq!(parse_verdict(r#"{"passed": false}"#), ok(false, 0.0, ""));
        assert_eq!(parse_verdict(r#"{"pass": "yes"}"#), ok(true, 1.0, ""));
    }

    #[test]
    fn a_reply_without_a_verdict_is_an_error_quoting_it() {
        let e = parse_verdict("The output looks fine to me.").unwrap_err();
        assert!(e.message.contains("no JSON object"), "{e}");
        assert_eq!(e.excerpt, "The output looks fine to me.");
        let e = parse_verdict(r#"{"pass": "maybe", "score": 1}"#).unwrap_err();
        assert!(
            e.message.contains("\"maybe\""),
            "the unreadable field is named: {e}"
        );
        let e = parse_verdict(r#"{"pass": true, "score": [1]}"#).unwrap_err();
        assert!(e.message.contains("score"), "{e}");
    }

    #[test]
    fn the_grading_request_has_the_documented_format() {
        let req = grading_request(
            "must contain: refund",
            "A refund.",
            "grader",
            &BTreeMap::new(),
        );
        assert_eq!(req.model, "grader");
        assert_eq!(req.messages[0].role, "system");
        assert_eq!(
            req.messages[1].content,
            "<rubric>\nmust contain: refund\n</rubric>\n<output>\nA refund.\n</output>\n"
        );
        assert_eq!(req.parameters["temperature"], json!(0));
        let mut p = BTreeMap::new();
        p.insert("temperature".to_string(), json!(0.7));
        assert_eq!(
            grading_request("r", "o", "g", &p).parameters["temperature"],
            json!(0.7),
            "the grader's own temperature is kept"
        );
    }
}
