//! The `ratings` table: people's judgements of one output each (a version's output for a case,
//! by the output's hash). Ratings are append-only (a trigger refuses updates): a person's
//! latest rating of a version and case is the one that counts, earlier ones stay.
//!
//! [`current`] reads ratings joined with `suite_cases` for the case each one rates (its
//! position orders them and its description and variables name it); the case may have been
//! removed since, so the join is a left one.

use rusqlite::{params, Connection, Row};

use crate::error::Result;

/// One row of `ratings`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RatingRow {
    pub id: String,
    pub prompt_id: i64,
    pub version_hash: String,
    pub case_id: String,
    /// The run whose output was rated, when that run is in this registry.
    pub run_id: Option<String>,
    /// SHA-256 of the output that was rated.
    pub output_hash: String,
    /// `good` or `bad`.
    pub rating: String,
    pub comment: String,
    pub rated_by: String,
    pub rated_at: String,
}

/// A rating that counts, with the case it rates as that case is now (`None`: removed since).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CurrentRating {
    pub rating: RatingRow,
    pub case: Option<RatedCase>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RatedCase {
    pub position: u32,
    pub description: String,
    /// JSON object: the variables' values.
    pub vars: String,
}

const COLUMNS: &str = "r.id, r.prompt_id, r.version_hash, r.case_id, r.run_id, r.output_hash,
    r.rating, r.comment, r.rated_by, r.rated_at";

fn row(r: &Row<'_>) -> rusqlite::Result<RatingRow> {
    Ok(RatingRow {
        id: r.get(0)?,
        prompt_id: r.get(1)?,
        version_hash: r.get(2)?,
        case_id: r.get(3)?,
        run_id: r.get(4)?,
        output_hash: r.get(5)?,
        rating: r.get(6)?,
        comment: r.get(7)?,
        rated_by: r.get(8)?,
        rated_at: r.get(9)?,
    })
}

const INSERT: &str = "INSERT INTO ratings (id, prompt_id, version_hash, case_id, run_id,
        output_hash, rating, comment, rated_by, rated_at)
    VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)";

fn insert_with(conn: &Connection, sql: &str, r: &RatingRow) -> Result<usize> {
    Ok(conn.execute(
        sql,
        params![
            r.id,
            r.prompt_id,
            r.version_hash,
            r.case_id,
            r.run_id,
            r.output_hash,
            r.rating,
            r.comment,
            r.rated_by,
            r.rated_at
        ],
    )?)
}

pub fn insert(conn: &Connection, r: &RatingRow) -> Result<()> {
    insert_with(conn, INSERT, r)?;
    Ok(())
}

/// Stores a rating made elsewhere unless one with its id is here (ratings never change, so the
/// one here is this one); whether it was stored.
pub fn insert_if_new(conn: &Connection, r: &RatingRow) -> Result<bool> {
    Ok(insert_with(conn, &format!("{INSERT} ON CONFLICT (id) DO NOTHING"), r)? == 1)
}

/// The ratings that count for a version: each person's latest (last recorded) rating of each
/// case, in case order (ratings of removed cases first), then by when they were made.
pub fn current(
    conn: &Connection,
    prompt_id: i64,
    version_hash: &str,
) -> Result<Vec<CurrentRating>> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {COLUMNS}, c.position, c.description, c.vars
         FROM ratings r LEFT JOIN suite_cases c ON c.id = r.case_id
         WHERE r.prompt_id = ?1 AND r.version_hash = ?2
           AND r.rowid = (SELECT max(r2.rowid) FROM ratings r2 WHERE r2.prompt_id = r.prompt_id
                          AND r2.version_hash = r.version_hash AND r2.case_id = r.case_id
                          AND r2.rated_by = r.rated_by)
         ORDER BY c.position, r.rated_at"
    ))?;
    let rows = stmt.query_map(params![prompt_id, version_hash], |r| {
        let position: Option<u32> = r.get(10)?;
        Ok(CurrentRating {
            rating: row(r)?,
            case: match position {
                Some(position) => Some(RatedCase {
                    position,
                    description: r.get(11)?,
                    vars: r.get(12)?,
                }),
                None => None,
            },
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// Every rating, by id.
pub fn all(conn: &Connection) -> Result<Vec<RatingRow>> {
    let mut stmt =
        conn.prepare_cached(&format!("SELECT {COLUMNS} FROM ratings r ORDER BY r.id"))?;
    let rows = stmt.query_map([], row)?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::suites::{self, CaseRow, SuiteRow};
    use crate::store::testing;

    fn rating(id: &str, prompt_id: i64, case: &str, by: &str, value: &str, at: &str) -> RatingRow {
        RatingRow {
            id: id.into(),
            prompt_id,
            version_hash: "h1".into(),
            case_id: case.into(),
            run_id: None,
            output_hash: "oh".into(),
            rating: value.into(),
            comment: String::new(),
            rated_by: by.into(),
            rated_at: at.into(),
        }
    }

    #[test]
    fn only_each_persons_last_rating_of_a_case_counts_in_case_order() {
        let (_dir, conn) = testing::registry();
        let p = testing::prompt(&conn, "a");
        suites::insert(
            &conn,
            &SuiteRow {
                id: "s".into(),
                prompt_id: p,
                name: "smoke".into(),
                description: String::new(),
                created_by: "ana".into(),
                created_at: "t".into(),
            },
        )
        .unwrap();
        for (id, position) in [("c1", 1), ("c2", 2)] {
            suites::insert_case(
                &conn,
                &CaseRow {
                    id: id.into(),
                    suite_id: "s".into(),
                    position,
                    description: format!("case {id}"),
                    vars: "{}".into(),
                    expected: None,
                    assertions: "[]".into(),
                    tags: "[]".into(),
                    origin: String::new(),
                    updated_by: "ana".into(),
                    updated_at: "t".into(),
                },
            )
            .unwrap();
        }
        // Recorded later counts, whatever its time says.
        insert(&conn, &rating("1", p, "c2", "ana", "bad", "2026-01-02")).unwrap();
        insert(&conn, &rating("2", p, "c2", "ana", "good", "2026-01-01")).unwrap();
        insert(&conn, &rating("3", p, "c1", "ben", "good", "2026-01-03")).unwrap();
        insert(&conn, &rating("4", p, "gone", "ben", "bad", "2026-01-04")).unwrap();
        insert(&conn, &rating("5", p, "c2", "ben", "bad", "2026-01-05")).unwrap();
        let got: Vec<(String, Option<u32>)> = current(&conn, p, "h1")
            .unwrap()
            .into_iter()
            .map(|c| (c.rating.id, c.case.map(|c| c.position)))
            .collect();
        assert_eq!(
            got,
            [
                ("4".into(), None),
                ("3".into(), Some(1)),
                ("2".into(), Some(2)),
                ("5".into(), Some(2)),
            ]
        );
        assert!(current(&conn, p, "h2").unwrap().is_empty());
    }

    #[test]
    fn a_rating_already_here_is_kept_as_it_is() {
        let (_dir, conn) = testing::registry();
        let p = testing::prompt(&conn, "a");
        let first = rating("1", p, "c1", "ana", "good", "2026-01-01");
        assert!(insert_if_new(&conn, &first).unwrap());
        let other = rating("1", p, "c1", "ana", "bad", "2026-01-02");
        assert!(!insert_if_new(&conn, &other).unwrap());
        assert_eq!(all(&conn).unwrap(), vec![first]);
        assert!(insert(&conn, &other).is_err());
    }
}
