//! Review requests: opening one, comments anchored to lines, signed decisions bound to
//! content, and each request's status.

use rusqlite::{params, Connection, OptionalExtension};
use serde_json::json;

use crate::error::{Error, Result};
use crate::model::Version;
use crate::policy::{check_action, check_release, Action, ApprovalFact, Decision, Role, Situation};
use crate::refs::Ref;
use crate::registry::{resolve_version, Registry};
use crate::store::{labels, prompts};

use super::*;
use promptdesk_protocol::statements::{decision_statement, Anchor};

impl Registry {
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
}

pub(crate) fn review_by_number(conn: &Connection, number: u32) -> Result<Option<Review>> {
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

pub(crate) fn review_status(
    conn: &Connection,
    review: &Review,
    prompt_id: i64,
) -> Result<ReviewStatus> {
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

pub(crate) struct DecisionRow {
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
pub(crate) fn latest_decisions(
    conn: &Connection,
    prompt_id: i64,
    label: &str,
) -> Result<Vec<DecisionRow>> {
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

pub(crate) fn decide(
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

pub(crate) fn open_review_for(
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

pub(crate) fn check_anchor(conn: &Connection, review: &Review, anchor: &Anchor) -> Result<()> {
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
