-- Promptdesk registry, schema 4: test suites, eval runs, the cache of model replies, and
-- ratings of outputs.

-- A named set of test cases of one prompt. The id is stable across renames and machines.
CREATE TABLE suites (
    id          TEXT PRIMARY KEY,
    prompt_id   INTEGER NOT NULL REFERENCES prompts (id),
    name        TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    created_by  TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    UNIQUE (prompt_id, name)
) STRICT;

-- The live cases of a suite. Edits and removals rewrite this table; what a case was when a run
-- used it is kept in that run's results, and every change is in the ledger.
CREATE TABLE suite_cases (
    id          TEXT PRIMARY KEY,
    suite_id    TEXT NOT NULL REFERENCES suites (id),
    position    INTEGER NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    vars        TEXT NOT NULL,                     -- JSON object: the variables' values
    expected    TEXT,                              -- the expected output, if any
    assertions  TEXT NOT NULL DEFAULT '[]',        -- JSON array (see core/src/eval/assertions.rs)
    tags        TEXT NOT NULL DEFAULT '[]',        -- JSON array of strings
    origin      TEXT NOT NULL DEFAULT '',          -- '', 'import:FILE' or 'postmortem:ID'
    updated_by  TEXT NOT NULL,
    updated_at  TEXT NOT NULL
) STRICT;
CREATE INDEX suite_cases_by_suite ON suite_cases (suite_id, position);

-- One run of a suite against one version with one set of model settings.
CREATE TABLE eval_runs (
    id            TEXT PRIMARY KEY,
    prompt_id     INTEGER NOT NULL REFERENCES prompts (id),
    version_hash  TEXT NOT NULL,
    suite_id      TEXT NOT NULL REFERENCES suites (id),
    suite_hash    TEXT NOT NULL,                   -- the cases as they were when the run began
    model         TEXT NOT NULL,                   -- JSON: the model settings used
    settings_hash TEXT NOT NULL,                   -- of those settings
    status        TEXT NOT NULL CHECK (status IN ('running', 'completed', 'cancelled', 'failed')),
    total         INTEGER NOT NULL,
    done          INTEGER NOT NULL DEFAULT 0,
    passed        INTEGER NOT NULL DEFAULT 0,
    errored       INTEGER NOT NULL DEFAULT 0,      -- no output: the call or the render failed
    cached        INTEGER NOT NULL DEFAULT 0,
    score_sum     REAL NOT NULL DEFAULT 0,
    tokens_in     INTEGER NOT NULL DEFAULT 0,
    tokens_out    INTEGER NOT NULL DEFAULT 0,
    cost          REAL,
    latency_ms    INTEGER NOT NULL DEFAULT 0,      -- summed over cases
    started_by    TEXT NOT NULL,
    started_at    TEXT NOT NULL,
    finished_at   TEXT,
    error         TEXT,
    FOREIGN KEY (prompt_id, version_hash) REFERENCES versions (prompt_id, hash)
) STRICT;
CREATE INDEX eval_runs_by_version ON eval_runs (prompt_id, version_hash, suite_id, started_at);

-- One case's outcome in a run, written as soon as it is known.
CREATE TABLE eval_results (
    run_id     TEXT NOT NULL REFERENCES eval_runs (id),
    case_id    TEXT NOT NULL,
    position   INTEGER NOT NULL,
    test_case  TEXT NOT NULL,                      -- JSON: the case as it was run
    input      TEXT,                               -- JSON: the rendered prompt sent
    output     TEXT,
    error      TEXT,
    passed     INTEGER NOT NULL,
    score      REAL NOT NULL,
    checks     TEXT NOT NULL DEFAULT '[]',         -- JSON: each assertion's outcome
    latency_ms INTEGER NOT NULL DEFAULT 0,
    tokens_in  INTEGER NOT NULL DEFAULT 0,
    tokens_out INTEGER NOT NULL DEFAULT 0,
    cost       REAL,
    cached     INTEGER NOT NULL DEFAULT 0,
    attempts   INTEGER NOT NULL DEFAULT 0,
    at         TEXT NOT NULL,
    PRIMARY KEY (run_id, case_id)
) STRICT;

-- Model replies by what determined them (version hash, model settings, rendered input), so a
-- run of unchanged cases costs nothing.
CREATE TABLE eval_cache (
    key           TEXT PRIMARY KEY,
    output        TEXT NOT NULL,
    tokens_in     INTEGER NOT NULL,
    tokens_out    INTEGER NOT NULL,
    latency_ms    INTEGER NOT NULL,
    cost          REAL,
    finish_reason TEXT NOT NULL DEFAULT '',
    created_at    TEXT NOT NULL
) STRICT;

-- A person's judgement of one output: a cell of the comparison (a version's output for a
-- case). The latest rating of a person for a version and case counts; earlier ones stay.
CREATE TABLE ratings (
    id           TEXT PRIMARY KEY,
    prompt_id    INTEGER NOT NULL REFERENCES prompts (id),
    version_hash TEXT NOT NULL,
    case_id      TEXT NOT NULL,
    run_id       TEXT REFERENCES eval_runs (id),
    output_hash  TEXT NOT NULL,                    -- SHA-256 of the output that was rated
    rating       TEXT NOT NULL CHECK (rating IN ('good', 'bad')),
    comment      TEXT NOT NULL DEFAULT '',
    rated_by     TEXT NOT NULL,
    rated_at     TEXT NOT NULL
) STRICT;
CREATE INDEX ratings_by_version ON ratings (prompt_id, version_hash);
CREATE TRIGGER ratings_are_append_only BEFORE UPDATE ON ratings
BEGIN SELECT RAISE(ABORT, 'ratings are append-only'); END;
