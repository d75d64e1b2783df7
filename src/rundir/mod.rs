//! The outside world: run directories on disk, their manifests, corpora and
//! reach-cache files.

pub mod cache_file;
pub mod corpus;
pub mod manifest;
pub mod manifest_ipc;
pub mod run_id;
pub mod runs;
