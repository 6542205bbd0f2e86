//! Word-level highlights inside one changed block of lines.
//!
//! A replace block (some old lines replaced by some new lines) is diffed as one sequence of word
//! tokens per side, with a token for each line break. Diffing the block as a whole pairs lines
//! without guessing which old line became which new one, and still finds words that moved across
//! a line break when a paragraph was re-wrapped. Tokens are Unicode word boundaries (UAX #29,
//! through similar's `unicode` feature): words, runs of spaces, single punctuation marks, and
//! single ideographs for scripts written without spaces.
//!
//! Two clean-ups make the highlight readable:
//! - unchanged whitespace between two changed tokens joins them (`quick brown` → `slow red` is
//!   one highlight, not two);
//! - a line with nothing left in common (all of its non-blank text changed) is shown as a whole
//!   line change without highlights, which is what it is.
//!
//! Only changed blocks are refined, never whole documents, and never past the deadline: a block
//! whose word diff ran out of time is dropped back to whole lines by the caller.

use std::hash::Hash;

use similar::{capture_diff_slices_deadline, Algorithm, DiffOp, DiffableStr};

use crate::options::Budget;
use crate::text::{Line, LineEnding, Span};

/// The spans of each line of a refined block, in the order of the block's lines.
pub(crate) struct Refined {
    pub(crate) old: Vec<Vec<Span>>,
    pub(crate) new: Vec<Vec<Span>>,
}

/// A token of a block: a piece of a line, or the break at the end of a line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Token<'a> {
    Text(&'a str),
    Break(LineEnding),
}

/// A block's tokens, and where each line's tokens start (the line's last token is its break).
struct Tokens<'a> {
    tokens: Vec<Token<'a>>,
    line_starts: Vec<usize>,
}

fn tokenize<'a>(lines: &[Line<'a>]) -> Tokens<'a> {
    let mut tokens = Vec::new();
    let mut line_starts = Vec::with_capacity(lines.len());
    for line in lines {
        line_starts.push(tokens.len());
        tokens.extend(
            line.content
                .tokenize_unicode_words()
                .into_iter()
                .map(Token::Text),
        );
        tokens.push(Token::Break(line.ending));
    }
    Tokens {
        tokens,
        line_starts,
    }
}

/// Highlights the changed words of a replace block. `None` when the deadline passed during the
/// word diff (its result may be a poor approximation, so the caller shows whole lines instead).
pub(crate) fn refine(old: &[Line], new: &[Line], budget: &Budget) -> Option<Refined> {
    let old_tokens = tokenize(old);
    let new_tokens = tokenize(new);
    let ops = capture_diff_slices_deadline(
        Algorithm::Myers,
        &old_tokens.tokens,
        &new_tokens.tokens,
        budget.deadline(),
    );
    if budget.expired() {
        return None;
    }
    let mut old_changed = vec![false; old_tokens.tokens.len()];
    let mut new_changed = vec![false; new_tokens.tokens.len()];
    for op in &ops {
        if !matches!(op, DiffOp::Equal { .. }) {
            for i in op.old_range() {
                old_changed[i] = true;
            }
            for i in op.new_range() {
                new_changed[i] = true;
            }
        }
    }
    Some(Refined {
        old: line_spans(&old_tokens, &old_changed),
        new: line_spans(&new_tokens, &new_changed),
    })
}

fn line_spans(tokens: &Tokens, changed: &[bool]) -> Vec<Vec<Span>> {
    let ends = tokens
        .line_starts
        .iter()
        .skip(1)
        .copied()
        .chain(std::iter::once(tokens.tokens.len()));
    tokens
        .line_starts
        .iter()
        .zip(ends)
        .map(|(&start, end)| {
            // The last token of a line is its break; highlights are about the visible text.
            let end = end.saturating_sub(1).max(start);
            let pieces: Vec<(&str, bool)> = (start..end)
                .filter_map(|i| match tokens.tokens[i] {
                    Token::Text(t) => Some((t, changed[i])),
                    Token::Break(_) => None,
                })
                .collect();
            spans_of(pieces)
        })
        .collect()
}

fn is_blank(s: &str) -> bool {
    s.chars().all(char::is_whitespace)
}

/// Turns a line's tokens with their changed flags into merged spans (see the module docs).
fn spans_of(mut pieces: Vec<(&str, bool)>) -> Vec<Span> {
    // Blank runs between two highlights join them.
    for i in 1..pieces.len().saturating_sub(1) {
        if !pieces[i].1 && pieces[i - 1].1 && pieces[i + 1].1 && is_blank(pieces[i].0) {
            pieces[i].1 = true;
        }
    }
    let keeps_something = pieces.iter().any(|(t, c)| !c && !is_blank(t));
    let any_change = pieces.iter().any(|(_, c)| *c);
    if any_change && !keeps_something {
        let text: String = pieces.iter().map(|(t, _)| *t).collect();
        return vec![Span {
            text,
            changed: false,
        }];
    }
    let mut spans: Vec<Span> = Vec::new();
    for (text, changed) in pieces {
        match spans.last_mut() {
            Some(last) if last.changed == changed => last.text.push_str(text),
            _ => spans.push(Span {
                text: text.to_string(),
                changed,
            }),
        }
    }
    if spans.is_empty() {
        spans.push(Span {
            text: String::new(),
            changed: false,
        });
    }
    spans
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::options::DiffOptions;

    fn line(content: &str) -> Line<'_> {
        Line {
            content,
            ending: LineEnding::Lf,
        }
    }

    fn highlights(spans: &[Span]) -> Vec<&str> {
        spans
            .iter()
            .filter(|s| s.changed)
            .map(|s| s.text.as_str())
            .collect()
    }

    fn refine_one(old: &str, new: &str) -> Refined {
        let budget = Budget::start(&DiffOptions::default());
        refine(&[line(old)], &[line(new)], &budget).expect("within the deadline")
    }

    #[test]
    fn only_the_changed_word_is_highlighted() {
        let r = refine_one("Reply in a friendly tone.", "Reply in a formal tone.");
        assert_eq!(highlights(&r.old[0]), ["friendly"]);
        assert_eq!(highlights(&r.new[0]), ["formal"]);
        let joined: String = r.new[0].iter().map(|s| s.text.as_str()).collect();
        assert_eq!(joined, "Reply in a formal tone.");
    }

    #[test]
    fn adjacent_changed_words_are_one_highlight() {
        let r = refine_one("the quick brown fox", "the slow red fox");
        assert_eq!(highlights(&r.old[0]), ["quick brown"]);
        assert_eq!(highlights(&r.new[0]), ["slow red"]);
    }

    #[test]
    fn a_line_with_nothing_in_common_is_a_whole_line_change() {
        let r = refine_one("alpha beta", "gamma delta");
        assert_eq!(
            r.old[0],
            [Span {
                text: "alpha beta".into(),
                changed: false
            }]
        );
    }

    #[test]
    fn an_empty_line_has_one_empty_span() {
        let budget = Budget::start(&DiffOptions::default());
        let r = refine(&[line("a b"), line("")], &[line("a c")], &budget).unwrap();
        assert_eq!(
            r.old[1],
            [Span {
                text: String::new(),
                changed: false
            }]
        );
    }

    #[test]
    fn template_syntax_is_split_into_punctuation_so_a_renamed_variable_stands_out() {
        let r = refine_one("Hello {{ name }}!", "Hello {{ customer_name }}!");
        assert_eq!(highlights(&r.new[0]), ["customer_name"]);
    }

    #[test]
    fn ideographs_are_compared_one_by_one() {
        let r = refine_one("我喜欢猫", "我喜欢狗");
        assert_eq!(highlights(&r.new[0]), ["狗"]);
    }
}
