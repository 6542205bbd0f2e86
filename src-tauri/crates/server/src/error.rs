//! Why a request failed, and the HTTP status that says so.

use axum::http::StatusCode;

pub type Result<T> = std::result::Result<T, ServerError>;

#[derive(Debug, Clone, thiserror::Error)]
pub enum ServerError {
    #[error("{0}")]
    BadInput(String),
    #[error("{0}")]
    Unauthorized(String),
    /// The role or the release policy says no; the message lists why.
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    NotFound(String),
    /// Someone else got there first (a label moved), or an event id was reused for other content.
    #[error("{0}")]
    Conflict(String),
    /// Too many failed sign-ins from one address.
    #[error("{0}")]
    RateLimited(String),
    #[error("{0}")]
    Internal(String),
}

impl ServerError {
    pub fn status(&self) -> StatusCode {
        match self {
            ServerError::BadInput(_) => StatusCode::BAD_REQUEST,
            ServerError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            ServerError::Forbidden(_) => StatusCode::FORBIDDEN,
            ServerError::NotFound(_) => StatusCode::NOT_FOUND,
            ServerError::Conflict(_) => StatusCode::CONFLICT,
            ServerError::RateLimited(_) => StatusCode::TOO_MANY_REQUESTS,
            ServerError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The machine-readable kind, as the desktop API names its errors.
    pub fn kind(&self) -> &'static str {
        match self {
            ServerError::BadInput(_) => "bad_input",
            ServerError::Unauthorized(_) => "unauthorized",
            ServerError::Forbidden(_) => "policy_refused",
            ServerError::NotFound(_) => "not_found",
            ServerError::Conflict(_) => "conflict",
            ServerError::RateLimited(_) => "rate_limited",
            ServerError::Internal(_) => "internal",
        }
    }
}

impl From<rusqlite::Error> for ServerError {
    fn from(e: rusqlite::Error) -> Self {
        ServerError::Internal(format!("database: {e}"))
    }
}

impl From<serde_json::Error> for ServerError {
    fn from(e: serde_json::Error) -> Self {
        ServerError::Internal(format!("stored data could not be read: {e}"))
    }
}
