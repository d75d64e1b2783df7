//! The wire layer: generated protobuf code and the tonic handlers.

mod convert;
pub mod json;
pub mod pb;
mod service;

pub use service::WalkerGrpc;
