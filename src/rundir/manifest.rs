//! `manifest.json` of a run directory (SEMANTICS §2).
//!
//! The manifest is parsed once into a [`Manifest`] that offers the few fields
//! this service reads and keeps the parsed JSON value as well: the IPC
//! verification recomputes hashes over parts of the document that the typed
//! view deliberately does not model.

use std::fs::File;
use std::io::{self, Read};
use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

/// File name of the manifest inside a run directory.
pub const MANIFEST_FILE_NAME: &str = "manifest.json";

/// Largest manifest read. Real manifests are a few KiB; the cap keeps a
/// stray or hostile file from being read into memory when runs are listed.
pub const MAX_MANIFEST_BYTES: u64 = 16 * 1024 * 1024;

/// Keys every run manifest has; a directory without them is not a run.
pub const REQUIRED_KEYS: [&str; 8] = [
    "manifest_version",
    "run_id",
    "status",
    "extractor",
    "config",
    "metrics",
    "stages",
    "artifacts",
];

/// A manifest that has the required keys with the required shapes.
#[derive(Debug, Clone, PartialEq)]
pub struct Manifest {
    raw: Value,
    run_id: String,
    extractor: String,
    status: String,
    language: Option<String>,
    created_at_utc: Option<String>,
    syllable_count_unique: Option<u64>,
    artifacts: Vec<Artifact>,
}

/// One entry of `artifacts`: a file the pipeline wrote, relative to the run
/// directory as the manifest spells it (not yet checked to be safe).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Artifact {
    pub path: String,
    /// The manifest's `type` (`sqlite`, `annotated_json`, ...).
    pub kind: Option<String>,
    pub size_bytes: Option<u64>,
}

/// A manifest that could not be read or is not a run manifest.
#[derive(Debug, thiserror::Error)]
#[error("{}: {problem}", path.display())]
pub struct ManifestError {
    pub path: PathBuf,
    pub problem: ManifestProblem,
}

/// What is wrong with a manifest.
#[derive(Debug, thiserror::Error)]
pub enum ManifestProblem {
    #[error("no such file")]
    Missing,
    #[error("cannot read: {0}")]
    Unreadable(#[source] io::Error),
    #[error("not a regular file")]
    NotAFile,
    #[error("{size} bytes, more than the {max}-byte limit", max = MAX_MANIFEST_BYTES)]
    TooLarge { size: u64 },
    #[error("not valid JSON: {0}")]
    Json(#[source] serde_json::Error),
    #[error("not a JSON object")]
    NotObject,
    #[error("missing required key `{0}`")]
    MissingKey(&'static str),
    #[error("`{key}` must be {expected}")]
    WrongType {
        key: &'static str,
        expected: &'static str,
    },
    #[error("`extractor` is empty")]
    EmptyExtractor,
}

impl ManifestProblem {
    /// Whether the manifest file is simply absent (the directory is not a
    /// run yet), as opposed to present but broken.
    pub fn is_missing(&self) -> bool {
        matches!(self, Self::Missing)
    }
}

/// Reads and validates the manifest at `path`.
pub fn read_manifest(path: &Path) -> Result<Manifest, ManifestError> {
    let fail = |problem| ManifestError {
        path: path.to_path_buf(),
        problem,
    };
    let bytes = read_capped(path).map_err(fail)?;
    let value: Value =
        serde_json::from_slice(&bytes).map_err(|e| fail(ManifestProblem::Json(e)))?;
    Manifest::from_value(value).map_err(fail)
}

/// Reads at most the cap (plus one byte to notice a file that grew after its
/// metadata was checked).
fn read_capped(path: &Path) -> Result<Vec<u8>, ManifestProblem> {
    let file = File::open(path).map_err(|e| match e.kind() {
        io::ErrorKind::NotFound => ManifestProblem::Missing,
        _ => ManifestProblem::Unreadable(e),
    })?;
    let metadata = file.metadata().map_err(ManifestProblem::Unreadable)?;
    if !metadata.is_file() {
        return Err(ManifestProblem::NotAFile);
    }
    if metadata.len() > MAX_MANIFEST_BYTES {
        return Err(ManifestProblem::TooLarge {
            size: metadata.len(),
        });
    }
    let mut bytes = Vec::with_capacity(usize::try_from(metadata.len()).unwrap_or(0));
    file.take(MAX_MANIFEST_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(ManifestProblem::Unreadable)?;
    let len = u64::try_from(bytes.len()).unwrap_or(u64::MAX);
    if len > MAX_MANIFEST_BYTES {
        return Err(ManifestProblem::TooLarge { size: len });
    }
    Ok(bytes)
}

impl Manifest {
    /// Validates an already parsed manifest document.
    ///
    /// Only the shapes the run rules depend on are enforced; everything else
    /// is read leniently (a field of an unexpected type reads as absent) so a
    /// manifest from a newer pipeline still lists.
    pub fn from_value(raw: Value) -> Result<Self, ManifestProblem> {
        let object = raw.as_object().ok_or(ManifestProblem::NotObject)?;
        for key in REQUIRED_KEYS {
            if !object.contains_key(key) {
                return Err(ManifestProblem::MissingKey(key));
            }
        }
        let run_id = required_string(object, "run_id")?.to_owned();
        let extractor = required_string(object, "extractor")?.to_owned();
        if extractor.is_empty() {
            return Err(ManifestProblem::EmptyExtractor);
        }
        let metrics = required_object(object, "metrics")?;
        required_object(object, "config")?;
        required_array(object, "stages")?;
        let artifacts = required_array(object, "artifacts")?
            .iter()
            .filter_map(Artifact::from_value)
            .collect();
        // `status` is shown to clients as a string; a non-string status (never
        // written by the pipeline) is shown as its JSON text rather than
        // hiding the run.
        let status = match field(object, "status")? {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        let language = optional_string(object, "language");
        let created_at_utc = optional_string(object, "created_at_utc");
        let syllable_count_unique = metrics.get("syllable_count_unique").and_then(Value::as_u64);
        Ok(Self {
            run_id,
            extractor,
            status,
            language,
            created_at_utc,
            syllable_count_unique,
            artifacts,
            raw,
        })
    }

    /// The parsed document, for the IPC verification.
    pub fn raw(&self) -> &Value {
        &self.raw
    }

    pub fn run_id(&self) -> &str {
        &self.run_id
    }

    /// Non-empty; it is the patch's corpus type.
    pub fn extractor(&self) -> &str {
        &self.extractor
    }

    pub fn status(&self) -> &str {
        &self.status
    }

    pub fn language(&self) -> Option<&str> {
        self.language.as_deref()
    }

    pub fn created_at_utc(&self) -> Option<&str> {
        self.created_at_utc.as_deref()
    }

    /// `metrics.syllable_count_unique` when it is a non-negative integer.
    pub fn syllable_count_unique(&self) -> Option<u64> {
        self.syllable_count_unique
    }

    /// The artifact entries that are objects with a string `path`, in
    /// manifest order; other entries cannot name a file and are ignored.
    pub fn artifacts(&self) -> &[Artifact] {
        &self.artifacts
    }
}

impl Artifact {
    fn from_value(value: &Value) -> Option<Self> {
        let object = value.as_object()?;
        let path = object.get("path")?.as_str()?.to_owned();
        Some(Self {
            path,
            kind: object
                .get("type")
                .and_then(Value::as_str)
                .map(str::to_owned),
            size_bytes: object.get("size_bytes").and_then(Value::as_u64),
        })
    }
}

fn required_string<'a>(
    object: &'a Map<String, Value>,
    key: &'static str,
) -> Result<&'a str, ManifestProblem> {
    field(object, key)?
        .as_str()
        .ok_or(ManifestProblem::WrongType {
            key,
            expected: "a string",
        })
}

fn required_object<'a>(
    object: &'a Map<String, Value>,
    key: &'static str,
) -> Result<&'a Map<String, Value>, ManifestProblem> {
    field(object, key)?
        .as_object()
        .ok_or(ManifestProblem::WrongType {
            key,
            expected: "an object",
        })
}

fn required_array<'a>(
    object: &'a Map<String, Value>,
    key: &'static str,
) -> Result<&'a Vec<Value>, ManifestProblem> {
    field(object, key)?
        .as_array()
        .ok_or(ManifestProblem::WrongType {
            key,
            expected: "a list",
        })
}

fn field<'a>(
    object: &'a Map<String, Value>,
    key: &'static str,
) -> Result<&'a Value, ManifestProblem> {
    object.get(key).ok_or(ManifestProblem::MissingKey(key))
}

fn optional_string(object: &Map<String, Value>, key: &str) -> Option<String> {
    object.get(key).and_then(Value::as_str).map(str::to_owned)
}
