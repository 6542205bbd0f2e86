//! How results and failures are printed: text for people, JSON with `--json`.

use std::io::{IsTerminal, Write};

use promptdesk_core::{Error, ErrorKind};
use serde::Serialize;
use serde_json::{json, Value};

/// A command that did not succeed: what kind of failure, the one-line message, and details.
#[derive(Debug)]
pub struct Failure {
    pub kind: &'static str,
    pub message: String,
    pub details: Value,
}

impl Failure {
    pub const REFUSED: u8 = 1;
    pub const BAD_INPUT: u8 = 2;
    pub const INTERNAL: u8 = 3;

    pub fn bad_input(message: impl Into<String>) -> Self {
        Failure {
            kind: ErrorKind::BadInput.as_str(),
            message: message.into(),
            details: Value::Null,
        }
    }

    pub fn refused(kind: &'static str, message: impl Into<String>, details: Value) -> Self {
        Failure {
            kind,
            message: message.into(),
            details,
        }
    }

    pub fn internal(message: impl Into<String>) -> Self {
        Failure {
            kind: "internal",
            message: message.into(),
            details: Value::Null,
        }
    }

    /// The same failure, with what was already done said first.
    pub fn context(mut self, before: impl Into<String>) -> Self {
        self.message = format!("{}: {}", before.into(), self.message);
        self
    }

    pub fn exit_code(&self) -> u8 {
        match self.kind {
            // Refused, or could not finish now (the server is unreachable or turned the token
            // away): nothing local is wrong with the input.
            "conflict" | "policy_refused" | "verify_failed" | "sync_refused" | "offline"
            | "unauthorized" | "eval_failed" => Self::REFUSED,
            "internal" => Self::INTERNAL,
            _ => Self::BAD_INPUT,
        }
    }
}

impl From<Error> for Failure {
    fn from(e: Error) -> Self {
        let details = match &e {
            Error::Template(t) => serde_json::to_value(t).unwrap_or(Value::Null),
            _ => Value::Null,
        };
        let kind = e.kind().as_str();
        Failure {
            kind,
            message: e.to_string(),
            details,
        }
    }
}

impl From<promptdesk_template::TemplateError> for Failure {
    fn from(e: promptdesk_template::TemplateError) -> Self {
        Failure::from(Error::Template(e))
    }
}

pub fn print_failure(f: &Failure, json: bool) {
    if json {
        println!(
            "{}",
            json!({"error": {"kind": f.kind, "message": f.message, "details": f.details}})
        );
    } else {
        eprintln!("error: {}", f.message);
    }
}

/// Prints `value` as JSON when asked, else runs `human` to print text.
pub fn emit<T: Serialize>(json: bool, value: &T, human: impl FnOnce()) {
    if json {
        let text = serde_json::to_string_pretty(value).unwrap_or_else(|_| "null".into());
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "{text}");
    } else {
        human();
    }
}

/// Whether to colour output on stdout.
pub fn use_color(choice: crate::args::ColorChoice) -> bool {
    match choice {
        crate::args::ColorChoice::Always => true,
        crate::args::ColorChoice::Never => false,
        crate::args::ColorChoice::Auto => {
            std::env::var_os("NO_COLOR").is_none() && std::io::stdout().is_terminal()
        }
    }
}

/// A short form of a hash for people: `#` and the first 10 hex digits.
pub fn short(hash: &str) -> String {
    format!("#{}", hash.get(..10).unwrap_or(hash))
}

/// "2026-11-20T23:50:01.123Z" → "2026-11-20 23:50".
pub fn when(at: &str) -> String {
    at.get(..16)
        .map(|s| s.replace('T', " "))
        .unwrap_or_else(|| at.to_string())
}
