//! The `incidents` table (a production regression tied to the release suspected of causing
//! it), `incident_notes` (the timeline lines people write) and `postmortems` (an incident's
//! postmortem as JSON text), one aggregate: notes and a postmortem belong to their incident.
//! Ids are global (incidents sync); people name one by a prefix of its id, which [`matching`]
//! looks up. Rows carry the prompt's id; the app names the prompt through `store::prompts`.

use rusqlite::{params, Connection, Row};

use super::optional;
use crate::error::Result;

/// One row of `incidents`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IncidentRow {
    pub id: String,
    pub title: String,
    /// `SEV1` (worst) to `SEV4`.
    pub severity: String,
    /// `investigating`, `mitigated` or `resolved`.
    pub status: String,
    /// `user_reports`, `monitoring`, `eval` or `other`.
    pub detection: String,
    pub detected_at: String,
    pub prompt_id: i64,
    pub label: String,
    /// A release's id.
    pub suspected_release: Option<String>,
    /// The rollback taken from the incident.
    pub rollback_release: Option<String>,
    pub notes: String,
    pub opened_by: String,
    pub opened_at: String,
    pub mitigated_at: Option<String>,
    pub resolved_at: Option<String>,
    pub updated_at: String,
}

const COLUMNS: &str = "i.id, i.title, i.severity, i.status, i.detection, i.detected_at,
    i.prompt_id, i.label, i.suspected_release, i.rollback_release, i.notes, i.opened_by,
    i.opened_at, i.mitigated_at, i.resolved_at, i.updated_at";

fn row(r: &Row<'_>) -> rusqlite::Result<IncidentRow> {
    Ok(IncidentRow {
        id: r.get(0)?,
        title: r.get(1)?,
        severity: r.get(2)?,
        status: r.get(3)?,
        detection: r.get(4)?,
        detected_at: r.get(5)?,
        prompt_id: r.get(6)?,
        label: r.get(7)?,
        suspected_release: r.get(8)?,
        rollback_release: r.get(9)?,
        notes: r.get(10)?,
        opened_by: r.get(11)?,
        opened_at: r.get(12)?,
        mitigated_at: r.get(13)?,
        resolved_at: r.get(14)?,
        updated_at: r.get(15)?,
    })
}

/// One row of `incident_notes`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoteRow {
    pub id: String,
    pub incident_id: String,
    /// When it happened.
    pub at: String,
    pub text: String,
    pub author: String,
    pub written_at: String,
}

const NOTE_COLUMNS: &str =
    "SELECT id, incident_id, at, text, author, written_at FROM incident_notes";

fn note_row(r: &Row<'_>) -> rusqlite::Result<NoteRow> {
    Ok(NoteRow {
        id: r.get(0)?,
        incident_id: r.get(1)?,
        at: r.get(2)?,
        text: r.get(3)?,
        author: r.get(4)?,
        written_at: r.get(5)?,
    })
}

/// One row of `postmortems`, the document as its stored JSON text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PostmortemRow {
    pub incident_id: String,
    pub doc: String,
    pub updated_by: String,
    pub updated_at: String,
}

const POSTMORTEM_COLUMNS: &str = "m.incident_id, m.doc, m.updated_by, m.updated_at";

fn postmortem_row(r: &Row<'_>, at: usize) -> rusqlite::Result<PostmortemRow> {
    Ok(PostmortemRow {
        incident_id: r.get(at)?,
        doc: r.get(at + 1)?,
        updated_by: r.get(at + 2)?,
        updated_at: r.get(at + 3)?,
    })
}

/// The incident with exactly this id.
pub fn get(conn: &Connection, id: &str) -> Result<Option<IncidentRow>> {
    Ok(optional(conn.query_row(
        &format!("SELECT {COLUMNS} FROM incidents i WHERE i.id = ?1"),
        [id],
        row,
    ))?)
}

/// Incidents whose id is `prefix` or starts with it, the one it names exactly first; at most
/// two (enough to tell one match from several).
pub fn matching(conn: &Connection, prefix: &str) -> Result<Vec<IncidentRow>> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM incidents i
         WHERE i.id = ?1 OR i.id LIKE ?1 || '%' ORDER BY i.id = ?1 DESC LIMIT 2"
    ))?;
    let rows = stmt.query_map([prefix], row)?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// Incidents, newest opened first (then by id); only those not resolved when `open_only`.
pub fn list(conn: &Connection, open_only: bool) -> Result<Vec<IncidentRow>> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM incidents i
         WHERE (?1 = 0 OR i.status != 'resolved') ORDER BY i.opened_at DESC, i.id"
    ))?;
    let rows = stmt.query_map([open_only], row)?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// Every incident, by id.
pub fn all(conn: &Connection) -> Result<Vec<IncidentRow>> {
    let mut stmt =
        conn.prepare_cached(&format!("SELECT {COLUMNS} FROM incidents i ORDER BY i.id"))?;
    let rows = stmt.query_map([], row)?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

const INSERT: &str = "INSERT INTO incidents (id, title, severity, status, detection, detected_at,
        prompt_id, label, suspected_release, rollback_release, notes, opened_by, opened_at,
        mitigated_at, resolved_at, updated_at)
    VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16)";

fn write_with(conn: &Connection, sql: &str, i: &IncidentRow) -> Result<()> {
    conn.execute(
        sql,
        params![
            i.id,
            i.title,
            i.severity,
            i.status,
            i.detection,
            i.detected_at,
            i.prompt_id,
            i.label,
            i.suspected_release,
            i.rollback_release,
            i.notes,
            i.opened_by,
            i.opened_at,
            i.mitigated_at,
            i.resolved_at,
            i.updated_at
        ],
    )?;
    Ok(())
}

pub fn insert(conn: &Connection, i: &IncidentRow) -> Result<()> {
    write_with(conn, INSERT, i)
}

/// Stores an incident as another registry has it: inserted, or every column but its prompt
/// rewritten when its id is here (an incident never moves to another prompt).
pub fn upsert(conn: &Connection, i: &IncidentRow) -> Result<()> {
    write_with(
        conn,
        &format!(
            "{INSERT} ON CONFLICT (id) DO UPDATE SET title = excluded.title,
                 severity = excluded.severity, status = excluded.status,
                 detection = excluded.detection, detected_at = excluded.detected_at,
                 label = excluded.label, suspected_release = excluded.suspected_release,
                 rollback_release = excluded.rollback_release, notes = excluded.notes,
                 opened_by = excluded.opened_by, opened_at = excluded.opened_at,
                 mitigated_at = excluded.mitigated_at, resolved_at = excluded.resolved_at,
                 updated_at = excluded.updated_at"
        ),
        i,
    )
}

/// Rewrites what can change about an incident here: its title, severity, status, notes,
/// suspected release and the times it was mitigated, resolved and updated.
pub fn update(conn: &Connection, i: &IncidentRow) -> Result<()> {
    conn.execute(
        "UPDATE incidents SET title = ?2, severity = ?3, status = ?4, notes = ?5,
             suspected_release = ?6, mitigated_at = ?7, resolved_at = ?8, updated_at = ?9
         WHERE id = ?1",
        params![
            i.id,
            i.title,
            i.severity,
            i.status,
            i.notes,
            i.suspected_release,
            i.mitigated_at,
            i.resolved_at,
            i.updated_at
        ],
    )?;
    Ok(())
}

/// Records the rollback taken from an incident at `at`, with its new status; the incident
/// counts as mitigated from `at` unless it already was.
pub fn set_rollback(
    conn: &Connection,
    id: &str,
    release_id: &str,
    status: &str,
    at: &str,
) -> Result<()> {
    conn.execute(
        "UPDATE incidents SET rollback_release = ?2, status = ?3,
             mitigated_at = coalesce(mitigated_at, ?4), updated_at = ?4 WHERE id = ?1",
        params![id, release_id, status, at],
    )?;
    Ok(())
}

/// The notes of an incident, by when they happened (then by id).
pub fn notes(conn: &Connection, incident_id: &str) -> Result<Vec<NoteRow>> {
    let mut stmt = conn.prepare_cached(&format!(
        "{NOTE_COLUMNS} WHERE incident_id = ?1 ORDER BY at, id"
    ))?;
    let rows = stmt.query_map([incident_id], note_row)?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// Every note of every incident, by id.
pub fn all_notes(conn: &Connection) -> Result<Vec<NoteRow>> {
    let mut stmt = conn.prepare_cached(&format!("{NOTE_COLUMNS} ORDER BY id"))?;
    let rows = stmt.query_map([], note_row)?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

const INSERT_NOTE: &str = "INSERT INTO incident_notes (id, incident_id, at, text, author,
        written_at)
    VALUES (?1, ?2, ?3, ?4, ?5, ?6)";

fn write_note_with(conn: &Connection, sql: &str, n: &NoteRow) -> Result<()> {
    conn.execute(
        sql,
        params![n.id, n.incident_id, n.at, n.text, n.author, n.written_at],
    )?;
    Ok(())
}

pub fn insert_note(conn: &Connection, n: &NoteRow) -> Result<()> {
    write_note_with(conn, INSERT_NOTE, n)
}

/// Stores a note as another registry has it: inserted, or every column rewritten when its id
/// is here.
pub fn upsert_note(conn: &Connection, n: &NoteRow) -> Result<()> {
    write_note_with(
        conn,
        &format!(
            "{INSERT_NOTE} ON CONFLICT (id) DO UPDATE SET incident_id = excluded.incident_id,
                 at = excluded.at, text = excluded.text, author = excluded.author,
                 written_at = excluded.written_at"
        ),
        n,
    )
}

/// The postmortem of an incident, when one was saved.
pub fn postmortem(conn: &Connection, incident_id: &str) -> Result<Option<PostmortemRow>> {
    Ok(optional(conn.query_row(
        &format!("SELECT {POSTMORTEM_COLUMNS} FROM postmortems m WHERE m.incident_id = ?1"),
        [incident_id],
        |r| postmortem_row(r, 0),
    ))?)
}

/// Saves an incident's postmortem, replacing the one it had.
pub fn put_postmortem(conn: &Connection, m: &PostmortemRow) -> Result<()> {
    conn.execute(
        "INSERT INTO postmortems (incident_id, doc, updated_by, updated_at)
         VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT (incident_id) DO UPDATE SET doc = excluded.doc,
             updated_by = excluded.updated_by, updated_at = excluded.updated_at",
        params![m.incident_id, m.doc, m.updated_by, m.updated_at],
    )?;
    Ok(())
}

/// Every postmortem with its incident, the incident opened first first.
pub fn postmortems(conn: &Connection) -> Result<Vec<(IncidentRow, PostmortemRow)>> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {COLUMNS}, {POSTMORTEM_COLUMNS} FROM postmortems m
         JOIN incidents i ON i.id = m.incident_id ORDER BY i.opened_at"
    ))?;
    let rows = stmt.query_map([], |r| Ok((row(r)?, postmortem_row(r, 16)?)))?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// Every postmortem, by incident id (with or without its incident: `verify` reports those
/// without).
pub fn all_postmortems(conn: &Connection) -> Result<Vec<PostmortemRow>> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {POSTMORTEM_COLUMNS} FROM postmortems m ORDER BY m.incident_id"
    ))?;
    let rows = stmt.query_map([], |r| postmortem_row(r, 0))?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::testing;

    fn incident(id: &str, prompt_id: i64, opened_at: &str) -> IncidentRow {
        IncidentRow {
            id: id.into(),
            title: format!("incident {id}"),
            severity: "SEV2".into(),
            status: "investigating".into(),
            detection: "monitoring".into(),
            detected_at: opened_at.into(),
            prompt_id,
            label: "production".into(),
            suspected_release: None,
            rollback_release: None,
            notes: String::new(),
            opened_by: "ana".into(),
            opened_at: opened_at.into(),
            mitigated_at: None,
            resolved_at: None,
            updated_at: opened_at.into(),
        }
    }

    fn ids(rows: Vec<IncidentRow>) -> Vec<String> {
        rows.into_iter().map(|i| i.id).collect()
    }

    #[test]
    fn a_prefix_matches_the_incident_it_names_exactly_first_and_at_most_two() {
        let (_dir, conn) = testing::registry();
        let p = testing::prompt(&conn, "a");
        for id in ["abcd9", "abcd", "abcd1", "abce"] {
            insert(&conn, &incident(id, p, "2026-01-01T00:00:00Z")).unwrap();
        }
        let found = ids(matching(&conn, "abcd").unwrap());
        assert_eq!(found.len(), 2);
        assert_eq!(found[0], "abcd");
        assert_eq!(ids(matching(&conn, "abce").unwrap()), ["abce"]);
        assert_eq!(ids(matching(&conn, "abcd9").unwrap()), ["abcd9"]);
        assert!(matching(&conn, "zzzz").unwrap().is_empty());
    }

    #[test]
    fn the_list_is_newest_first_and_open_only_leaves_out_the_resolved() {
        let (_dir, conn) = testing::registry();
        let p = testing::prompt(&conn, "a");
        insert(&conn, &incident("i1", p, "2026-01-01T00:00:00Z")).unwrap();
        let mut resolved = incident("i2", p, "2026-01-02T00:00:00Z");
        resolved.status = "resolved".into();
        insert(&conn, &resolved).unwrap();
        insert(&conn, &incident("i3", p, "2026-01-02T00:00:00Z")).unwrap();
        assert_eq!(ids(list(&conn, false).unwrap()), ["i2", "i3", "i1"]);
        assert_eq!(ids(list(&conn, true).unwrap()), ["i3", "i1"]);
    }

    #[test]
    fn a_rollback_keeps_the_first_mitigation_time_and_an_upsert_keeps_the_prompt() {
        let (_dir, conn) = testing::registry();
        let (a, b) = (testing::prompt(&conn, "a"), testing::prompt(&conn, "b"));
        insert(&conn, &incident("i1", a, "2026-01-01T00:00:00Z")).unwrap();
        set_rollback(&conn, "i1", "r1", "mitigated", "2026-01-02T00:00:00Z").unwrap();
        set_rollback(&conn, "i1", "r2", "mitigated", "2026-01-03T00:00:00Z").unwrap();
        let got = get(&conn, "i1").unwrap().unwrap();
        assert_eq!(got.rollback_release.as_deref(), Some("r2"));
        assert_eq!(got.mitigated_at.as_deref(), Some("2026-01-02T00:00:00Z"));
        assert_eq!(got.updated_at, "2026-01-03T00:00:00Z");

        let mut theirs = incident("i1", b, "2026-01-01T00:00:00Z");
        theirs.status = "resolved".into();
        upsert(&conn, &theirs).unwrap();
        let got = get(&conn, "i1").unwrap().unwrap();
        assert_eq!((got.prompt_id, got.status.as_str()), (a, "resolved"));
        assert_eq!(got.rollback_release, None);
    }

    #[test]
    fn a_saved_postmortem_replaces_the_one_before_and_lists_with_its_incident() {
        let (_dir, conn) = testing::registry();
        let p = testing::prompt(&conn, "a");
        insert(&conn, &incident("i2", p, "2026-01-02T00:00:00Z")).unwrap();
        insert(&conn, &incident("i1", p, "2026-01-01T00:00:00Z")).unwrap();
        let pm = |id: &str, doc: &str| PostmortemRow {
            incident_id: id.into(),
            doc: doc.into(),
            updated_by: "ana".into(),
            updated_at: "t".into(),
        };
        put_postmortem(&conn, &pm("i2", "{}")).unwrap();
        put_postmortem(&conn, &pm("i2", r#"{"summary":"x"}"#)).unwrap();
        put_postmortem(&conn, &pm("i1", "{}")).unwrap();
        assert_eq!(
            postmortem(&conn, "i2").unwrap(),
            Some(pm("i2", r#"{"summary":"x"}"#))
        );
        let order: Vec<String> = postmortems(&conn)
            .unwrap()
            .into_iter()
            .map(|(i, m)| {
                assert_eq!(i.id, m.incident_id);
                i.id
            })
            .collect();
        assert_eq!(order, ["i1", "i2"]);
    }
}
