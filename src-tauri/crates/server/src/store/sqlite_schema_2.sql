-- Schema 2: the records (test suites, cases, ratings, incidents, notes, postmortems) the server
-- accepted, for the rules that need them: a suite's name is unique per prompt, and a case, note
-- or postmortem belongs to a suite or incident the server has, of the same prompt. The records'
-- contents stay in the events.

CREATE TABLE records (
    collection TEXT NOT NULL,
    id         TEXT NOT NULL,
    prompt     TEXT NOT NULL REFERENCES prompts (name),
    name       TEXT,                           -- a suite's name; NULL for the others
    created_by TEXT NOT NULL,
    created_at TEXT NOT NULL,
    PRIMARY KEY (collection, id),
    UNIQUE (collection, prompt, name)
) STRICT;
