//! `version.create`: editors and above; the server gives the number (the same content saved
//! twice, offline, is one version). What every registry's apply needs is checked here: the
//! prompt exists and is of the version's kind (the content's hash is checked with the event).
//! The parent is history, not something a registry looks up, so it is only kept.

use promptdesk_protocol::events::EventBody;
use promptdesk_protocol::policy::{self, Action};
use serde_json::{json, Value};

use super::{misrouted, prompt_of, refuse, Push};
use crate::error::{Result, ServerError};
use crate::store::{Pick, Tx, VersionRow};

pub(super) fn apply(tx: &mut dyn Tx, push: &Push<'_>) -> Result<Value> {
    let EventBody::VersionCreate {
        prompt,
        hash,
        content,
        message,
        ..
    } = &push.event.body
    else {
        return Err(misrouted(&push.event.body));
    };
    policy::check_action(push.author, push.role, Action::CommitVersion).map_err(refuse)?;
    let p = prompt_of(tx, prompt)?;
    if content.kind().as_str() != p.kind {
        return Err(ServerError::BadInput(format!(
            "{prompt} is a {} prompt; this version is {}",
            p.kind,
            content.kind().as_str()
        )));
    }
    let number = match tx.version(prompt, &Pick::Hash(hash.clone()))? {
        Some(v) => v.number,
        None => {
            let number = tx.version_numbers(prompt)?.last().copied().unwrap_or(0) + 1;
            tx.insert_version(&VersionRow {
                prompt: prompt.clone(),
                number,
                hash: hash.clone(),
                content: serde_json::to_value(content)?,
                author: push.author.to_string(),
                message: message.clone(),
                created_at: push.now.to_string(),
            })?;
            number
        }
    };
    Ok(json!({ "number": number }))
}
