//! The reach-cache artifact against the file the Python tool wrote for the
//! demo run: building, rendering, every read gate, and atomic writes on real
//! files in temporary run directories.

use std::fs;
use std::path::{Path, PathBuf};
use std::thread;

use serde_json::{Value, json};
use tempfile::TempDir;
use walker_service::domain::cache::{
    ArtifactError, CacheRead, CachedReaches, LIBRARY_REF, ManifestIpcRef, artifact_text,
    build_artifact, input_payload, output_payload, validate_artifact,
};
use walker_service::domain::ipc::{output_hash, payload_hash};
use walker_service::domain::reach::{ProfileReach, WalkerSettings};
use walker_service::rundir::cache_file::{
    CACHE_RELATIVE_PATH, CacheWriteError, MAX_CACHE_BYTES, cache_path, read_cache,
    read_cache_hashes, write_cache,
};

const RUN_ID: &str = "20261203_124212_pyphen";
const EXPECTED_TEXT: &str = include_str!("data/expected/walker_profile_reaches.v1.json");
const SUMMARY: &str = include_str!("data/expected/summary.json");
const DEMO_MANIFEST: &str = include_str!("../demo/runs/20261203_124212_pyphen/manifest.json");
const CREATED: &str = "2026-12-03T12:55:54Z";

fn expected() -> Value {
    serde_json::from_str(EXPECTED_TEXT).unwrap()
}

fn manifest() -> Value {
    serde_json::from_str(DEMO_MANIFEST).unwrap()
}

fn manifest_ref() -> ManifestIpcRef {
    ManifestIpcRef::from_manifest(&manifest()).unwrap()
}

fn settings() -> WalkerSettings {
    WalkerSettings::default()
}

/// `(input_hash, output_hash)` the Python tool reported for its cache.
fn summary_hashes() -> (String, String) {
    let summary: Value = serde_json::from_str(SUMMARY).unwrap();
    let cache = &summary["reach_cache"];
    (
        cache["ipc_input_hash"].as_str().unwrap().to_owned(),
        cache["ipc_output_hash"].as_str().unwrap().to_owned(),
    )
}

/// The reaches recorded in the Python file, decoded independently of the
/// code under test.
fn expected_reaches() -> Vec<ProfileReach> {
    let file = expected();
    ["clerical", "dialect", "goblin", "ritual"]
        .iter()
        .map(|name| {
            let r = &file["profile_reaches"][name];
            let uint = |f: &str| u32::try_from(r[f].as_u64().unwrap()).unwrap();
            ProfileReach {
                profile_name: r["profile_name"].as_str().unwrap().to_owned(),
                reach: uint("reach"),
                total: uint("total"),
                unique_reachable: uint("unique_reachable"),
                threshold: r["threshold"].as_f64().unwrap(),
                max_flips: uint("max_flips"),
                temperature: r["temperature"].as_f64().unwrap(),
                frequency_weight: r["frequency_weight"].as_f64().unwrap(),
                computation_ms: r["computation_ms"].as_f64().unwrap(),
                reachable_indices: r["reachable_indices"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|p| {
                        let n = |i: usize| u32::try_from(p[i].as_u64().unwrap()).unwrap();
                        (n(0), n(1))
                    })
                    .collect(),
            }
        })
        .collect()
}

/// A run directory holding the demo manifest and, if given, a cache file.
fn run_dir_with(cache: Option<&[u8]>) -> TempDir {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("manifest.json"), DEMO_MANIFEST).unwrap();
    if let Some(bytes) = cache {
        fs::create_dir(dir.path().join("ipc")).unwrap();
        fs::write(cache_path(dir.path()), bytes).unwrap();
    }
    dir
}

fn read(dir: &Path) -> CacheRead {
    read_cache(dir, RUN_ID, &manifest(), &settings())
}

/// Reads the expected file after `corrupt` changed it.
fn read_corrupted(corrupt: impl FnOnce(&mut Value)) -> CacheRead {
    let mut file = expected();
    corrupt(&mut file);
    let dir = run_dir_with(Some(artifact_text(&file).as_bytes()));
    read(dir.path())
}

fn assert_invalid(result: CacheRead, message: &'static str) {
    assert_eq!(result, CacheRead::Invalid(message));
    assert_eq!(result.status(), "invalid");
    assert_eq!(result.verification(), ("mismatch", message.to_owned()));
}

fn dir_entries(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

fn hit(result: CacheRead) -> CachedReaches {
    match result {
        CacheRead::Hit(hit) => hit,
        other => panic!("expected a hit, got {other:?}"),
    }
}

// --- building --------------------------------------------------------------

#[test]
fn built_artifact_equals_the_python_file_but_for_volatile_fields() {
    let reaches: Vec<ProfileReach> = expected_reaches()
        .into_iter()
        .map(|mut r| {
            r.computation_ms = 1.5;
            r
        })
        .collect();
    let mut built = build_artifact(
        RUN_ID,
        &manifest_ref(),
        &settings(),
        &reaches,
        "2030-01-01T00:00:00Z",
    )
    .unwrap();
    let mut python = expected();
    assert_eq!(built["ipc"]["library_ref"], json!(LIBRARY_REF));
    assert!(LIBRARY_REF.starts_with("walker-service-v"));
    for artifact in [&mut built, &mut python] {
        artifact["created_at_utc"] = Value::Null;
        artifact["ipc"]["library_ref"] = Value::Null;
        for name in ["clerical", "dialect", "goblin", "ritual"] {
            artifact["profile_reaches"][name]["computation_ms"] = Value::Null;
        }
    }
    assert_eq!(built, python);

    let (input_hash, output_hash) = summary_hashes();
    assert_eq!(built["ipc"]["input_hash"], json!(input_hash));
    assert_eq!(built["ipc"]["output_hash"], json!(output_hash));
}

#[test]
fn payload_hashes_equal_the_python_ones() {
    let (input_hash, output_hash_expected) = summary_hashes();
    let input = input_payload(RUN_ID, &manifest_ref().output_hash, &settings());
    assert_eq!(input, expected()["ipc"]["input_payload"]);
    assert_eq!(payload_hash(&input), input_hash);
    let output = output_payload(&expected_reaches());
    assert_eq!(output, expected()["ipc"]["output_payload"]);
    assert_eq!(output_hash(&output), output_hash_expected);
}

#[test]
fn python_file_round_trips_byte_for_byte() {
    let parsed: Value = serde_json::from_str(EXPECTED_TEXT).unwrap();
    assert_eq!(artifact_text(&parsed), EXPECTED_TEXT);
}

#[test]
fn built_text_is_the_python_text_given_the_same_volatile_fields() {
    let mut built = build_artifact(
        RUN_ID,
        &manifest_ref(),
        &settings(),
        &expected_reaches(),
        CREATED,
    )
    .unwrap();
    built["ipc"]["library_ref"] = json!("pipeworks-ipc-v0.1.3");
    assert_eq!(artifact_text(&built), EXPECTED_TEXT);
}

#[test]
fn building_needs_exactly_the_configured_profiles() {
    let build = |reaches: &[ProfileReach]| {
        build_artifact(RUN_ID, &manifest_ref(), &settings(), reaches, CREATED)
    };
    let all = expected_reaches();
    assert_eq!(
        build(&all[..3]).unwrap_err(),
        ArtifactError::MissingProfile("ritual".into())
    );
    let mut extra = all.clone();
    extra.push(ProfileReach {
        profile_name: "extra".into(),
        ..all[0].clone()
    });
    assert_eq!(
        build(&extra).unwrap_err(),
        ArtifactError::UnexpectedProfile("extra".into())
    );
    let mut duplicate = all.clone();
    duplicate.push(all[1].clone());
    assert_eq!(
        build(&duplicate).unwrap_err(),
        ArtifactError::DuplicateProfile("dialect".into())
    );
    let mut nan = all.clone();
    nan[2].computation_ms = f64::NAN;
    assert!(matches!(
        build(&nan).unwrap_err(),
        ArtifactError::NonFinite(_)
    ));
    // Any order of the same four is fine: the file is keyed by name.
    let mut reversed = all.clone();
    reversed.reverse();
    assert_eq!(build(&reversed).unwrap(), build(&all).unwrap());
}

#[test]
fn manifest_ref_needs_an_int_version_and_both_hashes() {
    assert!(ManifestIpcRef::from_manifest(&manifest()).is_some());
    let without = |edit: &dyn Fn(&mut Value)| {
        let mut m = manifest();
        edit(&mut m);
        ManifestIpcRef::from_manifest(&m)
    };
    assert_eq!(without(&|m| m["manifest_version"] = json!(1.0)), None);
    assert_eq!(without(&|m| m["manifest_version"] = json!(true)), None);
    assert_eq!(without(&|m| m["manifest_version"] = json!("1")), None);
    assert_eq!(
        without(&|m| {
            m.as_object_mut().unwrap().remove("manifest_version");
        }),
        None
    );
    assert_eq!(
        without(&|m| {
            m.as_object_mut().unwrap().remove("ipc");
        }),
        None
    );
    assert_eq!(
        without(&|m| m["ipc"]["input_hash"] = json!("A".repeat(64))),
        None
    );
    assert_eq!(without(&|m| m["ipc"]["output_hash"] = Value::Null), None);
    assert_eq!(ManifestIpcRef::from_manifest(&json!([1])), None);
}

/// One change to an artifact.
type Corruption = Box<dyn Fn(&mut Value)>;

// --- reading: hits ----------------------------------------------------------

#[test]
fn python_written_file_is_a_hit() {
    let dir = run_dir_with(Some(EXPECTED_TEXT.as_bytes()));
    let result = read(dir.path());
    assert_eq!(result.status(), "hit");
    assert_eq!(
        result.verification(),
        ("verified", "cache-hit-hashes-match".to_owned())
    );
    let hit = hit(result);
    assert_eq!(hit.reaches, expected_reaches());
    assert_eq!((hit.input_hash, hit.output_hash), summary_hashes());
}

#[test]
fn written_file_reads_back_as_a_hit() {
    let dir = run_dir_with(None);
    let path = write_cache(
        dir.path(),
        RUN_ID,
        &manifest(),
        &settings(),
        &expected_reaches(),
        CREATED,
    )
    .unwrap();
    assert_eq!(path, dir.path().join(CACHE_RELATIVE_PATH));
    assert_eq!(
        dir_entries(&dir.path().join("ipc")),
        vec!["walker_profile_reaches.v1.json"]
    );

    let text = fs::read_to_string(&path).unwrap();
    assert!(text.ends_with("}\n"));
    let hit = hit(read(dir.path()));
    assert_eq!(hit.reaches, expected_reaches());
    assert_eq!(
        (hit.input_hash.clone(), hit.output_hash.clone()),
        summary_hashes()
    );
    let (input_hash, output_hash) = read_cache_hashes(dir.path());
    assert_eq!(
        (input_hash.unwrap(), output_hash.unwrap()),
        summary_hashes()
    );
}

#[cfg(target_os = "linux")]
#[test]
fn written_file_is_created_like_any_other_file() {
    use std::os::unix::fs::PermissionsExt;
    let status = fs::read_to_string("/proc/self/status").unwrap();
    let umask = status
        .lines()
        .find_map(|l| l.strip_prefix("Umask:"))
        .map(|m| u32::from_str_radix(m.trim(), 8).unwrap())
        .unwrap();
    let dir = run_dir_with(None);
    let path = write_cache(
        dir.path(),
        RUN_ID,
        &manifest(),
        &settings(),
        &expected_reaches(),
        CREATED,
    )
    .unwrap();
    let mode = fs::metadata(path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o666 & !umask);
}

#[test]
fn rewriting_replaces_the_file() {
    let dir = run_dir_with(Some(b"not json"));
    assert_invalid(read(dir.path()), "cache-json-invalid");
    write_cache(
        dir.path(),
        RUN_ID,
        &manifest(),
        &settings(),
        &expected_reaches(),
        CREATED,
    )
    .unwrap();
    assert_eq!(read(dir.path()).status(), "hit");
    assert_eq!(dir_entries(&dir.path().join("ipc")).len(), 1);
}

// --- reading: the gates, one at a time, in order ----------------------------

#[test]
fn none_when_the_manifest_has_no_ipc_identity() {
    let dir = run_dir_with(Some(EXPECTED_TEXT.as_bytes()));
    let mut m = manifest();
    m["ipc"]["output_hash"] = json!("not a hash");
    let result = read_cache(dir.path(), RUN_ID, &m, &settings());
    assert_eq!(result, CacheRead::None);
    assert_eq!(result.status(), "none");
    assert_eq!(
        result.verification(),
        ("missing", "manifest-ipc-missing".to_owned())
    );
    m = manifest();
    m["manifest_version"] = json!(1.5);
    assert_eq!(
        read_cache(dir.path(), RUN_ID, &m, &settings()),
        CacheRead::None
    );
}

#[test]
fn miss_without_a_file() {
    let dir = run_dir_with(None);
    let result = read(dir.path());
    assert_eq!(result, CacheRead::Miss);
    assert_eq!(result.status(), "miss");
    assert_eq!(result.message(), Some("cache-file-missing"));
    assert_eq!(result.verification(), ("missing", "cache-miss".to_owned()));
    fs::create_dir(dir.path().join("ipc")).unwrap();
    assert_eq!(read(dir.path()), CacheRead::Miss);
}

#[test]
fn gate_cache_json_invalid() {
    for bytes in [
        &b"{\"schema_version\": 1,"[..],
        b"",
        &EXPECTED_TEXT.as_bytes()[..EXPECTED_TEXT.len() / 2],
        b"{\"run_id\": \"\xff\"}",
        "\u{feff}{}".as_bytes(),
    ] {
        let dir = run_dir_with(Some(bytes));
        assert_invalid(read(dir.path()), "cache-json-invalid");
    }
}

#[test]
fn gate_cache_root_not_object() {
    for text in ["[]", "null", "\"walker_profile_reaches\"", "1"] {
        let dir = run_dir_with(Some(text.as_bytes()));
        assert_invalid(read(dir.path()), "cache-root-not-object");
    }
}

#[test]
fn gate_schema_version_mismatch() {
    assert_invalid(
        read_corrupted(|f| f["schema_version"] = json!(2)),
        "schema-version-mismatch",
    );
    assert_invalid(
        read_corrupted(|f| f["schema_version"] = json!("1")),
        "schema-version-mismatch",
    );
    assert_invalid(
        read_corrupted(|f| f["schema_version"] = json!(1.0)),
        "schema-version-mismatch",
    );
    assert_invalid(
        read_corrupted(|f| {
            f.as_object_mut().unwrap().remove("schema_version");
        }),
        "schema-version-mismatch",
    );
}

#[test]
fn gate_cache_kind_mismatch() {
    assert_invalid(
        read_corrupted(|f| f["cache_kind"] = json!("walker_reaches")),
        "cache-kind-mismatch",
    );
}

#[test]
fn gate_run_id_mismatch() {
    assert_invalid(
        read_corrupted(|f| f["run_id"] = json!("20261203_124212_nltk")),
        "run-id-mismatch",
    );
    // The run asked for is compared, not only the file's own field.
    let dir = run_dir_with(Some(EXPECTED_TEXT.as_bytes()));
    assert_invalid(
        read_cache(
            dir.path(),
            "20261203_124212_other",
            &manifest(),
            &settings(),
        ),
        "run-id-mismatch",
    );
}

#[test]
fn gate_manifest_block_missing() {
    assert_invalid(
        read_corrupted(|f| {
            f.as_object_mut().unwrap().remove("manifest");
        }),
        "manifest-block-missing",
    );
    assert_invalid(
        read_corrupted(|f| f["manifest"] = json!("manifest.json")),
        "manifest-block-missing",
    );
}

#[test]
fn gate_manifest_output_hash_mismatch() {
    assert_invalid(
        read_corrupted(|f| f["manifest"]["ipc_output_hash"] = json!("0".repeat(64))),
        "manifest-output-hash-mismatch",
    );
    // The run's manifest changed since the cache was written.
    let dir = run_dir_with(Some(EXPECTED_TEXT.as_bytes()));
    let mut m = manifest();
    m["ipc"]["output_hash"] = json!("1".repeat(64));
    assert_invalid(
        read_cache(dir.path(), RUN_ID, &m, &settings()),
        "manifest-output-hash-mismatch",
    );
}

#[test]
fn gate_manifest_input_hash_mismatch() {
    assert_invalid(
        read_corrupted(|f| f["manifest"]["ipc_input_hash"] = json!("0".repeat(64))),
        "manifest-input-hash-mismatch",
    );
}

#[test]
fn gate_ipc_block_missing() {
    assert_invalid(
        read_corrupted(|f| {
            f.as_object_mut().unwrap().remove("ipc");
        }),
        "ipc-block-missing",
    );
    assert_invalid(
        read_corrupted(|f| f["ipc"] = json!([])),
        "ipc-block-missing",
    );
}

#[test]
fn gate_input_payload_mismatch() {
    assert_invalid(
        read_corrupted(|f| {
            f["ipc"]["input_payload"]["graph_settings"]["inertia_cost"] = json!(0.6)
        }),
        "input-payload-mismatch",
    );
    // An integer where the payload has a float is a different payload.
    assert_invalid(
        read_corrupted(|f| {
            f["ipc"]["input_payload"]["reach_settings"]["profiles"]["goblin"]["temperature"] =
                json!(2)
        }),
        "input-payload-mismatch",
    );
    // A valid file computed with other settings than the server's.
    let dir = run_dir_with(Some(EXPECTED_TEXT.as_bytes()));
    let mut other = settings();
    other.threshold = 0.01;
    assert_invalid(
        read_cache(dir.path(), RUN_ID, &manifest(), &other),
        "input-payload-mismatch",
    );
    let mut other = settings();
    other.walker_impl = "walker_service::Walker".into();
    assert_invalid(
        read_cache(dir.path(), RUN_ID, &manifest(), &other),
        "input-payload-mismatch",
    );
}

#[test]
fn gate_input_hash_mismatch() {
    assert_invalid(
        read_corrupted(|f| f["ipc"]["input_hash"] = json!("0".repeat(64))),
        "input-hash-mismatch",
    );
    assert_invalid(
        read_corrupted(|f| {
            f["ipc"].as_object_mut().unwrap().remove("input_hash");
        }),
        "input-hash-mismatch",
    );
}

#[test]
fn gate_profile_reaches_invalid_missing_profile() {
    assert_invalid(
        read_corrupted(|f| {
            f["profile_reaches"]
                .as_object_mut()
                .unwrap()
                .remove("goblin");
        }),
        "profile-reaches-invalid",
    );
}

#[test]
fn gate_profile_reaches_invalid_extra_profile() {
    assert_invalid(
        read_corrupted(|f| {
            let clerical = f["profile_reaches"]["clerical"].clone();
            f["profile_reaches"]["scholar"] = clerical;
        }),
        "profile-reaches-invalid",
    );
}

#[test]
fn gate_profile_reaches_invalid_non_int_pair() {
    assert_invalid(
        read_corrupted(|f| {
            f["profile_reaches"]["dialect"]["reachable_indices"][3] = json!([7, 2.5])
        }),
        "profile-reaches-invalid",
    );
    assert_invalid(
        read_corrupted(|f| {
            f["profile_reaches"]["dialect"]["reachable_indices"][0] = json!(["7", 2])
        }),
        "profile-reaches-invalid",
    );
    assert_invalid(
        read_corrupted(|f| {
            f["profile_reaches"]["dialect"]["reachable_indices"][0] = json!([true, 2])
        }),
        "profile-reaches-invalid",
    );
    assert_invalid(
        read_corrupted(|f| {
            f["profile_reaches"]["dialect"]["reachable_indices"][0] = json!([-1, 2])
        }),
        "profile-reaches-invalid",
    );
}

#[test]
fn gate_profile_reaches_invalid_three_element_pair() {
    assert_invalid(
        read_corrupted(|f| {
            f["profile_reaches"]["ritual"]["reachable_indices"][0] = json!([2, 368, 0])
        }),
        "profile-reaches-invalid",
    );
    assert_invalid(
        read_corrupted(|f| f["profile_reaches"]["ritual"]["reachable_indices"][0] = json!([2])),
        "profile-reaches-invalid",
    );
}

#[test]
fn gate_profile_reaches_invalid_incomplete_record() {
    for field in [
        "profile_name",
        "reach",
        "total",
        "unique_reachable",
        "threshold",
        "max_flips",
        "temperature",
        "frequency_weight",
        "computation_ms",
        "reachable_indices",
    ] {
        let result = read_corrupted(|f| {
            f["profile_reaches"]["clerical"]
                .as_object_mut()
                .unwrap()
                .remove(field);
        });
        assert_eq!(
            result,
            CacheRead::Invalid("profile-reaches-invalid"),
            "without {field}"
        );
    }
    assert_invalid(
        read_corrupted(|f| f["profile_reaches"]["clerical"]["reach"] = json!(18.0)),
        "profile-reaches-invalid",
    );
    assert_invalid(
        read_corrupted(|f| f["profile_reaches"]["clerical"]["reach"] = json!(-18)),
        "profile-reaches-invalid",
    );
    assert_invalid(
        read_corrupted(|f| f["profile_reaches"]["clerical"]["threshold"] = json!("0.001")),
        "profile-reaches-invalid",
    );
    assert_invalid(
        read_corrupted(|f| f["profile_reaches"]["clerical"]["profile_name"] = json!("ritual")),
        "profile-reaches-invalid",
    );
    assert_invalid(
        read_corrupted(|f| f["profile_reaches"]["clerical"] = json!([])),
        "profile-reaches-invalid",
    );
    assert_invalid(
        read_corrupted(|f| f["profile_reaches"] = json!([])),
        "profile-reaches-invalid",
    );
}

#[test]
fn gate_output_payload_mismatch() {
    assert_invalid(
        read_corrupted(|f| f["ipc"]["output_payload"]["profiles"]["clerical"]["reach"] = json!(19)),
        "output-payload-mismatch",
    );
    // The records and the hashed summary disagree.
    assert_invalid(
        read_corrupted(|f| f["profile_reaches"]["goblin"]["unique_reachable"] = json!(600)),
        "output-payload-mismatch",
    );
}

#[test]
fn gate_output_hash_mismatch() {
    assert_invalid(
        read_corrupted(|f| f["ipc"]["output_hash"] = json!("f".repeat(64))),
        "output-hash-mismatch",
    );
    assert_invalid(
        read_corrupted(|f| f["ipc"]["output_hash"] = Value::Null),
        "output-hash-mismatch",
    );
}

#[test]
fn fields_outside_the_gates_do_not_matter() {
    let result = read_corrupted(|f| {
        f["created_at_utc"] = json!("whenever");
        f["description"] = json!("changed");
        f["ipc"]["library_ref"] = json!("someone-else");
        f["profile_reaches"]["clerical"]["computation_ms"] = json!(0);
        f["unknown_field"] = json!({"x": 1});
    });
    assert_eq!(hit(result).reaches[0].computation_ms, 0.0);
}

#[test]
fn gates_apply_in_the_specified_order() {
    // Break every gate, from the last to the first; each new break must be
    // the one reported, so each gate is checked before all later ones.
    let mut file = expected();
    let steps: Vec<(&'static str, Corruption)> = vec![
        (
            "output-hash-mismatch",
            Box::new(|f| f["ipc"]["output_hash"] = json!("f".repeat(64))),
        ),
        (
            "output-payload-mismatch",
            Box::new(|f| f["ipc"]["output_payload"] = json!({})),
        ),
        (
            "profile-reaches-invalid",
            Box::new(|f| f["profile_reaches"] = json!({})),
        ),
        (
            "input-hash-mismatch",
            Box::new(|f| f["ipc"]["input_hash"] = json!("e".repeat(64))),
        ),
        (
            "input-payload-mismatch",
            Box::new(|f| f["ipc"]["input_payload"] = json!({})),
        ),
        ("ipc-block-missing", Box::new(|f| f["ipc"] = Value::Null)),
        (
            "manifest-input-hash-mismatch",
            Box::new(|f| f["manifest"]["ipc_input_hash"] = json!("d".repeat(64))),
        ),
        (
            "manifest-output-hash-mismatch",
            Box::new(|f| f["manifest"]["ipc_output_hash"] = json!("c".repeat(64))),
        ),
        (
            "manifest-block-missing",
            Box::new(|f| f["manifest"] = Value::Null),
        ),
        (
            "run-id-mismatch",
            Box::new(|f| f["run_id"] = json!("other")),
        ),
        (
            "cache-kind-mismatch",
            Box::new(|f| f["cache_kind"] = json!("other")),
        ),
        (
            "schema-version-mismatch",
            Box::new(|f| f["schema_version"] = json!(0)),
        ),
    ];
    for (message, corrupt) in steps {
        corrupt(&mut file);
        assert_eq!(
            validate_artifact(&file, RUN_ID, &manifest_ref(), &settings()),
            CacheRead::Invalid(message)
        );
    }
}

// --- reading: failures that are not about content ---------------------------

#[test]
fn unreadable_file_is_an_error_not_a_panic() {
    let dir = run_dir_with(None);
    fs::create_dir_all(cache_path(dir.path())).unwrap();
    let result = read(dir.path());
    assert_eq!(result.status(), "error");
    let (status, reason) = result.verification();
    assert_eq!(status, "error");
    assert!(reason.starts_with("cache-read-failed"), "{reason}");
    assert!(
        !reason.contains(&*dir.path().to_string_lossy()),
        "no server paths in: {reason}"
    );
}

#[test]
fn oversized_file_is_a_clear_error() {
    let dir = run_dir_with(Some(b"{}"));
    // Sparse: no disk space or memory is used.
    let file = fs::OpenOptions::new()
        .write(true)
        .open(cache_path(dir.path()))
        .unwrap();
    file.set_len(MAX_CACHE_BYTES + 1).unwrap();
    let result = read(dir.path());
    match &result {
        CacheRead::Error(message) => assert!(message.contains("larger than"), "{message}"),
        other => panic!("expected an error, got {other:?}"),
    }
    assert_eq!(read_cache_hashes(dir.path()), (None, None));
}

#[test]
fn verification_of_a_hit_without_hashes_is_an_error() {
    let hit = CacheRead::Hit(CachedReaches {
        reaches: expected_reaches(),
        input_hash: String::new(),
        output_hash: "a".repeat(64),
    });
    assert_eq!(
        hit.verification(),
        ("error", "cache-hit-missing-hashes".to_owned())
    );
    let error = CacheRead::Error("cache-read-failed: boom".into());
    assert_eq!(
        error.verification(),
        ("error", "cache-read-failed: boom".to_owned())
    );
    assert_eq!(error.message(), Some("cache-read-failed: boom"));
}

#[test]
fn hashes_read_back_only_when_well_formed() {
    let dir = run_dir_with(None);
    assert_eq!(read_cache_hashes(dir.path()), (None, None));
    let mut file = expected();
    file["ipc"]["input_hash"] = json!("ABC");
    fs::create_dir(dir.path().join("ipc")).unwrap();
    fs::write(cache_path(dir.path()), artifact_text(&file)).unwrap();
    assert_eq!(
        read_cache_hashes(dir.path()),
        (None, Some(summary_hashes().1))
    );
    fs::write(cache_path(dir.path()), "[").unwrap();
    assert_eq!(read_cache_hashes(dir.path()), (None, None));
}

// --- writing: failures leave nothing behind ---------------------------------

#[test]
fn write_needs_the_manifest_ipc_identity() {
    let dir = run_dir_with(Some(EXPECTED_TEXT.as_bytes()));
    for edit in [
        Box::new(|m: &mut Value| {
            m.as_object_mut().unwrap().remove("ipc");
        }) as Corruption,
        Box::new(|m: &mut Value| m["ipc"]["input_hash"] = Value::Null),
        Box::new(|m: &mut Value| m["manifest_version"] = json!("1")),
    ] {
        let mut m = manifest();
        edit(&mut m);
        let err = write_cache(
            dir.path(),
            RUN_ID,
            &m,
            &settings(),
            &expected_reaches(),
            CREATED,
        )
        .unwrap_err();
        assert!(
            matches!(err, CacheWriteError::ManifestIpcMissing),
            "{err:?}"
        );
    }
    // The existing file is untouched.
    assert_eq!(
        fs::read_to_string(cache_path(dir.path())).unwrap(),
        EXPECTED_TEXT
    );
    assert_eq!(dir_entries(&dir.path().join("ipc")).len(), 1);
}

#[test]
fn write_with_incomplete_reaches_fails_before_touching_disk() {
    let dir = run_dir_with(None);
    let err = write_cache(
        dir.path(),
        RUN_ID,
        &manifest(),
        &settings(),
        &expected_reaches()[1..],
        CREATED,
    )
    .unwrap_err();
    assert!(
        matches!(
            err,
            CacheWriteError::Artifact(ArtifactError::MissingProfile(_))
        ),
        "{err:?}"
    );
    assert!(!dir.path().join("ipc").exists());
}

#[test]
fn write_into_an_ipc_path_that_is_a_file_fails_cleanly() {
    let dir = run_dir_with(None);
    let ipc = dir.path().join("ipc");
    fs::write(&ipc, "occupied").unwrap();
    let before = dir_entries(dir.path());
    let err = write_cache(
        dir.path(),
        RUN_ID,
        &manifest(),
        &settings(),
        &expected_reaches(),
        CREATED,
    )
    .unwrap_err();
    match &err {
        CacheWriteError::Io { path, .. } => assert_eq!(path, &ipc),
        other => panic!("expected an I/O error, got {other:?}"),
    }
    assert!(err.to_string().contains("ipc"), "{err}");
    assert_eq!(fs::read_to_string(&ipc).unwrap(), "occupied");
    assert_eq!(dir_entries(dir.path()), before);
}

#[test]
fn failed_rename_leaves_no_temp_file() {
    // The target is a non-empty directory: the temp file is written, then
    // the rename fails; the temp file must be gone and nothing replaced.
    let dir = run_dir_with(None);
    let target = cache_path(dir.path());
    fs::create_dir_all(target.join("keep")).unwrap();
    let err = write_cache(
        dir.path(),
        RUN_ID,
        &manifest(),
        &settings(),
        &expected_reaches(),
        CREATED,
    )
    .unwrap_err();
    match &err {
        CacheWriteError::Io { path, .. } => assert_eq!(path, &target),
        other => panic!("expected an I/O error, got {other:?}"),
    }
    assert_eq!(
        dir_entries(&dir.path().join("ipc")),
        vec!["walker_profile_reaches.v1.json"]
    );
    assert!(target.join("keep").is_dir());
}

#[test]
fn write_into_a_vanished_run_directory_fails() {
    let dir = tempfile::tempdir().unwrap();
    let gone = dir.path().join("20261203_124212_gone");
    let err = write_cache(
        &gone,
        RUN_ID,
        &manifest(),
        &settings(),
        &expected_reaches(),
        CREATED,
    )
    .unwrap_err();
    assert!(matches!(err, CacheWriteError::Io { .. }), "{err:?}");
    assert!(!gone.exists());
}

#[test]
fn concurrent_writers_leave_one_valid_file_and_readers_never_see_a_partial_one() {
    const WRITERS: u32 = 6;
    const ROUNDS: u32 = 10;
    let dir = run_dir_with(None);
    let run_dir: PathBuf = dir.path().to_path_buf();
    write_cache(
        &run_dir,
        RUN_ID,
        &manifest(),
        &settings(),
        &expected_reaches(),
        CREATED,
    )
    .unwrap();
    let variant = |w: u32, round: u32| {
        let mut reaches = expected_reaches();
        reaches[0].computation_ms = f64::from(w * 100 + round);
        (reaches, format!("2026-12-03T12:{w:02}:{round:02}Z"))
    };

    let writers: Vec<_> = (0..WRITERS)
        .map(|w| {
            let run_dir = run_dir.clone();
            thread::spawn(move || {
                for round in 0..ROUNDS {
                    let (reaches, created) = variant(w, round);
                    write_cache(
                        &run_dir,
                        RUN_ID,
                        &manifest(),
                        &settings(),
                        &reaches,
                        &created,
                    )
                    .unwrap();
                }
            })
        })
        .collect();
    let readers: Vec<_> = (0..2)
        .map(|_| {
            let run_dir = run_dir.clone();
            thread::spawn(move || {
                for _ in 0..60 {
                    let result = read_cache(&run_dir, RUN_ID, &manifest(), &settings());
                    assert_eq!(result.status(), "hit", "{result:?}");
                }
            })
        })
        .collect();
    for handle in writers.into_iter().chain(readers) {
        handle.join().unwrap();
    }

    assert_eq!(
        dir_entries(&run_dir.join("ipc")),
        vec!["walker_profile_reaches.v1.json"]
    );
    let final_text = fs::read_to_string(cache_path(&run_dir)).unwrap();
    let whole_files: Vec<String> = (0..WRITERS)
        .flat_map(|w| (0..ROUNDS).map(move |round| (w, round)))
        .map(|(w, round)| {
            let (reaches, created) = variant(w, round);
            artifact_text(
                &build_artifact(RUN_ID, &manifest_ref(), &settings(), &reaches, &created).unwrap(),
            )
        })
        .collect();
    assert!(
        whole_files.contains(&final_text),
        "the final file is one writer's whole file"
    );
    assert_eq!(
        read_cache(&run_dir, RUN_ID, &manifest(), &settings()).status(),
        "hit"
    );
}
