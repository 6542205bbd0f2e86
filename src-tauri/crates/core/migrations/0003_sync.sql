-- Promptdesk registry, schema 3: syncing with the team's registry server.

-- Version numbers are assigned by the registry of record. A version made offline gets the next
-- local number; when the server numbers it differently, the local row takes the server's
-- number. Everything else about a version stays immutable.
DROP TRIGGER versions_are_immutable;
CREATE TRIGGER versions_are_immutable
BEFORE UPDATE OF prompt_id, hash, parent_hash, content, author, message, created_at ON versions
BEGIN SELECT RAISE(ABORT, 'versions are immutable (only their number follows the server)'); END;

-- Every event this registry exchanged with its server: pushed from here, pulled from there, or
-- refused by the server (with its reason, kept for the conflict view). A ledger entry whose id
-- is here has been dealt with; the rest of the syncable ones are pending.
CREATE TABLE sync_events (
    event_id   TEXT PRIMARY KEY,
    ledger_id  TEXT UNIQUE,                         -- the local ledger entry it is, or became
    kind       TEXT NOT NULL,
    subject    TEXT NOT NULL DEFAULT '',
    seq        INTEGER UNIQUE,                      -- the server's sequence number, once known
    hash       TEXT NOT NULL,
    status     TEXT NOT NULL CHECK (status IN ('pushed', 'pulled', 'refused')),
    message    TEXT NOT NULL DEFAULT '',            -- why the server refused it
    at         TEXT NOT NULL                        -- when this registry exchanged it
) STRICT;
CREATE INDEX sync_events_by_status ON sync_events (status);
