//! JSON rendering of contract messages, for the command-line client.

use serde::Serializer;

use super::pb::ErrorCode;

/// Writes an `ErrorCode` field by its proto name (`ERROR_CODE_LOCKED`), as
/// the protobuf JSON mapping does, instead of its number.
pub fn error_code<S: Serializer>(code: &i32, serializer: S) -> Result<S::Ok, S::Error> {
    match ErrorCode::try_from(*code) {
        Ok(code) => serializer.serialize_str(code.as_str_name()),
        Err(_) => serializer.serialize_i32(*code),
    }
}
