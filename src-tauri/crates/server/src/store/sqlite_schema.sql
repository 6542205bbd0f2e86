-- The registry server's schema (SQLite). The event log is the record; the other tables are
-- what the events say, kept for fast reads and for the checks a push must pass.

CREATE TABLE events (
    seq         INTEGER PRIMARY KEY,          -- assigned by the server, never reused
    id          TEXT NOT NULL UNIQUE,
    hash        TEXT NOT NULL,
    event       TEXT NOT NULL,                -- the event as pushed (JSON)
    assigned    TEXT NOT NULL DEFAULT '{}',   -- what the server assigned (a version's number)
    pushed_by   TEXT NOT NULL,
    received_at TEXT NOT NULL
) STRICT;
CREATE TRIGGER events_are_append_only BEFORE UPDATE ON events
BEGIN SELECT RAISE(ABORT, 'events are append-only'); END;
CREATE TRIGGER events_are_never_deleted BEFORE DELETE ON events
BEGIN SELECT RAISE(ABORT, 'events are append-only'); END;

CREATE TABLE prompts (
    name        TEXT PRIMARY KEY,
    kind        TEXT NOT NULL CHECK (kind IN ('text', 'chat')),
    description TEXT NOT NULL DEFAULT '',
    tags        TEXT NOT NULL DEFAULT '[]',
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL
) STRICT;

CREATE TABLE versions (
    prompt     TEXT NOT NULL REFERENCES prompts (name),
    number     INTEGER NOT NULL CHECK (number > 0),
    hash       TEXT NOT NULL,
    content    TEXT NOT NULL,
    author     TEXT NOT NULL,
    message    TEXT NOT NULL,
    created_at TEXT NOT NULL,
    PRIMARY KEY (prompt, number),
    UNIQUE (prompt, hash)
) STRICT;
CREATE TRIGGER versions_are_immutable BEFORE UPDATE ON versions
BEGIN SELECT RAISE(ABORT, 'versions are immutable'); END;

CREATE TABLE labels (
    prompt   TEXT NOT NULL REFERENCES prompts (name),
    label    TEXT NOT NULL,
    hash     TEXT NOT NULL,
    number   INTEGER NOT NULL,
    moved_at TEXT NOT NULL,
    moved_by TEXT NOT NULL,
    PRIMARY KEY (prompt, label)
) STRICT;

CREATE TABLE signing_keys (
    key_id     TEXT PRIMARY KEY,
    person     TEXT NOT NULL,
    public_key TEXT NOT NULL UNIQUE
) STRICT;

CREATE TABLE reviews (
    id           TEXT PRIMARY KEY,
    prompt       TEXT NOT NULL REFERENCES prompts (name),
    version_hash TEXT NOT NULL,
    label        TEXT NOT NULL,
    requested_by TEXT NOT NULL
) STRICT;

CREATE TABLE decisions (
    seq          INTEGER PRIMARY KEY,
    id           TEXT NOT NULL UNIQUE,
    review       TEXT NOT NULL REFERENCES reviews (id),
    prompt       TEXT NOT NULL,
    label        TEXT NOT NULL,
    content_hash TEXT NOT NULL,
    actor        TEXT NOT NULL,
    actor_role   TEXT NOT NULL,
    kind         TEXT NOT NULL CHECK (kind IN ('approve', 'request_changes')),
    at           TEXT NOT NULL
) STRICT;
CREATE INDEX decisions_by_label ON decisions (prompt, label, actor, content_hash, seq);

CREATE TABLE policies (
    label      TEXT PRIMARY KEY,
    policy     TEXT NOT NULL,
    updated_by TEXT NOT NULL,
    updated_at TEXT NOT NULL
) STRICT;

CREATE TABLE users (
    name       TEXT PRIMARY KEY,
    role       TEXT NOT NULL CHECK (role IN ('viewer', 'editor', 'reviewer', 'releaser', 'admin')),
    updated_at TEXT NOT NULL
) STRICT;

-- Secrets are stored as SHA-256 hashes only: a stolen database file gives no usable token.
CREATE TABLE tokens (
    id          TEXT PRIMARY KEY,
    kind        TEXT NOT NULL CHECK (kind IN ('token', 'langfuse')),
    display     TEXT NOT NULL,
    public_key  TEXT UNIQUE,
    user_name   TEXT NOT NULL REFERENCES users (name),
    secret_hash TEXT NOT NULL UNIQUE,
    created_at  TEXT NOT NULL,
    revoked_at  TEXT
) STRICT;
