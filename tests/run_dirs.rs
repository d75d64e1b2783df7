//! Run directories: safe lookup by run id, the run rules, manifests and
//! `ListRuns`.

use std::fs;
use std::path::{Component, Path, PathBuf};

use proptest::prelude::*;
use serde_json::{Value, json};
use tempfile::TempDir;
use walker_service::rundir::manifest::{
    MAX_MANIFEST_BYTES, Manifest, ManifestProblem, read_manifest,
};
use walker_service::rundir::manifest_ipc::verify_manifest_value;
use walker_service::rundir::run_id::{RunIdError, validate_run_id};
use walker_service::rundir::runs::{
    NotFoundReason, RunLookupError, RunSummary, RunsDir, RunsDirError,
};

const DEMO_RUN_ID: &str = "20261203_124212_pyphen";

fn demo_runs() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("demo/runs")
}

fn demo_manifest_value() -> Value {
    let text = fs::read_to_string(demo_runs().join(DEMO_RUN_ID).join("manifest.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

fn copy_dir(from: &Path, to: &Path) {
    fs::create_dir_all(to).unwrap();
    for entry in fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            fs::copy(entry.path(), &target).unwrap();
        }
    }
}

/// Writes `<runs>/<dir>/manifest.json` with `manifest`.
fn write_run(runs: &Path, dir: &str, manifest: &Value) -> PathBuf {
    let path = runs.join(dir);
    fs::create_dir_all(&path).unwrap();
    fs::write(path.join("manifest.json"), manifest.to_string()).unwrap();
    path
}

/// The demo manifest with another run id.
fn manifest_for(run_id: &str) -> Value {
    let mut manifest = demo_manifest_value();
    manifest["run_id"] = json!(run_id);
    manifest
}

fn not_found_reason(err: RunLookupError) -> NotFoundReason {
    match err {
        RunLookupError::NotFound { reason, .. } => reason,
        other => panic!("expected NotFound, got {other:?}"),
    }
}

// ---------------------------------------------------------------------------
// find_run

#[test]
fn finds_the_demo_run() {
    let runs = RunsDir::open(demo_runs()).unwrap();
    let run = runs.find_run(DEMO_RUN_ID).unwrap();
    assert_eq!(run.run_id(), DEMO_RUN_ID);
    assert_eq!(
        run.path(),
        demo_runs().join(DEMO_RUN_ID).canonicalize().unwrap()
    );
    assert_eq!(run.manifest().extractor(), "pyphen");
    assert_eq!(run.manifest().language(), Some("en_US"));
    assert_eq!(run.manifest().syllable_count_unique(), Some(601));
    assert_eq!(run.manifest().raw(), &demo_manifest_value());
}

#[test]
fn traversal_ids_are_invalid_before_touching_the_disk() {
    let runs = RunsDir::open(demo_runs()).unwrap();
    let absolute = demo_runs().join(DEMO_RUN_ID);
    let cases: Vec<(String, RunIdError)> = vec![
        ("".into(), RunIdError::Empty),
        (".".into(), RunIdError::DotComponent),
        ("..".into(), RunIdError::DotComponent),
        ("a/b".into(), RunIdError::PathSeparator),
        ("/etc".into(), RunIdError::PathSeparator),
        (absolute.to_str().unwrap().into(), RunIdError::PathSeparator),
        ("20261203_124212_x/../..".into(), RunIdError::PathSeparator),
        (format!("{DEMO_RUN_ID}/"), RunIdError::PathSeparator),
        (format!("../runs/{DEMO_RUN_ID}"), RunIdError::PathSeparator),
        (format!("{DEMO_RUN_ID}\\..\\.."), RunIdError::PathSeparator),
        (format!("{DEMO_RUN_ID}\0"), RunIdError::ControlCharacter),
        ("pyphen".into(), RunIdError::Pattern),
    ];
    for (id, expected) in cases {
        match runs.find_run(&id) {
            Err(RunLookupError::InvalidId { run_id, reason }) => {
                assert_eq!(run_id, id);
                assert_eq!(reason, expected, "{id:?}");
            }
            other => panic!("{id:?}: expected InvalidId, got {other:?}"),
        }
    }
}

#[test]
fn a_well_formed_id_without_a_directory_is_not_found() {
    let runs = RunsDir::open(demo_runs()).unwrap();
    let err = runs.find_run("20261203_124212_nothing").unwrap_err();
    assert_eq!(err.run_id(), "20261203_124212_nothing");
    assert!(matches!(not_found_reason(err), NotFoundReason::NoDirectory));
}

#[cfg(unix)]
#[test]
fn a_symlink_out_of_the_runs_dir_is_refused() {
    let tmp = TempDir::new().unwrap();
    let runs = tmp.path().join("runs");
    fs::create_dir(&runs).unwrap();
    // A perfectly valid run, but outside the runs directory.
    let outside = tmp.path().join("outside").join(DEMO_RUN_ID);
    copy_dir(&demo_runs().join(DEMO_RUN_ID), &outside);
    std::os::unix::fs::symlink(&outside, runs.join(DEMO_RUN_ID)).unwrap();
    // And a link to the runs directory's parent under a run-like name.
    std::os::unix::fs::symlink("..", runs.join("20261203_124212_up")).unwrap();

    let runs_dir = RunsDir::open(&runs).unwrap();
    let err = runs_dir.find_run(DEMO_RUN_ID).unwrap_err();
    assert!(matches!(
        not_found_reason(err),
        NotFoundReason::OutsideRunsDir
    ));
    let err = runs_dir.find_run("20261203_124212_up").unwrap_err();
    assert!(matches!(
        not_found_reason(err),
        NotFoundReason::OutsideRunsDir
    ));
    assert_eq!(runs_dir.list_runs().unwrap(), Vec::<RunSummary>::new());
}

#[cfg(unix)]
#[test]
fn a_symlink_that_stays_inside_the_runs_dir_is_followed() {
    let tmp = TempDir::new().unwrap();
    let runs = tmp.path().join("runs");
    copy_dir(
        &demo_runs().join(DEMO_RUN_ID),
        &runs.join("archive").join(DEMO_RUN_ID),
    );
    std::os::unix::fs::symlink(format!("archive/{DEMO_RUN_ID}"), runs.join(DEMO_RUN_ID)).unwrap();
    let runs_dir = RunsDir::open(&runs).unwrap();
    let run = runs_dir.find_run(DEMO_RUN_ID).unwrap();
    assert!(run.path().ends_with(format!("archive/{DEMO_RUN_ID}")));
}

#[test]
fn directories_that_break_the_run_rules_are_not_found() {
    let tmp = TempDir::new().unwrap();
    let runs = tmp.path();
    let id = "20261203_000000_x";
    let runs_dir = RunsDir::open(runs).unwrap();
    let reason = |runs_dir: &RunsDir| not_found_reason(runs_dir.find_run(id).unwrap_err());

    fs::write(runs.join(id), "a file, not a run").unwrap();
    assert!(matches!(reason(&runs_dir), NotFoundReason::NotADirectory));
    fs::remove_file(runs.join(id)).unwrap();

    fs::create_dir(runs.join(id)).unwrap();
    assert!(matches!(reason(&runs_dir), NotFoundReason::Manifest(ref e) if e.problem.is_missing()));

    write_run(runs, id, &manifest_for("20261203_000000_other"));
    assert!(matches!(
        reason(&runs_dir),
        NotFoundReason::RunIdMismatch { ref manifest_run_id } if manifest_run_id == "20261203_000000_other"
    ));

    let mut manifest = manifest_for(id);
    manifest["extractor"] = json!("");
    write_run(runs, id, &manifest);
    assert!(matches!(
        reason(&runs_dir),
        NotFoundReason::Manifest(ref e) if matches!(e.problem, ManifestProblem::EmptyExtractor)
    ));

    for key in [
        "manifest_version",
        "status",
        "config",
        "metrics",
        "stages",
        "artifacts",
    ] {
        let mut manifest = manifest_for(id);
        manifest.as_object_mut().unwrap().remove(key);
        write_run(runs, id, &manifest);
        let reason = reason(&runs_dir);
        assert!(
            matches!(reason, NotFoundReason::Manifest(ref e) if matches!(e.problem, ManifestProblem::MissingKey(k) if k == key)),
            "{key}: {reason:?}"
        );
    }

    write_run(runs, id, &manifest_for(id));
    assert_eq!(runs_dir.find_run(id).unwrap().run_id(), id);
}

// ---------------------------------------------------------------------------
// Manifests

fn manifest_problem(value: Value) -> ManifestProblem {
    Manifest::from_value(value).unwrap_err()
}

#[test]
fn manifest_shapes_are_enforced() {
    assert!(matches!(
        manifest_problem(json!([1, 2])),
        ManifestProblem::NotObject
    ));
    for (key, bad, expected) in [
        ("config", json!([]), "an object"),
        ("metrics", json!(5), "an object"),
        ("stages", json!({}), "a list"),
        ("artifacts", json!("data/corpus.db"), "a list"),
        ("run_id", json!(20261203), "a string"),
        ("extractor", json!(null), "a string"),
    ] {
        let mut manifest = demo_manifest_value();
        manifest[key] = bad;
        match manifest_problem(manifest) {
            ManifestProblem::WrongType {
                key: k,
                expected: e,
            } => {
                assert_eq!((k, e), (key, expected));
            }
            other => panic!("{key}: {other:?}"),
        }
    }
}

#[test]
fn manifest_optional_fields_read_leniently() {
    let mut manifest = demo_manifest_value();
    manifest["metrics"]["syllable_count_unique"] = json!(null);
    manifest["status"] = json!(null);
    manifest.as_object_mut().unwrap().remove("created_at_utc");
    manifest["artifacts"] = json!([
        "not an object",
        {"type": "sqlite"},
        {"path": "data/corpus.db", "type": "sqlite", "size_bytes": 12},
    ]);
    let manifest = Manifest::from_value(manifest).unwrap();
    assert_eq!(manifest.syllable_count_unique(), None);
    assert_eq!(manifest.status(), "null");
    assert_eq!(manifest.created_at_utc(), None);
    assert_eq!(manifest.artifacts().len(), 1);
    assert_eq!(manifest.artifacts()[0].path, "data/corpus.db");
    assert_eq!(manifest.artifacts()[0].kind.as_deref(), Some("sqlite"));
    assert_eq!(manifest.artifacts()[0].size_bytes, Some(12));
}

#[test]
fn manifest_read_errors_name_the_file() {
    let tmp = TempDir::new().unwrap();
    let path = tmp.path().join("manifest.json");

    let err = read_manifest(&path).unwrap_err();
    assert!(err.problem.is_missing());

    for (content, expected) in [
        ("{\"run_id\": ", "not valid JSON"),
        ("[]", "not a JSON object"),
        ("{}", "missing required key `manifest_version`"),
    ] {
        fs::write(&path, content).unwrap();
        let message = read_manifest(&path).unwrap_err().to_string();
        assert!(message.contains("manifest.json"), "{message}");
        assert!(message.contains(expected), "{message}");
    }

    fs::write(&path, b"{\"a\": \"\xff\"}").unwrap();
    assert!(matches!(
        read_manifest(&path).unwrap_err().problem,
        ManifestProblem::Json(_)
    ));

    // Sparse: checked from metadata, nothing is read.
    fs::File::create(&path)
        .unwrap()
        .set_len(MAX_MANIFEST_BYTES + 1)
        .unwrap();
    let err = read_manifest(&path).unwrap_err();
    assert!(
        matches!(err.problem, ManifestProblem::TooLarge { size } if size == MAX_MANIFEST_BYTES + 1)
    );

    fs::remove_file(&path).unwrap();
    fs::create_dir(&path).unwrap();
    assert!(matches!(
        read_manifest(&path).unwrap_err().problem,
        ManifestProblem::NotAFile
    ));
}

// ---------------------------------------------------------------------------
// list_runs

struct Fixture {
    _tmp: TempDir,
    runs: PathBuf,
}

/// Valid runs (newest first: new, pyphen, nltk (same second as pyphen), old)
/// and broken directories that must be skipped.
fn fixture() -> Fixture {
    let tmp = TempDir::new().unwrap();
    let runs = tmp.path().join("runs");
    let demo = demo_runs().join(DEMO_RUN_ID);

    // The demo run: both artifacts on disk.
    copy_dir(&demo, &runs.join(DEMO_RUN_ID));

    // Same timestamp, only the annotated JSON on disk.
    let nltk = "20261203_124212_nltk";
    let mut manifest = manifest_for(nltk);
    manifest["extractor"] = json!("nltk");
    let dir = write_run(&runs, nltk, &manifest);
    fs::create_dir(dir.join("data")).unwrap();
    fs::copy(
        demo.join("data/pyphen_syllables_annotated.json"),
        dir.join("data/pyphen_syllables_annotated.json"),
    )
    .unwrap();

    // Older: artifacts listed but not on disk, no syllable count.
    let mut manifest = manifest_for("20250101_000000_old");
    manifest["metrics"]["syllable_count_unique"] = json!(null);
    manifest["status"] = json!("failed");
    write_run(&runs, "20250101_000000_old", &manifest);

    // Newest: no ipc block, no created_at_utc.
    let mut manifest = manifest_for("20270101_000000_new");
    manifest.as_object_mut().unwrap().remove("ipc");
    manifest.as_object_mut().unwrap().remove("created_at_utc");
    write_run(&runs, "20270101_000000_new", &manifest);

    // Broken or not runs at all.
    write_run(
        &runs,
        "20280101_000000_mismatch",
        &manifest_for(DEMO_RUN_ID),
    );
    let dir = runs.join("20280101_000000_badjson");
    fs::create_dir_all(&dir).unwrap();
    fs::write(dir.join("manifest.json"), "{ not json").unwrap();
    fs::create_dir_all(runs.join("20280101_000000_nomanifest")).unwrap();
    fs::create_dir_all(runs.join("20280101_000000_manifestdir/manifest.json")).unwrap();
    fs::write(runs.join("20280101_000000_file"), "x").unwrap();
    write_run(&runs, "notes", &manifest_for("notes"));
    fs::write(runs.join("README.txt"), "hello").unwrap();
    let mut manifest = manifest_for("20280101_000000_noextractor");
    manifest["extractor"] = json!("");
    write_run(&runs, "20280101_000000_noextractor", &manifest);

    Fixture { _tmp: tmp, runs }
}

#[test]
fn list_runs_is_newest_first_and_skips_broken_dirs() {
    let fixture = fixture();
    let listed = RunsDir::open(&fixture.runs).unwrap().list_runs().unwrap();
    let ids: Vec<&str> = listed.iter().map(|r| r.run_id.as_str()).collect();
    assert_eq!(
        ids,
        [
            "20270101_000000_new",
            "20261203_124212_pyphen",
            "20261203_124212_nltk",
            "20250101_000000_old",
        ]
    );
}

#[test]
fn list_runs_reports_each_run() {
    let fixture = fixture();
    let runs_dir = RunsDir::open(&fixture.runs).unwrap();
    let listed = runs_dir.list_runs().unwrap();
    let find = |id: &str| listed.iter().find(|r| r.run_id == id).unwrap().clone();
    let status_of = |id: &str| {
        let run = runs_dir.find_run(id).unwrap();
        verify_manifest_value(run.manifest().raw())
            .status
            .to_owned()
    };

    assert_eq!(
        find(DEMO_RUN_ID),
        RunSummary {
            run_id: DEMO_RUN_ID.into(),
            extractor: "pyphen".into(),
            syllable_count: Some(601),
            status: "completed".into(),
            created_at_utc: Some("2026-12-03T12:42:12Z".into()),
            has_corpus_db: true,
            has_annotated_json: true,
            manifest_ipc_verification_status: status_of(DEMO_RUN_ID),
        }
    );
    let nltk = find("20261203_124212_nltk");
    assert_eq!(nltk.extractor, "nltk");
    assert!(!nltk.has_corpus_db);
    assert!(nltk.has_annotated_json);

    let old = find("20250101_000000_old");
    assert_eq!(old.syllable_count, None);
    assert_eq!(old.status, "failed");
    assert!(!old.has_corpus_db);
    assert!(!old.has_annotated_json);

    let new = find("20270101_000000_new");
    assert_eq!(new.created_at_utc, None);
    assert_eq!(new.manifest_ipc_verification_status, "missing");
    assert_eq!(
        new.manifest_ipc_verification_status,
        status_of("20270101_000000_new")
    );

    // Every listed run is a run that lookup finds, with the same summary.
    for summary in &listed {
        assert_eq!(
            &runs_dir.find_run(&summary.run_id).unwrap().summary(),
            summary
        );
    }
}

/// A log sink for the warnings of one test.
#[derive(Clone, Default)]
struct LogBuffer(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for LogBuffer {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[test]
fn skipped_runs_are_logged_with_their_dir_and_problem() {
    let fixture = fixture();
    let logs = LogBuffer::default();
    let writer = logs.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_ansi(false)
        .with_max_level(tracing::Level::WARN)
        .with_writer(move || writer.clone())
        .finish();
    let listed = tracing::subscriber::with_default(subscriber, || {
        RunsDir::open(&fixture.runs).unwrap().list_runs().unwrap()
    });
    assert_eq!(listed.len(), 4);
    let text = String::from_utf8(logs.0.lock().unwrap().clone()).unwrap();
    let warnings: Vec<&str> = text.lines().filter(|l| l.contains("WARN")).collect();
    for (dir, problem) in [
        ("20280101_000000_mismatch", "not the directory name"),
        ("20280101_000000_badjson", "not valid JSON"),
        ("20280101_000000_nomanifest", "no such file"),
        ("20280101_000000_manifestdir", "not a regular file"),
        ("20280101_000000_file", "not a directory"),
        ("20280101_000000_noextractor", "`extractor` is empty"),
    ] {
        assert!(
            warnings
                .iter()
                .any(|l| l.contains(dir) && l.contains(problem)),
            "{dir}: {problem} not in\n{text}"
        );
    }
    assert_eq!(warnings.len(), 6, "{text}");
    assert!(
        !text.contains("notes") && !text.contains("README"),
        "{text}"
    );
}

#[test]
fn list_runs_of_an_empty_dir_is_empty() {
    let tmp = TempDir::new().unwrap();
    assert_eq!(
        RunsDir::open(tmp.path()).unwrap().list_runs().unwrap(),
        Vec::<RunSummary>::new()
    );
}

#[test]
fn an_unusable_runs_dir_is_an_error() {
    let tmp = TempDir::new().unwrap();
    let missing = tmp.path().join("missing");
    assert!(matches!(
        RunsDir::open(&missing),
        Err(RunsDirError::Unreadable { .. })
    ));
    let file = tmp.path().join("file");
    fs::write(&file, "x").unwrap();
    assert!(matches!(
        RunsDir::open(&file),
        Err(RunsDirError::NotADirectory { .. })
    ));

    let gone = tmp.path().join("gone");
    fs::create_dir(&gone).unwrap();
    let runs_dir = RunsDir::open(&gone).unwrap();
    fs::remove_dir(&gone).unwrap();
    let err = runs_dir.list_runs().unwrap_err();
    assert!(err.to_string().contains("gone"), "{err}");
}

// ---------------------------------------------------------------------------
// Properties

proptest! {
    /// Whatever a client sends, a valid id is exactly one ordinary path
    /// component, so joining it onto the runs directory stays one level down.
    #[test]
    fn a_valid_run_id_is_one_normal_component(
        id in prop_oneof![
            "[0-9]{8}_[0-9]{6}_[ -~]{1,12}",
            "[0-9]{8}_[0-9]{6}_(\\.\\.|/|\\\\|\\.|a){1,6}",
            "\\PC{0,30}",
        ]
    ) {
        if validate_run_id(&id).is_ok() {
            let components: Vec<Component<'_>> = Path::new(&id).components().collect();
            prop_assert_eq!(components.len(), 1);
            prop_assert!(matches!(components[0], Component::Normal(c) if c == id.as_str()));
            prop_assert!(!id.contains(['/', '\\', '\0']));
        }
    }

    /// Lookup never answers with a directory outside the runs directory.
    #[test]
    fn lookup_stays_inside(suffix in "[ -~]{1,20}") {
        let runs = RunsDir::open(demo_runs()).unwrap();
        let id = format!("20261203_124212_{suffix}");
        match runs.find_run(&id) {
            Ok(run) => prop_assert!(run.path().starts_with(runs.root()) && run.path() != runs.root()),
            Err(RunLookupError::InvalidId { .. }) => prop_assert!(validate_run_id(&id).is_err()),
            Err(RunLookupError::NotFound { .. }) => prop_assert!(validate_run_id(&id).is_ok()),
        }
    }
}
