//! The one taxonomy of failures. Every boundary maps its own errors to an [`ErrorKind`] and
//! nothing else: the registry's `Error::kind`, the desktop API's `{kind, message, details}`
//! (and through it the UI's generated `ApiErrorKind`), the server's HTTP answers and the CLI's
//! `--json` errors and exit codes all read it from here, so a kind means the same everywhere.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ts_rs::TS)]
#[serde(rename_all = "snake_case")]
#[ts(rename = "ApiErrorKind")]
pub enum ErrorKind {
    /// The request was malformed or a value in it is invalid (a name, a file, a ref).
    BadInput,
    NotFound,
    /// Valid, but conflicts with what is stored (a name taken, a label that moved meanwhile).
    Conflict,
    /// A template problem; details hold the located template error.
    InvalidTemplate,
    /// Refused by a role or a release policy; the message lists every unmet condition.
    PolicyRefused,
    /// No token, a wrong or revoked token, or a wrong web-mode token.
    Unauthorized,
    /// Too many failed sign-ins from one address.
    RateLimited,
    /// The team server could not be reached; nothing local is wrong.
    Offline,
    /// Our fault: storage, a crashed worker, a bug.
    Internal,
}

impl ErrorKind {
    /// Every kind, in declaration order (the UI's list of known kinds is generated from it).
    pub const ALL: [ErrorKind; 9] = [
        ErrorKind::BadInput,
        ErrorKind::NotFound,
        ErrorKind::Conflict,
        ErrorKind::InvalidTemplate,
        ErrorKind::PolicyRefused,
        ErrorKind::Unauthorized,
        ErrorKind::RateLimited,
        ErrorKind::Offline,
        ErrorKind::Internal,
    ];

    /// The kind as it is written on the wire (`bad_input`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::BadInput => "bad_input",
            ErrorKind::NotFound => "not_found",
            ErrorKind::Conflict => "conflict",
            ErrorKind::InvalidTemplate => "invalid_template",
            ErrorKind::PolicyRefused => "policy_refused",
            ErrorKind::Unauthorized => "unauthorized",
            ErrorKind::RateLimited => "rate_limited",
            ErrorKind::Offline => "offline",
            ErrorKind::Internal => "internal",
        }
    }

    /// The HTTP status a server answers with for this kind.
    pub fn http_status(self) -> u16 {
        match self {
            ErrorKind::BadInput => 400,
            ErrorKind::InvalidTemplate => 422,
            ErrorKind::Unauthorized => 401,
            ErrorKind::PolicyRefused => 403,
            ErrorKind::NotFound => 404,
            ErrorKind::Conflict => 409,
            ErrorKind::RateLimited => 429,
            ErrorKind::Internal => 500,
            ErrorKind::Offline => 503,
        }
    }
}

impl std::fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::ErrorKind;

    #[test]
    fn the_wire_name_is_the_serde_name() {
        for kind in ErrorKind::ALL {
            assert_eq!(serde_json::to_value(kind).unwrap(), kind.as_str());
        }
    }
}
