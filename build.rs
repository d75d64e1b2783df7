//! Compiles the proto contract with a pure-Rust protobuf compiler (protox), so
//! building needs no system `protoc`, and emits the descriptor set that the
//! reflection service serves.

use std::{env, path::PathBuf};

use prost::Message as _;

const PROTO: &str = "proto/pipeworks/walker/v1/walker.proto";

fn main() -> Result<(), Box<dyn std::error::Error>> {
    println!("cargo:rerun-if-changed=proto");
    let descriptors = protox::compile([PROTO], ["proto"])?;
    let out_dir = PathBuf::from(env::var("OUT_DIR")?);
    std::fs::write(
        out_dir.join("walker_descriptor.bin"),
        descriptors.encode_to_vec(),
    )?;
    tonic_prost_build::configure()
        .build_server(true)
        .build_client(true)
        // JSON output of the command-line client (`--json`).
        .type_attribute(
            ".pipeworks.walker.v1",
            "#[derive(serde::Serialize)] #[serde(rename_all = \"snake_case\")]",
        )
        .field_attribute(
            ".pipeworks.walker.v1.WalkerError.code",
            "#[serde(serialize_with = \"crate::api::json::error_code\")]",
        )
        .compile_fds(descriptors)?;
    Ok(())
}
