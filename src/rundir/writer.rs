//! Writes a run directory the way the extraction pipeline does: a
//! `data/corpus.db` with the pipeline's schema and a `manifest.json` whose IPC
//! hashes verify. Used to build synthetic runs for benchmarks and tests.

use std::io;
use std::path::{Path, PathBuf};

use rusqlite::Connection;
use serde_json::{Value, json};

use crate::domain::corpus::{Corpus, FEATURE_NAMES};
use crate::domain::ipc::{output_hash, payload_hash};
use crate::rundir::manifest_ipc::{manifest_input_payload, manifest_output_payload};

fn sqlite_error(error: rusqlite::Error) -> io::Error {
    io::Error::other(error)
}

/// Writes `corpus` as run `run_id` under `runs_dir` (extractor `synthetic`)
/// and returns the run directory.
pub fn write_run_dir(runs_dir: &Path, run_id: &str, corpus: &Corpus) -> io::Result<PathBuf> {
    if !crate::rundir::run_id::is_valid_run_id(run_id) {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("invalid run id {run_id:?}"),
        ));
    }
    let run_dir = runs_dir.join(run_id);
    let data = run_dir.join("data");
    std::fs::create_dir_all(&data)?;
    let db_path = data.join("corpus.db");
    write_corpus_db(&db_path, corpus)?;
    let db_size = std::fs::metadata(&db_path)?.len();

    let timestamp = format!(
        "{}-{}-{}T{}:{}:{}Z",
        &run_id[0..4],
        &run_id[4..6],
        &run_id[6..8],
        &run_id[9..11],
        &run_id[11..13],
        &run_id[13..15]
    );
    let mut manifest = json!({
        "manifest_version": 1,
        "run_id": run_id,
        "status": "completed",
        "extractor": "synthetic",
        "language": "en_US",
        "created_at_utc": timestamp,
        "completed_at_utc": timestamp,
        "config": {
            "source_path": "synthetic",
            "file_pattern": "*.txt",
            "min_syllable_length": 2,
            "max_syllable_length": 8,
            "run_normalize": true,
            "run_annotate": true,
        },
        "metrics": {"syllable_count_unique": corpus.len(), "files_processed": 1},
        "stages": [],
        "errors": [],
        "artifacts": [{"path": "data/corpus.db", "type": "sqlite", "size_bytes": db_size}],
    });
    if let Value::Object(map) = &manifest {
        let input_payload = manifest_input_payload(map);
        let output_payload = manifest_output_payload(map).unwrap_or(Value::Null);
        let ipc = json!({
            "version": 1,
            "library": "pipeworks-ipc",
            "library_ref": crate::domain::cache::LIBRARY_REF,
            "input_hash": payload_hash(&input_payload),
            "output_hash": output_hash(&output_payload),
            "input_payload": input_payload,
            "output_payload": output_payload,
        });
        manifest["ipc"] = ipc;
    }
    let text = serde_json::to_string_pretty(&manifest).map_err(io::Error::other)?;
    std::fs::write(run_dir.join("manifest.json"), text)?;
    Ok(run_dir)
}

/// Writes the pipeline's `syllables` table (rows in corpus order, so
/// `ORDER BY frequency DESC, rowid` reads them back stably).
pub fn write_corpus_db(path: &Path, corpus: &Corpus) -> io::Result<()> {
    let mut db = Connection::open(path).map_err(sqlite_error)?;
    let columns = FEATURE_NAMES
        .iter()
        .map(|name| format!("{name} INTEGER NOT NULL"))
        .collect::<Vec<_>>()
        .join(", ");
    db.execute_batch(&format!(
        "PRAGMA journal_mode = DELETE;
         CREATE TABLE syllables (syllable TEXT PRIMARY KEY, frequency INTEGER NOT NULL, {columns});
         CREATE INDEX idx_frequency ON syllables(frequency DESC);"
    ))
    .map_err(sqlite_error)?;
    let placeholders = vec!["?"; FEATURE_NAMES.len() + 2].join(", ");
    let tx = db.transaction().map_err(sqlite_error)?;
    {
        let mut insert = tx
            .prepare(&format!("INSERT INTO syllables VALUES ({placeholders})"))
            .map_err(sqlite_error)?;
        for i in 0..corpus.len() {
            let frequency = i64::try_from(corpus.frequencies[i]).unwrap_or(i64::MAX);
            let mut values: Vec<rusqlite::types::Value> = Vec::with_capacity(14);
            values.push(corpus.syllables[i].clone().into());
            values.push(frequency.into());
            for bit in 0..FEATURE_NAMES.len() {
                values.push(i64::from((corpus.features[i] >> bit) & 1).into());
            }
            insert
                .execute(rusqlite::params_from_iter(values))
                .map_err(sqlite_error)?;
        }
    }
    tx.commit().map_err(sqlite_error)
}
