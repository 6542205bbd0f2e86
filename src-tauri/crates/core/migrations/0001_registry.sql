-- Promptdesk registry, schema 1.
-- Append-only tables (versions, label_history, ledger) carry triggers that refuse UPDATE and DELETE:
-- the database itself guarantees that nothing recorded can be rewritten.

CREATE TABLE settings (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
) STRICT;

CREATE TABLE prompts (
    id          INTEGER PRIMARY KEY,
    name        TEXT NOT NULL UNIQUE,
    kind        TEXT NOT NULL CHECK (kind IN ('text', 'chat')),
    description TEXT NOT NULL DEFAULT '',
    tags        TEXT NOT NULL DEFAULT '[]',      -- JSON array of strings, sorted
    created_at  TEXT NOT NULL,
    created_by  TEXT NOT NULL
) STRICT;

-- The working copy of a prompt: body, variables and model settings as JSON. Saved on every
-- change, never served, never part of the ledger (it would flood it); committing turns it into
-- a version.
CREATE TABLE drafts (
    prompt_id   INTEGER PRIMARY KEY REFERENCES prompts (id),
    content     TEXT NOT NULL,
    base_hash   TEXT,                              -- the version the draft started from
    changed     INTEGER NOT NULL DEFAULT 1,        -- 1 when it differs from the latest version
    updated_at  TEXT NOT NULL,
    updated_by  TEXT NOT NULL
) STRICT;

-- Immutable versions. `content` holds exactly the canonical bytes whose SHA-256 is `hash`.
CREATE TABLE versions (
    prompt_id   INTEGER NOT NULL REFERENCES prompts (id),
    number      INTEGER NOT NULL CHECK (number > 0),
    hash        TEXT NOT NULL CHECK (length(hash) = 64),
    parent_hash TEXT,
    content     TEXT NOT NULL,
    author      TEXT NOT NULL,
    message     TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    PRIMARY KEY (prompt_id, number),
    UNIQUE (prompt_id, hash)
) STRICT;
CREATE INDEX versions_by_hash ON versions (hash);

CREATE TRIGGER versions_are_immutable BEFORE UPDATE ON versions
BEGIN SELECT RAISE(ABORT, 'versions are immutable'); END;
CREATE TRIGGER versions_are_never_deleted BEFORE DELETE ON versions
BEGIN SELECT RAISE(ABORT, 'versions are immutable'); END;

-- Where each label points now (derived from label_history, kept for fast reads).
CREATE TABLE labels (
    prompt_id  INTEGER NOT NULL REFERENCES prompts (id),
    name       TEXT NOT NULL,
    hash       TEXT NOT NULL,
    moved_at   TEXT NOT NULL,
    moved_by   TEXT NOT NULL,
    PRIMARY KEY (prompt_id, name),
    FOREIGN KEY (prompt_id, hash) REFERENCES versions (prompt_id, hash)
) STRICT;

CREATE TABLE label_history (
    id         INTEGER PRIMARY KEY,
    prompt_id  INTEGER NOT NULL REFERENCES prompts (id),
    label      TEXT NOT NULL,
    from_hash  TEXT,
    to_hash    TEXT NOT NULL,
    actor      TEXT NOT NULL,
    at         TEXT NOT NULL,
    reason     TEXT NOT NULL DEFAULT '',
    FOREIGN KEY (prompt_id, to_hash) REFERENCES versions (prompt_id, hash)
) STRICT;
CREATE INDEX label_history_by_prompt ON label_history (prompt_id, label, id);

CREATE TRIGGER label_history_is_append_only BEFORE UPDATE ON label_history
BEGIN SELECT RAISE(ABORT, 'label history is append-only'); END;
CREATE TRIGGER label_history_is_never_deleted BEFORE DELETE ON label_history
BEGIN SELECT RAISE(ABORT, 'label history is append-only'); END;

-- Named sets of inputs for previews and comparisons.
CREATE TABLE samples (
    prompt_id  INTEGER NOT NULL REFERENCES prompts (id),
    name       TEXT NOT NULL,
    inputs     TEXT NOT NULL,                      -- JSON object
    updated_at TEXT NOT NULL,
    PRIMARY KEY (prompt_id, name)
) STRICT;

-- The hash-chained record of every event: hash = SHA-256 of the canonical JSON of the row's
-- fields including prev_hash, so changing or removing any row breaks every later link.
CREATE TABLE ledger (
    seq        INTEGER PRIMARY KEY,
    id         TEXT NOT NULL UNIQUE,
    at         TEXT NOT NULL,
    actor      TEXT NOT NULL,
    kind       TEXT NOT NULL,
    subject    TEXT NOT NULL,
    payload    TEXT NOT NULL,
    prev_hash  TEXT NOT NULL,
    hash       TEXT NOT NULL
) STRICT;

CREATE TRIGGER ledger_is_append_only BEFORE UPDATE ON ledger
BEGIN SELECT RAISE(ABORT, 'the ledger is append-only'); END;
CREATE TRIGGER ledger_is_never_deleted BEFORE DELETE ON ledger
BEGIN SELECT RAISE(ABORT, 'the ledger is append-only'); END;

-- Full-text index over each prompt's current text (its latest version, else its draft), for
-- search. Trigram tokens give substring matches. Derived data: rebuilt freely.
CREATE VIRTUAL TABLE prompt_search USING fts5 (
    name, description, body, tokenize = 'trigram'
);
