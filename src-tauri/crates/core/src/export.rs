//! `export DIR` and `import DIR`: a git-friendly copy of a registry.
//!
//! ```text
//! DIR/promptdesk-export.json                    {"format": "promptdesk.export/2"}
//! DIR/ledger.jsonl                              every ledger event, one JSON object per line
//! DIR/prompts/support/refund-reply/_prompt.yaml name, kind, description, tags, samples,
//!                                               labels and the full label history
//! DIR/prompts/support/refund-reply/_v0001.prompt  one file per version (the prompt file
//!                                               format, with `version:` and `includes:`)
//! DIR/signing-keys.jsonl                        public signing keys (never a private one):
//!                                               key_id, person, public_key, registered_at;
//!                                               by registration time
//! DIR/key-revocations.jsonl                    revoked keys: key_id, revoked_by, revoked_at,
//!                                               reason; by revocation time (absent from
//!                                               exports made before keys could be revoked)
//! DIR/roles.jsonl                               person, role, granted_by, granted_at; by person
//! DIR/policies.jsonl                            label, policy, updated_by, updated_at; by label
//! DIR/reviews.jsonl                             review requests: number, id, prompt, version,
//!                                               version_hash, label, description, requested_by,
//!                                               requested_at; by number
//! DIR/review-events.jsonl                       comments and decisions: id, review, kind, actor,
//!                                               actor_role, at, body, anchor, reply_to, and for
//!                                               decisions content_hash, key_id, signature; in
//!                                               the order they were made
//! DIR/releases.jsonl                            releases and rollbacks: id, prompt, label, kind,
//!                                               from/to version and hash, changelog, review,
//!                                               decision (with its counted approvals), actor,
//!                                               actor_role, at, bundle, key_id, signature; in
//!                                               the order they were made
//! ```
//! Prompt folders become directories. Files start with `_`, which no prompt name part can, so
//! a prompt `a` and a prompt `a/b` never collide. Everything is written in a stable order, so
//! exporting twice gives identical bytes, a new version shows up as one new file in a diff and
//! a new approval as one new line. The `.jsonl` files hold one JSON object per line (see
//! [`crate::release::records`]). Drafts are personal working copies and are not exported.
//!
//! Import reads and checks everything first, and only then writes, in one transaction, so a
//! malformed export changes nothing. Every version must still hash to its recorded hash. The
//! review and release records are checked against the export's ledger, whose hash chain must
//! hold: each record must agree with the event that made it, so a hand-edited body, role or
//! signature is refused with the file and line; and once they are in, every signature must
//! verify, as `verify` checks it. Importing what a registry already holds (the same prompts
//! with the same history, records with the same ids and content) changes nothing, so an export
//! can be imported again; the same name or id with different content is a conflict.
//! `promptdesk.export/1` exports, from before review and release, import as they always did.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fs;
use std::path::{Path, PathBuf};

use promptdesk_content::{validate_prompt_name, PromptKind, VersionContent};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::error::{Error, Result};
use crate::format::{self, PromptFile};
use crate::model::{LabelMove, LedgerEntry, Prompt, Samples, Version};
use crate::registry::{NewPrompt, Registry};
use crate::release::records::{self as release_records, Record, WitnessKind};
use crate::store::{ledger, prompts, versions};

/// The format this build writes. Version 2 added the review and release records: an older
/// build, which would import such an export without them and so quietly drop every signed
/// approval and release, refuses it instead.
pub const EXPORT_FORMAT: &str = "promptdesk.export/2";
/// The format before review and release, still read.
const EXPORT_FORMAT_1: &str = "promptdesk.export/1";
const MANIFEST: &str = "promptdesk-export.json";
const PROMPT_FILE: &str = "_prompt.yaml";
const LEDGER_FILE: &str = "ledger.jsonl";
const KEYS_FILE: &str = "signing-keys.jsonl";
const REVOCATIONS_FILE: &str = "key-revocations.jsonl";
const ROLES_FILE: &str = "roles.jsonl";
const POLICIES_FILE: &str = "policies.jsonl";
const REVIEWS_FILE: &str = "reviews.jsonl";
const REVIEW_EVENTS_FILE: &str = "review-events.jsonl";
const RELEASES_FILE: &str = "releases.jsonl";

/// What an export or import touched.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TransferSummary {
    pub prompts: usize,
    pub versions: usize,
    pub label_moves: usize,
    #[serde(default)]
    pub signing_keys: usize,
    #[serde(default)]
    pub key_revocations: usize,
    #[serde(default)]
    pub roles: usize,
    #[serde(default)]
    pub policies: usize,
    #[serde(default)]
    pub reviews: usize,
    #[serde(default)]
    pub review_events: usize,
    #[serde(default)]
    pub releases: usize,
    /// On import: prompts and records the registry already held, left as they were.
    #[serde(default)]
    pub unchanged: usize,
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

/// One JSON object per line, so adding a record adds a line.
fn write_jsonl<T: Serialize>(path: &Path, items: &[T]) -> Result<usize> {
    let mut lines = String::new();
    for item in items {
        lines.push_str(&serde_json::to_string(item).expect("records serialise"));
        lines.push('\n');
    }
    write_file(path, &lines)?;
    Ok(items.len())
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
        let (record, all) = prompt_snapshot(reg, &p)?;
        summary.label_moves += record.label_history.len();
        write_file(
            &folder.join(PROMPT_FILE),
            &serde_yaml_ng::to_string(&record).expect("prompt record serialises"),
        )?;
        for v in all {
            let file = PromptFile::of_version(&v);
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
    write_file(&dir.join(LEDGER_FILE), &lines)?;

    let records = release_records::read(conn)?;
    summary.signing_keys = write_jsonl(&dir.join(KEYS_FILE), &records.keys)?;
    summary.key_revocations = write_jsonl(&dir.join(REVOCATIONS_FILE), &records.key_revocations)?;
    summary.roles = write_jsonl(&dir.join(ROLES_FILE), &records.roles)?;
    summary.policies = write_jsonl(&dir.join(POLICIES_FILE), &records.policies)?;
    summary.reviews = write_jsonl(&dir.join(REVIEWS_FILE), &records.reviews)?;
    summary.review_events = write_jsonl(&dir.join(REVIEW_EVENTS_FILE), &records.review_events)?;
    summary.releases = write_jsonl(&dir.join(RELEASES_FILE), &records.releases)?;
    Ok(summary)
}

/// A prompt as an export holds it: its record (labels and their history included) and every
/// version, oldest first.
fn prompt_snapshot(reg: &Registry, p: &Prompt) -> Result<(PromptRecord, Vec<Version>)> {
    let conn = reg.connection();
    let all = versions::all_for_prompt(conn, p.id)?
        .into_iter()
        .map(|v| v.parse(&p.name))
        .collect::<Result<Vec<_>>>()?;
    let number_of: BTreeMap<&str, u32> = all.iter().map(|v| (v.hash.as_str(), v.number)).collect();
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
                from: m
                    .from_hash
                    .as_deref()
                    .and_then(|h| number_of.get(h).copied()),
                to: m.to_number,
                by: m.actor,
                at: m.at,
                reason: m.reason,
            })
            .collect(),
    };
    Ok((record, all))
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
    export_format(dir).map(|_| ())
}

/// The format version of the export in `dir` (1 or 2).
fn export_format(dir: &Path) -> Result<u32> {
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
    match format_tag.as_deref() {
        Some(EXPORT_FORMAT) => Ok(2),
        Some(EXPORT_FORMAT_1) => Ok(1),
        _ => Err(Error::bad(format!(
            "{}: unsupported export format {:?} (this build reads {EXPORT_FORMAT} and {EXPORT_FORMAT_1})",
            manifest_path.display(),
            format_tag.unwrap_or_default()
        ))),
    }
}

/// Reads an export made by [`export`] into `reg`. Prompts the registry already holds must be
/// exactly as exported (they are then left alone), and so must records with the same ids.
/// Everything is read and checked first, then written in one transaction.
pub fn import(reg: &mut Registry, dir: &Path) -> Result<TransferSummary> {
    let format_version = export_format(dir)?;
    let mut record_paths = Vec::new();
    find_prompt_files(&dir.join("prompts"), &mut record_paths)?;
    record_paths.sort();

    // Phase 1: read and check everything.
    let mut pending = Vec::new();
    for path in record_paths {
        pending.push(read_prompt(&path)?);
    }
    let mut seen = BTreeSet::new();
    for p in &pending {
        if !seen.insert(p.record.name.as_str()) {
            return Err(Error::bad(format!(
                "{}: the prompt '{}' appears twice in the export",
                dir.display(),
                p.record.name
            )));
        }
    }
    let records = if format_version >= 2 {
        read_records(dir)?
    } else {
        Vec::new()
    };
    let mut already_here = BTreeSet::new();
    let mut clashes = Vec::new();
    for p in &pending {
        let Some(existing) = prompts::find(reg.connection(), &p.record.name)? else {
            continue;
        };
        let (record, versions) = prompt_snapshot(reg, &existing)?;
        match prompt_difference(&record, &versions, p) {
            None => {
                already_here.insert(p.record.name.as_str());
            }
            Some(diff) => clashes.push(format!("'{}' ({diff})", p.record.name)),
        }
    }
    if !clashes.is_empty() {
        return Err(Error::Conflict(format!(
            "this registry already has {} with different content than the export; import into \
             an empty registry (nothing was changed)",
            clashes.join(", ")
        )));
    }

    // Phase 2: write, all or nothing.
    reg.batch(|reg| {
        let new: Vec<&PendingPrompt> = pending
            .iter()
            .filter(|p| !already_here.contains(p.record.name.as_str()))
            .collect();
        let mut summary = write_pending(reg, &new)?;
        summary.unchanged += already_here.len();
        let counts = reg.apply_records(&records)?;
        summary.signing_keys = counts.keys;
        summary.key_revocations = counts.key_revocations;
        summary.roles = counts.roles;
        summary.policies = counts.policies;
        summary.reviews = counts.reviews;
        summary.review_events = counts.review_events;
        summary.releases = counts.releases;
        summary.unchanged += counts.already_present;
        Ok(summary)
    })
}

/// How a prompt in the registry differs from the same prompt in the export, if it does.
fn prompt_difference(
    record: &PromptRecord,
    versions: &[Version],
    incoming: &PendingPrompt,
) -> Option<String> {
    let theirs = &incoming.record;
    if record.kind != theirs.kind {
        return Some(format!(
            "a {} prompt here, {} in the export",
            record.kind, theirs.kind
        ));
    }
    if versions.len() != incoming.versions.len() {
        return Some(format!(
            "{} versions here, {} in the export",
            versions.len(),
            incoming.versions.len()
        ));
    }
    if let Some(v) = versions
        .iter()
        .zip(&incoming.versions)
        .find(|(a, b)| a != b)
        .map(|(a, _)| a)
    {
        return Some(format!("version {} differs", v.number));
    }
    if record.label_history != theirs.label_history || record.labels != theirs.labels {
        return Some("its labels have moved differently".into());
    }
    if record.description != theirs.description || record.tags != theirs.tags {
        return Some("its description or tags differ".into());
    }
    if record.samples != theirs.samples {
        return Some("its sample inputs differ".into());
    }
    None
}

fn write_pending(reg: &mut Registry, pending: &[&PendingPrompt]) -> Result<TransferSummary> {
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

/// Reads the review and release records of a version 2 export, each with its `FILE:LINE`, in
/// the order they can be applied; and checks each against the export's ledger.
fn read_records(dir: &Path) -> Result<Vec<(String, Record)>> {
    let witnesses = read_ledger(&dir.join(LEDGER_FILE))?;
    let mut out = Vec::new();
    read_jsonl(&dir.join(KEYS_FILE), Record::Key, &mut out)?;
    read_jsonl(&dir.join(ROLES_FILE), Record::Role, &mut out)?;
    read_jsonl(&dir.join(POLICIES_FILE), Record::Policy, &mut out)?;
    read_jsonl(&dir.join(REVIEWS_FILE), Record::Review, &mut out)?;
    read_jsonl(&dir.join(REVIEW_EVENTS_FILE), Record::ReviewEvent, &mut out)?;
    read_jsonl(&dir.join(RELEASES_FILE), Record::Release, &mut out)?;
    // Revocations after everything signed (applied, and pushed, in this order). Exports made
    // before keys could be revoked have no such file (and their ledgers no revocation, so none
    // can be missing).
    if dir.join(REVOCATIONS_FILE).exists() {
        read_jsonl(&dir.join(REVOCATIONS_FILE), Record::KeyRevocation, &mut out)?;
    }
    // Signatures cover only part of a record (not a comment, not a decision's body or the
    // reviewer's role, which decides whether an approval counts). The ledger recorded each
    // record when it was made, in a hash chain: a record edited by hand no longer agrees with
    // it, and editing the ledger to match breaks the chain.
    for (origin, record) in &out {
        let what = record.describe();
        match witnesses.get(&record.witness_key()) {
            None => {
                return Err(Error::bad(format!(
                    "{origin}: {what}: the export's {LEDGER_FILE} has no event that made it \
                     (was it added by hand?)"
                )))
            }
            Some((line, entry)) => {
                if let Some(diff) = release_records::witness_mismatch(record, entry) {
                    return Err(Error::bad(format!(
                        "{origin}: {what}: {diff} ({LEDGER_FILE}:{line}); was the file edited by hand?"
                    )));
                }
            }
        }
    }
    // And the other way round: a record the ledger says was made must be there. A deleted
    // "request changes" would otherwise turn into an approved review.
    let present: BTreeSet<(WitnessKind, String)> =
        out.iter().map(|(_, r)| r.witness_key()).collect();
    let mut missing: Vec<(&usize, &(WitnessKind, String), &LedgerEntry)> = witnesses
        .iter()
        .filter(|(key, _)| !present.contains(*key))
        .map(|(key, (line, entry))| (line, key, entry))
        .collect();
    missing.sort_by_key(|(line, _, _)| **line);
    if let Some((line, (kind, id), entry)) = missing.first() {
        let file = match kind {
            WitnessKind::Key => KEYS_FILE,
            WitnessKind::KeyRevocation => REVOCATIONS_FILE,
            WitnessKind::Role => ROLES_FILE,
            WitnessKind::Policy => POLICIES_FILE,
            WitnessKind::Review => REVIEWS_FILE,
            WitnessKind::ReviewEvent => REVIEW_EVENTS_FILE,
            WitnessKind::Release => RELEASES_FILE,
        };
        return Err(Error::bad(format!(
            "{}:{line}: the ledger records {} {id} (on {}), which is missing from {file} \
             (was a line deleted?)",
            dir.join(LEDGER_FILE).display(),
            entry.kind,
            entry.subject
        )));
    }
    Ok(out)
}

type Witnesses = HashMap<(WitnessKind, String), (usize, LedgerEntry)>;

/// Reads the export's ledger, checks its hash chain, and indexes the events that made review
/// and release records (the latest one for a role or a policy, which change).
fn read_ledger(path: &Path) -> Result<Witnesses> {
    let shown = path.display().to_string();
    let text = read_export_file(path)?;
    let mut out = Witnesses::new();
    let mut expected_prev = ledger::GENESIS.to_string();
    let mut expected_seq = 1;
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let at = format!("{shown}:{}", i + 1);
        let e: LedgerEntry =
            serde_json::from_str(line).map_err(|err| Error::bad(format!("{at}: {err}")))?;
        if e.seq != expected_seq {
            return Err(Error::bad(format!(
                "{at}: ledger entry {expected_seq} is missing (found {} next)",
                e.seq
            )));
        }
        if e.prev_hash != expected_prev {
            return Err(Error::bad(format!(
                "{at}: ledger entry {} does not link to the entry before it",
                e.seq
            )));
        }
        let hash = ledger::entry_hash(
            e.seq,
            &e.id,
            &e.at,
            &e.actor,
            &e.kind,
            &e.subject,
            &e.payload,
            &e.prev_hash,
        );
        if hash != e.hash {
            return Err(Error::bad(format!(
                "{at}: ledger entry {} ({} on {}) was altered: its hash does not match its content",
                e.seq, e.kind, e.subject
            )));
        }
        expected_prev = e.hash.clone();
        expected_seq += 1;
        if let Some(key) = release_records::witness_key(&e) {
            out.insert(key, (i + 1, e));
        }
    }
    Ok(out)
}

/// A file every version 2 export has.
fn read_export_file(path: &Path) -> Result<String> {
    fs::read_to_string(path).map_err(|e| {
        if e.kind() == std::io::ErrorKind::NotFound {
            Error::bad(format!(
                "{} is missing: every {EXPORT_FORMAT} export has it (was only part of the export copied?)",
                path.display()
            ))
        } else {
            Error::bad(format!("cannot read {}: {e}", path.display()))
        }
    })
}

fn read_jsonl<T: DeserializeOwned>(
    path: &Path,
    wrap: fn(T) -> Record,
    out: &mut Vec<(String, Record)>,
) -> Result<()> {
    let shown = path.display().to_string();
    let text = read_export_file(path)?;
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let origin = format!("{shown}:{}", i + 1);
        let record: T =
            serde_json::from_str(line).map_err(|e| Error::bad(format!("{origin}: {e}")))?;
        out.push((origin, wrap(record)));
    }
    Ok(())
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
