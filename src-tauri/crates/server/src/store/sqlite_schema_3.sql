-- Schema 3: what the server needs to decide from what it holds rather than from what a client
-- claims.
--
-- label_history: every accepted label move (kind, from, to, the event that made it, the
-- server's time). A rollback may only return a label to content it served before through an
-- accepted move, and never onto a label that serves nothing; the server can check that only if
-- it keeps the history itself. Backfilled from the event log, which holds every move accepted
-- so far.
CREATE TABLE label_history (
    seq       INTEGER PRIMARY KEY,
    prompt    TEXT NOT NULL REFERENCES prompts (name),
    label     TEXT NOT NULL,
    kind      TEXT NOT NULL CHECK (kind IN ('release', 'rollback', 'set')),
    from_hash TEXT,
    to_hash   TEXT NOT NULL,
    event_id  TEXT NOT NULL UNIQUE,
    moved_by  TEXT NOT NULL,
    moved_at  TEXT NOT NULL            -- the server's clock when it accepted the move
) STRICT;
CREATE INDEX label_history_served ON label_history (prompt, label, to_hash);
CREATE TRIGGER label_history_is_append_only BEFORE UPDATE ON label_history
BEGIN SELECT RAISE(ABORT, 'label history is append-only'); END;
CREATE TRIGGER label_history_is_never_deleted BEFORE DELETE ON label_history
BEGIN SELECT RAISE(ABORT, 'label history is append-only'); END;
INSERT INTO label_history (prompt, label, kind, from_hash, to_hash, event_id, moved_by, moved_at)
SELECT json_extract(event, '$.payload.prompt'), json_extract(event, '$.payload.label'),
       json_extract(event, '$.payload.kind'), json_extract(event, '$.payload.from_hash'),
       json_extract(event, '$.payload.to_hash'), id, json_extract(event, '$.author'), received_at
FROM events WHERE json_extract(event, '$.kind') = 'label.move' ORDER BY seq;

-- A signing key belongs to the person who registered it with their own token: an approval
-- counts only when its signer's key was registered by that signer. Keys registered before
-- this rule take the pusher of their key.register event.
ALTER TABLE signing_keys ADD COLUMN registered_by TEXT;
UPDATE signing_keys SET registered_by = (
    SELECT e.pushed_by FROM events e
    WHERE json_extract(e.event, '$.kind') = 'key.register'
      AND json_extract(e.event, '$.payload.key_id') = signing_keys.key_id
    ORDER BY e.seq LIMIT 1);

-- The key each decision was signed with, so the approvals a release counts can be limited to
-- keys their signers registered themselves.
ALTER TABLE decisions ADD COLUMN key_id TEXT;
UPDATE decisions SET key_id = (
    SELECT json_extract(e.event, '$.payload.key_id') FROM events e WHERE e.id = decisions.id);
