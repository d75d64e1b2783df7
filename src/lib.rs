//! walker-service: the syllable walker's engine as a gRPC service.
//!
//! The story, outside in:
//! - [`api`] is the wire layer: the generated protobuf code and thin tonic
//!   handlers that translate messages to and from the application.
//! - [`app`] is the application: the operations the RPCs offer (leases,
//!   rebuilds, loads), with the exact validation order and messages of the
//!   specification, in plain Rust.
//! - [`domain`] holds the rules: the lease table, the reach engine, canonical
//!   JSON hashing and the reach-cache artifact.
//! - [`rundir`] and [`lease_store`] are the outside world: run directories,
//!   manifests, corpora and cache files on disk; leases in this process or in
//!   a Redis shared by replicas.
//! - [`server`] wires it all into a tonic server with reflection, [`health`]
//!   that follows readiness and the lease store, and graceful [`shutdown`];
//!   [`config`] is its command line, [`demo`] the bundled run it serves by
//!   default.
//! - [`cli`] is the command-line client for people without grpcurl.

pub mod api;
pub mod app;
pub mod cli;
pub mod clock;
pub mod config;
pub mod demo;
pub mod domain;
pub mod health;
pub mod lease_store;
pub mod rundir;
pub mod server;
pub mod shutdown;
