//! Translation between domain values and protobuf messages.

use super::pb;
use crate::app::{ErrorCode, LockStatusView, ReachCacheRebuilt, WalkerError};
use crate::domain::leases::LockInfo;
use crate::domain::patch::{PatchKey, PatchState, Verification};
use crate::domain::reach::ProfileReach;
use crate::rundir::runs::RunSummary;

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

impl From<&ProfileReach> for pb::ProfileReach {
    fn from(reach: &ProfileReach) -> Self {
        Self {
            profile_name: reach.profile_name.clone(),
            reach: reach.reach,
            total: reach.total,
            unique_reachable: reach.unique_reachable,
            threshold: reach.threshold,
            max_flips: reach.max_flips,
            temperature: reach.temperature,
            frequency_weight: reach.frequency_weight,
            computation_ms: reach.computation_ms,
        }
    }
}

fn profile_reaches(reaches: Option<&Vec<ProfileReach>>) -> Vec<pb::ProfileReach> {
    reaches
        .map(|reaches| reaches.iter().map(Into::into).collect())
        .unwrap_or_default()
}

/// The contract's view of a patch.
pub fn patch_state(key: PatchKey, state: &PatchState) -> pb::PatchState {
    let (manifest_status, manifest_reason) = split(state.manifest_ipc_verification.as_ref());
    let (cache_status, cache_reason) = split(state.reach_cache_ipc_verification.as_ref());
    pb::PatchState {
        patch: key.as_str().to_owned(),
        run_id: state.run_id.clone(),
        corpus_type: state.corpus_type.clone(),
        syllable_count: state.syllable_count,
        walker_ready: state.walker_ready,
        loading_stage: state.loading_stage.clone(),
        loading_error: state.loading_error.clone(),
        loader_status: state.loader_status().to_owned(),
        manifest_ipc_input_hash: state.manifest_ipc_input_hash.clone(),
        manifest_ipc_output_hash: state.manifest_ipc_output_hash.clone(),
        manifest_ipc_verification_status: manifest_status,
        manifest_ipc_verification_reason: manifest_reason,
        reach_cache_status: state.reach_cache_status.clone(),
        reach_cache_ipc_input_hash: state.reach_cache_ipc_input_hash.clone(),
        reach_cache_ipc_output_hash: state.reach_cache_ipc_output_hash.clone(),
        reach_cache_ipc_verification_status: cache_status,
        reach_cache_ipc_verification_reason: cache_reason,
        profile_reaches: profile_reaches(state.profile_reaches.as_deref()),
    }
}

fn split(verification: Option<&Verification>) -> (Option<String>, Option<String>) {
    verification.map_or((None, None), |v| {
        (Some(v.status.clone()), Some(v.reason.clone()))
    })
}

impl From<Result<ReachCacheRebuilt, WalkerError>> for pb::RebuildReachCacheResponse {
    fn from(result: Result<ReachCacheRebuilt, WalkerError>) -> Self {
        use pb::rebuild_reach_cache_response::Result as R;
        Self {
            result: Some(match result {
                Ok(rebuilt) => R::Rebuilt(pb::ReachCacheRebuilt {
                    patch: rebuilt.patch.as_str().to_owned(),
                    run_id: rebuilt.run_id,
                    status: "rebuilt".to_owned(),
                    ipc_input_hash: rebuilt.ipc_input_hash,
                    ipc_output_hash: rebuilt.ipc_output_hash,
                    verification_status: Some(rebuilt.verification.status),
                    verification_reason: Some(rebuilt.verification.reason),
                    profile_reaches: profile_reaches(Some(&rebuilt.profile_reaches)),
                    cache_path: rebuilt.cache_path,
                }),
                Err(error) => R::Error(error.into()),
            }),
        }
    }
}

impl From<Result<(PatchKey, PatchState), WalkerError>> for pb::GetPatchResponse {
    fn from(result: Result<(PatchKey, PatchState), WalkerError>) -> Self {
        use pb::get_patch_response::Result as R;
        Self {
            result: Some(match result {
                Ok((key, state)) => R::State(patch_state(key, &state)),
                Err(error) => R::Error(error.into()),
            }),
        }
    }
}

impl From<RunSummary> for pb::RunSummary {
    fn from(run: RunSummary) -> Self {
        Self {
            run_id: run.run_id,
            extractor: run.extractor,
            syllable_count: run.syllable_count,
            status: run.status,
            created_at_utc: run.created_at_utc,
            has_corpus_db: run.has_corpus_db,
            has_annotated_json: run.has_annotated_json,
            manifest_ipc_verification_status: run.manifest_ipc_verification_status,
        }
    }
}
