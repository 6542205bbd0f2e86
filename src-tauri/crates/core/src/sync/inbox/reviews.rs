//! Pulled `review.request` and `review.event`: review requests, and the comments and signed
//! decisions on them, recorded with the role the server assigned their author.

use rusqlite::Connection;
use serde_json::json;

use super::{misrouted, prompt_id, review_number, role_in, version_number, witness, Pulled};
use crate::error::{Error, Result};
use crate::registry::WriteContext;
use crate::release::records::{self as release_records, Record, ReviewEventRecord, ReviewRecord};
use crate::store::reviews;
use crate::sync::EventBody;
/// A review request of one version for a label.
pub(super) fn request(tx: &Connection, ctx: &mut WriteContext<'_>, p: &Pulled) -> Result<()> {
    let e = &p.event;
    let EventBody::ReviewRequest {
        prompt,
        version_hash,
        label,
        description,
    } = &e.body
    else {
        return Err(misrouted(e));
    };
    let id = prompt_id(tx, prompt)?;
    let version = version_number(tx, id, prompt, version_hash)?;
    let number = reviews::next_number(tx)?;
    release_records::apply(
        tx,
        &Record::Review(ReviewRecord {
            number,
            id: e.id.clone(),
            prompt: prompt.clone(),
            version,
            version_hash: version_hash.clone(),
            label: label.clone(),
            description: description.clone(),
            requested_by: e.author.clone(),
            requested_at: e.at.clone(),
        }),
    )?;
    witness(
        tx,
        ctx,
        p,
        "review.requested",
        prompt,
        json!({ "review": number, "id": e.id, "version": version, "hash": version_hash,
                "label": label, "description": description }),
    )?;
    Ok(())
}

/// A comment, approval, request for changes or close, as its author signed it.
pub(super) fn event(tx: &Connection, ctx: &mut WriteContext<'_>, p: &Pulled) -> Result<()> {
    let e = &p.event;
    let EventBody::ReviewEvent {
        review,
        decision,
        body,
        anchor,
        reply_to,
        content_hash,
        key_id,
        signature,
    } = &e.body
    else {
        return Err(misrouted(e));
    };
    let number = review_number(tx, review)?;
    let prompt = reviews::head(tx, number)?
        .map(|h| h.prompt)
        .ok_or_else(|| Error::bad(format!("review #{number} is not in this registry")))?;
    let role = role_in(&p.assigned);
    let anchor = anchor
        .as_ref()
        .map(|a| serde_json::from_value(a.clone()))
        .transpose()
        .map_err(|err| Error::bad(format!("its anchor: {err}")))?;
    release_records::apply(
        tx,
        &Record::ReviewEvent(ReviewEventRecord {
            id: e.id.clone(),
            review: number,
            kind: decision.as_str().into(),
            actor: e.author.clone(),
            actor_role: role,
            at: e.at.clone(),
            body: body.clone(),
            anchor: anchor.clone(),
            reply_to: reply_to.clone(),
            content_hash: content_hash.clone(),
            key_id: key_id.clone(),
            signature: signature.clone(),
        }),
    )?;
    witness(
        tx,
        ctx,
        p,
        &format!("review.{}", decision.as_str()),
        &prompt,
        {
            let mut payload = json!({ "review": number, "id": e.id, "body": body,
                                      "anchor": anchor, "hash": content_hash, "role": role });
            if let Some(k) = key_id {
                payload["key_id"] = json!(k);
            }
            payload
        },
    )?;
    Ok(())
}
