//! Suites and their cases: create, list, add (by hand, from a file, from a postmortem), edit,
//! remove. Each change is one transaction with its ledger entry.

use super::suite_hash;
use rusqlite::{params, Connection, OptionalExtension, Row};
use serde_json::{json, Value};

use super::{Case, CaseInput, Suite, SuiteDetail};
use crate::error::{Error, Result};
use crate::registry::Registry;
use crate::store::prompts;

/// At most this many cases per suite: a suite is something people read and runs repeat.
pub const MAX_CASES: usize = 100_000;

pub(crate) fn check_suite_name(name: &str) -> Result<()> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "-_.".contains(c));
    if ok {
        Ok(())
    } else {
        Err(Error::bad(format!(
            "suite name {name:?} is not allowed: use 1 to 64 of a-z, 0-9, '-', '_' and '.'"
        )))
    }
}

/// Values written as text (a CSV cell, `--var name=3`, a form field) become the type the
/// prompt declares for that variable, so `days_since_purchase=3` is the number 3. A value that
/// cannot be read as its declared type is refused, naming the case and the variable.
pub(crate) fn typed_vars(
    conn: &Connection,
    prompt: &str,
    index: usize,
    case: &mut CaseInput,
) -> Result<()> {
    use promptdesk_content::VarType;
    let p = prompts::get(conn, prompt)?;
    let declared = match crate::store::versions::latest(conn, p.id)? {
        Some(v) => v.parse(prompt)?.content.variables,
        None => crate::store::drafts::get(conn, p.id)?
            .map(|d| d.content.variables)
            .unwrap_or_default(),
    };
    for var in declared {
        let Some(Value::String(text)) = case.vars.get(&var.name) else {
            continue;
        };
        let t = text.trim();
        let typed = match var.ty {
            VarType::String => continue,
            VarType::Number => t.parse::<i64>().map(Value::from).ok().or_else(|| {
                t.parse::<f64>()
                    .ok()
                    .and_then(|f| serde_json::Number::from_f64(f).map(Value::Number))
            }),
            VarType::Boolean => match t.to_ascii_lowercase().as_str() {
                "true" | "yes" | "1" => Some(Value::Bool(true)),
                "false" | "no" | "0" => Some(Value::Bool(false)),
                _ => None,
            },
            VarType::List | VarType::Object => serde_json::from_str::<Value>(t)
                .ok()
                .filter(|v| var.ty.accepts(v)),
        };
        match typed {
            Some(v) => {
                case.vars.insert(var.name.clone(), v);
            }
            None => {
                return Err(Error::bad(format!(
                    "case {}: variable {} is a {}, and {text:?} cannot be read as one",
                    index + 1,
                    var.name,
                    var.ty.as_str()
                )))
            }
        }
    }
    Ok(())
}

fn check_case(i: usize, c: &CaseInput) -> Result<()> {
    for (j, a) in c.assertions.iter().enumerate() {
        a.validate()
            .map_err(|e| Error::bad(format!("case {}: assertion {}: {e}", i + 1, j + 1)))?;
    }
    for t in &c.tags {
        if t.trim().is_empty() || t.len() > 64 {
            return Err(Error::bad(format!(
                "case {}: tag {t:?} must be 1 to 64 characters",
                i + 1
            )));
        }
    }
    Ok(())
}

pub(crate) struct SuiteRow {
    pub id: String,
    pub prompt_id: i64,
    pub name: String,
    pub description: String,
    pub created_by: String,
    pub created_at: String,
}

pub(crate) fn suite_row(conn: &Connection, prompt_id: i64, name: &str) -> Result<Option<SuiteRow>> {
    Ok(conn
        .query_row(
            "SELECT id, prompt_id, name, description, created_by, created_at FROM suites
             WHERE prompt_id = ?1 AND name = ?2",
            params![prompt_id, name],
            |r| {
                Ok(SuiteRow {
                    id: r.get(0)?,
                    prompt_id: r.get(1)?,
                    name: r.get(2)?,
                    description: r.get(3)?,
                    created_by: r.get(4)?,
                    created_at: r.get(5)?,
                })
            },
        )
        .optional()?)
}

pub(crate) fn require_suite(conn: &Connection, prompt: &str, name: &str) -> Result<SuiteRow> {
    let p = prompts::get(conn, prompt)?;
    suite_row(conn, p.id, name)?.ok_or_else(|| {
        let known = suite_names(conn, p.id).unwrap_or_default();
        Error::NotFound(if known.is_empty() {
            format!("'{prompt}' has no test suites yet; add one with `promptdesk suite add {prompt} {name}`")
        } else {
            format!(
                "'{prompt}' has no test suite '{name}' (its suites: {})",
                known.join(", ")
            )
        })
    })
}

fn suite_names(conn: &Connection, prompt_id: i64) -> Result<Vec<String>> {
    let mut stmt =
        conn.prepare_cached("SELECT name FROM suites WHERE prompt_id = ?1 ORDER BY name")?;
    let names = stmt
        .query_map([prompt_id], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    Ok(names)
}

fn case_from_row(r: &Row<'_>) -> rusqlite::Result<(Case, String)> {
    let vars: String = r.get(3)?;
    let assertions: String = r.get(5)?;
    let tags: String = r.get(6)?;
    Ok((
        Case {
            id: r.get(0)?,
            position: r.get(1)?,
            description: r.get(2)?,
            vars: serde_json::from_str(&vars).unwrap_or_default(),
            expected: r.get(4)?,
            assertions: serde_json::from_str(&assertions).unwrap_or_default(),
            tags: serde_json::from_str(&tags).unwrap_or_default(),
            origin: r.get(7)?,
            updated_by: r.get(8)?,
            updated_at: r.get(9)?,
        },
        assertions,
    ))
}

pub(crate) fn cases(conn: &Connection, suite_id: &str) -> Result<Vec<Case>> {
    let mut stmt = conn.prepare_cached(
        "SELECT id, position, description, vars, expected, assertions, tags, origin, updated_by,
                updated_at
         FROM suite_cases WHERE suite_id = ?1 ORDER BY position, id",
    )?;
    let rows = stmt.query_map([suite_id], case_from_row)?;
    let mut out = Vec::new();
    for row in rows {
        let (case, raw) = row?;
        if case.assertions.is_empty() && raw.trim() != "[]" {
            return Err(Error::Integrity(format!(
                "the assertions of case {} do not parse",
                case.id
            )));
        }
        out.push(case);
    }
    Ok(out)
}

pub(crate) fn suite_of(conn: &Connection, prompt: &str, row: &SuiteRow) -> Result<Suite> {
    let cases = cases(conn, &row.id)?;
    Ok(Suite {
        id: row.id.clone(),
        prompt: prompt.to_string(),
        name: row.name.clone(),
        description: row.description.clone(),
        cases: cases.len() as u32,
        hash: suite_hash(&cases),
        created_by: row.created_by.clone(),
        created_at: row.created_at.clone(),
    })
}

fn case_payload(c: &Case) -> Value {
    json!({"id": c.id, "position": c.position, "description": c.description, "vars": c.vars,
           "expected": c.expected, "assertions": c.assertions, "tags": c.tags, "origin": c.origin})
}

impl Registry {
    /// Creates an empty suite for a prompt.
    pub fn create_suite(&mut self, prompt: &str, name: &str, description: &str) -> Result<Suite> {
        check_suite_name(name)?;
        self.write(|tx, ctx| {
            let id = ctx.new_id();
            let p = prompts::get(tx, prompt)?;
            if suite_row(tx, p.id, name)?.is_some() {
                return Err(Error::Conflict(format!(
                    "'{prompt}' already has a test suite named '{name}'"
                )));
            }
            tx.execute(
                "INSERT INTO suites (id, prompt_id, name, description, created_by, created_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![id, p.id, name, description.trim(), ctx.actor, ctx.at],
            )?;
            ctx.event(
                tx,
                "suite.created",
                prompt,
                json!({"suite": name, "id": id, "description": description.trim()}),
            )?;
            let row = suite_row(tx, p.id, name)?.expect("just inserted");
            suite_of(tx, prompt, &row)
        })
    }

    /// The suites of a prompt, by name.
    pub fn suites(&self, prompt: &str) -> Result<Vec<Suite>> {
        let conn = self.connection();
        let p = prompts::get(conn, prompt)?;
        let mut out = Vec::new();
        for name in suite_names(conn, p.id)? {
            let row = suite_row(conn, p.id, &name)?.expect("listed");
            out.push(suite_of(conn, prompt, &row)?);
        }
        Ok(out)
    }

    /// A suite and its cases.
    pub fn suite(&self, prompt: &str, name: &str) -> Result<SuiteDetail> {
        let conn = self.connection();
        let row = require_suite(conn, prompt, name)?;
        Ok(SuiteDetail {
            suite: suite_of(conn, prompt, &row)?,
            cases: cases(conn, &row.id)?,
        })
    }

    /// Adds cases at the end of a suite, creating the suite when `create` is set and it does
    /// not exist. `origin` says where they came from (`import:refunds.csv`,
    /// `postmortem:…`); the ledger entry says so too. All or nothing.
    pub fn add_cases(
        &mut self,
        prompt: &str,
        suite: &str,
        new: Vec<CaseInput>,
        origin: &str,
        create: bool,
    ) -> Result<Vec<Case>> {
        check_suite_name(suite)?;
        if new.is_empty() {
            return Err(Error::bad("there are no cases to add"));
        }
        for (i, c) in new.iter().enumerate() {
            check_case(i, c)?;
        }
        let mut new = new;
        self.write(|tx, ctx| {
            for (i, c) in new.iter_mut().enumerate() {
                typed_vars(tx, prompt, i, c)?;
            }
            let ids: Vec<String> = new.iter().map(|_| ctx.new_id()).collect();
            let suite_id_if_new = ctx.new_id();
            let p = prompts::get(tx, prompt)?;
            let row = match suite_row(tx, p.id, suite)? {
                Some(r) => r,
                None if create => {
                    tx.execute(
                        "INSERT INTO suites (id, prompt_id, name, description, created_by, created_at)
                         VALUES (?1, ?2, ?3, '', ?4, ?5)",
                        params![suite_id_if_new, p.id, suite, ctx.actor, ctx.at],
                    )?;
                    ctx.event(
                        tx,
                        "suite.created",
                        prompt,
                        json!({"suite": suite, "id": suite_id_if_new, "description": ""}),
                    )?;
                    suite_row(tx, p.id, suite)?.expect("just inserted")
                }
                None => return Err(require_suite(tx, prompt, suite).err().expect("missing")),
            };
            let count: i64 = tx.query_row(
                "SELECT count(*) FROM suite_cases WHERE suite_id = ?1",
                [&row.id],
                |r| r.get(0),
            )?;
            if count as usize + new.len() > MAX_CASES {
                return Err(Error::bad(format!(
                    "a suite holds at most {MAX_CASES} cases; {suite} has {count} and this adds {}",
                    new.len()
                )));
            }
            let next: i64 = tx.query_row(
                "SELECT coalesce(max(position), 0) + 1 FROM suite_cases WHERE suite_id = ?1",
                [&row.id],
                |r| r.get(0),
            )?;
            let mut stmt = tx.prepare_cached(
                "INSERT INTO suite_cases (id, suite_id, position, description, vars, expected,
                     assertions, tags, origin, updated_by, updated_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
            )?;
            let mut added = Vec::with_capacity(new.len());
            for (i, (c, id)) in new.into_iter().zip(ids).enumerate() {
                let case = Case {
                    id,
                    position: (next as u32) + i as u32,
                    description: c.description.trim().to_string(),
                    vars: c.vars,
                    expected: c.expected,
                    assertions: c.assertions,
                    tags: c.tags,
                    origin: origin.to_string(),
                    updated_by: ctx.actor.to_string(),
                    updated_at: ctx.at.clone(),
                };
                stmt.execute(params![
                    case.id,
                    row.id,
                    case.position,
                    case.description,
                    Value::Object(case.vars.clone()).to_string(),
                    case.expected,
                    serde_json::to_string(&case.assertions).expect("assertions serialise"),
                    serde_json::to_string(&case.tags).expect("tags serialise"),
                    case.origin,
                    case.updated_by,
                    case.updated_at,
                ])?;
                added.push(case);
            }
            ctx.event(
                tx,
                "suite.cases_added",
                prompt,
                json!({"suite": suite, "origin": origin,
                       "cases": added.iter().map(case_payload).collect::<Vec<_>>()}),
            )?;
            Ok(added)
        })
    }

    /// Rewrites one case (its id and position stay).
    pub fn update_case(
        &mut self,
        prompt: &str,
        suite: &str,
        case_id: &str,
        input: CaseInput,
    ) -> Result<Case> {
        check_case(0, &input).map_err(|e| Error::bad(e.to_string().replacen("case 1: ", "", 1)))?;
        let mut input = input;
        self.write(|tx, ctx| {
            typed_vars(tx, prompt, 0, &mut input)
                .map_err(|e| Error::bad(e.to_string().replacen("case 1: ", "", 1)))?;
            let row = require_suite(tx, prompt, suite)?;
            let old = cases(tx, &row.id)?
                .into_iter()
                .find(|c| c.id == case_id)
                .ok_or_else(|| {
                    Error::NotFound(format!("suite {suite} of '{prompt}' has no case {case_id}"))
                })?;
            let case = Case {
                description: input.description.trim().to_string(),
                vars: input.vars,
                expected: input.expected,
                assertions: input.assertions,
                tags: input.tags,
                updated_by: ctx.actor.to_string(),
                updated_at: ctx.at.clone(),
                ..old.clone()
            };
            tx.execute(
                "UPDATE suite_cases SET description = ?2, vars = ?3, expected = ?4, assertions = ?5,
                     tags = ?6, updated_by = ?7, updated_at = ?8 WHERE id = ?1",
                params![
                    case.id,
                    case.description,
                    Value::Object(case.vars.clone()).to_string(),
                    case.expected,
                    serde_json::to_string(&case.assertions).expect("assertions serialise"),
                    serde_json::to_string(&case.tags).expect("tags serialise"),
                    case.updated_by,
                    case.updated_at,
                ],
            )?;
            ctx.event(
                tx,
                "suite.case_updated",
                prompt,
                json!({"suite": suite, "before": case_payload(&old), "after": case_payload(&case)}),
            )?;
            Ok(case)
        })
    }

    /// Removes one case; the ledger keeps what it was, and past runs keep their copy.
    pub fn remove_case(&mut self, prompt: &str, suite: &str, case_id: &str) -> Result<()> {
        self.write(|tx, ctx| {
            let row = require_suite(tx, prompt, suite)?;
            let old = cases(tx, &row.id)?
                .into_iter()
                .find(|c| c.id == case_id)
                .ok_or_else(|| {
                    Error::NotFound(format!("suite {suite} of '{prompt}' has no case {case_id}"))
                })?;
            tx.execute("DELETE FROM suite_cases WHERE id = ?1", [case_id])?;
            ctx.event(
                tx,
                "suite.case_removed",
                prompt,
                json!({"suite": suite, "case": case_payload(&old)}),
            )
        })
    }
}
