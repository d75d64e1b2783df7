//! The outside world: run directories on disk, their manifests, corpora and
//! reach-cache files.

pub mod cache_file;
pub mod corpus;
pub mod manifest;
pub mod manifest_ipc;
pub mod run_id;
pub mod runs;
pub mod writer;

pub use corpus::{
    CorpusError, CorpusLimits, CorpusSource, LoadedCorpus, load_corpus, load_corpus_from,
};
pub use manifest::{Manifest, ManifestError, read_manifest};
pub use run_id::{RunId, RunIdError, validate_run_id};
pub use runs::{RunDir, RunLookupError, RunSummary, RunsDir, RunsDirError};
