//! Review requests: opening one, comments anchored to lines, signed decisions bound to
//! content, and each request's status.

use rusqlite::Connection;
use serde_json::json;

use crate::error::{Error, Result};
use crate::model::Version;
use crate::policy::{check_action, check_release, Action, ApprovalFact, Decision, Role, Situation};
use crate::refs::Ref;
use crate::registry::{resolve_version, Registry};
use crate::store::{labels, prompts, releases, reviews};

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
            check_action(&actor, role_of(tx, &actor)?, Action::RequestReview)
                .map_err(Error::Refused)?;
            let p = prompts::get(tx, name)?;
            let v = resolve_version(tx, name, reference)?;
            if labels::get(tx, p.id, label)?.is_some_and(|l| l.hash == v.hash) {
                return Err(Error::Conflict(format!(
                    "{label} already serves {name}@{}; there is nothing to review",
                    v.number
                )));
            }
            let id = ctx.new_id();
            let number = reviews::insert(
                tx,
                &reviews::ReviewRow {
                    number: 0,
                    id: id.clone(),
                    prompt_id: p.id,
                    version_hash: v.hash.clone(),
                    label: label.to_string(),
                    description: description.trim().to_string(),
                    requested_by: ctx.actor.to_string(),
                    requested_at: ctx.at.clone(),
                },
            )?;
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
        let events = reviews::thread(conn, number)?
            .into_iter()
            .map(|t| ReviewEvent {
                anchor: t
                    .row
                    .anchor
                    .as_deref()
                    .and_then(|a| serde_json::from_str(a).ok()),
                actor_role: role_or_least(&t.row.actor_role),
                id: t.row.id,
                kind: t.row.kind,
                actor: t.row.actor,
                at: t.row.at,
                body: t.row.body,
                reply_to: t.row.reply_to,
                content_hash: t.row.content_hash,
                version: t.version,
                pushed_by: t.pushed_by,
                key_revoked: t.key_revoked,
            })
            .collect();
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
        let mut out = Vec::new();
        for n in reviews::numbers_newest_first(self.connection())? {
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
            if matches!(review.status, ReviewStatus::Released | ReviewStatus::Closed)
                && kind != "comment"
            {
                return Err(Error::Refused(format!(
                    "review #{number} is {}; open a new one for further decisions",
                    if review.status == ReviewStatus::Released {
                        "released"
                    } else {
                        "closed"
                    }
                )));
            }
            if decision {
                // Their latest decision on this content, as the release decision reads it: one
                // signed with a key revoked since is no decision at all.
                let last = reviews::last_decision(
                    tx,
                    number,
                    &review.label,
                    &actor,
                    &review.version_hash,
                )?;
                let last = last.filter(|(_, revoked)| !revoked).map(|(k, _)| k);
                if last.as_deref() == Some(kind) {
                    return Err(Error::Conflict(format!(
                        "{actor} already {} {}@{} for {}",
                        if kind == "approve" {
                            "approved"
                        } else {
                            "asked for changes on"
                        },
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
                if !reviews::is_event_of(tx, parent, number)? {
                    return Err(Error::bad(format!(
                        "review #{number} has no comment {parent} to reply to"
                    )));
                }
            }
            if let Some(a) = anchor {
                check_anchor(tx, &review, a)?;
            }
            let id = ctx.new_id();
            let anchor_json = anchor.map(|a| serde_json::to_string(a).expect("anchors serialise"));
            let content_hash = decision.then(|| review.version_hash.clone());
            let (key_id, signature) = if decision {
                let statement = decision_statement(
                    &id,
                    &review.id,
                    &review.label,
                    &review.version_hash,
                    kind,
                    ctx.actor,
                    &ctx.at,
                );
                let (k, sig) = sign_statement(tx, ctx, signer.as_deref(), &statement)?;
                (Some(k), Some(sig))
            } else {
                (None, None)
            };
            reviews::insert_event(
                tx,
                &reviews::EventRow {
                    id: id.clone(),
                    review: number,
                    kind: kind.to_string(),
                    actor: ctx.actor.to_string(),
                    actor_role: role.as_str().to_string(),
                    at: ctx.at.clone(),
                    body: body.trim().to_string(),
                    anchor: anchor_json,
                    reply_to: reply_to.map(str::to_string),
                    content_hash: content_hash.clone(),
                    key_id: key_id.clone(),
                    signature,
                },
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
    let Some(head) = reviews::head(conn, number)? else {
        return Ok(None);
    };
    let prompt_id = head.row.prompt_id;
    let mut review = Review {
        number: head.row.number,
        id: head.row.id,
        prompt: head.prompt,
        version: head.version,
        version_hash: head.row.version_hash,
        version_author: head.version_author,
        label: head.row.label,
        description: head.row.description,
        requested_by: head.row.requested_by,
        requested_at: head.row.requested_at,
        status: ReviewStatus::Open,
    };
    review.status = review_status(conn, &review, prompt_id)?;
    Ok(Some(review))
}

pub(crate) fn review_status(
    conn: &Connection,
    review: &Review,
    prompt_id: i64,
) -> Result<ReviewStatus> {
    if releases::released_review(conn, review.number)? {
        return Ok(ReviewStatus::Released);
    }
    if reviews::last_close_or_reopen(conn, review.number)?.as_deref() == Some("close") {
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
    Ok(reviews::latest_decisions(conn, prompt_id, label)?
        .into_iter()
        .map(|d| DecisionRow {
            fact: ApprovalFact {
                reviewer: d.actor,
                reviewer_role: role_or_least(&d.actor_role),
                content_hash: d.content_hash.clone(),
                version: d.version,
            },
            kind: d.kind,
            content_hash: d.content_hash,
        })
        .collect())
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
    reviews::open_for(conn, prompt_id, label, hash)
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
            "line {} is outside {} of {}@{} (it has {})",
            anchor.line,
            anchor.template,
            review.prompt,
            review.version,
            lines_text(lines)
        )));
    }
    Ok(())
}

/// "1 line", "3 lines".
fn lines_text(n: u32) -> String {
    format!("{n} line{}", if n == 1 { "" } else { "s" })
}

#[cfg(test)]
mod tests {
    #[test]
    fn one_line_is_one_line() {
        assert_eq!(super::lines_text(1), "1 line");
        assert_eq!(super::lines_text(3), "3 lines");
    }
}
