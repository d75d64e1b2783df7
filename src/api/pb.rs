//! Code generated from `proto/pipeworks/walker/v1/walker.proto`.

#![allow(clippy::all, clippy::pedantic, missing_docs)]

tonic::include_proto!("pipeworks.walker.v1");

/// The encoded descriptor set of the contract, served by reflection.
pub const FILE_DESCRIPTOR_SET: &[u8] = tonic::include_file_descriptor_set!("walker_descriptor");
