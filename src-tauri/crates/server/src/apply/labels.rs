//! `label.move`: releases, rollbacks and plain moves, as a compare-and-swap on what the mover
//! saw, under the label's release policy at the server's time.
//!
//! - A **release** needs its policy's conditions (role, approvals of exactly this content by
//!   others than its author, changelog, test suite, no freeze) and its releaser's signature.
//! - A **rollback** skips fresh approvals and freezes, because it returns the label to content
//!   it already served: so it is allowed only to content in this label's history on the server
//!   (every move there met the policy of its time), and never onto a label that serves nothing
//!   (that would be a first release without review).
//! - A plain **set** moves only an unprotected label.
//!
//! Every accepted move goes into the label's history with the server's time.

use promptdesk_protocol::events::{EventBody, MoveKind};
use promptdesk_protocol::policy::{self, Action, ApprovalFact, Policy, Role, Situation};
use promptdesk_protocol::statements::{release_statement, ReleaseStatement};
use serde_json::{json, Value};

use super::{check_signature, misrouted, refuse, version_of, Push, Revoked};
use crate::error::{Result, ServerError};
use crate::store::{LabelMoveRow, LabelRow, Tx, VersionRow};

/// The most characters a bundle id may have (bundles are named by a UUID).
const MAX_BUNDLE_CHARS: usize = 100;

pub(super) fn apply(tx: &mut dyn Tx, push: &Push<'_>) -> Result<Value> {
    let EventBody::LabelMove {
        prompt,
        label,
        kind,
        from_hash,
        to_hash,
        changelog,
        review,
        bundle,
        key_id,
        signature,
        evidence,
    } = &push.event.body
    else {
        return Err(misrouted(&push.event.body));
    };
    let (event, author, role) = (push.event, push.author, push.role);
    let target = version_of(tx, prompt, to_hash)?;
    let current = tx.label(prompt, label)?;
    check_expected(prompt, label, current.as_ref(), from_hash.as_deref())?;
    if bundle
        .as_ref()
        .is_some_and(|b| b.chars().count() > MAX_BUNDLE_CHARS)
    {
        return Err(ServerError::BadInput(format!(
            "a bundle id has at most {MAX_BUNDLE_CHARS} characters"
        )));
    }
    if *kind == MoveKind::Rollback {
        check_rollback_target(tx, prompt, label, current.as_ref(), &target)?;
    }
    if let Some(review) = review {
        check_review(tx, *kind, review, prompt, label, to_hash)?;
    }
    let policy = policy_of(tx, label)?;
    let decision = decide(
        tx,
        author,
        role,
        &target,
        label,
        changelog,
        *kind == MoveKind::Rollback,
        push.now,
        evidence.as_ref(),
    )?;
    match kind {
        MoveKind::Set if policy.is_protected() => {
            return Err(refuse(format!(
            "{label} is protected: it moves only by a signed release that meets its policy ({})",
            if decision.allowed {
                "release it with `promptdesk release`".to_string()
            } else {
                decision.refusal()
            }
        )))
        }
        MoveKind::Set => {
            policy::check_action(author, role, Action::CommitVersion).map_err(refuse)?;
            if key_id.is_some() || signature.is_some() || evidence.is_some() {
                return Err(ServerError::BadInput(
                    "a plain label move carries no key, signature or evidence".into(),
                ));
            }
        }
        MoveKind::Release | MoveKind::Rollback => {
            if !decision.allowed {
                return Err(refuse(format!(
                    "cannot move {label} of {prompt} to version {}: {}",
                    target.number,
                    decision.refusal()
                )));
            }
            let statement = release_statement(&ReleaseStatement {
                id: &event.id,
                kind: kind.as_str(),
                label,
                from_hash: from_hash.as_deref(),
                to_hash,
                changelog,
                review_id: review.as_deref(),
                actor: author,
                at: &event.at,
                eval_run: evidence.as_ref().and_then(|e| e.run_id.as_deref()),
            });
            check_signature(tx, author, key_id, signature, &statement, Revoked::Refused)?;
        }
    }
    tx.set_label(&LabelRow {
        prompt: prompt.clone(),
        label: label.clone(),
        hash: to_hash.clone(),
        number: target.number,
        moved_at: push.now.to_string(),
        moved_by: author.to_string(),
    })?;
    tx.insert_label_move(&LabelMoveRow {
        prompt: prompt.clone(),
        label: label.clone(),
        kind: kind.as_str().into(),
        from_hash: from_hash.clone(),
        to_hash: to_hash.clone(),
        event_id: event.id.clone(),
        moved_by: author.to_string(),
        moved_at: push.now.to_string(),
    })?;
    // What the server decided travels with the event: registries that pull it record this
    // release as the server allowed it, not as they would judge it today.
    Ok(json!({
        "number": target.number,
        "from_number": current.map(|c| c.number),
        "actor_role": role,
        "decision": decision,
    }))
}

/// A rollback goes back to content this label served before (through a move this server
/// accepted), from content it serves now.
fn check_rollback_target(
    tx: &mut dyn Tx,
    prompt: &str,
    label: &str,
    current: Option<&LabelRow>,
    target: &VersionRow,
) -> Result<()> {
    let Some(current) = current else {
        return Err(refuse(format!(
            "{label} of {prompt} serves nothing yet, so there is nothing to roll back: its first \
             version is released through review"
        )));
    };
    if current.hash == target.hash {
        return Err(ServerError::Conflict(format!(
            "{label} of {prompt} already serves version {}",
            target.number
        )));
    }
    if !tx.label_served(prompt, label, &target.hash)? {
        return Err(refuse(format!(
            "{label} of {prompt} never served version {}: a rollback only returns to a version \
             it served before; release version {} through review instead",
            target.number, target.number
        )));
    }
    Ok(())
}

/// A release names the review it ships: one on the server, of this prompt, label and content.
/// A rollback ships no review.
fn check_review(
    tx: &mut dyn Tx,
    kind: MoveKind,
    review: &str,
    prompt: &str,
    label: &str,
    to_hash: &str,
) -> Result<()> {
    if kind != MoveKind::Release {
        return Err(ServerError::BadInput(format!(
            "a {} ships no review (this one names review {review})",
            kind.as_str()
        )));
    }
    let r = tx.review(review)?.ok_or_else(|| {
        ServerError::NotFound(format!(
            "the release ships review {review}, which is not on the server: push it first"
        ))
    })?;
    if r.prompt != prompt || r.label != label || r.version_hash != to_hash {
        return Err(ServerError::BadInput(format!(
            "review {review} asks to release {} of {} to {}, not {to_hash} of {prompt} to {label}",
            r.version_hash, r.prompt, r.label
        )));
    }
    Ok(())
}

/// A label move's compare-and-swap: the mover saw `expected`; refuse when it moved since.
pub fn check_expected(
    prompt: &str,
    label: &str,
    current: Option<&LabelRow>,
    expected: Option<&str>,
) -> Result<()> {
    if current.map(|c| c.hash.as_str()) == expected {
        return Ok(());
    }
    Err(ServerError::Conflict(match current {
        Some(c) => format!(
            "{label} of {prompt} moved to version {} (by {} at {}) before this move arrived; \
             it now serves {}",
            c.number, c.moved_by, c.moved_at, c.hash
        ),
        None => format!("{label} of {prompt} no longer points anywhere; move it again"),
    }))
}

pub fn policy_of(tx: &mut dyn Tx, label: &str) -> Result<Policy> {
    Ok(tx
        .policy(label)?
        .unwrap_or_else(|| Policy::default_for(label)))
}

/// The release policy's verdict on serving `target` from `label` at `now` (the server's
/// clock), with the approvals on record (signed with keys their reviewers registered).
#[allow(clippy::too_many_arguments)] // the facts a decision weighs
pub fn decide(
    tx: &mut dyn Tx,
    actor: &str,
    actor_role: Role,
    target: &VersionRow,
    label: &str,
    changelog: &str,
    rollback: bool,
    now: &str,
    evidence: Option<&policy::SuiteResult>,
) -> Result<policy::Decision> {
    let policy = policy_of(tx, label)?;
    // The server runs no evals, and takes no one's word for a run's numbers: the release cites
    // a run (by id, signed), and the verdict comes from that run as synced to the server,
    // checked against the candidate, its settings and the suite's cases here.
    let suite_results: Vec<policy::SuiteResult> = match &policy.required_suite {
        Some(req) if !rollback => vec![super::evidence::suite_result(
            tx, req, target, label, evidence,
        )?],
        _ => Vec::new(),
    };
    let approvals: Vec<ApprovalFact> = tx
        .decisions(&target.prompt, label)?
        .into_iter()
        .filter(|d| d.kind == "approve")
        .map(|d| ApprovalFact {
            reviewer: d.actor,
            reviewer_role: d.actor_role,
            version: if d.content_hash == target.hash {
                target.number
            } else {
                0
            },
            content_hash: d.content_hash,
        })
        .collect();
    Ok(policy::check_release(
        &policy,
        &Situation {
            label,
            actor,
            actor_role,
            version: target.number,
            version_hash: &target.hash,
            version_author: &target.author,
            changelog,
            approvals: &approvals,
            suite_results: &suite_results,
            now,
            rollback,
        },
    ))
}
