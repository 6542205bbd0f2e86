//! The registry: the operations people perform (create a prompt, save a draft, commit a
//! version, move a label, render, verify), each one transaction that also writes its ledger
//! event. Nothing here knows about the CLI or the UI.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use promptdesk_content::{
    sha256_hex, validate_label_name, validate_prompt_name, validate_role, validate_variable_name,
    Body, PromptKind, VersionContent,
};
use promptdesk_template::{analysis, inputs, Limits, RenderRequest, SchemaReport, TemplateError};
use rusqlite::Connection;
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

use crate::db;
use crate::error::{Error, Result};
use crate::includes;
use crate::model::*;
use crate::refs::Ref;
use crate::store::{drafts, labels, ledger, prompts, samples, search, settings, versions};

/// Produces timestamps (RFC 3339, UTC). Injected so tests are deterministic.
pub type Clock = Box<dyn Fn() -> String + Send>;
/// Produces globally unique ids for ledger events.
pub type IdSource = Box<dyn FnMut() -> String + Send>;

/// The system clock, in RFC 3339 UTC with milliseconds.
pub fn system_clock() -> Clock {
    Box::new(|| {
        let now = time::OffsetDateTime::now_utc();
        let fmt = time::macros::format_description!(
            "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z"
        );
        now.format(&fmt)
            .unwrap_or_else(|_| now.unix_timestamp().to_string())
    })
}

fn random_ids() -> IdSource {
    Box::new(|| uuid::Uuid::new_v4().to_string())
}

/// Who is acting, as configured in the registry.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ts_rs::TS)]
pub struct Identity {
    pub name: String,
    pub email: String,
}

/// Fields of a new prompt besides its name and kind.
#[derive(Debug, Clone, Default)]
pub struct NewPrompt {
    pub description: String,
    pub tags: Vec<String>,
    /// The first draft; an empty one when `None`.
    pub draft: Option<DraftContent>,
    pub samples: Samples,
}

/// What a writer should know about a draft while editing it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ts_rs::TS)]
pub struct DraftAnalysis {
    /// Syntax errors, unknown includes and include cycles, each with its location.
    pub errors: Vec<TemplateError>,
    /// Variables used but not declared, and declared but not used.
    pub schema: SchemaReport,
    /// The includes the draft would pin if committed now: include as written → version.
    pub includes: BTreeMap<String, u32>,
}

/// The outcome of [`Registry::verify`].
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ts_rs::TS)]
pub struct VerifyReport {
    pub versions: u64,
    pub ledger_entries: u64,
    pub problems: Vec<String>,
}

/// What to render: a prompt's saved draft, content being edited (not saved yet), or a version.
pub enum RenderTarget<'a> {
    Draft(&'a str),
    Content {
        name: &'a str,
        content: &'a DraftContent,
    },
    Version(&'a Version),
}

pub struct Registry {
    conn: Connection,
    path: PathBuf,
    actor: String,
    clock: Clock,
    ids: IdSource,
    /// True while [`Registry::batch`] holds the transaction that every write joins.
    in_batch: bool,
    /// Signs approvals and releases for the acting person (see [`crate::signing`]).
    pub(crate) signer: Option<Box<dyn crate::signing::Sign>>,
}

impl Registry {
    /// Creates a registry at `path`, or opens the one already there. Returns whether it was new.
    pub fn init(path: &Path) -> Result<(Registry, bool)> {
        let existed = path.exists();
        let conn = db::open(path, true)?;
        let mut reg = Registry::from_conn(conn, path);
        let fresh = !existed || ledger::list(&reg.conn, None, 0, 1)?.is_empty();
        if fresh
            && prompts::count(&reg.conn)? == 0
            && ledger::list(&reg.conn, None, 0, 1)?.is_empty()
        {
            reg.write(|tx, ctx| {
                ctx.event(
                    tx,
                    "registry.created",
                    "registry",
                    json!({ "schema": db::SCHEMA_VERSION }),
                )
            })?;
        }
        Ok((reg, !existed))
    }

    /// Opens an existing registry.
    pub fn open(path: &Path) -> Result<Registry> {
        let conn = db::open(path, false)?;
        Ok(Registry::from_conn(conn, path))
    }

    fn from_conn(conn: Connection, path: &Path) -> Registry {
        Registry {
            conn,
            path: path.to_path_buf(),
            actor: "unknown".into(),
            clock: system_clock(),
            ids: random_ids(),
            in_batch: false,
            signer: None,
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The person recorded as author of what this handle writes.
    pub fn actor(&self) -> &str {
        &self.actor
    }

    pub fn set_actor(&mut self, actor: impl Into<String>) {
        self.actor = actor.into();
    }

    pub fn set_clock(&mut self, clock: Clock) {
        self.clock = clock;
    }

    /// The current time from the registry's clock (RFC 3339 UTC).
    pub(crate) fn now(&self) -> String {
        (self.clock)()
    }

    /// The key that signs the acting person's approvals and releases.
    pub fn set_signer(&mut self, signer: Box<dyn crate::signing::Sign>) {
        self.signer = Some(signer);
    }

    /// Removes and returns the signer (to act as someone else for a while, as the demo does).
    pub fn take_signer(&mut self) -> Option<Box<dyn crate::signing::Sign>> {
        self.signer.take()
    }

    pub fn set_id_source(&mut self, ids: IdSource) {
        self.ids = ids;
    }

    /// Direct read access for benchmarks and diagnostics.
    pub fn connection(&self) -> &Connection {
        &self.conn
    }

    pub(crate) fn write<T>(
        &mut self,
        f: impl FnOnce(&Connection, &mut WriteContext<'_>) -> Result<T>,
    ) -> Result<T> {
        let at = (self.clock)();
        let mut ctx = WriteContext {
            at,
            actor: &self.actor,
            ids: &mut self.ids,
        };
        if self.in_batch {
            // Inside `batch`: a savepoint, so this step is undone alone if it fails and the
            // whole batch is undone if the batch fails.
            let sp = self.conn.savepoint()?;
            let out = f(&sp, &mut ctx)?;
            sp.commit()?;
            Ok(out)
        } else {
            db::write(&mut self.conn, |tx| f(tx, &mut ctx))
        }
    }

    /// Runs several operations as one transaction: all of them are kept, or none (a failed
    /// import or a file with a bad sample name leaves the registry exactly as it was).
    pub fn batch<T>(&mut self, f: impl FnOnce(&mut Registry) -> Result<T>) -> Result<T> {
        if self.in_batch {
            return f(self);
        }
        self.conn.execute_batch("BEGIN IMMEDIATE")?;
        self.in_batch = true;
        let out = f(self);
        self.in_batch = false;
        match out {
            Ok(v) => {
                self.conn.execute_batch("COMMIT")?;
                Ok(v)
            }
            Err(e) => {
                let _ = self.conn.execute_batch("ROLLBACK");
                Err(e)
            }
        }
    }

    // ---- identity -------------------------------------------------------------------------

    pub fn identity(&self) -> Result<Option<Identity>> {
        let name = settings::get(&self.conn, "identity.name")?;
        let email = settings::get(&self.conn, "identity.email")?;
        Ok(name.map(|name| Identity {
            name,
            email: email.unwrap_or_default(),
        }))
    }

    pub fn set_identity(&mut self, identity: &Identity) -> Result<()> {
        let name = identity.name.trim();
        if name.is_empty() || name.len() > 100 || name.chars().any(char::is_control) {
            return Err(Error::bad(
                "a name is required (at most 100 characters, no control characters)",
            ));
        }
        let email = identity.email.trim();
        if !email.is_empty() && (!email.contains('@') || email.chars().any(char::is_whitespace)) {
            return Err(Error::bad(format!("'{email}' is not an email address")));
        }
        self.write(|tx, ctx| {
            settings::set(tx, "identity.name", name)?;
            settings::set(tx, "identity.email", email)?;
            ctx.event(
                tx,
                "identity.set",
                "registry",
                json!({ "name": name, "email": email }),
            )
        })
    }

    // ---- prompts --------------------------------------------------------------------------

    pub fn create_prompt(
        &mut self,
        name: &str,
        kind: PromptKind,
        new: NewPrompt,
    ) -> Result<Prompt> {
        validate_prompt_name(name)?;
        let tags = normalise_tags(&new.tags)?;
        let draft = new.draft.unwrap_or_else(|| DraftContent::empty(kind));
        if draft.body.kind() != kind {
            return Err(Error::bad(format!(
                "'{name}' is a {kind} prompt but its content is {}",
                draft.body.kind()
            )));
        }
        check_draft_shape(&draft)?;
        for (sample, inputs) in &new.samples {
            check_sample_name(sample)?;
            let _ = inputs;
        }
        self.write(|tx, ctx| {
            let prompt =
                prompts::insert(tx, name, kind, &new.description, &tags, &ctx.at, ctx.actor)?;
            drafts::put(tx, prompt.id, &draft, None, true, &ctx.at, ctx.actor)?;
            for (sample, inputs) in &new.samples {
                samples::put(tx, prompt.id, sample, inputs, &ctx.at)?;
            }
            search::index(
                tx,
                prompt.id,
                name,
                &new.description,
                &body_text(&draft.body),
            )?;
            ctx.event(
                tx,
                "prompt.created",
                name,
                json!({ "kind": kind, "description": new.description, "tags": tags }),
            )?;
            Ok(prompt)
        })
    }

    pub fn prompt(&self, name: &str) -> Result<Prompt> {
        prompts::get(&self.conn, name)
    }

    pub fn update_prompt(
        &mut self,
        name: &str,
        description: &str,
        tags: &[String],
    ) -> Result<Prompt> {
        let tags = normalise_tags(tags)?;
        self.write(|tx, ctx| {
            let p = prompts::get(tx, name)?;
            prompts::update_meta(tx, p.id, description, &tags)?;
            let body = current_text(tx, p.id)?;
            search::index(tx, p.id, name, description, &body)?;
            ctx.event(
                tx,
                "prompt.updated",
                name,
                json!({ "description": description, "tags": tags }),
            )?;
            prompts::get(tx, name)
        })
    }

    /// Gives a prompt a new name (which may move it to another folder). Refused while another
    /// prompt's versions or drafts include it by name: their pinned includes are looked up by
    /// the name as written, so renaming would break what they render.
    pub fn rename_prompt(&mut self, name: &str, new_name: &str) -> Result<Prompt> {
        validate_prompt_name(new_name)?;
        if name == new_name {
            return prompts::get(&self.conn, name);
        }
        let includers = self.included_by(name)?;
        if !includers.is_empty() {
            return Err(Error::Conflict(format!(
                "'{name}' cannot be renamed while {} include it: {}",
                if includers.len() == 1 {
                    "another prompt"
                } else {
                    "other prompts"
                },
                includers.join(", ")
            )));
        }
        if crate::store::sync_events::prompt_on_server(&self.conn, name)? {
            return Err(Error::Conflict(format!(
                "'{name}' is on the team's server under this name, and renaming a synced prompt \
                 is not supported yet: make a new prompt instead"
            )));
        }
        self.write(|tx, ctx| {
            let p = prompts::get(tx, name)?;
            prompts::rename(tx, p.id, new_name)?;
            let body = current_text(tx, p.id)?;
            search::index(tx, p.id, new_name, &p.description, &body)?;
            ctx.event(
                tx,
                "prompt.renamed",
                new_name,
                json!({ "from": name, "to": new_name }),
            )?;
            prompts::get(tx, new_name)
        })
    }

    /// The other prompts whose versions or current drafts include `name` (by name, any ref):
    /// the blast radius of changing it.
    pub fn included_by(&self, name: &str) -> Result<Vec<String>> {
        let p = prompts::get(&self.conn, name)?;
        let mut found = std::collections::BTreeSet::new();
        found.extend(versions::prompts_including(&self.conn, p.id, name)?);
        // Drafts are work in progress: look at what their templates include right now.
        for (other, content) in drafts::mentioning(&self.conn, p.id, name)? {
            let Ok(content) = serde_json::from_str::<DraftContent>(&content) else {
                continue;
            };
            let includes_it = content.body.templates().iter().any(|(_, source)| {
                analysis::include_references(&other, source).is_ok_and(|refs| {
                    refs.iter().any(|r| {
                        r == name
                            || r.strip_prefix(name)
                                .is_some_and(|rest| rest.starts_with('@'))
                    })
                })
            });
            if includes_it {
                found.insert(other);
            }
        }
        Ok(found.into_iter().collect())
    }

    /// How many versions a prompt has.
    pub fn version_count(&self, name: &str) -> Result<u32> {
        let p = prompts::get(&self.conn, name)?;
        Ok(versions::latest_number(&self.conn, p.id)?.unwrap_or(0))
    }

    /// Prompts in a folder (all when `None`), with their latest version and labels.
    pub fn list(&self, folder: Option<&str>) -> Result<Vec<PromptListing>> {
        if let Some(f) = folder {
            let f = f.trim_end_matches('/');
            if !f.is_empty() {
                validate_prompt_name(f)
                    .map_err(|e| Error::bad(e.to_string().replace("prompt name", "folder")))?;
            }
        }
        prompts::listings(&self.conn, folder)
    }

    /// Prompts whose name, description or current text contains `query`, best match first.
    pub fn search(&self, query: &str, limit: usize) -> Result<Vec<PromptListing>> {
        let ids = search::query(&self.conn, query, limit)?;
        let mut found = prompts::listings_by_id(&self.conn, &ids)?;
        found.sort_by_key(|(id, _)| ids.iter().position(|i| i == id));
        Ok(found.into_iter().map(|(_, listing)| listing).collect())
    }

    // ---- drafts ---------------------------------------------------------------------------

    /// The prompt's working copy (its latest version's content if it was never edited).
    pub fn draft(&self, name: &str) -> Result<Draft> {
        let p = prompts::get(&self.conn, name)?;
        if let Some(d) = drafts::get(&self.conn, p.id)? {
            return Ok(d);
        }
        let latest = versions::latest(&self.conn, p.id)?;
        Ok(match latest {
            Some(v) => {
                let v = v.parse(name)?;
                Draft {
                    content: DraftContent::from_version(&v.content),
                    base_hash: Some(v.hash),
                    updated_at: v.created_at,
                    updated_by: v.author,
                }
            }
            None => Draft {
                content: DraftContent::empty(p.kind),
                base_hash: None,
                updated_at: p.created_at,
                updated_by: p.created_by,
            },
        })
    }

    /// Replaces the draft. Broken templates are allowed (a draft is work in progress); a
    /// content of the wrong kind, a bad role or variable name is not.
    pub fn save_draft(&mut self, name: &str, content: DraftContent) -> Result<Draft> {
        check_draft_shape(&content)?;
        self.write(|tx, ctx| {
            let p = prompts::get(tx, name)?;
            if content.body.kind() != p.kind {
                return Err(Error::bad(format!(
                    "'{name}' is a {} prompt; its draft cannot be {} content",
                    p.kind,
                    content.body.kind()
                )));
            }
            let latest = versions::latest(tx, p.id)?
                .map(|v| v.parse(name))
                .transpose()?;
            let changed = latest
                .as_ref()
                .is_none_or(|v| DraftContent::from_version(&v.content) != content);
            let base = drafts::get(tx, p.id)?
                .and_then(|d| d.base_hash)
                .or_else(|| latest.as_ref().map(|v| v.hash.clone()));
            drafts::put(
                tx,
                p.id,
                &content,
                base.as_deref(),
                changed,
                &ctx.at,
                ctx.actor,
            )?;
            if latest.is_none() {
                search::index(tx, p.id, name, &p.description, &body_text(&content.body))?;
            }
            Ok(Draft {
                content: content.clone(),
                base_hash: base,
                updated_at: ctx.at.clone(),
                updated_by: ctx.actor.to_string(),
            })
        })
    }

    /// The draft as the version it would become if committed now, includes pinned (for
    /// diffing against versions). Includes that do not resolve yet are left unpinned.
    pub fn draft_as_version_content(&self, name: &str) -> Result<VersionContent> {
        let draft = self.draft(name)?.content;
        let includes = match includes::resolve_for_draft(&self.conn, name, &draft.body) {
            Ok(resolved) => resolved
                .into_iter()
                .map(|(k, v)| (k, v.version.hash))
                .collect(),
            Err(Error::Template(_)) => BTreeMap::new(),
            Err(e) => return Err(e),
        };
        Ok(VersionContent {
            body: draft.body,
            variables: draft.variables,
            model: draft.model,
            includes,
        })
    }

    /// Syntax, includes and schema warnings for the current draft.
    pub fn analyse_draft(&self, name: &str) -> Result<DraftAnalysis> {
        let draft = self.draft(name)?;
        self.analyse(name, &draft.content)
    }

    /// Syntax, includes and schema warnings for some draft content of prompt `name`.
    pub fn analyse(&self, name: &str, content: &DraftContent) -> Result<DraftAnalysis> {
        let mut out = DraftAnalysis::default();
        let mut used = std::collections::BTreeSet::new();
        for (place, source) in content.body.templates() {
            let location = template_location(name, &content.body, &place);
            match analysis::referenced_variables(&location, source) {
                Ok(vars) => used.extend(vars),
                Err(e) => out.errors.push(e),
            }
        }
        if out.errors.is_empty() {
            match includes::resolve_for_draft(&self.conn, name, &content.body) {
                Ok(resolved) => {
                    for inc in resolved.values() {
                        used.extend(inc.variables.iter().cloned());
                    }
                    out.includes = resolved
                        .into_iter()
                        .map(|(k, v)| (k, v.version.number))
                        .collect();
                }
                Err(Error::Template(e)) => out.errors.push(e),
                Err(e) => return Err(e),
            }
        }
        out.schema = analysis::compare_with_schema(&used, &content.variables);
        if !out.errors.is_empty() {
            // A template that does not parse hides which variables it reads: calling them
            // unused would be a false alarm while someone is halfway through typing a tag.
            out.schema.unused.clear();
        }
        Ok(out)
    }

    // ---- versions -------------------------------------------------------------------------

    /// Turns the draft into a new immutable version, pins its includes, moves `latest`.
    pub fn commit(&mut self, name: &str, message: &str) -> Result<Version> {
        let message = message.trim();
        if message.is_empty() {
            return Err(Error::bad(
                "a changelog message is required: say what changed and why (-m \"…\")",
            ));
        }
        self.write(|tx, ctx| {
            let p = prompts::get(tx, name)?;
            let draft = match drafts::get(tx, p.id)? {
                Some(d) => d.content,
                None => {
                    return Err(Error::Conflict(format!(
                        "nothing to commit: '{name}' has no draft changes"
                    )))
                }
            };
            for (place, source) in draft.body.templates() {
                analysis::check_syntax(&template_location(name, &draft.body, &place), source)?;
            }
            if let Body::Chat { messages } = &draft.body {
                if messages.is_empty() {
                    return Err(Error::bad(format!(
                        "'{name}' has no messages yet: add at least one before committing"
                    )));
                }
            }
            let resolved = includes::resolve_for_draft(tx, name, &draft.body)?;
            let content = VersionContent {
                body: draft.body.clone(),
                variables: draft.variables.clone(),
                model: draft.model.clone(),
                includes: resolved
                    .into_iter()
                    .map(|(k, v)| (k, v.version.hash))
                    .collect(),
            };
            let bytes = content.canonical_bytes();
            let hash = sha256_hex(&bytes);
            let latest = versions::latest(tx, p.id)?;
            if let Some(existing) = versions::by_hash(tx, p.id, &hash)? {
                let what = if latest.as_ref().is_some_and(|l| l.hash == hash) {
                    "nothing to commit: the draft is the same as the latest version".to_string()
                } else {
                    "nothing to commit: this content already exists".to_string()
                };
                return Err(Error::Conflict(format!(
                    "{what}, {name}@{} (#{}); label that version instead",
                    existing.number,
                    &hash[..12]
                )));
            }
            let number = latest.as_ref().map_or(1, |l| l.number + 1);
            let stored = versions::StoredVersion {
                prompt_id: p.id,
                number,
                hash: hash.clone(),
                parent_hash: latest.as_ref().map(|l| l.hash.clone()),
                content: String::from_utf8(bytes).expect("canonical JSON is UTF-8"),
                author: ctx.actor.to_string(),
                message: message.to_string(),
                created_at: ctx.at.clone(),
            };
            versions::insert(tx, &stored)?;
            let previous = labels::get(tx, p.id, "latest")?;
            labels::set(
                tx,
                p.id,
                "latest",
                previous.as_ref().map(|l| l.hash.as_str()),
                &hash,
                ctx.actor,
                &ctx.at,
                "new version",
            )?;
            drafts::put(tx, p.id, &draft, Some(&hash), false, &ctx.at, ctx.actor)?;
            search::index(tx, p.id, name, &p.description, &body_text(&content.body))?;
            ctx.event(
                tx,
                "version.created",
                name,
                json!({
                    "number": number, "hash": hash, "parent": stored.parent_hash,
                    "message": message, "includes": content.includes,
                }),
            )?;
            stored.parse(name)
        })
    }

    /// The version a ref points to (`None` means latest). `Ref::Draft` is refused here: a
    /// draft is not a version.
    pub fn resolve(&self, name: &str, reference: Option<&Ref>) -> Result<Version> {
        resolve_version(&self.conn, name, reference)
    }

    /// A page of history, newest first.
    pub fn history(
        &self,
        name: &str,
        before: Option<u32>,
        limit: usize,
    ) -> Result<Vec<VersionSummary>> {
        let p = prompts::get(&self.conn, name)?;
        versions::history(&self.conn, p.id, before, limit)
    }

    // ---- labels ---------------------------------------------------------------------------

    /// Points `label` at the version `reference` resolves to, recording who, when and why.
    pub fn set_label(
        &mut self,
        name: &str,
        reference: Option<&Ref>,
        label: &str,
        reason: &str,
    ) -> Result<LabelMove> {
        crate::release::check_label(label)?;
        self.write(|tx, ctx| {
            let policy = crate::release::policy_of(tx, label)?;
            if policy.is_protected() {
                return Err(Error::Refused(format!(
                    "{label} is protected by a release policy; promote with \
                     `promptdesk release {name}@REF --label {label} -m CHANGELOG` \
                     (or roll back with `promptdesk rollback`)"
                )));
            }
            let role = crate::release::role_of(tx, ctx.actor)?;
            crate::policy::check_action(ctx.actor, role, crate::policy::Action::CommitVersion)
                .map_err(Error::Refused)?;
            let p = prompts::get(tx, name)?;
            let target = resolve_version(tx, name, reference)?;
            let current = labels::get(tx, p.id, label)?;
            if current.as_ref().is_some_and(|c| c.hash == target.hash) {
                return Err(Error::Conflict(format!(
                    "{label} already points at {name}@{}",
                    target.number
                )));
            }
            labels::set(
                tx,
                p.id,
                label,
                current.as_ref().map(|c| c.hash.as_str()),
                &target.hash,
                ctx.actor,
                &ctx.at,
                reason,
            )?;
            ctx.event(
                tx,
                "label.moved",
                name,
                json!({
                    "label": label,
                    "from": current.as_ref().map(|c| json!({"number": c.number, "hash": c.hash})),
                    "to": {"number": target.number, "hash": target.hash},
                    "reason": reason,
                }),
            )?;
            Ok(LabelMove {
                label: label.to_string(),
                from_number: current.as_ref().map(|c| c.number),
                from_hash: current.map(|c| c.hash),
                to_number: target.number,
                to_hash: target.hash,
                actor: ctx.actor.to_string(),
                at: ctx.at.clone(),
                reason: reason.to_string(),
            })
        })
    }

    pub fn labels(&self, name: &str) -> Result<Vec<Label>> {
        let p = prompts::get(&self.conn, name)?;
        labels::list(&self.conn, p.id)
    }

    pub fn label_history(&self, name: &str, label: Option<&str>) -> Result<Vec<LabelMove>> {
        let p = prompts::get(&self.conn, name)?;
        labels::history(&self.conn, p.id, label)
    }

    // ---- samples --------------------------------------------------------------------------

    pub fn samples(&self, name: &str) -> Result<Samples> {
        let p = prompts::get(&self.conn, name)?;
        samples::list(&self.conn, p.id)
    }

    pub fn save_sample(
        &mut self,
        name: &str,
        sample: &str,
        inputs: &Map<String, Value>,
    ) -> Result<()> {
        check_sample_name(sample)?;
        self.write(|tx, ctx| {
            let p = prompts::get(tx, name)?;
            samples::put(tx, p.id, sample, inputs, &ctx.at)?;
            ctx.event(
                tx,
                "sample.saved",
                name,
                json!({ "sample": sample, "inputs": inputs }),
            )
        })
    }

    pub fn delete_sample(&mut self, name: &str, sample: &str) -> Result<()> {
        self.write(|tx, ctx| {
            let p = prompts::get(tx, name)?;
            if !samples::delete(tx, p.id, sample)? {
                return Err(Error::NotFound(format!(
                    "'{name}' has no sample input named '{sample}'"
                )));
            }
            ctx.event(tx, "sample.deleted", name, json!({ "sample": sample }))
        })
    }

    // ---- rendering ------------------------------------------------------------------------

    /// Everything the render worker needs for `target` with `vars`: the templates, every
    /// include resolved (pinned ones for a version), and the inputs checked against the
    /// schema with defaults filled in.
    pub fn render_request(
        &self,
        target: RenderTarget<'_>,
        vars: &Map<String, Value>,
    ) -> Result<RenderRequest> {
        let (name, body, variables, resolved) = match target {
            RenderTarget::Draft(name) => {
                let draft = self.draft(name)?;
                let resolved = includes::resolve_for_draft(&self.conn, name, &draft.content.body)?;
                (
                    name.to_string(),
                    draft.content.body,
                    draft.content.variables,
                    resolved,
                )
            }
            RenderTarget::Content { name, content } => {
                prompts::get(&self.conn, name)?;
                check_draft_shape(content)?;
                let resolved = includes::resolve_for_draft(&self.conn, name, &content.body)?;
                (
                    name.to_string(),
                    content.body.clone(),
                    content.variables.clone(),
                    resolved,
                )
            }
            RenderTarget::Version(v) => {
                let resolved = includes::resolve_pinned(&self.conn, &v.prompt, &v.content)?;
                (
                    v.prompt.clone(),
                    v.content.body.clone(),
                    v.content.variables.clone(),
                    resolved,
                )
            }
        };
        let vars = inputs::validate_inputs(&variables, vars).map_err(|mut e| {
            if e.location.is_none() {
                e.message = format!("{name}: {}", e.message);
            }
            e
        })?;
        Ok(RenderRequest {
            name,
            body,
            includes: resolved.into_iter().map(|(k, v)| (k, v.source)).collect(),
            vars,
            limits: Limits::default(),
        })
    }

    // ---- ledger and verification ----------------------------------------------------------

    pub fn ledger(
        &self,
        subject: Option<&str>,
        after_seq: i64,
        limit: usize,
    ) -> Result<Vec<LedgerEntry>> {
        ledger::list(&self.conn, subject, after_seq, limit)
    }

    /// Checks the registry against its ledger: walks the hash chain, replays the ledger to
    /// rebuild every table it describes and reports each row that differs (by table and key),
    /// judges every release made here again under the policy in force at that moment, checks
    /// every signature, and runs SQLite's integrity check. Problems are collected, not fatal.
    /// What the replay proves and what it cannot is in [`crate::verify`].
    pub fn verify(&self) -> Result<VerifyReport> {
        let mut report = VerifyReport {
            versions: versions::count(&self.conn)?,
            ..VerifyReport::default()
        };
        match ledger::verify_chain(&self.conn) {
            Ok(n) => report.ledger_entries = n,
            Err(Error::Integrity(msg)) => report.problems.push(format!("ledger: {msg}")),
            Err(e) => return Err(e),
        }
        let replayed = crate::verify::replay(&self.conn)?;
        report.problems.extend(replayed.problems);
        // The chain is unkeyed: a rewrite of the whole ledger is only seen by comparing with
        // what is kept elsewhere. The team server's summary of this registry's exchanges, kept
        // at each sync, catches pulled events (or their ledger entries) cut from the file.
        report.problems.extend(self.sync_witness_problems()?);
        report.problems.extend(
            crate::release::verify_signatures(&self.conn)?
                .into_iter()
                .map(|p| format!("signatures: {p}")),
        );
        let integrity = db::integrity_check(&self.conn)?;
        if integrity != "ok" {
            report
                .problems
                .push(format!("SQLite integrity check: {integrity}"));
        }
        Ok(report)
    }

    // ---- import support -------------------------------------------------------------------

    /// Inserts a version exactly as exported (number, author, time, message), checking that
    /// its content still hashes to the recorded hash. Used by import only.
    pub(crate) fn import_version(&mut self, prompt: &str, v: &Version) -> Result<()> {
        let bytes = v.content.canonical_bytes();
        let hash = sha256_hex(&bytes);
        if hash != v.hash {
            return Err(Error::bad(format!(
                "{prompt}@{}: the content does not match its recorded hash (was the file edited by hand? \
                 computed #{}, recorded #{})",
                v.number,
                &hash[..12],
                &v.hash.get(..12).unwrap_or(&v.hash)
            )));
        }
        self.write(|tx, ctx| {
            let p = prompts::get(tx, prompt)?;
            let expected = versions::latest_number(tx, p.id)?.unwrap_or(0) + 1;
            if v.number != expected {
                return Err(Error::bad(format!(
                    "{prompt}: version {} follows version {} (versions must be numbered without gaps)",
                    v.number,
                    expected - 1
                )));
            }
            versions::insert(
                tx,
                &versions::StoredVersion {
                    prompt_id: p.id,
                    number: v.number,
                    hash: hash.clone(),
                    parent_hash: v.parent_hash.clone(),
                    content: String::from_utf8(bytes).expect("canonical JSON is UTF-8"),
                    author: v.author.clone(),
                    message: v.message.clone(),
                    created_at: v.created_at.clone(),
                },
            )?;
            drafts::put(
                tx,
                p.id,
                &DraftContent::from_version(&v.content),
                Some(&hash),
                false,
                &ctx.at,
                ctx.actor,
            )?;
            search::index(tx, p.id, prompt, &p.description, &body_text(&v.content.body))?;
            ctx.event(
                tx,
                "version.imported",
                prompt,
                json!({ "number": v.number, "hash": hash, "author": v.author, "created_at": v.created_at }),
            )?;
            Ok(())
        })
    }

    /// Replays one recorded label move exactly as exported. Used by import only.
    pub(crate) fn import_label_move(&mut self, prompt: &str, m: &LabelMove) -> Result<()> {
        validate_label_name(&m.label)?;
        self.write(|tx, ctx| {
            let p = prompts::get(tx, prompt)?;
            if versions::by_hash(tx, p.id, &m.to_hash)?.is_none() {
                return Err(Error::bad(format!(
                    "{prompt}: label '{}' moves to a version that is not in the export (#{})",
                    m.label,
                    m.to_hash.get(..12).unwrap_or(&m.to_hash)
                )));
            }
            labels::set(
                tx,
                p.id,
                &m.label,
                m.from_hash.as_deref(),
                &m.to_hash,
                &m.actor,
                &m.at,
                &m.reason,
            )?;
            ctx.event(
                tx,
                "label.imported",
                prompt,
                json!({ "label": m.label, "to": m.to_hash, "by": m.actor, "at": m.at }),
            )?;
            Ok(())
        })
    }
}

/// Passed to write closures: the time of the write, the actor, and ledger event recording.
pub(crate) struct WriteContext<'a> {
    pub at: String,
    pub actor: &'a str,
    ids: &'a mut IdSource,
}

impl WriteContext<'_> {
    /// A fresh globally unique id (for reviews, review events and releases).
    pub fn new_id(&mut self) -> String {
        (self.ids)()
    }

    pub fn event(
        &mut self,
        tx: &Connection,
        kind: &str,
        subject: &str,
        payload: Value,
    ) -> Result<()> {
        let id = (self.ids)();
        ledger::append(tx, &id, &self.at, self.actor, kind, subject, payload)?;
        Ok(())
    }
}

pub(crate) fn resolve_version(
    conn: &Connection,
    name: &str,
    reference: Option<&Ref>,
) -> Result<Version> {
    let p = prompts::get(conn, name)?;
    let no_versions = || {
        Error::NotFound(format!(
            "'{name}' has no versions yet: commit its draft first (`promptdesk commit {name} -m …`)"
        ))
    };
    let stored = match reference {
        None => versions::latest(conn, p.id)?.ok_or_else(no_versions)?,
        Some(Ref::Draft) => {
            return Err(Error::bad(format!(
                "{name}@draft is the working copy, not a version; use a version number, a label or a hash"
            )))
        }
        Some(Ref::Number(n)) => versions::by_number(conn, p.id, *n)?.ok_or_else(|| {
            let latest = versions::latest_number(conn, p.id).ok().flatten();
            Error::NotFound(match latest {
                Some(l) => format!("'{name}' has no version {n} (its versions are 1 to {l})"),
                None => format!("'{name}' has no versions yet"),
            })
        })?,
        Some(Ref::Label(label)) => {
            let l = labels::get(conn, p.id, label)?.ok_or_else(|| {
                let known = labels::list(conn, p.id)
                    .map(|ls| ls.into_iter().map(|l| l.name).collect::<Vec<_>>().join(", "))
                    .unwrap_or_default();
                Error::NotFound(if known.is_empty() {
                    format!("'{name}' has no label '{label}' (it has no labels yet)")
                } else {
                    format!("'{name}' has no label '{label}' (its labels: {known})")
                })
            })?;
            versions::by_hash(conn, p.id, &l.hash)?.ok_or_else(no_versions)?
        }
        Some(Ref::HashPrefix(prefix)) => {
            let found = versions::hashes_with_prefix(conn, p.id, prefix, 5)?;
            match found.as_slice() {
                [] => {
                    return Err(Error::NotFound(format!(
                        "'{name}' has no version whose hash starts with {prefix}"
                    )))
                }
                [(n, _)] => versions::by_number(conn, p.id, *n)?.ok_or_else(no_versions)?,
                many => {
                    return Err(Error::bad(format!(
                        "#{prefix} is ambiguous in '{name}': it matches versions {}; give more digits",
                        many.iter().map(|(n, _)| n.to_string()).collect::<Vec<_>>().join(", ")
                    )))
                }
            }
        }
    };
    stored.parse(name)
}

/// The name used in error locations for one template of a body.
pub(crate) fn template_location(name: &str, body: &Body, place: &str) -> String {
    match body {
        Body::Text { .. } => name.to_string(),
        Body::Chat { .. } => format!("{name}, {place}"),
    }
}

/// The searchable text of a body.
pub(crate) fn body_text(body: &Body) -> String {
    match body {
        Body::Text { template } => template.clone(),
        Body::Chat { messages } => messages
            .iter()
            .map(|m| m.template.as_str())
            .collect::<Vec<_>>()
            .join("\n"),
    }
}

fn current_text(conn: &Connection, prompt_id: i64) -> Result<String> {
    if let Some(v) = versions::latest(conn, prompt_id)? {
        let c: VersionContent = serde_json::from_str(&v.content)
            .map_err(|e| Error::Integrity(format!("stored version does not parse: {e}")))?;
        return Ok(body_text(&c.body));
    }
    Ok(drafts::get(conn, prompt_id)?
        .map(|d| body_text(&d.content.body))
        .unwrap_or_default())
}

/// Roles and variable names must be valid even in a draft: they are structure, not text.
fn check_draft_shape(content: &DraftContent) -> Result<()> {
    if let Body::Chat { messages } = &content.body {
        for (i, m) in messages.iter().enumerate() {
            validate_role(&m.role).map_err(|e| Error::bad(format!("message {}: {e}", i + 1)))?;
        }
    }
    let mut seen = std::collections::BTreeSet::new();
    for v in &content.variables {
        validate_variable_name(&v.name)?;
        if !seen.insert(v.name.as_str()) {
            return Err(Error::bad(format!(
                "variable '{}' is declared twice",
                v.name
            )));
        }
        if let Some(default) = &v.default {
            if !default.is_null() && !v.ty.accepts(default) {
                return Err(Error::bad(format!(
                    "the default of variable '{}' must be a {}, got {}",
                    v.name,
                    v.ty,
                    promptdesk_content::VarType::name_of(default)
                )));
            }
        }
    }
    Ok(())
}

fn check_sample_name(sample: &str) -> Result<()> {
    let ok = !sample.is_empty()
        && sample.len() <= 64
        && sample
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_. ".contains(c));
    if ok {
        Ok(())
    } else {
        Err(Error::bad(format!(
            "invalid sample name '{sample}': use letters, digits, spaces, '-', '_' or '.' (at most 64)"
        )))
    }
}

fn normalise_tags(tags: &[String]) -> Result<Vec<String>> {
    let mut out: Vec<String> = Vec::new();
    for t in tags {
        let t = t.trim().to_lowercase();
        if t.is_empty() {
            continue;
        }
        if t.len() > 40 || !t.chars().all(|c| c.is_alphanumeric() || "-_.".contains(c)) {
            return Err(Error::bad(format!(
                "invalid tag '{t}': use letters, digits, '-', '_' or '.' (at most 40)"
            )));
        }
        out.push(t);
    }
    out.sort();
    out.dedup();
    Ok(out)
}
