//! The `suites` table (a prompt's named sets of test cases; the id is stable across renames and
//! machines) and `suite_cases` (the live cases of each suite), one aggregate: a case never
//! lives without its suite. Cases are stored with their variables, assertions and tags as JSON
//! text; parsing them is the caller's (the app refuses assertions that do not parse, `verify`
//! compares the text as JSON). What a case was when a run used it is in that run's results
//! (`store::eval_runs`), not here.

use rusqlite::{params, Connection};

use super::optional;
use crate::error::Result;

/// One row of `suites`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SuiteRow {
    pub id: String,
    pub prompt_id: i64,
    pub name: String,
    pub description: String,
    pub created_by: String,
    pub created_at: String,
}

const COLUMNS: &str = "SELECT id, prompt_id, name, description, created_by, created_at FROM suites";

fn row(r: &rusqlite::Row<'_>) -> rusqlite::Result<SuiteRow> {
    Ok(SuiteRow {
        id: r.get(0)?,
        prompt_id: r.get(1)?,
        name: r.get(2)?,
        description: r.get(3)?,
        created_by: r.get(4)?,
        created_at: r.get(5)?,
    })
}

/// One row of `suite_cases`, its JSON columns as stored text. The position is read as SQLite
/// has it (a signed integer), so a reader can tell a damaged row from a good one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaseRow {
    pub id: String,
    pub suite_id: String,
    pub position: i64,
    pub description: String,
    /// JSON object: the variables' values.
    pub vars: String,
    pub expected: Option<String>,
    /// JSON array of assertions.
    pub assertions: String,
    /// JSON array of strings.
    pub tags: String,
    /// `''`, `import:FILE` or `postmortem:ID`.
    pub origin: String,
    pub updated_by: String,
    pub updated_at: String,
}

const CASE_COLUMNS: &str = "SELECT id, suite_id, position, description, vars, expected, assertions,
    tags, origin, updated_by, updated_at FROM suite_cases";

fn case_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<CaseRow> {
    Ok(CaseRow {
        id: r.get(0)?,
        suite_id: r.get(1)?,
        position: r.get(2)?,
        description: r.get(3)?,
        vars: r.get(4)?,
        expected: r.get(5)?,
        assertions: r.get(6)?,
        tags: r.get(7)?,
        origin: r.get(8)?,
        updated_by: r.get(9)?,
        updated_at: r.get(10)?,
    })
}

/// The suite with this id.
pub fn get(conn: &Connection, id: &str) -> Result<Option<SuiteRow>> {
    Ok(optional(conn.query_row(
        &format!("{COLUMNS} WHERE id = ?1"),
        [id],
        row,
    ))?)
}

/// The suite of a prompt named `name` (names are unique per prompt).
pub fn find(conn: &Connection, prompt_id: i64, name: &str) -> Result<Option<SuiteRow>> {
    Ok(optional(conn.query_row(
        &format!("{COLUMNS} WHERE prompt_id = ?1 AND name = ?2"),
        params![prompt_id, name],
        row,
    ))?)
}

/// The suites of a prompt, by name.
pub fn list(conn: &Connection, prompt_id: i64) -> Result<Vec<SuiteRow>> {
    let mut stmt = conn.prepare_cached(&format!("{COLUMNS} WHERE prompt_id = ?1 ORDER BY name"))?;
    let rows = stmt.query_map([prompt_id], row)?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// Every suite of every prompt, by id.
pub fn all(conn: &Connection) -> Result<Vec<SuiteRow>> {
    let mut stmt = conn.prepare_cached(&format!("{COLUMNS} ORDER BY id"))?;
    let rows = stmt.query_map([], row)?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

pub fn insert(conn: &Connection, s: &SuiteRow) -> Result<()> {
    conn.execute(
        "INSERT INTO suites (id, prompt_id, name, description, created_by, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![
            s.id,
            s.prompt_id,
            s.name,
            s.description,
            s.created_by,
            s.created_at
        ],
    )?;
    Ok(())
}

/// Stores a suite as another registry has it: inserted, or its name, description and creation
/// rewritten when its id is here (the prompt a suite belongs to never changes).
pub fn upsert(conn: &Connection, s: &SuiteRow) -> Result<()> {
    conn.execute(
        "INSERT INTO suites (id, prompt_id, name, description, created_by, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)
         ON CONFLICT (id) DO UPDATE SET name = excluded.name,
             description = excluded.description, created_by = excluded.created_by,
             created_at = excluded.created_at",
        params![
            s.id,
            s.prompt_id,
            s.name,
            s.description,
            s.created_by,
            s.created_at
        ],
    )?;
    Ok(())
}

pub fn rename(conn: &Connection, id: &str, name: &str) -> Result<()> {
    conn.execute(
        "UPDATE suites SET name = ?2 WHERE id = ?1",
        params![id, name],
    )?;
    Ok(())
}

/// The case with this id, in whichever suite it is.
pub fn get_case(conn: &Connection, id: &str) -> Result<Option<CaseRow>> {
    Ok(optional(conn.query_row(
        &format!("{CASE_COLUMNS} WHERE id = ?1"),
        [id],
        case_row,
    ))?)
}

/// The cases of a suite in order (by position, then id).
pub fn cases(conn: &Connection, suite_id: &str) -> Result<Vec<CaseRow>> {
    let mut stmt = conn.prepare_cached(&format!(
        "{CASE_COLUMNS} WHERE suite_id = ?1 ORDER BY position, id"
    ))?;
    let rows = stmt.query_map([suite_id], case_row)?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// Every case of every suite, by id.
pub fn all_cases(conn: &Connection) -> Result<Vec<CaseRow>> {
    let mut stmt = conn.prepare_cached(&format!("{CASE_COLUMNS} ORDER BY id"))?;
    let rows = stmt.query_map([], case_row)?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// How many cases a suite has.
pub fn count_cases(conn: &Connection, suite_id: &str) -> Result<i64> {
    Ok(conn.query_row(
        "SELECT count(*) FROM suite_cases WHERE suite_id = ?1",
        [suite_id],
        |r| r.get(0),
    )?)
}

/// The position after the suite's last case (1 for an empty suite).
pub fn next_position(conn: &Connection, suite_id: &str) -> Result<i64> {
    Ok(conn.query_row(
        "SELECT coalesce(max(position), 0) + 1 FROM suite_cases WHERE suite_id = ?1",
        [suite_id],
        |r| r.get(0),
    )?)
}

pub fn insert_case(conn: &Connection, c: &CaseRow) -> Result<()> {
    conn.prepare_cached(
        "INSERT INTO suite_cases (id, suite_id, position, description, vars, expected,
             assertions, tags, origin, updated_by, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
    )?
    .execute(params![
        c.id,
        c.suite_id,
        c.position,
        c.description,
        c.vars,
        c.expected,
        c.assertions,
        c.tags,
        c.origin,
        c.updated_by,
        c.updated_at
    ])?;
    Ok(())
}

/// Rewrites what a case says (description, variables, expected output, assertions, tags) and
/// who changed it when; its suite, position and origin stay.
pub fn update_case(conn: &Connection, c: &CaseRow) -> Result<()> {
    conn.execute(
        "UPDATE suite_cases SET description = ?2, vars = ?3, expected = ?4, assertions = ?5,
             tags = ?6, updated_by = ?7, updated_at = ?8 WHERE id = ?1",
        params![
            c.id,
            c.description,
            c.vars,
            c.expected,
            c.assertions,
            c.tags,
            c.updated_by,
            c.updated_at
        ],
    )?;
    Ok(())
}

/// Stores a case as another registry has it: inserted, or every column rewritten when its id
/// is here.
pub fn upsert_case(conn: &Connection, c: &CaseRow) -> Result<()> {
    conn.execute(
        "INSERT INTO suite_cases (id, suite_id, position, description, vars, expected,
             assertions, tags, origin, updated_by, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)
         ON CONFLICT (id) DO UPDATE SET suite_id = excluded.suite_id,
             position = excluded.position, description = excluded.description,
             vars = excluded.vars, expected = excluded.expected,
             assertions = excluded.assertions, tags = excluded.tags,
             origin = excluded.origin, updated_by = excluded.updated_by,
             updated_at = excluded.updated_at",
        params![
            c.id,
            c.suite_id,
            c.position,
            c.description,
            c.vars,
            c.expected,
            c.assertions,
            c.tags,
            c.origin,
            c.updated_by,
            c.updated_at
        ],
    )?;
    Ok(())
}

/// Removes a case; whether there was one.
pub fn delete_case(conn: &Connection, id: &str) -> Result<bool> {
    Ok(conn.execute("DELETE FROM suite_cases WHERE id = ?1", [id])? > 0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::testing;

    fn suite(id: &str, prompt_id: i64, name: &str) -> SuiteRow {
        SuiteRow {
            id: id.into(),
            prompt_id,
            name: name.into(),
            description: String::new(),
            created_by: "ana".into(),
            created_at: "2026-01-01T00:00:00Z".into(),
        }
    }

    fn case(id: &str, suite_id: &str, position: i64) -> CaseRow {
        CaseRow {
            id: id.into(),
            suite_id: suite_id.into(),
            position,
            description: format!("case {id}"),
            vars: "{}".into(),
            expected: None,
            assertions: "[]".into(),
            tags: "[]".into(),
            origin: String::new(),
            updated_by: "ana".into(),
            updated_at: "2026-01-01T00:00:00Z".into(),
        }
    }

    #[test]
    fn an_upsert_rewrites_the_suite_but_never_moves_it_to_another_prompt() {
        let (_dir, conn) = testing::registry();
        let (a, b) = (testing::prompt(&conn, "a"), testing::prompt(&conn, "b"));
        upsert(&conn, &suite("s1", a, "smoke")).unwrap();
        let mut theirs = suite("s1", b, "smoke.v2");
        theirs.description = "renamed there".into();
        upsert(&conn, &theirs).unwrap();
        let got = get(&conn, "s1").unwrap().unwrap();
        assert_eq!(got.prompt_id, a);
        assert_eq!(got.name, "smoke.v2");
        assert_eq!(got.description, "renamed there");
        assert_eq!(list(&conn, b).unwrap(), vec![]);
    }

    #[test]
    fn cases_come_in_position_order_and_the_next_position_follows_the_last() {
        let (_dir, conn) = testing::registry();
        let p = testing::prompt(&conn, "a");
        insert(&conn, &suite("s1", p, "smoke")).unwrap();
        assert_eq!(next_position(&conn, "s1").unwrap(), 1);
        insert_case(&conn, &case("c3", "s1", 7)).unwrap();
        insert_case(&conn, &case("c1", "s1", 2)).unwrap();
        insert_case(&conn, &case("c2", "s1", 2)).unwrap();
        let ids: Vec<String> = cases(&conn, "s1")
            .unwrap()
            .into_iter()
            .map(|c| c.id)
            .collect();
        assert_eq!(ids, ["c1", "c2", "c3"]);
        assert_eq!(next_position(&conn, "s1").unwrap(), 8);
        assert_eq!(count_cases(&conn, "s1").unwrap(), 3);
    }

    #[test]
    fn a_case_update_keeps_its_suite_position_and_origin_and_an_upsert_does_not() {
        let (_dir, conn) = testing::registry();
        let p = testing::prompt(&conn, "a");
        insert(&conn, &suite("s1", p, "smoke")).unwrap();
        insert(&conn, &suite("s2", p, "other")).unwrap();
        let mut c = case("c1", "s1", 1);
        c.origin = "import:a.csv".into();
        insert_case(&conn, &c).unwrap();

        let mut changed = case("c1", "s2", 9);
        changed.description = "edited".into();
        update_case(&conn, &changed).unwrap();
        let got = get_case(&conn, "c1").unwrap().unwrap();
        assert_eq!(
            (got.suite_id.as_str(), got.position, got.origin.as_str()),
            ("s1", 1, "import:a.csv")
        );
        assert_eq!(got.description, "edited");

        upsert_case(&conn, &changed).unwrap();
        assert_eq!(get_case(&conn, "c1").unwrap().unwrap(), changed);
        assert!(delete_case(&conn, "c1").unwrap());
        assert!(!delete_case(&conn, "c1").unwrap());
    }
}
