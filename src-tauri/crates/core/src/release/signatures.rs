//! Signatures on decisions and releases: signing as the acting person, and checking every
//! stored signature against its signer's registered key.

use rusqlite::{Connection, OptionalExtension};
use serde_json::Value;

use crate::error::{Error, Result};
use crate::signing::{self, Sign};

use promptdesk_protocol::statements::{
    decision_eval_run, decision_statement, release_statement, ReleaseStatement,
};

/// Signs `statement` as the acting person, registering their public key on first use.
pub(crate) fn sign_statement(
    tx: &Connection,
    ctx: &mut crate::registry::WriteContext<'_>,
    signer: Option<&dyn Sign>,
    statement: &Value,
) -> Result<(String, String)> {
    let signer = signer.ok_or_else(|| {
        Error::Refused(format!(
            "approvals and releases are signed, and no signing key is available for {}; \
             `promptdesk keys check` says why",
            ctx.actor
        ))
    })?;
    let key_id = crate::signing_keys::ready_to_sign(tx, ctx, &signer.public_key())?;
    let signature = signer
        .sign(&signing::statement_bytes(statement))
        .map_err(|e| Error::Refused(format!("could not sign as {}: {e}", ctx.actor)))?;
    Ok((key_id, signature))
}

pub(crate) type KeyRow = Option<(String, String)>;

pub(crate) fn key_of(conn: &Connection, key_id: Option<&str>) -> Result<KeyRow> {
    let Some(k) = key_id else { return Ok(None) };
    Ok(conn
        .query_row(
            "SELECT person, public_key FROM signing_keys WHERE key_id = ?1",
            [k],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?)
}

/// Checks every signed decision and release against its signer's registered key; one line per
/// problem.
pub(crate) fn verify_signatures(conn: &Connection) -> Result<Vec<String>> {
    let mut problems = Vec::new();
    let mut stmt = conn.prepare(
        "SELECT e.id, r.id, r.number, r.label, e.content_hash, e.kind, e.actor, e.at, e.key_id, e.signature
         FROM review_events e JOIN reviews r ON r.number = e.review
         WHERE e.kind IN ('approve', 'request_changes') ORDER BY e.seq",
    )?;
    let mut rows = stmt.query([])?;
    while let Some(r) = rows.next()? {
        let (id, review_id, number): (String, String, u32) = (r.get(0)?, r.get(1)?, r.get(2)?);
        let (label, hash, kind): (String, Option<String>, String) =
            (r.get(3)?, r.get(4)?, r.get(5)?);
        let (actor, at): (String, String) = (r.get(6)?, r.get(7)?);
        let (key_id, signature): (Option<String>, Option<String>) = (r.get(8)?, r.get(9)?);
        let what = format!(
            "review #{number}: {actor}'s {} ({id})",
            kind.replace('_', " ")
        );
        let statement = decision_statement(
            &id,
            &review_id,
            &label,
            hash.as_deref().unwrap_or(""),
            &kind,
            &actor,
            &at,
        );
        let key = key_of(conn, key_id.as_deref())?;
        problems.extend(signature_problem(
            &what,
            &actor,
            key,
            &statement,
            signature.as_deref(),
        ));
    }
    let mut stmt = conn.prepare(
        "SELECT s.id, s.kind, s.label, s.from_hash, s.to_hash, s.changelog, r.id, s.actor, s.at,
                s.key_id, s.signature, p.name, s.decision
         FROM releases s JOIN prompts p ON p.id = s.prompt_id
         LEFT JOIN reviews r ON r.number = s.review ORDER BY s.seq",
    )?;
    let mut rows = stmt.query([])?;
    while let Some(r) = rows.next()? {
        let (id, kind, label): (String, String, String) = (r.get(0)?, r.get(1)?, r.get(2)?);
        let (from, to, changelog): (Option<String>, String, String) =
            (r.get(3)?, r.get(4)?, r.get(5)?);
        let (review_id, actor, at): (Option<String>, String, String) =
            (r.get(6)?, r.get(7)?, r.get(8)?);
        let (key_id, signature, prompt): (Option<String>, Option<String>, String) =
            (r.get(9)?, r.get(10)?, r.get(11)?);
        let what = format!("{kind} of {prompt} to {label} by {actor} ({id})");
        let decision: Value = serde_json::from_str(&r.get::<_, String>(12)?).unwrap_or(Value::Null);
        let statement = release_statement(&ReleaseStatement {
            id: &id,
            kind: &kind,
            label: &label,
            from_hash: from.as_deref(),
            to_hash: &to,
            changelog: &changelog,
            review_id: review_id.as_deref(),
            actor: &actor,
            at: &at,
            eval_run: decision_eval_run(&decision),
        });
        let key = key_of(conn, key_id.as_deref())?;
        problems.extend(signature_problem(
            &what,
            &actor,
            key,
            &statement,
            signature.as_deref(),
        ));
    }
    Ok(problems)
}

/// What is wrong with one signed record, if anything.
pub(crate) fn signature_problem(
    what: &str,
    actor: &str,
    key: KeyRow,
    statement: &Value,
    signature: Option<&str>,
) -> Option<String> {
    let (Some((owner, public_key)), Some(signature)) = (key, signature) else {
        return Some(format!("{what} is not signed"));
    };
    if owner != actor {
        Some(format!("{what} is signed with {owner}'s key"))
    } else if !signing::verify(&public_key, &signing::statement_bytes(statement), signature) {
        Some(format!(
            "{what}: the signature does not match what is recorded"
        ))
    } else {
        None
    }
}
