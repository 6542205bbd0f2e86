//! `promptdesk`: every registry workflow from the command line.
//!
//! Exit codes: 0 success, 1 refused (policy or conflict), 2 bad input, 3 internal error.
//! Errors are one line on stderr (or a JSON object on stdout with `--json`); a panic is caught
//! and reported as an internal error rather than a backtrace.

mod args;
mod commands;
mod context;
mod output;

use std::process::ExitCode;

use clap::Parser;

use crate::args::Cli;
use crate::output::Failure;

fn main() -> ExitCode {
    // The render worker must start before anything else touches stdout.
    if std::env::args().nth(1).as_deref() == Some("__render-worker") {
        return ExitCode::from(promptdesk_template::worker::serve_stdio().clamp(0, 255) as u8);
    }
    std::panic::set_hook(Box::new(|info| {
        let location = info
            .location()
            .map(|l| format!(" at {}:{}", l.file(), l.line()))
            .unwrap_or_default();
        eprintln!("error: internal error{location}: {info}. Please report it; your registry was not changed by the failed command.");
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
