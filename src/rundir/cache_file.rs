//! The reach-cache file of a run: `<run_dir>/ipc/walker_profile_reaches.v1.json`.
//!
//! Other tools read this file while we may be writing it, and two rebuilds
//! may race, so a write goes to a unique temporary file in the same directory
//! that is flushed to disk and then renamed over the target: readers see the
//! old file or the new one, never a mix, and a crash leaves one of the two.

use std::fs::{self, File};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::domain::cache::{
    ArtifactError, CacheRead, ManifestIpcRef, artifact_hashes, artifact_text, build_artifact,
    validate_artifact_bytes,
};
use crate::domain::reach::{ProfileReach, WalkerSettings};

pub const CACHE_DIR: &str = "ipc";
pub const CACHE_FILE_NAME: &str = "walker_profile_reaches.v1.json";
pub const CACHE_RELATIVE_PATH: &str = "ipc/walker_profile_reaches.v1.json";
/// Real caches are well under a megabyte per thousand syllables; the cap
/// only stops a stray huge file from being read into memory whole.
pub const MAX_CACHE_BYTES: u64 = 256 * 1024 * 1024;

/// Why a cache could not be written.
#[derive(Debug, thiserror::Error)]
pub enum CacheWriteError {
    /// The run's manifest cannot key a cache: a precondition of the run, not
    /// a failure of the server.
    #[error("manifest lacks a valid manifest_version and ipc input/output hashes")]
    ManifestIpcMissing,
    #[error("cannot build the reach cache artifact: {0}")]
    Artifact(#[from] ArtifactError),
    #[error("cannot write {}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
}

/// Where the cache of the run in `run_dir` lives.
pub fn cache_path(run_dir: &Path) -> PathBuf {
    run_dir.join(CACHE_DIR).join(CACHE_FILE_NAME)
}

/// Reads and validates the cache of `run_id` in `run_dir` against the run's
/// parsed manifest and the walker settings in use. Never panics: I/O
/// failures other than a missing file are [`CacheRead::Error`].
pub fn read_cache(
    run_dir: &Path,
    run_id: &str,
    manifest: &Value,
    settings: &WalkerSettings,
) -> CacheRead {
    let Some(manifest_ref) = ManifestIpcRef::from_manifest(manifest) else {
        return CacheRead::None;
    };
    match read_file_capped(&cache_path(run_dir), MAX_CACHE_BYTES) {
        Ok(bytes) => validate_artifact_bytes(&bytes, run_id, &manifest_ref, settings),
        Err(e)
            if matches!(
                e.kind(),
                io::ErrorKind::NotFound | io::ErrorKind::NotADirectory
            ) =>
        {
            CacheRead::Miss
        }
        // No path in the message: it is reported to clients.
        Err(e) => CacheRead::Error(format!("cache-read-failed: {e}")),
    }
}

/// Writes the cache for `reaches` atomically and durably; returns its path.
pub fn write_cache(
    run_dir: &Path,
    run_id: &str,
    manifest: &Value,
    settings: &WalkerSettings,
    reaches: &[ProfileReach],
    created_at_utc: &str,
) -> Result<PathBuf, CacheWriteError> {
    let manifest_ref =
        ManifestIpcRef::from_manifest(manifest).ok_or(CacheWriteError::ManifestIpcMissing)?;
    let artifact = build_artifact(run_id, &manifest_ref, settings, reaches, created_at_utc)?;
    let text = artifact_text(&artifact);

    let dir = run_dir.join(CACHE_DIR);
    let io_error = |path: &Path| {
        let path = path.to_path_buf();
        move |source| CacheWriteError::Io { path, source }
    };
    // Only `ipc/` is created: a vanished run directory is an error, not
    // something to bring back.
    match fs::create_dir(&dir) {
        Ok(()) => sync_dir(run_dir).map_err(io_error(run_dir))?,
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
        Err(e) => return Err(io_error(&dir)(e)),
    }

    let mut builder = tempfile::Builder::new();
    builder
        .prefix(".walker_profile_reaches.v1.json.")
        .suffix(".tmp");
    #[cfg(unix)]
    {
        // NamedTempFile defaults to 0600; the cache is shared with other tools
        // and users, so create it like any other file (0666 minus umask).
        use std::os::unix::fs::PermissionsExt;
        builder.permissions(fs::Permissions::from_mode(0o666));
    }
    // Dropping `temp` on any early return deletes it: no stray temp files.
    let mut temp = builder.tempfile_in(&dir).map_err(io_error(&dir))?;
    temp.write_all(text.as_bytes())
        .and_then(|()| temp.as_file().sync_all())
        .map_err(io_error(temp.path()))?;

    let target = dir.join(CACHE_FILE_NAME);
    temp.persist(&target)
        .map_err(|e| io_error(&target)(e.error))?;
    // The rename is only durable once the directory entry is on disk.
    sync_dir(&dir).map_err(io_error(&dir))?;
    Ok(target)
}

/// `ipc.input_hash` / `ipc.output_hash` of the cache file as written, each
/// `None` when missing or not 64-hex; any read or parse failure gives
/// `(None, None)`, because this only reports what a write produced.
pub fn read_cache_hashes(run_dir: &Path) -> (Option<String>, Option<String>) {
    read_file_capped(&cache_path(run_dir), MAX_CACHE_BYTES)
        .ok()
        .and_then(|bytes| serde_json::from_slice::<Value>(&bytes).ok())
        .map_or((None, None), |artifact| artifact_hashes(&artifact))
}

/// Reads a regular file of at most `cap` bytes. Anything else (a directory, a
/// FIFO that would block the open, an oversized file) is an error.
pub fn read_file_capped(path: &Path, cap: u64) -> io::Result<Vec<u8>> {
    let metadata = fs::metadata(path)?;
    if !metadata.is_file() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "not a regular file",
        ));
    }
    if metadata.len() > cap {
        return Err(too_large(cap));
    }
    let file = File::open(path)?;
    let mut bytes = Vec::with_capacity(usize::try_from(metadata.len()).unwrap_or(0));
    // The file may grow between the size check and the read.
    file.take(cap.saturating_add(1)).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > cap {
        return Err(too_large(cap));
    }
    Ok(bytes)
}

fn too_large(cap: u64) -> io::Error {
    io::Error::new(
        io::ErrorKind::FileTooLarge,
        format!("file is larger than {cap} bytes"),
    )
}

#[cfg(unix)]
fn sync_dir(dir: &Path) -> io::Result<()> {
    match File::open(dir).and_then(|d| d.sync_all()) {
        // Some file systems cannot fsync a directory; the rename itself is
        // still atomic there, which is all they can offer.
        Err(e)
            if matches!(
                e.kind(),
                io::ErrorKind::InvalidInput | io::ErrorKind::Unsupported
            ) =>
        {
            Ok(())
        }
        other => other,
    }
}

#[cfg(not(unix))]
fn sync_dir(_dir: &Path) -> io::Result<()> {
    Ok(())
}
