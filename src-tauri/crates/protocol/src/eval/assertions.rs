//! Assertions on a model's output: what each kind checks, how it scores, and how a case's
//! verdict follows from its checks. Pure functions; the model-graded rubric is decided by a
//! grader model elsewhere and its verdict handed in through [`Observation::rubric_verdicts`].

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::schema;

/// One assertion of a case. Any kind can be negated (`not` flips pass and fail; its score is
/// then 1 − the score); `weight` weighs it in the case's score (default 1).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ts_rs::TS)]
pub struct Assertion {
    #[serde(flatten)]
    pub kind: AssertionKind,
    #[serde(default, skip_serializing_if = "is_false")]
    pub not: bool,
    #[serde(default = "one", skip_serializing_if = "is_one")]
    pub weight: f64,
}

fn is_false(b: &bool) -> bool {
    !*b
}
fn one() -> f64 {
    1.0
}
fn is_one(w: &f64) -> bool {
    *w == 1.0
}

/// What an assertion checks. The names follow promptfoo's assertion types where one exists, so
/// a suite reads the same in both and exports without translation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ts_rs::TS)]
#[serde(tag = "type", rename_all = "kebab-case")]
pub enum AssertionKind {
    /// The whole output equals the value (surrounding whitespace ignored).
    Equals {
        value: String,
    },
    Contains {
        value: String,
    },
    /// Contains, ignoring case.
    Icontains {
        value: String,
    },
    ContainsAny {
        values: Vec<String>,
    },
    ContainsAll {
        values: Vec<String>,
    },
    Regex {
        pattern: String,
    },
    StartsWith {
        value: String,
    },
    IsJson,
    /// The output parses as JSON and matches the schema (the subset in [`schema`]).
    JsonSchema {
        schema: Value,
    },
    /// Length in characters, both ends inclusive.
    Length {
        #[serde(default)]
        min: Option<u64>,
        #[serde(default)]
        max: Option<u64>,
    },
    /// Word-level similarity to the case's expected output (0..1) of at least `threshold`.
    Similar {
        threshold: f64,
    },
    /// The model answered within this many milliseconds.
    Latency {
        max_ms: u64,
    },
    /// The call cost at most this much (in the price table's currency).
    Cost {
        max: f64,
    },
    /// A grader model judges the output against the rubric.
    Rubric {
        rubric: String,
        /// `provider/model` of the grader; the run's own model when empty.
        #[serde(default)]
        grader: String,
    },
}

/// What an assertion is checked against.
#[derive(Debug, Clone, Default)]
pub struct Observation<'a> {
    pub output: &'a str,
    pub expected: Option<&'a str>,
    pub latency_ms: u64,
    pub cost: Option<f64>,
    /// The grader's verdicts for the case's rubric assertions, in their order.
    pub rubric_verdicts: &'a [RubricVerdict],
}

/// A grader model's judgement of one rubric.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ts_rs::TS)]
pub struct RubricVerdict {
    pub pass: bool,
    pub score: f64,
    pub reason: String,
}

/// The outcome of one assertion.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ts_rs::TS)]
pub struct Check {
    /// The assertion in words (`contains "30 days"`, `not regex ^Sorry`).
    pub assertion: String,
    pub passed: bool,
    /// 0..1.
    pub score: f64,
    /// Why it failed, or what was measured.
    pub message: String,
}

impl Assertion {
    pub fn new(kind: AssertionKind) -> Assertion {
        Assertion {
            kind,
            not: false,
            weight: 1.0,
        }
    }

    /// The promptfoo-style type name (`contains`, `not-regex`, …).
    pub fn type_name(&self) -> String {
        let base = self.kind.type_name();
        if self.not {
            format!("not-{base}")
        } else {
            base.to_string()
        }
    }

    /// Refuses an assertion that can never be checked: a regex that does not compile, a schema
    /// using keywords this checker does not know, a threshold outside 0..1.
    pub fn validate(&self) -> Result<(), String> {
        if !(self.weight.is_finite() && self.weight >= 0.0) {
            return Err(format!(
                "{}: the weight must be a number ≥ 0 (got {})",
                self.type_name(),
                self.weight
            ));
        }
        match &self.kind {
            AssertionKind::Regex { pattern } => regex::Regex::new(pattern)
                .map(|_| ())
                .map_err(|e| format!("regex {pattern:?} does not compile: {e}")),
            AssertionKind::JsonSchema { schema } => {
                schema::check_schema(schema).map_err(|e| format!("json-schema: {e}"))
            }
            AssertionKind::Similar { threshold } if !(0.0..=1.0).contains(threshold) => Err(
                format!("similar: the threshold must be between 0 and 1 (got {threshold})"),
            ),
            AssertionKind::ContainsAny { values } | AssertionKind::ContainsAll { values }
                if values.is_empty() =>
            {
                Err(format!("{}: give at least one value", self.type_name()))
            }
            AssertionKind::Length {
                min: Some(a),
                max: Some(b),
            } if a > b => Err(format!("length: min {a} is above max {b}")),
            AssertionKind::Length {
                min: None,
                max: None,
            } => Err("length: give a min, a max or both".into()),
            AssertionKind::Cost { max } if !(max.is_finite() && *max >= 0.0) => {
                Err(format!("cost: the bound must be a number ≥ 0 (got {max})"))
            }
            AssertionKind::Rubric { rubric, .. } if rubric.trim().is_empty() => {
                Err("rubric: the rubric text is empty".into())
            }
            _ => Ok(()),
        }
    }

    /// Checks the output. Never panics, whatever the output.
    pub fn check(&self, obs: &Observation<'_>, rubric_index: &mut usize) -> Check {
        let (passed, score, message) = self.kind.check(obs, rubric_index);
        let (passed, score, message) = if self.not {
            (
                !passed,
                1.0 - score,
                if passed {
                    format!("expected not to hold, but it does: {message}")
                } else {
                    message
                },
            )
        } else {
            (passed, score, message)
        };
        Check {
            assertion: self.describe(),
            passed,
            score: score.clamp(0.0, 1.0),
            message,
        }
    }

    pub fn describe(&self) -> String {
        let t = self.type_name();
        match &self.kind {
            AssertionKind::Equals { value }
            | AssertionKind::Contains { value }
            | AssertionKind::Icontains { value }
            | AssertionKind::StartsWith { value } => format!("{t} {value:?}"),
            AssertionKind::ContainsAny { values } | AssertionKind::ContainsAll { values } => {
                format!("{t} {values:?}")
            }
            AssertionKind::Regex { pattern } => format!("{t} /{pattern}/"),
            AssertionKind::IsJson | AssertionKind::JsonSchema { .. } => t,
            AssertionKind::Length { min, max } => match (min, max) {
                (Some(a), Some(b)) => format!("{t} {a}..={b}"),
                (Some(a), None) => format!("{t} ≥ {a}"),
                (None, Some(b)) => format!("{t} ≤ {b}"),
                (None, None) => t,
            },
            AssertionKind::Similar { threshold } => format!("{t} ≥ {threshold}"),
            AssertionKind::Latency { max_ms } => format!("{t} ≤ {max_ms} ms"),
            AssertionKind::Cost { max } => format!("{t} ≤ {max}"),
            AssertionKind::Rubric { rubric, .. } => {
                let first = rubric.lines().next().unwrap_or("");
                format!("{t} {first:?}")
            }
        }
    }
}

impl AssertionKind {
    pub fn type_name(&self) -> &'static str {
        match self {
            AssertionKind::Equals { .. } => "equals",
            AssertionKind::Contains { .. } => "contains",
            AssertionKind::Icontains { .. } => "icontains",
            AssertionKind::ContainsAny { .. } => "contains-any",
            AssertionKind::ContainsAll { .. } => "contains-all",
            AssertionKind::Regex { .. } => "regex",
            AssertionKind::StartsWith { .. } => "starts-with",
            AssertionKind::IsJson => "is-json",
            AssertionKind::JsonSchema { .. } => "json-schema",
            AssertionKind::Length { .. } => "length",
            AssertionKind::Similar { .. } => "similar",
            AssertionKind::Latency { .. } => "latency",
            AssertionKind::Cost { .. } => "cost",
            AssertionKind::Rubric { .. } => "rubric",
        }
    }

    /// Deterministic kinds depend only on the output (and the case); the others on the call
    /// (latency, cost) or on another model (rubric).
    pub fn is_deterministic(&self) -> bool {
        !matches!(
            self,
            AssertionKind::Latency { .. }
                | AssertionKind::Cost { .. }
                | AssertionKind::Rubric { .. }
        )
    }

    fn check(&self, obs: &Observation<'_>, rubric_index: &mut usize) -> (bool, f64, String) {
        let out = obs.output;
        let yes_no = |ok: bool, fail: String| (ok, if ok { 1.0 } else { 0.0 }, fail);
        match self {
            AssertionKind::Equals { value } => yes_no(
                out.trim() == value.trim(),
                format!("output is {:?}", clip(out)),
            ),
            AssertionKind::Contains { value } => yes_no(
                out.contains(value.as_str()),
                format!("{value:?} is not in the output"),
            ),
            AssertionKind::Icontains { value } => yes_no(
                out.to_lowercase().contains(&value.to_lowercase()),
                format!("{value:?} (any case) is not in the output"),
            ),
            AssertionKind::ContainsAny { values } => yes_no(
                values.iter().any(|v| out.contains(v.as_str())),
                format!("none of {values:?} is in the output"),
            ),
            AssertionKind::ContainsAll { values } => {
                let missing: Vec<&String> = values
                    .iter()
                    .filter(|v| !out.contains(v.as_str()))
                    .collect();
                let found = values.len() - missing.len();
                (
                    missing.is_empty(),
                    found as f64 / values.len().max(1) as f64,
                    format!("missing {missing:?}"),
                )
            }
            AssertionKind::Regex { pattern } => match regex::Regex::new(pattern) {
                Ok(re) => yes_no(re.is_match(out), format!("/{pattern}/ does not match")),
                Err(e) => (false, 0.0, format!("the regex does not compile: {e}")),
            },
            AssertionKind::StartsWith { value } => yes_no(
                out.trim_start().starts_with(value.as_str()),
                format!("output starts with {:?}", clip(out.trim_start())),
            ),
            AssertionKind::IsJson => match serde_json::from_str::<Value>(out.trim()) {
                Ok(_) => (true, 1.0, "output is JSON".into()),
                Err(e) => (false, 0.0, format!("output is not JSON: {e}")),
            },
            AssertionKind::JsonSchema { schema: s } => {
                match serde_json::from_str::<Value>(out.trim()) {
                    Err(e) => (false, 0.0, format!("output is not JSON: {e}")),
                    Ok(v) => match schema::validate(s, &v) {
                        Ok(()) => (true, 1.0, "output matches the schema".into()),
                        Err(problems) => (false, 0.0, problems.join("; ")),
                    },
                }
            }
            AssertionKind::Length { min, max } => {
                let n = out.chars().count() as u64;
                let ok = min.is_none_or(|m| n >= m) && max.is_none_or(|m| n <= m);
                yes_no(ok, format!("output is {n} characters long"))
            }
            AssertionKind::Similar { threshold } => match obs.expected {
                None => (
                    false,
                    0.0,
                    "similar needs the case's expected output, and the case has none".into(),
                ),
                Some(expected) => {
                    let s = similarity(expected, out);
                    (
                        s >= *threshold,
                        s,
                        format!("similarity to the expected output is {s:.2} (needs {threshold})"),
                    )
                }
            },
            AssertionKind::Latency { max_ms } => yes_no(
                obs.latency_ms <= *max_ms,
                format!("the model took {} ms", obs.latency_ms),
            ),
            AssertionKind::Cost { max } => match obs.cost {
                None => (
                    false,
                    0.0,
                    "the cost is unknown: the provider has no price for this model".into(),
                ),
                Some(c) => yes_no(c <= *max, format!("the call cost {c:.6}")),
            },
            AssertionKind::Rubric { .. } => {
                let i = *rubric_index;
                *rubric_index += 1;
                match obs.rubric_verdicts.get(i) {
                    Some(v) => (v.pass, v.score, v.reason.clone()),
                    None => (false, 0.0, "the grader gave no verdict".into()),
                }
            }
        }
    }
}

/// Word-level similarity of two texts, 0..1: twice the words the two have in common in order
/// (a longest common subsequence of lower-cased words, punctuation and spacing ignored) over
/// the words of both, so "Refunds take 30 days" and "Refunds take thirty days" are close and
/// an unrelated reply is not.
pub fn similarity(a: &str, b: &str) -> f64 {
    fn words(s: &str) -> Vec<String> {
        s.split(|c: char| !c.is_alphanumeric())
            .filter(|w| !w.is_empty())
            .map(str::to_lowercase)
            .collect()
    }
    let (a, b) = (words(a), words(b));
    if a.is_empty() && b.is_empty() {
        return 1.0;
    }
    let ops = similar::capture_diff_slices_deadline(
        similar::Algorithm::Myers,
        &a,
        &b,
        Some(std::time::Instant::now() + std::time::Duration::from_millis(200)),
    );
    let common: usize = ops
        .iter()
        .map(|op| match op {
            similar::DiffOp::Equal { len, .. } => *len,
            _ => 0,
        })
        .sum();
    (2 * common) as f64 / (a.len() + b.len()) as f64
}

fn clip(s: &str) -> String {
    const MAX: usize = 80;
    if s.chars().count() <= MAX {
        s.to_string()
    } else {
        let head: String = s.chars().take(MAX).collect();
        format!("{head}…")
    }
}

/// A case's verdict from its checks: it passes when every assertion does; its score is the
/// weighted mean of the scores (1 when it has no assertions and the model answered).
pub fn case_score(assertions: &[Assertion], checks: &[Check]) -> (bool, f64) {
    let passed = checks.iter().all(|c| c.passed);
    let total: f64 = assertions.iter().map(|a| a.weight).sum();
    if checks.is_empty() || total <= 0.0 {
        return (passed, if passed { 1.0 } else { 0.0 });
    }
    let weighted: f64 = assertions
        .iter()
        .zip(checks)
        .map(|(a, c)| a.weight * c.score)
        .sum();
    (passed, weighted / total)
}

/// Checks every assertion of a case against one output.
pub fn check_all(assertions: &[Assertion], obs: &Observation<'_>) -> Vec<Check> {
    let mut rubric_index = 0;
    assertions
        .iter()
        .map(|a| a.check(obs, &mut rubric_index))
        .collect()
}

/// Reads the short form used in CSV columns and the CLI: `contains: refund`,
/// `not-icontains: sorry`, `regex: ^Hi`, `is-json`, `length: 10..200`, `similar: 0.8`,
/// `latency: 2000`, `cost: 0.01`, `contains-any: a | b`, `rubric: is polite`,
/// `starts-with: Hello`, `equals: yes`.
pub fn parse_short(text: &str) -> Result<Assertion, String> {
    let text = text.trim();
    let (head, arg) = match text.split_once(':') {
        Some((h, a)) => (h.trim(), a.trim()),
        None => (text, ""),
    };
    let (not, name) = match head.strip_prefix("not-") {
        Some(rest) => (true, rest),
        None => (false, head),
    };
    let need = |what: &str| -> Result<String, String> {
        if arg.is_empty() {
            Err(format!(
                "{head}: needs {what} after the colon (`{head}: …`)"
            ))
        } else {
            Ok(arg.to_string())
        }
    };
    let list = || -> Result<Vec<String>, String> {
        let v: Vec<String> = arg
            .split('|')
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
            .collect();
        if v.is_empty() {
            Err(format!("{head}: list the values separated by `|`"))
        } else {
            Ok(v)
        }
    };
    let number = |what: &str| -> Result<f64, String> {
        arg.parse::<f64>()
            .map_err(|_| format!("{head}: {what} must be a number (got {arg:?})"))
    };
    let kind = match name {
        "equals" => AssertionKind::Equals {
            value: need("the expected text")?,
        },
        "contains" => AssertionKind::Contains {
            value: need("the text")?,
        },
        "icontains" => AssertionKind::Icontains {
            value: need("the text")?,
        },
        "contains-any" => AssertionKind::ContainsAny { values: list()? },
        "contains-all" => AssertionKind::ContainsAll { values: list()? },
        "regex" => AssertionKind::Regex {
            pattern: need("a pattern")?,
        },
        "starts-with" => AssertionKind::StartsWith {
            value: need("the text")?,
        },
        "is-json" => AssertionKind::IsJson,
        "json-schema" => AssertionKind::JsonSchema {
            schema: serde_json::from_str(&need("a JSON schema")?)
                .map_err(|e| format!("json-schema: the schema is not JSON: {e}"))?,
        },
        "length" => {
            let a = need("a range such as 10..200, ..200 or 10..")?;
            let (lo, hi) = a
                .split_once("..")
                .ok_or_else(|| format!("length: write a range such as 10..200 (got {a:?})"))?;
            let parse = |s: &str| -> Result<Option<u64>, String> {
                let s = s.trim().trim_start_matches('=');
                if s.is_empty() {
                    Ok(None)
                } else {
                    s.parse()
                        .map(Some)
                        .map_err(|_| format!("length: {s:?} is not a whole number"))
                }
            };
            AssertionKind::Length {
                min: parse(lo)?,
                max: parse(hi)?,
            }
        }
        "similar" => AssertionKind::Similar {
            threshold: number("the threshold")?,
        },
        "latency" => AssertionKind::Latency {
            max_ms: number("the bound in milliseconds")? as u64,
        },
        "cost" => AssertionKind::Cost {
            max: number("the bound")?,
        },
        "rubric" | "llm-rubric" => AssertionKind::Rubric {
            rubric: need("the rubric text")?,
            grader: String::new(),
        },
        other => {
            return Err(format!(
            "unknown assertion type {other:?}; known: equals, contains, icontains, contains-any, \
                 contains-all, regex, starts-with, is-json, json-schema, length, similar, latency, \
                 cost, rubric (each may start with not-)"
        ))
        }
    };
    let a = Assertion {
        kind,
        not,
        weight: 1.0,
    };
    a.validate()?;
    Ok(a)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn obs(output: &str) -> Observation<'_> {
        Observation {
            output,
            ..Default::default()
        }
    }

    fn run(a: &Assertion, o: &Observation<'_>) -> Check {
        a.check(o, &mut 0)
    }

    #[test]
    fn each_kind_passes_and_fails_on_the_right_output() {
        let cases: Vec<(&str, &str, &str)> = vec![
            ("equals: Yes", " Yes\n", "No"),
            ("contains: 30 days", "within 30 days", "within a month"),
            ("icontains: REFUND", "your refund", "your money"),
            ("contains-any: refund | credit", "a store credit", "nothing"),
            (
                "contains-all: refund | days",
                "refund in 30 days",
                "refund soon",
            ),
            ("regex: ^Hi [A-Z]", "Hi Ana", "hi ana"),
            ("starts-with: Dear", "  Dear Ana", "Hello Ana"),
            ("is-json", "{\"a\": 1}", "{a: 1}"),
            ("length: 3..5", "abcd", "abcdef"),
            ("not-contains: sorry", "Thanks!", "I'm sorry"),
        ];
        for (short, good, bad) in cases {
            let a = parse_short(short).unwrap();
            assert!(
                run(&a, &obs(good)).passed,
                "{short} should pass on {good:?}"
            );
            let c = run(&a, &obs(bad));
            assert!(!c.passed, "{short} should fail on {bad:?}");
            assert!(!c.message.is_empty());
        }
    }

    #[test]
    fn json_schema_checks_structure_and_names_the_problem() {
        let a = Assertion::new(AssertionKind::JsonSchema {
            schema: serde_json::json!({
                "type": "object", "required": ["answer"],
                "properties": {"answer": {"type": "string", "minLength": 2}}
            }),
        });
        assert!(a.validate().is_ok());
        assert!(run(&a, &obs(r#"{"answer": "yes"}"#)).passed);
        let c = run(&a, &obs(r#"{"answer": 3}"#));
        assert!(!c.passed);
        assert!(c.message.contains("/answer"), "{}", c.message);
        assert!(!run(&a, &obs("not json")).passed);
    }

    #[test]
    fn similarity_scores_near_paraphrases_above_unrelated_text() {
        let expected = "Refunds are paid within 30 days of the return.";
        let near = similarity(
            expected,
            "Refunds are paid within thirty days of the return.",
        );
        let far = similarity(expected, "Our office opens at nine.");
        assert!(near > 0.7, "{near}");
        assert!(far < 0.3, "{far}");
        let a = parse_short("similar: 0.7").unwrap();
        let o = Observation {
            output: "Refunds are paid within thirty days of the return.",
            expected: Some(expected),
            ..Default::default()
        };
        let c = run(&a, &o);
        assert!(c.passed && (c.score - near).abs() < 1e-9);
        // Without an expected output the assertion cannot pass and says why.
        assert!(run(&a, &obs("x")).message.contains("expected output"));
    }

    #[test]
    fn latency_cost_and_rubric_use_what_the_call_measured() {
        let lat = parse_short("latency: 500").unwrap();
        let mut o = obs("hi");
        o.latency_ms = 499;
        assert!(run(&lat, &o).passed);
        o.latency_ms = 501;
        assert!(!run(&lat, &o).passed);
        let cost = parse_short("cost: 0.01").unwrap();
        assert!(!run(&cost, &o).passed, "unknown cost cannot pass");
        o.cost = Some(0.002);
        assert!(run(&cost, &o).passed);
        let rubric = parse_short("rubric: is polite").unwrap();
        let verdicts = vec![RubricVerdict {
            pass: false,
            score: 0.2,
            reason: "curt".into(),
        }];
        o.rubric_verdicts = &verdicts;
        let c = run(&rubric, &o);
        assert!(!c.passed && c.message == "curt" && (c.score - 0.2).abs() < 1e-9);
    }

    #[test]
    fn negation_flips_the_verdict_and_the_score() {
        let a = parse_short("not-contains-all: a | b").unwrap();
        let c = run(&a, &obs("a only"));
        assert!(c.passed);
        assert!((c.score - 0.5).abs() < 1e-9);
        assert!(!run(&a, &obs("a and b")).passed);
    }

    #[test]
    fn weighted_score_and_all_must_pass() {
        let mut heavy = parse_short("contains: refund").unwrap();
        heavy.weight = 3.0;
        let light = parse_short("contains: sorry").unwrap();
        let assertions = vec![heavy, light];
        let checks = check_all(&assertions, &obs("refund"));
        let (passed, score) = case_score(&assertions, &checks);
        assert!(!passed);
        assert!((score - 0.75).abs() < 1e-9, "{score}");
        assert_eq!(case_score(&[], &[]), (true, 1.0));
    }

    #[test]
    fn bad_assertions_are_refused_with_the_reason() {
        for (short, needle) in [
            ("regex: (", "does not compile"),
            ("similar: 2", "between 0 and 1"),
            ("length: 9..3", "above max"),
            ("frobnicate: x", "unknown assertion type"),
            ("contains:", "needs the text"),
            ("json-schema: {\"type\": \"object\", \"frob\": 1}", "frob"),
        ] {
            let e = parse_short(short).unwrap_err();
            assert!(e.contains(needle), "{short}: {e}");
        }
    }

    #[test]
    fn assertions_round_trip_through_json_in_promptfoo_terms() {
        let a = parse_short("not-icontains: sorry").unwrap();
        let v = serde_json::to_value(&a).unwrap();
        assert_eq!(
            v,
            serde_json::json!({"type": "icontains", "value": "sorry", "not": true})
        );
        let back: Assertion = serde_json::from_value(v).unwrap();
        assert_eq!(back, a);
    }

    #[test]
    fn odd_outputs_get_a_verdict_with_a_score_in_range() {
        let all = [
            "equals: x",
            "contains: x",
            "regex: x+",
            "is-json",
            "length: 1..2",
            "similar: 0.5",
            "starts-with: x",
        ];
        for s in all {
            let a = parse_short(s).unwrap();
            for out in ["", "\u{0}", "🦀🦀", &"x".repeat(100_000)] {
                let c = run(&a, &obs(out));
                assert!(
                    (0.0..=1.0).contains(&c.score),
                    "{s} on {:?}",
                    &out[..out.len().min(8)]
                );
            }
        }
    }
}
