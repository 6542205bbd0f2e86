//! Errors as they cross to the UI: `{ kind, message, details }`, so the UI reacts to a kind
//! (`conflict`, `invalid_template`, …) and shows the message, never parses strings.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use ts_rs::TS;

/// The one error taxonomy (`promptdesk_protocol::ErrorKind`), named as the UI knows it.
pub use promptdesk_protocol::ErrorKind as ApiErrorKind;

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
        let kind = e.kind();
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
