//! `export DIR` and `import DIR`: a git-friendly copy of a registry.
//!
//! ```text
//! DIR/promptdesk-export.json                    {"format": "promptdesk.export/1"}
//! DIR/ledger.jsonl                              every ledger event, one JSON object per line
//! DIR/prompts/support/refund-reply/_prompt.yaml name, kind, description, tags, samples,
//!                                               labels and the full label history
//! DIR/prompts/support/refund-reply/_v0001.prompt  one file per version (the prompt file
//!                                               format, with `version:` and `includes:`)
//! ```
//! Prompt folders become directories. Files start with `_`, which no prompt name part can, so
//! a prompt `a` and a prompt `a/b` never collide. Everything is written in a stable order, so
//! exporting twice gives identical bytes and a new version shows up as one new file in a diff.
//! Drafts are personal working copies and are not exported.
//!
//! Import reads and checks everything first (every version must still hash to its recorded
//! hash), and only then writes, so a malformed export changes nothing.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use promptdesk_content::{validate_prompt_name, PromptKind, VersionContent};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::error::{Error, Result};
use crate::format::{self, PromptFile, VersionMeta};
use crate::model::{LabelMove, Samples, Version};
use crate::registry::{NewPrompt, Registry};
use crate::store::{ledger, prompts, versions};

pub const EXPORT_FORMAT: &str = "promptdesk.export/1";
const MANIFEST: &str = "promptdesk-export.json";
const PROMPT_FILE: &str = "_prompt.yaml";

/// What an export or import touched.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TransferSummary {
    pub prompts: usize,
    pub versions: usize,
    pub label_moves: usize,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct PromptRecord {
    name: String,
    kind: PromptKind,
    #[serde(default)]
    description: String,
    #[serde(default)]
    tags: Vec<String>,
    #[serde(default)]
    samples: Samples,
    #[serde(default)]
    labels: BTreeMap<String, u32>,
    #[serde(default)]
    label_history: Vec<LabelRecord>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct LabelRecord {
    label: String,
    from: Option<u32>,
    to: u32,
    by: String,
    at: String,
    #[serde(default)]
    reason: String,
}

fn io(context: String) -> impl FnOnce(std::io::Error) -> Error {
    move |e| Error::io(context, e)
}

fn write_file(path: &Path, contents: &str) -> Result<()> {
    if let Some(dir) = path.parent() {
        fs::create_dir_all(dir).map_err(io(format!("cannot create {}", dir.display())))?;
    }
    fs::write(path, contents).map_err(io(format!("cannot write {}", path.display())))
}

/// Writes the whole registry to `dir` (created if missing; a previous export there is replaced).
pub fn export(reg: &Registry, dir: &Path) -> Result<TransferSummary> {
    if dir.exists() {
        let is_previous = dir.join(MANIFEST).exists();
        let empty = fs::read_dir(dir)
            .map_err(io(format!("cannot read {}", dir.display())))?
            .next()
            .is_none();
        if !is_previous && !empty {
            return Err(Error::bad(format!(
                "{} is not empty and holds no earlier export; choose an empty or new folder",
                dir.display()
            )));
        }
        if dir.join("prompts").exists() {
            fs::remove_dir_all(dir.join("prompts"))
                .map_err(io(format!("cannot replace {}/prompts", dir.display())))?;
        }
    }
    let conn = reg.connection();
    // One read transaction: WAL gives a snapshot, so a commit made meanwhile (by the desktop
    // app, say) cannot leave the export referring to a version it does not contain.
    conn.execute_batch("BEGIN")?;
    let result = export_snapshot(reg, dir);
    let _ = conn.execute_batch("COMMIT");
    result
}

fn export_snapshot(reg: &Registry, dir: &Path) -> Result<TransferSummary> {
    let conn = reg.connection();
    let mut summary = TransferSummary::default();
    write_file(
        &dir.join(MANIFEST),
        &(serde_json::to_string_pretty(&json!({ "format": EXPORT_FORMAT })).expect("json") + "\n"),
    )?;
    for p in prompts::list(conn, None)? {
        let folder = prompt_dir(dir, &p.name);
        let all = versions::all_for_prompt(conn, p.id)?;
        let number_of: BTreeMap<String, u32> =
            all.iter().map(|v| (v.hash.clone(), v.number)).collect();
        let record = PromptRecord {
            name: p.name.clone(),
            kind: p.kind,
            description: p.description.clone(),
            tags: p.tags.clone(),
            samples: reg.samples(&p.name)?,
            labels: reg
                .labels(&p.name)?
                .into_iter()
                .map(|l| (l.name, l.number))
                .collect(),
            label_history: reg
                .label_history(&p.name, None)?
                .into_iter()
                .map(|m| LabelRecord {
                    label: m.label,
                    from: m.from_hash.as_ref().and_then(|h| number_of.get(h).copied()),
                    to: m.to_number,
                    by: m.actor,
                    at: m.at,
                    reason: m.reason,
                })
                .collect(),
        };
        summary.label_moves += record.label_history.len();
        write_file(
            &folder.join(PROMPT_FILE),
            &serde_yaml_ng::to_string(&record).expect("prompt record serialises"),
        )?;
        for stored in all {
            let v = stored.parse(&p.name)?;
            let mut file = PromptFile::new(v.content.body.clone());
            file.variables = v.content.variables.clone();
            file.model = v.content.model.clone();
            file.includes = v.content.includes.clone();
            file.version = Some(VersionMeta {
                number: v.number,
                hash: v.hash.clone(),
                parent: v.parent_hash.clone(),
                author: v.author.clone(),
                created_at: v.created_at.clone(),
                message: v.message.clone(),
            });
            write_file(
                &folder.join(format!("_v{:04}.prompt", v.number)),
                &format::write(&file),
            )?;
            summary.versions += 1;
        }
        summary.prompts += 1;
    }
    let mut lines = String::new();
    let mut after = 0;
    loop {
        let page = ledger::list(conn, None, after, 1000)?;
        if page.is_empty() {
            break;
        }
        for e in &page {
            lines.push_str(&serde_json::to_string(e).expect("ledger entry serialises"));
            lines.push('\n');
        }
        after = page.last().map_or(after, |e| e.seq);
    }
    write_file(&dir.join("ledger.jsonl"), &lines)?;
    Ok(summary)
}

fn prompt_dir(root: &Path, name: &str) -> PathBuf {
    let mut path = root.join("prompts");
    for part in name.split('/') {
        path.push(part);
    }
    path
}

/// A prompt read from an export, checked and ready to write.
struct PendingPrompt {
    record: PromptRecord,
    versions: Vec<Version>,
    moves: Vec<LabelMove>,
}

/// Checks that `dir` holds an export this build can read, before anything is opened or created.
pub fn check_export_dir(dir: &Path) -> Result<()> {
    let manifest_path = dir.join(MANIFEST);
    let manifest = fs::read_to_string(&manifest_path).map_err(|e| {
        Error::bad(format!(
            "{} is not a Promptdesk export (cannot read {MANIFEST}: {e})",
            dir.display()
        ))
    })?;
    let format_tag = serde_json::from_str::<Value>(&manifest)
        .ok()
        .and_then(|v| v.get("format").and_then(Value::as_str).map(str::to_string));
    if format_tag.as_deref() != Some(EXPORT_FORMAT) {
        return Err(Error::bad(format!(
            "{}: unsupported export format {:?} (this build reads {EXPORT_FORMAT})",
            manifest_path.display(),
            format_tag.unwrap_or_default()
        )));
    }
    Ok(())
}

/// Reads an export made by [`export`] into `reg`, which must not already hold any of its
/// prompts. Everything is read and checked first, then written in one transaction.
pub fn import(reg: &mut Registry, dir: &Path) -> Result<TransferSummary> {
    check_export_dir(dir)?;
    let mut records = Vec::new();
    find_prompt_files(&dir.join("prompts"), &mut records)?;
    records.sort();

    // Phase 1: read and check everything.
    let mut pending = Vec::new();
    for path in records {
        pending.push(read_prompt(&path)?);
    }
    let mut seen = std::collections::BTreeSet::new();
    for p in &pending {
        if !seen.insert(p.record.name.as_str()) {
            return Err(Error::bad(format!(
                "{}: the prompt '{}' appears twice in the export",
                dir.display(),
                p.record.name
            )));
        }
    }
    let clashes: Vec<&str> = pending
        .iter()
        .map(|p| p.record.name.as_str())
        .filter(|n| prompts::find(reg.connection(), n).ok().flatten().is_some())
        .collect();
    if !clashes.is_empty() {
        return Err(Error::Conflict(format!(
            "this registry already has {}; import into an empty registry (nothing was changed)",
            clashes.join(", ")
        )));
    }

    // Phase 2: write, all or nothing.
    reg.batch(|reg| write_pending(reg, &pending))
}

fn write_pending(reg: &mut Registry, pending: &[PendingPrompt]) -> Result<TransferSummary> {
    let mut summary = TransferSummary::default();
    for p in pending {
        reg.create_prompt(
            &p.record.name,
            p.record.kind,
            NewPrompt {
                description: p.record.description.clone(),
                tags: p.record.tags.clone(),
                draft: None,
                samples: p.record.samples.clone(),
            },
        )?;
        for v in &p.versions {
            reg.import_version(&p.record.name, v)?;
            summary.versions += 1;
        }
        for m in &p.moves {
            reg.import_label_move(&p.record.name, m)?;
            summary.label_moves += 1;
        }
        summary.prompts += 1;
    }
    Ok(summary)
}

fn find_prompt_files(dir: &Path, out: &mut Vec<PathBuf>) -> Result<()> {
    if !dir.exists() {
        return Ok(());
    }
    for entry in fs::read_dir(dir).map_err(io(format!("cannot read {}", dir.display())))? {
        let entry = entry.map_err(io(format!("cannot read {}", dir.display())))?;
        let path = entry.path();
        let kind = entry
            .file_type()
            .map_err(io(format!("cannot read {}", path.display())))?;
        // Symlinks are not followed: a link back up the tree would recurse forever.
        if kind.is_dir() {
            find_prompt_files(&path, out)?;
        } else if entry.file_name() == PROMPT_FILE {
            out.push(path);
        }
    }
    Ok(())
}

fn read_prompt(record_path: &Path) -> Result<PendingPrompt> {
    let shown = record_path.display().to_string();
    let text = fs::read_to_string(record_path)
        .map_err(|e| Error::bad(format!("cannot read {shown}: {e}")))?;
    let record: PromptRecord =
        serde_yaml_ng::from_str(&text).map_err(|e| Error::bad(format!("{shown}: {e}")))?;
    validate_prompt_name(&record.name).map_err(|e| Error::bad(format!("{shown}: {e}")))?;
    let folder = record_path.parent().unwrap_or(Path::new("."));

    let mut files: Vec<(u32, PathBuf)> = Vec::new();
    for entry in fs::read_dir(folder).map_err(io(format!("cannot read {}", folder.display())))? {
        let entry = entry.map_err(io(format!("cannot read {}", folder.display())))?;
        let name = entry.file_name().to_string_lossy().to_string();
        if let Some(n) = name
            .strip_prefix("_v")
            .and_then(|s| s.strip_suffix(".prompt"))
            .and_then(|s| s.parse::<u32>().ok())
        {
            files.push((n, entry.path()));
        }
    }
    files.sort();

    let mut versions_read: Vec<Version> = Vec::new();
    for (n, path) in files {
        let shown = path.display().to_string();
        let text = fs::read_to_string(&path)
            .map_err(|e| Error::bad(format!("cannot read {shown}: {e}")))?;
        let file = format::parse(&text, &shown)?;
        let meta = file
            .version
            .clone()
            .ok_or_else(|| Error::bad(format!("{shown}: the `version:` block is missing")))?;
        if meta.number != n {
            return Err(Error::bad(format!(
                "{shown}: the file name says version {n} but the file says {}",
                meta.number
            )));
        }
        if file.kind != record.kind {
            return Err(Error::bad(format!(
                "{shown}: a {} version of the {} prompt '{}'",
                file.kind, record.kind, record.name
            )));
        }
        let expected = versions_read.len() as u32 + 1;
        if n != expected {
            return Err(Error::bad(format!(
                "{shown}: version {expected} of '{}' is missing from the export",
                record.name
            )));
        }
        let content = VersionContent {
            body: file.body,
            variables: file.variables,
            model: file.model,
            includes: file.includes,
        };
        let hash = content.content_hash();
        if hash != meta.hash {
            return Err(Error::bad(format!(
                "{shown}: the content does not match its recorded hash (edited by hand?): computed #{}, recorded #{}",
                &hash[..12],
                meta.hash.get(..12).unwrap_or(&meta.hash)
            )));
        }
        versions_read.push(Version {
            prompt: record.name.clone(),
            number: n,
            hash,
            parent_hash: meta.parent,
            author: meta.author,
            message: meta.message,
            created_at: meta.created_at,
            content,
        });
    }

    let hash_of = |n: u32, what: &str| -> Result<String> {
        versions_read
            .get((n as usize).wrapping_sub(1))
            .map(|v| v.hash.clone())
            .ok_or_else(|| {
                Error::bad(format!(
                    "{shown}: {what} refers to version {n}, which is not in the export"
                ))
            })
    };
    let mut moves = Vec::new();
    let mut current: BTreeMap<String, u32> = BTreeMap::new();
    for m in &record.label_history {
        moves.push(LabelMove {
            label: m.label.clone(),
            from_number: m.from,
            from_hash: m
                .from
                .map(|f| hash_of(f, "the label history"))
                .transpose()?,
            to_number: m.to,
            to_hash: hash_of(m.to, "the label history")?,
            actor: m.by.clone(),
            at: m.at.clone(),
            reason: m.reason.clone(),
        });
        current.insert(m.label.clone(), m.to);
    }
    if current != record.labels {
        return Err(Error::bad(format!(
            "{shown}: `labels` does not match where `label_history` leaves them"
        )));
    }
    Ok(PendingPrompt {
        record,
        versions: versions_read,
        moves,
    })
}
