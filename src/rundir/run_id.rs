//! Run ids: the names of run directories (SEMANTICS §2).
//!
//! A run id arrives from clients and is joined onto the runs directory, so it
//! is validated as a single, harmless path component *before* it touches the
//! file system. The rules are a small hand-written matcher for
//! `^[0-9]{8}_[0-9]{6}_.+$` plus the path-component rules; that is all the
//! pattern needs, and it keeps the validation easy to audit.

use std::fmt;

/// Longest accepted run id in bytes: the usual file-name limit (`NAME_MAX`)
/// of the file systems runs live on, so a longer id can never name a run.
pub const MAX_RUN_ID_LEN: usize = 255;

/// Length of the `YYYYMMDD_HHMMSS` prefix.
const TIMESTAMP_LEN: usize = 15;

/// Why a string is not a run id.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RunIdError {
    #[error("run id is empty")]
    Empty,
    #[error("run id is {len} bytes long, more than the {max}-byte limit", max = MAX_RUN_ID_LEN)]
    TooLong { len: usize },
    #[error("run id is `.` or `..`")]
    DotComponent,
    #[error("run id contains a path separator")]
    PathSeparator,
    #[error("run id contains a NUL or control character")]
    ControlCharacter,
    #[error("run id does not match YYYYMMDD_HHMMSS_<name>")]
    Pattern,
}

/// A validated run id: one path component matching `^[0-9]{8}_[0-9]{6}_.+$`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RunId(String);

impl RunId {
    /// Validates `value` and wraps it.
    pub fn parse(value: &str) -> Result<Self, RunIdError> {
        validate_run_id(value)?;
        Ok(Self(value.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The `YYYYMMDD_HHMMSS` prefix. Its byte order is chronological order,
    /// which is what "newest first" sorts on.
    pub fn timestamp(&self) -> &str {
        // Validation guarantees an ASCII prefix of this length.
        &self.0[..TIMESTAMP_LEN]
    }

    pub fn into_string(self) -> String {
        self.0
    }
}

impl fmt::Display for RunId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl AsRef<str> for RunId {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

/// Whether `value` is a valid run id.
pub fn is_valid_run_id(value: &str) -> bool {
    validate_run_id(value).is_ok()
}

/// Checks that `value` is a run id that is safe to join onto the runs
/// directory.
///
/// Beyond the pattern, control characters are refused anywhere (the regex's
/// `.` already excludes a newline; a tab or escape in a directory name is
/// never a real run and only makes logs and error messages misleading).
/// Digits are ASCII digits only.
pub fn validate_run_id(value: &str) -> Result<(), RunIdError> {
    if value.is_empty() {
        return Err(RunIdError::Empty);
    }
    if value.len() > MAX_RUN_ID_LEN {
        return Err(RunIdError::TooLong { len: value.len() });
    }
    // The pattern already rules these out; checking them first anyway keeps
    // the safety argument independent of the pattern.
    if value == "." || value == ".." {
        return Err(RunIdError::DotComponent);
    }
    if value.contains(['/', '\\']) {
        return Err(RunIdError::PathSeparator);
    }
    if value.chars().any(char::is_control) {
        return Err(RunIdError::ControlCharacter);
    }
    let bytes = value.as_bytes();
    let pattern_ok = bytes.len() > TIMESTAMP_LEN + 1
        && bytes[..8].iter().all(u8::is_ascii_digit)
        && bytes[8] == b'_'
        && bytes[9..TIMESTAMP_LEN].iter().all(u8::is_ascii_digit)
        && bytes[TIMESTAMP_LEN] == b'_';
    if !pattern_ok {
        return Err(RunIdError::Pattern);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_the_pattern() {
        for id in [
            "20261203_124212_pyphen",
            "20261203_124212_x",
            "00000000_000000_..",
            "20261203_124212_ünïcode",
            "20261203_124212_a b",
        ] {
            assert_eq!(validate_run_id(id), Ok(()), "{id}");
        }
        let id = RunId::parse("20261203_124212_pyphen").unwrap();
        assert_eq!(id.timestamp(), "20261203_124212");
    }

    #[test]
    fn refuses_everything_else() {
        let long = format!("20261203_124212_{}", "x".repeat(240));
        let cases: &[(&str, RunIdError)] = &[
            ("", RunIdError::Empty),
            (".", RunIdError::DotComponent),
            ("..", RunIdError::DotComponent),
            ("a/b", RunIdError::PathSeparator),
            ("20261203_124212_x/../..", RunIdError::PathSeparator),
            ("/20261203_124212_x", RunIdError::PathSeparator),
            ("20261203_124212_a\\b", RunIdError::PathSeparator),
            ("20261203_124212_a\0b", RunIdError::ControlCharacter),
            ("20261203_124212_x\n", RunIdError::ControlCharacter),
            ("20261203_124212_", RunIdError::Pattern),
            ("2026120_124212_x", RunIdError::Pattern),
            ("20261203-124212_x", RunIdError::Pattern),
            ("20261203_12421_xx", RunIdError::Pattern),
            ("20261203_124212-x", RunIdError::Pattern),
            ("２0261203_124212_x", RunIdError::Pattern),
            ("pyphen", RunIdError::Pattern),
            (&long, RunIdError::TooLong { len: long.len() }),
        ];
        for (id, expected) in cases {
            assert_eq!(validate_run_id(id).as_ref(), Err(expected), "{id:?}");
        }
    }

    #[test]
    fn the_length_cap_is_inclusive() {
        let at_cap = format!("20261203_124212_{}", "x".repeat(MAX_RUN_ID_LEN - 16));
        assert_eq!(at_cap.len(), MAX_RUN_ID_LEN);
        assert!(is_valid_run_id(&at_cap));
    }
}
