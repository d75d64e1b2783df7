//! The in-band domain error every RPC can answer with.

use crate::domain::leases::LockInfo;

/// What kind of failure a [`WalkerError`] is, for clients to branch on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorCode {
    /// A field is missing or malformed.
    InvalidArgument,
    /// Another holder has the lock.
    Locked,
    /// No walker / run is loaded.
    NotReady,
    /// The state does not allow the request.
    FailedPrecondition,
    /// A compute or I/O failure.
    Internal,
    /// Unknown run.
    NotFound,
    /// A server limit was hit.
    ResourceExhausted,
}

impl ErrorCode {
    /// The short name used in logs.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::InvalidArgument => "invalid_argument",
            Self::Locked => "locked",
            Self::NotReady => "not_ready",
            Self::FailedPrecondition => "failed_precondition",
            Self::Internal => "internal",
            Self::NotFound => "not_found",
            Self::ResourceExhausted => "resource_exhausted",
        }
    }
}

/// A domain error with the exact message of the specification.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct WalkerError {
    pub code: ErrorCode,
    pub message: String,
    pub lock_status: Option<String>,
    /// Boxed: most errors carry no lock, and results stay small.
    pub lock: Option<Box<LockInfo>>,
    pub active_session_id: Option<String>,
}

impl WalkerError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
            lock_status: None,
            lock: None,
            active_session_id: None,
        }
    }

    pub fn invalid_argument(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::InvalidArgument, message)
    }

    pub fn with_lock_status(mut self, status: &str, lock: Option<LockInfo>) -> Self {
        self.lock_status = Some(status.to_owned());
        self.lock = lock.map(Box::new);
        self
    }

    pub fn with_active_session(mut self, active_session_id: String) -> Self {
        self.active_session_id = Some(active_session_id);
        self
    }
}
