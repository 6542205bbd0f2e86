//! The minijinja configuration every part of this crate shares, and the translation of
//! minijinja's errors into [`TemplateError`]s.
//!
//! Analysis and rendering must agree on the syntax, so the environment is built in exactly one
//! place. minijinja's errors are precise but technical ("undefined value (in x:3)"); authors get
//! one line naming the variable, the template, the line and the column instead.

use std::error::Error as _;

use minijinja::{AutoEscape, Environment, UndefinedBehavior};

use crate::error::{ErrorKind, SourceLocation, TemplateError};
use crate::explain;

/// Names that are always defined while rendering (minijinja's globals and the names the engine
/// binds itself), so a template that reads them does not read an input.
pub(crate) const ENGINE_NAMES: &[&str] = &[
    "range",
    "dict",
    "debug",
    "namespace",
    "loop",
    "self",
    "super",
    "caller",
    "varargs",
    "kwargs",
];

/// The environment used for everything: strict undefined (a typo is an error, not an empty
/// string), no autoescaping (prompts are not HTML), debug info on (for error columns and the
/// names of undefined expressions), and the fuel limit when rendering.
pub(crate) fn environment<'s>(fuel: Option<u64>) -> Environment<'s> {
    let mut env = Environment::new();
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    env.set_auto_escape_callback(|_| AutoEscape::None);
    env.set_debug(true);
    env.set_fuel(fuel);
    env
}

/// What [`convert`] needs to know besides the error itself.
pub(crate) struct ErrorContext<'a> {
    /// Finds a template's source by the name it was compiled under.
    pub sources: &'a dyn Fn(&str) -> Option<&'a str>,
    /// The fuel limit in force, for the out-of-fuel message.
    pub fuel: Option<u64>,
    /// The names of the inputs given, when rendering: an undefined variable a letter or two off
    /// one of them is probably that one.
    pub inputs: Option<&'a serde_json::Map<String, serde_json::Value>>,
}

/// Translates a minijinja error into a located, one-line [`TemplateError`].
///
/// Errors inside an included template arrive wrapped ("error in \"x\"" caused by the real
/// error); the innermost error is the one reported, with where it was included from appended.
pub(crate) fn convert(err: &minijinja::Error, cx: &ErrorContext<'_>) -> TemplateError {
    let mut inner = err;
    while let Some(next) = inner
        .source()
        .and_then(|s| s.downcast_ref::<minijinja::Error>())
    {
        inner = next;
    }

    let name = inner.name();
    let source = inner
        .template_source()
        .or_else(|| name.and_then(|n| (cx.sources)(n)));
    let location = match (name, source) {
        (Some(name), Some(source)) => match inner.range() {
            Some(range) => Some(SourceLocation::at_offset(name, source, range.start)),
            None => inner
                .line()
                .map(|line| SourceLocation::at_line(name, source, line)),
        },
        _ => None,
    };
    let excerpt = match (source, inner.range()) {
        (Some(source), Some(range)) => source.get(range).map(str::trim),
        _ => None,
    };

    let (kind, mut message) = describe(inner, excerpt, cx);
    // The common mistakes, in plain words and at the construct that is wrong (see `explain`).
    let advice = match (name, source) {
        (Some(_), Some(source)) if kind == ErrorKind::Syntax => explain::syntax(source),
        (Some(_), Some(source)) if inner.kind() == minijinja::ErrorKind::UnknownFilter => inner
            .range()
            .and_then(|r| explain::unknown_filter(source, r.start, excerpt.unwrap_or(""))),
        (Some(_), Some(source)) if kind == ErrorKind::UndefinedVariable => {
            // The name as the message gives it (see `describe`).
            let typed = undefined_expression(inner.detail().unwrap_or("").trim()).or(excerpt);
            match (cx.inputs, inner.range(), typed) {
                (Some(inputs), Some(r), Some(typed)) if is_identifier(typed) => {
                    explain::misspelt_input(
                        source,
                        r.start,
                        typed,
                        inputs.keys().map(String::as_str),
                    )
                }
                _ => None,
            }
        }
        _ => None,
    };
    let mut fix = None;
    let mut location = location;
    if let (Some(advice), Some(name), Some(source)) = (advice, name, source) {
        message = advice.message;
        location = Some(SourceLocation::at_offset(name, source, advice.offset));
        fix = advice.fix;
    }
    if !std::ptr::eq(inner, err) {
        if let (Some(outer_name), Some(line)) = (err.name(), err.line()) {
            message.push_str(&format!(" (included from {outer_name}, line {line})"));
        }
        // A fix applies to the include's source, which the writer is not editing here.
        fix = None;
    }
    let mut error = TemplateError::new(kind, message);
    error.fix = fix.map(Box::new);
    match location {
        Some(location) => error.at(location),
        None => error,
    }
}

/// The kind and message for one (innermost) minijinja error. `excerpt` is the source text the
/// error points at, if known.
fn describe(
    err: &minijinja::Error,
    excerpt: Option<&str>,
    cx: &ErrorContext<'_>,
) -> (ErrorKind, String) {
    use minijinja::ErrorKind as K;
    let detail = err.detail().unwrap_or("").trim();
    match err.kind() {
        K::SyntaxError | K::BadEscape | K::InvalidDelimiter => (
            ErrorKind::Syntax,
            if detail.is_empty() {
                "syntax error".to_string()
            } else {
                format!("syntax error: {detail}")
            },
        ),
        K::UndefinedError => {
            let what = undefined_expression(detail).or(excerpt.filter(|e| !e.is_empty()));
            let message = match what {
                Some(expr) if is_identifier(expr) => format!("undefined variable '{expr}'"),
                Some(expr) => format!("'{expr}' is undefined"),
                None => "a value used here is undefined".to_string(),
            };
            (ErrorKind::UndefinedVariable, message)
        }
        K::TemplateNotFound => {
            let missing = quoted(detail).unwrap_or(detail);
            (
                ErrorKind::UnknownInclude,
                format!("unknown include '{missing}': no such prompt was provided to include"),
            )
        }
        K::OutOfFuel => (
            ErrorKind::OutOfFuel,
            match cx.fuel {
                Some(fuel) => format!(
                    "the template ran more than {fuel} steps and was stopped — is there a loop that never ends?"
                ),
                None => "the template ran too many steps and was stopped".to_string(),
            },
        ),
        K::InvalidOperation if detail.contains("recursion limit") => (
            ErrorKind::Render,
            "the template nests or calls itself too deeply (recursion limit reached) — does a macro or include call itself without end?"
                .to_string(),
        ),
        kind => (
            ErrorKind::Render,
            if detail.is_empty() {
                kind.to_string()
            } else {
                format!("{kind}: {detail}")
            },
        ),
    }
}

/// The expression minijinja names in "`user.name` is undefined …" details.
fn undefined_expression(detail: &str) -> Option<&str> {
    let start = detail.find('`')? + 1;
    let len = detail[start..].find('`')?;
    let rest = &detail[start + len + 1..];
    rest.trim_start()
        .starts_with("is undefined")
        .then(|| &detail[start..start + len])
}

/// The first double-quoted part of a detail (`template "x" does not exist`).
fn quoted(detail: &str) -> Option<&str> {
    let start = detail.find('"')? + 1;
    let len = detail[start..].find('"')?;
    Some(&detail[start..start + len])
}

fn is_identifier(s: &str) -> bool {
    let mut chars = s.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_undefined_expression_is_read_from_the_detail() {
        assert_eq!(
            undefined_expression("`customr` is undefined"),
            Some("customr")
        );
        assert_eq!(
            undefined_expression("`user.name` is undefined (from line 2)"),
            Some("user.name")
        );
        assert_eq!(undefined_expression("something else"), None);
        assert_eq!(undefined_expression("`x` happened"), None);
    }

    #[test]
    fn quoted_names_are_read_from_not_found_details() {
        assert_eq!(
            quoted("template \"policies/refunds\" does not exist"),
            Some("policies/refunds")
        );
    }
}
