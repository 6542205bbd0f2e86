-- Promptdesk registry, schema 5: incidents and their postmortems.

-- A production regression tied to the release suspected of causing it. Ids are global (they
-- sync); people refer to an incident by a prefix of its id.
CREATE TABLE incidents (
    id                TEXT PRIMARY KEY,
    title             TEXT NOT NULL,
    severity          TEXT NOT NULL CHECK (severity IN ('SEV1', 'SEV2', 'SEV3', 'SEV4')),
    status            TEXT NOT NULL CHECK (status IN ('investigating', 'mitigated', 'resolved')),
    detection         TEXT NOT NULL CHECK (detection IN ('user_reports', 'monitoring', 'eval', 'other')),
    detected_at       TEXT NOT NULL,
    prompt_id         INTEGER NOT NULL REFERENCES prompts (id),
    label             TEXT NOT NULL,
    suspected_release TEXT,                         -- a release's id
    rollback_release  TEXT,                         -- the rollback taken from the incident
    notes             TEXT NOT NULL DEFAULT '',
    opened_by         TEXT NOT NULL,
    opened_at         TEXT NOT NULL,
    mitigated_at      TEXT,
    resolved_at       TEXT,
    updated_at        TEXT NOT NULL
) STRICT;
CREATE INDEX incidents_by_status ON incidents (status, opened_at);

-- Timeline entries people write (what the ledger cannot know: "support saw the first ticket").
CREATE TABLE incident_notes (
    id          TEXT PRIMARY KEY,
    incident_id TEXT NOT NULL REFERENCES incidents (id),
    at          TEXT NOT NULL,                      -- when it happened
    text        TEXT NOT NULL,
    author      TEXT NOT NULL,
    written_at  TEXT NOT NULL
) STRICT;
CREATE INDEX incident_notes_by_incident ON incident_notes (incident_id, at);

-- The postmortem of an incident, as JSON (see core/src/incidents.rs: PostmortemDoc).
CREATE TABLE postmortems (
    incident_id TEXT PRIMARY KEY REFERENCES incidents (id),
    doc         TEXT NOT NULL,
    updated_by  TEXT NOT NULL,
    updated_at  TEXT NOT NULL
) STRICT;
