//! The reach-cache artifact: building, validating, verification mapping (SEMANTICS §6).
//!
//! Everything here is pure so that the read gates can be tested value by
//! value; the file system side (paths, atomic writes) is in
//! `rundir::cache_file`. The artifact is shared with the Python tool, so its
//! payloads and hashes follow that tool field for field; where the Python
//! reader is lax (it compares numbers with `1 == 1.0 == True` and coerces
//! fields with `int()` / `str()`), this reader is strict: a file it accepts is
//! always one the Python tool accepts too.

use serde_json::{Map, Value};

use crate::domain::corpus::FEATURE_NAMES;
use crate::domain::ipc::{is_sha256_hex, output_hash, payload_hash};
use crate::domain::reach::{ProfileReach, WalkerSettings};

pub const CACHE_SCHEMA_VERSION: u64 = 1;
pub const CACHE_KIND: &str = "walker_profile_reaches";
pub const CACHE_SCHEMA_URI: &str = "https://json-schema.org/draft/2020-12/schema";
pub const CACHE_SCHEMA_ID: &str = "urn:pipeworks:schema:walker-profile-reaches-cache:v1";
pub const CACHE_TITLE: &str = "Walker Profile Reaches Cache (v1)";
/// Same wording as the Python tool's files, so both writers' files differ
/// only where they must (timestamps, timings, library_ref).
pub const CACHE_DESCRIPTION: &str = "Run-directory IPC cache artifact for precomputed initial profile tables used by syllable_walk_web.";
pub const MANIFEST_RELATIVE_PATH: &str = "manifest.json";
pub const IPC_VERSION: u64 = 1;
/// The hashing scheme's name; we implement it ourselves (`domain::ipc`).
pub const IPC_LIBRARY: &str = "pipeworks-ipc";
/// Names the implementation that wrote the file; readers do not check it.
pub const LIBRARY_REF: &str = concat!("walker-service-v", env!("CARGO_PKG_VERSION"));

/// The manifest's IPC identity that keys the cache: the cache is only valid
/// for the exact run outputs the manifest hashes describe.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ManifestIpcRef {
    pub manifest_version: i64,
    pub input_hash: String,
    pub output_hash: String,
}

impl ManifestIpcRef {
    /// `None` unless `manifest_version` is an integer and both `ipc` hashes
    /// are lowercase 64-hex: without them a cache cannot be keyed.
    pub fn from_manifest(manifest: &Value) -> Option<Self> {
        // `as_i64` is None for floats and booleans: only a JSON integer counts.
        let manifest_version = manifest.get("manifest_version")?.as_i64()?;
        let ipc = manifest.get("ipc")?.as_object()?;
        let input_hash = ipc.get("input_hash")?.as_str()?;
        let output_hash = ipc.get("output_hash")?.as_str()?;
        if !is_sha256_hex(input_hash) || !is_sha256_hex(output_hash) {
            return None;
        }
        Some(Self {
            manifest_version,
            input_hash: input_hash.to_owned(),
            output_hash: output_hash.to_owned(),
        })
    }
}

/// Why an artifact could not be built from the computed reaches.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ArtifactError {
    #[error("missing profile reach: {0}")]
    MissingProfile(String),
    #[error("profile reach {0} is not a configured walker profile")]
    UnexpectedProfile(String),
    #[error("duplicate profile reach: {0}")]
    DuplicateProfile(String),
    /// JSON has no NaN or infinity; the Python tool would write a file that
    /// strict JSON readers reject, so we refuse instead.
    #[error("{0} is not a finite number")]
    NonFinite(String),
}

/// Outcome of reading the cache, in the order of the read gates.
#[derive(Debug, Clone, PartialEq)]
pub enum CacheRead {
    /// The manifest has no usable IPC identity: the cache does not apply.
    None,
    /// No cache file.
    Miss,
    /// The file exists but fails a gate; the message names the gate.
    Invalid(&'static str),
    /// The file could not be read for a reason other than its content.
    Error(String),
    Hit(CachedReaches),
}

/// A validated cache: the reaches in profile order and the artifact's hashes.
#[derive(Debug, Clone, PartialEq)]
pub struct CachedReaches {
    pub reaches: Vec<ProfileReach>,
    pub input_hash: String,
    pub output_hash: String,
}

impl CacheRead {
    pub fn status(&self) -> &'static str {
        match self {
            CacheRead::None => "none",
            CacheRead::Miss => "miss",
            CacheRead::Invalid(_) => "invalid",
            CacheRead::Error(_) => "error",
            CacheRead::Hit(_) => "hit",
        }
    }

    /// The diagnostic the Python tool reports alongside the status.
    pub fn message(&self) -> Option<&str> {
        match self {
            CacheRead::None => Some("manifest-ipc-missing"),
            CacheRead::Miss => Some("cache-file-missing"),
            CacheRead::Invalid(message) => Some(message),
            CacheRead::Error(message) => Some(message),
            CacheRead::Hit(_) => None,
        }
    }

    /// `(status, reason)` recorded as the cache's IPC verification.
    pub fn verification(&self) -> (&'static str, String) {
        match self {
            CacheRead::Hit(hit)
                if is_sha256_hex(&hit.input_hash) && is_sha256_hex(&hit.output_hash) =>
            {
                ("verified", "cache-hit-hashes-match".to_owned())
            }
            CacheRead::Hit(_) => ("error", "cache-hit-missing-hashes".to_owned()),
            CacheRead::Invalid(message) => ("mismatch", (*message).to_owned()),
            CacheRead::Error(message) => ("error", message.clone()),
            CacheRead::None => ("missing", "manifest-ipc-missing".to_owned()),
            CacheRead::Miss => ("missing", "cache-miss".to_owned()),
        }
    }
}

/// `{walker_impl, max_neighbor_distance, inertia_cost, feature_costs}`.
pub fn graph_settings(settings: &WalkerSettings) -> Value {
    let feature_costs: Map<String, Value> = FEATURE_NAMES
        .iter()
        .zip(settings.feature_costs.iter())
        .map(|(name, cost)| ((*name).to_owned(), float(*cost)))
        .collect();
    let mut graph = Map::new();
    graph.insert(
        "walker_impl".into(),
        Value::from(settings.walker_impl.as_str()),
    );
    graph.insert(
        "max_neighbor_distance".into(),
        Value::from(settings.max_neighbor_distance),
    );
    graph.insert("inertia_cost".into(), float(settings.inertia_cost));
    graph.insert("feature_costs".into(), Value::Object(feature_costs));
    Value::Object(graph)
}

/// `{threshold, profiles: {name: {max_flips, temperature, frequency_weight}}}`.
pub fn reach_settings(settings: &WalkerSettings) -> Value {
    let profiles: Map<String, Value> = settings
        .profiles
        .iter()
        .map(|p| {
            let mut profile = Map::new();
            profile.insert("max_flips".into(), Value::from(p.max_flips));
            profile.insert("temperature".into(), float(p.temperature));
            profile.insert("frequency_weight".into(), float(p.frequency_weight));
            (p.name.clone(), Value::Object(profile))
        })
        .collect();
    let mut reach = Map::new();
    reach.insert("threshold".into(), float(settings.threshold));
    reach.insert("profiles".into(), Value::Object(profiles));
    Value::Object(reach)
}

/// The cache key: what was computed (settings) from which run outputs
/// (the manifest's output hash).
pub fn input_payload(run_id: &str, manifest_output_hash: &str, settings: &WalkerSettings) -> Value {
    let mut payload = Map::new();
    payload.insert("run_id".into(), Value::from(run_id));
    payload.insert(
        "manifest_ipc_output_hash".into(),
        Value::from(manifest_output_hash),
    );
    payload.insert("graph_settings".into(), graph_settings(settings));
    payload.insert("reach_settings".into(), reach_settings(settings));
    Value::Object(payload)
}

/// `{"profiles": {name: {reach, total, unique_reachable}}}`: only the
/// deterministic numbers, so the output hash does not depend on timings.
pub fn output_payload(reaches: &[ProfileReach]) -> Value {
    let profiles: Map<String, Value> = reaches
        .iter()
        .map(|r| {
            let mut summary = Map::new();
            summary.insert("reach".into(), Value::from(r.reach));
            summary.insert("total".into(), Value::from(r.total));
            summary.insert("unique_reachable".into(), Value::from(r.unique_reachable));
            (r.profile_name.clone(), Value::Object(summary))
        })
        .collect();
    let mut payload = Map::new();
    payload.insert("profiles".into(), Value::Object(profiles));
    Value::Object(payload)
}

/// The whole artifact for `reaches`, which must be exactly one per profile of
/// `settings`.
pub fn build_artifact(
    run_id: &str,
    manifest: &ManifestIpcRef,
    settings: &WalkerSettings,
    reaches: &[ProfileReach],
    created_at_utc: &str,
) -> Result<Value, ArtifactError> {
    let ordered = reaches_in_profile_order(settings, reaches)?;
    check_finite(settings, &ordered)?;

    let input = input_payload(run_id, &manifest.output_hash, settings);
    let output = output_payload(reaches);
    let input_hash = payload_hash(&input);
    let output_hash = output_hash(&output);

    let mut manifest_block = Map::new();
    manifest_block.insert("relative_path".into(), Value::from(MANIFEST_RELATIVE_PATH));
    manifest_block.insert(
        "manifest_version".into(),
        Value::from(manifest.manifest_version),
    );
    manifest_block.insert(
        "ipc_input_hash".into(),
        Value::from(manifest.input_hash.as_str()),
    );
    manifest_block.insert(
        "ipc_output_hash".into(),
        Value::from(manifest.output_hash.as_str()),
    );

    let mut ipc = Map::new();
    ipc.insert("version".into(), Value::from(IPC_VERSION));
    ipc.insert("library".into(), Value::from(IPC_LIBRARY));
    ipc.insert("library_ref".into(), Value::from(LIBRARY_REF));
    ipc.insert("input_hash".into(), Value::from(input_hash));
    ipc.insert("output_hash".into(), Value::from(output_hash));
    ipc.insert("input_payload".into(), input);
    ipc.insert("output_payload".into(), output);

    let profile_reaches: Map<String, Value> = ordered
        .iter()
        .map(|r| (r.profile_name.clone(), encode_reach(r)))
        .collect();

    let mut artifact = Map::new();
    artifact.insert("$schema".into(), Value::from(CACHE_SCHEMA_URI));
    artifact.insert("$id".into(), Value::from(CACHE_SCHEMA_ID));
    artifact.insert("title".into(), Value::from(CACHE_TITLE));
    artifact.insert("description".into(), Value::from(CACHE_DESCRIPTION));
    artifact.insert("schema_version".into(), Value::from(CACHE_SCHEMA_VERSION));
    artifact.insert("cache_kind".into(), Value::from(CACHE_KIND));
    artifact.insert("run_id".into(), Value::from(run_id));
    artifact.insert("created_at_utc".into(), Value::from(created_at_utc));
    artifact.insert("manifest".into(), Value::Object(manifest_block));
    artifact.insert("graph_settings".into(), graph_settings(settings));
    artifact.insert("reach_settings".into(), reach_settings(settings));
    artifact.insert("ipc".into(), Value::Object(ipc));
    artifact.insert("profile_reaches".into(), Value::Object(profile_reaches));
    Ok(Value::Object(artifact))
}

/// The file's text: 2-space indentation, sorted keys, trailing newline, as
/// the Python tool writes it.
pub fn artifact_text(artifact: &Value) -> String {
    let mut text = crate::domain::ipc::indented_text(artifact);
    text.push('\n');
    text
}

/// Reads the raw bytes of a cache file through every gate from
/// `cache-json-invalid` on.
pub fn validate_artifact_bytes(
    bytes: &[u8],
    run_id: &str,
    manifest: &ManifestIpcRef,
    settings: &WalkerSettings,
) -> CacheRead {
    // serde_json rejects invalid UTF-8, a BOM and NaN just as the Python
    // reader's decode + json.loads do (the latter accepts NaN, but no writer
    // produces it).
    match serde_json::from_slice::<Value>(bytes) {
        Ok(artifact) => validate_artifact(&artifact, run_id, manifest, settings),
        Err(_) => CacheRead::Invalid("cache-json-invalid"),
    }
}

/// The gates from `cache-root-not-object` on, in the specified order; the
/// first that fails names the result.
pub fn validate_artifact(
    artifact: &Value,
    run_id: &str,
    manifest: &ManifestIpcRef,
    settings: &WalkerSettings,
) -> CacheRead {
    let Some(root) = artifact.as_object() else {
        return CacheRead::Invalid("cache-root-not-object");
    };
    if root.get("schema_version").and_then(Value::as_u64) != Some(CACHE_SCHEMA_VERSION) {
        return CacheRead::Invalid("schema-version-mismatch");
    }
    if root.get("cache_kind").and_then(Value::as_str) != Some(CACHE_KIND) {
        return CacheRead::Invalid("cache-kind-mismatch");
    }
    if root.get("run_id").and_then(Value::as_str) != Some(run_id) {
        return CacheRead::Invalid("run-id-mismatch");
    }

    let Some(manifest_block) = root.get("manifest").and_then(Value::as_object) else {
        return CacheRead::Invalid("manifest-block-missing");
    };
    if manifest_block
        .get("ipc_output_hash")
        .and_then(Value::as_str)
        != Some(manifest.output_hash.as_str())
    {
        return CacheRead::Invalid("manifest-output-hash-mismatch");
    }
    if manifest_block.get("ipc_input_hash").and_then(Value::as_str)
        != Some(manifest.input_hash.as_str())
    {
        return CacheRead::Invalid("manifest-input-hash-mismatch");
    }

    let Some(ipc) = root.get("ipc").and_then(Value::as_object) else {
        return CacheRead::Invalid("ipc-block-missing");
    };
    let expected_input = input_payload(run_id, &manifest.output_hash, settings);
    if ipc.get("input_payload") != Some(&expected_input) {
        return CacheRead::Invalid("input-payload-mismatch");
    }
    let expected_input_hash = payload_hash(&expected_input);
    if ipc.get("input_hash").and_then(Value::as_str) != Some(expected_input_hash.as_str()) {
        return CacheRead::Invalid("input-hash-mismatch");
    }

    let Some(reaches) = root
        .get("profile_reaches")
        .and_then(|v| decode_profile_reaches(v, settings))
    else {
        return CacheRead::Invalid("profile-reaches-invalid");
    };

    let expected_output = output_payload(&reaches);
    if ipc.get("output_payload") != Some(&expected_output) {
        return CacheRead::Invalid("output-payload-mismatch");
    }
    let expected_output_hash = output_hash(&expected_output);
    if ipc.get("output_hash").and_then(Value::as_str) != Some(expected_output_hash.as_str()) {
        return CacheRead::Invalid("output-hash-mismatch");
    }

    CacheRead::Hit(CachedReaches {
        reaches,
        input_hash: expected_input_hash,
        output_hash: expected_output_hash,
    })
}

/// `ipc.input_hash` / `ipc.output_hash` of an artifact, each only when it is
/// a 64-hex digest; for reporting what was just written.
pub fn artifact_hashes(artifact: &Value) -> (Option<String>, Option<String>) {
    let hash = |field: &str| {
        artifact
            .get("ipc")
            .and_then(|ipc| ipc.get(field))
            .and_then(Value::as_str)
            .filter(|h| is_sha256_hex(h))
            .map(str::to_owned)
    };
    (hash("input_hash"), hash("output_hash"))
}

fn float(x: f64) -> Value {
    // Non-finite values become null here; build_artifact refuses them first.
    Value::from(x)
}

fn encode_reach(r: &ProfileReach) -> Value {
    let indices: Vec<Value> = r
        .reachable_indices
        .iter()
        .map(|&(index, count)| Value::Array(vec![Value::from(index), Value::from(count)]))
        .collect();
    let mut record = Map::new();
    record.insert("profile_name".into(), Value::from(r.profile_name.as_str()));
    record.insert("reach".into(), Value::from(r.reach));
    record.insert("total".into(), Value::from(r.total));
    record.insert("threshold".into(), float(r.threshold));
    record.insert("max_flips".into(), Value::from(r.max_flips));
    record.insert("temperature".into(), float(r.temperature));
    record.insert("frequency_weight".into(), float(r.frequency_weight));
    record.insert("computation_ms".into(), float(r.computation_ms));
    record.insert("unique_reachable".into(), Value::from(r.unique_reachable));
    record.insert("reachable_indices".into(), Value::Array(indices));
    Value::Object(record)
}

/// Exactly the configured profiles, each complete with well-typed fields;
/// `None` for anything else. Returned in profile order.
fn decode_profile_reaches(value: &Value, settings: &WalkerSettings) -> Option<Vec<ProfileReach>> {
    let records = value.as_object()?;
    if records.len() != settings.profiles.len() {
        return None;
    }
    settings
        .profiles
        .iter()
        .map(|profile| decode_reach(&profile.name, records.get(&profile.name)?))
        .collect()
}

fn decode_reach(name: &str, record: &Value) -> Option<ProfileReach> {
    let record = record.as_object()?;
    let uint = |field: &str| -> Option<u32> { u32::try_from(record.get(field)?.as_u64()?).ok() };
    let number = |field: &str| -> Option<f64> { record.get(field)?.as_f64() };
    let profile_name = record.get("profile_name")?.as_str()?;
    if profile_name != name {
        return None;
    }
    let reachable_indices = record
        .get("reachable_indices")?
        .as_array()?
        .iter()
        .map(|pair| match pair.as_array()?.as_slice() {
            [index, count] => Some((
                u32::try_from(index.as_u64()?).ok()?,
                u32::try_from(count.as_u64()?).ok()?,
            )),
            _ => None,
        })
        .collect::<Option<Vec<_>>>()?;
    Some(ProfileReach {
        profile_name: profile_name.to_owned(),
        reach: uint("reach")?,
        total: uint("total")?,
        unique_reachable: uint("unique_reachable")?,
        threshold: number("threshold")?,
        max_flips: uint("max_flips")?,
        temperature: number("temperature")?,
        frequency_weight: number("frequency_weight")?,
        computation_ms: number("computation_ms")?,
        reachable_indices,
    })
}

fn reaches_in_profile_order<'a>(
    settings: &WalkerSettings,
    reaches: &'a [ProfileReach],
) -> Result<Vec<&'a ProfileReach>, ArtifactError> {
    for (i, reach) in reaches.iter().enumerate() {
        if !settings
            .profiles
            .iter()
            .any(|p| p.name == reach.profile_name)
        {
            return Err(ArtifactError::UnexpectedProfile(reach.profile_name.clone()));
        }
        if reaches[..i]
            .iter()
            .any(|earlier| earlier.profile_name == reach.profile_name)
        {
            return Err(ArtifactError::DuplicateProfile(reach.profile_name.clone()));
        }
    }
    settings
        .profiles
        .iter()
        .map(|profile| {
            reaches
                .iter()
                .find(|r| r.profile_name == profile.name)
                .ok_or_else(|| ArtifactError::MissingProfile(profile.name.clone()))
        })
        .collect()
}

fn check_finite(settings: &WalkerSettings, reaches: &[&ProfileReach]) -> Result<(), ArtifactError> {
    let mut numbers: Vec<(String, f64)> = vec![
        ("inertia_cost".into(), settings.inertia_cost),
        ("threshold".into(), settings.threshold),
    ];
    for (name, cost) in FEATURE_NAMES.iter().zip(settings.feature_costs.iter()) {
        numbers.push((format!("feature cost {name}"), *cost));
    }
    for p in &settings.profiles {
        numbers.push((format!("{} temperature", p.name), p.temperature));
        numbers.push((format!("{} frequency_weight", p.name), p.frequency_weight));
    }
    for r in reaches {
        let name = &r.profile_name;
        numbers.push((format!("{name} reach threshold"), r.threshold));
        numbers.push((format!("{name} reach temperature"), r.temperature));
        numbers.push((format!("{name} reach frequency_weight"), r.frequency_weight));
        numbers.push((format!("{name} computation_ms"), r.computation_ms));
    }
    match numbers.into_iter().find(|(_, x)| !x.is_finite()) {
        Some((what, _)) => Err(ArtifactError::NonFinite(what)),
        None => Ok(()),
    }
}
