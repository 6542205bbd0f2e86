//! Aligning the messages of two chat prompts (or two rendered conversations).
//!
//! Messages are matched as whole `(role, text)` values with a sequence diff, so an unchanged
//! message is recognised wherever it moved. What the sequence diff leaves as a replace block is
//! paired up: blocks with as many old as new messages pair by position (the common "edited every
//! message in place" case); otherwise an order-preserving pairing maximises word overlap, so an
//! inserted message does not turn every following message into a bogus "changed". Leftovers are
//! added or removed, and a removed message that reappears unchanged elsewhere is reported as moved.

use std::collections::HashMap;
use std::ops::Range;

use serde::{Deserialize, Serialize};
use similar::{capture_diff_slices_deadline, Algorithm, DiffOp};

use crate::options::Budget;
use crate::text::{diff_text_within, TextDiff};
use crate::version::ChangeStatus;

/// What happened to one message of a chat prompt.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ts_rs::TS)]
pub struct MessageChange {
    /// added, removed, changed (text and/or role), moved (same role and text, other place) or
    /// unchanged.
    pub status: ChangeStatus,
    /// 0-based index in the old version's messages (`None` when added).
    pub old_index: Option<usize>,
    /// 0-based index in the new version's messages (`None` when removed).
    pub new_index: Option<usize>,
    /// The role in the old version (`None` when added).
    pub old_role: Option<String>,
    /// The role in the new version (`None` when removed).
    pub new_role: Option<String>,
    /// The text diff of the message: every line inserted when added, every line deleted when
    /// removed, empty when unchanged or moved (or when only the role changed).
    pub diff: TextDiff,
}

impl MessageChange {
    /// Whether the role differs between the two sides of a changed message.
    pub fn role_changed(&self) -> bool {
        matches!((&self.old_role, &self.new_role), (Some(a), Some(b)) if a != b)
    }
}

/// A message to align: its role and its text (template or rendered content).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct Message<'a> {
    pub(crate) role: &'a str,
    pub(crate) text: &'a str,
}

/// Replace blocks bigger than this (old × new messages) pair by position instead of by overlap.
const MAX_PAIRING_CELLS: usize = 4096;
/// Two messages with less word overlap than this are not the same message edited.
const MIN_PAIRING_SIMILARITY: f64 = 0.3;

/// How one old message relates to one new message, in display order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Pairing {
    Same(usize, usize),
    Edited(usize, usize),
    Moved(usize, usize),
    Removed(usize),
    Added(usize),
}

/// Aligns two message lists. The flag is true when the alignment ran out of time (its result is
/// then correct but may report more messages as added/removed than necessary).
pub(crate) fn diff_messages<'a>(
    old: &[Message<'a>],
    new: &[Message<'a>],
    budget: &Budget,
) -> (Vec<MessageChange>, bool) {
    let mut ids: HashMap<Message<'a>, u32> = HashMap::new();
    let mut id_of = |m: &Message<'a>| {
        let next = u32::try_from(ids.len()).unwrap_or(u32::MAX);
        *ids.entry(*m).or_insert(next)
    };
    let old_ids: Vec<u32> = old.iter().map(&mut id_of).collect();
    let new_ids: Vec<u32> = new.iter().map(&mut id_of).collect();
    let ops = capture_diff_slices_deadline(Algorithm::Myers, &old_ids, &new_ids, budget.deadline());
    let coarse = budget.expired() && !old.is_empty() && !new.is_empty();

    let mut pairs: Vec<Pairing> = Vec::with_capacity(old.len().max(new.len()));
    for op in ops {
        match op {
            DiffOp::Equal { .. } => pairs.extend(
                op.old_range()
                    .zip(op.new_range())
                    .map(|(o, n)| Pairing::Same(o, n)),
            ),
            DiffOp::Delete { .. } => pairs.extend(op.old_range().map(Pairing::Removed)),
            DiffOp::Insert { .. } => pairs.extend(op.new_range().map(Pairing::Added)),
            DiffOp::Replace { .. } => {
                pair_block(old, op.old_range(), new, op.new_range(), &mut pairs)
            }
        }
    }
    let pairs = find_moves(old, new, pairs);

    let changes = pairs
        .into_iter()
        .map(|pairing| {
            let (status, o, n) = match pairing {
                Pairing::Same(o, n) => (ChangeStatus::Unchanged, Some(o), Some(n)),
                Pairing::Edited(o, n) => (ChangeStatus::Changed, Some(o), Some(n)),
                Pairing::Moved(o, n) => (ChangeStatus::Moved, Some(o), Some(n)),
                Pairing::Removed(o) => (ChangeStatus::Removed, Some(o), None),
                Pairing::Added(n) => (ChangeStatus::Added, None, Some(n)),
            };
            let old_msg = o.and_then(|i| old.get(i));
            let new_msg = n.and_then(|i| new.get(i));
            let diff = match status {
                ChangeStatus::Unchanged | ChangeStatus::Moved => TextDiff::default(),
                _ => diff_text_within(
                    old_msg.map_or("", |m| m.text),
                    new_msg.map_or("", |m| m.text),
                    budget,
                ),
            };
            MessageChange {
                status,
                old_index: o,
                new_index: n,
                old_role: old_msg.map(|m| m.role.to_string()),
                new_role: new_msg.map(|m| m.role.to_string()),
                diff,
            }
        })
        .collect();
    (changes, coarse)
}

/// Pairs the messages of one replace block, in order (see the module docs).
fn pair_block(
    old: &[Message],
    old_range: Range<usize>,
    new: &[Message],
    new_range: Range<usize>,
    out: &mut Vec<Pairing>,
) {
    let (old_block, new_block) = (&old[old_range.clone()], &new[new_range.clone()]);
    let (o0, n0) = (old_range.start, new_range.start);
    if old_block.len() == new_block.len() {
        out.extend((0..old_block.len()).map(|i| Pairing::Edited(o0 + i, n0 + i)));
        return;
    }
    let matched: Vec<(usize, usize)> =
        if old_block.len().saturating_mul(new_block.len()) <= MAX_PAIRING_CELLS {
            best_monotone_pairing(old_block, new_block)
        } else {
            (0..old_block.len().min(new_block.len()))
                .map(|i| (i, i))
                .collect()
        };
    let (mut next_old, mut next_new) = (0, 0);
    for (o, n) in matched {
        out.extend((next_old..o).map(|i| Pairing::Removed(o0 + i)));
        out.extend((next_new..n).map(|i| Pairing::Added(n0 + i)));
        out.push(Pairing::Edited(o0 + o, n0 + n));
        next_old = o + 1;
        next_new = n + 1;
    }
    out.extend((next_old..old_block.len()).map(|i| Pairing::Removed(o0 + i)));
    out.extend((next_new..new_block.len()).map(|i| Pairing::Added(n0 + i)));
}

/// Word-bag overlap of two texts (Dice coefficient over whitespace-separated words), in 0..=1.
fn similarity(a: &WordBag, b: &WordBag) -> f64 {
    if a.total == 0 && b.total == 0 {
        return 1.0;
    }
    let (small, large) = if a.counts.len() <= b.counts.len() {
        (a, b)
    } else {
        (b, a)
    };
    let common: u64 = small
        .counts
        .iter()
        .map(|(w, c)| u64::from((*c).min(large.counts.get(w).copied().unwrap_or(0))))
        .sum();
    2.0 * common as f64 / (a.total as f64 + b.total as f64)
}

struct WordBag<'a> {
    counts: HashMap<&'a str, u32>,
    total: u64,
}

fn word_bag(text: &str) -> WordBag<'_> {
    let mut counts = HashMap::new();
    let mut total = 0u64;
    for w in text.split_whitespace() {
        let c = counts.entry(w).or_insert(0u32);
        *c = c.saturating_add(1);
        total += 1;
    }
    WordBag { counts, total }
}

/// The order-preserving pairing with the largest total similarity: an alignment DP over the
/// block, which holds a handful of messages (at most [`MAX_PAIRING_CELLS`] cells).
fn best_monotone_pairing(old: &[Message], new: &[Message]) -> Vec<(usize, usize)> {
    let old_bags: Vec<_> = old.iter().map(|m| word_bag(m.text)).collect();
    let new_bags: Vec<_> = new.iter().map(|m| word_bag(m.text)).collect();
    let (rows, cols) = (old.len(), new.len());
    let pair_score: Vec<Vec<Option<f64>>> = (0..rows)
        .map(|i| {
            (0..cols)
                .map(|j| {
                    let s = similarity(&old_bags[i], &new_bags[j]);
                    let role_bonus = if old[i].role == new[j].role { 0.1 } else { 0.0 };
                    (s >= MIN_PAIRING_SIMILARITY).then_some(s + role_bonus)
                })
                .collect()
        })
        .collect();
    // best[i][j]: the best total for old[..i] against new[..j].
    let mut best = vec![vec![0.0f64; cols + 1]; rows + 1];
    for i in 1..=rows {
        for j in 1..=cols {
            let mut v = best[i - 1][j].max(best[i][j - 1]);
            if let Some(s) = pair_score[i - 1][j - 1] {
                v = v.max(best[i - 1][j - 1] + s);
            }
            best[i][j] = v;
        }
    }
    let mut pairs = Vec::new();
    let (mut i, mut j) = (rows, cols);
    while i > 0 && j > 0 {
        if let Some(s) = pair_score[i - 1][j - 1] {
            if best[i][j] == best[i - 1][j - 1] + s {
                pairs.push((i - 1, j - 1));
                i -= 1;
                j -= 1;
                continue;
            }
        }
        if best[i - 1][j] >= best[i][j - 1] {
            i -= 1;
        } else {
            j -= 1;
        }
    }
    pairs.reverse();
    pairs
}

/// Turns a removed message and an added message with the same role and text into one moved
/// message, shown at its new place.
fn find_moves(old: &[Message], new: &[Message], mut pairs: Vec<Pairing>) -> Vec<Pairing> {
    let mut removed: HashMap<Message, Vec<(usize, usize)>> = HashMap::new(); // value: (pair slot, old index)
    for (slot, p) in pairs.iter().enumerate() {
        if let Pairing::Removed(o) = *p {
            removed.entry(old[o]).or_default().push((slot, o));
        }
    }
    if removed.is_empty() {
        return pairs;
    }
    for list in removed.values_mut() {
        list.reverse(); // pop() takes the earliest
    }
    let mut dropped = vec![false; pairs.len()];
    for p in pairs.iter_mut() {
        if let Pairing::Added(n) = *p {
            if let Some((slot, o)) = removed.get_mut(&new[n]).and_then(Vec::pop) {
                dropped[slot] = true;
                *p = Pairing::Moved(o, n);
            }
        }
    }
    let mut keep = dropped.iter().map(|d| !d);
    pairs.retain(|_| keep.next().unwrap_or(true));
    pairs
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::options::DiffOptions;

    fn msgs<'a>(items: &[(&'a str, &'a str)]) -> Vec<Message<'a>> {
        items
            .iter()
            .map(|&(role, text)| Message { role, text })
            .collect()
    }

    fn statuses(
        old: &[(&str, &str)],
        new: &[(&str, &str)],
    ) -> Vec<(ChangeStatus, Option<usize>, Option<usize>)> {
        let budget = Budget::start(&DiffOptions::default());
        let (changes, coarse) = diff_messages(&msgs(old), &msgs(new), &budget);
        assert!(!coarse, "a tiny alignment must finish within the deadline");
        changes
            .into_iter()
            .map(|c| (c.status, c.old_index, c.new_index))
            .collect()
    }

    #[test]
    fn an_inserted_message_does_not_mark_the_following_ones_changed() {
        let old = [("system", "You are kind."), ("user", "Hi there")];
        let new = [
            ("system", "You are kind."),
            ("assistant", "Example answer"),
            ("user", "Hi there"),
        ];
        use ChangeStatus::*;
        assert_eq!(
            statuses(&old, &new),
            [
                (Unchanged, Some(0), Some(0)),
                (Added, None, Some(1)),
                (Unchanged, Some(1), Some(2))
            ]
        );
    }

    #[test]
    fn a_block_with_unequal_counts_pairs_the_similar_messages() {
        let old = [
            ("system", "You are a helpful agent"),
            ("user", "please answer the customer politely"),
        ];
        let new = [
            ("system", "You are a helpful support agent"),
            ("user", "brand new question"),
            ("user", "please answer the customer very politely"),
            ("assistant", "ok"),
        ];
        use ChangeStatus::*;
        let got = statuses(&old, &new);
        assert!(
            got.contains(&(Changed, Some(1), Some(2)))
                && got.contains(&(Changed, Some(0), Some(0))),
            "each edited message pairs with its new version: {got:?}"
        );
        assert_eq!(got.iter().filter(|c| c.0 == Added).count(), 2, "{got:?}");
    }

    #[test]
    fn a_swapped_pair_is_one_move_not_a_removal_and_an_addition() {
        let old = [("system", "A"), ("user", "B")];
        let new = [("user", "B"), ("system", "A")];
        use ChangeStatus::*;
        let got = statuses(&old, &new);
        assert_eq!(got.len(), 2, "{got:?}");
        assert!(got.iter().any(|c| c.0 == Moved), "{got:?}");
        assert!(got.iter().any(|c| c.0 == Unchanged), "{got:?}");
    }
}
