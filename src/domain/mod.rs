//! The domain: leases, patches, the reach engine and the cache artifact.
//! Nothing here knows about gRPC or the file system layout of a run.

pub mod cache;
pub mod corpus;
pub mod ipc;
pub mod leases;
pub mod patch;
pub mod reach;
