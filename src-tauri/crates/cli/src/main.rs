//! `promptdesk`: every registry workflow from the command line.
//!
//! Exit codes: 0 success, 1 refused (policy or conflict), 2 bad input, 3 internal error.
//! Errors are one line on stderr (or a JSON object on stdout with `--json`); a panic is caught
//! and reported as an internal error rather than a backtrace.

mod args;
mod commands;
mod context;
mod evals;
mod incidents;
mod output;
mod release;
mod serve;
mod sync;
mod web;

use std::process::ExitCode;

use clap::Parser;

use crate::args::Cli;
use crate::output::Failure;

fn main() -> ExitCode {
    // The render worker must start before anything else touches stdout.
    if std::env::args().nth(1).as_deref() == Some("__render-worker") {
        return ExitCode::from(promptdesk_template::worker::serve_stdio().clamp(0, 255) as u8);
    }
    // Like other command-line tools, end quietly when the reader of our output goes away
    // (`promptdesk ledger | head`) instead of failing to print.
    #[cfg(unix)]
    // SAFETY: restoring the default disposition of SIGPIPE before any thread exists.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    std::panic::set_hook(Box::new(|info| {
        let location = info
            .location()
            .map(|l| format!(" at {}:{}", l.file(), l.line()))
            .unwrap_or_default();
        let what = info
            .payload()
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| info.payload().downcast_ref::<String>().cloned())
            .unwrap_or_default()
            .replace('\n', " ");
        eprintln!("error: internal error{location}: {what} (please report it; what the command had already saved is kept)");
    }));
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() { 2 } else { 0 });
        }
    };
    let json = cli.json;
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| commands::run(cli)));
    match result {
        Ok(Ok(())) => ExitCode::SUCCESS,
        Ok(Err(failure)) => {
            output::print_failure(&failure, json);
            ExitCode::from(failure.exit_code())
        }
        Err(_) => {
            if json {
                println!(
                    "{}",
                    serde_json::json!({"error": {"kind": "internal", "message": "internal error (see stderr)"}})
                );
            }
            ExitCode::from(Failure::INTERNAL)
        }
    }
}
