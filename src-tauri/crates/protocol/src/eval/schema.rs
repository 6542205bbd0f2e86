//! The JSON Schema subset the `json-schema` assertion understands: `type`, `enum`, `const`,
//! `properties`, `required`, `additionalProperties`, `items`, `minItems`, `maxItems`,
//! `uniqueItems`, `minLength`, `maxLength`, `pattern`, `minimum`, `maximum`,
//! `exclusiveMinimum`, `exclusiveMaximum`, `multipleOf`, `allOf`, `anyOf`, `oneOf`, `not`, plus
//! annotations that do not constrain (`$schema`, `$id`, `title`, `description`, `default`,
//! `examples`, `format`, `$comment`). A schema using any other keyword (`$ref`, `if`, …) is
//! refused when the assertion is saved instead of being half-checked later: an assertion that
//! silently ignores part of its schema would pass outputs it should fail.

use serde_json::Value;

const CONSTRAINTS: &[&str] = &[
    "type",
    "enum",
    "const",
    "properties",
    "required",
    "additionalProperties",
    "items",
    "minItems",
    "maxItems",
    "uniqueItems",
    "minLength",
    "maxLength",
    "pattern",
    "minimum",
    "maximum",
    "exclusiveMinimum",
    "exclusiveMaximum",
    "multipleOf",
    "allOf",
    "anyOf",
    "oneOf",
    "not",
];
const ANNOTATIONS: &[&str] = &[
    "$schema",
    "$id",
    "title",
    "description",
    "default",
    "examples",
    "format",
    "$comment",
];
const TYPES: &[&str] = &[
    "object", "array", "string", "number", "integer", "boolean", "null",
];

/// Refuses a schema this checker cannot check completely.
pub fn check_schema(schema: &Value) -> Result<(), String> {
    walk_schema(schema, "#")
}

fn walk_schema(schema: &Value, at: &str) -> Result<(), String> {
    let obj = match schema {
        Value::Bool(_) => return Ok(()),
        Value::Object(o) => o,
        _ => return Err(format!("{at}: a schema is an object or true/false")),
    };
    for (k, v) in obj {
        if ANNOTATIONS.contains(&k.as_str()) {
            continue;
        }
        if !CONSTRAINTS.contains(&k.as_str()) {
            return Err(format!(
                "{at}: keyword {k:?} is not supported (supported: {})",
                CONSTRAINTS.join(", ")
            ));
        }
        let here = format!("{at}/{k}");
        match k.as_str() {
            "type" => {
                let names: Vec<&Value> = match v {
                    Value::Array(a) => a.iter().collect(),
                    other => vec![other],
                };
                for n in names {
                    match n.as_str() {
                        Some(t) if TYPES.contains(&t) => {}
                        _ => return Err(format!("{here}: {n} is not a JSON type")),
                    }
                }
            }
            "properties" => {
                let props = v
                    .as_object()
                    .ok_or_else(|| format!("{here}: must be an object"))?;
                for (name, s) in props {
                    walk_schema(s, &format!("{here}/{name}"))?;
                }
            }
            "items" | "additionalProperties" | "not" => walk_schema(v, &here)?,
            "allOf" | "anyOf" | "oneOf" => {
                let list = v
                    .as_array()
                    .filter(|a| !a.is_empty())
                    .ok_or_else(|| format!("{here}: must be a non-empty array of schemas"))?;
                for (i, s) in list.iter().enumerate() {
                    walk_schema(s, &format!("{here}/{i}"))?;
                }
            }
            "required" if !v.as_array().is_some_and(|a| a.iter().all(Value::is_string)) => {
                return Err(format!("{here}: must be an array of property names"));
            }
            "enum" if !v.is_array() => {
                return Err(format!("{here}: must be an array"));
            }
            "pattern" => {
                let p = v
                    .as_str()
                    .ok_or_else(|| format!("{here}: must be a string"))?;
                regex::Regex::new(p).map_err(|e| format!("{here}: does not compile: {e}"))?;
            }
            "minItems" | "maxItems" | "minLength" | "maxLength" if v.as_u64().is_none() => {
                return Err(format!("{here}: must be a whole number ≥ 0"));
            }
            "minimum" | "maximum" | "exclusiveMinimum" | "exclusiveMaximum" | "multipleOf"
                if !v.is_number() =>
            {
                return Err(format!("{here}: must be a number"));
            }
            "uniqueItems" if !v.is_boolean() => {
                return Err(format!("{here}: must be true or false"));
            }
            _ => {}
        }
    }
    Ok(())
}

/// Validates `value` against a schema already accepted by [`check_schema`]; each problem names
/// where in the value it is (a JSON pointer).
pub fn validate(schema: &Value, value: &Value) -> Result<(), Vec<String>> {
    let mut problems = Vec::new();
    check(schema, value, "", &mut problems);
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems)
    }
}

fn type_of(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_i64() || n.is_u64() => "integer",
        Value::Number(n) if n.as_f64().is_some_and(|f| f.fract() == 0.0) => "integer",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

fn is_type(v: &Value, t: &str) -> bool {
    let actual = type_of(v);
    actual == t || (t == "number" && actual == "integer")
}

fn check(schema: &Value, v: &Value, at: &str, problems: &mut Vec<String>) {
    let obj = match schema {
        Value::Bool(true) => return,
        Value::Bool(false) => {
            problems.push(format!("{}: no value is allowed here", here(at)));
            return;
        }
        Value::Object(o) => o,
        _ => return,
    };
    let mut fail = |msg: String| problems.push(format!("{}: {msg}", here(at)));
    if let Some(t) = obj.get("type") {
        let allowed: Vec<&str> = match t {
            Value::Array(a) => a.iter().filter_map(Value::as_str).collect(),
            other => other.as_str().into_iter().collect(),
        };
        if !allowed.iter().any(|t| is_type(v, t)) {
            fail(format!(
                "expected {}, found {}",
                allowed.join(" or "),
                type_of(v)
            ));
            return;
        }
    }
    if let Some(Value::Array(options)) = obj.get("enum") {
        if !options.contains(v) {
            fail(format!(
                "{v} is not one of {}",
                Value::Array(options.clone())
            ));
        }
    }
    if let Some(c) = obj.get("const") {
        if c != v {
            fail(format!("expected {c}, found {v}"));
        }
    }
    match v {
        Value::String(s) => {
            let n = s.chars().count() as u64;
            if let Some(m) = obj.get("minLength").and_then(Value::as_u64) {
                if n < m {
                    fail(format!("{n} characters, fewer than {m}"));
                }
            }
            if let Some(m) = obj.get("maxLength").and_then(Value::as_u64) {
                if n > m {
                    fail(format!("{n} characters, more than {m}"));
                }
            }
            if let Some(p) = obj.get("pattern").and_then(Value::as_str) {
                if let Ok(re) = regex::Regex::new(p) {
                    if !re.is_match(s) {
                        fail(format!("does not match /{p}/"));
                    }
                }
            }
        }
        Value::Number(n) => {
            let x = n.as_f64().unwrap_or(f64::NAN);
            let bound = |k: &str| obj.get(k).and_then(Value::as_f64);
            if let Some(m) = bound("minimum") {
                if x < m {
                    fail(format!("{x} is below the minimum {m}"));
                }
            }
            if let Some(m) = bound("maximum") {
                if x > m {
                    fail(format!("{x} is above the maximum {m}"));
                }
            }
            if let Some(m) = bound("exclusiveMinimum") {
                if x <= m {
                    fail(format!("{x} is not above {m}"));
                }
            }
            if let Some(m) = bound("exclusiveMaximum") {
                if x >= m {
                    fail(format!("{x} is not below {m}"));
                }
            }
            if let Some(m) = bound("multipleOf") {
                if m > 0.0 && ((x / m) - (x / m).round()).abs() > 1e-9 {
                    fail(format!("{x} is not a multiple of {m}"));
                }
            }
        }
        Value::Array(items) => {
            let n = items.len() as u64;
            if let Some(m) = obj.get("minItems").and_then(Value::as_u64) {
                if n < m {
                    fail(format!("{n} items, fewer than {m}"));
                }
            }
            if let Some(m) = obj.get("maxItems").and_then(Value::as_u64) {
                if n > m {
                    fail(format!("{n} items, more than {m}"));
                }
            }
            if obj.get("uniqueItems") == Some(&Value::Bool(true)) {
                for (i, a) in items.iter().enumerate() {
                    if items[..i].contains(a) {
                        fail(format!("item {i} repeats an earlier item"));
                        break;
                    }
                }
            }
            if let Some(s) = obj.get("items") {
                for (i, item) in items.iter().enumerate() {
                    check(s, item, &format!("{at}/{i}"), problems);
                }
            }
        }
        Value::Object(map) => {
            if let Some(Value::Array(req)) = obj.get("required") {
                for name in req.iter().filter_map(Value::as_str) {
                    if !map.contains_key(name) {
                        problems.push(format!("{}: property {name:?} is missing", here(at)));
                    }
                }
            }
            let props = obj.get("properties").and_then(Value::as_object);
            for (k, item) in map {
                let path = format!("{at}/{}", k.replace('~', "~0").replace('/', "~1"));
                match props.and_then(|p| p.get(k)) {
                    Some(s) => check(s, item, &path, problems),
                    None => {
                        if let Some(extra) = obj.get("additionalProperties") {
                            if extra == &Value::Bool(false) {
                                problems
                                    .push(format!("{}: property {k:?} is not allowed", here(at)));
                            } else {
                                check(extra, item, &path, problems);
                            }
                        }
                    }
                }
            }
        }
        _ => {}
    }
    if let Some(Value::Array(all)) = obj.get("allOf") {
        for s in all {
            check(s, v, at, problems);
        }
    }
    if let Some(Value::Array(any)) = obj.get("anyOf") {
        if !any.iter().any(|s| validate(s, v).is_ok()) {
            problems.push(format!("{}: matches none of anyOf", here(at)));
        }
    }
    if let Some(Value::Array(one)) = obj.get("oneOf") {
        let n = one.iter().filter(|s| validate(s, v).is_ok()).count();
        if n != 1 {
            problems.push(format!(
                "{}: matches {n} of oneOf (needs exactly 1)",
                here(at)
            ));
        }
    }
    if let Some(s) = obj.get("not") {
        if validate(s, v).is_ok() {
            problems.push(format!("{}: matches the schema under not", here(at)));
        }
    }
}

fn here(at: &str) -> &str {
    if at.is_empty() {
        "/"
    } else {
        at
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn objects_arrays_and_scalars_are_checked_with_their_paths() {
        let schema = json!({
            "type": "object",
            "required": ["reply", "tags"],
            "additionalProperties": false,
            "properties": {
                "reply": {"type": "string", "minLength": 3, "pattern": "^[A-Z]"},
                "tags": {"type": "array", "items": {"enum": ["refund", "billing"]}, "maxItems": 2},
                "score": {"type": "number", "minimum": 0, "maximum": 1}
            }
        });
        check_schema(&schema).unwrap();
        assert!(validate(
            &schema,
            &json!({"reply": "Yes", "tags": ["refund"], "score": 0.5})
        )
        .is_ok());
        let problems = validate(
            &schema,
            &json!({"reply": "no", "tags": ["refund", "x", "billing"], "score": 2, "extra": 1}),
        )
        .unwrap_err();
        let all = problems.join("\n");
        for needle in [
            "/reply: 2 characters",
            "/reply: does not match",
            "/tags: 3 items",
            "/tags/1: \"x\" is not one of",
            "/score: 2 is above",
            "property \"extra\" is not allowed",
        ] {
            assert!(all.contains(needle), "missing {needle:?} in\n{all}");
        }
        assert!(validate(&schema, &json!({"reply": "Yes"}))
            .unwrap_err()
            .join("")
            .contains("\"tags\" is missing"));
    }

    #[test]
    fn combinators_and_integer_typing() {
        let s = json!({"anyOf": [{"type": "integer"}, {"type": "string"}]});
        assert!(validate(&s, &json!(3)).is_ok());
        assert!(validate(&s, &json!(3.0)).is_ok());
        assert!(validate(&s, &json!(3.5)).is_err());
        let one = json!({"oneOf": [{"type": "number"}, {"type": "integer"}]});
        assert!(validate(&one, &json!(2)).is_err(), "an integer is both");
        assert!(validate(&one, &json!(2.5)).is_ok());
        assert!(validate(&json!({"not": {"const": 1}}), &json!(1)).is_err());
    }

    #[test]
    fn unsupported_keywords_are_refused_not_ignored() {
        let e = check_schema(&json!({"properties": {"a": {"$ref": "#/x"}}})).unwrap_err();
        assert!(e.contains("#/properties/a") && e.contains("$ref"), "{e}");
        assert!(check_schema(&json!({"type": "strin"})).is_err());
        assert!(check_schema(&json!({"title": "t", "format": "email", "type": "string"})).is_ok());
    }
}
