//! Signing keys, roles, policies, reviews and their events, releases: as the ledger describes
//! them, and each release made here judged again under the rules in force when it was made.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use rusqlite::Connection;
use serde_json::{json, Value};

use super::prompts::Prompts;
use super::{differs, short, Entry};
use crate::error::Result;
use crate::policy::{
    check_action, check_key_revocation, check_release, Action, ApprovalFact, Policy, Role,
    Situation, SuiteResult,
};
use crate::store;

struct KeyState {
    person: String,
    public_key: String,
    at: String,
}

struct RevocationState {
    /// The ledger entry that revoked it: what is signed with it after that does not count.
    seq: i64,
    by: String,
    at: String,
    reason: String,
}

struct RoleState {
    role: String,
    by: String,
    at: String,
}

struct PolicyState {
    policy: Value,
    by: String,
    at: String,
}

struct ReviewState {
    id: String,
    prompt: Option<usize>,
    version_hash: String,
    label: String,
    description: String,
    by: String,
    at: String,
}

/// What a review event's entry says. `signed` only for imported ones (the others' payloads
/// carry neither the reply nor the signature).
struct EventState {
    review: u32,
    kind: String,
    actor: String,
    role: String,
    at: String,
    body: String,
    anchor: Value,
    content_hash: Option<String>,
    signed: Option<(Option<String>, Option<String>, Option<String>)>,
}

/// Everything the policy looked at when a release was made here, as the ledger had it.
struct Judgement {
    policy: Policy,
    actor_role: Role,
    version: u32,
    author: String,
    approvals: Vec<ApprovalFact>,
}

struct ReleaseEntry {
    seq: i64,
    prompt: Option<usize>,
    label: String,
    kind: String,
    from: Option<String>,
    to: String,
    changelog: String,
    review: Option<u32>,
    /// `None` where the entry does not say (entries older than the field).
    approvals: Option<Value>,
    actor: String,
    role: Option<String>,
    at: String,
    key_id: Option<String>,
    signature: Option<String>,
    /// For imported releases: the whole record (bundle and decision included).
    record: Option<Value>,
    judge: Option<Judgement>,
}

/// A finished eval run as `eval.finished` recorded it.
struct EvalRun {
    seq: i64,
    version_hash: String,
    suite_hash: String,
    status: String,
    pass_rate: f64,
    passed: u32,
    total: u32,
    errored: u32,
    cached: u32,
    at: String,
}

/// A reviewer's latest decision on one content, with their role then.
struct Decided {
    seq: i64,
    kind: String,
    role: Role,
    /// The key that signed it, where the entry says (entries from before keys could be
    /// revoked do not).
    key_id: Option<String>,
}

#[derive(Default)]
pub(crate) struct ReleaseState {
    keys: BTreeMap<String, KeyState>,
    revocations: BTreeMap<String, RevocationState>,
    /// Which key signed each decision, from the table (its signature is checked against that
    /// key): ledger entries from before keys could be revoked do not name it.
    event_keys: HashMap<String, String>,
    roles: BTreeMap<String, RoleState>,
    policies: BTreeMap<String, PolicyState>,
    reviews: BTreeMap<u32, ReviewState>,
    events: BTreeMap<String, EventState>,
    releases: BTreeMap<String, ReleaseEntry>,
    /// Per prompt and label: (reviewer, content hash) → their latest decision.
    decisions: HashMap<(usize, String), HashMap<(String, String), Decided>>,
    evals: HashMap<String, EvalRun>,
}

fn text(v: &Value, field: &str) -> String {
    v.get(field)
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string()
}

fn opt_text(v: &Value, field: &str) -> Option<String> {
    v.get(field).and_then(Value::as_str).map(str::to_string)
}

/// A policy as JSON in one shape, whatever order or defaults it was written with.
fn normal_policy(v: &Value) -> Value {
    serde_json::from_value::<Policy>(v.clone())
        .ok()
        .and_then(|p| serde_json::to_value(p).ok())
        .unwrap_or_else(|| v.clone())
}

impl ReleaseState {
    fn role_now(&self, person: &str) -> Role {
        if self.roles.is_empty() {
            return Role::Admin;
        }
        self.roles
            .get(person)
            .and_then(|r| Role::parse(&r.role))
            .unwrap_or(Role::Viewer)
    }

    fn policy_now(&self, label: &str) -> Policy {
        self.policies
            .get(label)
            .and_then(|p| serde_json::from_value(p.policy.clone()).ok())
            .unwrap_or_else(|| Policy::default_for(label))
    }

    /// The approvals on record for `label` of prompt `key`: each reviewer's latest decision per
    /// content, where it is an approval of one of the prompt's versions, oldest first.
    fn approvals_now(&self, prompts: &Prompts, key: usize, label: &str) -> Vec<ApprovalFact> {
        let Some(decided) = self.decisions.get(&(key, label.to_string())) else {
            return Vec::new();
        };
        let mut out: Vec<(i64, ApprovalFact)> = decided
            .iter()
            .filter(|(_, d)| d.kind == "approve")
            .filter(|(_, d)| {
                d.key_id
                    .as_ref()
                    .is_none_or(|k| !self.revocations.contains_key(k))
            })
            .filter_map(|((reviewer, hash), d)| {
                let v = prompts.version(key, hash)?;
                Some((
                    d.seq,
                    ApprovalFact {
                        reviewer: reviewer.clone(),
                        reviewer_role: d.role,
                        content_hash: hash.clone(),
                        version: v.number,
                    },
                ))
            })
            .collect();
        out.sort_by_key(|(seq, _)| *seq);
        out.into_iter().map(|(_, a)| a).collect()
    }

    /// A role or policy change made here must have been an admin's.
    fn gate(&self, e: &Entry, action: Action, place: &str, problems: &mut Vec<String>) {
        if e.pulled.is_some() {
            return;
        }
        if let Err(why) = check_action(&e.actor, self.role_now(&e.actor), action) {
            problems.push(format!(
                "{place}: the ledger's change by {} at {} (entry {}) was not allowed: {why}",
                e.actor, e.at, e.seq
            ));
        }
    }

    pub(super) fn apply(&mut self, e: &Entry, prompts: &Prompts, problems: &mut Vec<String>) {
        let p = &e.payload;
        match e.kind.as_str() {
            "key.registered" => {
                self.keys.insert(
                    text(p, "key_id"),
                    KeyState {
                        person: e.subject.clone(),
                        public_key: text(p, "public_key"),
                        at: e.at.clone(),
                    },
                );
            }
            "key.imported" => {
                self.keys.insert(
                    text(p, "key_id"),
                    KeyState {
                        person: text(p, "person"),
                        public_key: text(p, "public_key"),
                        at: text(p, "registered_at"),
                    },
                );
            }
            "key.revoked" => {
                if e.pulled.is_none() {
                    let owner = text(p, "person");
                    if let Err(why) =
                        check_key_revocation(&e.actor, self.role_now(&e.actor), &owner)
                    {
                        problems.push(format!(
                            "key_revocations: {}: the ledger's revocation by {} at {} (entry {}) \
                             was not allowed: {why}",
                            text(p, "key_id"),
                            e.actor,
                            e.at,
                            e.seq
                        ));
                    }
                }
                self.revocations.insert(
                    text(p, "key_id"),
                    RevocationState {
                        seq: e.seq,
                        by: e.actor.clone(),
                        at: e.at.clone(),
                        reason: text(p, "reason"),
                    },
                );
            }
            "key_revocation.imported" => {
                self.revocations.insert(
                    text(p, "key_id"),
                    RevocationState {
                        seq: e.seq,
                        by: text(p, "revoked_by"),
                        at: text(p, "revoked_at"),
                        reason: text(p, "reason"),
                    },
                );
            }
            "role.set" => {
                self.gate(
                    e,
                    Action::SetRole,
                    &format!("roles: {}", e.subject),
                    problems,
                );
                self.roles.insert(
                    e.subject.clone(),
                    RoleState {
                        role: text(p, "role"),
                        by: e.actor.clone(),
                        at: e.at.clone(),
                    },
                );
                if !self.roles.values().any(|r| r.role == "admin") {
                    problems.push(format!(
                        "roles: after the ledger's entry {} nobody is an admin, which the registry never allows",
                        e.seq
                    ));
                }
            }
            "role.imported" => {
                self.roles.insert(
                    text(p, "person"),
                    RoleState {
                        role: text(p, "role"),
                        by: text(p, "granted_by"),
                        at: text(p, "granted_at"),
                    },
                );
            }
            "policy.set" => {
                self.gate(
                    e,
                    Action::SetPolicy,
                    &format!("policies: {}", e.subject),
                    problems,
                );
                self.policies.insert(
                    e.subject.clone(),
                    PolicyState {
                        policy: normal_policy(&p["to"]),
                        by: e.actor.clone(),
                        at: e.at.clone(),
                    },
                );
            }
            "policy.imported" => {
                self.policies.insert(
                    text(p, "label"),
                    PolicyState {
                        policy: normal_policy(&p["policy"]),
                        by: text(p, "updated_by"),
                        at: text(p, "updated_at"),
                    },
                );
            }
            "review.requested" | "review.imported" => {
                let imported = e.kind == "review.imported";
                let Some(number) = p[if imported { "number" } else { "review" }].as_u64() else {
                    return;
                };
                let prompt = if imported {
                    text(p, "prompt")
                } else {
                    e.subject.clone()
                };
                self.reviews.insert(
                    number as u32,
                    ReviewState {
                        id: text(p, "id"),
                        prompt: prompts.key(&prompt),
                        version_hash: text(p, if imported { "version_hash" } else { "hash" }),
                        label: text(p, "label"),
                        description: text(p, "description"),
                        by: if imported {
                            text(p, "requested_by")
                        } else {
                            e.actor.clone()
                        },
                        at: if imported {
                            text(p, "requested_at")
                        } else {
                            e.at.clone()
                        },
                    },
                );
            }
            "review_event.imported" => {
                let Some(review) = p["review"].as_u64() else {
                    return;
                };
                let ev = EventState {
                    review: review as u32,
                    kind: text(p, "kind"),
                    actor: text(p, "actor"),
                    role: text(p, "actor_role"),
                    at: text(p, "at"),
                    body: text(p, "body"),
                    anchor: p["anchor"].clone(),
                    content_hash: opt_text(p, "content_hash"),
                    signed: Some((
                        opt_text(p, "reply_to"),
                        opt_text(p, "key_id"),
                        opt_text(p, "signature"),
                    )),
                };
                self.record_event(e.seq, text(p, "id"), ev, opt_text(p, "key_id"));
            }
            "release.recorded" | "rollback.recorded" => self.apply_release(e, prompts, problems),
            "release.imported" => {
                let id = text(p, "id");
                self.releases.insert(
                    id,
                    ReleaseEntry {
                        seq: e.seq,
                        prompt: prompts.key(&text(p, "prompt")),
                        label: text(p, "label"),
                        kind: text(p, "kind"),
                        from: opt_text(p, "from_hash"),
                        to: text(p, "to_hash"),
                        changelog: text(p, "changelog"),
                        review: p["review"].as_u64().map(|n| n as u32),
                        approvals: Some(
                            p["decision"]
                                .get("counted_approvals")
                                .cloned()
                                .unwrap_or(Value::Null),
                        ),
                        actor: text(p, "actor"),
                        role: opt_text(p, "actor_role"),
                        at: text(p, "at"),
                        key_id: opt_text(p, "key_id"),
                        signature: opt_text(p, "signature"),
                        record: Some(p.clone()),
                        judge: None,
                    },
                );
            }
            "eval.finished" => {
                self.evals.insert(
                    text(p, "run"),
                    EvalRun {
                        seq: e.seq,
                        version_hash: text(p, "version_hash"),
                        suite_hash: text(p, "suite_hash"),
                        status: text(p, "status"),
                        pass_rate: p["pass_rate"].as_f64().unwrap_or(0.0),
                        passed: p["passed"].as_u64().unwrap_or(0) as u32,
                        total: p["total"].as_u64().unwrap_or(0) as u32,
                        errored: p["errored"].as_u64().unwrap_or(0) as u32,
                        cached: p["cached"].as_u64().unwrap_or(0) as u32,
                        at: e.at.clone(),
                    },
                );
            }
            kind => {
                let Some(kind) = kind.strip_prefix("review.") else {
                    return;
                };
                let Some(review) = p["review"].as_u64() else {
                    return;
                };
                let ev = EventState {
                    review: review as u32,
                    kind: kind.to_string(),
                    actor: e.actor.clone(),
                    role: text(p, "role"),
                    at: e.at.clone(),
                    body: text(p, "body"),
                    anchor: p["anchor"].clone(),
                    content_hash: opt_text(p, "hash"),
                    signed: None,
                };
                let id = text(p, "id");
                let key_id = opt_text(p, "key_id").or_else(|| self.event_keys.get(&id).cloned());
                if e.pulled.is_none() {
                    self.signed_after_revocation(
                        key_id.as_deref(),
                        e,
                        &format!("review_events: {id}: {}'s {kind}", e.actor),
                        problems,
                    );
                }
                self.record_event(e.seq, id, ev, key_id);
            }
        }
    }

    /// A signature made here with a key the ledger had revoked by then: it signs nothing.
    fn signed_after_revocation(
        &self,
        key_id: Option<&str>,
        e: &Entry,
        place: &str,
        problems: &mut Vec<String>,
    ) {
        let Some(r) = key_id.and_then(|k| self.revocations.get(k).map(|r| (k, r))) else {
            return;
        };
        let (key, r) = r;
        problems.push(format!(
            "{place} at {} (entry {}) is signed with key {key}, which {} revoked at entry {}: \
             a revoked key signs nothing",
            e.at, e.seq, r.by, r.seq
        ));
    }

    /// Which key signed each decision, as the table holds it (read before the replay).
    pub(super) fn set_event_keys(&mut self, keys: HashMap<String, String>) {
        self.event_keys = keys;
    }

    fn record_event(&mut self, seq: i64, id: String, ev: EventState, key_id: Option<String>) {
        let review = self.reviews.get(&ev.review);
        let decision = matches!(ev.kind.as_str(), "approve" | "request_changes");
        if let (Some(Some(prompt)), Some(hash), true) =
            (review.map(|r| r.prompt), &ev.content_hash, decision)
        {
            let label = review.map(|r| r.label.clone()).unwrap_or_default();
            self.decisions.entry((prompt, label)).or_default().insert(
                (ev.actor.clone(), hash.clone()),
                Decided {
                    seq,
                    kind: ev.kind.clone(),
                    role: Role::parse(&ev.role).unwrap_or(Role::Viewer),
                    key_id,
                },
            );
        }
        self.events.insert(id, ev);
    }

    fn apply_release(&mut self, e: &Entry, prompts: &Prompts, problems: &mut Vec<String>) {
        let p = &e.payload;
        let prompt = prompts.key(&e.subject);
        let label = text(p, "label");
        let kind = text(p, "kind");
        let to = p["to"]["hash"].as_str().unwrap_or_default().to_string();
        // Made here: judge it again with what the ledger had in force. Pulled: the server's.
        let judge = match (e.pulled, prompt) {
            (None, Some(k)) => prompts.version(k, &to).map(|v| Judgement {
                policy: self.policy_now(&label),
                actor_role: self.role_now(&e.actor),
                version: v.number,
                author: v.author.clone(),
                approvals: self.approvals_now(prompts, k, &label),
            }),
            _ => None,
        };
        if e.pulled.is_none() {
            self.signed_after_revocation(
                p.get("key_id").and_then(Value::as_str),
                e,
                &format!(
                    "releases: {kind} {} of {} to {label} by {}",
                    text(p, "id"),
                    e.subject,
                    e.actor
                ),
                problems,
            );
        }
        if e.pulled.is_none() && judge.is_none() {
            problems.push(format!(
                "releases: {kind} {} of {} to {label}: the ledger's entry {} releases {}, a version \
                 it never recorded, so it cannot be judged",
                text(p, "id"),
                e.subject,
                e.seq,
                short(&to)
            ));
        }
        self.releases.insert(
            text(p, "id"),
            ReleaseEntry {
                seq: e.seq,
                prompt,
                label,
                kind,
                from: p["from"]["hash"].as_str().map(str::to_string),
                to,
                changelog: text(p, "changelog"),
                review: p["review"].as_u64().map(|n| n as u32),
                approvals: p.get("approvals").cloned(),
                actor: e.actor.clone(),
                role: opt_text(p, "role"),
                at: e.at.clone(),
                key_id: opt_text(p, "key_id"),
                signature: opt_text(p, "signature"),
                record: None,
                judge,
            },
        );
    }

    pub(super) fn compare(
        &self,
        conn: &Connection,
        prompts: &Prompts,
        problems: &mut Vec<String>,
    ) -> Result<()> {
        self.compare_keys(conn, problems)?;
        self.compare_revocations(conn, problems)?;
        self.compare_roles(conn, problems)?;
        self.compare_policies(conn, problems)?;
        self.compare_reviews(conn, prompts, problems)?;
        self.compare_events(conn, problems)?;
        self.compare_releases(conn, prompts, problems)?;
        self.compare_runs(conn, problems)
    }

    /// Finished eval runs: their outcome as `eval.finished` recorded it (the release gate
    /// counts these rows). Runs still going have no entry yet and are not compared.
    fn compare_runs(&self, conn: &Connection, problems: &mut Vec<String>) -> Result<()> {
        let mut seen = BTreeSet::new();
        for r in store::eval_runs::all(conn)? {
            let id: String = r.id.clone();
            let status: String = r.status.clone();
            let place = format!("eval_runs: {id}");
            let Some(run) = self.evals.get(&id) else {
                if status != "running" {
                    problems.push(format!(
                        "{place} is {status} but the ledger has no end of it"
                    ));
                }
                continue;
            };
            seen.insert(id.clone());
            differs(problems, &place, "status", &status, &run.status);
            differs(
                problems,
                &place,
                "version_hash",
                &r.version_hash,
                &run.version_hash,
            );
            differs(
                problems,
                &place,
                "suite_hash",
                &r.suite_hash,
                &run.suite_hash,
            );
            differs(problems, &place, "total", &r.total, &run.total);
            differs(problems, &place, "passed", &r.passed, &run.passed);
            differs(problems, &place, "errored", &r.errored, &run.errored);
            differs(problems, &place, "cached", &r.cached, &run.cached);
            differs(
                problems,
                &place,
                "finished_at",
                &r.finished_at,
                &Some(run.at.clone()),
            );
        }
        for id in self.evals.keys() {
            if !seen.contains(id) {
                problems.push(format!(
                    "eval_runs: {id} is in the ledger but not in the table"
                ));
            }
        }
        Ok(())
    }

    fn compare_keys(&self, conn: &Connection, problems: &mut Vec<String>) -> Result<()> {
        let mut seen = BTreeSet::new();
        for r in store::signing_keys::all(conn)? {
            let id: String = r.key_id.clone();
            let place = format!("signing_keys: {id}");
            let Some(k) = self.keys.get(&id) else {
                problems.push(format!("{place} (of {}) is not in the ledger", r.person));
                continue;
            };
            seen.insert(id.clone());
            differs(problems, &place, "person", &r.person, &k.person);
            differs(problems, &place, "public_key", &r.public_key, &k.public_key);
            differs(problems, &place, "registered_at", &r.registered_at, &k.at);
        }
        for (id, k) in &self.keys {
            if !seen.contains(id) {
                problems.push(format!(
                    "signing_keys: {id} (of {}) is in the ledger but not in the table",
                    k.person
                ));
            }
        }
        Ok(())
    }

    fn compare_revocations(&self, conn: &Connection, problems: &mut Vec<String>) -> Result<()> {
        let mut seen = BTreeSet::new();
        for r in store::signing_keys::revocations(conn)? {
            let id: String = r.key_id.clone();
            let place = format!("key_revocations: {id}");
            let Some(k) = self.revocations.get(&id) else {
                problems.push(format!(
                    "{place} (revoked by {}) is not in the ledger",
                    r.revoked_by
                ));
                continue;
            };
            seen.insert(id.clone());
            differs(problems, &place, "revoked_by", &r.revoked_by, &k.by);
            differs(problems, &place, "revoked_at", &r.revoked_at, &k.at);
            differs(problems, &place, "reason", &r.reason, &k.reason);
        }
        for (id, k) in &self.revocations {
            if !seen.contains(id) {
                problems.push(format!(
                    "key_revocations: {id} (revoked by {}) is in the ledger but not in the table: \
                     its signatures would count again",
                    k.by
                ));
            }
        }
        Ok(())
    }

    fn compare_roles(&self, conn: &Connection, problems: &mut Vec<String>) -> Result<()> {
        let mut seen = BTreeSet::new();
        for r in crate::store::roles::list(conn)? {
            let (person, role) = (r.person, r.role);
            let Some(s) = self.roles.get(&person) else {
                problems.push(format!(
                    "roles: {person} is {role} but the ledger never gave them a role"
                ));
                continue;
            };
            seen.insert(person.clone());
            if role != s.role {
                problems.push(format!(
                    "roles: {person} is {role} but the ledger made them {}",
                    s.role
                ));
            }
            let place = format!("roles: {person}");
            differs(problems, &place, "granted_by", &r.granted_by, &s.by);
            differs(problems, &place, "granted_at", &r.granted_at, &s.at);
        }
        for (person, s) in &self.roles {
            if !seen.contains(person) {
                problems.push(format!(
                    "roles: {person} has no role but the ledger made them {}",
                    s.role
                ));
            }
        }
        Ok(())
    }

    fn compare_policies(&self, conn: &Connection, problems: &mut Vec<String>) -> Result<()> {
        let mut seen = BTreeSet::new();
        for r in crate::store::policies::list(conn)? {
            let label = r.label.clone();
            let place = format!("policies: {label}");
            let stored: Value = serde_json::from_str(&r.policy).unwrap_or(Value::Null);
            let stored = normal_policy(&stored);
            let Some(s) = self.policies.get(&label) else {
                problems.push(format!("{place} is {stored} but the ledger never set it"));
                continue;
            };
            seen.insert(label.clone());
            if stored != s.policy {
                problems.push(format!(
                    "{place} is {stored} but the ledger set it to {}",
                    s.policy
                ));
            }
            differs(problems, &place, "updated_by", &r.updated_by, &s.by);
            differs(problems, &place, "updated_at", &r.updated_at, &s.at);
        }
        for (label, s) in &self.policies {
            if !seen.contains(label) {
                problems.push(format!(
                    "policies: {label} is not set but the ledger set it to {}",
                    s.policy
                ));
            }
        }
        Ok(())
    }

    fn compare_reviews(
        &self,
        conn: &Connection,
        prompts: &Prompts,
        problems: &mut Vec<String>,
    ) -> Result<()> {
        let mut seen = BTreeSet::new();
        for r in store::reviews::all(conn)? {
            let prompt_name = store::prompts::name_of(conn, r.prompt_id)?
                .unwrap_or_else(|| format!("prompt #{}", r.prompt_id));
            let number: u32 = r.number;
            let place = format!("reviews: #{number}");
            let Some(s) = self.reviews.get(&number) else {
                problems.push(format!("{place} ({}) is not in the ledger", r.id));
                continue;
            };
            seen.insert(number);
            let prompt = s
                .prompt
                .map(|k| prompts.get(k).name.clone())
                .unwrap_or_default();
            differs(problems, &place, "id", &r.id, &s.id);
            differs(problems, &place, "prompt", &prompt_name, &prompt);
            let hash: String = r.version_hash.clone();
            if hash != s.version_hash {
                problems.push(format!(
                    "{place} asks for {} but the ledger's request was for {}",
                    prompts.describe(s.prompt, &hash),
                    prompts.describe(s.prompt, &s.version_hash)
                ));
            }
            differs(problems, &place, "label", &r.label, &s.label);
            differs(
                problems,
                &place,
                "description",
                &r.description,
                &s.description,
            );
            differs(problems, &place, "requested_by", &r.requested_by, &s.by);
            differs(problems, &place, "requested_at", &r.requested_at, &s.at);
        }
        for (number, s) in &self.reviews {
            if !seen.contains(number) {
                problems.push(format!(
                    "reviews: #{number} ({}) is in the ledger but not in the table",
                    s.id
                ));
            }
        }
        Ok(())
    }

    fn compare_events(&self, conn: &Connection, problems: &mut Vec<String>) -> Result<()> {
        let mut seen = BTreeSet::new();
        for r in store::reviews::events(conn)? {
            let id: String = r.id.clone();
            let review: u32 = r.review;
            let place = format!("review_events: {id} (review #{review})");
            let Some(s) = self.events.get(&id) else {
                problems.push(format!(
                    "{place}: {}'s {} is not in the ledger",
                    r.actor, r.kind
                ));
                continue;
            };
            seen.insert(id.clone());
            differs(problems, &place, "review", &review, &s.review);
            differs(problems, &place, "kind", &r.kind, &s.kind);
            differs(problems, &place, "actor", &r.actor, &s.actor);
            differs(problems, &place, "actor_role", &r.actor_role, &s.role);
            differs(problems, &place, "at", &r.at, &s.at);
            differs(problems, &place, "body", &r.body, &s.body);
            let anchor = r
                .anchor
                .clone()
                .and_then(|a| serde_json::from_str::<Value>(&a).ok())
                .unwrap_or(Value::Null);
            differs(problems, &place, "anchor", &anchor, &s.anchor);
            let hash: Option<String> = r.content_hash.clone();
            if hash != s.content_hash {
                problems.push(format!(
                    "{place} is bound to {} but the ledger's {} was bound to {}",
                    hash.as_deref().map_or("no content".into(), short),
                    s.kind,
                    s.content_hash.as_deref().map_or("no content".into(), short)
                ));
            }
            if let Some((reply_to, key_id, signature)) = &s.signed {
                differs(problems, &place, "reply_to", &r.reply_to, reply_to);
                differs(problems, &place, "key_id", &r.key_id, key_id);
                differs(problems, &place, "signature", &r.signature, signature);
            }
        }
        for (id, s) in &self.events {
            if !seen.contains(id) {
                problems.push(format!(
                    "review_events: {id} (review #{}): {}'s {} is in the ledger but not in the table",
                    s.review, s.actor, s.kind
                ));
            }
        }
        Ok(())
    }

    fn compare_releases(
        &self,
        conn: &Connection,
        prompts: &Prompts,
        problems: &mut Vec<String>,
    ) -> Result<()> {
        let mut decisions: HashMap<String, Value> = HashMap::new();
        for r in store::releases::all(conn)? {
            let prompt_name = store::prompts::name_of(conn, r.prompt_id)?
                .unwrap_or_else(|| format!("prompt #{}", r.prompt_id));
            let (key_id, signature) = (Some(r.key_id.clone()), Some(r.signature.clone()));
            let id: String = r.id.clone();
            let prompt: String = prompt_name.clone();
            let label: String = r.label.clone();
            let kind: String = r.kind.clone();
            let place = format!("releases: {kind} {id} of {prompt} to {label}");
            let decision: Value = serde_json::from_str(&r.decision).unwrap_or(Value::Null);
            let Some(s) = self.releases.get(&id) else {
                problems.push(format!("{place} is not in the ledger"));
                continue;
            };
            decisions.insert(id.clone(), decision.clone());
            let name = s
                .prompt
                .map(|k| prompts.get(k).name.clone())
                .unwrap_or_default();
            differs(problems, &place, "prompt", &prompt, &name);
            differs(problems, &place, "label", &label, &s.label);
            differs(problems, &place, "kind", &kind, &s.kind);
            let (from, to): (Option<String>, String) = (r.from_hash.clone(), r.to_hash.clone());
            if from != s.from || to != s.to {
                let says = |f: &Option<String>, t: &str| {
                    format!(
                        "from {} to {}",
                        f.as_deref()
                            .map_or("nowhere".into(), |h| prompts.describe(s.prompt, h)),
                        prompts.describe(s.prompt, t)
                    )
                };
                problems.push(format!(
                    "{place} moves it {} but the ledger's entry moved it {}",
                    says(&from, &to),
                    says(&s.from, &s.to)
                ));
            }
            differs(problems, &place, "changelog", &r.changelog, &s.changelog);
            differs(problems, &place, "review", &r.review, &s.review);
            let counted = decision
                .get("counted_approvals")
                .cloned()
                .unwrap_or(Value::Null);
            if let Some(approvals) = &s.approvals {
                differs(problems, &place, "counted approvals", &counted, approvals);
            }
            differs(problems, &place, "actor", &r.actor, &s.actor);
            if let Some(role) = &s.role {
                differs(problems, &place, "actor_role", &r.actor_role, role);
            }
            differs(problems, &place, "at", &r.at, &s.at);
            differs(problems, &place, "key_id", &key_id, &s.key_id);
            differs(problems, &place, "signature", &signature, &s.signature);
            if let Some(record) = &s.record {
                differs(
                    problems,
                    &place,
                    "bundle",
                    &r.bundle,
                    &opt_text(record, "bundle"),
                );
                differs(problems, &place, "decision", &decision, &record["decision"]);
            }
        }
        for (id, s) in &self.releases {
            let name = s
                .prompt
                .map(|k| prompts.get(k).name.clone())
                .unwrap_or_default();
            if !decisions.contains_key(id) {
                problems.push(format!(
                    "releases: {} {id} of {name} to {} is in the ledger but not in the table",
                    s.kind, s.label
                ));
            }
            if let Some(j) = &s.judge {
                self.judge(id, s, j, &name, decisions.get(id), problems);
            }
        }
        Ok(())
    }

    /// Judges a release made here again under the policy, role and approvals of its moment.
    fn judge(
        &self,
        id: &str,
        s: &ReleaseEntry,
        j: &Judgement,
        name: &str,
        stored: Option<&Value>,
        problems: &mut Vec<String>,
    ) {
        let rollback = s.kind == "rollback";
        let mut suite_results = Vec::new();
        if let (Some(req), false) = (&j.policy.required_suite, rollback) {
            // The run the signed statement names, with its outcome as the ledger recorded it.
            let evidence: Option<SuiteResult> = stored
                .and_then(|d| d.get("evidence"))
                .and_then(|e| serde_json::from_value(e.clone()).ok());
            let run = evidence
                .as_ref()
                .and_then(|e| e.run_id.as_deref())
                .and_then(|run| self.evals.get(run).map(|r| (run, r)))
                .filter(|(_, r)| {
                    r.seq < s.seq && r.status == "completed" && r.version_hash == s.to
                });
            if let Some((run, r)) = run {
                let recorded = evidence.clone().unwrap_or_default();
                suite_results.push(SuiteResult {
                    suite: req.suite.clone(),
                    content_hash: s.to.clone(),
                    pass_rate: r.pass_rate,
                    run_id: Some(run.to_string()),
                    passed: r.passed,
                    total: r.total,
                    problem: None,
                    ..recorded
                });
            }
        }
        let situation = Situation {
            label: &s.label,
            actor: &s.actor,
            actor_role: j.actor_role,
            version: j.version,
            version_hash: &s.to,
            version_author: &j.author,
            changelog: &s.changelog,
            approvals: &j.approvals,
            suite_results: &suite_results,
            now: &s.at,
            rollback,
        };
        let decision = check_release(&j.policy, &situation);
        let place = format!("releases: {} {id} of {name} to {}", s.kind, s.label);
        if !decision.allowed {
            problems.push(format!(
                "{place} by {} at {} was not allowed by the policy the ledger had in force then ({}): {}",
                s.actor,
                s.at,
                json!(j.policy),
                decision.refusal()
            ));
        } else if let Some(approvals) = s.approvals.as_ref().filter(|a| !a.is_null()) {
            if json!(decision.counted_approvals) != *approvals {
                problems.push(format!(
                    "{place}: the ledger records the approvals of {approvals} but the approvals on record by then count {}",
                    json!(decision.counted_approvals)
                ));
            }
        }
    }
}
