//! The models' deterministic behaviour: what a request is answered with, whichever dialect it
//! came in (see the crate docs for each model).

use serde_json::{json, Value};

/// Models whose name starts with this grade rubrics.
pub const GRADER_PREFIX: &str = "grader";

/// A request reduced to what the models look at.
pub(crate) struct Conversation {
    /// Every system message's text (or Anthropic's `system`), joined by a blank line.
    pub system: String,
    /// (role, text) of the other messages, in order.
    pub messages: Vec<(String, String)>,
    /// `max_tokens` (or `max_completion_tokens`), when given.
    pub max_tokens: Option<u64>,
}

pub(crate) struct Answer {
    pub text: String,
    /// Cut short by `max_tokens`.
    pub truncated: bool,
    pub tokens_in: u64,
    pub tokens_out: u64,
}

/// Words, which is what the fake counts as tokens.
pub(crate) fn words(s: &str) -> u64 {
    s.split_whitespace().count() as u64
}

/// The text of a message's `content`: a string, or a list of blocks of which the text ones
/// count (OpenAI's content parts and Anthropic's content blocks both have `{type: "text",
/// text}`). None when it is neither.
pub(crate) fn content_text(content: &Value) -> Option<String> {
    match content {
        Value::String(s) => Some(s.clone()),
        Value::Array(blocks) => {
            let mut out = Vec::new();
            for b in blocks {
                if b.get("type").and_then(Value::as_str) == Some("text") {
                    out.push(b.get("text").and_then(Value::as_str)?.to_string());
                }
            }
            Some(out.join("\n"))
        }
        Value::Null => Some(String::new()),
        _ => None,
    }
}

/// The answer of `model` to `conversation`; `body` is the request as it came (for `json-echo`).
pub(crate) fn answer(model: &str, conversation: &Conversation, body: &Value) -> Answer {
    let tokens_in = words(&conversation.system)
        + conversation
            .messages
            .iter()
            .map(|(_, t)| words(t))
            .sum::<u64>();
    let last_user = conversation
        .messages
        .iter()
        .rev()
        .find(|(role, _)| role == "user")
        .map(|(_, t)| t.as_str())
        .unwrap_or("");
    let full = if model == "json-echo" {
        serde_json::to_string(body).unwrap_or_default()
    } else if let Some(variant) = model.strip_prefix(GRADER_PREFIX) {
        let verdict = match parse_grading_request(last_user) {
            Some((rubric, output)) => grade(rubric, output),
            None => json!({
                "pass": false,
                "score": 0.0,
                "reason": "the request has no <rubric> and <output> sections to grade"
            }),
        };
        match variant {
            "-fenced" => format!(
                "Here is my assessment of the output.\n\n```json\n{}\n```\n\nLet me know if you need more detail.",
                serde_json::to_string_pretty(&verdict).unwrap_or_default()
            ),
            "-prose" => "The output looks reasonable to me, and I would pass it.".to_string(),
            _ => verdict.to_string(),
        }
    } else if conversation.system.is_empty() {
        last_user.to_string()
    } else {
        format!("{}\n\n{}", conversation.system, last_user)
    };
    let (text, truncated) = match conversation.max_tokens {
        Some(max) if words(&full) > max => (
            full.split_whitespace()
                .take(max as usize)
                .collect::<Vec<_>>()
                .join(" "),
            true,
        ),
        _ => (full, false),
    };
    Answer {
        tokens_out: words(&text),
        text,
        truncated,
        tokens_in,
    }
}

/// Splits a grading request's user message into (rubric, output): the rubric ends at the first
/// `\n</rubric>\n<output>\n`, the output at the last `\n</output>`.
pub(crate) fn parse_grading_request(text: &str) -> Option<(&str, &str)> {
    let text = text.trim_start();
    let rest = text.strip_prefix("<rubric>\n")?;
    let split = "\n</rubric>\n<output>\n";
    let at = rest.find(split)?;
    let rubric = &rest[..at];
    let after = &rest[at + split.len()..];
    let end = after.rfind("\n</output>")?;
    Some((rubric, &after[..end]))
}

/// The fake grader's verdict on `output` against `rubric`: every `must contain: X` line needs X
/// in the output, every `must not contain: X` line needs X absent (case-insensitive, quotes
/// around X ignored). Other lines are not checked.
pub fn grade(rubric: &str, output: &str) -> Value {
    let haystack = output.to_lowercase();
    let mut checks = 0u32;
    let mut satisfied = 0u32;
    let mut problems = Vec::new();
    for line in rubric.lines() {
        let line = line.trim();
        let (must_have, needle) =
            if let Some(rest) = strip_prefix_ignore_case(line, "must contain:") {
                (true, rest)
            } else if let Some(rest) = strip_prefix_ignore_case(line, "must not contain:") {
                (false, rest)
            } else {
                continue;
            };
        let needle = unquote(needle.trim());
        checks += 1;
        let found = haystack.contains(&needle.to_lowercase());
        if found == must_have {
            satisfied += 1;
        } else if must_have {
            problems.push(format!("missing \"{needle}\""));
        } else {
            problems.push(format!("contains \"{needle}\""));
        }
    }
    let score = if checks == 0 {
        1.0
    } else {
        f64::from(satisfied) / f64::from(checks)
    };
    let reason = if checks == 0 {
        "the rubric has no must contain / must not contain lines to check".to_string()
    } else if problems.is_empty() {
        format!("all {checks} checks satisfied")
    } else {
        problems.join("; ")
    };
    json!({"pass": problems.is_empty(), "score": score, "reason": reason})
}

fn strip_prefix_ignore_case<'a>(s: &'a str, prefix: &str) -> Option<&'a str> {
    let head = s.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix)
        .then(|| &s[prefix.len()..])
}

fn unquote(s: &str) -> &str {
    for q in ['"', '\'', '`'] {
        if s.len() >= 2 && s.starts_with(q) && s.ends_with(q) {
            return &s[1..s.len() - 1];
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn conv(system: &str, user: &str) -> Conversation {
        Conversation {
            system: system.into(),
            messages: vec![("user".into(), user.into())],
            max_tokens: None,
        }
    }

    #[test]
    fn the_echo_reply_is_the_system_text_then_the_last_user_message() {
        let a = answer(
            "echo",
            &conv("Refunds within 30 days.", "Can I get my money back?"),
            &Value::Null,
        );
        assert_eq!(
            a.text,
            "Refunds within 30 days.\n\nCan I get my money back?"
        );
        assert_eq!(a.tokens_in, 10);
        assert_eq!(a.tokens_out, 10);
        assert!(!a.truncated);
    }

    #[test]
    fn max_tokens_truncates_the_reply_to_that_many_words() {
        let mut c = conv("", "one two three four");
        c.max_tokens = Some(2);
        let a = answer("echo", &c, &Value::Null);
        assert_eq!(a.text, "one two");
        assert!(a.truncated);
    }

    #[test]
    fn the_grader_passes_only_when_every_must_contain_line_is_satisfied() {
        let rubric =
            "Be polite.\nmust contain: refund\nMust contain: \"30 days\"\nmust not contain: sorry";
        let ok = grade(rubric, "Your REFUND arrives within 30 days.");
        assert_eq!(ok["pass"], true, "{ok}");
        assert_eq!(ok["score"], 1.0);
        let missing = grade(rubric, "Your refund arrives soon, sorry.");
        assert_eq!(missing["pass"], false, "{missing}");
        assert!((missing["score"].as_f64().unwrap() - 1.0 / 3.0).abs() < 1e-9);
        assert_eq!(
            missing["reason"], "missing \"30 days\"; contains \"sorry\"",
            "the reason names each unmet line"
        );
    }

    #[test]
    fn a_grading_request_splits_into_rubric_and_output() {
        let text = "<rubric>\nmust contain: a\n</rubric>\n<output>\nline one\n</output> inside\n</output>\n";
        let (rubric, output) = parse_grading_request(text).expect("a well-formed request");
        assert_eq!(rubric, "must contain: a");
        assert_eq!(output, "line one\n</output> inside");
        assert!(parse_grading_request("no sections here").is_none());
    }
}
