//! Prompts, versions, labels and label history as the ledger describes them.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use promptdesk_content::{sha256_hex, VersionContent};
use rusqlite::Connection;
use serde_json::Value;

use super::{differs, short, shown, Entry};
use crate::error::Result;
use crate::store;

/// A version as its ledger entries describe it. `None` where no entry says (an imported
/// version's parent and message).
pub(crate) struct VersionState {
    pub number: u32,
    pub parent: Option<Option<String>>,
    pub message: Option<String>,
    pub author: String,
    pub created_at: String,
    pub includes: Option<Value>,
}

struct LabelState {
    hash: String,
    at: String,
    by: String,
}

/// One label move as `label_history` must hold it (`reason` unknown for imported moves).
struct Move {
    from: Option<String>,
    to: String,
    actor: String,
    at: String,
    reason: Option<String>,
}

pub(crate) struct PromptState {
    pub name: String,
    kind: Value,
    description: Value,
    tags: Value,
    created_by: String,
    created_at: String,
    pub versions: HashMap<String, VersionState>,
    by_number: BTreeMap<u32, String>,
    labels: BTreeMap<String, LabelState>,
    history: BTreeMap<String, Vec<Move>>,
}

/// Every prompt the ledger created, by a stable index that survives renames.
#[derive(Default)]
pub(crate) struct Prompts {
    list: Vec<PromptState>,
    by_name: HashMap<String, usize>,
}

impl Prompts {
    /// The prompt called `name` at this point of the ledger.
    pub fn key(&self, name: &str) -> Option<usize> {
        self.by_name.get(name).copied()
    }

    pub fn get(&self, key: usize) -> &PromptState {
        &self.list[key]
    }

    /// The version `hash` of prompt `key` as the ledger has it now.
    pub fn version(&self, key: usize, hash: &str) -> Option<&VersionState> {
        self.list[key].versions.get(hash)
    }

    /// `version 3 (#ab12…)`, or the hash alone when the ledger has no such version.
    pub fn describe(&self, key: Option<usize>, hash: &str) -> String {
        match key.and_then(|k| self.version(k, hash)) {
            Some(v) => format!("version {} ({})", v.number, short(hash)),
            None => format!("{} (no version the ledger knows)", short(hash)),
        }
    }

    pub(super) fn apply(&mut self, e: &Entry, problems: &mut Vec<String>) {
        let p = &e.payload;
        if e.kind == "prompt.created" {
            let state = PromptState {
                name: e.subject.clone(),
                kind: p["kind"].clone(),
                description: p["description"].clone(),
                tags: p["tags"].clone(),
                created_by: e.actor.clone(),
                created_at: e.at.clone(),
                versions: HashMap::new(),
                by_number: BTreeMap::new(),
                labels: BTreeMap::new(),
                history: BTreeMap::new(),
            };
            // A second creation of a name changes nothing here (the registry refuses it; a
            // pull of a prompt made here too records no entry).
            if self.key(&e.subject).is_none() {
                self.by_name.insert(e.subject.clone(), self.list.len());
                self.list.push(state);
            }
            return;
        }
        if e.kind == "prompt.renamed" {
            let from = e.text("from").unwrap_or_default();
            if let Some(k) = self.by_name.remove(from) {
                self.by_name.insert(e.subject.clone(), k);
                self.list[k].name = e.subject.clone();
            }
            return;
        }
        let Some(k) = self.key(&e.subject) else {
            problems.push(format!(
                "ledger entry {} ({}) is about {}, which the ledger never created",
                e.seq, e.kind, e.subject
            ));
            return;
        };
        let prompt = &mut self.list[k];
        match e.kind.as_str() {
            "prompt.updated" => {
                prompt.description = p["description"].clone();
                prompt.tags = p["tags"].clone();
            }
            "version.created" | "version.imported" => {
                let (Some(hash), Some(number)) = (e.text("hash"), p["number"].as_u64()) else {
                    return;
                };
                let created = e.kind == "version.created";
                let v = VersionState {
                    number: number as u32,
                    parent: created
                        .then(|| p.get("parent"))
                        .flatten()
                        .map(|v| v.as_str().map(str::to_string)),
                    message: created.then(|| e.text("message").unwrap_or_default().to_string()),
                    author: if created {
                        e.actor.clone()
                    } else {
                        e.text("author").unwrap_or_default().to_string()
                    },
                    created_at: if created {
                        e.at.clone()
                    } else {
                        e.text("created_at").unwrap_or_default().to_string()
                    },
                    includes: created.then(|| p.get("includes").cloned()).flatten(),
                };
                prompt.by_number.insert(v.number, hash.to_string());
                prompt.versions.insert(hash.to_string(), v);
            }
            "version.renumbered" => {
                let (Some(hash), Some(from), Some(to)) =
                    (e.text("hash"), p["from"].as_u64(), p["to"].as_u64())
                else {
                    return;
                };
                if prompt.by_number.get(&(from as u32)).map(String::as_str) == Some(hash) {
                    prompt.by_number.remove(&(from as u32));
                }
                prompt.by_number.insert(to as u32, hash.to_string());
                if let Some(v) = prompt.versions.get_mut(hash) {
                    v.number = to as u32;
                }
            }
            "label.moved" => {
                if let (Some(label), Some(to)) = (e.text("label"), p["to"]["hash"].as_str()) {
                    let reason = e.text("reason").unwrap_or_default().to_string();
                    prompt.move_label(label, to, &e.actor, &e.at, Some(reason));
                }
            }
            "label.imported" => {
                if let (Some(label), Some(to)) = (e.text("label"), e.text("to")) {
                    let by = e.text("by").unwrap_or_default().to_string();
                    let at = e.text("at").unwrap_or_default().to_string();
                    prompt.move_label(label, to, &by, &at, None);
                }
            }
            "label.restored" => {
                let Some(label) = e.text("label") else { return };
                match e.text("to") {
                    Some(to) => {
                        let reason = e.text("reason").unwrap_or_default().to_string();
                        prompt.move_label(label, to, &e.actor, &e.at, Some(reason));
                    }
                    None => {
                        prompt.labels.remove(label);
                    }
                }
            }
            _ => {}
        }
    }

    /// The label move of a release or rollback entry.
    pub(super) fn apply_release_move(&mut self, e: &Entry) {
        let Some(k) = self.key(&e.subject) else {
            return;
        };
        if let (Some(label), Some(to)) = (e.text("label"), e.payload["to"]["hash"].as_str()) {
            let changelog = e.text("changelog").unwrap_or_default().trim().to_string();
            self.list[k].move_label(label, to, &e.actor, &e.at, Some(changelog));
        }
    }

    pub(super) fn compare(&self, conn: &Connection, problems: &mut Vec<String>) -> Result<()> {
        self.compare_prompts(conn, problems)?;
        self.compare_versions(conn, problems)?;
        self.compare_labels(conn, problems)?;
        self.compare_history(conn, problems)
    }

    fn compare_prompts(&self, conn: &Connection, problems: &mut Vec<String>) -> Result<()> {
        let mut seen = BTreeSet::new();
        for r in store::prompts::rows(conn)? {
            let name: String = r.name.clone();
            let place = format!("prompts: {name}");
            let Some(k) = self.key(&name) else {
                problems.push(format!("{place} is not in the ledger"));
                continue;
            };
            seen.insert(k);
            let p = &self.list[k];
            let tags: Value = serde_json::from_str(&r.tags).unwrap_or(Value::Null);
            differs(
                problems,
                &place,
                "kind",
                &r.kind.as_str(),
                &p.kind.as_str().unwrap_or_default(),
            );
            differs(
                problems,
                &place,
                "description",
                &r.description.as_str(),
                &p.description.as_str().unwrap_or_default(),
            );
            differs(problems, &place, "tags", &tags, &p.tags);
            differs(problems, &place, "created_by", &r.created_by, &p.created_by);
            differs(problems, &place, "created_at", &r.created_at, &p.created_at);
        }
        for (k, p) in self.list.iter().enumerate() {
            if !seen.contains(&k) && self.key(&p.name) == Some(k) {
                problems.push(format!(
                    "prompts: {} is in the ledger but not in the table",
                    p.name
                ));
            }
        }
        Ok(())
    }

    fn compare_versions(&self, conn: &Connection, problems: &mut Vec<String>) -> Result<()> {
        // (prompt, hash) of the rows found, and (prompt, number) already reported.
        let mut seen: BTreeSet<(usize, String)> = BTreeSet::new();
        let mut reported: BTreeSet<(usize, u32)> = BTreeSet::new();
        store::versions::for_each_named(conn, |name, r| {
            let number: u32 = r.number;
            let hash: String = r.hash.clone();
            let content: String = r.content.clone();
            let place = format!("versions: {name}@{number}");
            let parsed = if sha256_hex(content.as_bytes()) != hash {
                problems.push(format!("{place}: stored content does not match its hash"));
                None
            } else {
                match serde_json::from_str::<VersionContent>(&content) {
                    Ok(c) if c.canonical_bytes() == content.as_bytes() => Some(c),
                    Ok(_) => {
                        problems.push(format!("{place}: stored content is not in canonical form"));
                        None
                    }
                    Err(e) => {
                        problems.push(format!("{place}: stored content does not parse: {e}"));
                        None
                    }
                }
            };
            let Some(k) = self.key(&name) else {
                problems.push(format!("{place} ({}) is not in the ledger", short(&hash)));
                return Ok(());
            };
            let prompt = &self.list[k];
            let Some(v) = prompt.versions.get(&hash) else {
                match prompt.by_number.get(&number) {
                    Some(recorded) => {
                        reported.insert((k, number));
                        problems.push(format!(
                            "{place} has hash {} but the ledger recorded {} for version {number}",
                            short(&hash),
                            short(recorded)
                        ));
                    }
                    None => {
                        problems.push(format!("{place} ({}) is not in the ledger", short(&hash)))
                    }
                }
                return Ok(());
            };
            seen.insert((k, hash.clone()));
            if v.number != number {
                reported.insert((k, v.number));
                problems.push(format!(
                    "{place} ({}) is version {} in the ledger",
                    short(&hash),
                    v.number
                ));
            }
            if let Some(parent) = &v.parent {
                differs(problems, &place, "parent", &r.parent_hash, parent);
            }
            if let Some(message) = &v.message {
                differs(problems, &place, "message", &r.message, message);
            }
            differs(problems, &place, "author", &r.author, &v.author);
            differs(problems, &place, "created_at", &r.created_at, &v.created_at);
            if let (Some(c), Some(includes)) = (&parsed, &v.includes) {
                let ours = serde_json::to_value(&c.includes).unwrap_or(Value::Null);
                let theirs = if includes.is_null() {
                    Value::Object(Default::default())
                } else {
                    includes.clone()
                };
                if ours != theirs {
                    problems.push(format!(
                        "{place}: its content pins includes {ours} but the ledger recorded {theirs}"
                    ));
                }
            }
            Ok(())
        })?;
        for (k, p) in self.list.iter().enumerate() {
            if self.key(&p.name) != Some(k) {
                continue;
            }
            for (hash, v) in &p.versions {
                if !seen.contains(&(k, hash.clone())) && !reported.contains(&(k, v.number)) {
                    problems.push(format!(
                        "versions: {}@{} ({}) is in the ledger but not in the table",
                        p.name,
                        v.number,
                        short(hash)
                    ));
                }
            }
        }
        Ok(())
    }

    fn compare_labels(&self, conn: &Connection, problems: &mut Vec<String>) -> Result<()> {
        let mut seen: BTreeSet<(usize, String)> = BTreeSet::new();
        for r in store::labels::rows(conn)? {
            let name: String = r.prompt.clone();
            let label: String = r.name.clone();
            let hash: String = r.hash.clone();
            let place = format!("labels: {name}/{label}");
            let key = self.key(&name);
            let Some(k) = key else {
                problems.push(format!(
                    "{place} points at {} but the ledger never moved it",
                    short(&hash)
                ));
                continue;
            };
            seen.insert((k, label.clone()));
            let p = &self.list[k];
            if label == "latest" {
                match p.by_number.last_key_value() {
                    Some((_, newest)) if *newest != hash => problems.push(format!(
                        "{place} points at {} but the newest version in the ledger is {}",
                        self.describe(key, &hash),
                        self.describe(key, newest)
                    )),
                    None => problems.push(format!(
                        "{place} points at {} but the ledger has no versions of {name}",
                        short(&hash)
                    )),
                    _ => {}
                }
                continue;
            }
            match p.labels.get(&label) {
                None => problems.push(format!(
                    "{place} points at {} but the ledger never moved it there (it is not set)",
                    self.describe(key, &hash)
                )),
                Some(l) if l.hash != hash => problems.push(format!(
                    "{place} points at {} but the ledger moved it to {}",
                    self.describe(key, &hash),
                    self.describe(key, &l.hash)
                )),
                Some(l) => {
                    differs(problems, &place, "moved_at", &r.moved_at, &l.at);
                    differs(problems, &place, "moved_by", &r.moved_by, &l.by);
                }
            }
        }
        for (k, p) in self.list.iter().enumerate() {
            if self.key(&p.name) != Some(k) {
                continue;
            }
            let expected = p
                .labels
                .iter()
                .map(|(label, l)| (label.as_str(), l.hash.as_str()))
                .chain(
                    p.by_number
                        .last_key_value()
                        .map(|(_, h)| ("latest", h.as_str())),
                );
            for (label, hash) in expected {
                if !seen.contains(&(k, label.to_string())) {
                    problems.push(format!(
                        "labels: {}/{label} is not set but the ledger moved it to {}",
                        p.name,
                        self.describe(Some(k), hash)
                    ));
                }
            }
        }
        Ok(())
    }

    fn compare_history(&self, conn: &Connection, problems: &mut Vec<String>) -> Result<()> {
        type Row = (i64, Option<String>, String, String, String, String);
        let mut found: BTreeMap<(String, String), Vec<Row>> = BTreeMap::new();
        for r in store::labels::history_rows(conn)? {
            found.entry((r.prompt, r.label)).or_default().push((
                r.id,
                r.from_hash,
                r.to_hash,
                r.actor,
                r.at,
                r.reason,
            ));
        }
        let empty = Vec::new();
        let mut keys: BTreeSet<(String, String)> = found.keys().cloned().collect();
        for p in &self.list {
            for label in p.history.keys() {
                keys.insert((p.name.clone(), label.clone()));
            }
        }
        for (name, label) in keys {
            let key = self.key(&name);
            let ledger = key
                .and_then(|k| self.list[k].history.get(&label))
                .unwrap_or(&empty);
            let rows = found
                .get(&(name.clone(), label.clone()))
                .unwrap_or(&Vec::new())
                .clone();
            for i in 0..ledger.len().max(rows.len()) {
                match (rows.get(i), ledger.get(i)) {
                    (Some((id, from, to, actor, at, reason)), Some(m)) => {
                        let place = format!("label_history: {name}/{label} row #{id}");
                        if *to != m.to || *from != m.from {
                            problems.push(format!(
                                "{place} moves it from {} to {} but the ledger's move {} there is from {} to {}",
                                from.as_deref().map_or("nowhere".into(), |h| self.describe(key, h)),
                                self.describe(key, to),
                                i + 1,
                                m.from.as_deref().map_or("nowhere".into(), |h| self.describe(key, h)),
                                self.describe(key, &m.to)
                            ));
                        }
                        differs(problems, &place, "actor", actor, &m.actor);
                        differs(problems, &place, "at", at, &m.at);
                        if let Some(why) = &m.reason {
                            differs(problems, &place, "reason", reason, why);
                        }
                    }
                    (Some((id, _, to, actor, at, _)), None) => problems.push(format!(
                        "label_history: {name}/{label} row #{id} (to {} by {actor} at {at}) is not in the ledger",
                        self.describe(key, to)
                    )),
                    (None, Some(m)) => problems.push(format!(
                        "label_history: {name}/{label}: the ledger's move to {} by {} at {} has no row (reason {})",
                        self.describe(key, &m.to),
                        m.actor,
                        m.at,
                        shown(m.reason.as_deref())
                    )),
                    (None, None) => {}
                }
            }
        }
        Ok(())
    }
}

impl PromptState {
    /// A label move as `labels::set` makes it; a move to where the label already points
    /// writes nothing (a pull that finds the label already there leaves it alone). `latest`
    /// is derived from the versions instead.
    fn move_label(&mut self, label: &str, to: &str, actor: &str, at: &str, reason: Option<String>) {
        if label == "latest" {
            return;
        }
        let from = self.labels.get(label).map(|l| l.hash.clone());
        if from.as_deref() == Some(to) {
            return;
        }
        self.history
            .entry(label.to_string())
            .or_default()
            .push(Move {
                from,
                to: to.to_string(),
                actor: actor.to_string(),
                at: at.to_string(),
                reason,
            });
        self.labels.insert(
            label.to_string(),
            LabelState {
                hash: to.to_string(),
                at: at.to_string(),
                by: actor.to_string(),
            },
        );
    }
}
