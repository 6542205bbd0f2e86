-- Promptdesk registry, schema 7: signing keys can be revoked, and a pulled event remembers who
-- pushed it.
--
-- A key is revoked by its owner (after rotating to a new one, or on losing a machine) or by an
-- admin (a person leaving, a key thought stolen). From then on nothing signed with it counts:
-- its approvals and requests for changes no longer weigh in any release decision, and it signs
-- nothing new. What it signed before stays in the record, as signed. Revocations, like keys,
-- are never edited or removed.
CREATE TABLE key_revocations (
    key_id     TEXT PRIMARY KEY REFERENCES signing_keys (key_id),
    revoked_by TEXT NOT NULL,
    revoked_at TEXT NOT NULL,
    reason     TEXT NOT NULL
) STRICT;
CREATE TRIGGER key_revocations_are_append_only BEFORE UPDATE ON key_revocations
BEGIN SELECT RAISE(ABORT, 'key revocations are append-only'); END;
CREATE TRIGGER key_revocations_are_never_deleted BEFORE DELETE ON key_revocations
BEGIN SELECT RAISE(ABORT, 'key revocations are append-only'); END;

-- Who pushed a pulled event to the server, when that was not its author (an admin carrying a
-- registry over): shown beside the event as "pushed by … on behalf of …".
ALTER TABLE sync_events ADD COLUMN pushed_by TEXT;
