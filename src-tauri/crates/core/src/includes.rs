//! Includes of other prompts (`{% include "policies/refunds" %}` or `"policies/refunds@2"`).
//!
//! A draft's includes resolve to the version the name or `name@ref` points to now (a bare name
//! means the latest version); deeper includes come from that version's own pins. When a version
//! is committed, the whole transitive closure is pinned into its content (include as written →
//! version hash), so editing an included prompt never changes an existing version. A chain that
//! reaches a prompt already on it is an include cycle; the same include resolving to two
//! different versions in one tree is refused rather than silently picking one.

use std::collections::{BTreeMap, BTreeSet};

use promptdesk_content::{Body, VersionContent};
use promptdesk_template::{analysis, ErrorKind, SourceLocation, TemplateError};
use rusqlite::Connection;

use crate::error::{Error, Result};
use crate::model::Version;
use crate::refs::{parse_spec, Ref};
use crate::registry::resolve_version;
use crate::store::{prompts, versions};

/// One resolved include.
#[derive(Debug, Clone)]
pub struct ResolvedInclude {
    pub version: Version,
    /// The included prompt's template.
    pub source: String,
    /// The variables the included template reads: the including prompt must supply them.
    pub variables: BTreeSet<String>,
}

pub type Resolved = BTreeMap<String, ResolvedInclude>;

/// Resolves a draft's includes as they stand now.
pub fn resolve_for_draft(conn: &Connection, name: &str, body: &Body) -> Result<Resolved> {
    let mut out = Resolved::new();
    let mut chain = vec![name.to_string()];
    for (place, source) in body.templates() {
        let location = crate::registry::template_location(name, body, &place);
        visit(conn, &location, source, None, &mut chain, &mut out)?;
    }
    Ok(out)
}

/// Resolves a committed version's includes through its pins.
pub fn resolve_pinned(conn: &Connection, name: &str, content: &VersionContent) -> Result<Resolved> {
    let mut out = Resolved::new();
    let mut chain = vec![name.to_string()];
    for (place, source) in content.body.templates() {
        let location = crate::registry::template_location(name, &content.body, &place);
        visit(
            conn,
            &location,
            source,
            Some(&content.includes),
            &mut chain,
            &mut out,
        )?;
    }
    Ok(out)
}

fn visit(
    conn: &Connection,
    location: &str,
    source: &str,
    pins: Option<&BTreeMap<String, String>>,
    chain: &mut Vec<String>,
    out: &mut Resolved,
) -> Result<()> {
    for written in analysis::include_references(location, source)? {
        let at = |kind: ErrorKind, message: String| -> Error {
            Error::Template(TemplateError {
                kind,
                message,
                location: locate(location, source, &written),
                fix: None,
            })
        };
        let (target, reference) = match parse_spec(&written) {
            Ok(parsed) => parsed,
            Err(e) => {
                return Err(at(
                    ErrorKind::UnknownInclude,
                    format!("include \"{written}\": {e}"),
                ))
            }
        };
        if let Some(pos) = chain.iter().position(|n| *n == target) {
            let mut cycle: Vec<&str> = chain[pos..].iter().map(String::as_str).collect();
            cycle.push(&target);
            return Err(at(
                ErrorKind::IncludeCycle,
                format!("include cycle: {}", cycle.join(" → ")),
            ));
        }
        if prompts::find(conn, &target)?.is_none() {
            return Err(at(
                ErrorKind::UnknownInclude,
                format!("includes \"{written}\", but there is no prompt named '{target}'"),
            ));
        }
        let version = match pins {
            Some(pins) => {
                let hash = pins.get(&written).ok_or_else(|| {
                    Error::Integrity(format!(
                        "{location}: include \"{written}\" was never pinned"
                    ))
                })?;
                let p = prompts::get(conn, &target)?;
                versions::by_hash(conn, p.id, hash)?
                    .ok_or_else(|| {
                        Error::Integrity(format!(
                            "{location}: include \"{written}\" is pinned to a version that is missing"
                        ))
                    })?
                    .parse(&target)?
            }
            None => {
                if matches!(reference, Some(Ref::Draft)) {
                    return Err(at(
                        ErrorKind::UnknownInclude,
                        format!("include \"{written}\": a draft cannot be included, only versions"),
                    ));
                }
                resolve_version(conn, &target, reference.as_ref()).map_err(|e| match e {
                    Error::NotFound(msg) => at(
                        ErrorKind::UnknownInclude,
                        format!("include \"{written}\": {msg}"),
                    ),
                    other => other,
                })?
            }
        };
        let template = match &version.content.body {
            Body::Text { template } => template.clone(),
            Body::Chat { .. } => {
                return Err(at(
                    ErrorKind::UnknownInclude,
                    format!("include \"{written}\": '{target}' is a chat prompt; only text prompts can be included"),
                ))
            }
        };
        if let Some(existing) = out.get(&written) {
            if existing.version.hash != version.hash {
                return Err(at(
                    ErrorKind::UnknownInclude,
                    format!(
                        "\"{written}\" is included at two versions ({} and {}); write \"{target}@N\" to choose one",
                        existing.version.number, version.number
                    ),
                ));
            }
            continue;
        }
        let variables = analysis::referenced_variables(&written, &template)?;
        chain.push(target.clone());
        visit(
            conn,
            &written,
            &template,
            Some(&version.content.includes),
            chain,
            out,
        )?;
        chain.pop();
        out.insert(
            written.clone(),
            ResolvedInclude {
                version,
                source: template,
                variables,
            },
        );
    }
    Ok(())
}

/// Where an include string is written in a template, for error messages.
fn locate(template: &str, source: &str, written: &str) -> Option<SourceLocation> {
    let needle_dq = format!("\"{written}\"");
    let needle_sq = format!("'{written}'");
    let offset = source
        .find(&needle_dq)
        .or_else(|| source.find(&needle_sq))?;
    let before = &source[..offset];
    let line = before.matches('\n').count() as u32 + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let column = source[line_start..offset].chars().count() as u32 + 1;
    let source_line = source[line_start..]
        .lines()
        .next()
        .unwrap_or("")
        .to_string();
    Some(SourceLocation {
        template: template.to_string(),
        line,
        column,
        source_line,
    })
}
