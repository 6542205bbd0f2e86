//! Records: the registry's mutable rows that sync as they are (test suites and their cases,
//! ratings of outputs, incidents, their notes and postmortems), as opposed to the append-only
//! history (versions, reviews, releases) the other events carry.
//!
//! Each ledger entry of a [`RECORD_KINDS`] kind travels as one `records.put` event: the entry's
//! kind and payload verbatim (so every registry writes the same ledger entry and tells the same
//! story, an incident's timeline included), plus the rows the change left behind, each a
//! [`RecordChange`]: a collection, a global id and the row's fields (`None`: the row was
//! deleted). A registry applies a change as an upsert (or delete) by id.
//!
//! **Conflicts: last writer wins, in the server's order.** Every change carries the whole row,
//! so whichever change the server recorded last is what every registry ends with, provided each
//! registry ends on that change. Two rules in the inbox make sure it does:
//! - a pulled change never overwrites a row this registry changed and has not pushed yet (its
//!   own change will be pushed later and so comes later in the server's order);
//! - a registry's own changes are applied again when the pull reaches them, so a change someone
//!   else pushed earlier and that arrived here later does not stay on top.
//!
//! Rows are never reused under another id, so deleting (a case) is final unless a later
//! change of the same row puts it back, as it would in any order-based last-writer-wins.
//!
//! Some rules need more than the last row: test suite names are unique per prompt (two people
//! creating `smoke` offline do not end with two suites of one name: the server refuses the
//! second, naming who made the first), and a case, note or postmortem must belong to a suite or
//! incident the server has. The server keeps a small index of record ids for those checks
//! (`records` in its schema), and nothing else about them.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::eval::Assertion;
use crate::incidents::{PostmortemDoc, DETECTIONS, SEVERITIES, STATUSES};

/// The ledger kinds that travel as `records.put`.
pub const RECORD_KINDS: &[&str] = &[
    "suite.created",
    "suite.cases_added",
    "suite.case_updated",
    "suite.case_removed",
    "output.rated",
    "incident.opened",
    "incident.updated",
    "incident.resolved",
    "incident.noted",
    "incident.rolled_back",
    "postmortem.saved",
    "eval.finished",
];

/// At most this many records in one change (a suite's most cases, `eval::suites::MAX_CASES`).
pub const MAX_RECORDS: usize = 100_000;
/// At most this many bytes of JSON per record.
pub const MAX_RECORD_BYTES: usize = 1 << 20;
/// An eval run travels as one record, every case's output in it: it may be larger than other
/// records, up to what one event may be (the server's `MAX_EVENT_BYTES` is 6 MiB).
pub const MAX_RUN_RECORD_BYTES: usize = 5 << 20;

/// Which table a record is a row of.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Collection {
    Suite,
    Case,
    Rating,
    Incident,
    IncidentNote,
    Postmortem,
    /// A finished eval run with every case's outcome: the evidence a release gate weighs.
    EvalRun,
}

impl Collection {
    pub fn as_str(self) -> &'static str {
        match self {
            Collection::Suite => "suite",
            Collection::Case => "case",
            Collection::Rating => "rating",
            Collection::Incident => "incident",
            Collection::IncidentNote => "incident_note",
            Collection::Postmortem => "postmortem",
            Collection::EvalRun => "eval_run",
        }
    }

    /// How a message names one: "test suite", "case", …
    pub fn describe(self) -> &'static str {
        match self {
            Collection::Suite => "test suite",
            Collection::Case => "case",
            Collection::Rating => "rating",
            Collection::Incident => "incident",
            Collection::IncidentNote => "incident note",
            Collection::Postmortem => "postmortem",
            Collection::EvalRun => "eval run",
        }
    }
}

/// One row as a change left it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RecordChange {
    pub collection: Collection,
    /// The row's global id (a postmortem's is its incident's).
    pub id: String,
    /// The row's fields (the shapes below); `None` when the change deleted it.
    #[serde(default)]
    pub record: Option<Value>,
}

/// A test suite. Suites are never renamed or deleted.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SuiteRecord {
    pub name: String,
    #[serde(default)]
    pub description: String,
    pub created_by: String,
    pub created_at: String,
}

/// A case of a suite (by the suite's id).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CaseRecord {
    pub suite: String,
    pub position: u32,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub vars: Map<String, Value>,
    #[serde(default)]
    pub expected: Option<String>,
    #[serde(default)]
    pub assertions: Vec<Assertion>,
    #[serde(default)]
    pub tags: Vec<String>,
    #[serde(default)]
    pub origin: String,
    pub updated_by: String,
    pub updated_at: String,
}

/// A person's rating of a version's output for a case. Ratings never change (a new rating is
/// a new record). `run_id` names the rater's eval run, which stays in their registry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RatingRecord {
    pub version_hash: String,
    pub case_id: String,
    #[serde(default)]
    pub run_id: Option<String>,
    pub output_hash: String,
    pub rating: String,
    #[serde(default)]
    pub comment: String,
    pub rated_by: String,
    pub rated_at: String,
}

/// An incident (of the event's prompt). Release ids are plain ids: a release that did not
/// reach a registry is simply not found there.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IncidentRecord {
    pub title: String,
    pub severity: String,
    pub status: String,
    pub detection: String,
    pub detected_at: String,
    pub label: String,
    #[serde(default)]
    pub suspected_release: Option<String>,
    #[serde(default)]
    pub rollback_release: Option<String>,
    #[serde(default)]
    pub notes: String,
    pub opened_by: String,
    pub opened_at: String,
    #[serde(default)]
    pub mitigated_at: Option<String>,
    #[serde(default)]
    pub resolved_at: Option<String>,
    pub updated_at: String,
}

/// A line someone wrote in an incident's timeline.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NoteRecord {
    pub incident: String,
    pub at: String,
    pub text: String,
    pub author: String,
    pub written_at: String,
}

/// The written part of an incident's postmortem (its id is the incident's).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PostmortemRecord {
    pub doc: PostmortemDoc,
    pub updated_by: String,
    pub updated_at: String,
}

/// A finished eval run of a suite on one version (the event's prompt), with every case's
/// outcome as its runner recorded it. Runs never change once finished. What a server can check
/// again from it: that it is of this content, these model settings and the suite's current
/// cases, and every deterministic assertion on the stored outputs; model-graded verdicts, the
/// outputs themselves, latency and cost are the runner's word (see `eval::evidence`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EvalRunRecord {
    pub suite: String,
    pub version_hash: String,
    /// The suite's cases as they were when the run began (`eval::suite_hash`).
    pub suite_hash: String,
    /// The model settings used (`promptdesk_content::ModelSettings` as JSON).
    pub model: Value,
    pub settings_hash: String,
    /// `completed`, `cancelled` or `failed`.
    pub status: String,
    pub total: u32,
    pub started_by: String,
    pub started_at: String,
    #[serde(default)]
    pub finished_at: Option<String>,
    #[serde(default)]
    pub error: Option<String>,
    pub results: Vec<EvalResultRecord>,
}

/// One case's outcome in a synced run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EvalResultRecord {
    pub case_id: String,
    pub position: u32,
    /// The case as it was run (`eval::CaseInput` as JSON).
    pub test_case: Value,
    #[serde(default)]
    pub output: Option<String>,
    #[serde(default)]
    pub error: Option<String>,
    pub passed: bool,
    pub score: f64,
    /// Each assertion's outcome (`eval::Check` as JSON), in the case's order.
    #[serde(default)]
    pub checks: Value,
    #[serde(default)]
    pub latency_ms: u64,
    #[serde(default)]
    pub tokens_in: u64,
    #[serde(default)]
    pub tokens_out: u64,
    #[serde(default)]
    pub cost: Option<f64>,
    #[serde(default)]
    pub cached: bool,
    #[serde(default)]
    pub at: String,
}

/// A record read into its shape.
#[derive(Debug, Clone, PartialEq)]
pub enum Record {
    Suite(SuiteRecord),
    Case(CaseRecord),
    Rating(RatingRecord),
    Incident(IncidentRecord),
    IncidentNote(NoteRecord),
    Postmortem(PostmortemRecord),
    EvalRun(EvalRunRecord),
}

impl Record {
    /// Who the record says made this change, where it says so.
    fn made_by(&self, kind: &str) -> Option<&str> {
        match self {
            Record::Suite(s) => Some(&s.created_by),
            Record::Case(c) => Some(&c.updated_by),
            Record::Rating(r) => Some(&r.rated_by),
            Record::Incident(i) if kind == "incident.opened" => Some(&i.opened_by),
            Record::Incident(_) => None,
            Record::IncidentNote(n) => Some(&n.author),
            Record::Postmortem(p) => Some(&p.updated_by),
            Record::EvalRun(r) => Some(&r.started_by),
        }
    }
}

fn one_of(what: &str, value: &str, allowed: &[&str]) -> Result<(), String> {
    if allowed.contains(&value) {
        Ok(())
    } else {
        Err(format!(
            "its {what} {value:?} is not one of {}",
            allowed.join(", ")
        ))
    }
}

fn not_empty(what: &str, value: &str) -> Result<(), String> {
    if value.trim().is_empty() {
        Err(format!("its {what} is empty"))
    } else {
        Ok(())
    }
}

/// Suite names as `eval::suites` allows them (1 to 64 of a-z, 0-9, '-', '_', '.').
pub fn check_suite_name(name: &str) -> Result<(), String> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "-_.".contains(c));
    if ok {
        Ok(())
    } else {
        Err(format!(
            "suite name {name:?} is not allowed: use 1 to 64 of a-z, 0-9, '-', '_' and '.'"
        ))
    }
}

fn check_id(what: &str, id: &str) -> Result<(), String> {
    if id.trim().is_empty() || id.len() > 100 || id.chars().any(char::is_control) {
        return Err(format!(
            "{what} id {id:?} must be 1 to 100 characters, none of them control characters"
        ));
    }
    Ok(())
}

impl RecordChange {
    pub fn put(collection: Collection, id: &str, record: Value) -> RecordChange {
        RecordChange {
            collection,
            id: id.to_string(),
            record: Some(record),
        }
    }

    pub fn delete(collection: Collection, id: &str) -> RecordChange {
        RecordChange {
            collection,
            id: id.to_string(),
            record: None,
        }
    }

    /// The record in its shape (`None` for a deletion), or what is wrong with it. Checks what
    /// every registry's tables would refuse (unknown severities, statuses, ratings, suite
    /// names, assertions that do not validate), so a change that passes never stops a pull.
    pub fn typed(&self) -> Result<Option<Record>, String> {
        let what = self.collection.describe();
        check_id(what, &self.id)?;
        let Some(value) = &self.record else {
            return Ok(None);
        };
        if !value.is_object() {
            return Err(format!("{what} {} is not a JSON object", self.id));
        }
        let size = serde_json::to_vec(value).map(|v| v.len()).unwrap_or(0);
        let limit = if self.collection == Collection::EvalRun {
            MAX_RUN_RECORD_BYTES
        } else {
            MAX_RECORD_BYTES
        };
        if size > limit && self.collection == Collection::EvalRun {
            // Every output travels in the run's one record; the server cannot check (or count
            // for a release) a run it never received.
            return Err(format!(
                "{what} {} is {:.1} MiB with its outputs; a run syncs as one record of at most \
                 {} MiB, so this one stays on the machine that ran it. Split the suite into \
                 smaller suites (or ask for shorter answers) and run them again",
                self.id,
                size as f64 / (1024.0 * 1024.0),
                limit >> 20
            ));
        }
        if size > limit {
            return Err(format!(
                "{what} {} is {size} bytes of JSON; at most {limit} are accepted",
                self.id
            ));
        }
        let parse = |e: serde_json::Error| format!("{what} {}: {e}", self.id);
        let at = |m: String| format!("{what} {}: {m}", self.id);
        let record = match self.collection {
            Collection::Suite => {
                let s: SuiteRecord = serde_json::from_value(value.clone()).map_err(parse)?;
                check_suite_name(&s.name).map_err(at)?;
                Record::Suite(s)
            }
            Collection::Case => {
                let c: CaseRecord = serde_json::from_value(value.clone()).map_err(parse)?;
                check_id("suite", &c.suite).map_err(at)?;
                for (i, a) in c.assertions.iter().enumerate() {
                    a.validate()
                        .map_err(|e| at(format!("assertion {}: {e}", i + 1)))?;
                }
                for t in &c.tags {
                    if t.trim().is_empty() || t.len() > 64 {
                        return Err(at(format!("tag {t:?} must be 1 to 64 characters")));
                    }
                }
                Record::Case(c)
            }
            Collection::Rating => {
                let r: RatingRecord = serde_json::from_value(value.clone()).map_err(parse)?;
                one_of("rating", &r.rating, &["good", "bad"]).map_err(at)?;
                not_empty("version hash", &r.version_hash).map_err(at)?;
                not_empty("case id", &r.case_id).map_err(at)?;
                Record::Rating(r)
            }
            Collection::Incident => {
                let i: IncidentRecord = serde_json::from_value(value.clone()).map_err(parse)?;
                one_of("severity", &i.severity, SEVERITIES).map_err(at)?;
                one_of("status", &i.status, STATUSES).map_err(at)?;
                one_of("detection", &i.detection, DETECTIONS).map_err(at)?;
                not_empty("title", &i.title).map_err(at)?;
                not_empty("label", &i.label).map_err(at)?;
                Record::Incident(i)
            }
            Collection::IncidentNote => {
                let n: NoteRecord = serde_json::from_value(value.clone()).map_err(parse)?;
                check_id("incident", &n.incident).map_err(at)?;
                not_empty("text", &n.text).map_err(at)?;
                Record::IncidentNote(n)
            }
            Collection::Postmortem => {
                let p: PostmortemRecord = serde_json::from_value(value.clone()).map_err(parse)?;
                for (i, a) in p.doc.actions.iter().enumerate() {
                    one_of(
                        &format!("action {} status", i + 1),
                        &a.status,
                        &["open", "done"],
                    )
                    .map_err(at)?;
                }
                Record::Postmortem(p)
            }
            Collection::EvalRun => {
                let r: EvalRunRecord = serde_json::from_value(value.clone()).map_err(parse)?;
                check_run(&r).map_err(at)?;
                Record::EvalRun(r)
            }
        };
        Ok(Some(record))
    }
}

/// What every registry's eval tables need of a synced run: a finished status, one result per
/// case, counts that add up, verdicts and checks of the stored shapes.
fn check_run(r: &EvalRunRecord) -> Result<(), String> {
    check_id("suite", &r.suite)?;
    one_of("status", &r.status, &["completed", "cancelled", "failed"])?;
    not_empty("version hash", &r.version_hash)?;
    if r.results.len() > r.total as usize {
        return Err(format!(
            "it has {} results for {} cases",
            r.results.len(),
            r.total
        ));
    }
    if r.status == "completed" && r.results.len() != r.total as usize {
        return Err(format!(
            "it is completed with {} results for {} cases",
            r.results.len(),
            r.total
        ));
    }
    let mut seen = std::collections::BTreeSet::new();
    for res in &r.results {
        check_id("case", &res.case_id)?;
        if !seen.insert(res.case_id.as_str()) {
            return Err(format!("case {} has two results", res.case_id));
        }
        if !(0.0..=1.0).contains(&res.score) {
            return Err(format!(
                "case {}: its score is not between 0 and 1",
                res.case_id
            ));
        }
        if res.output.is_none() && res.passed {
            return Err(format!("case {} passed without an output", res.case_id));
        }
        serde_json::from_value::<crate::eval::CaseInput>(res.test_case.clone())
            .map_err(|e| format!("case {}: its test case: {e}", res.case_id))?;
        if !res.checks.is_null() {
            serde_json::from_value::<Vec<crate::eval::Check>>(res.checks.clone())
                .map_err(|e| format!("case {}: its checks: {e}", res.case_id))?;
        }
    }
    serde_json::from_value::<promptdesk_content::ModelSettings>(r.model.clone())
        .map_err(|e| format!("its model settings: {e}"))?;
    Ok(())
}

/// Which collection a ledger kind changes, and whether it deletes.
fn shape_of(kind: &str) -> Option<(Collection, bool, bool)> {
    // (collection, deletes, may carry several records)
    Some(match kind {
        "suite.created" => (Collection::Suite, false, false),
        "suite.cases_added" => (Collection::Case, false, true),
        "suite.case_updated" => (Collection::Case, false, false),
        "suite.case_removed" => (Collection::Case, true, false),
        "output.rated" => (Collection::Rating, false, false),
        "incident.opened" | "incident.updated" | "incident.resolved" | "incident.rolled_back" => {
            (Collection::Incident, false, false)
        }
        "incident.noted" => (Collection::IncidentNote, false, false),
        "postmortem.saved" => (Collection::Postmortem, false, false),
        "eval.finished" => (Collection::EvalRun, false, false),
        _ => return None,
    })
}

/// Checks a `records.put` as a whole: a known kind, an object payload, records of the kind's
/// collection (one, or for added cases up to [`MAX_RECORDS`]), each of the right shape, and
/// made by the event's author where the record names who made it.
pub fn check_put(
    author: &str,
    kind: &str,
    payload: &Value,
    records: &[RecordChange],
) -> Result<(), String> {
    let Some((collection, deletes, many)) = shape_of(kind) else {
        return Err(format!(
            "'{kind}' is not a kind of record change (known: {})",
            RECORD_KINDS.join(", ")
        ));
    };
    if !payload.is_object() {
        return Err("its payload is not a JSON object".into());
    }
    if records.is_empty() {
        return Err("it carries no records".into());
    }
    if records.len() > 1 && !many {
        return Err(format!(
            "a {kind} carries one record, not {}",
            records.len()
        ));
    }
    if records.len() > MAX_RECORDS {
        return Err(format!(
            "it carries {} records; at most {MAX_RECORDS} are accepted",
            records.len()
        ));
    }
    for r in records {
        if r.collection != collection {
            return Err(format!(
                "a {kind} changes {}s, not {}s",
                collection.describe(),
                r.collection.describe()
            ));
        }
        match (r.typed()?, deletes) {
            (None, true) => {}
            (None, false) => {
                return Err(format!(
                    "a {kind} does not delete ({} {} has no fields)",
                    r.collection.describe(),
                    r.id
                ))
            }
            (Some(_), true) => {
                return Err(format!(
                    "a {kind} deletes: {} {} must carry no fields",
                    r.collection.describe(),
                    r.id
                ))
            }
            (Some(record), false) => {
                if let Some(by) = record.made_by(kind) {
                    if by != author {
                        return Err(format!(
                            "{} {} says it was made by {by}, but the change is {author}'s",
                            r.collection.describe(),
                            r.id
                        ));
                    }
                }
            }
        }
    }
    Ok(())
}

/// The rows a ledger entry of a record kind changes, read from its payload alone.
pub fn keys_of(kind: &str, payload: &Value) -> Vec<(Collection, String)> {
    let s = |v: &Value| v.as_str().map(str::to_string);
    let one = |c: Collection, v: &Value| s(v).map(|id| (c, id)).into_iter().collect();
    match kind {
        "suite.created" => one(Collection::Suite, &payload["id"]),
        "suite.cases_added" => payload["cases"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|c| s(&c["id"]).map(|id| (Collection::Case, id)))
            .collect(),
        "suite.case_updated" => one(Collection::Case, &payload["after"]["id"]),
        "suite.case_removed" => one(Collection::Case, &payload["case"]["id"]),
        "output.rated" => one(Collection::Rating, &payload["id"]),
        "incident.opened" | "incident.updated" | "incident.resolved" | "incident.rolled_back" => {
            one(Collection::Incident, &payload["incident"])
        }
        "incident.noted" => one(Collection::IncidentNote, &payload["id"]),
        "postmortem.saved" => one(Collection::Postmortem, &payload["incident"]),
        "eval.finished" => one(Collection::EvalRun, &payload["run"]),
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn suite(by: &str) -> RecordChange {
        RecordChange::put(
            Collection::Suite,
            "s1",
            json!({"name": "smoke", "description": "", "created_by": by,
                   "created_at": "2026-11-21T10:00:00Z"}),
        )
    }

    #[test]
    fn shapes_kinds_and_authors_are_checked() {
        let payload = json!({"suite": "smoke", "id": "s1"});
        check_put("ana", "suite.created", &payload, &[suite("ana")]).unwrap();
        let err = check_put("ben", "suite.created", &payload, &[suite("ana")]).unwrap_err();
        assert!(
            err.contains("made by ana") && err.contains("ben's"),
            "{err}"
        );
        let err = check_put("ana", "suite.renamed", &payload, &[suite("ana")]).unwrap_err();
        assert!(err.contains("not a kind"), "{err}");
        let err = check_put("ana", "suite.created", &json!([]), &[suite("ana")]).unwrap_err();
        assert!(err.contains("payload"), "{err}");
        let err = check_put("ana", "suite.created", &payload, &[]).unwrap_err();
        assert!(err.contains("no records"), "{err}");
        let err = check_put(
            "ana",
            "suite.created",
            &payload,
            &[suite("ana"), suite("ana")],
        )
        .unwrap_err();
        assert!(err.contains("one record"), "{err}");
        let err = check_put(
            "ana",
            "suite.case_removed",
            &payload,
            &[RecordChange::delete(Collection::Suite, "s1")],
        )
        .unwrap_err();
        assert!(err.contains("changes cases"), "{err}");
        check_put(
            "ana",
            "suite.case_removed",
            &payload,
            &[RecordChange::delete(Collection::Case, "c1")],
        )
        .unwrap();
        let err = check_put(
            "ana",
            "suite.case_updated",
            &payload,
            &[RecordChange::delete(Collection::Case, "c1")],
        )
        .unwrap_err();
        assert!(err.contains("does not delete"), "{err}");

        let bad_name = RecordChange::put(
            Collection::Suite,
            "s1",
            json!({"name": "Smoke Tests", "created_by": "ana", "created_at": "t"}),
        );
        assert!(bad_name.typed().unwrap_err().contains("not allowed"));
        let incident = |severity: &str| {
            RecordChange::put(
                Collection::Incident,
                "i1",
                json!({"title": "t", "severity": severity, "status": "investigating",
                       "detection": "monitoring", "detected_at": "t", "label": "production",
                       "opened_by": "rita", "opened_at": "t", "updated_at": "t"}),
            )
        };
        incident("SEV2").typed().unwrap();
        assert!(incident("SEV9").typed().unwrap_err().contains("severity"));
        let not_object = RecordChange::put(Collection::Rating, "r1", json!("good"));
        assert!(not_object.typed().unwrap_err().contains("JSON object"));
        let no_id = RecordChange::put(Collection::Rating, " ", json!({}));
        assert!(no_id.typed().unwrap_err().contains("id"));
        let huge = RecordChange::put(
            Collection::IncidentNote,
            "n1",
            json!({"incident": "i1", "at": "t", "text": "x".repeat(MAX_RECORD_BYTES),
                   "author": "rita", "written_at": "t"}),
        );
        assert!(huge.typed().unwrap_err().contains("at most"));
    }

    #[test]
    fn keys_come_from_the_payload() {
        assert_eq!(
            keys_of(
                "suite.cases_added",
                &json!({"cases": [{"id": "a"}, {"id": "b"}]})
            ),
            vec![
                (Collection::Case, "a".to_string()),
                (Collection::Case, "b".to_string())
            ]
        );
        assert_eq!(
            keys_of("postmortem.saved", &json!({"incident": "i1"})),
            vec![(Collection::Postmortem, "i1".to_string())]
        );
        assert!(keys_of("version.created", &json!({})).is_empty());
    }

    #[test]
    fn a_run_too_large_to_sync_says_what_to_do() {
        let big = RecordChange::put(
            Collection::EvalRun,
            "run1",
            json!({"suite": "s1", "results": [{"output": "x".repeat(MAX_RUN_RECORD_BYTES)}]}),
        );
        let err = big.typed().unwrap_err();
        assert!(
            err.contains("a run syncs as one record of at most 5 MiB")
                && err.contains("Split the suite"),
            "{err}"
        );
        // Other records keep their own, smaller limit and message.
        let note = RecordChange::put(
            Collection::IncidentNote,
            "n1",
            json!({"text": "x".repeat(MAX_RECORD_BYTES)}),
        );
        assert!(note.typed().unwrap_err().contains("bytes of JSON; at most"));
    }
}
