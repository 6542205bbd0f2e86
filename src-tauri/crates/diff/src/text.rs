//! Line diffs of one text, refined to words inside the changed blocks only.
//!
//! The pipeline, cheapest first, so that large prompts with small edits stay fast:
//! 1. split both texts into lines (on `\n`; a `\r` before it is part of the line ending);
//! 2. trim the common leading and trailing lines, which are most of a typical edit;
//! 3. diff the changed middle with similar's Myers (it degrades gracefully on repetitive input
//!    and under a deadline, where Patience and Histogram have no unique anchors to work with);
//! 4. group the ops into hunks with `context` lines around them;
//! 5. refine each replace block to words ([`crate::words`]) while the budget lasts.
//!
//! Only the lines inside hunks are turned into owned strings; a 0.5 MB document with a handful of
//! edits allocates a few kilobytes of output.

use std::ops::Range;

use serde::{Deserialize, Serialize};
use similar::algorithms::IdentifyDistinct;
use similar::{capture_diff_deadline, group_diff_ops, Algorithm, DiffOp};

use crate::options::{Budget, DiffOptions};
use crate::words;

/// What happened to one line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ts_rs::TS)]
#[serde(rename_all = "snake_case")]
pub enum LineTag {
    /// The line is in both texts (context around a change).
    Equal,
    /// The line is only in the old text.
    Delete,
    /// The line is only in the new text.
    Insert,
}

/// How a line ends. Part of the text, so a change of line ending is a change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ts_rs::TS)]
#[serde(rename_all = "snake_case")]
pub enum LineEnding {
    /// `\n`
    Lf,
    /// `\r\n`
    Crlf,
    /// The last line of a text that does not end with a newline.
    Missing,
}

impl LineEnding {
    /// The characters that end the line (empty for [`LineEnding::Missing`]).
    pub fn as_str(self) -> &'static str {
        match self {
            LineEnding::Lf => "\n",
            LineEnding::Crlf => "\r\n",
            LineEnding::Missing => "",
        }
    }
}

/// A run of characters of one line, highlighted or not.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ts_rs::TS)]
pub struct Span {
    /// The characters, without the line ending.
    pub text: String,
    /// Word-level highlight: this text differs from the line it was paired with on the other
    /// side. Always false on equal lines and on lines that changed as a whole (nothing to pair
    /// with, nothing in common, or refinement skipped for the deadline).
    pub changed: bool,
}

/// One line of a hunk.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ts_rs::TS)]
pub struct DiffLine {
    /// Whether the line is context, deleted or inserted.
    pub tag: LineTag,
    /// 1-based line number in the old text (`None` for inserted lines).
    pub old_line: Option<usize>,
    /// 1-based line number in the new text (`None` for deleted lines).
    pub new_line: Option<usize>,
    /// The line's text in order; joined they give the line without its ending. Never empty (an
    /// empty line has one empty span).
    pub spans: Vec<Span>,
    /// How the line ends.
    pub ending: LineEnding,
}

impl DiffLine {
    /// The line's text without its ending.
    pub fn text(&self) -> String {
        self.spans.iter().map(|s| s.text.as_str()).collect()
    }

    /// Whether any span carries a word-level highlight.
    pub fn has_highlights(&self) -> bool {
        self.spans.iter().any(|s| s.changed)
    }
}

/// A group of nearby changes with their context, like a unified diff's `@@` block.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ts_rs::TS)]
pub struct Hunk {
    /// 1-based first old line covered (for an empty range: the line after which lines are
    /// inserted, 0 at the top), as in `@@ -old_start,old_len`.
    pub old_start: usize,
    /// Old lines covered (context + deleted).
    pub old_len: usize,
    /// 1-based first new line covered, same convention as `old_start`.
    pub new_start: usize,
    /// New lines covered (context + inserted).
    pub new_len: usize,
    /// The lines in display order: context, then each block's deleted lines before its inserted
    /// lines.
    pub lines: Vec<DiffLine>,
}

/// The difference between two texts, line by line, with word highlights.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ts_rs::TS)]
pub struct TextDiff {
    /// The changes with their context; empty when the texts are equal.
    pub hunks: Vec<Hunk>,
    /// Number of inserted lines.
    pub added: usize,
    /// Number of deleted lines.
    pub removed: usize,
    /// True when the deadline forced a coarser diff: some changed blocks are shown as whole-line
    /// changes without word highlights, or the line diff is longer than the minimal one. The diff
    /// is still correct: applying it to the old text gives the new text.
    pub coarse: bool,
}

impl TextDiff {
    /// Whether the two texts were identical.
    pub fn is_empty(&self) -> bool {
        self.hunks.is_empty()
    }
}

/// Diffs two texts line by line, then highlights the changed words inside each changed block.
///
/// Never panics and is bounded by `opts.deadline`; see [`TextDiff::coarse`].
///
/// ```
/// use promptdesk_diff::{diff_text, DiffOptions, LineTag};
///
/// let diff = diff_text("Be brief.\nBe kind.\n", "Be brief.\nBe very kind.\n", &DiffOptions::default());
/// assert_eq!((diff.added, diff.removed), (1, 1));
/// let inserted = diff.hunks[0].lines.iter().find(|l| l.tag == LineTag::Insert).unwrap();
/// let highlighted: Vec<_> = inserted.spans.iter().filter(|s| s.changed).map(|s| s.text.as_str()).collect();
/// assert_eq!(highlighted, ["very "]);
/// ```
pub fn diff_text(old: &str, new: &str, opts: &DiffOptions) -> TextDiff {
    diff_text_within(old, new, &Budget::start(opts))
}

/// One line of input: its text and how it ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Line<'a> {
    pub(crate) content: &'a str,
    pub(crate) ending: LineEnding,
}

/// Splits a text into lines, each slice keeping its terminator (so that comparing slices
/// compares endings too). A text ending in `\n` has no empty last line.
fn split_lines(text: &str) -> Vec<&str> {
    text.split_inclusive('\n').collect()
}

fn parse_line(raw: &str) -> Line<'_> {
    if let Some(body) = raw.strip_suffix("\r\n") {
        Line {
            content: body,
            ending: LineEnding::Crlf,
        }
    } else if let Some(body) = raw.strip_suffix('\n') {
        Line {
            content: body,
            ending: LineEnding::Lf,
        }
    } else {
        Line {
            content: raw,
            ending: LineEnding::Missing,
        }
    }
}

/// [`diff_text`] against a budget shared with other parts of a larger diff.
pub(crate) fn diff_text_within(old: &str, new: &str, budget: &Budget) -> TextDiff {
    if old == new {
        return TextDiff::default();
    }
    let old_lines = split_lines(old);
    let new_lines = split_lines(new);
    let (ops, mut coarse) = line_ops(&old_lines, &new_lines, budget);

    let mut diff = TextDiff::default();
    for group in group_diff_ops(ops, budget.context) {
        let hunk = build_hunk(&group, &old_lines, &new_lines, budget, &mut coarse);
        if let Some(hunk) = hunk {
            diff.hunks.push(hunk);
        }
    }
    for line in diff.hunks.iter().flat_map(|h| &h.lines) {
        match line.tag {
            LineTag::Insert => diff.added += 1,
            LineTag::Delete => diff.removed += 1,
            LineTag::Equal => {}
        }
    }
    diff.coarse = coarse;
    diff
}

/// The line-level edit script, and whether the deadline may have made it coarser than minimal.
fn line_ops(old: &[&str], new: &[&str], budget: &Budget) -> (Vec<DiffOp>, bool) {
    let prefix = old.iter().zip(new).take_while(|(a, b)| a == b).count();
    let suffix = old[prefix..]
        .iter()
        .rev()
        .zip(new[prefix..].iter().rev())
        .take_while(|(a, b)| a == b)
        .count();
    let old_mid = prefix..old.len() - suffix;
    let new_mid = prefix..new.len() - suffix;

    let mut ops = Vec::new();
    if prefix > 0 {
        ops.push(DiffOp::Equal {
            old_index: 0,
            new_index: 0,
            len: prefix,
        });
    }
    let mut coarse = false;
    match (old_mid.is_empty(), new_mid.is_empty()) {
        (false, false) if old_mid.len() == 1 && new_mid.len() == 1 => ops.push(DiffOp::Replace {
            old_index: old_mid.start,
            old_len: 1,
            new_index: new_mid.start,
            new_len: 1,
        }),
        (false, false) => {
            // Dense integer ids make every comparison inside the algorithm a u32 compare.
            let ids = IdentifyDistinct::<u32>::new(old, old_mid, new, new_mid);
            let mid = capture_diff_deadline(
                Algorithm::Myers,
                ids.old_lookup(),
                ids.old_range(),
                ids.new_lookup(),
                ids.new_range(),
                budget.deadline(),
            );
            coarse = budget.expired();
            for op in mid {
                push_merged(&mut ops, op);
            }
        }
        (false, true) => ops.push(DiffOp::Delete {
            old_index: old_mid.start,
            old_len: old_mid.len(),
            new_index: new_mid.start,
        }),
        (true, false) => ops.push(DiffOp::Insert {
            old_index: old_mid.start,
            new_index: new_mid.start,
            new_len: new_mid.len(),
        }),
        (true, true) => {}
    }
    if suffix > 0 {
        push_merged(
            &mut ops,
            DiffOp::Equal {
                old_index: old.len() - suffix,
                new_index: new.len() - suffix,
                len: suffix,
            },
        );
    }
    (ops, coarse)
}

/// Appends an op, joining it to a preceding equal run so that hunk grouping sees one run.
fn push_merged(ops: &mut Vec<DiffOp>, op: DiffOp) {
    if let (
        Some(DiffOp::Equal {
            old_index, len: l1, ..
        }),
        DiffOp::Equal {
            old_index: o2,
            len: l2,
            ..
        },
    ) = (ops.last_mut(), op)
    {
        if *old_index + *l1 == o2 {
            *l1 += l2;
            return;
        }
    }
    ops.push(op);
}

/// Unified-diff start for a range: 1-based, or the line before an empty range.
fn start_of(range: &Range<usize>) -> usize {
    if range.is_empty() {
        range.start
    } else {
        range.start + 1
    }
}

fn build_hunk(
    group: &[DiffOp],
    old: &[&str],
    new: &[&str],
    budget: &Budget,
    coarse: &mut bool,
) -> Option<Hunk> {
    let first = group.first()?;
    let old_start = first.old_range().start;
    let new_start = first.new_range().start;
    let old_len: usize = group.iter().map(|op| op.old_range().len()).sum();
    let new_len: usize = group.iter().map(|op| op.new_range().len()).sum();
    let mut lines = Vec::new();
    for op in group {
        let (old_range, new_range) = (op.old_range(), op.new_range());
        match op {
            DiffOp::Equal { .. } => {
                for (o, n) in old_range.zip(new_range) {
                    lines.push(whole_line(LineTag::Equal, Some(o), Some(n), old[o]));
                }
            }
            DiffOp::Delete { .. } => {
                for o in old_range {
                    lines.push(whole_line(LineTag::Delete, Some(o), None, old[o]));
                }
            }
            DiffOp::Insert { .. } => {
                for n in new_range {
                    lines.push(whole_line(LineTag::Insert, None, Some(n), new[n]));
                }
            }
            DiffOp::Replace { .. } => {
                let old_block: Vec<Line> = old[old_range.clone()]
                    .iter()
                    .map(|l| parse_line(l))
                    .collect();
                let new_block: Vec<Line> = new[new_range.clone()]
                    .iter()
                    .map(|l| parse_line(l))
                    .collect();
                let refined = if budget.expired() {
                    None
                } else {
                    words::refine(&old_block, &new_block, budget)
                };
                match refined {
                    Some(refined) => {
                        *coarse |= !refined.complete;
                        for ((o, line), spans) in old_range.zip(&old_block).zip(refined.old) {
                            lines.push(refined_line(LineTag::Delete, Some(o), None, line, spans));
                        }
                        for ((n, line), spans) in new_range.zip(&new_block).zip(refined.new) {
                            lines.push(refined_line(LineTag::Insert, None, Some(n), line, spans));
                        }
                    }
                    None => {
                        *coarse = true;
                        for o in old_range {
                            lines.push(whole_line(LineTag::Delete, Some(o), None, old[o]));
                        }
                        for n in new_range {
                            lines.push(whole_line(LineTag::Insert, None, Some(n), new[n]));
                        }
                    }
                }
            }
        }
    }
    Some(Hunk {
        old_start: start_of(&(old_start..old_start + old_len)),
        old_len,
        new_start: start_of(&(new_start..new_start + new_len)),
        new_len,
        lines,
    })
}

/// A line shown as a whole: one span without highlight.
fn whole_line(tag: LineTag, old: Option<usize>, new: Option<usize>, raw: &str) -> DiffLine {
    let line = parse_line(raw);
    DiffLine {
        tag,
        old_line: old.map(|i| i + 1),
        new_line: new.map(|i| i + 1),
        spans: vec![Span {
            text: line.content.to_string(),
            changed: false,
        }],
        ending: line.ending,
    }
}

fn refined_line(
    tag: LineTag,
    old: Option<usize>,
    new: Option<usize>,
    line: &Line,
    spans: Vec<Span>,
) -> DiffLine {
    DiffLine {
        tag,
        old_line: old.map(|i| i + 1),
        new_line: new.map(|i| i + 1),
        spans,
        ending: line.ending,
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use std::time::Duration;

    /// Rebuilds the new text from the old one and a diff's hunks, checking every context and
    /// deleted line against the old text on the way. `None` when the diff does not apply.
    pub(crate) fn apply(old: &str, diff: &TextDiff) -> Option<String> {
        let old_lines = split_lines(old);
        let mut out = String::new();
        let mut next_old = 0; // 0-based index of the next old line not yet consumed
        for hunk in &diff.hunks {
            let first_old = if hunk.old_len == 0 {
                hunk.old_start
            } else {
                hunk.old_start - 1
            };
            if first_old < next_old {
                return None;
            }
            for line in old_lines.get(next_old..first_old)? {
                out.push_str(line);
            }
            next_old = first_old;
            for line in &hunk.lines {
                let raw = format!("{}{}", line.text(), line.ending.as_str());
                match line.tag {
                    LineTag::Equal | LineTag::Delete => {
                        if *old_lines.get(next_old)? != raw || line.old_line != Some(next_old + 1) {
                            return None;
                        }
                        next_old += 1;
                        if line.tag == LineTag::Equal {
                            out.push_str(&raw);
                        }
                    }
                    LineTag::Insert => out.push_str(&raw),
                }
            }
        }
        for line in old_lines.get(next_old..)? {
            out.push_str(line);
        }
        Some(out)
    }

    fn opts() -> DiffOptions {
        DiffOptions::default()
    }

    #[test]
    fn equal_texts_have_no_hunks() {
        let diff = diff_text("a\nb\n", "a\nb\n", &opts());
        assert!(diff.is_empty());
        assert_eq!((diff.added, diff.removed, diff.coarse), (0, 0, false));
    }

    #[test]
    fn lines_split_on_newlines_and_keep_crlf_as_the_ending() {
        assert_eq!(split_lines("a\r\nb\nc"), ["a\r\n", "b\n", "c"]);
        assert_eq!(split_lines(""), Vec::<&str>::new());
        assert_eq!(parse_line("a\r\n").ending, LineEnding::Crlf);
        assert_eq!(parse_line("a\rb").content, "a\rb");
        assert_eq!(parse_line("c").ending, LineEnding::Missing);
    }

    #[test]
    fn hunk_starts_are_one_based_and_an_insertion_at_the_top_starts_at_zero() {
        let diff = diff_text(
            "b\n",
            "a\nb\n",
            &DiffOptions {
                context: 0,
                ..opts()
            },
        );
        let h = &diff.hunks[0];
        assert_eq!(
            (h.old_start, h.old_len, h.new_start, h.new_len),
            (0, 0, 1, 1)
        );
        let diff = diff_text(
            "a\nb\nc\n",
            "a\nB\nc\n",
            &DiffOptions {
                context: 0,
                ..opts()
            },
        );
        let h = &diff.hunks[0];
        assert_eq!(
            (h.old_start, h.old_len, h.new_start, h.new_len),
            (2, 1, 2, 1)
        );
    }

    #[test]
    fn distant_changes_make_separate_hunks_and_near_ones_share_one() {
        let old: String = (0..40).map(|i| format!("line {i}\n")).collect();
        let new = old
            .replace("line 5\n", "line five\n")
            .replace("line 30\n", "line thirty\n");
        assert_eq!(diff_text(&old, &new, &opts()).hunks.len(), 2);
        let new = old
            .replace("line 5\n", "line five\n")
            .replace("line 9\n", "line nine\n");
        assert_eq!(diff_text(&old, &new, &opts()).hunks.len(), 1);
    }

    #[test]
    fn a_change_of_line_ending_is_a_change() {
        let diff = diff_text("a\nb\n", "a\r\nb\n", &opts());
        assert_eq!((diff.added, diff.removed), (1, 1));
        assert_eq!(apply("a\nb\n", &diff).as_deref(), Some("a\r\nb\n"));
    }

    #[test]
    fn a_zero_deadline_gives_a_coarse_diff_that_still_applies() {
        let old: String = (0..200).map(|i| format!("word {i} here\n")).collect();
        let new = old
            .replace("word 10 here", "word ten here")
            .replace("word 150 here", "word 150 there");
        let zero = DiffOptions {
            deadline: Duration::ZERO,
            ..opts()
        };
        let diff = diff_text(&old, &new, &zero);
        assert!(diff.coarse, "a zero deadline must be reported as coarse");
        assert!(diff
            .hunks
            .iter()
            .flat_map(|h| &h.lines)
            .all(|l| !l.has_highlights()));
        assert_eq!(apply(&old, &diff).as_deref(), Some(new.as_str()));
    }

    #[test]
    fn a_context_of_usize_max_does_not_overflow() {
        let diff = diff_text(
            "a\nb\n",
            "a\nc\n",
            &DiffOptions {
                context: usize::MAX,
                ..opts()
            },
        );
        assert_eq!(diff.hunks[0].lines.len(), 3, "a, -b, +c");
    }
}
