-- Promptdesk registry, schema 6: a pulled event this registry cannot apply is set aside.
--
-- The server checks every event against what a registry's apply needs, but a registry may still
-- meet one it cannot apply (an event from a newer server, a server that checked less before).
-- Stopping the pull there would stop every later change from arriving, every time; instead the
-- event is kept here with status 'set_aside', why, and the event itself (so a later version can
-- apply it), and the pull goes on. It still counts as exchanged for the server's summary.
CREATE TABLE sync_events_6 (
    event_id   TEXT PRIMARY KEY,
    ledger_id  TEXT UNIQUE,
    kind       TEXT NOT NULL,
    subject    TEXT NOT NULL DEFAULT '',
    seq        INTEGER UNIQUE,
    hash       TEXT NOT NULL,
    status     TEXT NOT NULL CHECK (status IN ('pushed', 'pulled', 'refused', 'set_aside')),
    message    TEXT NOT NULL DEFAULT '',            -- why the server refused it, or why it was set aside
    at         TEXT NOT NULL,
    event      TEXT                                 -- a set-aside event as pulled (JSON)
) STRICT;
INSERT INTO sync_events_6 (event_id, ledger_id, kind, subject, seq, hash, status, message, at)
SELECT event_id, ledger_id, kind, subject, seq, hash, status, message, at FROM sync_events;
DROP TABLE sync_events;
ALTER TABLE sync_events_6 RENAME TO sync_events;
CREATE INDEX sync_events_by_status ON sync_events (status);
