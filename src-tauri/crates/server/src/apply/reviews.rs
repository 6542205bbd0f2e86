//! `review.request` and `review.event` (comments and signed decisions).
//!
//! Beyond roles and signatures, everything a registry's apply reads is checked here, so that no
//! review event can stop anyone's pull: the review exists, a decision is bound to exactly the
//! content the review is of, a comment carries no hash, key or signature, an anchor is a line of
//! a template, and a reply answers an earlier event of the same review.

use promptdesk_protocol::events::{EventBody, ReviewEventKind};
use promptdesk_protocol::policy::{self, Action};
use promptdesk_protocol::statements::{decision_statement, Anchor};
use serde_json::{json, Value};

use super::{check_signature, misrouted, refuse, version_of, Push, Revoked};
use crate::error::{Result, ServerError};
use crate::store::{DecisionRow, ReviewRow, Tx};

/// The most text one comment or review description may hold.
const MAX_TEXT_BYTES: usize = 256 * 1024;

pub(super) fn apply(tx: &mut dyn Tx, push: &Push<'_>) -> Result<Value> {
    match &push.event.body {
        EventBody::ReviewRequest {
            prompt,
            version_hash,
            label,
            description,
        } => {
            policy::check_action(push.author, push.role, Action::RequestReview).map_err(refuse)?;
            check_text("the review's description", description)?;
            version_of(tx, prompt, version_hash)?;
            tx.insert_review(&ReviewRow {
                id: push.event.id.clone(),
                prompt: prompt.clone(),
                version_hash: version_hash.clone(),
                label: label.clone(),
                requested_by: push.author.to_string(),
            })?;
            Ok(json!({}))
        }
        EventBody::ReviewEvent { .. } => review_event(tx, push),
        other => Err(misrouted(other)),
    }
}

fn review_event(tx: &mut dyn Tx, push: &Push<'_>) -> Result<Value> {
    let EventBody::ReviewEvent {
        review,
        decision,
        body,
        anchor,
        reply_to,
        content_hash,
        key_id,
        signature,
    } = &push.event.body
    else {
        return Err(misrouted(&push.event.body));
    };
    let (event, author, role) = (push.event, push.author, push.role);
    let r = tx.review(review)?.ok_or_else(|| {
        ServerError::NotFound(format!(
            "review {review} is not on the server: push the review request first"
        ))
    })?;
    check_text("the comment", body)?;
    if let Some(anchor) = anchor {
        check_anchor(anchor)?;
    }
    if let Some(parent) = reply_to {
        check_reply(tx, review, parent)?;
    }
    if decision.is_decision() {
        let action = if *decision == ReviewEventKind::Approve {
            Action::Approve
        } else {
            Action::RequestChanges
        };
        policy::check_action(author, role, action).map_err(refuse)?;
        let hash = content_hash.as_deref().unwrap_or_default();
        if hash != r.version_hash {
            return Err(ServerError::BadInput(format!(
                "the decision is bound to content {hash}, but review {review} is of {}",
                r.version_hash
            )));
        }
        let v = version_of(tx, &r.prompt, hash)?;
        if *decision == ReviewEventKind::Approve && v.author == author {
            return Err(refuse(format!(
                "{author} wrote version {} of {} and may not approve it",
                v.number, r.prompt
            )));
        }
        let statement = decision_statement(
            &event.id,
            review,
            &r.label,
            hash,
            decision.as_str(),
            author,
            &event.at,
        );
        // A decision signed with a revoked key is kept (it may be history an admin carries over)
        // and counts for nothing: the decisions the policy reads leave it out.
        check_signature(tx, author, key_id, signature, &statement, Revoked::Kept)?;
        tx.insert_decision(&DecisionRow {
            id: event.id.clone(),
            review: review.clone(),
            prompt: r.prompt.clone(),
            label: r.label.clone(),
            content_hash: hash.to_string(),
            actor: author.to_string(),
            actor_role: role,
            kind: decision.as_str().into(),
            at: push.now.to_string(),
            key_id: key_id.clone(),
        })?;
    } else {
        policy::check_action(author, role, Action::Comment).map_err(refuse)?;
        if content_hash.is_some() || key_id.is_some() || signature.is_some() {
            return Err(ServerError::BadInput(format!(
                "a {} carries no content hash, key or signature",
                decision.as_str()
            )));
        }
    }
    // The role the server weighed, so every registry records the decision alike.
    Ok(json!({ "actor_role": role }))
}

fn check_text(what: &str, text: &str) -> Result<()> {
    if text.len() > MAX_TEXT_BYTES {
        return Err(ServerError::BadInput(format!(
            "{what} is {} KiB; at most {} KiB are taken",
            text.len() / 1024,
            MAX_TEXT_BYTES / 1024
        )));
    }
    Ok(())
}

/// An anchor is what every registry stores and shows: a template (`template` or `message N`)
/// and a line in it.
fn check_anchor(anchor: &Value) -> Result<()> {
    let parsed: Anchor = serde_json::from_value(anchor.clone()).map_err(|e| {
        ServerError::BadInput(format!(
            "the comment's anchor must be {{\"template\": \"template\" or \"message N\", \"line\": N}}: {e}"
        ))
    })?;
    let names_a_template = parsed.template == "template"
        || parsed
            .template
            .strip_prefix("message ")
            .is_some_and(|n| n.parse::<u32>().is_ok());
    if !names_a_template || parsed.line == 0 || parsed.line > 1_000_000 {
        return Err(ServerError::BadInput(format!(
            "the comment's anchor must name \"template\" or \"message N\" and a line from 1 \
             (got {:?}, line {})",
            parsed.template, parsed.line
        )));
    }
    Ok(())
}

/// A reply answers an earlier comment or decision of the same review.
fn check_reply(tx: &mut dyn Tx, review: &str, parent: &str) -> Result<()> {
    let answered = tx.event(parent)?.is_some_and(|e| {
        e.event.get("kind").and_then(Value::as_str) == Some("review.event")
            && e.event.pointer("/payload/review").and_then(Value::as_str) == Some(review)
    });
    if !answered {
        return Err(ServerError::NotFound(format!(
            "the comment replies to {parent}, which is not an earlier event of review {review} \
             on the server"
        )));
    }
    Ok(())
}
