//! Translation between domain values and protobuf messages.

use super::pb;
use crate::app::{ErrorCode, LockStatusView, WalkerError};
use crate::domain::leases::LockInfo;

impl From<ErrorCode> for pb::ErrorCode {
    fn from(code: ErrorCode) -> Self {
        match code {
            ErrorCode::InvalidArgument => Self::InvalidArgument,
            ErrorCode::Locked => Self::Locked,
            ErrorCode::NotReady => Self::NotReady,
            ErrorCode::FailedPrecondition => Self::FailedPrecondition,
            ErrorCode::Internal => Self::Internal,
            ErrorCode::NotFound => Self::NotFound,
            ErrorCode::ResourceExhausted => Self::ResourceExhausted,
        }
    }
}

impl From<LockInfo> for pb::LockInfo {
    fn from(lock: LockInfo) -> Self {
        Self {
            session_id: lock.session_id,
            holder_id: lock.holder_id,
            acquired_at_utc: lock.acquired_at_utc,
            refreshed_at_utc: lock.refreshed_at_utc,
            expires_at_utc: lock.expires_at_utc,
            fencing_token: lock.fencing_token,
        }
    }
}

impl From<WalkerError> for pb::WalkerError {
    fn from(error: WalkerError) -> Self {
        Self {
            code: pb::ErrorCode::from(error.code).into(),
            message: error.message,
            lock_status: error.lock_status,
            lock: error.lock.map(|lock| (*lock).into()),
            active_session_id: error.active_session_id,
        }
    }
}

impl From<LockStatusView> for pb::LockStatus {
    fn from(view: LockStatusView) -> Self {
        Self {
            status: view.status,
            reason: view.reason,
            lock: view.lock.map(Into::into),
        }
    }
}

/// Builds the `oneof result` of the four lease responses, which share a shape.
macro_rules! lock_response {
    ($response:ident, $result:path) => {
        impl From<Result<LockStatusView, WalkerError>> for pb::$response {
            fn from(result: Result<LockStatusView, WalkerError>) -> Self {
                use $result as R;
                Self {
                    result: Some(match result {
                        Ok(view) => R::LockStatus(view.into()),
                        Err(error) => R::Error(error.into()),
                    }),
                }
            }
        }
    };
}

lock_response!(HeartbeatLockResponse, pb::heartbeat_lock_response::Result);
lock_response!(ReleaseLockResponse, pb::release_lock_response::Result);
lock_response!(AcquireLockResponse, pb::acquire_lock_response::Result);
lock_response!(GetLockResponse, pb::get_lock_response::Result);
