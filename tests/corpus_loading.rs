//! Loading corpora from run directories: the demo run through both sources,
//! WAL handling, and hostile or damaged files.

use std::collections::HashMap;
use std::fs;
use std::path::{Path, PathBuf};

use rusqlite::Connection;
use serde_json::Value;
use tempfile::TempDir;
use walker_service::domain::corpus::{Corpus, FEATURE_NAMES};
use walker_service::rundir::corpus::{
    ArtifactProblem, CorpusError, CorpusLimits, CorpusSource, load_annotated_json_corpus,
    load_corpus, load_corpus_from, load_sqlite_corpus,
};
use walker_service::rundir::manifest::{Manifest, read_manifest};
use walker_service::rundir::runs::RunsDir;

const DEMO_RUN_ID: &str = "20261203_124212_pyphen";

fn demo_run() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("demo/runs")
        .join(DEMO_RUN_ID)
}

fn summary() -> Value {
    let text = fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/expected/summary.json"),
    )
    .unwrap();
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

/// A copy of the demo run at `<tmp>/runs/<id>`; returns (tempdir, runs dir).
fn demo_copy() -> (TempDir, PathBuf) {
    let tmp = TempDir::new().unwrap();
    let runs = tmp.path().join("runs");
    copy_dir(&demo_run(), &runs.join(DEMO_RUN_ID));
    (tmp, runs)
}

fn side_files(dir: &Path) -> Vec<String> {
    fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| {
            name.ends_with("-wal") || name.ends_with("-shm") || name.ends_with("-journal")
        })
        .collect()
}

fn first_n(corpus: &Corpus, n: usize) -> Vec<&str> {
    corpus
        .syllables
        .iter()
        .take(n)
        .map(String::as_str)
        .collect()
}

fn expected_list(value: &Value) -> Vec<&str> {
    value
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect()
}

fn records(corpus: &Corpus) -> HashMap<&str, (u64, u16)> {
    (0..corpus.len())
        .map(|i| {
            (
                corpus.syllables[i].as_str(),
                (corpus.frequencies[i], corpus.features[i]),
            )
        })
        .collect()
}

fn limits() -> CorpusLimits {
    CorpusLimits::default()
}

// ---------------------------------------------------------------------------
// The demo run

#[test]
fn demo_run_loads_from_sqlite_in_frequency_order() {
    let (_tmp, runs) = demo_copy();
    let run = RunsDir::open(&runs).unwrap().find_run(DEMO_RUN_ID).unwrap();
    let loaded = load_corpus(&run).unwrap();

    let data_dir = run.path().join("data");
    assert_eq!(
        loaded.source,
        CorpusSource::Sqlite(data_dir.join("corpus.db"))
    );
    let corpus = &loaded.corpus;
    assert_eq!(corpus.len(), 601);
    assert_eq!(corpus.frequencies.len(), 601);
    assert_eq!(corpus.features.len(), 601);
    let summary = summary();
    assert_eq!(summary["syllable_count"], 601);
    assert_eq!(
        first_n(corpus, 10),
        expected_list(&summary["db_vs_json"]["db_order_first_10"])
    );
    assert!(corpus.frequencies.windows(2).all(|w| w[0] >= w[1]));
    // "ab": frequency 1; starts_with_vowel, contains_plosive, short_vowel,
    // ends_with_stop (bits 0, 3, 7, 11).
    let ab = corpus.syllables.iter().position(|s| s == "ab").unwrap();
    assert_eq!(corpus.frequencies[ab], 1);
    assert_eq!(corpus.features[ab], 1 | 1 << 3 | 1 << 7 | 1 << 11);

    assert_eq!(side_files(&data_dir), Vec::<String>::new());
}

#[test]
fn demo_json_has_the_same_records_in_file_order_when_the_db_is_absent() {
    let (_tmp, runs) = demo_copy();
    let run_path = runs.join(DEMO_RUN_ID);
    let from_db = RunsDir::open(&runs)
        .unwrap()
        .find_run(DEMO_RUN_ID)
        .map(|run| load_corpus(&run).unwrap())
        .unwrap();
    fs::remove_file(run_path.join("data/corpus.db")).unwrap();

    let run = RunsDir::open(&runs).unwrap().find_run(DEMO_RUN_ID).unwrap();
    let loaded = load_corpus(&run).unwrap();
    assert!(matches!(loaded.source, CorpusSource::AnnotatedJson(ref p)
        if p.ends_with("data/pyphen_syllables_annotated.json")));
    let from_json = loaded.corpus;
    assert_eq!(from_json.len(), 601);
    assert_eq!(
        first_n(&from_json, 10),
        expected_list(&summary()["db_vs_json"]["json_order_first_10"])
    );
    let mut sorted = from_json.syllables.clone();
    sorted.sort();
    assert_eq!(sorted, from_json.syllables, "the JSON is alphabetical");
    assert_eq!(records(&from_json), records(&from_db.corpus));

    // The DB order is the stable sort of the JSON order by frequency, descending.
    let mut order: Vec<usize> = (0..from_json.len()).collect();
    order.sort_by(|&a, &b| from_json.frequencies[b].cmp(&from_json.frequencies[a]));
    let resorted: Vec<&String> = order.iter().map(|&i| &from_json.syllables[i]).collect();
    let db_order: Vec<&String> = from_db.corpus.syllables.iter().collect();
    assert_eq!(resorted, db_order);
}

#[cfg(unix)]
#[test]
fn loads_from_a_read_only_copy_without_leaving_side_files() {
    use std::os::unix::fs::PermissionsExt;

    let (_tmp, runs) = demo_copy();
    let run_path = runs.join(DEMO_RUN_ID);
    let data = run_path.join("data");
    let set_mode =
        |path: &Path, mode| fs::set_permissions(path, fs::Permissions::from_mode(mode)).unwrap();
    set_mode(&data.join("corpus.db"), 0o444);
    set_mode(&data, 0o555);
    set_mode(&run_path, 0o555);

    let run = RunsDir::open(&runs).unwrap().find_run(DEMO_RUN_ID);
    let result = run.map(|run| load_corpus(&run));
    let side = side_files(&data);

    set_mode(&run_path, 0o755);
    set_mode(&data, 0o755);
    let loaded = result.unwrap().unwrap();
    assert!(matches!(loaded.source, CorpusSource::Sqlite(_)));
    assert_eq!(loaded.corpus.len(), 601);
    assert_eq!(side, Vec::<String>::new());
}

#[test]
fn an_empty_wal_file_is_ignored_and_nothing_is_added() {
    let (_tmp, runs) = demo_copy();
    let data = runs.join(DEMO_RUN_ID).join("data");
    fs::write(data.join("corpus.db-wal"), b"").unwrap();
    let corpus = load_sqlite_corpus(&data.join("corpus.db"), &limits()).unwrap();
    assert_eq!(corpus.len(), 601);
    assert_eq!(side_files(&data), vec!["corpus.db-wal".to_owned()]);
}

#[test]
fn committed_rows_still_in_the_wal_are_read() {
    let tmp = TempDir::new().unwrap();
    let source = tmp.path().join("source");
    let copy = tmp.path().join("copy");
    fs::create_dir_all(&source).unwrap();
    fs::create_dir_all(&copy).unwrap();
    let db = source.join("corpus.db");
    let writer = Connection::open(&db).unwrap();
    writer
        .execute_batch("PRAGMA journal_mode=WAL; PRAGMA wal_autocheckpoint=0;")
        .unwrap();
    writer.execute_batch(&schema_sql("syllables")).unwrap();
    writer
        .execute_batch(&format!(
            "{} {}",
            insert_sql("ka", "3", "1"),
            insert_sql("ri", "9", "0")
        ))
        .unwrap();
    // Copy while the writer is open: the rows live only in the -wal file.
    fs::copy(&db, copy.join("corpus.db")).unwrap();
    let wal_len = fs::metadata(source.join("corpus.db-wal")).unwrap().len();
    assert!(wal_len > 0);
    fs::copy(source.join("corpus.db-wal"), copy.join("corpus.db-wal")).unwrap();
    drop(writer);

    let corpus = load_sqlite_corpus(&copy.join("corpus.db"), &limits()).unwrap();
    assert_eq!(corpus.syllables, ["ri", "ka"]);
    assert_eq!(corpus.features, [0, 0xFFF]);
}

// ---------------------------------------------------------------------------
// SQLite: order and hostile databases

fn schema_sql(table: &str) -> String {
    let features: Vec<String> = FEATURE_NAMES
        .iter()
        .map(|f| format!("{f} INTEGER NOT NULL"))
        .collect();
    format!(
        "CREATE TABLE {table} (syllable TEXT, frequency INTEGER, {});",
        features.join(", ")
    )
}

/// An INSERT with every feature set to `feature` (an SQL expression).
fn insert_sql(syllable: &str, frequency: &str, feature: &str) -> String {
    let values = vec![feature; FEATURE_NAMES.len()].join(", ");
    format!(
        "INSERT INTO syllables VALUES ({syllable_sql}, {frequency}, {values});",
        syllable_sql =
            if syllable.starts_with("X'") || syllable.starts_with("CAST") || syllable == "NULL" {
                syllable.to_owned()
            } else {
                format!("'{syllable}'")
            }
    )
}

fn db_with(sql: &str) -> (TempDir, PathBuf) {
    let tmp = TempDir::new().unwrap();
    let path = tmp.path().join("corpus.db");
    Connection::open(&path).unwrap().execute_batch(sql).unwrap();
    (tmp, path)
}

fn db_rows(rows: &[(&str, &str, &str)]) -> (TempDir, PathBuf) {
    let mut sql = schema_sql("syllables");
    for (syllable, frequency, feature) in rows {
        sql.push_str(&insert_sql(syllable, frequency, feature));
    }
    db_with(&sql)
}

fn sqlite_error(db: &(TempDir, PathBuf)) -> CorpusError {
    sqlite_error_with(db, &limits())
}

fn sqlite_error_with(db: &(TempDir, PathBuf), limits: &CorpusLimits) -> CorpusError {
    let err = load_sqlite_corpus(&db.1, limits).unwrap_err();
    let message = err.to_string();
    assert!(message.contains("corpus.db"), "names the file: {message}");
    err
}

fn bad_record_problem(err: CorpusError) -> String {
    match err {
        CorpusError::BadRecord {
            problem, record, ..
        } => {
            assert!(record.starts_with("row "), "{record}");
            problem
        }
        other => panic!("expected a bad record, got {other:?}"),
    }
}

#[test]
fn sqlite_rows_come_in_frequency_then_insertion_order() {
    let db = db_rows(&[
        ("b", "5", "0"),
        ("a", "5", "1"),
        ("c", "7", "0"),
        ("d", "0", "0"),
        ("e", "5", "0"),
    ]);
    let corpus = load_sqlite_corpus(&db.1, &limits()).unwrap();
    assert_eq!(corpus.syllables, ["c", "b", "a", "e", "d"]);
    assert_eq!(corpus.frequencies, [7, 5, 5, 5, 0]);
    assert_eq!(corpus.features[2], 0xFFF);
}

#[test]
fn each_feature_column_sets_its_own_bit() {
    for (bit, name) in FEATURE_NAMES.iter().enumerate() {
        let mut sql = schema_sql("syllables");
        sql.push_str(&insert_sql("ka", "1", "0"));
        sql.push_str(&format!("UPDATE syllables SET {name} = 1;"));
        let db = db_with(&sql);
        let corpus = load_sqlite_corpus(&db.1, &limits()).unwrap();
        assert_eq!(corpus.features, [1 << bit], "{name}");
    }
}

#[test]
fn sqlite_without_the_table_is_refused() {
    let err = sqlite_error(&db_with("CREATE TABLE other (x);"));
    assert!(matches!(err, CorpusError::MissingTable { .. }), "{err:?}");
    assert!(err.to_string().contains("no table `syllables`"));
}

#[test]
fn sqlite_view_instead_of_table_is_refused() {
    let err = sqlite_error(&db_with(&format!(
        "{} CREATE VIEW syllables AS SELECT * FROM base;",
        schema_sql("base")
    )));
    assert!(
        matches!(err, CorpusError::NotATable { ref kind, .. } if kind == "view"),
        "{err:?}"
    );
}

#[test]
fn sqlite_missing_columns_are_named() {
    let err = sqlite_error(&db_with(
        "CREATE TABLE syllables (syllable TEXT, frequency INTEGER, starts_with_vowel INTEGER);",
    ));
    let CorpusError::MissingColumns { columns, .. } = &err else {
        panic!("{err:?}");
    };
    assert_eq!(columns.len(), 11);
    assert!(columns.contains(&"ends_with_stop"));
    assert!(err.to_string().contains("contains_plosive"));
}

#[test]
fn sqlite_bad_frequencies_are_refused() {
    for (frequency, expected) in [
        ("-3", "frequency is negative (-3)"),
        ("2.5", "frequency is the real number 2.5"),
        ("1e30", "frequency is the real number"),
        ("'many'", "frequency is text"),
        ("NULL", "frequency is NULL"),
    ] {
        let problem = bad_record_problem(sqlite_error(&db_rows(&[("ka", frequency, "0")])));
        assert!(problem.contains(expected), "{frequency}: {problem}");
    }
}

#[test]
fn sqlite_feature_values_other_than_0_and_1_are_refused() {
    for (value, expected) in [
        ("2", "the integer 2, expected 0 or 1"),
        ("-1", "the integer -1"),
        ("'yes'", "is text"),
        ("0.5", "the real number 0.5"),
    ] {
        let problem = bad_record_problem(sqlite_error(&db_rows(&[("ka", "1", value)])));
        assert!(problem.contains(expected), "{value}: {problem}");
        assert!(problem.starts_with("starts_with_vowel is"), "{problem}");
    }
}

#[test]
fn sqlite_bad_syllables_are_refused() {
    for (syllable, expected) in [
        ("CAST(X'FF61' AS TEXT)", "syllable is not valid UTF-8"),
        ("X'6B61'", "syllable is a blob"),
        ("NULL", "syllable is NULL"),
        ("", "syllable is empty"),
    ] {
        let problem = bad_record_problem(sqlite_error(&db_rows(&[(syllable, "1", "0")])));
        assert!(problem.contains(expected), "{syllable}: {problem}");
    }
    let long = "x".repeat(257);
    let problem = bad_record_problem(sqlite_error(&db_rows(&[(&long, "1", "0")])));
    assert!(problem.contains("257 bytes long"), "{problem}");
}

#[test]
fn sqlite_duplicate_syllables_are_refused() {
    let err = sqlite_error(&db_rows(&[
        ("ka", "3", "0"),
        ("ri", "2", "0"),
        ("ka", "1", "1"),
    ]));
    assert!(
        matches!(err, CorpusError::Duplicate { ref syllable, first: 0, second: 2, .. } if syllable == "ka"),
        "{err:?}"
    );
}

#[test]
fn sqlite_empty_corpus_is_refused() {
    let err = sqlite_error(&db_rows(&[]));
    assert!(matches!(err, CorpusError::Empty { .. }), "{err:?}");
    assert_eq!(err.kind(), "empty-corpus");
}

#[test]
fn sqlite_row_cap_applies() {
    let db = db_rows(&[("a", "1", "0"), ("b", "1", "0"), ("c", "1", "0")]);
    let tight = CorpusLimits {
        max_rows: 2,
        ..limits()
    };
    let err = sqlite_error_with(&db, &tight);
    assert!(
        matches!(err, CorpusError::TooManyRows { max: 2, .. }),
        "{err:?}"
    );
    let exact = CorpusLimits {
        max_rows: 3,
        ..limits()
    };
    assert_eq!(load_sqlite_corpus(&db.1, &exact).unwrap().len(), 3);
}

#[test]
fn sqlite_garbage_and_truncated_files_are_errors() {
    let tmp = TempDir::new().unwrap();
    let garbage = tmp.path().join("corpus.db");
    fs::write(&garbage, vec![0x5Au8; 8192]).unwrap();
    let err = load_sqlite_corpus(&garbage, &limits()).unwrap_err();
    assert!(matches!(err, CorpusError::Sqlite { .. }), "{err:?}");
    assert!(err.to_string().contains("corpus.db"), "{err}");

    let demo = fs::read(demo_run().join("data/corpus.db")).unwrap();
    let truncated = tmp.path().join("truncated.db");
    fs::write(&truncated, &demo[..demo.len() / 3]).unwrap();
    let err = load_sqlite_corpus(&truncated, &limits()).unwrap_err();
    assert!(
        matches!(
            err,
            CorpusError::Sqlite { .. } | CorpusError::MissingTable { .. }
        ),
        "{err:?}"
    );
}

#[test]
fn sqlite_size_cap_is_checked_before_opening() {
    let tmp = TempDir::new().unwrap();
    let path = tmp.path().join("corpus.db");
    let max = limits().max_sqlite_bytes;
    // Sparse: no disk space or memory is used.
    fs::File::create(&path).unwrap().set_len(max + 1).unwrap();
    let err = load_sqlite_corpus(&path, &limits()).unwrap_err();
    assert!(
        matches!(err, CorpusError::TooLarge { size, max: m, .. } if size == max + 1 && m == max),
        "{err:?}"
    );
}

// ---------------------------------------------------------------------------
// Annotated JSON: hostile files

fn json_file(content: &[u8]) -> (TempDir, PathBuf) {
    let tmp = TempDir::new().unwrap();
    let path = tmp.path().join("x_syllables_annotated.json");
    fs::write(&path, content).unwrap();
    (tmp, path)
}

fn json_error_with(content: &[u8], limits: &CorpusLimits) -> CorpusError {
    let file = json_file(content);
    let err = load_annotated_json_corpus(&file.1, limits).unwrap_err();
    assert!(
        err.to_string().contains("x_syllables_annotated.json"),
        "names the file: {err}"
    );
    err
}

/// The parse error message for `content`, which must be a JSON error.
fn json_problem(content: &str) -> String {
    match json_error_with(content.as_bytes(), &limits()) {
        CorpusError::Json { source, .. } => source.to_string(),
        other => panic!("expected a JSON error for {content}, got {other:?}"),
    }
}

fn entry(syllable: &str, frequency: &str, features: &str) -> String {
    format!(r#"{{"syllable": {syllable}, "frequency": {frequency}, "features": {features}}}"#)
}

#[test]
fn json_missing_features_are_false_and_unknown_ones_ignored() {
    let content = format!(
        "[{}, {}]",
        entry(r#""ka""#, "3", r#"{"ends_with_stop": true, "glottal": 7}"#),
        entry(r#""ri""#, "0", "{}")
    );
    let file = json_file(content.as_bytes());
    let corpus = load_annotated_json_corpus(&file.1, &limits()).unwrap();
    assert_eq!(corpus.syllables, ["ka", "ri"]);
    assert_eq!(corpus.frequencies, [3, 0]);
    assert_eq!(corpus.features, [1 << 11, 0]);
}

#[test]
fn json_each_feature_name_sets_its_own_bit() {
    for (bit, name) in FEATURE_NAMES.iter().enumerate() {
        let all: Vec<String> = FEATURE_NAMES
            .iter()
            .map(|other| format!(r#""{other}": {}"#, other == name))
            .collect();
        let content = format!(
            "[{}]",
            entry(r#""ka""#, "1", &format!("{{{}}}", all.join(",")))
        );
        let file = json_file(content.as_bytes());
        let corpus = load_annotated_json_corpus(&file.1, &limits()).unwrap();
        assert_eq!(corpus.features, [1 << bit], "{name}");
    }
}

#[test]
fn json_truncated_or_not_a_list_is_refused() {
    let demo = fs::read_to_string(demo_run().join("data/pyphen_syllables_annotated.json")).unwrap();
    let problem = json_problem(&demo[..demo.len() / 2]);
    assert!(problem.contains("EOF"), "{problem}");
    assert!(
        json_problem(r#"{"syllable": "ka"}"#).contains("expected a list of annotated syllables")
    );
    assert!(json_problem("").contains("EOF"));
    assert!(json_problem("[] []").contains("trailing characters"));
}

#[test]
fn json_wrong_types_are_refused() {
    let cases = [
        (entry("7", "1", "{}"), "invalid type: integer `7`"),
        (entry(r#""ka""#, r#""3""#, "{}"), "expected a frequency"),
        (
            entry(r#""ka""#, "1", r#"{"short_vowel": 1}"#),
            "expected a boolean",
        ),
        (
            entry(r#""ka""#, "1", r#"{"short_vowel": null}"#),
            "expected a boolean",
        ),
        (
            entry(r#""ka""#, "1", "[]"),
            "expected an object of feature names",
        ),
        (
            r#"{"syllable": "ka", "frequency": 1}"#.to_owned(),
            "missing field `features`",
        ),
        (
            r#"{"frequency": 1, "features": {}}"#.to_owned(),
            "missing field `syllable`",
        ),
        (r#""ka""#.to_owned(), "invalid type: string"),
    ];
    for (entry, expected) in cases {
        let problem = json_problem(&format!("[{entry}]"));
        assert!(problem.contains(expected), "{entry}: {problem}");
        assert!(problem.contains("line 1 column"), "{problem}");
    }
}

#[test]
fn json_bad_frequencies_are_refused() {
    for frequency in [
        "-1",
        "1.5",
        "1e3",
        "9223372036854775808",
        "18446744073709551615",
        "1000000000000000000000000000000",
    ] {
        let problem = json_problem(&format!("[{}]", entry(r#""ka""#, frequency, "{}")));
        assert!(
            problem.contains("frequency must be an integer from 0 to 9223372036854775807"),
            "{frequency}: {problem}"
        );
    }
    let file = json_file(format!("[{}]", entry(r#""ka""#, "9223372036854775807", "{}")).as_bytes());
    let corpus = load_annotated_json_corpus(&file.1, &limits()).unwrap();
    assert_eq!(corpus.frequencies, [i64::MAX as u64]);
}

#[test]
fn json_duplicate_feature_keys_are_refused() {
    let problem = json_problem(&format!(
        "[{}]",
        entry(
            r#""ka""#,
            "1",
            r#"{"long_vowel": true, "long_vowel": false}"#
        )
    ));
    assert!(
        problem.contains("feature `long_vowel` appears twice"),
        "{problem}"
    );
}

#[test]
fn json_non_utf8_is_refused() {
    let mut content = b"[{\"syllable\": \"k".to_vec();
    content.push(0xFF);
    content.extend_from_slice(b"a\", \"frequency\": 1, \"features\": {}}]");
    let err = json_error_with(&content, &limits());
    assert!(matches!(err, CorpusError::Json { .. }), "{err:?}");
    assert!(err.to_string().contains("invalid unicode"), "{err}");
    let problem = json_problem(&format!("[{}]", entry(r#""\ud800x""#, "1", "{}")));
    assert!(problem.contains("hex escape"), "{problem}");
}

#[test]
fn json_duplicate_syllables_are_refused() {
    let content = format!(
        "[{}, {}, {}]",
        entry(r#""ka""#, "1", "{}"),
        entry(r#""ri""#, "1", "{}"),
        entry(r#""ri""#, "2", "{}")
    );
    let err = json_error_with(content.as_bytes(), &limits());
    assert!(
        matches!(err, CorpusError::Duplicate { ref syllable, first: 1, second: 2, .. } if syllable == "ri"),
        "{err:?}"
    );
}

#[test]
fn json_empty_or_overlong_syllables_are_refused() {
    let problem = json_problem(&format!("[{}]", entry(r#""""#, "1", "{}")));
    assert!(problem.contains("entry 0: syllable is empty"), "{problem}");
    let long = format!("\"{}\"", "é".repeat(129));
    let problem = json_problem(&format!(
        "[{}, {}]",
        entry(r#""ka""#, "1", "{}"),
        entry(&long, "1", "{}")
    ));
    assert!(
        problem.contains("entry 1: syllable is 258 bytes long"),
        "{problem}"
    );
}

#[test]
fn json_empty_corpus_is_refused() {
    let err = json_error_with(b"[]", &limits());
    assert!(matches!(err, CorpusError::Empty { .. }), "{err:?}");
}

#[test]
fn json_entry_cap_applies_while_parsing() {
    let entries: Vec<String> = ["a", "b", "c"]
        .iter()
        .map(|s| entry(&format!("\"{s}\""), "1", "{}"))
        .collect();
    let content = format!("[{}]", entries.join(","));
    let tight = CorpusLimits {
        max_rows: 2,
        ..limits()
    };
    let err = json_error_with(content.as_bytes(), &tight);
    assert!(err.to_string().contains("more than 2 syllables"), "{err}");
}

#[test]
fn json_size_cap_is_checked_before_reading() {
    let tmp = TempDir::new().unwrap();
    let path = tmp.path().join("x_syllables_annotated.json");
    let max = limits().max_json_bytes;
    assert_eq!(max, 512 * 1024 * 1024);
    // Sparse: no disk space or memory is used.
    fs::File::create(&path).unwrap().set_len(max + 1).unwrap();
    let err = load_annotated_json_corpus(&path, &limits()).unwrap_err();
    assert!(
        matches!(err, CorpusError::TooLarge { size, .. } if size == max + 1),
        "{err:?}"
    );
    assert_eq!(err.kind(), "too-large");
}

// ---------------------------------------------------------------------------
// Choosing the artifact

fn demo_manifest() -> Manifest {
    read_manifest(&demo_run().join("manifest.json")).unwrap()
}

fn manifest_with_artifacts(paths: &[&str]) -> Manifest {
    let mut raw = demo_manifest().raw().clone();
    raw["artifacts"] = paths
        .iter()
        .map(|p| serde_json::json!({"path": p, "type": "sqlite", "size_bytes": 1}))
        .collect();
    Manifest::from_value(raw).unwrap()
}

#[test]
fn a_corrupt_db_is_an_error_not_a_fallback_to_json() {
    let (_tmp, runs) = demo_copy();
    let run_path = runs.join(DEMO_RUN_ID);
    fs::write(run_path.join("data/corpus.db"), b"not a database at all").unwrap();
    let err = load_corpus_from(&run_path, &demo_manifest(), &limits()).unwrap_err();
    assert!(matches!(err, CorpusError::Sqlite { .. }), "{err:?}");
}

#[test]
fn a_listed_but_absent_db_falls_back_to_json() {
    let (_tmp, runs) = demo_copy();
    let run_path = runs.join(DEMO_RUN_ID);
    fs::remove_file(run_path.join("data/corpus.db")).unwrap();
    let loaded = load_corpus_from(&run_path, &demo_manifest(), &limits()).unwrap();
    assert!(matches!(loaded.source, CorpusSource::AnnotatedJson(_)));
}

#[test]
fn an_unlisted_db_is_not_used() {
    let (_tmp, runs) = demo_copy();
    let run_path = runs.join(DEMO_RUN_ID);
    let manifest = manifest_with_artifacts(&["data/pyphen_syllables_annotated.json"]);
    let loaded = load_corpus_from(&run_path, &manifest, &limits()).unwrap();
    assert!(matches!(loaded.source, CorpusSource::AnnotatedJson(_)));
}

#[test]
fn no_corpus_on_disk_is_an_error() {
    let (_tmp, runs) = demo_copy();
    let run_path = runs.join(DEMO_RUN_ID);
    fs::remove_dir_all(run_path.join("data")).unwrap();
    let err = load_corpus_from(&run_path, &demo_manifest(), &limits()).unwrap_err();
    assert!(matches!(err, CorpusError::NoArtifact { .. }), "{err:?}");
    assert!(err.to_string().contains(DEMO_RUN_ID), "{err}");
}

#[test]
fn artifact_paths_outside_the_run_are_never_followed() {
    let (tmp, runs) = demo_copy();
    let run_path = runs.join(DEMO_RUN_ID);
    // A real corpus outside the run, reachable through `..` or an absolute path.
    let outside = tmp.path().join("outside/data");
    fs::create_dir_all(&outside).unwrap();
    fs::copy(run_path.join("data/corpus.db"), outside.join("corpus.db")).unwrap();
    fs::remove_dir_all(run_path.join("data")).unwrap();
    let absolute = outside.join("corpus.db");
    let manifest = manifest_with_artifacts(&[
        "../../outside/data/corpus.db",
        "data/../../../outside/data/corpus.db",
        absolute.to_str().unwrap(),
        "../../outside/data/x_syllables_annotated.json",
    ]);
    let err = load_corpus_from(&run_path, &manifest, &limits()).unwrap_err();
    assert!(matches!(err, CorpusError::NoArtifact { .. }), "{err:?}");
}

#[cfg(unix)]
#[test]
fn a_symlinked_db_pointing_outside_the_run_is_refused() {
    let (tmp, runs) = demo_copy();
    let run_path = runs.join(DEMO_RUN_ID);
    let outside = tmp.path().join("elsewhere.db");
    fs::rename(run_path.join("data/corpus.db"), &outside).unwrap();
    std::os::unix::fs::symlink(&outside, run_path.join("data/corpus.db")).unwrap();
    let err = load_corpus_from(&run_path, &demo_manifest(), &limits()).unwrap_err();
    assert!(
        matches!(
            err,
            CorpusError::UnusableArtifact {
                problem: ArtifactProblem::OutsideRun,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(
        err.to_string().contains("outside the run directory"),
        "{err}"
    );

    // A symlink that stays inside the run is fine.
    let inside = run_path.join("data/real.db");
    fs::rename(&outside, &inside).unwrap();
    fs::remove_file(run_path.join("data/corpus.db")).unwrap();
    std::os::unix::fs::symlink("real.db", run_path.join("data/corpus.db")).unwrap();
    let loaded = load_corpus_from(&run_path, &demo_manifest(), &limits()).unwrap();
    assert_eq!(
        loaded.source,
        CorpusSource::Sqlite(inside.canonicalize().unwrap())
    );
}

#[test]
fn a_directory_named_corpus_db_is_refused() {
    let (_tmp, runs) = demo_copy();
    let run_path = runs.join(DEMO_RUN_ID);
    fs::remove_file(run_path.join("data/corpus.db")).unwrap();
    fs::create_dir(run_path.join("data/corpus.db")).unwrap();
    let err = load_corpus_from(&run_path, &demo_manifest(), &limits()).unwrap_err();
    assert!(
        matches!(
            err,
            CorpusError::UnusableArtifact {
                problem: ArtifactProblem::NotAFile,
                ..
            }
        ),
        "{err:?}"
    );
}
