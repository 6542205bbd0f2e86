//! How much time and context a diff may use.
//!
//! A diff is computed while a reviewer waits (the review screen, `promptdesk diff`), so it is
//! bounded by one wall-clock deadline for the whole request. Every step shares one [`Budget`]
//! created when the request starts: the line diff, each word refinement, the message alignment of
//! a chat prompt. When the budget runs out the remaining work degrades to something coarser that
//! is still a correct diff (whole-line changes instead of word highlights, a longer replace block
//! instead of a minimal edit script), and the result says so (`coarse`).

use std::time::{Duration, Instant};

/// Options for every diff in this crate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DiffOptions {
    /// Wall-clock time allowed for the whole diff (a [`crate::VersionDiff`] shares one deadline
    /// across all its parts). Work past it degrades to a coarser, still correct diff.
    /// `Duration::MAX` means no deadline.
    pub deadline: Duration,
    /// Unchanged lines shown around each change (3, like git).
    pub context: usize,
}

impl DiffOptions {
    /// The deadline used by [`DiffOptions::default`]: 200 ms.
    pub const DEFAULT_DEADLINE: Duration = Duration::from_millis(200);
    /// The context used by [`DiffOptions::default`]: 3 lines.
    pub const DEFAULT_CONTEXT: usize = 3;
}

impl Default for DiffOptions {
    fn default() -> Self {
        DiffOptions {
            deadline: Self::DEFAULT_DEADLINE,
            context: Self::DEFAULT_CONTEXT,
        }
    }
}

/// The time left for one diff request, shared by all of its parts.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Budget {
    /// `None` when the deadline is too far away to represent: no limit.
    deadline: Option<Instant>,
    /// Context lines, clamped so that arithmetic on it cannot overflow.
    pub(crate) context: usize,
}

/// Larger contexts are clamped to this; no document has that many lines and `2 * context` stays
/// far from overflowing.
const MAX_CONTEXT: usize = u32::MAX as usize;

impl Budget {
    /// Starts the clock for one request.
    pub(crate) fn start(opts: &DiffOptions) -> Self {
        Budget {
            deadline: Instant::now().checked_add(opts.deadline),
            context: opts.context.min(MAX_CONTEXT),
        }
    }

    /// The deadline to hand to similar's algorithms.
    pub(crate) fn deadline(&self) -> Option<Instant> {
        self.deadline
    }

    /// Whether the deadline has passed. A zero deadline counts as passed from the start, so
    /// the coarse path is deterministic in tests.
    pub(crate) fn expired(&self) -> bool {
        self.deadline.is_some_and(|d| Instant::now() >= d)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_allows_200_ms_and_shows_3_lines_of_context() {
        let opts = DiffOptions::default();
        assert_eq!(opts.deadline, Duration::from_millis(200));
        assert_eq!(opts.context, 3);
    }

    #[test]
    fn a_zero_deadline_has_expired_as_soon_as_the_budget_starts() {
        let budget = Budget::start(&DiffOptions {
            deadline: Duration::ZERO,
            context: 3,
        });
        assert!(budget.expired());
    }

    #[test]
    fn an_unrepresentable_deadline_means_no_limit_and_a_huge_context_is_clamped() {
        let budget = Budget::start(&DiffOptions {
            deadline: Duration::MAX,
            context: usize::MAX,
        });
        assert!(budget.deadline().is_none());
        assert!(!budget.expired());
        assert_eq!(budget.context, MAX_CONTEXT);
    }
}
