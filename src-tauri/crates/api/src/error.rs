//! Errors as they cross to the UI: `{ kind, message, details }`, so the UI reacts to a kind
//! (`conflict`, `invalid_template`, …) and shows the message, never parses strings.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use ts_rs::TS;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum ApiErrorKind {
    /// The request was malformed or a value in it is invalid (a name, a file, a ref).
    BadInput,
    NotFound,
    /// Valid, but conflicts with what is stored (a name taken, nothing to commit).
    Conflict,
    /// A template problem; `details` holds the located [`promptdesk_template::TemplateError`].
    InvalidTemplate,
    /// Refused by a release policy (review and release arrive in a later issue).
    PolicyRefused,
    /// The web-mode token was missing or wrong.
    Unauthorized,
    /// Our fault: storage, a crashed worker, a bug.
    Internal,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct ApiError {
    pub kind: ApiErrorKind,
    /// One line that says what and where, for people.
    pub message: String,
    /// Machine-readable extras (for `invalid_template`: the error with its location).
    pub details: Option<Value>,
}

impl ApiError {
    pub fn new(kind: ApiErrorKind, message: impl Into<String>) -> Self {
        ApiError {
            kind,
            message: message.into(),
            details: None,
        }
    }

    pub fn bad_input(message: impl Into<String>) -> Self {
        Self::new(ApiErrorKind::BadInput, message)
    }

    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(ApiErrorKind::Internal, message)
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for ApiError {}

impl From<promptdesk_core::Error> for ApiError {
    fn from(e: promptdesk_core::Error) -> Self {
        use promptdesk_core::ErrorKind as K;
        let kind = match e.kind() {
            K::BadInput => ApiErrorKind::BadInput,
            K::NotFound => ApiErrorKind::NotFound,
            K::Conflict => ApiErrorKind::Conflict,
            K::PolicyRefused => ApiErrorKind::PolicyRefused,
            K::InvalidTemplate => ApiErrorKind::InvalidTemplate,
            K::Internal => ApiErrorKind::Internal,
        };
        let details = match &e {
            promptdesk_core::Error::Template(t) => serde_json::to_value(t).ok(),
            _ => None,
        };
        ApiError {
            kind,
            message: e.to_string(),
            details,
        }
    }
}

impl From<promptdesk_template::TemplateError> for ApiError {
    fn from(e: promptdesk_template::TemplateError) -> Self {
        promptdesk_core::Error::Template(e).into()
    }
}
