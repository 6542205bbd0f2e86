//! Pulled `version.create`: a version, placed at the number the server gave it. A prompt
//! made here under the same name as another kind keeps its versions; the pulled one is set
//! aside with what to do.

use rusqlite::Connection;
use serde_json::{json, Value};

use super::numbering::{place_version, refresh_latest, renumber};
use super::{misrouted, prompt_id, record_exchange, witness, PullReport, Pulled};
use crate::error::{Error, Result};
use crate::registry::WriteContext;
use crate::store::{prompts, versions};
use crate::sync::EventBody;
/// A version, at the number the server gave it (moving one made here out of the way).
pub(super) fn create(
    tx: &Connection,
    ctx: &mut WriteContext<'_>,
    p: &Pulled,
    report: &mut PullReport,
) -> Result<()> {
    let e = &p.event;
    let EventBody::VersionCreate {
        prompt,
        hash,
        parent_hash,
        content,
        message,
    } = &e.body
    else {
        return Err(misrouted(e));
    };
    let id = prompt_id(tx, prompt)?;
    // Two people made this name offline as different kinds and the server kept the
    // other one: its versions cannot live in the prompt made here.
    let here = prompts::get_by_id(tx, id)?.kind;
    if here != content.kind() {
        return Err(Error::Conflict(format!(
            "{prompt} is a {} prompt here, but the server's {prompt} is {} (its \
             creation reached the server first): rename the prompt made here to keep \
             both",
            here.as_str(),
            content.kind().as_str()
        )));
    }
    let number = p
        .assigned
        .get("number")
        .and_then(Value::as_u64)
        .ok_or_else(|| Error::Integrity("the server assigned it no number".into()))?
        as u32;
    if versions::by_hash(tx, id, hash)?.is_some() {
        // The same content was saved here too: one version, the server's number.
        report.renumbered += place_version(tx, ctx, id, prompt, hash, number)?;
        record_exchange(tx, e, None, Some(p.seq), "pulled", "", &ctx.at)?;
    } else {
        if let Some(occupant) = versions::by_number(tx, id, number)? {
            let free = versions::latest_number(tx, id)?.unwrap_or(0) + 1;
            renumber(tx, ctx, id, prompt, &occupant.hash, number, free)?;
            report.renumbered += 1;
        }
        let bytes = content.canonical_bytes();
        versions::insert(
            tx,
            &versions::StoredVersion {
                prompt_id: id,
                number,
                hash: hash.clone(),
                parent_hash: parent_hash.clone(),
                content: String::from_utf8(bytes).expect("canonical JSON is UTF-8"),
                author: e.author.clone(),
                message: message.clone(),
                created_at: e.at.clone(),
            },
        )?;
        witness(
            tx,
            ctx,
            p,
            "version.created",
            prompt,
            json!({ "number": number, "hash": hash, "parent": parent_hash,
                    "message": message, "includes": content.includes }),
        )?;
    }
    refresh_latest(tx, ctx, id, prompt)?;
    Ok(())
}
