//! `promptdesk remote …` and `promptdesk sync`: this registry and the team's registry server.

use std::io::{BufRead, IsTerminal, Write};
use std::path::Path;

use promptdesk_keys::KeyStore;
use promptdesk_sync::{Progress, Remote, RemoteOptions, SyncError};
use serde_json::json;

use crate::args::RemoteCommand;
use crate::context;
use crate::output::{emit, when, Failure};

type Out = Result<(), Failure>;

fn key_store() -> Result<KeyStore, Failure> {
    KeyStore::from_env().map_err(|e| Failure::bad_input(e.to_string()))
}

fn failure(e: SyncError) -> Failure {
    match e {
        SyncError::Registry(e) => e.into(),
        SyncError::NoRemote | SyncError::NoToken { .. } | SyncError::Keys(_) => {
            Failure::bad_input(e.to_string())
        }
        SyncError::Offline { .. } => Failure::refused("offline", e.to_string(), json!(null)),
        SyncError::Tls { .. } => Failure::refused("tls", e.to_string(), json!(null)),
        SyncError::Setup(_) => Failure::bad_input(e.to_string()),
        SyncError::Unauthorized { .. } => {
            Failure::refused("unauthorized", e.to_string(), json!(null))
        }
        SyncError::Protocol(_) | SyncError::Gap(_) => Failure::internal(e.to_string()),
    }
}

pub fn remote(path: &Path, json: bool, command: RemoteCommand) -> Out {
    let mut reg = context::open(path)?;
    let store = key_store()?;
    match command {
        RemoteCommand::Set {
            url,
            token_stdin,
            ca_file,
            insecure,
        } => {
            let url = url.trim().trim_end_matches('/').to_string();
            if insecure && url.starts_with("https://") {
                return Err(Failure::bad_input(
                    "--insecure is for plain http:// URLs only: certificate checks of https://                      are never turned off (for a private CA, give --ca-file CA.pem)",
                ));
            }
            // Kept as an absolute path, so syncing works from any directory.
            let ca_file = match ca_file {
                Some(p) => Some(std::path::absolute(&p).map_err(|e| {
                    Failure::bad_input(format!("the CA file {}: {e}", p.display()))
                })?),
                None => None,
            };
            let options = RemoteOptions { ca_file, insecure };
            // The URL and the CA file are checked before the token is asked for, and long
            // before anything is sent.
            Remote::with_options(&url, "", &options).map_err(failure)?;
            let token = read_token(&url, token_stdin)?;
            // Check the token before keeping anything: a typo must not replace a good setting.
            let remote = Remote::with_options(&url, &token, &options).map_err(failure)?;
            let (user, role) = promptdesk_sync::whoami(&remote).map_err(failure)?;
            store
                .set_server_token(&url, reg.actor(), &token)
                .map_err(|e| Failure::bad_input(e.to_string()))?;
            reg.set_sync_remote(&url)?;
            promptdesk_sync::set_remote_options(&reg, &url, &options).map_err(failure)?;
            let acting = reg.actor().to_string();
            let warning = (user != acting).then(|| {
                format!(
                    "the token signs in as {user}, but this registry acts as {acting}: \
                     the server accepts only {user}'s own changes (set PROMPTDESK_USER or \
                     `promptdesk identity --name {user}`)"
                )
            });
            emit(
                json,
                &json!({ "remote": url, "user": user, "role": role, "token": store.describe(),
                         "ca_file": options.ca_file, "insecure": options.insecure,
                         "warning": warning }),
                || {
                    println!("This registry now syncs with {url} as {user} ({role}).");
                    println!("The token is kept in {}.", store.describe());
                    if let Some(ca) = &options.ca_file {
                        println!("Also trusting the CA certificates in {}.", ca.display());
                    }
                    if options.insecure {
                        println!(
                            "Warning: plain http:// to another machine: the token and every \
                             change cross the network unencrypted."
                        );
                    }
                    if let Some(w) = &warning {
                        println!("Warning: {w}");
                    }
                },
            );
            Ok(())
        }
        RemoteCommand::Show => {
            let url = reg.sync_remote()?;
            let options = match &url {
                Some(u) => promptdesk_sync::remote_options(&reg, u).map_err(failure)?,
                None => RemoteOptions::default(),
            };
            let kept = match &url {
                Some(u) => store
                    .server_token(u, reg.actor())
                    .map_err(|e| Failure::bad_input(e.to_string()))?
                    .is_some(),
                None => false,
            };
            let who = match (&url, kept) {
                (Some(u), true) => {
                    let token =
                        promptdesk_sync::token_for(&store, u, reg.actor()).map_err(failure)?;
                    Remote::with_options(u, &token, &options)
                        .and_then(|r| promptdesk_sync::whoami(&r))
                        .map_err(|e| e.to_string())
                }
                _ => Err(String::new()),
            };
            let ca_file = promptdesk_sync::tls::effective_ca_file(options.ca_file.as_deref());
            let problem = who.as_ref().err().filter(|e| !e.is_empty()).cloned();
            let who = who.ok();
            emit(
                json,
                &json!({ "remote": url, "token_kept": kept,
                         "user": who.as_ref().map(|w| &w.0), "role": who.as_ref().map(|w| &w.1),
                         "ca_file": ca_file, "insecure": options.insecure, "problem": problem }),
                || match &url {
                    None => println!("No server is set: `promptdesk remote set URL`."),
                    Some(u) => {
                        println!("Syncs with {u}.");
                        if let Some(ca) = &ca_file {
                            println!("Also trusts the CA certificates in {}.", ca.display());
                        }
                        if options.insecure {
                            println!("Plain http:// to another machine is allowed (--insecure).");
                        }
                        match (&who, kept) {
                            (Some((user, role)), _) => println!("Signed in as {user} ({role})."),
                            (None, true) => println!(
                                "A token is kept, but the server could not confirm it now{}.",
                                problem
                                    .as_deref()
                                    .map(|p| format!(": {p}"))
                                    .unwrap_or_default()
                            ),
                            (None, false) => {
                                println!("No token is kept for it: `promptdesk remote set {u}`.")
                            }
                        }
                    }
                },
            );
            Ok(())
        }
        RemoteCommand::Forget => {
            let url = reg
                .sync_remote()?
                .ok_or_else(|| Failure::bad_input("no server is set for this registry"))?;
            store
                .forget_server_token(&url, reg.actor())
                .map_err(|e| Failure::bad_input(e.to_string()))?;
            emit(json, &json!({ "remote": url, "token_kept": false }), || {
                println!("Forgot the token for {url}.")
            });
            Ok(())
        }
    }
}

/// The token: from stdin when asked (or when stdin is not a terminal), else typed at a prompt
/// with echo off.
fn read_token(url: &str, from_stdin: bool) -> Result<String, Failure> {
    let stdin = std::io::stdin();
    let interactive = !from_stdin && stdin.is_terminal();
    if interactive {
        eprint!("Token for {url} (input hidden): ");
        let _ = std::io::stderr().flush();
    }
    let _echo = interactive.then(EchoOff::new);
    let mut line = String::new();
    stdin
        .lock()
        .read_line(&mut line)
        .map_err(|e| Failure::bad_input(format!("cannot read the token: {e}")))?;
    if interactive {
        eprintln!();
    }
    let token = line.trim().to_string();
    if token.is_empty() {
        return Err(Failure::bad_input(
            "no token was given: ask the server's administrator for one \
             (`promptdesk server token create --user NAME --role ROLE`)",
        ));
    }
    Ok(token)
}

/// Turns terminal echo off until dropped, so a typed token is not shown.
struct EchoOff(Option<libc::termios>);

impl EchoOff {
    fn new() -> EchoOff {
        // SAFETY: tcgetattr/tcsetattr on stdin with a zeroed termios we own.
        unsafe {
            let mut t: libc::termios = std::mem::zeroed();
            if libc::tcgetattr(0, &mut t) != 0 {
                return EchoOff(None);
            }
            let saved = t;
            t.c_lflag &= !libc::ECHO;
            libc::tcsetattr(0, libc::TCSANOW, &t);
            EchoOff(Some(saved))
        }
    }
}

impl Drop for EchoOff {
    fn drop(&mut self) {
        if let Some(t) = self.0 {
            // SAFETY: restores the settings read in `new`.
            unsafe {
                libc::tcsetattr(0, libc::TCSANOW, &t);
            }
        }
    }
}

pub fn sync(path: &Path, json: bool, status_only: bool) -> Out {
    let mut reg = context::open(path)?;
    if status_only {
        let state = reg.sync_state()?;
        emit(json, &state, || {
            match &state.remote {
                None => println!("No server is set: `promptdesk remote set URL`."),
                Some(u) => println!("Syncs with {u}; pulled up to #{}.", state.cursor),
            }
            println!("{} change(s) waiting to be pushed.", state.pending);
            if let Some(at) = &state.last_synced_at {
                println!("Last synced {}.", when(at));
            }
            if let Some(e) = &state.last_error {
                println!("Last attempt failed: {e}");
            }
            print_refused(&state.refused);
        });
        return Ok(());
    }
    let store = key_store()?;
    let remote = promptdesk_sync::remote_of(&reg, &store).map_err(failure)?;
    let tty = std::io::stderr().is_terminal() && !json;
    let mut progress = |p: Progress| {
        let line = match p {
            Progress::Pushing { done, total } => format!("pushing {done}/{total}"),
            Progress::Pulling { cursor, head } => format!("pulling #{cursor} of #{head}"),
            Progress::Checking => "checking".to_string(),
        };
        // A progress line is for a person watching; logs get the summary only.
        if tty {
            eprint!("\r\x1b[2K{line}");
        }
    };
    let outcome = promptdesk_sync::sync(&mut reg, &remote, &mut progress);
    if tty {
        eprint!("\r\x1b[2K");
    }
    let report = outcome.map_err(failure)?;
    let state = reg.sync_state()?;
    emit(json, &json!({ "report": report, "state": state }), || {
        println!(
            "Synced with {}: pushed {} ({} already there), pulled {}.",
            remote.url(),
            report.pushed,
            report.duplicates,
            report.pulled
        );
        if report.renumbered > 0 {
            println!(
                "{} version(s) renumbered to the server's numbers.",
                report.renumbered
            );
        }
        if report.gap_filled {
            println!("A gap in what was pulled was found and filled.");
        }
        for r in &report.restored {
            println!("Put {r} back where the server has it.");
        }
        print_refused(&report.refused);
    });
    if !report.refused.is_empty() {
        return Err(Failure::refused(
            "sync_refused",
            format!(
                "the server refused {} change(s) made here (shown above; `promptdesk sync --status` lists them)",
                report.refused.len()
            ),
            json!(report.refused),
        ));
    }
    Ok(())
}

fn print_refused(refused: &[promptdesk_core::sync::inbox::RefusedChange]) {
    if refused.is_empty() {
        return;
    }
    println!("Refused by the server:");
    for r in refused {
        println!(
            "  {} {} ({}): {}",
            r.kind,
            r.subject,
            when(&r.at),
            r.message
        );
    }
}
