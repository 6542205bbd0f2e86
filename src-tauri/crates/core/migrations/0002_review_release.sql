-- Promptdesk registry, schema 2: roles, release policies, review requests, releases, and the
-- public keys that approvals and releases are signed with.
-- Review events and releases are append-only like versions: the database refuses to rewrite
-- who approved what, and what shipped.

-- A person's role. While this table is empty the registry belongs to one person and everyone
-- acting on it is an admin; the first role assigned must be an admin.
CREATE TABLE roles (
    person     TEXT PRIMARY KEY,
    role       TEXT NOT NULL CHECK (role IN ('viewer', 'editor', 'reviewer', 'releaser', 'admin')),
    granted_by TEXT NOT NULL,
    granted_at TEXT NOT NULL
) STRICT;

-- A label's release policy as JSON (see core/src/policy.rs). Labels without a row use the
-- default: `production` protected, others not.
CREATE TABLE policies (
    label      TEXT PRIMARY KEY,
    policy     TEXT NOT NULL,
    updated_by TEXT NOT NULL,
    updated_at TEXT NOT NULL
) STRICT;

-- Public keys of the people who sign approvals and releases (the private halves stay in their
-- OS keyrings). A person may have several (one per machine); a key belongs to one person.
CREATE TABLE signing_keys (
    key_id        TEXT PRIMARY KEY,                 -- first 16 hex digits of SHA-256(public_key)
    person        TEXT NOT NULL,
    public_key    TEXT NOT NULL UNIQUE CHECK (length(public_key) = 64),
    registered_at TEXT NOT NULL
) STRICT;
CREATE TRIGGER signing_keys_are_append_only BEFORE UPDATE ON signing_keys
BEGIN SELECT RAISE(ABORT, 'signing keys are append-only'); END;
CREATE TRIGGER signing_keys_are_never_deleted BEFORE DELETE ON signing_keys
BEGIN SELECT RAISE(ABORT, 'signing keys are append-only'); END;

-- A request to release one version (by content hash) to a label.
CREATE TABLE reviews (
    number       INTEGER PRIMARY KEY,
    id           TEXT NOT NULL UNIQUE,
    prompt_id    INTEGER NOT NULL REFERENCES prompts (id),
    version_hash TEXT NOT NULL,
    label        TEXT NOT NULL,
    description  TEXT NOT NULL DEFAULT '',
    requested_by TEXT NOT NULL,
    requested_at TEXT NOT NULL,
    FOREIGN KEY (prompt_id, version_hash) REFERENCES versions (prompt_id, hash)
) STRICT;
CREATE TRIGGER reviews_are_immutable BEFORE UPDATE ON reviews
BEGIN SELECT RAISE(ABORT, 'review requests are immutable'); END;
CREATE TRIGGER reviews_are_never_deleted BEFORE DELETE ON reviews
BEGIN SELECT RAISE(ABORT, 'review requests are immutable'); END;

-- Comments and decisions on a review. A decision carries the content hash it is bound to and
-- the decider's role at that moment.
CREATE TABLE review_events (
    seq          INTEGER PRIMARY KEY,
    id           TEXT NOT NULL UNIQUE,
    review       INTEGER NOT NULL REFERENCES reviews (number),
    kind         TEXT NOT NULL CHECK (kind IN ('comment', 'approve', 'request_changes', 'close', 'reopen')),
    actor        TEXT NOT NULL,
    actor_role   TEXT NOT NULL,
    at           TEXT NOT NULL,
    body         TEXT NOT NULL DEFAULT '',
    anchor       TEXT,                              -- JSON {"template": "...", "line": N} or NULL
    reply_to     TEXT REFERENCES review_events (id),
    content_hash TEXT,                              -- set on approve / request_changes
    key_id       TEXT REFERENCES signing_keys (key_id),   -- decisions are signed
    signature    TEXT
) STRICT;
CREATE INDEX review_events_by_review ON review_events (review, seq);
CREATE TRIGGER review_events_are_append_only BEFORE UPDATE ON review_events
BEGIN SELECT RAISE(ABORT, 'review events are append-only'); END;
CREATE TRIGGER review_events_are_never_deleted BEFORE DELETE ON review_events
BEGIN SELECT RAISE(ABORT, 'review events are append-only'); END;

-- The immutable record of every label move made by a release or a rollback.
CREATE TABLE releases (
    seq        INTEGER PRIMARY KEY,
    id         TEXT NOT NULL UNIQUE,
    prompt_id  INTEGER NOT NULL REFERENCES prompts (id),
    label      TEXT NOT NULL,
    kind       TEXT NOT NULL CHECK (kind IN ('release', 'rollback')),
    from_hash  TEXT,
    to_hash    TEXT NOT NULL,
    changelog  TEXT NOT NULL,                       -- the changelog, or the rollback's reason
    review     INTEGER REFERENCES reviews (number),
    decision   TEXT NOT NULL,                       -- JSON: the policy decision that allowed it
    actor      TEXT NOT NULL,
    actor_role TEXT NOT NULL,
    at         TEXT NOT NULL,
    bundle     TEXT,                                -- shared by the releases of one bundle
    key_id     TEXT NOT NULL REFERENCES signing_keys (key_id),
    signature  TEXT NOT NULL,
    FOREIGN KEY (prompt_id, to_hash) REFERENCES versions (prompt_id, hash)
) STRICT;
CREATE INDEX releases_by_label ON releases (prompt_id, label, seq);
CREATE TRIGGER releases_are_append_only BEFORE UPDATE ON releases
BEGIN SELECT RAISE(ABORT, 'releases are append-only'); END;
CREATE TRIGGER releases_are_never_deleted BEFORE DELETE ON releases
BEGIN SELECT RAISE(ABORT, 'releases are append-only'); END;
