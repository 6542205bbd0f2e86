//! Storage: one module per table or aggregate, each with plain verbs over a `&Connection`
//! (a transaction derefs to one). Multi-row changes are composed by [`crate::Registry`] inside
//! [`crate::db::write`].

pub mod drafts;
pub mod eval_cache;
pub mod eval_runs;
pub mod incidents;
pub mod labels;
pub mod ledger;
pub mod policies;
pub mod prompts;
pub mod ratings;
pub mod releases;
pub mod reviews;
pub mod roles;
pub mod samples;
pub mod search;
pub mod settings;
pub mod signing_keys;
pub mod suites;
pub mod sync_events;
pub mod versions;

use rusqlite::OptionalExtension;

/// `query_row` that maps "no row" to `None`.
pub(crate) fn optional<T>(r: rusqlite::Result<T>) -> rusqlite::Result<Option<T>> {
    r.optional()
}

/// A registry on disk with the current schema, and prompts and versions to hang rows on, for
/// the store modules' own tests.
#[cfg(test)]
pub(crate) mod testing {
    use promptdesk_content::PromptKind;
    use rusqlite::Connection;

    pub fn registry() -> (tempfile::TempDir, Connection) {
        let dir = tempfile::tempdir().unwrap();
        let conn = crate::db::open(&dir.path().join("r.db"), true).unwrap();
        (dir, conn)
    }

    /// A new prompt named `name`; its id.
    pub fn prompt(conn: &Connection, name: &str) -> i64 {
        let at = "2026-01-01T00:00:00Z";
        super::prompts::insert(conn, name, PromptKind::Text, "", &[], at, "ana")
            .unwrap()
            .id
    }

    /// A version `number` of the prompt `prompt_id` (its content is not looked at); its hash,
    /// which is [`hash`] of the number.
    pub fn version(conn: &Connection, prompt_id: i64, number: u32) -> String {
        super::versions::insert(
            conn,
            &super::versions::StoredVersion {
                prompt_id,
                number,
                hash: hash(number),
                parent_hash: None,
                content: "{}".into(),
                author: "ana".into(),
                message: String::new(),
                created_at: "2026-01-01T00:00:00Z".into(),
            },
        )
        .unwrap();
        hash(number)
    }

    /// A version hash (64 hex digits) made from `n`.
    pub fn hash(n: u32) -> String {
        format!("{n:064x}")
    }
}
