//! `promptdesk serve` and `promptdesk server token …`: the team's registry server.

use std::path::PathBuf;
use std::sync::Arc;

use promptdesk_server::{ServerError, Store};
use serde_json::json;

use crate::args::{ServerCommand, TokenCommand};
use crate::output::{emit, Failure};

type Out = Result<(), Failure>;

fn failure(e: ServerError) -> Failure {
    match e {
        ServerError::Internal(m) => Failure::internal(m),
        ServerError::Forbidden(m) => Failure::refused("policy_refused", m, serde_json::Value::Null),
        other => Failure::bad_input(other.to_string()),
    }
}

/// Serves the registry on `addr`: HTTPS with `tls` (certificate chain, key), else plain HTTP.
pub fn serve(json: bool, database: &str, addr: &str, tls: Option<&(PathBuf, PathBuf)>) -> Out {
    // A bad certificate or key is found before the database is touched or a port taken.
    let tls = match tls {
        Some((cert, key)) => {
            Some(promptdesk_server::tls::server_config(cert, key).map_err(Failure::bad_input)?)
        }
        None => None,
    };
    let store = Arc::new(Store::open(database).map_err(failure)?);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| Failure::internal(format!("cannot start the async runtime: {e}")))?;
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .map_err(|e| Failure::bad_input(format!("cannot listen on {addr}: {e}")))?;
        let local = listener
            .local_addr()
            .map_err(|e| Failure::internal(format!("cannot read the listening address: {e}")))?;
        let shutdown = crate::web::shutdown_signal()?;
        let scheme = if tls.is_some() { "https" } else { "http" };
        let url = format!("{scheme}://{local}");
        if tls.is_none() && !local.ip().is_loopback() {
            eprintln!(
                "Warning: serving plain HTTP on {local}: tokens and prompts cross the network in \
                 clear. Give --tls-cert and --tls-key, or put a reverse proxy that terminates TLS \
                 in front of a loopback address."
            );
        }
        // A PostgreSQL URL may carry a password; the line goes to terminals and logs.
        let shown = promptdesk_server::store::display_url(database);
        let line = if json {
            json!({ "url": url, "database": shown, "tls": scheme == "https" }).to_string()
        } else {
            format!("Promptdesk server listening on {url} (database {shown})")
        };
        println!("{line}");
        let served = match tls {
            Some(tls) => promptdesk_server::serve_tls(store, listener, tls, shutdown).await,
            None => promptdesk_server::serve(store, listener, shutdown).await,
        };
        served.map_err(|e| Failure::internal(format!("the server failed: {e}")))
    })
}

pub fn admin(json: bool, database: &str, command: ServerCommand) -> Out {
    let store = Store::open(database).map_err(failure)?;
    match command {
        ServerCommand::Token { command } => match command {
            TokenCommand::Create {
                user,
                role,
                langfuse,
            } => {
                let t = promptdesk_server::auth::create_token(
                    &store,
                    &user,
                    role,
                    langfuse,
                    &promptdesk_server::now(),
                )
                .map_err(failure)?;
                let out = json!({
                    "id": t.row.id, "user": t.row.user, "role": role.as_str(),
                    "kind": t.row.kind, "public_key": t.row.public_key, "secret": t.secret,
                });
                emit(json, &out, || {
                    match &t.row.public_key {
                    Some(pk) => println!(
                        "Langfuse key pair for {user} ({role}):\n  public key  {pk}\n  secret key  {}\nThe secret is shown only now.",
                        t.secret
                    ),
                    None => println!(
                        "token for {user} ({role}): {}\nIt is shown only now.",
                        t.secret
                    ),
                }
                });
                Ok(())
            }
            TokenCommand::List => {
                let rows = store.read(|tx| tx.tokens()).map_err(failure)?;
                emit(json, &rows, || {
                    for r in &rows {
                        println!(
                            "{}  {:8}  {:24}  {}  {}",
                            r.id,
                            r.kind,
                            r.display,
                            r.user,
                            match &r.revoked_at {
                                Some(at) => format!("revoked {at}"),
                                None => format!("created {}", r.created_at),
                            }
                        )
                    }
                });
                Ok(())
            }
            TokenCommand::Revoke { id } => {
                let now = promptdesk_server::now();
                let done = store
                    .write(|tx| tx.revoke_token(&id, &now))
                    .map_err(failure)?;
                if !done {
                    return Err(Failure::bad_input(format!("no live token {id}")));
                }
                emit(json, &json!({ "revoked": id }), || println!("revoked {id}"));
                Ok(())
            }
        },
    }
}
