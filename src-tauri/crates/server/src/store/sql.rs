//! The SQL both backends run: every statement on which SQLite and PostgreSQL agree, written
//! once, so a query is changed in one place. What the dialects do not agree on stays in its
//! backend, with the reason beside it.
//!
//! Placeholders are written SQLite's way, `?N` (parameter N), and the PostgreSQL backend rewrites
//! them to its `$N` with [`postgres_text`] when it prepares a statement (once per connection: it
//! keeps its prepared statements). The other way round would be wrong, not merely untidy: SQLite
//! does accept `$1`, but as a *named* parameter, numbered by where it first appears, so in
//! `SET revoked_at = $2 WHERE key_id = $1` the first value bound would land in `$2`. No
//! statement the PostgreSQL backend prepares has a string literal or a jsonb `?` operator, so a
//! `?` followed by a digit is always a placeholder and the rewrite is purely textual.
//!
//! Columns are listed in the order each backend's row mapping (`event_row`, `version_row`, …)
//! reads them; change the two together.

// events

pub const EVENT: &str =
    "SELECT seq, event, hash, assigned, pushed_by, received_at FROM events WHERE id = ?1";

pub const HEAD: &str = "SELECT coalesce(max(seq), 0) FROM events";

/// The ids [`super::Tx::summary`] digests, in order.
pub const EVENT_IDS_UPTO: &str = "SELECT id FROM events WHERE seq <= ?1 ORDER BY seq";

// prompts and versions

pub const PROMPT: &str = "SELECT name, kind, description, tags, created_at, updated_at
    FROM prompts WHERE name = ?1";

pub const PUT_PROMPT: &str =
    "INSERT INTO prompts (name, kind, description, tags, created_at, updated_at)
    VALUES (?1, ?2, ?3, ?4, ?5, ?6)
    ON CONFLICT (name) DO UPDATE SET description = excluded.description,
        tags = excluded.tags, updated_at = excluded.updated_at";

pub const VERSION_BY_NUMBER: &str =
    "SELECT prompt, number, hash, content, author, message, created_at
    FROM versions WHERE prompt = ?1 AND number = ?2";

pub const VERSION_BY_HASH: &str =
    "SELECT prompt, number, hash, content, author, message, created_at
    FROM versions WHERE prompt = ?1 AND hash = ?2";

pub const LATEST_VERSION: &str = "SELECT prompt, number, hash, content, author, message, created_at
    FROM versions WHERE prompt = ?1 ORDER BY number DESC LIMIT 1";

pub const VERSION_NUMBERS: &str = "SELECT number FROM versions WHERE prompt = ?1 ORDER BY number";

pub const INSERT_VERSION: &str =
    "INSERT INTO versions (prompt, number, hash, content, author, message, created_at)
    VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)";

// labels

pub const LABEL: &str = "SELECT prompt, label, hash, number, moved_at, moved_by FROM labels
    WHERE prompt = ?1 AND label = ?2";

pub const LABELS: &str = "SELECT prompt, label, hash, number, moved_at, moved_by FROM labels
    WHERE prompt = ?1 ORDER BY label";

pub const SET_LABEL: &str = "INSERT INTO labels (prompt, label, hash, number, moved_at, moved_by)
    VALUES (?1, ?2, ?3, ?4, ?5, ?6)
    ON CONFLICT (prompt, label) DO UPDATE SET hash = excluded.hash,
        number = excluded.number, moved_at = excluded.moved_at,
        moved_by = excluded.moved_by";

pub const REMOVE_LABEL: &str = "DELETE FROM labels WHERE prompt = ?1 AND label = ?2";

pub const INSERT_LABEL_MOVE: &str =
    "INSERT INTO label_history (prompt, label, kind, from_hash, to_hash, event_id,
                                moved_by, moved_at)
    VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)";

pub const LABEL_SERVED: &str = "SELECT EXISTS (SELECT 1 FROM label_history
                   WHERE prompt = ?1 AND label = ?2 AND to_hash = ?3)";

pub const LABEL_HISTORY: &str =
    "SELECT prompt, label, kind, from_hash, to_hash, event_id, moved_by, moved_at
    FROM label_history WHERE prompt = ?1 AND label = ?2 ORDER BY seq";

// review and release

pub const KEY: &str = "SELECT key_id, person, public_key, registered_by, revoked_at, revoked_by
    FROM signing_keys WHERE key_id = ?1";

pub const INSERT_KEY: &str = "INSERT INTO signing_keys (key_id, person, public_key, registered_by)
    VALUES (?1, ?2, ?3, ?4)";

pub const REVOKE_KEY: &str =
    "UPDATE signing_keys SET revoked_at = ?2, revoked_by = ?3, revoke_reason = ?4
    WHERE key_id = ?1 AND revoked_at IS NULL";

pub const REVIEW: &str =
    "SELECT id, prompt, version_hash, label, requested_by FROM reviews WHERE id = ?1";

pub const INSERT_REVIEW: &str =
    "INSERT INTO reviews (id, prompt, version_hash, label, requested_by)
    VALUES (?1, ?2, ?3, ?4, ?5)";

pub const INSERT_DECISION: &str =
    "INSERT INTO decisions (id, review, prompt, label, content_hash, actor, actor_role, kind,
                           at, key_id)
    VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)";

/// See [`super::Tx::decisions`]: each reviewer's latest decision per content hash, signed with a
/// key its reviewer registered and nobody revoked.
pub const DECISIONS: &str =
    "SELECT id, review, prompt, label, content_hash, actor, actor_role, kind, at, key_id
    FROM decisions d WHERE prompt = ?1 AND label = ?2
      AND seq = (SELECT max(seq) FROM decisions d2 WHERE d2.prompt = d.prompt
                 AND d2.label = d.label AND d2.actor = d.actor
                 AND d2.content_hash = d.content_hash)
      AND EXISTS (SELECT 1 FROM signing_keys k WHERE k.key_id = d.key_id
                  AND k.person = d.actor AND k.registered_by = d.actor
                  AND k.revoked_at IS NULL)
    ORDER BY seq";

pub const POLICY: &str = "SELECT policy FROM policies WHERE label = ?1";

pub const SET_POLICY: &str =
    "INSERT INTO policies (label, policy, updated_by, updated_at) VALUES (?1, ?2, ?3, ?4)
    ON CONFLICT (label) DO UPDATE SET policy = excluded.policy,
        updated_by = excluded.updated_by, updated_at = excluded.updated_at";

// records

pub const RECORD: &str = "SELECT collection, id, prompt, name, created_by, created_at
    FROM records WHERE collection = ?1 AND id = ?2";

pub const NAMED_RECORD: &str = "SELECT collection, id, prompt, name, created_by, created_at
    FROM records WHERE collection = ?1 AND prompt = ?2 AND name = ?3";

pub const INSERT_RECORD: &str =
    "INSERT INTO records (collection, id, prompt, name, created_by, created_at)
    VALUES (?1, ?2, ?3, ?4, ?5, ?6)";

/// `?3` the fields as JSON text (NULL once deleted), `?4` whether it was deleted (0 or 1).
pub const PUT_RECORD_FIELDS: &str =
    "UPDATE records SET fields = ?3, deleted = ?4 WHERE collection = ?1 AND id = ?2";

pub const RECORD_FIELDS: &str = "SELECT fields FROM records WHERE collection = ?1 AND id = ?2
    AND deleted = 0 AND fields IS NOT NULL";

pub const LIVE_RECORDS: &str =
    "SELECT id, fields FROM records WHERE collection = ?1 AND prompt = ?2
    AND deleted = 0 AND fields IS NOT NULL ORDER BY id";

pub const RECORDS_MISSING_FIELDS: &str =
    "SELECT count(*) FROM records WHERE fields IS NULL AND deleted = 0";

// people and tokens

pub const ROLE_OF: &str = "SELECT role FROM users WHERE name = ?1";

pub const SET_ROLE: &str = "INSERT INTO users (name, role, updated_at) VALUES (?1, ?2, ?3)
    ON CONFLICT (name) DO UPDATE SET role = excluded.role, updated_at = excluded.updated_at";

pub const INSERT_TOKEN: &str =
    "INSERT INTO tokens (id, kind, display, public_key, user_name, created_at, revoked_at,
                        secret_hash)
    VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)";

pub const TOKENS: &str = "SELECT id, kind, display, public_key, user_name, created_at, revoked_at
    FROM tokens ORDER BY created_at, id";

/// `?1` a token's id, or a Langfuse pair's public key.
pub const REVOKE_TOKEN: &str = "UPDATE tokens SET revoked_at = ?2
    WHERE (id = ?1 OR public_key = ?1) AND revoked_at IS NULL";

/// `sql` with each `?N` placeholder written `$N`, PostgreSQL's spelling of parameter N. Text
/// already in PostgreSQL's spelling (the PostgreSQL backend's own statements) comes back as it
/// went in.
pub fn postgres_text(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len());
    let mut chars = sql.chars().peekable();
    while let Some(c) = chars.next() {
        let placeholder = c == '?' && chars.peek().is_some_and(char::is_ascii_digit);
        out.push(if placeholder { '$' } else { c });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::postgres_text;

    #[test]
    fn placeholders_are_rewritten_and_nothing_else() {
        assert_eq!(
            postgres_text("UPDATE t SET a = ?2, b = ?10 WHERE (id = ?1 OR k = ?1)"),
            "UPDATE t SET a = $2, b = $10 WHERE (id = $1 OR k = $1)"
        );
        let native = "SELECT 1 FROM t WHERE ($1::text IS NULL OR a = $1) LIMIT $2";
        assert_eq!(postgres_text(native), native);
        // A `?` that is no placeholder (jsonb's operator, were a statement to use it) stays.
        assert_eq!(postgres_text("tags ? 'x'"), "tags ? 'x'");
    }

    #[test]
    fn shared_statements_are_written_with_question_mark_placeholders() {
        // A `$N` here would pass on PostgreSQL and, out of order, bind wrong values on SQLite.
        let statements = include_str!("sql.rs").split("#[cfg(test)]").next().unwrap();
        for statement in statements.split("pub const ").skip(1) {
            let text = statement.split("\";").next().unwrap();
            let dollar = text
                .as_bytes()
                .windows(2)
                .any(|w| w[0] == b'$' && w[1].is_ascii_digit());
            assert!(!dollar, "{text}");
        }
    }
}
