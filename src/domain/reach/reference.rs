//! The naive reference-order implementation of SEMANTICS §3 (to be written):
//! the test oracle for the fast engine.

use super::{ProfileReach, ReachError, WalkerSettings};
use crate::domain::corpus::Corpus;

/// All profiles' reaches computed exactly as the Python tool does.
pub fn compute_all_reaches(
    corpus: &Corpus,
    _settings: &WalkerSettings,
) -> Result<Vec<ProfileReach>, ReachError> {
    if corpus.is_empty() {
        return Err(ReachError::EmptyCorpus);
    }
    Err(ReachError::InvalidSettings("not implemented".into()))
}
