//! One error type for the registry. Every variant says what went wrong and where, in words a
//! writer can act on; [`ErrorKind`] is what callers (CLI exit codes, the UI) branch on.

use promptdesk_content::InvalidName;
use promptdesk_template::TemplateError;

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Input that cannot be accepted: a malformed file, an empty changelog, a bad ref.
    #[error("{0}")]
    BadInput(String),
    /// A prompt, version or label that does not exist.
    #[error("{0}")]
    NotFound(String),
    /// The request is valid but conflicts with what is stored (a name taken, nothing to commit).
    #[error("{0}")]
    Conflict(String),
    /// Refused by a role or a release policy; the message lists every unmet condition.
    #[error("{0}")]
    Refused(String),
    #[error(transparent)]
    Template(#[from] TemplateError),
    #[error(transparent)]
    InvalidName(#[from] InvalidName),
    #[error(
        "{path} was written by a newer Promptdesk (registry schema {found}; this build knows up to \
         {known}). Upgrade Promptdesk to open it; nothing was changed."
    )]
    NewerSchema {
        path: String,
        found: i64,
        known: i64,
    },
    /// Stored data that does not verify (a hash or a ledger link that does not match).
    #[error("integrity check failed: {0}")]
    Integrity(String),
    #[error("registry storage error: {0}")]
    Storage(#[from] rusqlite::Error),
    #[error("{context}: {source}")]
    Io {
        context: String,
        #[source]
        source: std::io::Error,
    },
}

/// What kind of failure an [`Error`] is: the one taxonomy, shared with the server and the API.
pub use promptdesk_protocol::ErrorKind;

impl Error {
    pub fn kind(&self) -> ErrorKind {
        match self {
            Error::BadInput(_) | Error::InvalidName(_) | Error::NewerSchema { .. } => {
                ErrorKind::BadInput
            }
            Error::NotFound(_) => ErrorKind::NotFound,
            Error::Conflict(_) => ErrorKind::Conflict,
            Error::Refused(_) => ErrorKind::PolicyRefused,
            // The worker failing to start or crashing is our fault, not the template's.
            Error::Template(t) if t.kind == promptdesk_template::ErrorKind::WorkerFailed => {
                ErrorKind::Internal
            }
            Error::Template(_) => ErrorKind::InvalidTemplate,
            Error::Integrity(_) | Error::Storage(_) | Error::Io { .. } => ErrorKind::Internal,
        }
    }

    pub fn io(context: impl Into<String>, source: std::io::Error) -> Self {
        Error::Io {
            context: context.into(),
            source,
        }
    }

    pub(crate) fn bad(msg: impl Into<String>) -> Self {
        Error::BadInput(msg.into())
    }
}
