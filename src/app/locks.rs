//! The lease RPCs (SEMANTICS §4, §5) and the active-session check that every
//! mutating RPC runs first.

use super::{App, ErrorCode, WalkerError};
use crate::domain::leases::{EnforcementRefusal, LeaseOutcome, LeaseStatus, LockInfo};
use crate::lease_store::LeaseStoreError;

pub const MSG_INVALID_SESSION: &str = "Missing or invalid session_id.";
pub const MSG_MISSING_HOLDER: &str = "Missing lock_holder_id.";
pub const MSG_BLANK_HOLDER: &str = "lock_holder_id must not be blank when provided.";
pub const MSG_ACTIVE_BLANK_HOLDER: &str = "Active session lock requires lock_holder_id on mutating requests. lock_holder_id must not be blank when provided.";
pub const MSG_ACTIVE_MISSING_HOLDER: &str =
    "Active session is locked; missing lock_holder_id for this request.";
pub const MSG_ACTIVE_HELD_BY_OTHER: &str =
    "Session is locked by another tab/window. Use Take Over Lock to continue from this tab.";

/// A successful lease answer: status word, reason and the lease if any.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LockStatusView {
    pub status: String,
    pub reason: String,
    pub lock: Option<LockInfo>,
}

impl LockStatusView {
    fn new(status: &str, reason: String, lock: Option<LockInfo>) -> Self {
        Self {
            status: status.to_owned(),
            reason,
            lock,
        }
    }
}

/// The error for a lease-service refusal: the reason is the message.
fn refusal_error(outcome: LeaseOutcome) -> WalkerError {
    let code = match outcome.status {
        LeaseStatus::Locked => ErrorCode::Locked,
        LeaseStatus::LimitExceeded => ErrorCode::ResourceExhausted,
        _ => ErrorCode::InvalidArgument,
    };
    WalkerError::new(code, outcome.reason).with_lock_status(outcome.status.as_str(), outcome.lock)
}

/// The store could not answer (Redis down or too slow): a server fault,
/// never a silent fallback.
pub(crate) fn store_error(error: LeaseStoreError) -> WalkerError {
    tracing::warn!(%error, "lease store failed");
    WalkerError::new(ErrorCode::Internal, format!("Session lock failed: {error}"))
}

/// Steps 1-2 of HeartbeatLock / ReleaseLock: the request's own validation.
fn seed_lock_request<'a>(
    session_id: &'a str,
    holder_id: Option<&'a str>,
) -> Result<(&'a str, &'a str), WalkerError> {
    if session_id.trim().is_empty() {
        return Err(WalkerError::invalid_argument(MSG_INVALID_SESSION));
    }
    match holder_id {
        None => Err(WalkerError::invalid_argument(MSG_MISSING_HOLDER)),
        Some(holder) if holder.trim().is_empty() => {
            Err(WalkerError::invalid_argument(MSG_BLANK_HOLDER))
        }
        Some(holder) => Ok((session_id, holder)),
    }
}

impl App {
    /// `HeartbeatLock`: refreshes the caller's lease, or acquires a free one.
    pub async fn heartbeat_lock(
        &self,
        session_id: &str,
        holder_id: Option<&str>,
    ) -> Result<LockStatusView, WalkerError> {
        let (session_id, holder_id) = seed_lock_request(session_id, holder_id)?;
        let outcome = self
            .leases
            .heartbeat(session_id, holder_id)
            .await
            .map_err(store_error)?;
        match outcome.status {
            LeaseStatus::Locked | LeaseStatus::Error | LeaseStatus::LimitExceeded => {
                Err(refusal_error(outcome))
            }
            LeaseStatus::Missing => Ok(LockStatusView::new("missing", outcome.reason, None)),
            _ => Ok(LockStatusView::new("held", outcome.reason, outcome.lock)),
        }
    }

    /// `ReleaseLock`: releases the caller's lease.
    pub async fn release_lock(
        &self,
        session_id: &str,
        holder_id: Option<&str>,
    ) -> Result<LockStatusView, WalkerError> {
        let (session_id, holder_id) = seed_lock_request(session_id, holder_id)?;
        let outcome = self
            .leases
            .release(session_id, holder_id)
            .await
            .map_err(store_error)?;
        match outcome.status {
            LeaseStatus::Locked | LeaseStatus::Error | LeaseStatus::LimitExceeded => {
                Err(refusal_error(outcome))
            }
            status => Ok(LockStatusView::new(
                status.as_str(),
                outcome.reason,
                outcome.lock,
            )),
        }
    }

    /// `AcquireLock`: acquires (or with `force` takes over) a lease and makes
    /// the session the active one.
    pub async fn acquire_lock(
        &self,
        session_id: &str,
        holder_id: Option<&str>,
        force: bool,
    ) -> Result<LockStatusView, WalkerError> {
        let outcome = self
            .leases
            .acquire_active(session_id, holder_id.unwrap_or_default(), force)
            .await
            .map_err(store_error)?;
        match outcome.status {
            LeaseStatus::Acquired | LeaseStatus::Held | LeaseStatus::TakenOver => Ok(
                LockStatusView::new(outcome.status.as_str(), outcome.reason, outcome.lock),
            ),
            _ => Err(refusal_error(outcome)),
        }
    }

    /// `GetLock`: reads a lease.
    pub async fn get_lock(&self, session_id: &str) -> Result<LockStatusView, WalkerError> {
        let outcome = self.leases.get(session_id).await.map_err(store_error)?;
        match outcome.status {
            LeaseStatus::Error | LeaseStatus::LimitExceeded => Err(refusal_error(outcome)),
            status => Ok(LockStatusView::new(
                status.as_str(),
                outcome.reason,
                outcome.lock,
            )),
        }
    }

    /// The active-session check of every mutating RPC (SEMANTICS §4).
    pub async fn enforce_active_session(&self, holder_id: Option<&str>) -> Result<(), WalkerError> {
        let verdict = self
            .leases
            .enforce_active(holder_id)
            .await
            .map_err(store_error)?;
        verdict.map_err(|refusal| match refusal {
            EnforcementRefusal::BlankHolder { active_session_id } => {
                WalkerError::invalid_argument(MSG_ACTIVE_BLANK_HOLDER)
                    .with_lock_status("error", None)
                    .with_active_session(active_session_id)
            }
            EnforcementRefusal::MissingHolder { active_session_id } => {
                WalkerError::new(ErrorCode::Locked, MSG_ACTIVE_MISSING_HOLDER)
                    .with_lock_status("locked", None)
                    .with_active_session(active_session_id)
            }
            EnforcementRefusal::HeldByOther {
                active_session_id,
                lock,
            } => WalkerError::new(ErrorCode::Locked, MSG_ACTIVE_HELD_BY_OTHER)
                .with_lock_status("locked", lock.map(|lock| *lock))
                .with_active_session(active_session_id),
            EnforcementRefusal::ValidationFailed {
                active_session_id,
                reason,
            } => WalkerError::new(
                ErrorCode::FailedPrecondition,
                format!("Session lock validation failed: {reason}"),
            )
            .with_lock_status("error", None)
            .with_active_session(active_session_id),
        })
    }
}
