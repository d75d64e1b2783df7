//! A patch: one slot of the server that holds at most one loaded run, with
//! everything the last load or rebuild recorded about it (SEMANTICS §6).

use std::path::PathBuf;
use std::sync::Arc;

use serde_json::Value;

use crate::domain::reach::{ProfileReach, Walker};

/// The patch letter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum PatchKey {
    A,
    B,
}

impl PatchKey {
    pub const ALL: [PatchKey; 2] = [PatchKey::A, PatchKey::B];

    /// A request's patch: empty means "a", otherwise case-insensitive "a"/"b".
    pub fn parse_request(raw: &str) -> Option<Self> {
        match raw {
            "" => Some(Self::A),
            p if p.eq_ignore_ascii_case("a") => Some(Self::A),
            p if p.eq_ignore_ascii_case("b") => Some(Self::B),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::A => "a",
            Self::B => "b",
        }
    }

    /// The letter used in messages (`patch A`).
    pub fn upper(self) -> &'static str {
        match self {
            Self::A => "A",
            Self::B => "B",
        }
    }

    pub fn index(self) -> usize {
        match self {
            Self::A => 0,
            Self::B => 1,
        }
    }
}

/// A `(status, reason)` pair as recorded on a patch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verification {
    pub status: String,
    pub reason: String,
}

impl Verification {
    pub fn new(status: impl Into<String>, reason: impl Into<String>) -> Self {
        Self {
            status: status.into(),
            reason: reason.into(),
        }
    }
}

/// Everything a patch records. Fields mirror `PatchState` of the contract;
/// `None` means "never set".
#[derive(Debug, Clone, Default)]
pub struct PatchState {
    pub run_id: Option<String>,
    pub run_dir: Option<PathBuf>,
    pub corpus_type: Option<String>,
    pub syllable_count: u32,
    pub walker: Option<Arc<Walker>>,
    pub walker_ready: bool,
    /// The parsed manifest of the loaded run (the cache is keyed by it).
    pub manifest: Option<Arc<Value>>,
    pub loading_stage: Option<String>,
    pub loading_error: Option<String>,
    pub manifest_ipc_input_hash: Option<String>,
    pub manifest_ipc_output_hash: Option<String>,
    pub manifest_ipc_verification: Option<Verification>,
    pub reach_cache_status: Option<String>,
    pub reach_cache_ipc_input_hash: Option<String>,
    pub reach_cache_ipc_output_hash: Option<String>,
    pub reach_cache_ipc_verification: Option<Verification>,
    pub profile_reaches: Option<Arc<Vec<ProfileReach>>>,
}

impl PatchState {
    /// `error` when a load failed, `ready` when the walker is ready,
    /// `loading` while a load runs, else `idle`.
    pub fn loader_status(&self) -> &'static str {
        if self.loading_error.is_some() {
            "error"
        } else if self.walker_ready {
            "ready"
        } else if self.loading_stage.is_some() {
            "loading"
        } else {
            "idle"
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_patch_defaults_to_a_and_ignores_case() {
        assert_eq!(PatchKey::parse_request(""), Some(PatchKey::A));
        assert_eq!(PatchKey::parse_request("A"), Some(PatchKey::A));
        assert_eq!(PatchKey::parse_request("b"), Some(PatchKey::B));
        assert_eq!(PatchKey::parse_request("B"), Some(PatchKey::B));
        for bad in ["c", " a", "ab", "α"] {
            assert_eq!(PatchKey::parse_request(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn loader_status_follows_error_ready_loading_idle() {
        let mut state = PatchState::default();
        assert_eq!(state.loader_status(), "idle");
        state.loading_stage = Some("Loading corpus data".into());
        assert_eq!(state.loader_status(), "loading");
        state.walker_ready = true;
        assert_eq!(state.loader_status(), "ready");
        state.loading_error = Some("Walker initialisation failed: x".into());
        assert_eq!(state.loader_status(), "error");
    }
}
