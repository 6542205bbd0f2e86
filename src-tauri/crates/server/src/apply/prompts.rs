//! `prompt.create` and `prompt.update`: editors and above; two people creating the same prompt
//! offline converge on the first one.

use promptdesk_protocol::events::EventBody;
use promptdesk_protocol::policy::{self, Action};
use serde_json::{json, Value};

use super::{prompt_of, refuse, Push};
use crate::error::{Result, ServerError};
use crate::store::{PromptRow, Tx};

/// Tags a prompt may have, and how long one may be: every registry indexes them.
const MAX_TAGS: usize = 50;
const MAX_TAG_CHARS: usize = 100;

pub(super) fn apply(tx: &mut dyn Tx, push: &Push<'_>) -> Result<Value> {
    policy::check_action(push.author, push.role, Action::CommitVersion).map_err(refuse)?;
    match &push.event.body {
        EventBody::PromptCreate {
            name,
            kind,
            description,
            tags,
        } => {
            check_tags(name, tags)?;
            match tx.prompt(name)? {
                Some(p) if p.kind == kind.as_str() => {}
                Some(p) => {
                    return Err(ServerError::Conflict(format!(
                        "{name} already exists as a {} prompt, not {}",
                        p.kind,
                        kind.as_str()
                    )))
                }
                None => tx.put_prompt(&PromptRow {
                    name: name.clone(),
                    kind: kind.as_str().into(),
                    description: description.clone(),
                    tags: tags.clone(),
                    created_at: push.now.into(),
                    updated_at: push.now.into(),
                })?,
            }
        }
        EventBody::PromptUpdate {
            name,
            description,
            tags,
        } => {
            check_tags(name, tags)?;
            let mut p = prompt_of(tx, name)?;
            p.description = description.clone();
            p.tags = tags.clone();
            p.updated_at = push.now.into();
            tx.put_prompt(&p)?;
        }
        other => return Err(super::misrouted(other)),
    }
    Ok(json!({}))
}

fn check_tags(name: &str, tags: &[String]) -> Result<()> {
    if tags.len() > MAX_TAGS {
        return Err(ServerError::BadInput(format!(
            "{name} has {} tags; a prompt has at most {MAX_TAGS}",
            tags.len()
        )));
    }
    if let Some(t) = tags.iter().find(|t| {
        t.trim().is_empty() || t.chars().count() > MAX_TAG_CHARS || t.chars().any(char::is_control)
    }) {
        return Err(ServerError::BadInput(format!(
            "{name}: the tag {t:?} is empty, longer than {MAX_TAG_CHARS} characters or holds \
             control characters"
        )));
    }
    Ok(())
}
