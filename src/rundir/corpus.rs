//! Loading a run's corpus from disk (SEMANTICS §2, §6 "Loading a corpus").
//!
//! The corpus files come from another tool and may be damaged or hostile, so
//! every value is checked and every failure is an error that names the file
//! and the problem; nothing here panics on bad input, and sizes are capped
//! before anything large is read.
//!
//! Choices that the specification leaves open:
//! - SQLite is used whenever `data/corpus.db` is listed and present. A
//!   database that exists but cannot be read is an error, never a silent
//!   switch to the JSON, because the JSON's order (and so every syllable
//!   index) differs.
//! - An empty corpus is an error here ([`CorpusError::Empty`]): nothing can be
//!   walked, and saying so at load time names the file that is empty.
//! - Empty syllables, syllables longer than
//!   [`CorpusLimits::max_syllable_bytes`] and duplicate syllables are errors;
//!   the pipeline never writes them and they would make indices ambiguous.
//! - Frequencies are integers in `0..=i64::MAX` for both sources (SQLite
//!   cannot store more), so a corpus means the same whichever file it came
//!   from.

use std::collections::HashSet;
use std::fmt;
use std::fs::{self, File};
use std::io::{self, Read};
use std::path::{Component, Path, PathBuf};

use rusqlite::config::DbConfig;
use rusqlite::types::ValueRef;
use rusqlite::{Connection, OpenFlags};
use serde::Deserialize;
use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

use crate::domain::corpus::{Corpus, FEATURE_COUNT, FEATURE_NAMES};
use crate::rundir::manifest::Manifest;
use crate::rundir::runs::RunDir;

/// Where the SQLite corpus lives, relative to the run directory.
pub const SQLITE_ARTIFACT_PATH: &str = "data/corpus.db";

/// Directory of the annotated JSON artifact, relative to the run directory.
const JSON_ARTIFACT_DIR: &str = "data";

/// File-name suffix of the annotated JSON artifact (`data/*<suffix>`).
pub const JSON_ARTIFACT_SUFFIX: &str = "_syllables_annotated.json";

/// Table holding the corpus in `corpus.db`.
const SQLITE_TABLE: &str = "syllables";

/// Upper bounds on what a load may read. The defaults are far above any real
/// corpus (hundreds to tens of thousands of syllables) and far below what
/// would exhaust the server's memory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CorpusLimits {
    /// Most syllables (SQLite rows or JSON entries) accepted.
    pub max_rows: usize,
    /// Longest syllable accepted, in UTF-8 bytes.
    pub max_syllable_bytes: usize,
    /// Largest annotated JSON file, checked from metadata before reading;
    /// the whole file is held in memory while it is parsed.
    pub max_json_bytes: u64,
    /// Largest `corpus.db`, checked from metadata before opening.
    pub max_sqlite_bytes: u64,
}

impl Default for CorpusLimits {
    fn default() -> Self {
        Self {
            max_rows: 2_000_000,
            max_syllable_bytes: 256,
            max_json_bytes: 512 * 1024 * 1024,
            max_sqlite_bytes: 2 * 1024 * 1024 * 1024,
        }
    }
}

/// A corpus and the file it was read from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoadedCorpus {
    pub corpus: Corpus,
    pub source: CorpusSource,
}

/// The file a corpus was read from (absolute, inside the run directory).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CorpusSource {
    Sqlite(PathBuf),
    AnnotatedJson(PathBuf),
}

impl CorpusSource {
    pub fn path(&self) -> &Path {
        match self {
            Self::Sqlite(path) | Self::AnnotatedJson(path) => path,
        }
    }
}

/// Why a corpus could not be loaded. The message names the file.
#[derive(Debug, thiserror::Error)]
pub enum CorpusError {
    #[error(
        "{}: no corpus on disk: the manifest lists neither an existing {SQLITE_ARTIFACT_PATH} nor an existing {JSON_ARTIFACT_DIR}/*{JSON_ARTIFACT_SUFFIX}",
        run_dir.display()
    )]
    NoArtifact { run_dir: PathBuf },
    #[error("{}: {problem}", path.display())]
    UnusableArtifact {
        path: PathBuf,
        problem: ArtifactProblem,
    },
    #[error("{}: cannot read: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("{}: {size} bytes, more than the {max}-byte limit", path.display())]
    TooLarge { path: PathBuf, size: u64, max: u64 },
    #[error("{}: cannot read the SQLite corpus: {source}", path.display())]
    Sqlite {
        path: PathBuf,
        #[source]
        source: rusqlite::Error,
    },
    #[error("{}: no table `{SQLITE_TABLE}`", path.display())]
    MissingTable { path: PathBuf },
    #[error("{}: `{SQLITE_TABLE}` is a {kind}, not a table", path.display())]
    NotATable { path: PathBuf, kind: String },
    #[error("{}: table `{SQLITE_TABLE}` lacks column(s) {}", path.display(), columns.join(", "))]
    MissingColumns {
        path: PathBuf,
        columns: Vec<&'static str>,
    },
    #[error("{}: more than {max} syllables", path.display())]
    TooManyRows { path: PathBuf, max: usize },
    #[error("{}: {record}: {problem}", path.display())]
    BadRecord {
        path: PathBuf,
        /// Which record, e.g. `row 3 (rowid 17)`.
        record: String,
        problem: String,
    },
    #[error("{}: not a valid annotated corpus: {source}", path.display())]
    Json {
        path: PathBuf,
        #[source]
        source: serde_json::Error,
    },
    #[error(
        "{}: syllable {syllable:?} occurs twice (indices {first} and {second} in load order)",
        path.display()
    )]
    Duplicate {
        path: PathBuf,
        syllable: String,
        first: usize,
        second: usize,
    },
    #[error("{}: the corpus has no syllables", path.display())]
    Empty { path: PathBuf },
}

impl CorpusError {
    /// A short, stable name of the failure, for `loader-error:<kind>`.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::NoArtifact { .. } => "no-corpus-artifact",
            Self::UnusableArtifact { .. } => "unusable-artifact",
            Self::Io { .. } => "io",
            Self::TooLarge { .. } => "too-large",
            Self::Sqlite { .. } => "sqlite",
            Self::MissingTable { .. } | Self::NotATable { .. } | Self::MissingColumns { .. } => {
                "schema"
            }
            Self::TooManyRows { .. } => "too-many-rows",
            Self::BadRecord { .. } => "bad-record",
            Self::Json { .. } => "json",
            Self::Duplicate { .. } => "duplicate-syllable",
            Self::Empty { .. } => "empty-corpus",
        }
    }
}

/// Why a listed corpus artifact that is on disk cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ArtifactProblem {
    #[error("resolves outside the run directory")]
    OutsideRun,
    #[error("not a regular file")]
    NotAFile,
    #[error("cannot resolve: {0}")]
    Unresolvable(#[source] io::Error),
}

/// What the manifest and the disk say about one corpus artifact.
#[derive(Debug)]
pub enum ArtifactLocation {
    /// The manifest does not list it.
    NotListed,
    /// Listed, but nothing is at that path (a dangling symlink included).
    Absent { path: PathBuf },
    /// Listed and a regular file inside the run directory (canonical path).
    Present { path: PathBuf },
    /// Listed and something is there, but it must not or cannot be read.
    Unusable {
        path: PathBuf,
        problem: ArtifactProblem,
    },
}

impl ArtifactLocation {
    /// "The artifact exists on disk" in the sense of `RunSummary`.
    pub fn is_present(&self) -> bool {
        matches!(self, Self::Present { .. })
    }
}

/// The two corpus artifacts of a run.
#[derive(Debug)]
pub struct CorpusArtifacts {
    pub sqlite: ArtifactLocation,
    pub annotated_json: ArtifactLocation,
}

/// Finds the corpus artifacts that `manifest` lists below `run_dir`.
///
/// `run_dir` must be canonical (as [`RunDir::path`] is): the containment
/// check compares canonical paths, so a symlinked artifact that points out
/// of the run directory is refused rather than followed.
///
/// Artifact paths are matched after lexical normalisation (`./` and doubled
/// slashes ignored); a path that is absolute or contains `..` never matches,
/// so it can neither name a corpus nor be followed anywhere.
pub fn locate_corpus_artifacts(run_dir: &Path, manifest: &Manifest) -> CorpusArtifacts {
    let mut sqlite = None;
    let mut annotated_json = None;
    for artifact in manifest.artifacts() {
        let Some(parts) = relative_components(&artifact.path) else {
            continue;
        };
        let [dir, name] = parts.as_slice() else {
            continue;
        };
        if *dir != JSON_ARTIFACT_DIR {
            continue;
        }
        if sqlite.is_none() && format!("{dir}/{name}") == SQLITE_ARTIFACT_PATH {
            sqlite = Some(resolve_artifact(run_dir, dir, name));
        } else if annotated_json.is_none() && name.ends_with(JSON_ARTIFACT_SUFFIX) {
            annotated_json = Some(resolve_artifact(run_dir, dir, name));
        }
    }
    CorpusArtifacts {
        sqlite: sqlite.unwrap_or(ArtifactLocation::NotListed),
        annotated_json: annotated_json.unwrap_or(ArtifactLocation::NotListed),
    }
}

/// The normal components of a relative artifact path, or `None` when the
/// path is absolute or climbs with `..`.
fn relative_components(path: &str) -> Option<Vec<&str>> {
    let mut parts = Vec::new();
    for component in Path::new(path).components() {
        match component {
            Component::Normal(part) => parts.push(part.to_str()?),
            Component::CurDir => {}
            Component::ParentDir | Component::RootDir | Component::Prefix(_) => return None,
        }
    }
    Some(parts)
}

fn resolve_artifact(run_dir: &Path, dir: &str, name: &str) -> ArtifactLocation {
    let path = run_dir.join(dir).join(name);
    match path.canonicalize() {
        Err(e) if e.kind() == io::ErrorKind::NotFound => ArtifactLocation::Absent { path },
        Err(e) => ArtifactLocation::Unusable {
            path,
            problem: ArtifactProblem::Unresolvable(e),
        },
        Ok(canonical) if !canonical.starts_with(run_dir) => ArtifactLocation::Unusable {
            path,
            problem: ArtifactProblem::OutsideRun,
        },
        Ok(canonical) if !canonical.is_file() => ArtifactLocation::Unusable {
            path,
            problem: ArtifactProblem::NotAFile,
        },
        Ok(canonical) => ArtifactLocation::Present { path: canonical },
    }
}

/// Loads the corpus of a run found by [`crate::rundir::runs::RunsDir::find_run`].
pub fn load_corpus(run: &RunDir) -> Result<LoadedCorpus, CorpusError> {
    load_corpus_from(run.path(), run.manifest(), &CorpusLimits::default())
}

/// Loads the corpus of the run in `run_dir` described by `manifest`: the
/// SQLite artifact when it is listed and on disk, otherwise the annotated
/// JSON.
pub fn load_corpus_from(
    run_dir: &Path,
    manifest: &Manifest,
    limits: &CorpusLimits,
) -> Result<LoadedCorpus, CorpusError> {
    let run_dir = run_dir.canonicalize().map_err(|source| CorpusError::Io {
        path: run_dir.to_path_buf(),
        source,
    })?;
    let artifacts = locate_corpus_artifacts(&run_dir, manifest);
    match artifacts.sqlite {
        ArtifactLocation::Present { path } => {
            let corpus = load_sqlite_corpus(&path, limits)?;
            return Ok(LoadedCorpus {
                corpus,
                source: CorpusSource::Sqlite(path),
            });
        }
        ArtifactLocation::Unusable { path, problem } => {
            return Err(CorpusError::UnusableArtifact { path, problem });
        }
        ArtifactLocation::NotListed | ArtifactLocation::Absent { .. } => {}
    }
    match artifacts.annotated_json {
        ArtifactLocation::Present { path } => {
            let corpus = load_annotated_json_corpus(&path, limits)?;
            Ok(LoadedCorpus {
                corpus,
                source: CorpusSource::AnnotatedJson(path),
            })
        }
        ArtifactLocation::Unusable { path, problem } => {
            Err(CorpusError::UnusableArtifact { path, problem })
        }
        ArtifactLocation::NotListed | ArtifactLocation::Absent { .. } => {
            Err(CorpusError::NoArtifact { run_dir })
        }
    }
}

/// Checks that `path` is a regular file no larger than `max` and returns it
/// opened, so the size check and the read concern the same file.
fn open_capped(path: &Path, max: u64) -> Result<File, CorpusError> {
    let io_error = |source| CorpusError::Io {
        path: path.to_path_buf(),
        source,
    };
    let file = File::open(path).map_err(io_error)?;
    let metadata = file.metadata().map_err(io_error)?;
    if !metadata.is_file() {
        return Err(CorpusError::UnusableArtifact {
            path: path.to_path_buf(),
            problem: ArtifactProblem::NotAFile,
        });
    }
    if metadata.len() > max {
        return Err(CorpusError::TooLarge {
            path: path.to_path_buf(),
            size: metadata.len(),
            max,
        });
    }
    Ok(file)
}

// ---------------------------------------------------------------------------
// SQLite

/// Reads the `syllables` table of a `corpus.db`, in index order
/// (`frequency DESC, rowid ASC`).
///
/// The pipeline leaves the database in WAL mode. Opening it normally would
/// create `-wal`/`-shm` files next to it (dirtying the run, and failing on
/// read-only media), so it is opened through a URI:
/// - without a non-empty `-wal` file next to it, as `immutable=1`: then the
///   main file is the whole database, and SQLite reads it without locks or
///   side files;
/// - with a non-empty `-wal` (committed pages may still live there), as
///   `mode=ro`, which reads them; SQLite then needs a `-shm` file, which it
///   leaves behind.
///
/// Runs are finished products; `immutable` would give a torn read if
/// another process were still writing the database.
pub fn load_sqlite_corpus(path: &Path, limits: &CorpusLimits) -> Result<Corpus, CorpusError> {
    drop(open_capped(path, limits.max_sqlite_bytes)?);
    // SQLite URIs need an absolute path.
    let path = path.canonicalize().map_err(|source| CorpusError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let sqlite_error = |source| CorpusError::Sqlite {
        path: path.clone(),
        source,
    };
    let conn = open_read_only(&path).map_err(sqlite_error)?;
    check_schema(&conn, &path)?;
    let corpus = read_rows(&conn, &path, limits)?;
    drop(conn);
    finish(corpus, &path)
}

fn open_read_only(path: &Path) -> rusqlite::Result<Connection> {
    let mut wal_name = path.as_os_str().to_owned();
    wal_name.push("-wal");
    let wal_has_content = match fs::metadata(&wal_name) {
        Ok(metadata) => metadata.len() > 0,
        Err(e) => e.kind() != io::ErrorKind::NotFound,
    };
    let query = if wal_has_content {
        "mode=ro"
    } else {
        "immutable=1"
    };
    let uri = format!("file:{}?{query}", percent_encode_path(path));
    let conn = Connection::open_with_flags(
        uri,
        OpenFlags::SQLITE_OPEN_READ_ONLY
            | OpenFlags::SQLITE_OPEN_URI
            | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    // The file is foreign input: no schema-defined code with side effects,
    // and no writes to the database structure even by accident.
    conn.set_db_config(DbConfig::SQLITE_DBCONFIG_TRUSTED_SCHEMA, false)?;
    conn.set_db_config(DbConfig::SQLITE_DBCONFIG_DEFENSIVE, true)?;
    Ok(conn)
}

/// Percent-encodes a path for a `file:` URI, so `?`, `#` and `%` in
/// directory names cannot be read as URI syntax.
fn percent_encode_path(path: &Path) -> String {
    let mut encoded = String::new();
    for &byte in path.as_os_str().as_encoded_bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'/' | b'-' | b'.' | b'_' | b'~') {
            encoded.push(char::from(byte));
        } else {
            encoded.push_str(&format!("%{byte:02X}"));
        }
    }
    encoded
}

/// Checks the table and its columns up front, so a foreign database gets an
/// error that says what is missing instead of SQLite's first complaint.
fn check_schema(conn: &Connection, path: &Path) -> Result<(), CorpusError> {
    let sqlite_error = |source| CorpusError::Sqlite {
        path: path.to_path_buf(),
        source,
    };
    let kind: Option<String> = {
        let mut stmt = conn
            .prepare("SELECT type FROM sqlite_master WHERE name = ?1 COLLATE NOCASE")
            .map_err(sqlite_error)?;
        let mut rows = stmt.query([SQLITE_TABLE]).map_err(sqlite_error)?;
        match rows.next().map_err(sqlite_error)? {
            Some(row) => Some(row.get(0).map_err(sqlite_error)?),
            None => None,
        }
    };
    match kind {
        None => {
            return Err(CorpusError::MissingTable {
                path: path.to_path_buf(),
            });
        }
        Some(kind) if kind != "table" => {
            return Err(CorpusError::NotATable {
                path: path.to_path_buf(),
                kind,
            });
        }
        Some(_) => {}
    }
    let mut stmt = conn
        .prepare("SELECT name FROM pragma_table_xinfo(?1)")
        .map_err(sqlite_error)?;
    let names = stmt
        .query_map([SQLITE_TABLE], |row| row.get::<_, String>(0))
        .map_err(sqlite_error)?
        .collect::<Result<Vec<_>, _>>()
        .map_err(sqlite_error)?;
    let missing: Vec<&'static str> = required_columns()
        .filter(|column| !names.iter().any(|name| name.eq_ignore_ascii_case(column)))
        .collect();
    if missing.is_empty() {
        Ok(())
    } else {
        Err(CorpusError::MissingColumns {
            path: path.to_path_buf(),
            columns: missing,
        })
    }
}

fn required_columns() -> impl Iterator<Item = &'static str> {
    ["syllable", "frequency"].into_iter().chain(FEATURE_NAMES)
}

fn read_rows(conn: &Connection, path: &Path, limits: &CorpusLimits) -> Result<Corpus, CorpusError> {
    let sqlite_error = |source| CorpusError::Sqlite {
        path: path.to_path_buf(),
        source,
    };
    let columns: Vec<String> = required_columns().map(|c| format!("\"{c}\"")).collect();
    let sql = format!(
        "SELECT rowid, {} FROM \"{SQLITE_TABLE}\" ORDER BY \"frequency\" DESC, rowid ASC",
        columns.join(", ")
    );
    let mut stmt = conn.prepare(&sql).map_err(sqlite_error)?;
    let mut rows = stmt.query([]).map_err(sqlite_error)?;
    let mut corpus = Corpus::default();
    while let Some(row) = rows.next().map_err(sqlite_error)? {
        if corpus.len() >= limits.max_rows {
            return Err(CorpusError::TooManyRows {
                path: path.to_path_buf(),
                max: limits.max_rows,
            });
        }
        let bad = |problem: String| {
            let rowid = match row.get_ref(0) {
                Ok(ValueRef::Integer(rowid)) => rowid.to_string(),
                _ => "?".to_owned(),
            };
            CorpusError::BadRecord {
                path: path.to_path_buf(),
                record: format!("row {} (rowid {rowid})", corpus.len()),
                problem,
            }
        };
        let syllable = match row.get_ref(1).map_err(sqlite_error)? {
            ValueRef::Text(bytes) => std::str::from_utf8(bytes)
                .map_err(|_| bad("syllable is not valid UTF-8".to_owned()))?,
            other => {
                return Err(bad(format!(
                    "syllable is {}, expected text",
                    describe(other)
                )));
            }
        };
        check_syllable(syllable, limits).map_err(bad)?;
        let frequency = match row.get_ref(2).map_err(sqlite_error)? {
            ValueRef::Integer(value) => {
                u64::try_from(value).map_err(|_| bad(format!("frequency is negative ({value})")))?
            }
            other => {
                return Err(bad(format!(
                    "frequency is {}, expected an integer",
                    describe(other)
                )));
            }
        };
        let mut features = 0u16;
        for (bit, name) in FEATURE_NAMES.iter().enumerate() {
            match row.get_ref(3 + bit).map_err(sqlite_error)? {
                ValueRef::Integer(0) => {}
                ValueRef::Integer(1) => features |= 1 << bit,
                other => {
                    return Err(bad(format!(
                        "{name} is {}, expected 0 or 1",
                        describe(other)
                    )));
                }
            }
        }
        corpus.push(syllable.to_owned(), frequency, features);
    }
    Ok(corpus)
}

/// A value as an error message shows it: small values verbatim, text and
/// blobs by kind only (they may be huge or binary).
fn describe(value: ValueRef<'_>) -> String {
    match value {
        ValueRef::Null => "NULL".to_owned(),
        ValueRef::Integer(i) => format!("the integer {i}"),
        ValueRef::Real(r) => format!("the real number {r}"),
        ValueRef::Text(_) => "text".to_owned(),
        ValueRef::Blob(_) => "a blob".to_owned(),
    }
}

fn check_syllable(syllable: &str, limits: &CorpusLimits) -> Result<(), String> {
    if syllable.is_empty() {
        return Err("syllable is empty".to_owned());
    }
    if syllable.len() > limits.max_syllable_bytes {
        return Err(format!(
            "syllable is {} bytes long, more than the {}-byte limit",
            syllable.len(),
            limits.max_syllable_bytes
        ));
    }
    Ok(())
}

/// Checks shared by both sources once all records are read.
fn finish(corpus: Corpus, path: &Path) -> Result<Corpus, CorpusError> {
    if corpus.is_empty() {
        return Err(CorpusError::Empty {
            path: path.to_path_buf(),
        });
    }
    let mut seen = HashSet::with_capacity(corpus.len());
    for (index, syllable) in corpus.syllables.iter().enumerate() {
        if !seen.insert(syllable.as_str()) {
            let first = corpus
                .syllables
                .iter()
                .position(|s| s == syllable)
                .unwrap_or(index);
            return Err(CorpusError::Duplicate {
                path: path.to_path_buf(),
                syllable: syllable.clone(),
                first,
                second: index,
            });
        }
    }
    Ok(corpus)
}

// ---------------------------------------------------------------------------
// Annotated JSON

/// Reads an annotated JSON corpus, in file order: a list of
/// `{"syllable": str, "frequency": int, "features": {name: bool}}`.
///
/// A feature missing from `features` is false and unknown feature names are
/// ignored (as they are upstream); `features` itself is required, feature
/// values must be booleans and a feature may appear only once.
pub fn load_annotated_json_corpus(
    path: &Path,
    limits: &CorpusLimits,
) -> Result<Corpus, CorpusError> {
    let file = open_capped(path, limits.max_json_bytes)?;
    let mut bytes = Vec::new();
    file.take(limits.max_json_bytes.saturating_add(1))
        .read_to_end(&mut bytes)
        .map_err(|source| CorpusError::Io {
            path: path.to_path_buf(),
            source,
        })?;
    let read = u64::try_from(bytes.len()).unwrap_or(u64::MAX);
    if read > limits.max_json_bytes {
        // The file grew after its size was checked.
        return Err(CorpusError::TooLarge {
            path: path.to_path_buf(),
            size: read,
            max: limits.max_json_bytes,
        });
    }
    let json_error = |source| CorpusError::Json {
        path: path.to_path_buf(),
        source,
    };
    let mut deserializer = serde_json::Deserializer::from_slice(&bytes);
    let corpus = CorpusSeed { limits }
        .deserialize(&mut deserializer)
        .map_err(json_error)?;
    deserializer.end().map_err(json_error)?;
    finish(corpus, path)
}

/// Streams the top-level list straight into a [`Corpus`], so the entry cap
/// applies while parsing rather than after every entry has been allocated.
struct CorpusSeed<'a> {
    limits: &'a CorpusLimits,
}

impl<'de> DeserializeSeed<'de> for CorpusSeed<'_> {
    type Value = Corpus;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Corpus, D::Error> {
        deserializer.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for CorpusSeed<'_> {
    type Value = Corpus;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a list of annotated syllables")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Corpus, A::Error> {
        let mut corpus = Corpus::default();
        while let Some(entry) = seq.next_element::<Entry>()? {
            let index = corpus.len();
            if index >= self.limits.max_rows {
                return Err(de::Error::custom(format_args!(
                    "more than {} syllables",
                    self.limits.max_rows
                )));
            }
            check_syllable(&entry.syllable, self.limits)
                .map_err(|problem| de::Error::custom(format_args!("entry {index}: {problem}")))?;
            corpus.push(entry.syllable, entry.frequency.0, entry.features.0);
        }
        Ok(corpus)
    }
}

#[derive(Deserialize)]
struct Entry {
    syllable: String,
    frequency: Frequency,
    features: FeatureBits,
}

/// A frequency in `0..=i64::MAX`.
struct Frequency(u64);

const MAX_FREQUENCY: u64 = i64::MAX as u64;

impl<'de> Deserialize<'de> for Frequency {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(FrequencyVisitor)
    }
}

struct FrequencyVisitor;

impl FrequencyVisitor {
    fn out_of_range<E: de::Error>(value: impl fmt::Display) -> E {
        E::custom(format_args!(
            "frequency must be an integer from 0 to {MAX_FREQUENCY}, got {value}"
        ))
    }
}

impl Visitor<'_> for FrequencyVisitor {
    type Value = Frequency;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "a frequency (an integer from 0 to {MAX_FREQUENCY})")
    }

    fn visit_u64<E: de::Error>(self, value: u64) -> Result<Frequency, E> {
        if value > MAX_FREQUENCY {
            return Err(Self::out_of_range(value));
        }
        Ok(Frequency(value))
    }

    fn visit_i64<E: de::Error>(self, value: i64) -> Result<Frequency, E> {
        match u64::try_from(value) {
            Ok(value) => self.visit_u64(value),
            Err(_) => Err(Self::out_of_range(value)),
        }
    }

    /// Reached for fractions, exponents and integers beyond `u64`.
    fn visit_f64<E: de::Error>(self, value: f64) -> Result<Frequency, E> {
        Err(Self::out_of_range(value))
    }
}

/// The `features` object packed into bits (bit `i` = `FEATURE_NAMES[i]`).
struct FeatureBits(u16);

impl<'de> Deserialize<'de> for FeatureBits {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_map(FeatureBitsVisitor)
    }
}

struct FeatureBitsVisitor;

impl<'de> Visitor<'de> for FeatureBitsVisitor {
    type Value = FeatureBits;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an object of feature names to booleans")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<FeatureBits, A::Error> {
        let mut bits = 0u16;
        let mut seen = 0u16;
        while let Some(key) = map.next_key_seed(FeatureKey)? {
            let Some(bit) = key else {
                map.next_value::<IgnoredAny>()?;
                continue;
            };
            if seen & (1 << bit) != 0 {
                return Err(de::Error::custom(format_args!(
                    "feature `{}` appears twice",
                    FEATURE_NAMES[bit]
                )));
            }
            seen |= 1 << bit;
            if map.next_value::<bool>()? {
                bits |= 1 << bit;
            }
        }
        Ok(FeatureBits(bits))
    }
}

/// Maps a feature name to its bit without allocating; `None` for names this
/// service does not know.
struct FeatureKey;

impl<'de> DeserializeSeed<'de> for FeatureKey {
    type Value = Option<usize>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_str(self)
    }
}

impl Visitor<'_> for FeatureKey {
    type Value = Option<usize>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a feature name")
    }

    fn visit_str<E: de::Error>(self, name: &str) -> Result<Option<usize>, E> {
        Ok(FEATURE_NAMES.iter().position(|known| *known == name))
    }
}

const _: () = assert!(FEATURE_COUNT <= u16::BITS as usize);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uri_paths_are_percent_encoded() {
        assert_eq!(
            percent_encode_path(Path::new("/runs/a b?c#d%e/corpus.db")),
            "/runs/a%20b%3Fc%23d%25e/corpus.db"
        );
    }

    #[test]
    fn artifact_paths_that_leave_the_run_never_match() {
        assert_eq!(
            relative_components("./data//corpus.db"),
            Some(vec!["data", "corpus.db"])
        );
        assert_eq!(relative_components("../data/corpus.db"), None);
        assert_eq!(relative_components("data/../../corpus.db"), None);
        assert_eq!(relative_components("/data/corpus.db"), None);
    }
}
