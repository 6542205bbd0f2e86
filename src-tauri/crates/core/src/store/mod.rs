//! Storage: one module per table or aggregate, each with plain verbs over a `&Connection`
//! (a transaction derefs to one). Multi-row changes are composed by [`crate::Registry`] inside
//! [`crate::db::write`].

pub mod drafts;
pub mod labels;
pub mod ledger;
pub mod policies;
pub mod prompts;
pub mod roles;
pub mod samples;
pub mod search;
pub mod settings;
pub mod versions;

use rusqlite::OptionalExtension;

/// `query_row` that maps "no row" to `None`.
pub(crate) fn optional<T>(r: rusqlite::Result<T>) -> rusqlite::Result<Option<T>> {
    r.optional()
}
