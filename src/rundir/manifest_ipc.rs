//! Manifest IPC verification (SEMANTICS §2). (to be written)

use serde_json::Value;

/// `(status, reason)` of verifying a manifest's `ipc` block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ManifestVerification {
    pub status: &'static str,
    pub reason: &'static str,
}

/// Verifies the `ipc` block of a parsed manifest object.
pub fn verify_manifest_value(_manifest: &Value) -> ManifestVerification {
    ManifestVerification {
        status: "missing",
        reason: "missing-ipc-block",
    }
}
