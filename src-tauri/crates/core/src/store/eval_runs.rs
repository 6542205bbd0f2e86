//! The `eval_runs` table (one run of a suite against one version with one set of model
//! settings, and its running totals) and `eval_results` (each case's outcome in a run, written
//! as soon as it is known), one aggregate: results belong to their run, and a run's totals are
//! the sum of its results. A run's JSON (its model settings) and a result's (the case as run,
//! the rendered input, the checks) are stored text; parsing them is the caller's.
//!
//! A run as the app shows it names its prompt, version and suite: [`view`] and [`views`] read
//! it joined with `prompts`, `versions` and `suites` in one query (a run always has all three:
//! the schema's foreign keys say so), rather than looking each up per run.

use rusqlite::{params, Connection, Row};

use super::optional;
use crate::error::Result;

/// One row of `eval_runs`. Counts are never negative: token counts and durations below zero
/// (which SQLite's signed integers would allow) read as zero.
#[derive(Debug, Clone, PartialEq)]
pub struct RunRow {
    pub id: String,
    pub prompt_id: i64,
    pub version_hash: String,
    pub suite_id: String,
    /// Of the cases as they were when the run began.
    pub suite_hash: String,
    /// JSON: the model settings used.
    pub model: String,
    pub settings_hash: String,
    /// `running`, `completed`, `cancelled` or `failed`.
    pub status: String,
    pub total: u32,
    pub done: u32,
    pub passed: u32,
    /// Cases with no output: the call or the render failed.
    pub errored: u32,
    pub cached: u32,
    pub score_sum: f64,
    pub tokens_in: u64,
    pub tokens_out: u64,
    pub cost: Option<f64>,
    /// Summed over cases.
    pub latency_ms: u64,
    pub started_by: String,
    pub started_at: String,
    pub finished_at: Option<String>,
    pub error: Option<String>,
}

/// A run with what it is shown by: its prompt's name, its version's number and content (whose
/// model settings tell whether the run used the version's own), and its suite's name.
#[derive(Debug, Clone, PartialEq)]
pub struct RunView {
    pub run: RunRow,
    pub prompt: String,
    pub version: u32,
    pub version_content: String,
    pub suite: String,
}

const COLUMNS: &str = "r.id, r.prompt_id, r.version_hash, r.suite_id, r.suite_hash, r.model,
    r.settings_hash, r.status, r.total, r.done, r.passed, r.errored, r.cached, r.score_sum,
    r.tokens_in, r.tokens_out, r.cost, r.latency_ms, r.started_by, r.started_at, r.finished_at,
    r.error";

const VIEW: &str = "p.name, v.number, v.content, s.name
    FROM eval_runs r JOIN prompts p ON p.id = r.prompt_id
    JOIN suites s ON s.id = r.suite_id
    JOIN versions v ON v.prompt_id = r.prompt_id AND v.hash = r.version_hash";

/// SQLite integers are signed; counts and durations are never negative.
fn get_u64(r: &Row<'_>, i: usize) -> rusqlite::Result<u64> {
    Ok(r.get::<_, i64>(i)?.max(0) as u64)
}

fn row(r: &Row<'_>) -> rusqlite::Result<RunRow> {
    Ok(RunRow {
        id: r.get(0)?,
        prompt_id: r.get(1)?,
        version_hash: r.get(2)?,
        suite_id: r.get(3)?,
        suite_hash: r.get(4)?,
        model: r.get(5)?,
        settings_hash: r.get(6)?,
        status: r.get(7)?,
        total: r.get(8)?,
        done: r.get(9)?,
        passed: r.get(10)?,
        errored: r.get(11)?,
        cached: r.get(12)?,
        score_sum: r.get(13)?,
        tokens_in: get_u64(r, 14)?,
        tokens_out: get_u64(r, 15)?,
        cost: r.get(16)?,
        latency_ms: get_u64(r, 17)?,
        started_by: r.get(18)?,
        started_at: r.get(19)?,
        finished_at: r.get(20)?,
        error: r.get(21)?,
    })
}

fn view_row(r: &Row<'_>) -> rusqlite::Result<RunView> {
    Ok(RunView {
        run: row(r)?,
        prompt: r.get(22)?,
        version: r.get(23)?,
        version_content: r.get(24)?,
        suite: r.get(25)?,
    })
}

/// One row of `eval_results`, its JSON columns as stored text.
#[derive(Debug, Clone, PartialEq)]
pub struct ResultRow {
    pub run_id: String,
    pub case_id: String,
    pub position: u32,
    /// JSON: the case as it was run.
    pub test_case: String,
    /// JSON: the rendered prompt sent (not kept for runs pulled from elsewhere).
    pub input: Option<String>,
    pub output: Option<String>,
    pub error: Option<String>,
    pub passed: bool,
    pub score: f64,
    /// JSON: each assertion's outcome.
    pub checks: String,
    pub latency_ms: u64,
    pub tokens_in: u64,
    pub tokens_out: u64,
    pub cost: Option<f64>,
    pub cached: bool,
    pub attempts: u32,
    pub at: String,
}

const RESULT_COLUMNS: &str = "e.run_id, e.case_id, e.position, e.test_case, e.input, e.output,
    e.error, e.passed, e.score, e.checks, e.latency_ms, e.tokens_in, e.tokens_out, e.cost,
    e.cached, e.attempts, e.at";

fn result_row(r: &Row<'_>) -> rusqlite::Result<ResultRow> {
    Ok(ResultRow {
        run_id: r.get(0)?,
        case_id: r.get(1)?,
        position: r.get(2)?,
        test_case: r.get(3)?,
        input: r.get(4)?,
        output: r.get(5)?,
        error: r.get(6)?,
        passed: r.get(7)?,
        score: r.get(8)?,
        checks: r.get(9)?,
        latency_ms: get_u64(r, 10)?,
        tokens_in: get_u64(r, 11)?,
        tokens_out: get_u64(r, 12)?,
        cost: r.get(13)?,
        cached: r.get(14)?,
        attempts: r.get(15)?,
        at: r.get(16)?,
    })
}

/// The run with this id.
pub fn get(conn: &Connection, id: &str) -> Result<Option<RunRow>> {
    Ok(optional(
        conn.prepare_cached(&format!(
            "SELECT {COLUMNS} FROM eval_runs r WHERE r.id = ?1"
        ))?
        .query_row([id], row),
    )?)
}

/// Every run of every prompt, by id.
pub fn all(conn: &Connection) -> Result<Vec<RunRow>> {
    let mut stmt =
        conn.prepare_cached(&format!("SELECT {COLUMNS} FROM eval_runs r ORDER BY r.id"))?;
    let rows = stmt.query_map([], row)?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// A run's status (`None`: there is no such run).
pub fn status(conn: &Connection, id: &str) -> Result<Option<String>> {
    Ok(optional(
        conn.prepare_cached("SELECT status FROM eval_runs WHERE id = ?1")?
            .query_row([id], |r| r.get(0)),
    )?)
}

/// The run with this id, with the names it is shown by.
pub fn view(conn: &Connection, id: &str) -> Result<Option<RunView>> {
    Ok(optional(
        conn.prepare_cached(&format!("SELECT {COLUMNS}, {VIEW} WHERE r.id = ?1"))?
            .query_row([id], view_row),
    )?)
}

/// Runs of a prompt, newest first (by start, then by when they were recorded); only those of
/// one suite and of one version when given.
pub fn views(
    conn: &Connection,
    prompt_id: i64,
    suite_id: Option<&str>,
    version_hash: Option<&str>,
) -> Result<Vec<RunView>> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {COLUMNS}, {VIEW}
         WHERE r.prompt_id = ?1 AND (?2 IS NULL OR r.suite_id = ?2)
           AND (?3 IS NULL OR r.version_hash = ?3)
         ORDER BY r.started_at DESC, r.rowid DESC"
    ))?;
    let rows = stmt.query_map(params![prompt_id, suite_id, version_hash], view_row)?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// Records a run, every column as given (a new run starts `running` with zero totals; a run
/// pulled from elsewhere comes with its final ones).
pub fn insert(conn: &Connection, r: &RunRow) -> Result<()> {
    conn.execute(
        "INSERT INTO eval_runs (id, prompt_id, version_hash, suite_id, suite_hash, model,
             settings_hash, status, total, done, passed, errored, cached, score_sum, tokens_in,
             tokens_out, cost, latency_ms, started_by, started_at, finished_at, error)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18,
                 ?19, ?20, ?21, ?22)",
        params![
            r.id,
            r.prompt_id,
            r.version_hash,
            r.suite_id,
            r.suite_hash,
            r.model,
            r.settings_hash,
            r.status,
            r.total,
            r.done,
            r.passed,
            r.errored,
            r.cached,
            r.score_sum,
            r.tokens_in as i64,
            r.tokens_out as i64,
            r.cost,
            r.latency_ms as i64,
            r.started_by,
            r.started_at,
            r.finished_at,
            r.error
        ],
    )?;
    Ok(())
}

/// What one result adds to its run's totals.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Tally {
    pub passed: bool,
    pub errored: bool,
    pub cached: bool,
    pub score: f64,
    pub tokens_in: u64,
    pub tokens_out: u64,
    /// What it cost this time (`None` adds nothing: the run's cost stays unknown until some
    /// result has one).
    pub cost: Option<f64>,
    pub latency_ms: u64,
}

/// Adds one result to a run's totals (one more case done).
pub fn add_to_totals(conn: &Connection, run_id: &str, t: &Tally) -> Result<()> {
    conn.prepare_cached(
        "UPDATE eval_runs SET done = done + 1, passed = passed + ?2,
             errored = errored + ?3, cached = cached + ?4, score_sum = score_sum + ?5,
             tokens_in = tokens_in + ?6, tokens_out = tokens_out + ?7,
             cost = CASE WHEN ?8 IS NULL THEN cost ELSE coalesce(cost, 0) + ?8 END,
             latency_ms = latency_ms + ?9
         WHERE id = ?1",
    )?
    .execute(params![
        run_id,
        t.passed as i64,
        t.errored as i64,
        t.cached as i64,
        t.score,
        t.tokens_in as i64,
        t.tokens_out as i64,
        t.cost,
        t.latency_ms as i64,
    ])?;
    Ok(())
}

/// Ends a run with `status` at `at`.
pub fn finish(
    conn: &Connection,
    id: &str,
    status: &str,
    at: &str,
    error: Option<&str>,
) -> Result<()> {
    conn.execute(
        "UPDATE eval_runs SET status = ?2, finished_at = ?3, error = ?4 WHERE id = ?1",
        params![id, status, at, error],
    )?;
    Ok(())
}

const INSERT_RESULT: &str = "INTO eval_results (run_id, case_id, position, test_case, input,
        output, error, passed, score, checks, latency_ms, tokens_in, tokens_out, cost, cached,
        attempts, at)
    VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17)";

fn insert_result_with(conn: &Connection, verb: &str, x: &ResultRow) -> Result<usize> {
    Ok(conn
        .prepare_cached(&format!("{verb} {INSERT_RESULT}"))?
        .execute(params![
            x.run_id,
            x.case_id,
            x.position,
            x.test_case,
            x.input,
            x.output,
            x.error,
            x.passed,
            x.score,
            x.checks,
            x.latency_ms as i64,
            x.tokens_in as i64,
            x.tokens_out as i64,
            x.cost,
            x.cached,
            x.attempts,
            x.at
        ])?)
}

pub fn insert_result(conn: &Connection, x: &ResultRow) -> Result<()> {
    insert_result_with(conn, "INSERT", x)?;
    Ok(())
}

/// Stores a case's outcome unless the run already has one for the case (the first one stays);
/// whether it was stored.
pub fn insert_result_if_new(conn: &Connection, x: &ResultRow) -> Result<bool> {
    Ok(insert_result_with(conn, "INSERT OR IGNORE", x)? == 1)
}

/// The outcome of one case in a run.
pub fn result(conn: &Connection, run_id: &str, case_id: &str) -> Result<Option<ResultRow>> {
    Ok(optional(
        conn.prepare_cached(&format!(
            "SELECT {RESULT_COLUMNS} FROM eval_results e WHERE e.run_id = ?1 AND e.case_id = ?2"
        ))?
        .query_row(params![run_id, case_id], result_row),
    )?)
}

/// A run's results in case order (by position, then case id); only the failed ones (errors
/// included) when `only_failures`.
pub fn results(conn: &Connection, run_id: &str, only_failures: bool) -> Result<Vec<ResultRow>> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {RESULT_COLUMNS} FROM eval_results e
         WHERE e.run_id = ?1 AND (?2 = 0 OR e.passed = 0)
         ORDER BY e.position, e.case_id"
    ))?;
    let rows = stmt.query_map(params![run_id, only_failures], result_row)?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// The outcome of a case in the newest run of a version that has it (newest as [`views`]
/// orders runs).
pub fn latest_result(
    conn: &Connection,
    prompt_id: i64,
    version_hash: &str,
    case_id: &str,
) -> Result<Option<ResultRow>> {
    Ok(optional(conn.query_row(
        &format!(
            "SELECT {RESULT_COLUMNS} FROM eval_results e JOIN eval_runs r ON r.id = e.run_id
             WHERE r.prompt_id = ?1 AND r.version_hash = ?2 AND e.case_id = ?3
             ORDER BY r.started_at DESC, r.rowid DESC LIMIT 1"
        ),
        params![prompt_id, version_hash, case_id],
        result_row,
    ))?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::suites::{self, SuiteRow};
    use crate::store::testing;

    struct Fixture {
        _dir: tempfile::TempDir,
        conn: Connection,
        prompt: i64,
    }

    /// A prompt with versions 1 and 2 and suites s1 and s2.
    fn fixture() -> Fixture {
        let (dir, conn) = testing::registry();
        let prompt = testing::prompt(&conn, "a");
        testing::version(&conn, prompt, 1);
        testing::version(&conn, prompt, 2);
        for (id, name) in [("s1", "smoke"), ("s2", "full")] {
            suites::insert(
                &conn,
                &SuiteRow {
                    id: id.into(),
                    prompt_id: prompt,
                    name: name.into(),
                    description: String::new(),
                    created_by: "ana".into(),
                    created_at: "2026-01-01T00:00:00Z".into(),
                },
            )
            .unwrap();
        }
        Fixture {
            _dir: dir,
            conn,
            prompt,
        }
    }

    /// A run of version `version` (1 or 2) just started.
    fn run(id: &str, prompt_id: i64, version: u32, suite: &str, at: &str) -> RunRow {
        RunRow {
            id: id.into(),
            prompt_id,
            version_hash: testing::hash(version),
            suite_id: suite.into(),
            suite_hash: "sh".into(),
            model: "{}".into(),
            settings_hash: "mh".into(),
            status: "running".into(),
            total: 2,
            done: 0,
            passed: 0,
            errored: 0,
            cached: 0,
            score_sum: 0.0,
            tokens_in: 0,
            tokens_out: 0,
            cost: None,
            latency_ms: 0,
            started_by: "ana".into(),
            started_at: at.into(),
            finished_at: None,
            error: None,
        }
    }

    fn result_of(run_id: &str, case_id: &str, position: u32, passed: bool) -> ResultRow {
        ResultRow {
            run_id: run_id.into(),
            case_id: case_id.into(),
            position,
            test_case: "{}".into(),
            input: None,
            output: Some(format!("{run_id}/{case_id}")),
            error: None,
            passed,
            score: if passed { 1.0 } else { 0.0 },
            checks: "[]".into(),
            latency_ms: 10,
            tokens_in: 1,
            tokens_out: 2,
            cost: None,
            cached: false,
            attempts: 1,
            at: "2026-01-01T00:00:00Z".into(),
        }
    }

    #[test]
    fn views_are_newest_first_ties_by_recording_order_and_filter_by_suite_and_version() {
        let f = fixture();
        let at = "2026-01-02T00:00:00Z";
        insert(&f.conn, &run("b", f.prompt, 1, "s1", at)).unwrap();
        insert(&f.conn, &run("a", f.prompt, 1, "s1", at)).unwrap();
        insert(
            &f.conn,
            &run("c", f.prompt, 2, "s1", "2026-01-01T00:00:00Z"),
        )
        .unwrap();
        insert(
            &f.conn,
            &run("d", f.prompt, 1, "s2", "2026-01-03T00:00:00Z"),
        )
        .unwrap();
        let ids = |v: Vec<RunView>| v.into_iter().map(|v| v.run.id).collect::<Vec<_>>();
        let (h1, h2) = (testing::hash(1), testing::hash(2));
        assert_eq!(
            ids(views(&f.conn, f.prompt, None, None).unwrap()),
            ["d", "a", "b", "c"]
        );
        assert_eq!(
            ids(views(&f.conn, f.prompt, Some("s1"), Some(h1.as_str())).unwrap()),
            ["a", "b"]
        );
        assert_eq!(
            ids(views(&f.conn, f.prompt, None, Some(h2.as_str())).unwrap()),
            ["c"]
        );
        let v = view(&f.conn, "d").unwrap().unwrap();
        assert_eq!(
            (v.prompt.as_str(), v.version, v.suite.as_str()),
            ("a", 1, "full")
        );
    }

    #[test]
    fn a_result_is_recorded_once_and_totals_add_up_with_an_unknown_cost_staying_unknown() {
        let f = fixture();
        insert(
            &f.conn,
            &run("r", f.prompt, 1, "s1", "2026-01-02T00:00:00Z"),
        )
        .unwrap();
        let first = result_of("r", "c1", 1, true);
        assert!(insert_result_if_new(&f.conn, &first).unwrap());
        let mut again = first.clone();
        again.passed = false;
        assert!(!insert_result_if_new(&f.conn, &again).unwrap());
        assert_eq!(result(&f.conn, "r", "c1").unwrap(), Some(first));

        let tally = |cost| Tally {
            passed: true,
            errored: false,
            cached: false,
            score: 0.5,
            tokens_in: 3,
            tokens_out: 4,
            cost,
            latency_ms: 7,
        };
        add_to_totals(&f.conn, "r", &tally(None)).unwrap();
        assert_eq!(get(&f.conn, "r").unwrap().unwrap().cost, None);
        add_to_totals(&f.conn, "r", &tally(Some(0.25))).unwrap();
        add_to_totals(&f.conn, "r", &tally(None)).unwrap();
        assert_eq!(get(&f.conn, "r").unwrap().unwrap().cost, Some(0.25));
        add_to_totals(&f.conn, "r", &tally(Some(0.5))).unwrap();
        let r = get(&f.conn, "r").unwrap().unwrap();
        assert_eq!(
            (r.done, r.passed, r.tokens_in, r.latency_ms),
            (4, 4, 12, 28)
        );
        assert_eq!(r.score_sum, 2.0);
        assert_eq!(r.cost, Some(0.75));
    }

    #[test]
    fn results_come_in_case_order_and_the_latest_result_is_of_the_newest_run() {
        let f = fixture();
        insert(
            &f.conn,
            &run("old", f.prompt, 1, "s1", "2026-01-02T00:00:00Z"),
        )
        .unwrap();
        insert(
            &f.conn,
            &run("new", f.prompt, 1, "s2", "2026-01-03T00:00:00Z"),
        )
        .unwrap();
        insert(
            &f.conn,
            &run("other", f.prompt, 2, "s1", "2026-01-04T00:00:00Z"),
        )
        .unwrap();
        insert_result(&f.conn, &result_of("old", "c2", 2, false)).unwrap();
        insert_result(&f.conn, &result_of("old", "c1", 1, true)).unwrap();
        insert_result(&f.conn, &result_of("new", "c1", 1, true)).unwrap();
        insert_result(&f.conn, &result_of("other", "c2", 1, true)).unwrap();
        let cases = |only| -> Vec<String> {
            results(&f.conn, "old", only)
                .unwrap()
                .into_iter()
                .map(|r| r.case_id)
                .collect()
        };
        assert_eq!(cases(false), ["c1", "c2"]);
        assert_eq!(cases(true), ["c2"]);
        let latest = |case| latest_result(&f.conn, f.prompt, &testing::hash(1), case).unwrap();
        assert_eq!(latest("c1").map(|r| r.run_id), Some("new".into()));
        assert_eq!(latest("c2").map(|r| r.run_id), Some("old".into()));
        assert_eq!(latest("c3"), None);
    }
}
