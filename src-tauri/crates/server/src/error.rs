//! Why a request failed, and the HTTP status that says so.

use axum::http::StatusCode;
use promptdesk_protocol::ErrorKind;

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
        StatusCode::from_u16(self.kind().http_status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }

    /// The failure's kind in the one taxonomy the desktop API and the CLI use too.
    pub fn kind(&self) -> ErrorKind {
        match self {
            ServerError::BadInput(_) => ErrorKind::BadInput,
            ServerError::Unauthorized(_) => ErrorKind::Unauthorized,
            ServerError::Forbidden(_) => ErrorKind::PolicyRefused,
            ServerError::NotFound(_) => ErrorKind::NotFound,
            ServerError::Conflict(_) => ErrorKind::Conflict,
            ServerError::RateLimited(_) => ErrorKind::RateLimited,
            ServerError::Internal(_) => ErrorKind::Internal,
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
