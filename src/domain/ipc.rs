//! Canonical JSON and the `pipeworks-ipc` payload / output hashes (SEMANTICS §6).
//! (to be written)

use serde_json::Value;

/// `json.dumps(value, sort_keys=True, ensure_ascii=False)`.
pub fn payload_text(_value: &Value) -> String {
    unimplemented!()
}

/// `json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"))`.
pub fn compact_text(_value: &Value) -> String {
    unimplemented!()
}

/// SHA-256 hex of [`payload_text`].
pub fn payload_hash(_value: &Value) -> String {
    unimplemented!()
}

/// SHA-256 hex of `text` trimmed, with runs of 2+ spaces collapsed to one.
pub fn output_hash_of_text(_text: &str) -> String {
    unimplemented!()
}

/// Output hash of the compact canonical text of `value`.
pub fn output_hash(value: &Value) -> String {
    output_hash_of_text(&compact_text(value))
}

/// True for a lowercase 64-hex SHA-256 digest.
pub fn is_sha256_hex(text: &str) -> bool {
    text.len() == 64 && text.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}
