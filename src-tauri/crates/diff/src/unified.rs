//! Diffs as text for a terminal or a review comment: git-like unified hunks, and for a version
//! diff one section per part (`template`, `message 2 (user)`, `variables`, `model settings`,
//! `includes`, `rendered output`).
//!
//! The output is written to be *read*: a reviewer must see exactly what changed, so characters
//! that would be invisible or would act on the terminal (control characters, escape sequences,
//! zero-width and bidirectional-override characters) are shown as `\u{…}` escapes, and when a
//! diff mixes `\n` and `\r\n` lines the `\r` is shown as `\r`. Apart from those, text is written
//! as is (a CRLF document keeps its CRLF endings), so the plain form of an ordinary text diff is
//! also a valid patch. With `color`, deleted lines are red, inserted lines green, and the
//! word-level changes inside them in reverse video; without it the output is plain text.

use std::borrow::Cow;
use std::fmt::Write as _;

use serde_json::Value;

use crate::messages::MessageChange;
use crate::text::{LineEnding, LineTag, TextDiff};
use crate::version::{
    ChangeStatus, FieldChange, RenderedDiff, SettingChange, VariableChange, VariableField,
    VersionDiff,
};

const RESET: &str = "\x1b[0m";
const BOLD: &str = "\x1b[1m";
const RED: &str = "\x1b[31m";
const GREEN: &str = "\x1b[32m";
const YELLOW: &str = "\x1b[33m";
const CYAN: &str = "\x1b[36m";
const REVERSE: &str = "\x1b[7m";
const REVERSE_OFF: &str = "\x1b[27m";

/// Whether ANSI colours are written.
#[derive(Debug, Clone, Copy)]
struct Style {
    color: bool,
}

impl Style {
    /// Writes one line (without its newline), coloured when colours are on.
    fn line(&self, out: &mut String, code: &str, text: &str) {
        if self.color {
            out.push_str(code);
            out.push_str(text);
            out.push_str(RESET);
        } else {
            out.push_str(text);
        }
        out.push('\n');
    }
}

/// Characters shown as escapes: they are invisible, reorder text, or act on a terminal.
fn needs_escape(c: char) -> bool {
    (c.is_control() && c != '\t')
        || matches!(c,
            '\u{00AD}'
            | '\u{061C}'
            | '\u{180E}'
            | '\u{200B}'..='\u{200F}'
            | '\u{2028}'..='\u{202E}'
            | '\u{2060}'..='\u{2064}'
            | '\u{2066}'..='\u{206F}'
            | '\u{FEFF}'
            | '\u{FFF9}'..='\u{FFFB}')
}

/// The text with invisible and terminal-controlling characters escaped.
fn visible(text: &str) -> Cow<'_, str> {
    if !text.chars().any(needs_escape) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        match c {
            '\r' => out.push_str("\\r"),
            c if needs_escape(c) => {
                let _ = write!(out, "{}", c.escape_unicode());
            }
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

/// `start,len` as in a unified hunk header, with `,1` left out like git.
fn hunk_range(start: usize, len: usize) -> String {
    if len == 1 {
        start.to_string()
    } else {
        format!("{start},{len}")
    }
}

fn write_hunks(out: &mut String, diff: &TextDiff, style: Style) {
    let lines = || diff.hunks.iter().flat_map(|h| &h.lines);
    let mixed_endings = lines().any(|l| l.ending == LineEnding::Crlf)
        && lines().any(|l| l.ending == LineEnding::Lf);
    for hunk in &diff.hunks {
        let header = format!(
            "@@ -{} +{} @@",
            hunk_range(hunk.old_start, hunk.old_len),
            hunk_range(hunk.new_start, hunk.new_len)
        );
        style.line(out, CYAN, &header);
        for line in &hunk.lines {
            let (sign, code) = match line.tag {
                LineTag::Equal => (' ', ""),
                LineTag::Delete => ('-', RED),
                LineTag::Insert => ('+', GREEN),
            };
            let colored = style.color && line.tag != LineTag::Equal;
            if colored {
                out.push_str(code);
            }
            out.push(sign);
            for span in &line.spans {
                if colored && span.changed {
                    out.push_str(REVERSE);
                    out.push_str(&visible(&span.text));
                    out.push_str(REVERSE_OFF);
                } else {
                    out.push_str(&visible(&span.text));
                }
            }
            if line.ending == LineEnding::Crlf && mixed_endings {
                out.push_str("\\r");
            }
            if colored {
                out.push_str(RESET);
            }
            out.push_str(match line.ending {
                LineEnding::Crlf if !mixed_endings => "\r\n",
                _ => "\n",
            });
            if line.ending == LineEnding::Missing {
                out.push_str("\\ No newline at end of file\n");
            }
        }
    }
}

fn write_file_header(out: &mut String, old_name: &str, new_name: &str, style: Style) {
    style.line(out, BOLD, &format!("--- {}", visible(old_name)));
    style.line(out, BOLD, &format!("+++ {}", visible(new_name)));
}

impl TextDiff {
    /// The diff as a git-like unified diff (`--- old_name`, `+++ new_name`, `@@ -a,b +c,d @@`
    /// hunks, `\ No newline at end of file`); empty when the texts are equal. With `color`,
    /// ANSI red/green lines with the changed words in reverse video.
    pub fn to_unified(&self, old_name: &str, new_name: &str, color: bool) -> String {
        if self.is_empty() {
            return String::new();
        }
        let style = Style { color };
        let mut out = String::new();
        write_file_header(&mut out, old_name, new_name, style);
        write_hunks(&mut out, self, style);
        out
    }
}

fn section(out: &mut String, title: &str, style: Style) {
    style.line(out, BOLD, &format!("=== {title}"));
}

fn message_title(m: &MessageChange, rendered: bool) -> String {
    let noun = if rendered {
        "rendered message"
    } else {
        "message"
    };
    let number = |i: Option<usize>| i.map_or(0, |i| i + 1);
    let role = match (&m.old_role, &m.new_role) {
        (Some(a), Some(b)) if a != b => format!("{} -> {}", visible(a), visible(b)),
        (_, Some(r)) | (Some(r), None) => visible(r).into_owned(),
        (None, None) => String::new(),
    };
    let (old, new) = (number(m.old_index), number(m.new_index));
    let was = if old != new {
        format!(" (was {noun} {old})")
    } else {
        String::new()
    };
    match m.status {
        ChangeStatus::Added => format!("{noun} {new} ({role}): added"),
        ChangeStatus::Removed => format!("old {noun} {old} ({role}): removed"),
        ChangeStatus::Moved => format!("{noun} {new} ({role}): moved{was}"),
        ChangeStatus::Unchanged => format!("{noun} {new} ({role}): unchanged"),
        ChangeStatus::Changed if m.diff.is_empty() => {
            format!("{noun} {new} ({role}): role changed{was}")
        }
        ChangeStatus::Changed => format!("{noun} {new} ({role}): changed{was}"),
    }
}

fn write_messages(out: &mut String, messages: &[MessageChange], rendered: bool, style: Style) {
    for m in messages
        .iter()
        .filter(|m| m.status != ChangeStatus::Unchanged)
    {
        section(out, &message_title(m, rendered), style);
        write_hunks(out, &m.diff, style);
    }
}

fn value_text(v: &Option<Value>) -> String {
    match v {
        None => "(unset)".to_string(),
        Some(v) => visible(&v.to_string()).into_owned(),
    }
}

fn field_text(f: &FieldChange, side: Option<&Value>) -> String {
    match (f.field, side) {
        // The type reads better bare: `type string`, not `type "string"`.
        (VariableField::Type, Some(Value::String(s))) => visible(s).into_owned(),
        (_, v) => value_text(&v.cloned()),
    }
}

fn field_name(f: VariableField) -> &'static str {
    match f {
        VariableField::Type => "type",
        VariableField::Required => "required",
        VariableField::Default => "default",
        VariableField::Description => "description",
        VariableField::Position => "position",
    }
}

fn status_sign(status: ChangeStatus) -> (&'static str, &'static str) {
    match status {
        ChangeStatus::Added => ("+", GREEN),
        ChangeStatus::Removed => ("-", RED),
        _ => ("~", YELLOW),
    }
}

fn write_variables(out: &mut String, variables: &[VariableChange], style: Style) {
    for v in variables {
        let (sign, code) = status_sign(v.status);
        let fields: Vec<String> = v
            .fields
            .iter()
            .map(|f| {
                let name = field_name(f.field);
                match v.status {
                    ChangeStatus::Added => format!("{name} {}", field_text(f, f.new.as_ref())),
                    ChangeStatus::Removed => format!("{name} {}", field_text(f, f.old.as_ref())),
                    _ => format!(
                        "{name} {} -> {}",
                        field_text(f, f.old.as_ref()),
                        field_text(f, f.new.as_ref())
                    ),
                }
            })
            .collect();
        let line = format!("{sign} {}: {}", visible(&v.name), fields.join(", "));
        style.line(out, code, &line);
    }
}

fn write_settings(out: &mut String, settings: &[SettingChange], style: Style) {
    for s in settings {
        let (sign, code) = status_sign(s.status);
        let key = visible(&s.key);
        let line = match s.status {
            ChangeStatus::Added => format!("{sign} {key}: {}", value_text(&s.new)),
            ChangeStatus::Removed => format!("{sign} {key}: {}", value_text(&s.old)),
            _ => format!(
                "{sign} {key}: {} -> {}",
                value_text(&s.old),
                value_text(&s.new)
            ),
        };
        style.line(out, code, &line);
    }
}

/// Hashes are shown shortened, like git's abbreviated commit ids.
fn short_hash(h: &Option<String>) -> String {
    match h {
        None => "(none)".into(),
        Some(h) => visible(h.get(..12).unwrap_or(h)).into_owned(),
    }
}

fn write_rendered(out: &mut String, rendered: &RenderedDiff, style: Style) {
    if rendered.is_empty() {
        return;
    }
    section(out, "rendered output", style);
    if let Some(kind) = rendered.kind {
        style.line(
            out,
            YELLOW,
            &format!("~ kind: {} -> {}", kind.old, kind.new),
        );
    }
    if let Some(text) = &rendered.text {
        write_hunks(out, text, style);
    }
    write_messages(out, &rendered.messages, true, style);
}

impl VersionDiff {
    /// The diff as text for a reviewer in a terminal: a `---`/`+++` header, then one `===`
    /// section per changed part (`kind`, `template` or `message 2 (user): changed`, `variables`,
    /// `model settings`, `includes`, `rendered output`) with unified hunks for texts and one
    /// `+`/`-`/`~` line per changed item. Says `no changes` when the versions are equal.
    pub fn to_unified(&self, old_name: &str, new_name: &str, color: bool) -> String {
        let style = Style { color };
        let mut out = String::new();
        write_file_header(&mut out, old_name, new_name, style);
        if self.is_empty() {
            out.push_str("no changes\n");
            return out;
        }
        if let Some(kind) = self.kind {
            section(
                &mut out,
                &format!("kind: {} -> {}", kind.old, kind.new),
                style,
            );
        }
        if let Some(template) = self.template.as_ref().filter(|t| !t.is_empty()) {
            section(&mut out, "template", style);
            write_hunks(&mut out, template, style);
        }
        write_messages(&mut out, &self.messages, false, style);
        if !self.variables.is_empty() {
            section(&mut out, "variables", style);
            write_variables(&mut out, &self.variables, style);
        }
        if !self.model.is_empty() {
            section(&mut out, "model settings", style);
            write_settings(&mut out, &self.model, style);
        }
        if !self.includes.is_empty() {
            section(&mut out, "includes", style);
            for inc in &self.includes {
                let (sign, code) = status_sign(inc.status);
                let name = visible(&inc.include);
                let line = match inc.status {
                    ChangeStatus::Added => format!("{sign} {name}: {}", short_hash(&inc.new_hash)),
                    ChangeStatus::Removed => {
                        format!("{sign} {name}: {}", short_hash(&inc.old_hash))
                    }
                    _ => format!(
                        "{sign} {name}: {} -> {}",
                        short_hash(&inc.old_hash),
                        short_hash(&inc.new_hash)
                    ),
                };
                style.line(&mut out, code, &line);
            }
        }
        if let Some(rendered) = &self.rendered {
            write_rendered(&mut out, rendered, style);
        }
        if self.coarse {
            style.line(
                &mut out,
                YELLOW,
                "note: the diff ran out of time; some changes are shown as whole lines",
            );
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{diff_text, DiffOptions};

    #[test]
    fn invisible_and_terminal_characters_are_escaped() {
        assert_eq!(visible("a\u{1b}[2Jb"), "a\\u{1b}[2Jb");
        assert_eq!(visible("x\u{202e}y\u{200b}"), "x\\u{202e}y\\u{200b}");
        assert_eq!(visible("tab\tstays, é stays"), "tab\tstays, é stays");
        assert_eq!(visible("lone\rcr"), "lone\\rcr");
    }

    #[test]
    fn a_one_line_range_is_written_without_its_length_like_git() {
        assert_eq!(hunk_range(3, 1), "3");
        assert_eq!(hunk_range(0, 0), "0,0");
        assert_eq!(hunk_range(4, 2), "4,2");
    }

    #[test]
    fn a_crlf_document_keeps_its_endings_so_the_patch_still_applies() {
        let diff = diff_text("a\r\nb\r\n", "a\r\nc\r\n", &DiffOptions::default());
        assert_eq!(
            diff.to_unified("old", "new", false),
            "--- old\n+++ new\n@@ -1,2 +1,2 @@\n a\r\n-b\r\n+c\r\n"
        );
    }

    #[test]
    fn a_switch_from_lf_to_crlf_is_visible() {
        let diff = diff_text("a\n", "a\r\n", &DiffOptions::default());
        assert_eq!(
            diff.to_unified("old", "new", false),
            "--- old\n+++ new\n@@ -1 +1 @@\n-a\n+a\\r\n"
        );
    }

    #[test]
    fn equal_texts_give_an_empty_unified_diff() {
        let diff = diff_text("same\n", "same\n", &DiffOptions::default());
        assert_eq!(diff.to_unified("old", "new", true), "");
    }
}
