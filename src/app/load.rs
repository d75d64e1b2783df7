//! Loading a run into a patch (SEMANTICS §6 "Loading a corpus into a patch").
//!
//! The checks run on the caller's task; the load itself (corpus, neighbour
//! structure, cache read or compute + write) runs on a blocking thread so the
//! async runtime keeps answering lease calls. A newer load of the same patch
//! bumps the slot's generation: the older one notices at its next stage,
//! stops, and never writes the patch or the cache file.

use std::sync::Arc;

use super::patches::PatchSlot;
use super::{App, ErrorCode, WalkerError, locks};
use crate::clock::format_utc_seconds;
use crate::domain::cache::CacheRead;
use crate::domain::patch::{PatchKey, PatchState, Verification};
use crate::domain::reach::{ProfileReach, Walker};
use crate::rundir::cache_file::{read_cache, read_cache_hashes, write_cache};
use crate::rundir::corpus::load_corpus;
use crate::rundir::manifest_ipc::verify_manifest_value;
use crate::rundir::runs::{RunDir, RunLookupError};

pub const STAGE_LOADING_CORPUS: &str = "Loading corpus data";
pub const STAGE_BUILDING_GRAPH: &str = "Building neighbour graph";
pub const STAGE_READING_CACHE: &str = "Checking reach cache";
pub const STAGE_CACHED_REACHES: &str = "Loading cached profile reaches";
pub const STAGE_COMPUTING_REACHES: &str = "Computing profile reaches";
pub const STAGE_WRITING_CACHE: &str = "Writing reach cache";
/// The stage of the last event of a successful load, which carries the state.
pub const STAGE_READY: &str = "Ready";
/// The stage of the last event of a failed load, which carries the error.
pub const STAGE_FAILED: &str = "Failed";

pub const MSG_INVALID_PATCH: &str = "Invalid patch. Must be 'a' or 'b'.";
pub const MSG_MISSING_RUN_ID: &str = "Missing run_id";

/// Receives the name of each loading stage as it starts.
pub type StageSink = Box<dyn Fn(&str) + Send + Sync>;

/// The reaches a load ends with and what it recorded about the cache.
struct CacheOutcome {
    reaches: Vec<ProfileReach>,
    status: String,
    /// `(input_hash, output_hash)` of the cache file, when there is one.
    hashes: (Option<String>, Option<String>),
    verification: Verification,
}

/// Why a load stopped after it started.
enum LoadFailure {
    /// A newer load of the same patch took over.
    Superseded,
    /// The load failed; the patch records it. Clients see
    /// `<headline>: <detail>`.
    Failed {
        headline: &'static str,
        detail: String,
        kind: &'static str,
    },
}

pub(crate) fn parse_patch(raw: &str) -> Result<PatchKey, WalkerError> {
    PatchKey::parse_request(raw).ok_or_else(|| WalkerError::invalid_argument(MSG_INVALID_PATCH))
}

impl App {
    /// Loads `run_id` into `patch`, reporting each stage to `stages`, and
    /// answers the patch's state once it is ready.
    pub async fn load_corpus(
        &self,
        patch: &str,
        run_id: &str,
        holder_id: Option<&str>,
        stages: StageSink,
    ) -> Result<PatchState, WalkerError> {
        self.enforce_active_session(holder_id).await?;
        let key = parse_patch(patch)?;
        if run_id.trim().is_empty() {
            return Err(WalkerError::invalid_argument(MSG_MISSING_RUN_ID));
        }
        let run = self.find_run(run_id).await?;
        // The loaded patch will no longer match the session's work.
        self.leases
            .detach_active(holder_id)
            .await
            .map_err(locks::store_error)?;
        self.load_run(key, run, stages).await
    }

    /// Looks a run up off the async runtime (it reads the manifest).
    async fn find_run(&self, run_id: &str) -> Result<RunDir, WalkerError> {
        let runs = self.runs.clone();
        let id = run_id.to_owned();
        let found = tokio::task::spawn_blocking(move || runs.find_run(&id))
            .await
            .map_err(|e| {
                WalkerError::new(ErrorCode::Internal, format!("run lookup failed: {e}"))
            })?;
        found.map_err(|error| {
            tracing::info!(%error, "run lookup refused");
            let code = match error {
                RunLookupError::InvalidId { .. } => ErrorCode::InvalidArgument,
                RunLookupError::NotFound { .. } => ErrorCode::NotFound,
            };
            WalkerError::new(code, format!("Run not found: {run_id}"))
        })
    }

    /// Loads a run that passed the checks into the patch `key`.
    pub(crate) async fn load_run(
        &self,
        key: PatchKey,
        run: RunDir,
        stages: StageSink,
    ) -> Result<PatchState, WalkerError> {
        let patches = Arc::clone(&self.patches);
        let generation = self.patches.slot(key).begin_load(fresh_state(&run));
        stages(STAGE_LOADING_CORPUS);
        let app = self.clone();
        let run_id = run.run_id().to_owned();
        let outcome = tokio::task::spawn_blocking(move || {
            app.run_load(patches.slot(key), generation, &run, &stages)
        })
        .await;
        let slot = self.patches.slot(key);
        match outcome {
            Ok(Ok(())) => Ok(slot.snapshot()),
            Ok(Err(LoadFailure::Superseded)) => Err(superseded(key, &run_id)),
            Ok(Err(LoadFailure::Failed {
                headline,
                detail,
                kind,
            })) => {
                tracing::warn!(patch = key.as_str(), run_id, %detail, "load failed");
                record_failure(slot, generation, &detail, kind);
                if slot.is_current(generation) {
                    Err(WalkerError::new(
                        ErrorCode::Internal,
                        format!("{headline}: {detail}"),
                    ))
                } else {
                    Err(superseded(key, &run_id))
                }
            }
            Err(join_error) => {
                let detail = format!("load task failed: {join_error}");
                record_failure(slot, generation, &detail, "panic");
                Err(WalkerError::new(
                    ErrorCode::Internal,
                    format!("Walker initialisation failed: {detail}"),
                ))
            }
        }
    }

    /// The blocking part of a load, stage by stage.
    fn run_load(
        &self,
        slot: &PatchSlot,
        generation: u64,
        run: &RunDir,
        stages: &StageSink,
    ) -> Result<(), LoadFailure> {
        let stage = |name: &str| {
            if slot.commit(generation, |s| s.loading_stage = Some(name.to_owned())) {
                stages(name);
                Ok(())
            } else {
                Err(LoadFailure::Superseded)
            }
        };

        let loaded = load_corpus(run).map_err(|e| LoadFailure::Failed {
            headline: "Failed to load corpus",
            detail: self.client_text(&e.to_string()),
            kind: e.kind(),
        })?;
        let syllable_count = u32::try_from(loaded.corpus.len()).unwrap_or(u32::MAX);
        if !slot.commit(generation, |s| s.syllable_count = syllable_count) {
            return Err(LoadFailure::Superseded);
        }

        stage(STAGE_BUILDING_GRAPH)?;
        let walker = Walker::new(loaded.corpus, (*self.settings).clone())
            .map_err(|e| walker_failure(e.to_string(), "walker"))?;
        let walker = Arc::new(walker);

        stage(STAGE_READING_CACHE)?;
        let read = read_cache(
            run.path(),
            run.run_id(),
            run.manifest().raw(),
            &self.settings,
        );
        let cache = match read {
            CacheRead::Hit(hit) => {
                stage(STAGE_CACHED_REACHES)?;
                let (status, reason) = CacheRead::Hit(hit.clone()).verification();
                CacheOutcome {
                    reaches: hit.reaches,
                    status: "hit".to_owned(),
                    hashes: (Some(hit.input_hash), Some(hit.output_hash)),
                    verification: Verification::new(status, reason),
                }
            }
            miss => {
                stage(STAGE_COMPUTING_REACHES)?;
                let reaches = walker
                    .compute_all_reaches()
                    .map_err(|e| walker_failure(e.to_string(), "reach"))?;
                stage(STAGE_WRITING_CACHE)?;
                self.write_cache_after(run, &miss, reaches)
            }
        };

        let committed = slot.commit(generation, |s| {
            s.walker = Some(walker);
            s.walker_ready = true;
            s.loading_stage = None;
            s.profile_reaches = Some(Arc::new(cache.reaches));
            s.reach_cache_status = Some(cache.status);
            s.reach_cache_ipc_input_hash = cache.hashes.0;
            s.reach_cache_ipc_output_hash = cache.hashes.1;
            s.reach_cache_ipc_verification = Some(cache.verification);
        });
        if committed {
            Ok(())
        } else {
            Err(LoadFailure::Superseded)
        }
    }

    /// Writes the cache for reaches computed after `read` missed. A failed
    /// write is not a failed load: the reaches are served, and the patch
    /// keeps the read's status and verification.
    fn write_cache_after(
        &self,
        run: &RunDir,
        read: &CacheRead,
        reaches: Vec<ProfileReach>,
    ) -> CacheOutcome {
        let read_status = read.status();
        let created_at = format_utc_seconds(self.clock.now_ms());
        let written = write_cache(
            run.path(),
            run.run_id(),
            run.manifest().raw(),
            &self.settings,
            &reaches,
            &created_at,
        );
        match written {
            Ok(_) => CacheOutcome {
                reaches,
                status: "written".to_owned(),
                hashes: read_cache_hashes(run.path()),
                verification: Verification::new(
                    "verified",
                    format!("cache-written-after-{read_status}"),
                ),
            },
            Err(error) => {
                tracing::warn!(
                    run_id = run.run_id(),
                    error = %self.client_text(&error.to_string()),
                    "reach cache not written; serving computed reaches"
                );
                let (status, reason) = read.verification();
                CacheOutcome {
                    reaches,
                    status: read_status.to_owned(),
                    hashes: (None, None),
                    verification: Verification::new(status, reason),
                }
            }
        }
    }

    /// Removes the server's own paths from a message meant for clients.
    pub(crate) fn client_text(&self, text: &str) -> String {
        let root = format!("{}/", self.runs.root().display());
        text.replace(&root, "")
    }
}

/// The patch as a new load of `run` starts: every field reset, then the
/// run's identity and manifest verification recorded.
fn fresh_state(run: &RunDir) -> PatchState {
    let manifest = run.manifest().raw();
    let ipc_hash = |name: &str| {
        manifest
            .get("ipc")
            .and_then(|ipc| ipc.get(name))
            .and_then(|hash| hash.as_str())
            .map(str::to_owned)
    };
    let verification = verify_manifest_value(manifest);
    PatchState {
        run_id: Some(run.run_id().to_owned()),
        run_dir: Some(run.path().to_path_buf()),
        corpus_type: Some(run.manifest().extractor().to_owned()),
        manifest: Some(Arc::new(manifest.clone())),
        loading_stage: Some(STAGE_LOADING_CORPUS.to_owned()),
        manifest_ipc_input_hash: ipc_hash("input_hash"),
        manifest_ipc_output_hash: ipc_hash("output_hash"),
        manifest_ipc_verification: Some(Verification::new(
            verification.status,
            verification.reason,
        )),
        ..PatchState::default()
    }
}

fn walker_failure(detail: String, kind: &'static str) -> LoadFailure {
    LoadFailure::Failed {
        headline: "Walker initialisation failed",
        detail,
        kind,
    }
}

fn record_failure(slot: &PatchSlot, generation: u64, detail: &str, kind: &str) {
    slot.commit(generation, |s| {
        s.walker = None;
        s.walker_ready = false;
        s.loading_stage = None;
        s.loading_error = Some(format!("Walker initialisation failed: {detail}"));
        s.reach_cache_status = Some("error".to_owned());
        s.reach_cache_ipc_verification =
            Some(Verification::new("error", format!("loader-error:{kind}")));
    });
}

fn superseded(key: PatchKey, run_id: &str) -> WalkerError {
    WalkerError::new(
        ErrorCode::FailedPrecondition,
        format!(
            "Load of {run_id} into patch {} was superseded by a newer load.",
            key.upper()
        ),
    )
}
