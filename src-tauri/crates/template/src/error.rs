//! The one error type of this crate.
//!
//! Everything that can go wrong with a template — a syntax error, a missing input, a template
//! that runs forever or eats all memory, a worker that died — ends up as a [`TemplateError`]: a
//! machine-readable [`ErrorKind`], a one-line human message, and where in which template it
//! happened. It is serialisable because it crosses the pipe from the render worker, and because
//! the desktop app hands it to its UI as is.

use std::fmt;

use serde::{Deserialize, Serialize};

pub use crate::explain::Fix;

/// Something went wrong checking, validating or rendering a template.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ts_rs::TS)]
pub struct TemplateError {
    /// What kind of problem this is (for code that reacts to it).
    pub kind: ErrorKind,
    /// One line for humans, without the location (see [`fmt::Display`] for the full line).
    pub message: String,
    /// Where in which template, when known.
    pub location: Option<SourceLocation>,
    /// A change to that template's source that fixes it, for the common mistakes
    /// ([`crate::explain`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fix: Option<Box<Fix>>,
}

/// A place in a template.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ts_rs::TS)]
pub struct SourceLocation {
    /// The name the caller gave the template ("support/refund-reply",
    /// "support/refund-reply, message 2 (user)"), or an include's name as written.
    pub template: String,
    /// 1-based line.
    pub line: u32,
    /// 1-based column, counted in characters (not bytes).
    pub column: u32,
    /// The whole source line (without its line break), for showing the problem in context.
    pub source_line: String,
}

/// What kind of problem a [`TemplateError`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ts_rs::TS)]
#[serde(rename_all = "snake_case")]
pub enum ErrorKind {
    /// The template is not valid Jinja, or names an include in a way we refuse.
    Syntax,
    /// The template read a variable (or attribute) that has no value.
    UndefinedVariable,
    /// A required input was not given.
    MissingInput,
    /// An input has the wrong type for its declared schema.
    WrongType,
    /// The template includes, imports or extends a prompt that was not provided.
    UnknownInclude,
    /// Includes lead back to a template already being included.
    IncludeCycle,
    /// The template ran more steps than the fuel limit allows.
    OutOfFuel,
    /// The rendered output grew past the output limit.
    OutputTooLarge,
    /// The template needed more memory than the worker's limit.
    OutOfMemory,
    /// Rendering took longer than the wall-clock limit.
    Timeout,
    /// The render worker could not be started or stopped unexpectedly.
    WorkerFailed,
    /// Any other error while rendering (a bad filter argument, a failed operation, …).
    Render,
}

impl ErrorKind {
    /// The snake_case name, as serialised.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::Syntax => "syntax",
            ErrorKind::UndefinedVariable => "undefined_variable",
            ErrorKind::MissingInput => "missing_input",
            ErrorKind::WrongType => "wrong_type",
            ErrorKind::UnknownInclude => "unknown_include",
            ErrorKind::IncludeCycle => "include_cycle",
            ErrorKind::OutOfFuel => "out_of_fuel",
            ErrorKind::OutputTooLarge => "output_too_large",
            ErrorKind::OutOfMemory => "out_of_memory",
            ErrorKind::Timeout => "timeout",
            ErrorKind::WorkerFailed => "worker_failed",
            ErrorKind::Render => "render",
        }
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl TemplateError {
    /// An error without a location. Line breaks in the message are folded into spaces so the
    /// error always displays as one line.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        TemplateError {
            kind,
            message: one_line(message.into()),
            location: None,
            fix: None,
        }
    }

    /// The same error, located.
    pub fn at(mut self, location: SourceLocation) -> Self {
        self.location = Some(location);
        self
    }
}

impl fmt::Display for TemplateError {
    /// One line: `template, line L, column C: message — "source line"`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The fields are public, so a message built elsewhere may hold a line break.
        let message = if self.message.chars().any(char::is_control) {
            std::borrow::Cow::Owned(one_line(self.message.clone()))
        } else {
            std::borrow::Cow::Borrowed(self.message.as_str())
        };
        let Some(loc) = &self.location else {
            return f.write_str(&message);
        };
        write!(
            f,
            "{}, line {}, column {}: {message}",
            loc.template, loc.line, loc.column
        )?;
        let excerpt = excerpt(&loc.source_line, loc.column as usize);
        if !excerpt.is_empty() {
            write!(f, " — \"{excerpt}\"")?;
        }
        Ok(())
    }
}

impl std::error::Error for TemplateError {}

impl SourceLocation {
    /// The location of byte `offset` of `source` (clamped into the source and back to a char
    /// boundary): line and column are 1-based, the column counts characters.
    pub fn at_offset(template: &str, source: &str, offset: usize) -> Self {
        let mut offset = offset.min(source.len());
        while !source.is_char_boundary(offset) {
            offset -= 1;
        }
        let before = &source[..offset];
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        let line = before.bytes().filter(|&b| b == b'\n').count() + 1;
        let column = source[line_start..offset].chars().count() + 1;
        let line_end = source[offset..]
            .find('\n')
            .map_or(source.len(), |i| offset + i);
        let source_line = source[line_start..line_end].trim_end_matches('\r');
        SourceLocation {
            template: template.to_string(),
            line: saturate(line),
            column: saturate(column),
            source_line: source_line.to_string(),
        }
    }

    /// The start of 1-based `line` of `source`, at the line's first non-blank character (for
    /// errors that know their line but not their column).
    pub fn at_line(template: &str, source: &str, line: usize) -> Self {
        let line_text = source.split('\n').nth(line.saturating_sub(1)).unwrap_or("");
        let line_text = line_text.trim_end_matches('\r');
        let indent = line_text.chars().take_while(|c| c.is_whitespace()).count();
        SourceLocation {
            template: template.to_string(),
            line: saturate(line.max(1)),
            column: saturate(indent + 1),
            source_line: line_text.to_string(),
        }
    }
}

fn saturate(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

/// Folds line breaks (and other control characters) into single spaces.
pub(crate) fn one_line(message: String) -> String {
    if !message.chars().any(char::is_control) {
        return message;
    }
    let mut out = String::with_capacity(message.len());
    let mut last_space = false;
    for c in message.chars() {
        if c.is_control() || c == ' ' {
            if !last_space {
                out.push(' ');
            }
            last_space = true;
        } else {
            out.push(c);
            last_space = false;
        }
    }
    out.trim().to_string()
}

/// How many characters of a source line [`TemplateError`]'s `Display` shows at most.
const EXCERPT_CHARS: usize = 80;

/// The source line trimmed, and if longer than [`EXCERPT_CHARS`], a window of it around the
/// column with `…` where it was cut.
fn excerpt(line: &str, column: usize) -> String {
    let leading = line.chars().take_while(|c| c.is_whitespace()).count();
    let trimmed: Vec<char> = line.trim().chars().collect();
    if trimmed.len() <= EXCERPT_CHARS {
        return trimmed.into_iter().collect();
    }
    // Index of the column inside the trimmed line, then a window that starts a little before it.
    let at = column.saturating_sub(1).saturating_sub(leading);
    let width = EXCERPT_CHARS - 2; // room for the two ellipses
    let start = at.saturating_sub(width / 3).min(trimmed.len() - width);
    let end = (start + width).min(trimmed.len());
    let mut out = String::new();
    if start > 0 {
        out.push('…');
    }
    out.extend(&trimmed[start..end]);
    if end < trimmed.len() {
        out.push('…');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_names_the_template_line_column_and_shows_the_source_line() {
        let source = "Hello,\n\nDear {{ customr }},\n";
        let offset = source.find("customr").unwrap();
        let err =
            TemplateError::new(ErrorKind::UndefinedVariable, "undefined variable 'customr'").at(
                SourceLocation::at_offset("support/refund-reply", source, offset),
            );
        assert_eq!(
            err.to_string(),
            "support/refund-reply, line 3, column 9: undefined variable 'customr' — \"Dear {{ customr }},\""
        );
    }

    #[test]
    fn columns_count_characters_not_bytes() {
        let source = "héllo wörld {{ x }}";
        let loc = SourceLocation::at_offset("t", source, source.find('x').unwrap());
        assert_eq!((loc.line, loc.column), (1, 16));
    }

    #[test]
    fn offsets_past_the_end_or_inside_a_character_are_clamped() {
        let loc = SourceLocation::at_offset("t", "ab\ncé", 100);
        assert_eq!(
            (loc.line, loc.column, loc.source_line.as_str()),
            (2, 3, "cé")
        );
        let loc = SourceLocation::at_offset("t", "é", 1);
        assert_eq!((loc.line, loc.column), (1, 1));
    }

    #[test]
    fn long_source_lines_are_cut_around_the_column() {
        let line = format!("{}{{{{ oops }}}}{}", "a".repeat(200), "b".repeat(200));
        let loc = SourceLocation::at_offset("t", &line, 203);
        let shown = TemplateError::new(ErrorKind::Render, "x")
            .at(loc)
            .to_string();
        let quoted = shown.split(" — ").nth(1).unwrap();
        assert!(quoted.contains("oops"), "{quoted}");
        assert!(
            quoted.starts_with("\"…") && quoted.ends_with("…\""),
            "{quoted}"
        );
        assert!(quoted.chars().count() <= EXCERPT_CHARS + 2, "{quoted}");
    }

    #[test]
    fn messages_are_always_one_line() {
        let err = TemplateError::new(ErrorKind::Render, "first\nsecond\r\n third");
        assert_eq!(err.message, "first second third");
    }

    #[test]
    fn display_stays_on_one_line_even_for_messages_built_elsewhere() {
        let err = TemplateError {
            kind: ErrorKind::Render,
            message: "two\nlines".into(),
            location: Some(SourceLocation::at_offset("t", "a {{ b }}", 2)),
            fix: None,
        };
        assert_eq!(
            err.to_string(),
            "t, line 1, column 3: two lines — \"a {{ b }}\""
        );
    }

    #[test]
    fn errors_without_a_location_display_just_the_message() {
        let err = TemplateError::new(ErrorKind::Timeout, "too slow");
        assert_eq!(err.to_string(), "too slow");
    }

    #[test]
    fn kinds_serialise_in_snake_case() {
        let json = serde_json::to_string(&ErrorKind::UndefinedVariable).unwrap();
        assert_eq!(json, "\"undefined_variable\"");
        assert_eq!(ErrorKind::OutOfMemory.as_str(), "out_of_memory");
    }
}
