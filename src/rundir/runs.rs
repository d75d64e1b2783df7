//! The runs directory: finding one run by id and listing all of them
//! (SEMANTICS §2 and §6 "Reading a patch (GetPatch) and the runs (ListRuns)").
//!
//! Lookup and listing apply the same rules, so a run that `ListRuns` shows is
//! exactly a run that `LoadCorpus` can find.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use crate::rundir::corpus::locate_corpus_artifacts;
use crate::rundir::manifest::{MANIFEST_FILE_NAME, Manifest, ManifestError, read_manifest};
use crate::rundir::manifest_ipc::verify_manifest_value;
use crate::rundir::run_id::{RunId, RunIdError};

/// The directory that holds one subdirectory per run.
#[derive(Debug, Clone)]
pub struct RunsDir {
    /// Canonical, so containment checks compare like with like.
    root: PathBuf,
}

/// A run that passed the run rules: its directory is inside the runs
/// directory and its manifest is a valid run manifest naming this run.
#[derive(Debug, Clone)]
pub struct RunDir {
    run_id: RunId,
    path: PathBuf,
    manifest: Manifest,
}

/// One entry of `ListRuns`, as the contract's `RunSummary`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunSummary {
    pub run_id: String,
    pub extractor: String,
    /// `metrics.syllable_count_unique`; absent when null, missing or not a
    /// `u32`.
    pub syllable_count: Option<u32>,
    pub status: String,
    pub created_at_utc: Option<String>,
    pub has_corpus_db: bool,
    pub has_annotated_json: bool,
    pub manifest_ipc_verification_status: String,
}

/// The runs directory itself cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum RunsDirError {
    #[error("runs directory {}: {source}", path.display())]
    Unreadable {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("runs directory {}: not a directory", path.display())]
    NotADirectory { path: PathBuf },
}

/// Why [`RunsDir::find_run`] found no run. Clients see both as
/// `Run not found: <run_id>`; the variant picks the error code.
#[derive(Debug, thiserror::Error)]
pub enum RunLookupError {
    /// Not a safe run id (INVALID_ARGUMENT): never touched the file system.
    #[error("invalid run id {run_id:?}: {reason}")]
    InvalidId { run_id: String, reason: RunIdError },
    /// A well-formed id without a valid run behind it (NOT_FOUND).
    #[error("run {run_id} not found: {reason}")]
    NotFound {
        run_id: String,
        reason: NotFoundReason,
    },
}

impl RunLookupError {
    /// The id as the client sent it.
    pub fn run_id(&self) -> &str {
        match self {
            Self::InvalidId { run_id, .. } | Self::NotFound { run_id, .. } => run_id,
        }
    }
}

/// Why a well-formed run id has no valid run (for logs, not for clients).
#[derive(Debug, thiserror::Error)]
pub enum NotFoundReason {
    #[error("no such directory")]
    NoDirectory,
    #[error("cannot resolve the directory: {0}")]
    Unresolvable(#[source] io::Error),
    #[error("resolves outside the runs directory")]
    OutsideRunsDir,
    #[error("not a directory")]
    NotADirectory,
    #[error("{0}")]
    Manifest(#[source] ManifestError),
    #[error("manifest run_id is {manifest_run_id:?}, not the directory name")]
    RunIdMismatch { manifest_run_id: String },
}

impl RunsDir {
    /// Opens the runs directory; it must exist.
    pub fn open(root: impl AsRef<Path>) -> Result<Self, RunsDirError> {
        let root = root.as_ref();
        let canonical = root
            .canonicalize()
            .map_err(|source| RunsDirError::Unreadable {
                path: root.to_path_buf(),
                source,
            })?;
        if !canonical.is_dir() {
            return Err(RunsDirError::NotADirectory {
                path: root.to_path_buf(),
            });
        }
        Ok(Self { root: canonical })
    }

    /// The canonical path of the runs directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Finds the run named `run_id`.
    ///
    /// The id is validated before any file-system access, and the resolved
    /// directory must still be inside the runs directory after symlinks are
    /// followed, so neither `..` nor a symlink can reach other directories.
    pub fn find_run(&self, run_id: &str) -> Result<RunDir, RunLookupError> {
        let id = RunId::parse(run_id).map_err(|reason| RunLookupError::InvalidId {
            run_id: run_id.to_owned(),
            reason,
        })?;
        self.open_run(id)
            .map_err(|reason| RunLookupError::NotFound {
                run_id: run_id.to_owned(),
                reason,
            })
    }

    fn open_run(&self, run_id: RunId) -> Result<RunDir, NotFoundReason> {
        let candidate = self.root.join(run_id.as_str());
        let path = candidate.canonicalize().map_err(|e| match e.kind() {
            io::ErrorKind::NotFound => NotFoundReason::NoDirectory,
            _ => NotFoundReason::Unresolvable(e),
        })?;
        if path == self.root || !path.starts_with(&self.root) {
            return Err(NotFoundReason::OutsideRunsDir);
        }
        if !path.is_dir() {
            return Err(NotFoundReason::NotADirectory);
        }
        let manifest =
            read_manifest(&path.join(MANIFEST_FILE_NAME)).map_err(NotFoundReason::Manifest)?;
        if manifest.run_id() != run_id.as_str() {
            return Err(NotFoundReason::RunIdMismatch {
                manifest_run_id: manifest.run_id().to_owned(),
            });
        }
        Ok(RunDir {
            run_id,
            path,
            manifest,
        })
    }

    /// The valid runs, newest first.
    ///
    /// Order: by the run-id timestamp, newest first; runs with the same
    /// timestamp by run id in descending byte order. Since every run id
    /// starts with its timestamp, both amount to sorting the ids in
    /// descending byte order, which makes the order total and stable across
    /// calls.
    ///
    /// Entries whose name is not a run id are not runs and are passed over
    /// silently; directories named like runs that fail the run rules are
    /// skipped with a warning. Only an unreadable runs directory is an error.
    pub fn list_runs(&self) -> Result<Vec<RunSummary>, RunsDirError> {
        let unreadable = |source| RunsDirError::Unreadable {
            path: self.root.clone(),
            source,
        };
        let mut runs = Vec::new();
        for entry in fs::read_dir(&self.root).map_err(unreadable)? {
            let entry = match entry {
                Ok(entry) => entry,
                Err(error) => {
                    tracing::warn!(runs_dir = %self.root.display(), %error, "cannot read an entry of the runs directory; skipped");
                    continue;
                }
            };
            let name = entry.file_name();
            let Some(id) = name.to_str().and_then(|name| RunId::parse(name).ok()) else {
                tracing::debug!(entry = ?name, "not a run id; ignored");
                continue;
            };
            match self.open_run(id) {
                Ok(run) => runs.push(run.summary()),
                Err(reason) => {
                    tracing::warn!(run_dir = %entry.path().display(), %reason, "not a valid run; skipped");
                }
            }
        }
        runs.sort_by(|a, b| b.run_id.cmp(&a.run_id));
        Ok(runs)
    }
}

impl RunDir {
    pub fn run_id(&self) -> &str {
        self.run_id.as_str()
    }

    /// Canonical path of the run directory.
    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn manifest(&self) -> &Manifest {
        &self.manifest
    }

    /// The run as `ListRuns` shows it; looks at the disk for the corpus
    /// artifacts and verifies the manifest's IPC block.
    pub fn summary(&self) -> RunSummary {
        let manifest = &self.manifest;
        let artifacts = locate_corpus_artifacts(&self.path, manifest);
        RunSummary {
            run_id: self.run_id.as_str().to_owned(),
            extractor: manifest.extractor().to_owned(),
            syllable_count: manifest
                .syllable_count_unique()
                .and_then(|n| u32::try_from(n).ok()),
            status: manifest.status().to_owned(),
            created_at_utc: manifest.created_at_utc().map(str::to_owned),
            has_corpus_db: artifacts.sqlite.is_present(),
            has_annotated_json: artifacts.annotated_json.is_present(),
            manifest_ipc_verification_status: verify_manifest_value(manifest.raw())
                .status
                .to_owned(),
        }
    }
}
