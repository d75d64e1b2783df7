//! The wire layer: generated protobuf code and the tonic handlers.

pub mod pb;
