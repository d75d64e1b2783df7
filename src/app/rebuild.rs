//! `RebuildReachCache` (SEMANTICS §5): recompute a loaded patch's reaches and
//! rewrite its cache artifact, checks in the specification's order.

use std::sync::Arc;

use super::load::parse_patch;
use super::{App, ErrorCode, WalkerError};
use crate::clock::format_utc_seconds;
use crate::domain::ipc::is_sha256_hex;
use crate::domain::patch::{PatchKey, Verification};
use crate::domain::reach::ProfileReach;
use crate::rundir::cache_file::{
    CACHE_RELATIVE_PATH, CacheWriteError, read_cache_hashes, write_cache,
};
use crate::rundir::manifest::{MANIFEST_FILE_NAME, read_manifest};

pub const MSG_BLANK_RUN_ID: &str = "run_id must be a non-empty string when provided.";
pub const MSG_WRITE_FAILED: &str = "Failed to write reach cache artifact.";

/// A successful rebuild.
#[derive(Debug, Clone, PartialEq)]
pub struct ReachCacheRebuilt {
    pub patch: PatchKey,
    pub run_id: String,
    pub ipc_input_hash: Option<String>,
    pub ipc_output_hash: Option<String>,
    pub verification: Verification,
    pub profile_reaches: Arc<Vec<ProfileReach>>,
    /// The cache file, relative to the runs directory.
    pub cache_path: String,
}

impl App {
    /// Recomputes the reaches of the run loaded in `patch` and rewrites its
    /// cache. Rebuilds of one patch queue behind each other; the compute runs
    /// on a blocking thread.
    pub async fn rebuild_reach_cache(
        &self,
        patch: &str,
        run_id: Option<&str>,
        holder_id: Option<&str>,
    ) -> Result<ReachCacheRebuilt, WalkerError> {
        self.enforce_active_session(holder_id).await?;
        let key = parse_patch(patch)?;
        if run_id.is_some_and(|id| id.trim().is_empty()) {
            return Err(WalkerError::invalid_argument(MSG_BLANK_RUN_ID));
        }
        let slot = self.patches.slot(key);
        let _queue = slot.rebuild.lock().await;
        let (state, generation) = slot.snapshot_with_generation();

        let letter = key.upper();
        if let (Some(requested), Some(loaded)) = (run_id, state.run_id.as_deref())
            && !loaded.is_empty()
            && requested != loaded
        {
            return Err(WalkerError::new(
                ErrorCode::FailedPrecondition,
                format!("run_id mismatch for patch {letter}."),
            ));
        }
        let walker = match (&state.walker, state.walker_ready) {
            (Some(walker), true) => Arc::clone(walker),
            _ => {
                return Err(WalkerError::new(
                    ErrorCode::NotReady,
                    format!("Walker not ready for patch {letter}. Load a corpus first."),
                ));
            }
        };
        let Some(run_dir) = state.run_dir.clone() else {
            return Err(WalkerError::new(
                ErrorCode::NotReady,
                format!("Run directory missing for patch {letter}."),
            ));
        };
        let run_id = match state.run_id.as_deref() {
            Some(id) if !id.trim().is_empty() => id.to_owned(),
            _ => {
                return Err(WalkerError::new(
                    ErrorCode::NotReady,
                    format!("run_id missing for patch {letter}."),
                ));
            }
        };

        let app = self.clone();
        let job_run_id = run_id.clone();
        let job = tokio::task::spawn_blocking(move || {
            let reaches = walker.compute_all_reaches().map_err(|e| {
                WalkerError::new(
                    ErrorCode::Internal,
                    format!("Failed to compute profile reaches: {e}"),
                )
            })?;
            // The manifest as it is now on disk: it keys the cache.
            let manifest = read_manifest(&run_dir.join(MANIFEST_FILE_NAME))
                .map(|m| m.raw().clone())
                .map_err(|e| {
                    tracing::warn!(error = %app.client_text(&e.to_string()), "manifest unreadable");
                    WalkerError::new(ErrorCode::FailedPrecondition, MSG_WRITE_FAILED)
                })?;
            let created_at = format_utc_seconds(app.clock.now_ms());
            write_cache(&run_dir, &job_run_id, &manifest, &app.settings, &reaches, &created_at)
                .map_err(|error| {
                    tracing::warn!(error = %app.client_text(&error.to_string()), "reach cache write failed");
                    let code = match error {
                        CacheWriteError::ManifestIpcMissing => ErrorCode::FailedPrecondition,
                        _ => ErrorCode::Internal,
                    };
                    WalkerError::new(code, MSG_WRITE_FAILED)
                })?;
            Ok((reaches, read_cache_hashes(&run_dir)))
        });
        let (reaches, (input_hash, output_hash)) = job.await.map_err(|e| {
            WalkerError::new(
                ErrorCode::Internal,
                format!("Failed to compute profile reaches: {e}"),
            )
        })??;

        let verification = match (&input_hash, &output_hash) {
            (Some(i), Some(o)) if is_sha256_hex(i) && is_sha256_hex(o) => {
                Verification::new("verified", "cache-rebuilt")
            }
            _ => Verification::new("error", "cache-rebuilt-hashes-missing"),
        };
        let reaches = Arc::new(reaches);
        let committed = slot.commit(generation, |s| {
            s.profile_reaches = Some(Arc::clone(&reaches));
            s.reach_cache_status = Some("hit".to_owned());
            s.reach_cache_ipc_input_hash = input_hash.clone();
            s.reach_cache_ipc_output_hash = output_hash.clone();
            s.reach_cache_ipc_verification = Some(verification.clone());
        });
        if !committed {
            return Err(WalkerError::new(
                ErrorCode::FailedPrecondition,
                format!(
                    "Patch {letter} was reloaded during the rebuild; its new run was left untouched."
                ),
            ));
        }
        Ok(ReachCacheRebuilt {
            patch: key,
            cache_path: format!("{run_id}/{CACHE_RELATIVE_PATH}"),
            run_id,
            ipc_input_hash: input_hash,
            ipc_output_hash: output_hash,
            verification,
            profile_reaches: reaches,
        })
    }
}
