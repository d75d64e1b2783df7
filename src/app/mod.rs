//! The application: the operations the RPCs offer, with the validation order
//! and exact messages of the specification, in plain Rust that knows nothing
//! about gRPC. The wire layer (`api`) only translates.

mod error;
mod load;
mod locks;
mod patches;
mod rebuild;

pub use error::{ErrorCode, WalkerError};
pub use load::{
    STAGE_BUILDING_GRAPH, STAGE_CACHED_REACHES, STAGE_COMPUTING_REACHES, STAGE_FAILED,
    STAGE_LOADING_CORPUS, STAGE_READING_CACHE, STAGE_READY, STAGE_WRITING_CACHE, StageSink,
};
pub use locks::LockStatusView;
pub use rebuild::ReachCacheRebuilt;

use std::sync::Arc;

use crate::clock::Clock;
use crate::domain::patch::{PatchKey, PatchState};
use crate::domain::reach::WalkerSettings;
use crate::lease_store::LeaseStore;
use crate::rundir::runs::{RunSummary, RunsDir};
use patches::Patches;

/// Everything the service holds: the leases, the two patches, the runs
/// directory and the walker settings. Cheap to clone; clones share state.
#[derive(Debug, Clone)]
pub struct App {
    leases: LeaseStore,
    patches: Arc<Patches>,
    runs: RunsDir,
    settings: Arc<WalkerSettings>,
    clock: Arc<dyn Clock>,
}

impl App {
    pub fn new(
        leases: impl Into<LeaseStore>,
        runs: RunsDir,
        settings: WalkerSettings,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self {
            leases: leases.into(),
            patches: Arc::default(),
            runs,
            settings: Arc::new(settings),
            clock,
        }
    }

    pub fn leases(&self) -> &LeaseStore {
        &self.leases
    }

    pub fn runs(&self) -> &RunsDir {
        &self.runs
    }

    pub fn settings(&self) -> &WalkerSettings {
        &self.settings
    }

    /// The state of a patch.
    pub fn patch_state(&self, key: PatchKey) -> PatchState {
        self.patches.slot(key).snapshot()
    }

    /// `GetPatch`: the state of the patch named in a request.
    pub fn get_patch(&self, patch: &str) -> Result<(PatchKey, PatchState), WalkerError> {
        let key = load::parse_patch(patch)?;
        Ok((key, self.patch_state(key)))
    }

    /// `ListRuns`: the valid runs of the runs directory, newest first.
    pub async fn list_runs(&self) -> Result<Vec<RunSummary>, WalkerError> {
        let runs = self.runs.clone();
        let listed = tokio::task::spawn_blocking(move || runs.list_runs())
            .await
            .map_err(|e| {
                WalkerError::new(ErrorCode::Internal, format!("Failed to list runs: {e}"))
            })?;
        listed.map_err(|e| {
            tracing::error!(error = %e, "runs directory unreadable");
            WalkerError::new(
                ErrorCode::Internal,
                "Failed to list runs: the runs directory is unreadable.",
            )
        })
    }

    /// Loads a run at start-up (`serve --load`): no lease checks, no stages.
    pub async fn preload(&self, key: PatchKey, run_id: &str) -> Result<PatchState, WalkerError> {
        self.load_corpus(key.as_str(), run_id, None, Box::new(|_| {}))
            .await
    }
}
