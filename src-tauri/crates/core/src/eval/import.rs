//! Reading test cases from CSV and JSONL files.
//!
//! CSV: one case per row; the header names the columns. A plain column is a variable. Columns
//! starting with `__` are the case's other fields: `__expected` (the expected output),
//! `__description`, `__tags` (separated by `,` or `;`), and `__assert`, `__assert2`, … each one
//! assertion in the short form of [`super::assertions::parse_short`] (`contains: refund`).
//! Variable values are strings, except that a cell holding a JSON array or object is read as
//! one (so a list variable can be written `["a","b"]`).
//!
//! JSONL: one JSON object per line, `{"vars": {…}, "expected": "…", "assert": [...],
//! "tags": [...], "description": "…"}`; `assert` items are assertion objects (`{"type":
//! "contains", "value": "refund"}`) or short-form strings. Blank lines are skipped.
//!
//! Every error names the line (and column) it is about, and nothing is imported from a file
//! with any error.

use serde_json::{Map, Value};

use super::assertions::{parse_short, Assertion};
use super::CaseInput;

/// Which format a file is in, from its extension.
pub fn format_of(path: &str) -> Option<&'static str> {
    let lower = path.to_ascii_lowercase();
    if lower.ends_with(".csv") {
        Some("csv")
    } else if lower.ends_with(".jsonl") || lower.ends_with(".ndjson") {
        Some("jsonl")
    } else {
        None
    }
}

pub fn parse(format: &str, text: &str) -> Result<Vec<CaseInput>, String> {
    match format {
        "csv" => parse_csv(text),
        "jsonl" => parse_jsonl(text),
        other => Err(format!(
            "unknown case file format {other:?}: use a .csv or .jsonl file"
        )),
    }
}

pub fn parse_csv(text: &str) -> Result<Vec<CaseInput>, String> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(false)
        .from_reader(text.as_bytes());
    let headers: Vec<String> = reader
        .headers()
        .map_err(|e| format!("line 1: the header does not parse: {e}"))?
        .iter()
        .map(|h| h.trim().to_string())
        .collect();
    if headers.iter().all(|h| h.is_empty()) {
        return Err("line 1: the header row is empty".into());
    }
    for (i, h) in headers.iter().enumerate() {
        if h.is_empty() {
            return Err(format!("line 1, column {}: the column has no name", i + 1));
        }
        if headers[..i].contains(h) {
            return Err(format!("line 1: column {h:?} appears twice"));
        }
        if let Some(special) = h.strip_prefix("__") {
            let known = special == "expected"
                || special == "description"
                || special == "tags"
                || special
                    .strip_prefix("assert")
                    .is_some_and(|n| n.chars().all(|c| c.is_ascii_digit()));
            if !known {
                return Err(format!(
                    "line 1: unknown column {h:?} (special columns: __expected, __description, \
                     __tags, __assert, __assert2, …)"
                ));
            }
        }
    }
    let mut cases = Vec::new();
    for record in reader.records() {
        let record = record.map_err(|e| match e.position() {
            Some(p) => format!("line {}: {e}", p.line()),
            None => e.to_string(),
        })?;
        let line = record.position().map(|p| p.line()).unwrap_or(0);
        if record.iter().all(|c| c.trim().is_empty()) {
            continue;
        }
        let mut case = CaseInput::default();
        for (h, cell) in headers.iter().zip(record.iter()) {
            match h.as_str() {
                "__expected" => {
                    if !cell.is_empty() {
                        case.expected = Some(cell.to_string());
                    }
                }
                "__description" => case.description = cell.trim().to_string(),
                "__tags" => {
                    case.tags = cell
                        .split([',', ';'])
                        .map(|t| t.trim().to_string())
                        .filter(|t| !t.is_empty())
                        .collect()
                }
                h if h.starts_with("__assert") => {
                    if !cell.trim().is_empty() {
                        let a = parse_short(cell).map_err(|e| format!("line {line}, {h}: {e}"))?;
                        case.assertions.push(a);
                    }
                }
                var => {
                    let trimmed = cell.trim_start();
                    let value = if trimmed.starts_with('[') || trimmed.starts_with('{') {
                        serde_json::from_str(cell).unwrap_or_else(|_| Value::String(cell.into()))
                    } else {
                        Value::String(cell.to_string())
                    };
                    case.vars.insert(var.to_string(), value);
                }
            }
        }
        cases.push(case);
    }
    Ok(cases)
}

pub fn parse_jsonl(text: &str) -> Result<Vec<CaseInput>, String> {
    let mut cases = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let n = i + 1;
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        let v: Value =
            serde_json::from_str(line).map_err(|e| format!("line {n}: not JSON: {e}"))?;
        let obj = v
            .as_object()
            .ok_or_else(|| format!("line {n}: each line must be a JSON object"))?;
        for k in obj.keys() {
            if !matches!(
                k.as_str(),
                "vars" | "expected" | "assert" | "tags" | "description"
            ) {
                return Err(format!(
                    "line {n}: unknown field {k:?} (fields: vars, expected, assert, tags, description)"
                ));
            }
        }
        let mut case = CaseInput::default();
        match obj.get("vars") {
            None | Some(Value::Null) => {}
            Some(Value::Object(m)) => case.vars = m.clone(),
            Some(_) => return Err(format!("line {n}: vars must be an object")),
        }
        match obj.get("expected") {
            None | Some(Value::Null) => {}
            Some(Value::String(s)) => case.expected = Some(s.clone()),
            Some(other) => case.expected = Some(other.to_string()),
        }
        if let Some(d) = obj.get("description") {
            case.description = d
                .as_str()
                .ok_or_else(|| format!("line {n}: description must be a string"))?
                .to_string();
        }
        if let Some(t) = obj.get("tags") {
            case.tags = t
                .as_array()
                .and_then(|a| a.iter().map(|x| x.as_str().map(String::from)).collect())
                .ok_or_else(|| format!("line {n}: tags must be an array of strings"))?;
        }
        if let Some(list) = obj.get("assert") {
            let list = list
                .as_array()
                .ok_or_else(|| format!("line {n}: assert must be an array"))?;
            for (j, a) in list.iter().enumerate() {
                let a = match a {
                    Value::String(s) => parse_short(s),
                    other => serde_json::from_value::<Assertion>(other.clone())
                        .map_err(|e| format!("not an assertion: {e}"))
                        .and_then(|a| a.validate().map(|_| a)),
                }
                .map_err(|e| format!("line {n}, assert[{j}]: {e}"))?;
                case.assertions.push(a);
            }
        }
        cases.push(case);
    }
    Ok(cases)
}

/// The variables map of a case as given on a command line: `name=value` pairs.
pub fn vars_from_pairs(pairs: &[String]) -> Result<Map<String, Value>, String> {
    let mut vars = Map::new();
    for p in pairs {
        let (k, v) = p
            .split_once('=')
            .ok_or_else(|| format!("{p:?}: write variables as name=value"))?;
        vars.insert(k.trim().to_string(), Value::String(v.to_string()));
    }
    Ok(vars)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::eval::assertions::AssertionKind;

    #[test]
    fn csv_columns_become_vars_and_special_fields() {
        let text = "\u{feff}question,__expected,__assert,__assert2,__tags,items\n\
                    \"Where is my refund?\",\"Within 30 days\",contains: 30 days,not-icontains: sorry,\"refund, smoke\",\"[\"\"a\"\"]\"\n\
                    \n\
                    \"multi\nline\",,,,,x\n";
        let cases = parse_csv(text).unwrap();
        assert_eq!(cases.len(), 2);
        let c = &cases[0];
        assert_eq!(c.vars["question"], "Where is my refund?");
        assert_eq!(c.vars["items"], serde_json::json!(["a"]));
        assert_eq!(c.expected.as_deref(), Some("Within 30 days"));
        assert_eq!(c.tags, vec!["refund", "smoke"]);
        assert_eq!(c.assertions.len(), 2);
        assert!(c.assertions[1].not);
        assert_eq!(cases[1].vars["question"], "multi\nline");
        assert!(cases[1].assertions.is_empty() && cases[1].expected.is_none());
    }

    #[test]
    fn csv_errors_name_the_line() {
        let e = parse_csv("q,__assert\na,frob: x\n").unwrap_err();
        assert!(e.starts_with("line 2, __assert:"), "{e}");
        let e = parse_csv("q,q\n1,2\n").unwrap_err();
        assert!(e.contains("appears twice"), "{e}");
        let e = parse_csv("q,__expect\n1,2\n").unwrap_err();
        assert!(e.contains("unknown column \"__expect\""), "{e}");
        let e = parse_csv("q,r\n1,2\n3\n").unwrap_err();
        assert!(e.starts_with("line 3"), "{e}");
    }

    #[test]
    fn jsonl_reads_objects_and_short_forms() {
        let text = r#"{"vars": {"q": "hi"}, "expected": "hello", "assert": [{"type": "contains", "value": "hel"}, "not-regex: ^No"], "tags": ["t"]}

{"vars": {"n": 3}, "description": "numbers"}"#;
        let cases = parse_jsonl(text).unwrap();
        assert_eq!(cases.len(), 2);
        assert_eq!(
            cases[0].assertions[0].kind,
            AssertionKind::Contains {
                value: "hel".into()
            }
        );
        assert!(cases[0].assertions[1].not);
        assert_eq!(cases[1].vars["n"], 3);
        assert_eq!(cases[1].description, "numbers");
        let e = parse_jsonl("{\"vars\": {}}\n{\"vars\": 1}").unwrap_err();
        assert_eq!(e, "line 2: vars must be an object");
        let e =
            parse_jsonl("{\"assert\": [{\"type\": \"regex\", \"pattern\": \"(\"}]}").unwrap_err();
        assert!(e.starts_with("line 1, assert[0]: regex"), "{e}");
        let e = parse_jsonl("{\"var\": {}}").unwrap_err();
        assert!(e.contains("unknown field \"var\""), "{e}");
    }
}
