//! Test suites and their cases, ratings, incidents, incident notes and postmortems: each row
//! as the winning change the ledger recorded left it.
//!
//! These rows sync as "last writer in the server's order wins, and a change not pushed yet is
//! never overwritten by a pull" (see `crate::sync::records`), so the ledger's own order is not
//! always the order that decided a row here: a pull may record someone's change after a change
//! made here that the server ordered later. Each change is therefore ordered by the server's
//! sequence number when it has one (pulled, or pushed and acknowledged), changes not pushed yet
//! after all of those in ledger order, and a change the server refused just after what had been
//! pulled when the refusal came back (later pulls overwrote it, earlier ones had skipped it).

use std::collections::{BTreeMap, BTreeSet, HashMap};

use rusqlite::Connection;
use serde_json::{json, Map, Value};

use super::prompts::Prompts;
use super::{exchanges, Entry};
use crate::error::Result;
use crate::store;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
enum Table {
    Suites,
    Cases,
    Ratings,
    Incidents,
    Notes,
    Postmortems,
}

impl Table {
    fn name(self) -> &'static str {
        match self {
            Table::Suites => "suites",
            Table::Cases => "suite_cases",
            Table::Ratings => "ratings",
            Table::Incidents => "incidents",
            Table::Notes => "incident_notes",
            Table::Postmortems => "postmortems",
        }
    }
}

enum Op {
    /// The whole row (`None`: the row is deleted).
    Put(Option<Map<String, Value>>),
    /// A suite renamed here (a suite of the server's took its name).
    Rename(String),
    /// A rollback taken from an incident: what it changes on the incident's row.
    Rollback { release: Value, at: String },
}

struct Change {
    seq: i64,
    ledger_id: String,
    pulled: Option<i64>,
    op: Op,
}

#[derive(Default)]
pub(crate) struct RecordState {
    rows: BTreeMap<(Table, String), Vec<Change>>,
    /// The prompt each suite, rating and incident belongs to.
    prompt_of: HashMap<(Table, String), Option<usize>>,
    /// Suite ids by prompt and name, as the ledger has them at this point.
    suite_names: HashMap<(usize, String), String>,
    case_suite: HashMap<String, String>,
    /// Ledger ids of changes the server refused → the server seq pulled when it did.
    refused: HashMap<String, i64>,
}

fn obj(v: Value) -> Option<Map<String, Value>> {
    match v {
        Value::Object(m) => Some(m),
        _ => None,
    }
}

/// A case as its ledger payload describes it, in suite `suite`.
fn case_row(c: &Value, suite: &str, by: &str, at: &str) -> Option<Map<String, Value>> {
    obj(json!({
        "suite": suite, "position": c["position"],
        "description": c["description"].as_str().unwrap_or_default(),
        "vars": if c["vars"].is_object() { c["vars"].clone() } else { json!({}) },
        "expected": c["expected"],
        "assertions": if c["assertions"].is_array() { c["assertions"].clone() } else { json!([]) },
        "tags": if c["tags"].is_array() { c["tags"].clone() } else { json!([]) },
        "origin": c["origin"].as_str().unwrap_or_default(),
        "updated_by": by, "updated_at": at,
    }))
}

impl RecordState {
    /// The server refused the change recorded by ledger entry `ledger_id`.
    pub(super) fn refused(&mut self, ledger_id: &str, pulled_upto: i64) {
        self.refused.insert(ledger_id.to_string(), pulled_upto);
    }

    fn push(&mut self, e: &Entry, table: Table, id: &str, op: Op) {
        self.rows
            .entry((table, id.to_string()))
            .or_default()
            .push(Change {
                seq: e.seq,
                ledger_id: e.id.clone(),
                pulled: e.pulled,
                op,
            });
    }

    pub(super) fn apply(&mut self, e: &Entry, prompts: &Prompts, problems: &mut Vec<String>) {
        let p = &e.payload;
        let prompt = prompts.key(&e.subject);
        let (by, at) = (e.actor.as_str(), e.at.as_str());
        let id = e.text("id").unwrap_or_default().to_string();
        match e.kind.as_str() {
            "suite.created" => {
                let name = e.text("suite").unwrap_or_default().to_string();
                if let Some(k) = prompt {
                    self.suite_names.insert((k, name.clone()), id.clone());
                }
                self.prompt_of.insert((Table::Suites, id.clone()), prompt);
                let row = obj(json!({"name": name,
                    "description": e.text("description").unwrap_or_default(),
                    "created_by": by, "created_at": at}));
                self.push(e, Table::Suites, &id, Op::Put(row));
            }
            "suite.renamed" => {
                let (from, to) = (
                    e.text("from").unwrap_or_default(),
                    e.text("to").unwrap_or_default(),
                );
                if let Some(k) = prompt {
                    if self.suite_names.get(&(k, from.to_string())) == Some(&id) {
                        self.suite_names.remove(&(k, from.to_string()));
                    }
                    self.suite_names.insert((k, to.to_string()), id.clone());
                }
                self.push(e, Table::Suites, &id, Op::Rename(to.to_string()));
            }
            "suite.cases_added" => {
                let name = e.text("suite").unwrap_or_default();
                let suite =
                    prompt.and_then(|k| self.suite_names.get(&(k, name.to_string())).cloned());
                let Some(suite) = suite else {
                    problems.push(format!(
                        "suite_cases: the ledger's entry {} adds cases to suite {name} of {}, which it never created",
                        e.seq, e.subject
                    ));
                    return;
                };
                for c in p["cases"].as_array().into_iter().flatten() {
                    let Some(case) = c["id"].as_str() else {
                        continue;
                    };
                    self.case_suite.insert(case.to_string(), suite.clone());
                    self.push(e, Table::Cases, case, Op::Put(case_row(c, &suite, by, at)));
                }
            }
            "suite.case_updated" => {
                let c = &p["after"];
                let Some(case) = c["id"].as_str() else { return };
                let suite = self.case_suite.get(case).cloned().or_else(|| {
                    let name = e.text("suite").unwrap_or_default();
                    prompt.and_then(|k| self.suite_names.get(&(k, name.to_string())).cloned())
                });
                let suite = suite.unwrap_or_default();
                self.push(e, Table::Cases, case, Op::Put(case_row(c, &suite, by, at)));
            }
            "suite.case_removed" => {
                if let Some(case) = p["case"]["id"].as_str() {
                    self.push(e, Table::Cases, case, Op::Put(None));
                }
            }
            "output.rated" => {
                self.prompt_of.insert((Table::Ratings, id.clone()), prompt);
                let row = obj(
                    json!({"version_hash": p["version_hash"], "case_id": p["case"],
                    "output_hash": p["output_hash"], "rating": p["rating"],
                    "comment": p["comment"].as_str().unwrap_or_default(),
                    "rated_by": by, "rated_at": at}),
                );
                self.push(e, Table::Ratings, &id, Op::Put(row));
            }
            "incident.opened" => {
                let Some(incident) = e.text("incident").map(str::to_string) else {
                    return;
                };
                self.prompt_of
                    .insert((Table::Incidents, incident.clone()), prompt);
                let row = obj(json!({
                    "title": p["title"], "severity": p["severity"], "status": "investigating",
                    "detection": p["detection"], "detected_at": p["detected_at"],
                    "label": p["label"], "suspected_release": p["suspected_release"],
                    "rollback_release": null, "notes": p["notes"].as_str().unwrap_or_default(),
                    "opened_by": by, "opened_at": at, "mitigated_at": null,
                    "resolved_at": null, "updated_at": at,
                }));
                self.push(e, Table::Incidents, &incident, Op::Put(row));
            }
            "incident.updated" | "incident.resolved" => {
                let Some(incident) = e.text("incident").map(str::to_string) else {
                    return;
                };
                let mut row = obj(p["after"].clone());
                if let Some(r) = row.as_mut() {
                    r.remove("id");
                    r.remove("prompt");
                }
                self.push(e, Table::Incidents, &incident, Op::Put(row));
            }
            "incident.rolled_back" => {
                let Some(incident) = e.text("incident").map(str::to_string) else {
                    return;
                };
                let op = Op::Rollback {
                    release: p["release"].clone(),
                    at: at.to_string(),
                };
                self.push(e, Table::Incidents, &incident, op);
            }
            "incident.noted" => {
                let row = obj(
                    json!({"incident": p["incident"], "at": p["at"], "text": p["text"],
                    "author": by, "written_at": at}),
                );
                self.push(e, Table::Notes, &id, Op::Put(row));
            }
            "postmortem.saved" => {
                let Some(incident) = e.text("incident").map(str::to_string) else {
                    return;
                };
                let row = obj(json!({"doc": p["doc"], "updated_by": by, "updated_at": at}));
                self.push(e, Table::Postmortems, &incident, Op::Put(row));
            }
            _ => {}
        }
    }

    /// Each row as its winning change left it.
    fn expected(
        &self,
        conn: &Connection,
        prompts: &Prompts,
    ) -> Result<BTreeMap<(Table, String), Map<String, Value>>> {
        let exchanged = exchanges(conn)?;
        let order = |c: &Change| -> (u8, i64, i64, i64) {
            if let Some(s) = c.pulled {
                return (1, s, 0, c.seq);
            }
            match (exchanged.get(&c.ledger_id), self.refused.get(&c.ledger_id)) {
                (Some(Some(s)), _) => (1, *s, 0, c.seq),
                (_, Some(upto)) => (1, *upto, 1, c.seq),
                _ => (2, c.seq, 0, c.seq),
            }
        };
        let mut out = BTreeMap::new();
        for ((table, id), changes) in &self.rows {
            let mut sorted: Vec<&Change> = changes.iter().collect();
            if *table == Table::Ratings {
                // Ratings never change: the first one recorded is the row.
                sorted.truncate(1);
            } else {
                sorted.sort_by_key(|c| order(c));
            }
            let mut row: Option<Map<String, Value>> = None;
            for c in sorted {
                match &c.op {
                    Op::Put(r) => row = r.clone(),
                    Op::Rename(name) => {
                        if let Some(r) = row.as_mut() {
                            r.insert("name".into(), json!(name));
                        }
                    }
                    Op::Rollback { release, at } => {
                        if let Some(r) = row.as_mut() {
                            let resolved = r.get("status") == Some(&json!("resolved"));
                            r.insert("rollback_release".into(), release.clone());
                            r.insert(
                                "status".into(),
                                json!(if resolved { "resolved" } else { "mitigated" }),
                            );
                            if r.get("mitigated_at").is_none_or(Value::is_null) {
                                r.insert("mitigated_at".into(), json!(at));
                            }
                            r.insert("updated_at".into(), json!(at));
                        }
                    }
                }
            }
            if let Some(mut r) = row {
                if let Some(k) = self.prompt_of.get(&(*table, id.clone())) {
                    let name = k.map(|k| prompts.get(k).name.clone()).unwrap_or_default();
                    r.insert("prompt".into(), json!(name));
                }
                out.insert((*table, id.clone()), r);
            }
        }
        Ok(out)
    }

    pub(super) fn compare(
        &self,
        conn: &Connection,
        prompts: &Prompts,
        problems: &mut Vec<String>,
    ) -> Result<()> {
        let expected = self.expected(conn, prompts)?;
        let found = stored_rows(conn)?;
        let keys: BTreeSet<&(Table, String)> = expected.keys().chain(found.keys()).collect();
        for key in keys {
            let (table, id) = key;
            let place = format!("{}: {id}", table.name());
            match (found.get(key), expected.get(key)) {
                (Some(ours), Some(theirs)) => {
                    for (column, value) in ours {
                        let want = theirs.get(column).unwrap_or(&Value::Null);
                        if value != want {
                            problems.push(format!(
                                "{place}: {column} is {value} but the ledger says {want}"
                            ));
                        }
                    }
                }
                (Some(ours), None) => problems.push(format!(
                    "{place} ({}) is not in the ledger{}",
                    describe(ours),
                    if self.rows.contains_key(key) {
                        " (the ledger removed it)"
                    } else {
                        ""
                    }
                )),
                (None, Some(theirs)) => problems.push(format!(
                    "{place} ({}) is in the ledger but not in the table",
                    describe(theirs)
                )),
                (None, None) => {}
            }
        }
        Ok(())
    }
}

/// A few words about a row for messages: its name, title or text.
fn describe(row: &Map<String, Value>) -> String {
    ["name", "title", "description", "text", "rating"]
        .iter()
        .find_map(|k| {
            row.get(*k)
                .and_then(Value::as_str)
                .filter(|s| !s.is_empty())
        })
        .map(|s| format!("{s:?}"))
        .unwrap_or_else(|| "a row".into())
}

/// Stored JSON text as the value it holds (the text itself when it does not parse).
fn json_text(t: &str) -> Value {
    serde_json::from_str(t).unwrap_or_else(|_| Value::String(t.to_string()))
}

/// The rows of these tables as they are here, as JSON objects by table and id, each column as
/// the ledger's changes describe it (rows name their prompt, `''` when it is not here; JSON
/// columns are values).
fn stored_rows(conn: &Connection) -> Result<BTreeMap<(Table, String), Map<String, Value>>> {
    let names: HashMap<i64, String> = store::prompts::list(conn, None)?
        .into_iter()
        .map(|p| (p.id, p.name))
        .collect();
    let prompt = |id: i64| json!(names.get(&id).cloned().unwrap_or_default());
    let mut out = BTreeMap::new();
    let mut put = |table: Table, id: String, row: Value| {
        out.insert((table, id), obj(row).expect("rows are objects"));
    };
    for s in store::suites::all(conn)? {
        put(
            Table::Suites,
            s.id,
            json!({"prompt": prompt(s.prompt_id), "name": s.name, "description": s.description,
                   "created_by": s.created_by, "created_at": s.created_at}),
        );
    }
    for c in store::suites::all_cases(conn)? {
        put(
            Table::Cases,
            c.id,
            json!({"suite": c.suite_id, "position": c.position, "description": c.description,
                   "vars": json_text(&c.vars), "expected": c.expected,
                   "assertions": json_text(&c.assertions), "tags": json_text(&c.tags),
                   "origin": c.origin, "updated_by": c.updated_by, "updated_at": c.updated_at}),
        );
    }
    for r in store::ratings::all(conn)? {
        put(
            Table::Ratings,
            r.id,
            json!({"prompt": prompt(r.prompt_id), "version_hash": r.version_hash,
                   "case_id": r.case_id, "output_hash": r.output_hash, "rating": r.rating,
                   "comment": r.comment, "rated_by": r.rated_by, "rated_at": r.rated_at}),
        );
    }
    for i in store::incidents::all(conn)? {
        put(
            Table::Incidents,
            i.id,
            json!({"prompt": prompt(i.prompt_id), "title": i.title, "severity": i.severity,
                   "status": i.status, "detection": i.detection, "detected_at": i.detected_at,
                   "label": i.label, "suspected_release": i.suspected_release,
                   "rollback_release": i.rollback_release, "notes": i.notes,
                   "opened_by": i.opened_by, "opened_at": i.opened_at,
                   "mitigated_at": i.mitigated_at, "resolved_at": i.resolved_at,
                   "updated_at": i.updated_at}),
        );
    }
    for n in store::incidents::all_notes(conn)? {
        put(
            Table::Notes,
            n.id,
            json!({"incident": n.incident_id, "at": n.at, "text": n.text, "author": n.author,
                   "written_at": n.written_at}),
        );
    }
    for m in store::incidents::all_postmortems(conn)? {
        put(
            Table::Postmortems,
            m.incident_id,
            json!({"doc": json_text(&m.doc), "updated_by": m.updated_by,
                   "updated_at": m.updated_at}),
        );
    }
    Ok(out)
}
