//! The fast reach engine (to be written).

use super::{ProfileReach, ReachError, WalkerSettings};
use crate::domain::corpus::Corpus;

/// A corpus prepared for walking: the neighbour structure built once, reused
/// by every profile.
#[derive(Debug)]
pub struct Walker {
    corpus: Corpus,
    settings: WalkerSettings,
}

impl Walker {
    /// Builds the neighbour structure of `corpus`.
    pub fn new(corpus: Corpus, settings: WalkerSettings) -> Result<Self, ReachError> {
        if corpus.is_empty() {
            return Err(ReachError::EmptyCorpus);
        }
        Ok(Self { corpus, settings })
    }

    pub fn corpus(&self) -> &Corpus {
        &self.corpus
    }

    pub fn settings(&self) -> &WalkerSettings {
        &self.settings
    }

    /// All profiles' reaches, in profile order.
    pub fn compute_all_reaches(&self) -> Result<Vec<ProfileReach>, ReachError> {
        super::reference::compute_all_reaches(&self.corpus, &self.settings)
    }
}
