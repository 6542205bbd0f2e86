//! Checking the inputs of a render against the prompt's variable schema.
//!
//! Rendering is strict (an undefined variable is an error), so the inputs are checked first and
//! the author gets every problem at once, in the schema's words ("missing required input
//! 'customer_name' (string)"), rather than the first undefined variable the engine trips over.

use std::collections::BTreeSet;

use promptdesk_content::{VarType, Variable};
use serde_json::{Map, Value};

use crate::error::{ErrorKind, TemplateError};

/// Checks inputs against the schema and returns them with defaults filled in.
///
/// - A declared variable that is absent or `null` gets its default; without one it is an error
///   of kind [`ErrorKind::MissingInput`] if required, and stays absent otherwise (a `null` is
///   removed, so `{% if x is defined %}` sees it as not given).
/// - A value of the wrong type is an error of kind [`ErrorKind::WrongType`].
/// - Inputs not in the schema pass through unchanged (plain templates have inferred schemas).
///
/// If there are several problems, the message lists all of them in schema order, separated by
/// `; `, and the kind is that of the first.
pub fn validate_inputs(
    schema: &[Variable],
    inputs: &Map<String, Value>,
) -> Result<Map<String, Value>, TemplateError> {
    let mut out = inputs.clone();
    let mut problems: Vec<(ErrorKind, String)> = Vec::new();
    for var in schema {
        match inputs.get(&var.name) {
            Some(value) if !value.is_null() => {
                if !var.ty.accepts(value) {
                    problems.push((
                        ErrorKind::WrongType,
                        format!(
                            "input '{}' must be {} {}, got {}",
                            var.name,
                            article(var.ty.as_str()),
                            var.ty,
                            VarType::name_of(value)
                        ),
                    ));
                }
            }
            _ => match &var.default {
                Some(default) if !default.is_null() => {
                    out.insert(var.name.clone(), default.clone());
                }
                _ if var.required => problems.push((
                    ErrorKind::MissingInput,
                    format!("missing required input '{}' ({})", var.name, var.ty),
                )),
                _ => {
                    out.remove(&var.name);
                }
            },
        }
    }
    let Some((kind, _)) = problems.first() else {
        return Ok(out);
    };
    let message = problems
        .iter()
        .map(|(_, m)| m.as_str())
        .collect::<Vec<_>>()
        .join("; ");
    Err(TemplateError::new(*kind, message))
}

/// A schema inferred from a template's referenced variables: each a non-required string.
pub fn infer_schema(used: &BTreeSet<String>) -> Vec<Variable> {
    used.iter()
        .map(|name| Variable {
            name: name.clone(),
            ty: VarType::String,
            required: false,
            default: None,
            description: None,
        })
        .collect()
}

fn article(word: &str) -> &'static str {
    if word.starts_with(['a', 'e', 'i', 'o', 'u']) {
        "an"
    } else {
        "a"
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn var(name: &str, ty: VarType, required: bool, default: Option<Value>) -> Variable {
        Variable {
            name: name.into(),
            ty,
            required,
            default,
            description: None,
        }
    }

    fn map(v: Value) -> Map<String, Value> {
        v.as_object().cloned().unwrap()
    }

    fn schema() -> Vec<Variable> {
        vec![
            var("customer_name", VarType::String, true, None),
            var("order_total", VarType::Number, true, None),
            var("tone", VarType::String, false, Some(json!("friendly"))),
            var("notes", VarType::String, false, None),
            var("items", VarType::List, false, Some(json!([]))),
        ]
    }

    #[test]
    fn valid_inputs_come_back_with_defaults_filled_in() {
        let out = validate_inputs(
            &schema(),
            &map(json!({"customer_name": "Ada", "order_total": 12.5})),
        )
        .unwrap();
        assert_eq!(
            Value::Object(out),
            json!({"customer_name": "Ada", "order_total": 12.5, "tone": "friendly", "items": []})
        );
    }

    #[test]
    fn given_values_win_over_defaults() {
        let out = validate_inputs(
            &schema(),
            &map(json!({"customer_name": "Ada", "order_total": 1, "tone": "formal"})),
        )
        .unwrap();
        assert_eq!(out["tone"], json!("formal"));
    }

    #[test]
    fn a_missing_required_input_is_named_with_its_type() {
        let err = validate_inputs(&schema(), &map(json!({"order_total": 3}))).unwrap_err();
        assert_eq!(err.kind, ErrorKind::MissingInput);
        assert_eq!(
            err.message,
            "missing required input 'customer_name' (string)"
        );
    }

    #[test]
    fn a_wrong_type_says_what_was_expected_and_what_came() {
        let err = validate_inputs(
            &schema(),
            &map(json!({"customer_name": "Ada", "order_total": "12"})),
        )
        .unwrap_err();
        assert_eq!(err.kind, ErrorKind::WrongType);
        assert_eq!(
            err.message,
            "input 'order_total' must be a number, got string"
        );
        let err = validate_inputs(
            &schema(),
            &map(json!({"customer_name": "Ada", "order_total": 1, "items": {"a": 1}})),
        )
        .unwrap_err();
        assert_eq!(err.message, "input 'items' must be a list, got object");
    }

    #[test]
    fn several_problems_are_listed_together_with_the_kind_of_the_first() {
        let err = validate_inputs(&schema(), &map(json!({"order_total": true}))).unwrap_err();
        assert_eq!(err.kind, ErrorKind::MissingInput);
        insta::assert_snapshot!(err.message, @"missing required input 'customer_name' (string); input 'order_total' must be a number, got boolean");
    }

    #[test]
    fn null_counts_as_not_given() {
        let err = validate_inputs(
            &schema(),
            &map(json!({"customer_name": null, "order_total": 1})),
        )
        .unwrap_err();
        assert_eq!(err.kind, ErrorKind::MissingInput);
        let out = validate_inputs(
            &schema(),
            &map(json!({"customer_name": "Ada", "order_total": 1, "tone": null, "notes": null})),
        )
        .unwrap();
        assert_eq!(out["tone"], json!("friendly"));
        assert!(!out.contains_key("notes"));
    }

    #[test]
    fn a_required_input_with_a_default_is_filled_not_refused() {
        let schema = [var("lang", VarType::String, true, Some(json!("en")))];
        let out = validate_inputs(&schema, &Map::new()).unwrap();
        assert_eq!(out["lang"], json!("en"));
    }

    #[test]
    fn inputs_outside_the_schema_pass_through() {
        let out = validate_inputs(
            &schema(),
            &map(json!({"customer_name": "Ada", "order_total": 1, "extra": {"x": [1]}})),
        )
        .unwrap();
        assert_eq!(out["extra"], json!({"x": [1]}));
    }

    #[test]
    fn an_inferred_schema_is_optional_strings_in_name_order() {
        let used: BTreeSet<String> = ["b", "a"].iter().map(|s| s.to_string()).collect();
        let schema = infer_schema(&used);
        assert_eq!(
            schema,
            vec![
                var("a", VarType::String, false, None),
                var("b", VarType::String, false, None)
            ]
        );
        // Every input is optional, so nothing is missing.
        assert!(validate_inputs(&schema, &Map::new()).unwrap().is_empty());
    }
}
