//! Diffs a reviewer can read: what changed between two versions of a prompt, exactly.
//!
//! Releasing a prompt goes through review, and a reviewer approves a content hash. This crate
//! shows them what that hash covers compared to the previous version:
//!
//! - [`diff_text`]: a line diff refined to words inside the changed blocks only ([`TextDiff`]:
//!   hunks of lines, each line split into highlighted and plain [`Span`]s);
//! - [`diff_versions`]: every part of a [`VersionContent`] that is part of its identity (the
//!   template or each chat message, the variable schema, model settings key by key, include pins)
//!   as a [`VersionDiff`], plus the rendered output for chosen inputs ([`diff_rendered`],
//!   attached with [`VersionDiff::with_rendered`]);
//! - `to_unified` on both: a git-like text form for terminals and review comments.
//!
//! All output types serialise to snake_case JSON; that JSON is what the UI renders.
//!
//! # Bounded time
//!
//! Diffs run while someone waits, on inputs nobody vetted, so every diff is bounded by
//! [`DiffOptions::deadline`] (200 ms by default, one budget for a whole [`VersionDiff`]). When it
//! runs out the diff gets coarser, never wrong: the remaining changed blocks are shown as whole
//! lines and `coarse` is set. Common leading and trailing lines are trimmed before any diffing
//! and word refinement only ever looks at changed blocks, so large prompts with small edits stay
//! in the low milliseconds (see `benches/diff.rs`).
//!
//! ```
//! use promptdesk_diff::{diff_text, DiffOptions};
//!
//! let diff = diff_text(
//!     "You are a support agent.\nAnswer in English.\n",
//!     "You are a support agent.\nAnswer in French.\n",
//!     &DiffOptions::default(),
//! );
//! assert_eq!((diff.added, diff.removed), (1, 1));
//! assert_eq!(
//!     diff.to_unified("refund-reply@1", "refund-reply@2", false),
//!     "--- refund-reply@1\n+++ refund-reply@2\n@@ -1,2 +1,2 @@\n You are a support agent.\n-Answer in English.\n+Answer in French.\n"
//! );
//! ```
//!
//! [`VersionContent`]: promptdesk_content::VersionContent

mod messages;
mod options;
mod text;
mod unified;
mod version;
mod words;

pub use messages::MessageChange;
pub use options::DiffOptions;
pub use text::{diff_text, DiffLine, Hunk, LineEnding, LineTag, Span, TextDiff};
pub use version::{
    diff_rendered, diff_versions, ChangeStatus, FieldChange, IncludeChange, KindChange,
    RenderedDiff, SettingChange, VariableChange, VariableField, VersionDiff,
};
