//! Word-level highlights inside one changed block of lines.
//!
//! A replace block (some old lines replaced by some new lines) is diffed as one sequence of word
//! tokens per side, with a token for each line break. Diffing the block as a whole pairs lines
//! without guessing which old line became which new one, and still finds words that moved across
//! a line break when a paragraph was re-wrapped. Tokens are Unicode word boundaries (UAX #29,
//! through similar's `unicode` feature): words, runs of spaces, single punctuation marks, and
//! single ideographs for scripts written without spaces. ASCII lines, most of a prompt, take a
//! table-free tokenizer that a property test holds to the same boundaries.
//!
//! Short blocks (the usual one-line edit) are compared with an exact LCS table, which is both
//! the smallest highlight and cheaper than setting up a general diff; longer ones use similar's
//! Myers under the deadline.
//!
//! Two clean-ups make the highlight readable:
//! - unchanged whitespace between two changed tokens joins them (`quick brown` → `slow red` is
//!   one highlight, not two);
//! - a line with nothing left in common (all of its non-blank text changed) is shown as a whole
//!   line change without highlights, which is what it is.
//!
//! Only changed blocks are refined, never whole documents, and never past the deadline: a block
//! whose word diff ran out of time is dropped back to whole lines by the caller. A large block
//! with as many old as new lines (a bulk edit, a search-and-replace) is refined line by line
//! instead, which stays fast however much changed.

use similar::{capture_diff_slices_deadline, Algorithm, DiffOp, DiffableStr};

use crate::options::Budget;
use crate::text::{Line, LineEnding, Span};

/// The spans of each line of a refined block, in the order of the block's lines.
pub(crate) struct Refined {
    pub(crate) old: Vec<Vec<Span>>,
    pub(crate) new: Vec<Vec<Span>>,
    /// False when the deadline stopped a line-by-line refinement part way: the remaining lines
    /// are whole-line changes.
    pub(crate) complete: bool,
}

/// A token of a block: a piece of a line, or the break at the end of a line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, std::hash::Hash)]
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
        if line.content.is_ascii() {
            ascii_words(line.content, &mut tokens);
        } else {
            tokens.extend(
                line.content
                    .tokenize_unicode_words()
                    .into_iter()
                    .map(Token::Text),
            );
        }
        tokens.push(Token::Break(line.ending));
    }
    Tokens {
        tokens,
        line_starts,
    }
}

/// Blocks with more text than this (bytes, both sides) and as many old as new lines are refined
/// line by line instead of as one sequence: many small diffs stay fast where one diff of a
/// large, heavily changed block could use up the whole deadline.
const BLOCK_BYTE_LIMIT: usize = 16 * 1024;

/// Token sequences whose changed middles span at most this many cells (old × new tokens) are
/// diffed with an exact LCS table: for the short lines of most edits that is faster than a
/// general algorithm's setup, and gives the smallest highlight.
const SMALL_DIFF_CELLS: usize = 16 * 1024;

fn is_word_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

/// Whether `mid` joins `prev` and `next` into one word: `customer's`, `e.g`, `a:b` between
/// letters, `3.5` and `1,000` between digits (UAX #29 rules WB6/7 and WB11/12).
fn joins(prev: u8, mid: u8, next: u8) -> bool {
    (prev.is_ascii_alphabetic() && next.is_ascii_alphabetic() && matches!(mid, b':' | b'.' | b'\''))
        || (prev.is_ascii_digit()
            && next.is_ascii_digit()
            && matches!(mid, b',' | b';' | b'.' | b'\''))
}

/// The UAX #29 word boundaries of an ASCII string, without the table lookups of the general
/// implementation (most prompts are ASCII, and tokenising dominates large refinements).
/// Gives exactly the tokens of `split_word_bounds`; a test holds it to that.
fn ascii_words<'a>(s: &'a str, out: &mut Vec<Token<'a>>) {
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() {
        let mut j = i + 1;
        if is_word_byte(b[i]) {
            loop {
                if j < b.len() && is_word_byte(b[j]) {
                    j += 1;
                } else if j + 1 < b.len() && joins(b[j - 1], b[j], b[j + 1]) {
                    j += 2;
                } else {
                    break;
                }
            }
        } else if b[i] == b' ' {
            while j < b.len() && b[j] == b' ' {
                j += 1;
            }
        }
        out.push(Token::Text(&s[i..j]));
        i = j;
    }
}

/// Highlights the changed words of a replace block. `None` when the deadline passed during the
/// word diff (its result may be a poor approximation, so the caller shows whole lines instead);
/// see also [`Refined::complete`].
pub(crate) fn refine(old: &[Line], new: &[Line], budget: &Budget) -> Option<Refined> {
    let bytes: usize = old.iter().chain(new).map(|l| l.content.len()).sum();
    if bytes > BLOCK_BYTE_LIMIT && old.len() == new.len() && old.len() > 1 {
        let mut refined = Refined {
            old: Vec::with_capacity(old.len()),
            new: Vec::with_capacity(new.len()),
            complete: true,
        };
        for (o, n) in old.iter().zip(new) {
            let pair = if refined.complete && !budget.expired() {
                refine_tokens(
                    &tokenize(std::slice::from_ref(o)),
                    &tokenize(std::slice::from_ref(n)),
                    budget,
                )
            } else {
                None
            };
            match pair {
                Some(pair) => {
                    refined.old.extend(pair.old);
                    refined.new.extend(pair.new);
                }
                None => {
                    refined.complete = false;
                    refined.old.push(whole(o));
                    refined.new.push(whole(n));
                }
            }
        }
        return Some(refined);
    }
    refine_tokens(&tokenize(old), &tokenize(new), budget)
}

fn refine_tokens(old: &Tokens, new: &Tokens, budget: &Budget) -> Option<Refined> {
    let (old_changed, new_changed) = changed_tokens(&old.tokens, &new.tokens, budget)?;
    Some(Refined {
        old: line_spans(old, &old_changed),
        new: line_spans(new, &new_changed),
        complete: true,
    })
}

/// A line without highlights.
fn whole(line: &Line) -> Vec<Span> {
    vec![Span {
        text: line.content.to_string(),
        changed: false,
    }]
}

/// Which tokens of each side are not part of the common subsequence.
fn changed_tokens<T: Eq + std::hash::Hash>(
    old: &[T],
    new: &[T],
    budget: &Budget,
) -> Option<(Vec<bool>, Vec<bool>)> {
    let prefix = old.iter().zip(new).take_while(|(a, b)| a == b).count();
    let suffix = old[prefix..]
        .iter()
        .rev()
        .zip(new[prefix..].iter().rev())
        .take_while(|(a, b)| a == b)
        .count();
    let (old_mid, new_mid) = (
        &old[prefix..old.len() - suffix],
        &new[prefix..new.len() - suffix],
    );
    let mut old_changed = vec![false; old.len()];
    let mut new_changed = vec![false; new.len()];
    let old_mid_changed = &mut old_changed[prefix..old.len() - suffix];
    let new_mid_changed = &mut new_changed[prefix..new.len() - suffix];
    if old_mid.is_empty() || new_mid.is_empty() {
        old_mid_changed.fill(true);
        new_mid_changed.fill(true);
    } else if old_mid.len().saturating_mul(new_mid.len()) <= SMALL_DIFF_CELLS {
        mark_lcs(old_mid, new_mid, old_mid_changed, new_mid_changed);
    } else {
        let ops =
            capture_diff_slices_deadline(Algorithm::Myers, old_mid, new_mid, budget.deadline());
        if budget.expired() {
            return None;
        }
        for op in ops.iter().filter(|op| !matches!(op, DiffOp::Equal { .. })) {
            old_mid_changed[op.old_range()].fill(true);
            new_mid_changed[op.new_range()].fill(true);
        }
    }
    Some((old_changed, new_changed))
}

/// Exact longest common subsequence by table, for small inputs (at most [`SMALL_DIFF_CELLS`]
/// cells, so lengths fit in `u16`). Marks what is not in it.
fn mark_lcs<T: Eq>(old: &[T], new: &[T], old_changed: &mut [bool], new_changed: &mut [bool]) {
    let (n, m) = (old.len(), new.len());
    let width = m + 1;
    // lcs[i * width + j]: length of the LCS of old[i..] and new[j..].
    let mut lcs = vec![0u16; (n + 1) * width];
    for i in (0..n).rev() {
        for j in (0..m).rev() {
            lcs[i * width + j] = if old[i] == new[j] {
                lcs[(i + 1) * width + j + 1].saturating_add(1)
            } else {
                lcs[(i + 1) * width + j].max(lcs[i * width + j + 1])
            };
        }
    }
    let (mut i, mut j) = (0, 0);
    while i < n && j < m {
        if old[i] == new[j] {
            i += 1;
            j += 1;
        } else if lcs[(i + 1) * width + j] >= lcs[i * width + j + 1] {
            old_changed[i] = true;
            i += 1;
        } else {
            new_changed[j] = true;
            j += 1;
        }
    }
    old_changed[i..].fill(true);
    new_changed[j..].fill(true);
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
    fn the_ascii_tokenizer_agrees_with_unicode_word_boundaries() {
        let samples = [
            "Hello {{ name }}, it's 3.5 or 1,000; e.g. a:b a_b __x x.1 1.x v1.2 end.",
            "  two  spaces\tand\t\ttabs  ",
            "'quoted' \"double\" a'b' 1'2 a;b 1;2 a,b a.-b -- ... ..a",
            "\r lone cr\r\rx \u{1b}[0m !?",
            "",
        ];
        for s in samples {
            let mut fast = Vec::new();
            ascii_words(s, &mut fast);
            let expected: Vec<Token> = s
                .tokenize_unicode_words()
                .into_iter()
                .map(Token::Text)
                .collect();
            assert_eq!(fast, expected, "tokens of {s:?}");
        }
    }

    proptest::proptest! {
        #[test]
        fn the_ascii_tokenizer_agrees_with_unicode_word_boundaries_on_any_ascii(
            s in "[ab0-9_ .:',;\t\"!\r\x1b-]{0,40}|[ -~\t\r]{0,40}"
        ) {
            let mut fast = Vec::new();
            ascii_words(&s, &mut fast);
            let expected: Vec<Token> = s.tokenize_unicode_words().into_iter().map(Token::Text).collect();
            proptest::prop_assert_eq!(fast, expected);
        }
    }

    #[test]
    fn a_large_block_with_equal_line_counts_is_refined_line_by_line() {
        let old_text: Vec<String> = (0..300)
            .map(|i| format!("line {i} says the quick brown fox jumps over the lazy dog again"))
            .collect();
        let new_text: Vec<String> = old_text
            .iter()
            .map(|l| l.replace("lazy", "sleepy"))
            .collect();
        let old: Vec<Line> = old_text.iter().map(|l| line(l)).collect();
        let new: Vec<Line> = new_text.iter().map(|l| line(l)).collect();
        let r = refine(&old, &new, &Budget::start(&DiffOptions::default())).unwrap();
        assert!(r.complete);
        for (spans, text) in r.new.iter().zip(&new_text) {
            assert_eq!(highlights(spans), ["sleepy"]);
            assert_eq!(
                &spans.iter().map(|s| s.text.as_str()).collect::<String>(),
                text
            );
        }

        let expired = Budget::start(&DiffOptions {
            deadline: std::time::Duration::ZERO,
            ..DiffOptions::default()
        });
        let r = refine(&old, &new, &expired).unwrap();
        assert!(
            !r.complete,
            "an expired deadline leaves the block unrefined"
        );
        assert!(r.new.iter().all(|spans| highlights(spans).is_empty()));
        assert_eq!(r.old.len(), old.len());
    }

    #[test]
    fn ideographs_are_compared_one_by_one() {
        let r = refine_one("我喜欢猫", "我喜欢狗");
        assert_eq!(highlights(&r.new[0]), ["狗"]);
    }
}
