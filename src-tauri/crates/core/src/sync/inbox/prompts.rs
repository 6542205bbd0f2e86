//! Pulled `prompt.create` and `prompt.update`: a prompt made or described elsewhere.

use rusqlite::Connection;
use serde_json::json;

use super::{misrouted, prompt_id, record_exchange, witness, Pulled};
use crate::error::Result;
use crate::model::DraftContent;
use crate::registry::WriteContext;
use crate::store::{drafts, prompts, search};
use crate::sync::EventBody;
/// A prompt made elsewhere (or here too, offline: then the server has made them one).
pub(super) fn create(tx: &Connection, ctx: &mut WriteContext<'_>, p: &Pulled) -> Result<()> {
    let e = &p.event;
    let EventBody::PromptCreate {
        name,
        kind,
        description,
        tags,
    } = &e.body
    else {
        return Err(misrouted(e));
    };
    match prompts::find(tx, name)? {
        // Made here too, offline: the server converged them into one prompt.
        Some(_) => record_exchange(tx, e, None, Some(p.seq), "pulled", "", &ctx.at)?,
        None => {
            let created = prompts::insert(tx, name, *kind, description, tags, &e.at, &e.author)?;
            drafts::put(
                tx,
                created.id,
                &DraftContent::empty(*kind),
                None,
                false,
                &e.at,
                &e.author,
            )?;
            search::index(tx, created.id, name, description, "")?;
            witness(
                tx,
                ctx,
                p,
                "prompt.created",
                name,
                json!({ "kind": kind, "description": description, "tags": tags }),
            )?;
        }
    }
    Ok(())
}

/// A prompt's description and tags.
pub(super) fn update(tx: &Connection, ctx: &mut WriteContext<'_>, p: &Pulled) -> Result<()> {
    let e = &p.event;
    let EventBody::PromptUpdate {
        name,
        description,
        tags,
    } = &e.body
    else {
        return Err(misrouted(e));
    };
    let id = prompt_id(tx, name)?;
    prompts::update_meta(tx, id, description, tags)?;
    witness(
        tx,
        ctx,
        p,
        "prompt.updated",
        name,
        json!({ "description": description, "tags": tags }),
    )?;
    Ok(())
}
