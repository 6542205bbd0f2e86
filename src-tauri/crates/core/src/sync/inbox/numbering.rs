//! Version numbers follow the server: a version made here offline whose number the server
//! gave to someone else's moves to the number it was given (or to the first free one), and
//! `latest` (and an untouched draft) follows the highest number.

use rusqlite::Connection;
use serde_json::{json, Value};

use crate::error::{Error, Result};
use crate::model::DraftContent;
use crate::registry::body_text;
use crate::registry::WriteContext;
use crate::store::{drafts, labels, prompts, search, versions};
use crate::sync::{EventBody, SyncEvent};
use promptdesk_content::VersionContent;

/// Gives a pushed (or pulled) version the number the server assigned. Returns how many versions
/// moved.
pub(super) fn follow_number(
    tx: &Connection,
    ctx: &mut WriteContext<'_>,
    event: &SyncEvent,
    assigned: &Value,
) -> Result<u64> {
    let EventBody::VersionCreate { prompt, hash, .. } = &event.body else {
        return Ok(0);
    };
    let Some(number) = assigned.get("number").and_then(Value::as_u64) else {
        return Ok(0);
    };
    let Some(p) = prompts::find(tx, prompt)? else {
        return Ok(0);
    };
    let moved = place_version(tx, ctx, p.id, prompt, hash, number as u32)?;
    if moved > 0 {
        refresh_latest(tx, ctx, p.id, prompt)?;
    }
    Ok(moved)
}

/// Moves the version `hash` to `number`, moving whatever holds that number out of the way
/// first (to the first free number). Returns how many versions moved.
pub(super) fn place_version(
    tx: &Connection,
    ctx: &mut WriteContext<'_>,
    prompt_id: i64,
    prompt: &str,
    hash: &str,
    number: u32,
) -> Result<u64> {
    let current = versions::by_hash(tx, prompt_id, hash)?.map(|v| v.number);
    if current == Some(number) {
        return Ok(0);
    }
    let mut moved = 0;
    if let Some(occupant) = versions::by_number(tx, prompt_id, number)? {
        let free = versions::latest_number(tx, prompt_id)?.unwrap_or(0) + 1;
        renumber(tx, ctx, prompt_id, prompt, &occupant.hash, number, free)?;
        moved += 1;
    }
    if let Some(from) = current {
        renumber(tx, ctx, prompt_id, prompt, hash, from, number)?;
        moved += 1;
    }
    Ok(moved)
}

pub(super) fn renumber(
    tx: &Connection,
    ctx: &mut WriteContext<'_>,
    prompt_id: i64,
    prompt: &str,
    hash: &str,
    from: u32,
    to: u32,
) -> Result<()> {
    crate::store::versions::renumber(tx, prompt_id, hash, to)?;
    ctx.event(
        tx,
        "version.renumbered",
        prompt,
        json!({ "hash": hash, "from": from, "to": to }),
    )
}

/// After versions arrived or moved: `latest` points at the highest number, and a draft nobody
/// has touched since the old latest follows it (a draft with changes is left alone).
pub(super) fn refresh_latest(
    tx: &Connection,
    ctx: &mut WriteContext<'_>,
    prompt_id: i64,
    prompt: &str,
) -> Result<()> {
    let Some(newest) = versions::latest(tx, prompt_id)? else {
        return Ok(());
    };
    let old = labels::get(tx, prompt_id, "latest")?;
    if old.as_ref().is_some_and(|l| l.hash == newest.hash) {
        return Ok(());
    }
    let old_hash = old.map(|l| l.hash);
    labels::set(
        tx,
        prompt_id,
        "latest",
        old_hash.as_deref(),
        &newest.hash,
        ctx.actor,
        &ctx.at,
        "synced",
    )?;
    let content: VersionContent = serde_json::from_str(&newest.content)
        .map_err(|e| Error::Integrity(format!("{prompt}@{}: {e}", newest.number)))?;
    let changed = drafts::is_changed(tx, prompt_id)?;
    if let Some(draft) = drafts::get(tx, prompt_id)? {
        if !changed && draft.base_hash == old_hash {
            let fresh = DraftContent {
                body: content.body.clone(),
                variables: content.variables.clone(),
                model: content.model.clone(),
            };
            drafts::put(
                tx,
                prompt_id,
                &fresh,
                Some(&newest.hash),
                false,
                &ctx.at,
                ctx.actor,
            )?;
        }
    }
    let p = prompts::get_by_id(tx, prompt_id)?;
    let text = drafts::get(tx, prompt_id)?
        .filter(|_| changed)
        .map(|d| body_text(&d.content.body))
        .unwrap_or_else(|| body_text(&content.body));
    search::index(tx, prompt_id, prompt, &p.description, &text)
}
