//! Manifest IPC verification (SEMANTICS §2): do the `ipc` hashes a pipeline
//! wrote into `manifest.json` still describe the manifest's own content?
//!
//! The payloads are rebuilt field for field as the Python pipeline builds
//! them, including its tolerance for odd shapes (a non-object `config` or
//! `metrics` reads as all-null, non-object artifact entries are skipped), so
//! that this service and the Python tool report the same status for a run.

use std::io;
use std::path::Path;

use serde_json::{Map, Value};

use crate::domain::ipc::{is_sha256_hex, output_hash, payload_hash};
use crate::rundir::cache_file::read_file_capped;

/// Manifests are a few kilobytes; anything near this is not a manifest, and
/// reading it whole would only let a bad file exhaust memory.
pub const MAX_MANIFEST_BYTES: u64 = 64 * 1024 * 1024;

/// `(status, reason)` of verifying a manifest's `ipc` block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ManifestVerification {
    pub status: &'static str,
    pub reason: &'static str,
}

impl ManifestVerification {
    const fn new(status: &'static str, reason: &'static str) -> Self {
        Self { status, reason }
    }
}

/// Verifies the `manifest.json` at `manifest_path` (the file, not the run
/// directory).
pub fn verify_manifest_file(manifest_path: &Path) -> ManifestVerification {
    let bytes = match read_file_capped(manifest_path, MAX_MANIFEST_BYTES) {
        Ok(bytes) => bytes,
        // A run directory that is itself a file has no manifest either.
        Err(e)
            if matches!(
                e.kind(),
                io::ErrorKind::NotFound | io::ErrorKind::NotADirectory
            ) =>
        {
            return ManifestVerification::new("missing", "manifest-missing");
        }
        // The Python tool reports any read failure as a parse error.
        Err(_) => return ManifestVerification::new("error", "manifest-parse-error"),
    };
    match serde_json::from_slice::<Value>(&bytes) {
        Ok(manifest) => verify_manifest_value(&manifest),
        Err(_) => ManifestVerification::new("error", "manifest-parse-error"),
    }
}

/// Verifies the `ipc` block of a parsed manifest.
pub fn verify_manifest_value(manifest: &Value) -> ManifestVerification {
    let Some(root) = manifest.as_object() else {
        return ManifestVerification::new("error", "manifest-not-object");
    };
    let Some(ipc) = root.get("ipc").and_then(Value::as_object) else {
        return ManifestVerification::new("missing", "missing-ipc-block");
    };
    let stored = |field: &str| {
        ipc.get(field)
            .and_then(Value::as_str)
            .filter(|h| is_sha256_hex(h))
    };
    let (input_hash, output_hash_stored) = match (stored("input_hash"), stored("output_hash")) {
        (None, None) => return ManifestVerification::new("missing", "missing-input-output-hash"),
        (None, Some(_)) => return ManifestVerification::new("missing", "missing-input-hash"),
        (Some(_), None) => return ManifestVerification::new("missing", "missing-output-hash"),
        (Some(input), Some(output)) => (input, output),
    };

    let Some(output_payload) = manifest_output_payload(root) else {
        // Python cannot iterate such an `artifacts` value and reports the
        // TypeError it raises; keep the same verdict for the same file.
        return ManifestVerification::new("error", "verification-error:TypeError");
    };
    let input_matches = payload_hash(&manifest_input_payload(root)) == input_hash;
    let output_matches = output_hash(&output_payload) == output_hash_stored;
    match (input_matches, output_matches) {
        (true, true) => ManifestVerification::new("verified", "hashes-match"),
        (false, false) => ManifestVerification::new("mismatch", "input-output-mismatch"),
        (false, true) => ManifestVerification::new("mismatch", "input-mismatch"),
        (true, false) => ManifestVerification::new("mismatch", "output-mismatch"),
    }
}

/// `{extractor, language, source_path, file_pattern, min_syllable_length,
/// max_syllable_length, run_normalize, run_annotate}`, absent fields null.
pub fn manifest_input_payload(manifest: &Map<String, Value>) -> Value {
    let config = manifest.get("config").and_then(Value::as_object);
    let from_config = |field: &str| {
        config
            .and_then(|c| c.get(field))
            .cloned()
            .unwrap_or(Value::Null)
    };
    let mut payload = Map::new();
    for field in ["extractor", "language"] {
        payload.insert(
            field.into(),
            manifest.get(field).cloned().unwrap_or(Value::Null),
        );
    }
    for field in [
        "source_path",
        "file_pattern",
        "min_syllable_length",
        "max_syllable_length",
        "run_normalize",
        "run_annotate",
    ] {
        payload.insert(field.into(), from_config(field));
    }
    Value::Object(payload)
}

/// `{"artifacts": [{path, type, size_bytes}...], "metrics": {syllable_count_unique,
/// files_processed}}`; `None` when `artifacts` is null, a number or a boolean,
/// which the Python pipeline cannot iterate. An object or string iterates
/// there as keys or characters, none of them objects: no artifacts.
pub fn manifest_output_payload(manifest: &Map<String, Value>) -> Option<Value> {
    let artifacts: Vec<Value> = match manifest.get("artifacts") {
        None | Some(Value::Object(_)) | Some(Value::String(_)) => Vec::new(),
        Some(Value::Null | Value::Bool(_) | Value::Number(_)) => return None,
        Some(Value::Array(items)) => items
            .iter()
            .filter_map(Value::as_object)
            .map(|item| {
                let mut summary = Map::new();
                for field in ["path", "type", "size_bytes"] {
                    summary.insert(
                        field.into(),
                        item.get(field).cloned().unwrap_or(Value::Null),
                    );
                }
                Value::Object(summary)
            })
            .collect(),
    };
    let metrics_block = manifest.get("metrics").and_then(Value::as_object);
    let mut metrics = Map::new();
    for field in ["syllable_count_unique", "files_processed"] {
        metrics.insert(
            field.into(),
            metrics_block
                .and_then(|m| m.get(field))
                .cloned()
                .unwrap_or(Value::Null),
        );
    }
    let mut payload = Map::new();
    payload.insert("artifacts".into(), Value::Array(artifacts));
    payload.insert("metrics".into(), Value::Object(metrics));
    Some(Value::Object(payload))
}
