//! One call of each RPC with its in-band answer as a `Result`, so tests read
//! as the conversation they check.

use tonic::transport::Channel;
use walker_service::api::pb::walker_service_client::WalkerServiceClient;
use walker_service::api::pb::{
    AcquireLockRequest, ErrorCode, GetLockRequest, HeartbeatLockRequest, LockStatus,
    ReachCacheRebuilt, RebuildReachCacheRequest, ReleaseLockRequest, WalkerError,
    acquire_lock_response, get_lock_response, heartbeat_lock_response,
    rebuild_reach_cache_response, release_lock_response,
};

pub type Client = WalkerServiceClient<Channel>;

pub async fn heartbeat(
    client: &mut Client,
    session: &str,
    holder: Option<&str>,
) -> Result<LockStatus, WalkerError> {
    let request = HeartbeatLockRequest {
        session_id: session.to_owned(),
        lock_holder_id: holder.map(str::to_owned),
    };
    match client
        .heartbeat_lock(request)
        .await
        .unwrap()
        .into_inner()
        .result
        .unwrap()
    {
        heartbeat_lock_response::Result::LockStatus(status) => Ok(status),
        heartbeat_lock_response::Result::Error(error) => Err(error),
    }
}

pub async fn release(
    client: &mut Client,
    session: &str,
    holder: Option<&str>,
) -> Result<LockStatus, WalkerError> {
    let request = ReleaseLockRequest {
        session_id: session.to_owned(),
        lock_holder_id: holder.map(str::to_owned),
    };
    match client
        .release_lock(request)
        .await
        .unwrap()
        .into_inner()
        .result
        .unwrap()
    {
        release_lock_response::Result::LockStatus(status) => Ok(status),
        release_lock_response::Result::Error(error) => Err(error),
    }
}

pub async fn acquire(
    client: &mut Client,
    session: &str,
    holder: Option<&str>,
    force: bool,
) -> Result<LockStatus, WalkerError> {
    let request = AcquireLockRequest {
        session_id: session.to_owned(),
        lock_holder_id: holder.map(str::to_owned),
        force,
    };
    match client
        .acquire_lock(request)
        .await
        .unwrap()
        .into_inner()
        .result
        .unwrap()
    {
        acquire_lock_response::Result::LockStatus(status) => Ok(status),
        acquire_lock_response::Result::Error(error) => Err(error),
    }
}

pub async fn get_lock(client: &mut Client, session: &str) -> Result<LockStatus, WalkerError> {
    let request = GetLockRequest {
        session_id: session.to_owned(),
    };
    match client
        .get_lock(request)
        .await
        .unwrap()
        .into_inner()
        .result
        .unwrap()
    {
        get_lock_response::Result::LockStatus(status) => Ok(status),
        get_lock_response::Result::Error(error) => Err(error),
    }
}

pub fn rebuild_request(
    patch: &str,
    run_id: Option<&str>,
    holder: Option<&str>,
) -> RebuildReachCacheRequest {
    RebuildReachCacheRequest {
        patch: patch.to_owned(),
        run_id: run_id.map(str::to_owned),
        lock_holder_id: holder.map(str::to_owned),
    }
}

pub async fn rebuild(
    client: &mut Client,
    request: RebuildReachCacheRequest,
) -> Result<ReachCacheRebuilt, WalkerError> {
    let response = client.rebuild_reach_cache(request).await.unwrap();
    match response.into_inner().result.unwrap() {
        rebuild_reach_cache_response::Result::Rebuilt(rebuilt) => Ok(rebuilt),
        rebuild_reach_cache_response::Result::Error(error) => Err(error),
    }
}

/// The error's code and exact message.
pub fn assert_error(error: &WalkerError, code: ErrorCode, message: &str) {
    assert_eq!(error.code(), code, "code of {error:?}");
    assert_eq!(error.message, message);
}
