//! Review and release: roles, per-label policies, review requests with comments and decisions
//! bound to content, promotion through the policy, rollback, and bundles. Each operation is one
//! transaction that also writes its ledger event; the policy itself is the pure function in
//! [`crate::policy`].

use rusqlite::{params, Connection, OptionalExtension};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::error::{Error, Result};
use crate::model::Version;
use crate::policy::{
    check_action, check_release, Action, ApprovalFact, Decision, Policy, Role, Situation,
};
use crate::refs::Ref;
use crate::registry::{resolve_version, Registry};
use crate::signing::{self, Sign};
use crate::store::{labels, prompts};

pub use promptdesk_protocol::statements::{
    decision_eval_run, decision_statement, release_statement, Anchor, ReleaseStatement,
};

/// A person and their role.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ts_rs::TS)]
pub struct RoleGrant {
    pub person: String,
    pub role: Role,
    pub granted_by: String,
    pub granted_at: String,
}

/// Where a review stands, derived from its events and releases.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ts_rs::TS)]
#[serde(rename_all = "snake_case")]
pub enum ReviewStatus {
    Open,
    Approved,
    ChangesRequested,
    Released,
    Closed,
}

/// A request to release one version to a label.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ts_rs::TS)]
pub struct Review {
    pub number: u32,
    pub id: String,
    pub prompt: String,
    pub version: u32,
    pub version_hash: String,
    pub version_author: String,
    pub label: String,
    pub description: String,
    pub requested_by: String,
    pub requested_at: String,
    pub status: ReviewStatus,
}

/// A comment or a decision on a review.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ts_rs::TS)]
pub struct ReviewEvent {
    pub id: String,
    pub kind: String,
    pub actor: String,
    pub actor_role: Role,
    pub at: String,
    pub body: String,
    pub anchor: Option<Anchor>,
    pub reply_to: Option<String>,
    /// For decisions: the content they are bound to, and that content's version number.
    pub content_hash: Option<String>,
    pub version: Option<u32>,
    /// Who pushed it to the team server, when that was not its author (an admin carrying a
    /// registry over): shown as "pushed by … on behalf of …".
    pub pushed_by: Option<String>,
    /// A decision signed with a key revoked since: it no longer counts.
    pub key_revoked: bool,
}

/// A review with its thread and what the policy says about releasing it now.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ts_rs::TS)]
pub struct ReviewDetail {
    pub review: Review,
    pub events: Vec<ReviewEvent>,
    /// What the target label serves now (`None` when it points nowhere yet).
    pub serving: Option<u32>,
    /// The policy checklist, evaluated for the acting person as of now.
    pub decision: Decision,
    /// The latest other version of this prompt the acting person approved for this label: a
    /// reviewer coming back is shown what changed since what they approved.
    pub previously_approved: Option<u32>,
}

/// The immutable record of a label move by release or rollback.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ts_rs::TS)]
pub struct Release {
    pub id: String,
    pub prompt: String,
    pub label: String,
    pub kind: String,
    pub from_version: Option<u32>,
    pub from_hash: Option<String>,
    pub to_version: u32,
    pub to_hash: String,
    /// The changelog (release) or the reason (rollback).
    pub changelog: String,
    pub review: Option<u32>,
    pub approvals: Vec<String>,
    pub actor: String,
    pub actor_role: Role,
    pub at: String,
    pub bundle: Option<String>,
    /// Who pushed it to the team server, when that was not the releaser.
    pub pushed_by: Option<String>,
}

/// One item of a release bundle.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ts_rs::TS)]
pub struct BundleItem {
    pub prompt: String,
    #[serde(rename = "ref", alias = "reference")]
    pub reference: String,
    pub label: String,
    #[serde(default)]
    pub changelog: String,
}

/// What `release` is asked to do.
#[derive(Debug, Clone, Default)]
pub struct ReleaseRequest<'a> {
    pub changelog: &'a str,
    /// The version the label must still point at (compare-and-swap); when `None`, whatever it
    /// points at when the release is checked.
    pub expect_from: Option<&'a Ref>,
    pub review: Option<u32>,
}

/// What `rollback` is asked to do.
#[derive(Debug, Clone, Default)]
pub struct RollbackRequest<'a> {
    /// Why (required by every policy): it is the rollback's changelog.
    pub reason: &'a str,
    /// The version to go back to; when `None`, the label's previous release.
    pub to: Option<&'a Ref>,
    /// The version the label must still point at (compare-and-swap).
    pub expect_from: Option<&'a Ref>,
}

/// What a rollback would do now (see [`Registry::check_rollback`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ts_rs::TS)]
pub struct RollbackCheck {
    /// The version the label serves now.
    pub from: u32,
    /// The version it would go back to.
    pub to: u32,
    pub to_hash: String,
    pub decision: Decision,
}

impl Registry {
    // ---- roles ----------------------------------------------------------------------------

    /// The role of `person`. While no roles are configured, everyone is an admin.
    pub fn role_of(&self, person: &str) -> Result<Role> {
        role_of(self.connection(), person)
    }

    pub fn roles(&self) -> Result<Vec<RoleGrant>> {
        let mut stmt = self.connection().prepare_cached(
            "SELECT person, role, granted_by, granted_at FROM roles ORDER BY person",
        )?;
        let rows = stmt.query_map([], |r| {
            Ok(RoleGrant {
                person: r.get(0)?,
                role: role_column(r, 1)?,
                granted_by: r.get(2)?,
                granted_at: r.get(3)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Gives `person` a role (admins only). The registry must always keep an admin.
    pub fn set_role(&mut self, person: &str, role: Role) -> Result<RoleGrant> {
        let person = person.trim();
        if person.is_empty() || person.len() > 100 || person.chars().any(char::is_control) {
            return Err(Error::bad(
                "a person's name is required (at most 100 characters)",
            ));
        }
        let actor = self.actor().to_string();
        self.write(|tx, ctx| {
            check_action(&actor, role_of(tx, &actor)?, Action::SetRole).map_err(Error::Refused)?;
            tx.execute(
                "INSERT INTO roles (person, role, granted_by, granted_at) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (person) DO UPDATE SET role = excluded.role,
                     granted_by = excluded.granted_by, granted_at = excluded.granted_at",
                params![person, role.as_str(), ctx.actor, ctx.at],
            )?;
            let admins: i64 =
                tx.query_row("SELECT count(*) FROM roles WHERE role = 'admin'", [], |r| {
                    r.get(0)
                })?;
            if admins == 0 {
                return Err(Error::Refused(format!(
                    "this would leave the registry without an admin; make someone admin first \
                     (`promptdesk role set {actor} admin`)"
                )));
            }
            ctx.event(tx, "role.set", person, json!({ "role": role }))?;
            Ok(RoleGrant {
                person: person.to_string(),
                role,
                granted_by: ctx.actor.to_string(),
                granted_at: ctx.at.clone(),
            })
        })
    }

    // ---- policies -------------------------------------------------------------------------

    /// The policy of `label`: the configured one, or the default.
    pub fn policy(&self, label: &str) -> Result<Policy> {
        policy_of(self.connection(), label)
    }

    /// Every label with a configured policy, plus `production`.
    pub fn policies(&self) -> Result<Vec<(String, Policy)>> {
        let mut labels: Vec<String> = self
            .connection()
            .prepare_cached("SELECT label FROM policies ORDER BY label")?
            .query_map([], |r| r.get(0))?
            .collect::<rusqlite::Result<_>>()?;
        if !labels.iter().any(|l| l == "production") {
            labels.insert(0, "production".into());
        }
        labels
            .into_iter()
            .map(|l| Ok((l.clone(), self.policy(&l)?)))
            .collect()
    }

    /// Replaces the policy of `label` (admins only), recorded in the ledger.
    pub fn set_policy(&mut self, label: &str, new: &Policy) -> Result<Policy> {
        check_label(label)?;
        new.validate().map_err(Error::BadInput)?;
        let actor = self.actor().to_string();
        self.write(|tx, ctx| {
            check_action(&actor, role_of(tx, &actor)?, Action::SetPolicy).map_err(Error::Refused)?;
            let old = policy_of(tx, label)?;
            let text = serde_json::to_string(new).expect("policies serialise");
            tx.execute(
                "INSERT INTO policies (label, policy, updated_by, updated_at) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (label) DO UPDATE SET policy = excluded.policy,
                     updated_by = excluded.updated_by, updated_at = excluded.updated_at",
                params![label, text, ctx.actor, ctx.at],
            )?;
            ctx.event(tx, "policy.set", label, json!({ "from": old, "to": new }))?;
            Ok(new.clone())
        })
    }

    // ---- reviews --------------------------------------------------------------------------

    /// Asks for `name@reference` to be released to `label`.
    pub fn request_review(
        &mut self,
        name: &str,
        reference: Option<&Ref>,
        label: &str,
        description: &str,
    ) -> Result<Review> {
        check_label(label)?;
        let actor = self.actor().to_string();
        let number = self.write(|tx, ctx| {
            check_action(&actor, role_of(tx, &actor)?, Action::RequestReview).map_err(Error::Refused)?;
            let p = prompts::get(tx, name)?;
            let v = resolve_version(tx, name, reference)?;
            if labels::get(tx, p.id, label)?.is_some_and(|l| l.hash == v.hash) {
                return Err(Error::Conflict(format!(
                    "{label} already serves {name}@{}; there is nothing to review",
                    v.number
                )));
            }
            let id = ctx.new_id();
            tx.execute(
                "INSERT INTO reviews (id, prompt_id, version_hash, label, description, requested_by, requested_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                params![id, p.id, v.hash, label, description.trim(), ctx.actor, ctx.at],
            )?;
            let number = tx.last_insert_rowid() as u32;
            ctx.event(
                tx,
                "review.requested",
                name,
                json!({ "review": number, "id": id, "version": v.number, "hash": v.hash,
                        "label": label, "description": description.trim() }),
            )?;
            Ok(number)
        })?;
        self.review(number)
    }

    /// One review with its thread and the policy checklist as of now.
    pub fn review_detail(&self, number: u32) -> Result<ReviewDetail> {
        let review = self.review(number)?;
        let conn = self.connection();
        let mut stmt = conn.prepare_cached(
            "SELECT e.id, e.kind, e.actor, e.actor_role, e.at, e.body, e.anchor, e.reply_to, e.content_hash, v.number,
                    s.pushed_by, EXISTS (SELECT 1 FROM key_revocations k WHERE k.key_id = e.key_id)
             FROM review_events e JOIN reviews r ON r.number = e.review
             LEFT JOIN versions v ON v.prompt_id = r.prompt_id AND v.hash = e.content_hash
             LEFT JOIN sync_events s ON s.event_id = e.id
             WHERE e.review = ?1 ORDER BY e.seq",
        )?;
        let events = stmt
            .query_map([number], |r| {
                Ok(ReviewEvent {
                    id: r.get(0)?,
                    kind: r.get(1)?,
                    actor: r.get(2)?,
                    actor_role: role_column(r, 3)?,
                    at: r.get(4)?,
                    body: r.get(5)?,
                    anchor: r
                        .get::<_, Option<String>>(6)?
                        .and_then(|a| serde_json::from_str(&a).ok()),
                    reply_to: r.get(7)?,
                    content_hash: r.get(8)?,
                    version: r.get(9)?,
                    pushed_by: r.get(10)?,
                    key_revoked: r.get(11)?,
                })
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        let p = prompts::get(conn, &review.prompt)?;
        let serving = labels::get(conn, p.id, &review.label)?.map(|l| l.number);
        let version = resolve_version(conn, &review.prompt, Some(&Ref::Number(review.version)))?;
        let decision = self.decide(
            &version,
            &review.label,
            "(changelog given when releasing)",
            false,
        )?;
        let previously_approved = latest_decisions(conn, p.id, &review.label)?
            .into_iter()
            .filter(|d| {
                d.kind == "approve"
                    && d.fact.reviewer == self.actor()
                    && d.content_hash != review.version_hash
            })
            .map(|d| d.fact.version)
            .max();
        Ok(ReviewDetail {
            review,
            events,
            serving,
            decision,
            previously_approved,
        })
    }

    pub fn review(&self, number: u32) -> Result<Review> {
        review_by_number(self.connection(), number)?.ok_or_else(|| {
            Error::NotFound(format!(
                "no review #{number} (see `promptdesk review list`)"
            ))
        })
    }

    /// Reviews, newest first; only open ones (open, approved, changes requested) unless `all`.
    pub fn reviews(&self, all: bool) -> Result<Vec<Review>> {
        let numbers: Vec<u32> = self
            .connection()
            .prepare_cached("SELECT number FROM reviews ORDER BY number DESC")?
            .query_map([], |r| r.get(0))?
            .collect::<rusqlite::Result<_>>()?;
        let mut out = Vec::new();
        for n in numbers {
            let r = self.review(n)?;
            if all || !matches!(r.status, ReviewStatus::Released | ReviewStatus::Closed) {
                out.push(r);
            }
        }
        Ok(out)
    }

    pub fn comment(
        &mut self,
        number: u32,
        body: &str,
        anchor: Option<&Anchor>,
        reply_to: Option<&str>,
    ) -> Result<ReviewEvent> {
        if body.trim().is_empty() {
            return Err(Error::bad("a comment needs some text (-m \"…\")"));
        }
        self.review_event(number, "comment", body, anchor, reply_to)
    }

    /// Approves the review's version: the approval is bound to its content hash.
    pub fn approve(&mut self, number: u32, body: &str) -> Result<ReviewEvent> {
        self.review_event(number, "approve", body, None, None)
    }

    pub fn request_changes(&mut self, number: u32, body: &str) -> Result<ReviewEvent> {
        if body.trim().is_empty() {
            return Err(Error::bad("say what should change (-m \"…\")"));
        }
        self.review_event(number, "request_changes", body, None, None)
    }

    pub fn close_review(&mut self, number: u32, body: &str) -> Result<ReviewEvent> {
        self.review_event(number, "close", body, None, None)
    }

    fn review_event(
        &mut self,
        number: u32,
        kind: &str,
        body: &str,
        anchor: Option<&Anchor>,
        reply_to: Option<&str>,
    ) -> Result<ReviewEvent> {
        let actor = self.actor().to_string();
        let review = self.review(number)?;
        let signer = self.signer.take();
        let out = self.write(|tx, ctx| {
            let role = role_of(tx, &actor)?;
            let action = match kind {
                "approve" => Action::Approve,
                "request_changes" => Action::RequestChanges,
                "close" => Action::RequestReview,
                _ => Action::Comment,
            };
            check_action(&actor, role, action).map_err(Error::Refused)?;
            let decision = matches!(kind, "approve" | "request_changes");
            if matches!(review.status, ReviewStatus::Released | ReviewStatus::Closed) && kind != "comment" {
                return Err(Error::Refused(format!(
                    "review #{number} is {}; open a new one for further decisions",
                    if review.status == ReviewStatus::Released { "released" } else { "closed" }
                )));
            }
            if decision {
                // Their latest decision on this content, as the release decision reads it: one
                // signed with a key revoked since is no decision at all.
                let last: Option<(String, bool)> = tx
                    .query_row(
                        "SELECT e.kind, EXISTS (SELECT 1 FROM key_revocations k WHERE k.key_id = e.key_id)
                         FROM review_events e JOIN reviews r ON r.number = e.review
                         WHERE r.prompt_id = (SELECT prompt_id FROM reviews WHERE number = ?1)
                           AND r.label = ?2 AND e.actor = ?3 AND e.content_hash = ?4
                           AND e.kind IN ('approve', 'request_changes')
                         ORDER BY e.seq DESC LIMIT 1",
                        params![number, review.label, actor, review.version_hash],
                        |r| Ok((r.get(0)?, r.get(1)?)),
                    )
                    .optional()?;
                let last = last.filter(|(_, revoked)| !revoked).map(|(k, _)| k);
                if last.as_deref() == Some(kind) {
                    return Err(Error::Conflict(format!(
                        "{actor} already {} {}@{} for {}",
                        if kind == "approve" { "approved" } else { "asked for changes on" },
                        review.prompt,
                        review.version,
                        review.label
                    )));
                }
            }
            if kind == "approve" && actor == review.version_author {
                return Err(Error::Refused(format!(
                    "{actor} wrote {}@{} and cannot approve it; another reviewer must",
                    review.prompt, review.version
                )));
            }
            if let Some(parent) = reply_to {
                let found: Option<i64> = tx
                    .query_row(
                        "SELECT seq FROM review_events WHERE id = ?1 AND review = ?2",
                        params![parent, number],
                        |r| r.get(0),
                    )
                    .optional()?;
                if found.is_none() {
                    return Err(Error::bad(format!("review #{number} has no comment {parent} to reply to")));
                }
            }
            if let Some(a) = anchor {
                check_anchor(tx, &review, a)?;
            }
            let id = ctx.new_id();
            let anchor_json = anchor.map(|a| serde_json::to_string(a).expect("anchors serialise"));
            let content_hash = decision.then(|| review.version_hash.clone());
            let (key_id, signature) = if decision {
                let statement = decision_statement(&id, &review.id, &review.label, &review.version_hash, kind, ctx.actor, &ctx.at);
                let (k, sig) = sign_statement(tx, ctx, signer.as_deref(), &statement)?;
                (Some(k), Some(sig))
            } else {
                (None, None)
            };
            tx.execute(
                "INSERT INTO review_events (id, review, kind, actor, actor_role, at, body, anchor, reply_to, content_hash, key_id, signature)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
                params![id, number, kind, ctx.actor, role.as_str(), ctx.at, body.trim(), anchor_json, reply_to, content_hash, key_id, signature],
            )?;
            let mut payload = json!({ "review": number, "id": id, "body": body.trim(),
                                      "anchor": anchor, "hash": content_hash, "role": role });
            if let Some(k) = &key_id {
                // Which key signed it: `verify` leaves out decisions of keys revoked since.
                payload["key_id"] = json!(k);
            }
            ctx.event(tx, &format!("review.{kind}"), &review.prompt, payload)?;
            Ok(ReviewEvent {
                id,
                kind: kind.to_string(),
                actor: ctx.actor.to_string(),
                actor_role: role,
                at: ctx.at.clone(),
                body: body.trim().to_string(),
                anchor: anchor.cloned(),
                reply_to: reply_to.map(str::to_string),
                content_hash,
                version: decision.then_some(review.version),
                pushed_by: None,
                key_revoked: false,
            })
        });
        self.signer = signer;
        out
    }

    // ---- releases -------------------------------------------------------------------------

    /// What the policy of `label` says about serving `version` now, for the acting person.
    pub fn decide(
        &self,
        version: &Version,
        label: &str,
        changelog: &str,
        rollback: bool,
    ) -> Result<Decision> {
        decide(
            self.connection(),
            self.actor(),
            version,
            label,
            changelog,
            rollback,
            &self.now(),
        )
    }

    /// Promotes `name@reference` to `label` if its policy allows it now; otherwise refuses with
    /// every unmet condition. The move is a compare-and-swap on what the label pointed at.
    pub fn release(
        &mut self,
        name: &str,
        reference: Option<&Ref>,
        label: &str,
        req: ReleaseRequest<'_>,
    ) -> Result<Release> {
        self.release_in(name, reference, label, req, None)
    }

    fn release_in(
        &mut self,
        name: &str,
        reference: Option<&Ref>,
        label: &str,
        req: ReleaseRequest<'_>,
        bundle: Option<&str>,
    ) -> Result<Release> {
        check_label(label)?;
        let at_check = self.now();
        let actor = self.actor().to_string();
        let expect = match req.expect_from {
            Some(r) => Some(resolve_version(self.connection(), name, Some(r))?.hash),
            None => {
                let p = prompts::get(self.connection(), name)?;
                labels::get(self.connection(), p.id, label)?.map(|l| l.hash)
            }
        };
        let signer = self.signer.take();
        let out = self.write(|tx, ctx| {
            let target = resolve_version(tx, name, reference)?;
            let p = prompts::get(tx, name)?;
            let current = labels::get(tx, p.id, label)?;
            if current.as_ref().is_some_and(|c| c.hash == target.hash) {
                return Err(Error::Conflict(format!(
                    "{label} already serves {name}@{}",
                    target.number
                )));
            }
            if current.as_ref().map(|c| &c.hash) != expect.as_ref() {
                return Err(moved_meanwhile(name, label, current.as_ref()));
            }
            if let Some(n) = req.review {
                let r = review_by_number(tx, n)?
                    .ok_or_else(|| Error::NotFound(format!("no review #{n}")))?;
                if r.prompt != name || r.label != label || r.version_hash != target.hash {
                    return Err(Error::bad(format!(
                        "review #{n} is for {}@{} → {}, not {name}@{} → {label}",
                        r.prompt, r.version, r.label, target.number
                    )));
                }
            }
            let decision = decide(tx, &actor, &target, label, req.changelog, false, &at_check)?;
            if !decision.allowed {
                return Err(Error::Refused(format!(
                    "cannot release {name}@{} to {label}: {}",
                    target.number,
                    decision.refusal()
                )));
            }
            let review = req
                .review
                .or(open_review_for(tx, p.id, label, &target.hash)?);
            let moved = Move {
                label,
                kind: "release",
                from: current.as_ref(),
                to: &target,
                changelog: req.changelog,
                review,
                bundle,
            };
            record_release(tx, ctx, signer.as_deref(), &p, &moved, &decision)
        });
        self.signer = signer;
        out
    }

    /// Moves `label` back to its previous release (or to `req.to`), with a reason. Like a
    /// release, the move is a compare-and-swap: on what the label pointed at when the person
    /// decided (`req.expect_from`), or else when the rollback is checked.
    pub fn rollback(
        &mut self,
        name: &str,
        label: &str,
        req: RollbackRequest<'_>,
    ) -> Result<Release> {
        check_label(label)?;
        let actor = self.actor().to_string();
        let at_check = self.now();
        let expect = match req.expect_from {
            Some(r) => Some(resolve_version(self.connection(), name, Some(r))?.hash),
            None => None,
        };
        let signer = self.signer.take();
        let out = self.write(|tx, ctx| {
            let p = prompts::get(tx, name)?;
            let (current, target) = rollback_target(tx, name, label, req.to)?;
            if let Some(expect) = &expect {
                if &current.hash != expect {
                    return Err(moved_meanwhile(name, label, Some(&current)));
                }
            }
            let decision = decide(tx, &actor, &target, label, req.reason, true, &at_check)?;
            if !decision.allowed {
                return Err(Error::Refused(format!(
                    "cannot roll {label} of {name} back to version {}: {}",
                    target.number,
                    decision.refusal()
                )));
            }
            let moved = Move {
                label,
                kind: "rollback",
                from: Some(&current),
                to: &target,
                changelog: req.reason,
                review: None,
                bundle: None,
            };
            record_release(tx, ctx, signer.as_deref(), &p, &moved, &decision)
        });
        self.signer = signer;
        out
    }

    /// What a rollback of `label` would do now: the version it would go back to, and the
    /// policy's checklist for the acting person. Changes nothing.
    pub fn check_rollback(
        &self,
        name: &str,
        label: &str,
        reason: &str,
        to: Option<&Ref>,
    ) -> Result<RollbackCheck> {
        check_label(label)?;
        let conn = self.connection();
        let (current, target) = rollback_target(conn, name, label, to)?;
        let decision = decide(
            conn,
            self.actor(),
            &target,
            label,
            reason,
            true,
            &self.now(),
        )?;
        Ok(RollbackCheck {
            from: current.number,
            to: target.number,
            to_hash: target.hash,
            decision,
        })
    }

    /// Releases several prompts together: every item passes its policy and moves, or nothing
    /// moves.
    pub fn release_bundle(
        &mut self,
        items: &[BundleItem],
        changelog: &str,
    ) -> Result<Vec<Release>> {
        if items.is_empty() {
            return Err(Error::bad("a bundle needs at least one prompt"));
        }
        let bundle = uuid::Uuid::new_v4().to_string();
        self.batch(|reg| {
            let mut out = Vec::new();
            for item in items {
                let reference = Ref::parse(&item.reference)?;
                let log = if item.changelog.trim().is_empty() {
                    changelog
                } else {
                    item.changelog.as_str()
                };
                let r = reg
                    .release_in(
                        &item.prompt,
                        Some(&reference),
                        &item.label,
                        ReleaseRequest {
                            changelog: log,
                            ..Default::default()
                        },
                        Some(&bundle),
                    )
                    .map_err(|e| match e {
                        Error::Refused(m) => {
                            Error::Refused(format!("nothing in the bundle was released: {m}"))
                        }
                        other => other,
                    })?;
                out.push(r);
            }
            Ok(out)
        })
    }

    /// Every release and rollback of a prompt (one label when given), newest first.
    pub fn releases(&self, name: &str, label: Option<&str>) -> Result<Vec<Release>> {
        let p = prompts::get(self.connection(), name)?;
        releases_of(self.connection(), &p.name, p.id, label)
    }
}

// ---- helpers shared by the operations above ------------------------------------------------

/// The one label check ([`promptdesk_protocol::labels::check_movable`]) as a registry error.
pub(crate) fn check_label(label: &str) -> Result<()> {
    promptdesk_protocol::labels::check_movable(label).map_err(Error::BadInput)
}

/// A role stored in column `i` (the schema only ever writes valid ones; anything else reads as
/// the least role, never as more).
fn role_column(r: &rusqlite::Row<'_>, i: usize) -> rusqlite::Result<Role> {
    Ok(Role::parse(&r.get::<_, String>(i)?).unwrap_or(Role::Viewer))
}

pub(crate) fn role_of(conn: &Connection, person: &str) -> Result<Role> {
    let any: bool = conn.query_row("SELECT EXISTS (SELECT 1 FROM roles)", [], |r| r.get(0))?;
    if !any {
        return Ok(Role::Admin);
    }
    let role: Option<String> = conn
        .query_row("SELECT role FROM roles WHERE person = ?1", [person], |r| {
            r.get(0)
        })
        .optional()?;
    Ok(role.and_then(|r| Role::parse(&r)).unwrap_or(Role::Viewer))
}

pub(crate) fn policy_of(conn: &Connection, label: &str) -> Result<Policy> {
    let text: Option<String> = conn
        .query_row(
            "SELECT policy FROM policies WHERE label = ?1",
            [label],
            |r| r.get(0),
        )
        .optional()?;
    match text {
        None => Ok(Policy::default_for(label)),
        Some(t) => serde_json::from_str(&t).map_err(|e| {
            Error::Integrity(format!("the stored policy of {label} does not parse: {e}"))
        }),
    }
}

fn review_by_number(conn: &Connection, number: u32) -> Result<Option<Review>> {
    let row = conn
        .query_row(
            "SELECT r.number, r.id, p.name, v.number, r.version_hash, v.author, r.label, r.description,
                    r.requested_by, r.requested_at, r.prompt_id
             FROM reviews r JOIN prompts p ON p.id = r.prompt_id
             JOIN versions v ON v.prompt_id = r.prompt_id AND v.hash = r.version_hash
             WHERE r.number = ?1",
            [number],
            |r| {
                Ok((
                    Review {
                        number: r.get(0)?,
                        id: r.get(1)?,
                        prompt: r.get(2)?,
                        version: r.get(3)?,
                        version_hash: r.get(4)?,
                        version_author: r.get(5)?,
                        label: r.get(6)?,
                        description: r.get(7)?,
                        requested_by: r.get(8)?,
                        requested_at: r.get(9)?,
                        status: ReviewStatus::Open,
                    },
                    r.get::<_, i64>(10)?,
                ))
            },
        )
        .optional()?;
    let Some((mut review, prompt_id)) = row else {
        return Ok(None);
    };
    review.status = review_status(conn, &review, prompt_id)?;
    Ok(Some(review))
}

fn review_status(conn: &Connection, review: &Review, prompt_id: i64) -> Result<ReviewStatus> {
    let released: bool = conn.query_row(
        "SELECT EXISTS (SELECT 1 FROM releases WHERE review = ?1)",
        [review.number],
        |r| r.get(0),
    )?;
    if released {
        return Ok(ReviewStatus::Released);
    }
    let last_open_close: Option<String> = conn
        .query_row(
            "SELECT kind FROM review_events WHERE review = ?1 AND kind IN ('close', 'reopen') ORDER BY seq DESC LIMIT 1",
            [review.number],
            |r| r.get(0),
        )
        .optional()?;
    if last_open_close.as_deref() == Some("close") {
        return Ok(ReviewStatus::Closed);
    }
    let decisions = latest_decisions(conn, prompt_id, &review.label)?;
    let mine = decisions
        .iter()
        .filter(|d| d.content_hash == review.version_hash);
    if mine.clone().any(|d| d.kind == "request_changes") {
        return Ok(ReviewStatus::ChangesRequested);
    }
    let approvals: Vec<ApprovalFact> = decisions
        .iter()
        .filter(|d| d.kind == "approve")
        .map(|d| d.fact.clone())
        .collect();
    let policy = policy_of(conn, &review.label)?;
    let needed = policy.required_approvals.max(1) as usize;
    let counted = approvals
        .iter()
        .filter(|a| {
            a.content_hash == review.version_hash
                && a.reviewer != review.version_author
                && a.reviewer_role >= Role::Reviewer
        })
        .map(|a| a.reviewer.as_str())
        .collect::<std::collections::BTreeSet<_>>()
        .len();
    Ok(if counted >= needed {
        ReviewStatus::Approved
    } else {
        ReviewStatus::Open
    })
}

struct DecisionRow {
    kind: String,
    content_hash: String,
    fact: ApprovalFact,
}

/// Each reviewer's latest decision per content hash, over the reviews of this prompt and label.
/// A later "request changes" withdraws an earlier approval of the same content. When a
/// reviewer's latest decision was signed with a key revoked since, they have no decision on that
/// content at all: it counts for nothing, and their earlier ones stay withdrawn by it (an
/// approval they took back must not return because the key that took it back was lost). The
/// server reads decisions the same way.
fn latest_decisions(conn: &Connection, prompt_id: i64, label: &str) -> Result<Vec<DecisionRow>> {
    let mut stmt = conn.prepare_cached(
        "SELECT e.kind, e.actor, e.actor_role, e.content_hash, v.number
         FROM review_events e JOIN reviews r ON r.number = e.review
         JOIN versions v ON v.prompt_id = r.prompt_id AND v.hash = e.content_hash
         WHERE r.prompt_id = ?1 AND r.label = ?2 AND e.kind IN ('approve', 'request_changes')
           AND NOT EXISTS (SELECT 1 FROM key_revocations k WHERE k.key_id = e.key_id)
           AND e.seq = (SELECT max(e2.seq) FROM review_events e2 JOIN reviews r2 ON r2.number = e2.review
                        WHERE r2.prompt_id = r.prompt_id AND r2.label = r.label AND e2.actor = e.actor
                          AND e2.content_hash = e.content_hash AND e2.kind IN ('approve', 'request_changes'))
         ORDER BY e.seq",
    )?;
    let rows = stmt.query_map(params![prompt_id, label], |r| {
        let hash: String = r.get(3)?;
        Ok(DecisionRow {
            kind: r.get(0)?,
            content_hash: hash.clone(),
            fact: ApprovalFact {
                reviewer: r.get(1)?,
                reviewer_role: role_column(r, 2)?,
                content_hash: hash,
                version: r.get(4)?,
            },
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

fn decide(
    conn: &Connection,
    actor: &str,
    version: &Version,
    label: &str,
    changelog: &str,
    rollback: bool,
    at: &str,
) -> Result<Decision> {
    let p = prompts::get(conn, &version.prompt)?;
    let policy = policy_of(conn, label)?;
    let approvals: Vec<ApprovalFact> = latest_decisions(conn, p.id, label)?
        .into_iter()
        .filter(|d| d.kind == "approve")
        .map(|d| d.fact)
        .collect();
    let suite_results = match &policy.required_suite {
        Some(req) if !rollback => vec![crate::eval::gate_evidence(conn, version, label, req)?],
        _ => Vec::new(),
    };
    let situation = Situation {
        label,
        actor,
        actor_role: role_of(conn, actor)?,
        version: version.number,
        version_hash: &version.hash,
        version_author: &version.author,
        changelog,
        approvals: &approvals,
        suite_results: &suite_results,
        now: at,
        rollback,
    };
    Ok(check_release(&policy, &situation))
}

fn open_review_for(
    conn: &Connection,
    prompt_id: i64,
    label: &str,
    hash: &str,
) -> Result<Option<u32>> {
    Ok(conn
        .query_row(
            "SELECT number FROM reviews WHERE prompt_id = ?1 AND label = ?2 AND version_hash = ?3
             AND number NOT IN (SELECT review FROM releases WHERE review IS NOT NULL)
             ORDER BY number DESC LIMIT 1",
            params![prompt_id, label, hash],
            |r| r.get(0),
        )
        .optional()?)
}

/// What `label` serves now and the version a rollback goes back to: `to` when given, else the
/// label's previous release (what the release that put the current version there replaced).
/// Falls back to the label's history for moves made before releases were recorded (or by
/// import). Rollbacks are skipped, so rolling back twice goes further back, not forward again.
fn rollback_target(
    conn: &Connection,
    name: &str,
    label: &str,
    to: Option<&Ref>,
) -> Result<(crate::model::Label, Version)> {
    let p = prompts::get(conn, name)?;
    let current = labels::get(conn, p.id, label)?.ok_or_else(|| {
        Error::Conflict(format!(
            "{label} of {name} points nowhere yet: there is nothing to roll back"
        ))
    })?;
    let target = match to {
        Some(r) => {
            let v = resolve_version(conn, name, Some(r))?;
            // A rollback skips fresh approvals because it returns to something this label
            // already served; going anywhere else is a release and needs its review.
            let served: bool = conn.query_row(
                "SELECT EXISTS (SELECT 1 FROM label_history WHERE prompt_id = ?1 AND label = ?2
                                AND to_hash = ?3)",
                params![p.id, label, v.hash],
                |r| r.get(0),
            )?;
            if !served {
                return Err(Error::Refused(format!(
                    "{label} of {name} never served version {}: a rollback only returns to a \
                     version it served before; release version {} through review instead",
                    v.number, v.number
                )));
            }
            v
        }
        None => {
            let released_from: Option<Option<String>> = conn
                .query_row(
                    "SELECT from_hash FROM releases WHERE prompt_id = ?1 AND label = ?2
                     AND to_hash = ?3 AND kind = 'release' ORDER BY seq DESC LIMIT 1",
                    params![p.id, label, current.hash],
                    |r| r.get(0),
                )
                .optional()?;
            let previous = match released_from {
                Some(from) => from,
                None => conn
                    .query_row(
                        "SELECT from_hash FROM label_history WHERE prompt_id = ?1 AND label = ?2
                         AND to_hash = ?3 AND from_hash IS NOT NULL ORDER BY id DESC LIMIT 1",
                        params![p.id, label, current.hash],
                        |r| r.get(0),
                    )
                    .optional()?,
            };
            let hash = previous.ok_or_else(|| {
                Error::Conflict(format!(
                    "{label} of {name} has no earlier release to go back to; name a version with --to"
                ))
            })?;
            resolve_version(conn, name, Some(&Ref::HashPrefix(hash)))?
        }
    };
    if target.hash == current.hash {
        return Err(Error::Conflict(format!(
            "{label} already serves {name}@{}",
            target.number
        )));
    }
    Ok((current, target))
}

fn moved_meanwhile(name: &str, label: &str, current: Option<&crate::model::Label>) -> Error {
    Error::Conflict(match current {
        Some(c) => format!(
            "{label} of {name} moved to version {} (by {} at {}) while this release was being decided; \
             check what it serves now and release again",
            c.number, c.moved_by, c.moved_at
        ),
        None => format!("{label} of {name} changed while this release was being decided; release again"),
    })
}

/// One label move, as `record_release` writes it.
struct Move<'a> {
    label: &'a str,
    kind: &'a str,
    from: Option<&'a crate::model::Label>,
    to: &'a Version,
    changelog: &'a str,
    review: Option<u32>,
    bundle: Option<&'a str>,
}

fn record_release(
    tx: &Connection,
    ctx: &mut crate::registry::WriteContext<'_>,
    signer: Option<&dyn Sign>,
    p: &crate::model::Prompt,
    m: &Move<'_>,
    decision: &Decision,
) -> Result<Release> {
    let role = role_of(tx, ctx.actor)?;
    let changelog = m.changelog.trim();
    let from_hash = m.from.map(|f| f.hash.as_str());
    labels::set(
        tx, p.id, m.label, from_hash, &m.to.hash, ctx.actor, &ctx.at, changelog,
    )?;
    let id = ctx.new_id();
    let review_id = match m.review {
        Some(n) => Some(
            tx.query_row("SELECT id FROM reviews WHERE number = ?1", [n], |r| {
                r.get::<_, String>(0)
            })?,
        ),
        None => None,
    };
    let statement = release_statement(&ReleaseStatement {
        id: &id,
        kind: m.kind,
        label: m.label,
        from_hash,
        to_hash: &m.to.hash,
        changelog,
        review_id: review_id.as_deref(),
        actor: ctx.actor,
        at: &ctx.at,
        eval_run: decision.evidence.as_ref().and_then(|e| e.run_id.as_deref()),
    });
    let (key_id, signature) = sign_statement(tx, ctx, signer, &statement)?;
    tx.execute(
        "INSERT INTO releases (id, prompt_id, label, kind, from_hash, to_hash, changelog, review, decision,
                               actor, actor_role, at, bundle, key_id, signature)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)",
        params![
            id,
            p.id,
            m.label,
            m.kind,
            from_hash,
            m.to.hash,
            changelog,
            m.review,
            serde_json::to_string(decision).expect("decisions serialise"),
            ctx.actor,
            role.as_str(),
            ctx.at,
            m.bundle,
            key_id,
            signature
        ],
    )?;
    ctx.event(
        tx,
        &format!("{}.recorded", m.kind),
        &p.name,
        json!({
            "id": id, "label": m.label, "kind": m.kind,
            "from": m.from.map(|f| json!({"number": f.number, "hash": f.hash})),
            "to": {"number": m.to.number, "hash": m.to.hash},
            "changelog": changelog, "review": m.review,
            "approvals": decision.counted_approvals, "role": role,
            "key_id": key_id, "signature": signature,
        }),
    )?;
    Ok(Release {
        id,
        prompt: p.name.clone(),
        label: m.label.to_string(),
        kind: m.kind.to_string(),
        from_version: m.from.map(|f| f.number),
        from_hash: from_hash.map(str::to_string),
        to_version: m.to.number,
        to_hash: m.to.hash.clone(),
        changelog: changelog.to_string(),
        review: m.review,
        approvals: decision.counted_approvals.clone(),
        actor: ctx.actor.to_string(),
        actor_role: role,
        at: ctx.at.clone(),
        bundle: m.bundle.map(str::to_string),
        pushed_by: None,
    })
}

// ---- signatures ------------------------------------------------------------------------------

/// Signs `statement` as the acting person, registering their public key on first use.
fn sign_statement(
    tx: &Connection,
    ctx: &mut crate::registry::WriteContext<'_>,
    signer: Option<&dyn Sign>,
    statement: &Value,
) -> Result<(String, String)> {
    let signer = signer.ok_or_else(|| {
        Error::Refused(format!(
            "approvals and releases are signed, and no signing key is available for {}; \
             `promptdesk keys check` says why",
            ctx.actor
        ))
    })?;
    let key_id = crate::signing_keys::ready_to_sign(tx, ctx, &signer.public_key())?;
    let signature = signer
        .sign(&signing::statement_bytes(statement))
        .map_err(|e| Error::Refused(format!("could not sign as {}: {e}", ctx.actor)))?;
    Ok((key_id, signature))
}

type KeyRow = Option<(String, String)>;

fn key_of(conn: &Connection, key_id: Option<&str>) -> Result<KeyRow> {
    let Some(k) = key_id else { return Ok(None) };
    Ok(conn
        .query_row(
            "SELECT person, public_key FROM signing_keys WHERE key_id = ?1",
            [k],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?)
}

/// Checks every signed decision and release against its signer's registered key; one line per
/// problem.
pub(crate) fn verify_signatures(conn: &Connection) -> Result<Vec<String>> {
    let mut problems = Vec::new();
    let mut stmt = conn.prepare(
        "SELECT e.id, r.id, r.number, r.label, e.content_hash, e.kind, e.actor, e.at, e.key_id, e.signature
         FROM review_events e JOIN reviews r ON r.number = e.review
         WHERE e.kind IN ('approve', 'request_changes') ORDER BY e.seq",
    )?;
    let mut rows = stmt.query([])?;
    while let Some(r) = rows.next()? {
        let (id, review_id, number): (String, String, u32) = (r.get(0)?, r.get(1)?, r.get(2)?);
        let (label, hash, kind): (String, Option<String>, String) =
            (r.get(3)?, r.get(4)?, r.get(5)?);
        let (actor, at): (String, String) = (r.get(6)?, r.get(7)?);
        let (key_id, signature): (Option<String>, Option<String>) = (r.get(8)?, r.get(9)?);
        let what = format!(
            "review #{number}: {actor}'s {} ({id})",
            kind.replace('_', " ")
        );
        let statement = decision_statement(
            &id,
            &review_id,
            &label,
            hash.as_deref().unwrap_or(""),
            &kind,
            &actor,
            &at,
        );
        let key = key_of(conn, key_id.as_deref())?;
        problems.extend(signature_problem(
            &what,
            &actor,
            key,
            &statement,
            signature.as_deref(),
        ));
    }
    let mut stmt = conn.prepare(
        "SELECT s.id, s.kind, s.label, s.from_hash, s.to_hash, s.changelog, r.id, s.actor, s.at,
                s.key_id, s.signature, p.name, s.decision
         FROM releases s JOIN prompts p ON p.id = s.prompt_id
         LEFT JOIN reviews r ON r.number = s.review ORDER BY s.seq",
    )?;
    let mut rows = stmt.query([])?;
    while let Some(r) = rows.next()? {
        let (id, kind, label): (String, String, String) = (r.get(0)?, r.get(1)?, r.get(2)?);
        let (from, to, changelog): (Option<String>, String, String) =
            (r.get(3)?, r.get(4)?, r.get(5)?);
        let (review_id, actor, at): (Option<String>, String, String) =
            (r.get(6)?, r.get(7)?, r.get(8)?);
        let (key_id, signature, prompt): (Option<String>, Option<String>, String) =
            (r.get(9)?, r.get(10)?, r.get(11)?);
        let what = format!("{kind} of {prompt} to {label} by {actor} ({id})");
        let decision: Value = serde_json::from_str(&r.get::<_, String>(12)?).unwrap_or(Value::Null);
        let statement = release_statement(&ReleaseStatement {
            id: &id,
            kind: &kind,
            label: &label,
            from_hash: from.as_deref(),
            to_hash: &to,
            changelog: &changelog,
            review_id: review_id.as_deref(),
            actor: &actor,
            at: &at,
            eval_run: decision_eval_run(&decision),
        });
        let key = key_of(conn, key_id.as_deref())?;
        problems.extend(signature_problem(
            &what,
            &actor,
            key,
            &statement,
            signature.as_deref(),
        ));
    }
    Ok(problems)
}

/// What is wrong with one signed record, if anything.
fn signature_problem(
    what: &str,
    actor: &str,
    key: KeyRow,
    statement: &Value,
    signature: Option<&str>,
) -> Option<String> {
    let (Some((owner, public_key)), Some(signature)) = (key, signature) else {
        return Some(format!("{what} is not signed"));
    };
    if owner != actor {
        Some(format!("{what} is signed with {owner}'s key"))
    } else if !signing::verify(&public_key, &signing::statement_bytes(statement), signature) {
        Some(format!(
            "{what}: the signature does not match what is recorded"
        ))
    } else {
        None
    }
}

fn releases_of(
    conn: &Connection,
    name: &str,
    prompt_id: i64,
    label: Option<&str>,
) -> Result<Vec<Release>> {
    let mut stmt = conn.prepare_cached(
        "SELECT r.id, r.label, r.kind, vf.number, r.from_hash, vt.number, r.to_hash, r.changelog, r.review,
                r.decision, r.actor, r.actor_role, r.at, r.bundle, s.pushed_by
         FROM releases r
         LEFT JOIN sync_events s ON s.event_id = r.id
         JOIN versions vt ON vt.prompt_id = r.prompt_id AND vt.hash = r.to_hash
         LEFT JOIN versions vf ON vf.prompt_id = r.prompt_id AND vf.hash = r.from_hash
         WHERE r.prompt_id = ?1 AND (?2 IS NULL OR r.label = ?2)
         ORDER BY r.seq DESC",
    )?;
    let rows = stmt.query_map(params![prompt_id, label], |r| {
        let decision: Value = serde_json::from_str(&r.get::<_, String>(9)?).unwrap_or(Value::Null);
        Ok(Release {
            id: r.get(0)?,
            prompt: name.to_string(),
            label: r.get(1)?,
            kind: r.get(2)?,
            from_version: r.get(3)?,
            from_hash: r.get(4)?,
            to_version: r.get(5)?,
            to_hash: r.get(6)?,
            changelog: r.get(7)?,
            review: r.get(8)?,
            approvals: decision["counted_approvals"]
                .as_array()
                .map(|a| {
                    a.iter()
                        .filter_map(|v| v.as_str().map(str::to_string))
                        .collect()
                })
                .unwrap_or_default(),
            actor: r.get(10)?,
            actor_role: role_column(r, 11)?,
            at: r.get(12)?,
            bundle: r.get(13)?,
            pushed_by: r.get(14)?,
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

fn check_anchor(conn: &Connection, review: &Review, anchor: &Anchor) -> Result<()> {
    let v = resolve_version(conn, &review.prompt, Some(&Ref::Number(review.version)))?;
    let templates = v.content.body.templates();
    let source = match anchor.template.as_str() {
        "template" => templates
            .first()
            .map(|(_, s)| *s)
            .filter(|_| v.content.body.kind() == promptdesk_content::PromptKind::Text),
        other => other
            .strip_prefix("message ")
            .and_then(|n| n.parse::<usize>().ok())
            .and_then(|n| n.checked_sub(1))
            .and_then(|i| templates.get(i).map(|(_, s)| *s)),
    };
    let Some(source) = source else {
        return Err(Error::bad(format!(
            "{}@{} has no {}; anchor a comment to `template` or `message N`",
            review.prompt, review.version, anchor.template
        )));
    };
    let lines = source.lines().count().max(1) as u32;
    if anchor.line == 0 || anchor.line > lines {
        return Err(Error::bad(format!(
            "line {} is outside {} of {}@{} (it has {lines} lines)",
            anchor.line, anchor.template, review.prompt, review.version
        )));
    }
    Ok(())
}
