//! The application: the operations the RPCs offer, in plain Rust.
