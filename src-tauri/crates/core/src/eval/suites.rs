//! Suites and their cases: create, list, add (by hand, from a file, from a postmortem), edit,
//! remove. Each change is one transaction with its ledger entry.

use super::suite_hash;
use rusqlite::Connection;
use serde_json::{json, Value};

use super::{Assertion, Case, CaseInput, Suite, SuiteDetail};
use crate::error::{Error, Result};
use crate::registry::Registry;
use crate::store::prompts;
use crate::store::suites::{self, CaseRow, SuiteRow};

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

pub(crate) fn require_suite(conn: &Connection, prompt: &str, name: &str) -> Result<SuiteRow> {
    let p = prompts::get(conn, prompt)?;
    suites::find(conn, p.id, name)?.ok_or_else(|| {
        let known: Vec<String> = suites::list(conn, p.id)
            .unwrap_or_default()
            .into_iter()
            .map(|s| s.name)
            .collect();
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

/// A stored case as the app reads it: assertions that do not parse are refused (a case
/// silently without its assertions would pass everything).
fn case_of(row: CaseRow) -> Result<Case> {
    let assertions: Vec<Assertion> = serde_json::from_str(&row.assertions).unwrap_or_default();
    if assertions.is_empty() && row.assertions.trim() != "[]" {
        return Err(Error::Integrity(format!(
            "the assertions of case {} do not parse",
            row.id
        )));
    }
    let position = u32::try_from(row.position).map_err(|_| {
        Error::Integrity(format!(
            "case {} is at position {}, which is not a position",
            row.id, row.position
        ))
    })?;
    Ok(Case {
        id: row.id,
        position,
        description: row.description,
        vars: serde_json::from_str(&row.vars).unwrap_or_default(),
        expected: row.expected,
        assertions,
        tags: serde_json::from_str(&row.tags).unwrap_or_default(),
        origin: row.origin,
        updated_by: row.updated_by,
        updated_at: row.updated_at,
    })
}

/// A case as stored in suite `suite_id`.
fn row_of(suite_id: &str, c: &Case) -> CaseRow {
    CaseRow {
        id: c.id.clone(),
        suite_id: suite_id.to_string(),
        position: i64::from(c.position),
        description: c.description.clone(),
        vars: Value::Object(c.vars.clone()).to_string(),
        expected: c.expected.clone(),
        assertions: serde_json::to_string(&c.assertions).expect("assertions serialise"),
        tags: serde_json::to_string(&c.tags).expect("tags serialise"),
        origin: c.origin.clone(),
        updated_by: c.updated_by.clone(),
        updated_at: c.updated_at.clone(),
    }
}

/// The cases of a suite, in order.
pub(crate) fn cases(conn: &Connection, suite_id: &str) -> Result<Vec<Case>> {
    suites::cases(conn, suite_id)?
        .into_iter()
        .map(case_of)
        .collect()
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
            if suites::find(tx, p.id, name)?.is_some() {
                return Err(Error::Conflict(format!(
                    "'{prompt}' already has a test suite named '{name}'"
                )));
            }
            suites::insert(
                tx,
                &SuiteRow {
                    id: id.clone(),
                    prompt_id: p.id,
                    name: name.to_string(),
                    description: description.trim().to_string(),
                    created_by: ctx.actor.to_string(),
                    created_at: ctx.at.clone(),
                },
            )?;
            ctx.event(
                tx,
                "suite.created",
                prompt,
                json!({"suite": name, "id": id, "description": description.trim()}),
            )?;
            let row = suites::find(tx, p.id, name)?.expect("just inserted");
            suite_of(tx, prompt, &row)
        })
    }

    /// The suites of a prompt, by name.
    pub fn suites(&self, prompt: &str) -> Result<Vec<Suite>> {
        let conn = self.connection();
        let p = prompts::get(conn, prompt)?;
        suites::list(conn, p.id)?
            .iter()
            .map(|row| suite_of(conn, prompt, row))
            .collect()
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
            let row = match suites::find(tx, p.id, suite)? {
                Some(r) => r,
                None if create => {
                    suites::insert(
                        tx,
                        &SuiteRow {
                            id: suite_id_if_new.clone(),
                            prompt_id: p.id,
                            name: suite.to_string(),
                            description: String::new(),
                            created_by: ctx.actor.to_string(),
                            created_at: ctx.at.clone(),
                        },
                    )?;
                    ctx.event(
                        tx,
                        "suite.created",
                        prompt,
                        json!({"suite": suite, "id": suite_id_if_new, "description": ""}),
                    )?;
                    suites::find(tx, p.id, suite)?.expect("just inserted")
                }
                None => return Err(require_suite(tx, prompt, suite).expect_err("missing")),
            };
            let count = suites::count_cases(tx, &row.id)?;
            if count as usize + new.len() > MAX_CASES {
                return Err(Error::bad(format!(
                    "a suite holds at most {MAX_CASES} cases; {suite} has {count} and this adds {}",
                    new.len()
                )));
            }
            let next = suites::next_position(tx, &row.id)?;
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
                suites::insert_case(tx, &row_of(&row.id, &case))?;
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
            suites::update_case(tx, &row_of(&row.id, &case))?;
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
            suites::delete_case(tx, case_id)?;
            ctx.event(
                tx,
                "suite.case_removed",
                prompt,
                json!({"suite": suite, "case": case_payload(&old)}),
            )
        })
    }
}
