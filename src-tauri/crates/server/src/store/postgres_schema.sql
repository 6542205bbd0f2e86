-- The registry server's schema (PostgreSQL): the same tables, columns, keys and append-only
-- rules as sqlite_schema.sql (and its migrations, sqlite_schema_N.sql), so both backends answer
-- alike.
--
-- Idempotent (IF NOT EXISTS, OR REPLACE, DROP … IF EXISTS before CREATE TRIGGER, which works on
-- servers older than 14): the server runs it in one transaction under its write lock, so two
-- replicas starting at once over an empty database do not trip over each other.
--
-- Text that is sorted (prompt names, labels, token times and ids) uses the "C" collation: SQLite
-- sorts by bytes, and the database's default collation (often en_US.UTF-8) would order names
-- differently on the two backends. JSON is kept as TEXT, exactly as it was written, as SQLite
-- keeps it; jsonb would re-encode it.

CREATE TABLE IF NOT EXISTS events (
    seq         BIGINT PRIMARY KEY,            -- max(seq) + 1 under the write lock: no gaps
    id          TEXT NOT NULL UNIQUE,
    hash        TEXT NOT NULL,
    event       TEXT NOT NULL,                 -- the event as pushed (JSON)
    assigned    TEXT NOT NULL DEFAULT '{}',    -- what the server assigned (a version's number)
    pushed_by   TEXT NOT NULL,
    received_at TEXT NOT NULL
);

CREATE OR REPLACE FUNCTION promptdesk_events_are_append_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'events are append-only';
END
$$;
DROP TRIGGER IF EXISTS events_are_append_only ON events;
CREATE TRIGGER events_are_append_only BEFORE UPDATE OR DELETE ON events
    FOR EACH ROW EXECUTE FUNCTION promptdesk_events_are_append_only();
-- TRUNCATE skips row triggers; SQLite has no TRUNCATE, so this closes a door only PostgreSQL has.
DROP TRIGGER IF EXISTS events_are_never_truncated ON events;
CREATE TRIGGER events_are_never_truncated BEFORE TRUNCATE ON events
    FOR EACH STATEMENT EXECUTE FUNCTION promptdesk_events_are_append_only();

CREATE TABLE IF NOT EXISTS prompts (
    name        TEXT COLLATE "C" PRIMARY KEY,
    kind        TEXT NOT NULL CHECK (kind IN ('text', 'chat')),
    description TEXT NOT NULL DEFAULT '',
    tags        TEXT NOT NULL DEFAULT '[]',    -- a JSON array of strings
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL
);

CREATE TABLE IF NOT EXISTS versions (
    prompt     TEXT COLLATE "C" NOT NULL REFERENCES prompts (name),
    number     BIGINT NOT NULL CHECK (number > 0),
    hash       TEXT NOT NULL,
    content    TEXT NOT NULL,
    author     TEXT NOT NULL,
    message    TEXT NOT NULL,
    created_at TEXT NOT NULL,
    PRIMARY KEY (prompt, number),
    UNIQUE (prompt, hash)
);

CREATE OR REPLACE FUNCTION promptdesk_versions_are_immutable() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'versions are immutable';
END
$$;
DROP TRIGGER IF EXISTS versions_are_immutable ON versions;
CREATE TRIGGER versions_are_immutable BEFORE UPDATE ON versions
    FOR EACH ROW EXECUTE FUNCTION promptdesk_versions_are_immutable();

CREATE TABLE IF NOT EXISTS labels (
    prompt   TEXT COLLATE "C" NOT NULL REFERENCES prompts (name),
    label    TEXT COLLATE "C" NOT NULL,
    hash     TEXT NOT NULL,
    number   BIGINT NOT NULL,
    moved_at TEXT NOT NULL,
    moved_by TEXT NOT NULL,
    PRIMARY KEY (prompt, label)
);

CREATE TABLE IF NOT EXISTS signing_keys (
    key_id     TEXT PRIMARY KEY,
    person     TEXT NOT NULL,
    public_key TEXT NOT NULL UNIQUE
);

CREATE TABLE IF NOT EXISTS reviews (
    id           TEXT PRIMARY KEY,
    prompt       TEXT COLLATE "C" NOT NULL REFERENCES prompts (name),
    version_hash TEXT NOT NULL,
    label        TEXT NOT NULL,
    requested_by TEXT NOT NULL
);

CREATE TABLE IF NOT EXISTS decisions (
    -- Only the order matters (the latest decision wins); writes are serialised, so identity
    -- values follow commit order.
    seq          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    id           TEXT NOT NULL UNIQUE,
    review       TEXT NOT NULL REFERENCES reviews (id),
    prompt       TEXT NOT NULL,
    label        TEXT NOT NULL,
    content_hash TEXT NOT NULL,
    actor        TEXT NOT NULL,
    actor_role   TEXT NOT NULL,
    kind         TEXT NOT NULL CHECK (kind IN ('approve', 'request_changes')),
    at           TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS decisions_by_label
    ON decisions (prompt, label, actor, content_hash, seq);

CREATE TABLE IF NOT EXISTS policies (
    label      TEXT PRIMARY KEY,
    policy     TEXT NOT NULL,
    updated_by TEXT NOT NULL,
    updated_at TEXT NOT NULL
);

CREATE TABLE IF NOT EXISTS users (
    name       TEXT PRIMARY KEY,
    role       TEXT NOT NULL CHECK (role IN ('viewer', 'editor', 'reviewer', 'releaser', 'admin')),
    updated_at TEXT NOT NULL
);

-- Secrets are stored as SHA-256 hashes only: a stolen database dump gives no usable token.
CREATE TABLE IF NOT EXISTS tokens (
    id          TEXT COLLATE "C" PRIMARY KEY,
    kind        TEXT NOT NULL CHECK (kind IN ('token', 'langfuse')),
    display     TEXT NOT NULL,
    public_key  TEXT UNIQUE,
    user_name   TEXT NOT NULL REFERENCES users (name),
    secret_hash TEXT NOT NULL UNIQUE,
    created_at  TEXT COLLATE "C" NOT NULL,
    revoked_at  TEXT
);

-- Schema 2: the records (test suites, cases, ratings, incidents, notes, postmortems) the server
-- accepted, for the rules that need them: a suite's name is unique per prompt, and a case, note
-- or postmortem belongs to a suite or incident the server has, of the same prompt. The records'
-- contents stay in the events.
CREATE TABLE IF NOT EXISTS records (
    collection TEXT NOT NULL,
    id         TEXT NOT NULL,
    prompt     TEXT COLLATE "C" NOT NULL REFERENCES prompts (name),
    name       TEXT,                           -- a suite's name; NULL for the others
    created_by TEXT NOT NULL,
    created_at TEXT NOT NULL,
    PRIMARY KEY (collection, id),
    UNIQUE (collection, prompt, name)
);

-- Schema 3 (see sqlite_schema_3.sql for why): the label history the rollback rule reads, who
-- registered each signing key, and the key each decision was signed with. Backfilled from the
-- event log once, when the table is first made.
CREATE TABLE IF NOT EXISTS label_history (
    seq       BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    prompt    TEXT COLLATE "C" NOT NULL REFERENCES prompts (name),
    label     TEXT COLLATE "C" NOT NULL,
    kind      TEXT NOT NULL CHECK (kind IN ('release', 'rollback', 'set')),
    from_hash TEXT,
    to_hash   TEXT NOT NULL,
    event_id  TEXT NOT NULL UNIQUE,
    moved_by  TEXT NOT NULL,
    moved_at  TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS label_history_served ON label_history (prompt, label, to_hash);
DROP TRIGGER IF EXISTS label_history_is_append_only ON label_history;
CREATE TRIGGER label_history_is_append_only BEFORE UPDATE OR DELETE ON label_history
    FOR EACH ROW EXECUTE FUNCTION promptdesk_events_are_append_only();
INSERT INTO label_history (prompt, label, kind, from_hash, to_hash, event_id, moved_by, moved_at)
SELECT event::json -> 'payload' ->> 'prompt', event::json -> 'payload' ->> 'label',
       event::json -> 'payload' ->> 'kind', event::json -> 'payload' ->> 'from_hash',
       event::json -> 'payload' ->> 'to_hash', id, event::json ->> 'author', received_at
FROM events
WHERE event::json ->> 'kind' = 'label.move'
  AND NOT EXISTS (SELECT 1 FROM label_history h WHERE h.event_id = events.id)
ORDER BY seq;

ALTER TABLE signing_keys ADD COLUMN IF NOT EXISTS registered_by TEXT;
UPDATE signing_keys SET registered_by = (
    SELECT e.pushed_by FROM events e
    WHERE e.event::json ->> 'kind' = 'key.register'
      AND e.event::json -> 'payload' ->> 'key_id' = signing_keys.key_id
    ORDER BY e.seq LIMIT 1)
WHERE registered_by IS NULL;

ALTER TABLE decisions ADD COLUMN IF NOT EXISTS key_id TEXT;
UPDATE decisions SET key_id = (
    SELECT e.event::json -> 'payload' ->> 'key_id' FROM events e WHERE e.id = decisions.id)
WHERE key_id IS NULL;

-- Schema 4 (see sqlite_schema_4.sql for why): each record's latest fields.
ALTER TABLE records ADD COLUMN IF NOT EXISTS fields TEXT;
ALTER TABLE records ADD COLUMN IF NOT EXISTS deleted INTEGER NOT NULL DEFAULT 0;
CREATE INDEX IF NOT EXISTS records_by_prompt ON records (collection, prompt);

-- Schema 5 (see sqlite_schema_5.sql for why): revoked signing keys.
ALTER TABLE signing_keys ADD COLUMN IF NOT EXISTS revoked_at TEXT;
ALTER TABLE signing_keys ADD COLUMN IF NOT EXISTS revoked_by TEXT;
ALTER TABLE signing_keys ADD COLUMN IF NOT EXISTS revoke_reason TEXT;
