//! Loading a large corpus: 500k syllables from a `corpus.db` with the
//! pipeline's schema (target: at most 1 s), and the same rows from the
//! annotated JSON for comparison.

use std::hint::black_box;
use std::path::Path;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use rusqlite::Connection;
use serde_json::{Map, Value, json};
use tempfile::TempDir;
use walker_service::domain::corpus::{Corpus, FEATURE_NAMES};
use walker_service::domain::reach::synthetic::synthetic_corpus;
use walker_service::rundir::corpus::{
    CorpusLimits, load_annotated_json_corpus, load_sqlite_corpus,
};

const ROWS: usize = 500_000;
const SEED: u64 = 0x5EED;

/// The shared synthetic corpus; while that generator is still a stub (it
/// returns fewer rows than asked), a local deterministic stand-in of the
/// same size keeps the benchmark meaningful.
fn bench_corpus() -> Corpus {
    let corpus = synthetic_corpus(ROWS, SEED);
    if corpus.len() == ROWS {
        return corpus;
    }
    let mut corpus = Corpus::default();
    let mut state = SEED;
    for i in 0..ROWS {
        // splitmix64: cheap, deterministic feature bits.
        state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        corpus.push(
            syllable(i),
            1 + 1_000_000 / (i as u64 + 1),
            (z & 0xFFF) as u16,
        );
    }
    corpus
}

/// A unique lowercase spelling for every index.
fn syllable(mut i: usize) -> String {
    let mut s = String::new();
    loop {
        s.push(char::from(b'a' + (i % 26) as u8));
        i /= 26;
        if i == 0 {
            return s;
        }
    }
}

/// Writes `corpus` as the pipeline does: WAL mode, the demo's schema and
/// indexes, statistics; closing checkpoints the WAL away.
fn write_db(path: &Path, corpus: &Corpus) {
    let mut conn = Connection::open(path).expect("create bench db");
    let features: Vec<String> = FEATURE_NAMES
        .iter()
        .map(|f| format!("    {f} INTEGER NOT NULL"))
        .collect();
    conn.execute_batch(&format!(
        "PRAGMA journal_mode=WAL;
         CREATE TABLE metadata (key TEXT PRIMARY KEY, value TEXT NOT NULL);
         CREATE TABLE syllables (
             syllable TEXT PRIMARY KEY,
             frequency INTEGER NOT NULL,
         {}
         );",
        features.join(",\n")
    ))
    .expect("schema");
    let tx = conn.transaction().expect("transaction");
    {
        let placeholders = vec!["?"; 2 + FEATURE_NAMES.len()].join(", ");
        let mut insert = tx
            .prepare(&format!("INSERT INTO syllables VALUES ({placeholders})"))
            .expect("prepare insert");
        for i in 0..corpus.len() {
            let mut values: Vec<rusqlite::types::Value> = vec![
                corpus.syllables[i].clone().into(),
                (corpus.frequencies[i] as i64).into(),
            ];
            values.extend(
                (0..FEATURE_NAMES.len()).map(|bit| i64::from(corpus.features[i] >> bit & 1).into()),
            );
            insert
                .execute(rusqlite::params_from_iter(values))
                .expect("insert");
        }
    }
    tx.commit().expect("commit");
    conn.execute_batch(
        "CREATE INDEX idx_starts_with_vowel ON syllables(starts_with_vowel);
         CREATE INDEX idx_ends_with_vowel ON syllables(ends_with_vowel);
         CREATE INDEX idx_frequency ON syllables(frequency DESC);
         CREATE INDEX idx_vowel_boundaries ON syllables(starts_with_vowel, ends_with_vowel);
         CREATE INDEX idx_starts_with_cluster ON syllables(starts_with_cluster);
         CREATE INDEX idx_ends_with_stop ON syllables(ends_with_stop);
         ANALYZE;",
    )
    .expect("indexes");
}

fn write_json(path: &Path, corpus: &Corpus) {
    let entries: Vec<Value> = (0..corpus.len())
        .map(|i| {
            let features: Map<String, Value> = FEATURE_NAMES
                .iter()
                .enumerate()
                .map(|(bit, name)| ((*name).to_owned(), Value::Bool(corpus.features[i] >> bit & 1 == 1)))
                .collect();
            json!({"syllable": corpus.syllables[i], "frequency": corpus.frequencies[i], "features": features})
        })
        .collect();
    let text = serde_json::to_vec_pretty(&entries).expect("serialise");
    std::fs::write(path, text).expect("write json");
}

fn corpus_load(c: &mut Criterion) {
    let dir = TempDir::new().expect("temp dir");
    let corpus = bench_corpus();
    let db = dir.path().join("corpus.db");
    let json = dir.path().join("bench_syllables_annotated.json");
    write_db(&db, &corpus);
    write_json(&json, &corpus);
    let limits = CorpusLimits::default();

    let mut group = c.benchmark_group("corpus_load");
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(10));
    group.bench_function("sqlite_500k", |b| {
        b.iter(|| {
            let loaded = load_sqlite_corpus(black_box(&db), &limits).expect("load db");
            assert_eq!(loaded.len(), ROWS);
            loaded
        })
    });
    group.bench_function("annotated_json_500k", |b| {
        b.iter(|| {
            let loaded = load_annotated_json_corpus(black_box(&json), &limits).expect("load json");
            assert_eq!(loaded.len(), ROWS);
            loaded
        })
    });
    group.finish();
    assert!(!dir.path().join("corpus.db-wal").exists());
    assert!(!dir.path().join("corpus.db-shm").exists());
}

criterion_group!(benches, corpus_load);
criterion_main!(benches);
