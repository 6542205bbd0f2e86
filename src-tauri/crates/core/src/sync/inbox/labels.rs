//! Pulled `label.move`: labels set, released and rolled back. Releases and rollbacks are
//! recorded with the server's verdict (the policy ran there); a rollback to content the label
//! never served here is set aside. Also: putting a label back where the server has it after
//! the server refused a move made here.

use rusqlite::Connection;
use serde_json::{json, Value};

use super::{misrouted, prompt_id, review_number, role_in, version_number, witness, Pulled};
use crate::error::{Error, Result};
use crate::registry::WriteContext;
use crate::release::records::{self as release_records, Record, ReleaseRecord};
use crate::store::{labels, prompts, versions};
use crate::sync::{EventBody, MoveKind};
/// A label moved: set by hand, released, or rolled back (the server ran the policy).
pub(super) fn move_label(tx: &Connection, ctx: &mut WriteContext<'_>, p: &Pulled) -> Result<()> {
    let e = &p.event;
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
        evidence: _,
    } = &e.body
    else {
        return Err(misrouted(e));
    };
    let id = prompt_id(tx, prompt)?;
    let to = version_number(tx, id, prompt, to_hash)?;
    let from = from_hash
        .as_deref()
        .map(|h| version_number(tx, id, prompt, h))
        .transpose()?;
    let here = labels::get(tx, id, label)?.map(|l| l.hash);
    let from_json = from.map(|n| json!({ "number": n, "hash": from_hash }));
    match kind {
        MoveKind::Set => {
            witness(
                tx,
                ctx,
                p,
                "label.moved",
                prompt,
                json!({ "label": label, "from": from_json,
                        "to": { "number": to, "hash": to_hash }, "reason": changelog }),
            )?;
        }
        MoveKind::Release | MoveKind::Rollback => {
            // The rule the server applies, checked again here: a rollback returns a
            // label only to content it served before, never onto a label serving
            // nothing. A registry that pulls one anyway sets it aside.
            if *kind == MoveKind::Rollback {
                let served = labels::has_served(tx, id, label, to_hash)?;
                if here.is_none() || !served {
                    return Err(Error::Integrity(format!(
                        "it rolls {label} of {prompt} back to version {to}, which {label} \
                         never served here{}: a rollback only returns to what a label \
                         served before",
                        if here.is_none() {
                            " (it serves nothing yet)"
                        } else {
                            ""
                        }
                    )));
                }
            }
            let review_no = review
                .as_deref()
                .map(|r| review_number(tx, r))
                .transpose()?;
            let decision = p
                .assigned
                .get("decision")
                .cloned()
                .filter(Value::is_object)
                .unwrap_or_else(|| json!({}));
            let role = role_in(&p.assigned);
            let (Some(key_id), Some(signature)) = (key_id, signature) else {
                return Err(Error::Integrity("the release carries no signature".into()));
            };
            release_records::apply(
                tx,
                &Record::Release(ReleaseRecord {
                    id: e.id.clone(),
                    prompt: prompt.clone(),
                    label: label.clone(),
                    kind: kind.as_str().into(),
                    from_version: from,
                    from_hash: from_hash.clone(),
                    to_version: to,
                    to_hash: to_hash.clone(),
                    changelog: changelog.clone(),
                    review: review_no,
                    decision: decision.clone(),
                    actor: e.author.clone(),
                    actor_role: role,
                    at: e.at.clone(),
                    bundle: bundle.clone(),
                    key_id: key_id.clone(),
                    signature: signature.clone(),
                }),
            )?;
            witness(
                tx,
                ctx,
                p,
                &format!("{}.recorded", kind.as_str()),
                prompt,
                json!({
                    "id": e.id, "label": label, "kind": kind.as_str(),
                    "from": from_json,
                    "to": { "number": to, "hash": to_hash },
                    "changelog": changelog, "review": review_no,
                    "approvals": decision.get("counted_approvals").cloned().unwrap_or(Value::Null),
                    "role": role, "key_id": key_id, "signature": signature,
                }),
            )?;
        }
    }
    // The server's state wins: the label serves what the server says it serves.
    if here.as_deref() != Some(to_hash.as_str()) {
        labels::set(
            tx,
            id,
            label,
            here.as_deref(),
            to_hash,
            &e.author,
            &e.at,
            changelog,
        )?;
    }
    Ok(())
}

impl crate::registry::Registry {
    /// Puts `label` of `prompt` back where the server has it (after the server refused a move
    /// made here). `server_hash` is what the server serves, `None` when the label is not set
    /// there. Returns whether anything changed.
    pub fn sync_restore_label(
        &mut self,
        prompt: &str,
        label: &str,
        server_hash: Option<&str>,
        why: &str,
    ) -> Result<bool> {
        self.write(|tx, ctx| {
            let Some(p) = prompts::find(tx, prompt)? else {
                return Ok(false);
            };
            let here = labels::get(tx, p.id, label)?;
            if here.as_ref().map(|l| l.hash.as_str()) == server_hash {
                return Ok(false);
            }
            match server_hash {
                Some(hash) => {
                    if versions::by_hash(tx, p.id, hash)?.is_none() {
                        return Err(Error::NotFound(format!(
                            "{label} of {prompt} serves #{} on the server, which is not here yet: pull first",
                            &hash[..12.min(hash.len())]
                        )));
                    }
                    labels::set(
                        tx,
                        p.id,
                        label,
                        here.as_ref().map(|l| l.hash.as_str()),
                        hash,
                        ctx.actor,
                        &ctx.at,
                        why,
                    )?;
                }
                None => {
                    labels::remove(tx, p.id, label)?;
                }
            }
            ctx.event(
                tx,
                "label.restored",
                prompt,
                json!({ "label": label, "from": here.map(|l| l.hash), "to": server_hash,
                        "reason": why }),
            )?;
            Ok(true)
        })
    }
}
