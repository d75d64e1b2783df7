//! Walker settings, walk profiles and per-profile reach (SEMANTICS §3).

mod classes;
mod engine;
mod numeric;
mod output;
pub mod reference;
pub mod synthetic;

pub use engine::{ProfileStats, Walker};

use crate::domain::corpus::{Corpus, FEATURE_COUNT, FEATURE_NAMES};

/// Number of distinct feature vectors (12 binary features).
pub const FEATURE_VECTOR_COUNT: usize = 1 << FEATURE_COUNT;

/// The Python walker whose reach semantics this engine reproduces; recorded
/// in the cache artifact's graph settings.
pub const DEFAULT_WALKER_IMPL: &str = "build_tools.syllable_walk.walker.SyllableWalker";

/// One named walk profile.
#[derive(Debug, Clone, PartialEq)]
pub struct Profile {
    pub name: String,
    pub max_flips: u32,
    pub temperature: f64,
    pub frequency_weight: f64,
}

/// Graph and reach settings shared by all profiles.
#[derive(Debug, Clone, PartialEq)]
pub struct WalkerSettings {
    pub walker_impl: String,
    pub max_neighbor_distance: u32,
    pub inertia_cost: f64,
    /// Cost of flipping each feature, in feature order.
    pub feature_costs: [f64; FEATURE_COUNT],
    pub threshold: f64,
    /// Always in profile order: clerical, dialect, goblin, ritual.
    pub profiles: Vec<Profile>,
}

impl Default for WalkerSettings {
    fn default() -> Self {
        let profile = |name: &str, max_flips, temperature, frequency_weight| Profile {
            name: name.to_owned(),
            max_flips,
            temperature,
            frequency_weight,
        };
        Self {
            walker_impl: DEFAULT_WALKER_IMPL.to_owned(),
            max_neighbor_distance: 3,
            inertia_cost: 0.5,
            feature_costs: [0.2, 1.5, 2.0, 0.7, 0.7, 0.3, 0.3, 0.2, 0.2, 0.3, 0.4, 0.6],
            threshold: 0.001,
            profiles: vec![
                profile("clerical", 1, 0.3, 1.0),
                profile("dialect", 2, 0.7, 0.0),
                profile("goblin", 2, 1.5, -0.5),
                profile("ritual", 3, 2.5, -1.0),
            ],
        }
    }
}

impl WalkerSettings {
    /// Checks that every number is usable, so that a computation can never
    /// panic or silently produce NaN-driven results: the Python tool would
    /// raise (or misbehave) on the same values.
    ///
    /// `max_flips` larger than `max_neighbor_distance` is accepted: like the
    /// Python tool, only neighbours within `max_neighbor_distance` exist, so
    /// the effective limit is the smaller of the two.
    pub fn validate(&self) -> Result<(), ReachError> {
        let invalid = |message: String| Err(ReachError::InvalidSettings(message));
        if self.max_neighbor_distance == 0 || self.max_neighbor_distance as usize > FEATURE_COUNT {
            return invalid(format!(
                "max_neighbor_distance must be between 1 and {FEATURE_COUNT}, got {}",
                self.max_neighbor_distance
            ));
        }
        if !self.inertia_cost.is_finite() {
            return invalid(format!(
                "inertia_cost must be finite, got {}",
                self.inertia_cost
            ));
        }
        for (name, cost) in FEATURE_NAMES.iter().zip(self.feature_costs) {
            if !cost.is_finite() {
                return invalid(format!("feature cost of {name} must be finite, got {cost}"));
            }
        }
        if !self.threshold.is_finite() {
            return invalid(format!("threshold must be finite, got {}", self.threshold));
        }
        for profile in &self.profiles {
            if !(profile.temperature.is_finite() && profile.temperature > 0.0) {
                return invalid(format!(
                    "profile '{}': temperature must be finite and > 0, got {}",
                    profile.name, profile.temperature
                ));
            }
            if !profile.frequency_weight.is_finite() {
                return invalid(format!(
                    "profile '{}': frequency_weight must be finite, got {}",
                    profile.name, profile.frequency_weight
                ));
            }
        }
        Ok(())
    }
}

/// Checks the corpus invariants the reach computation relies on: parallel
/// vectors of one length, an index space that fits `u32` (indices and counts
/// are reported as `u32`), and feature vectors within the 12 features.
pub fn validate_corpus(corpus: &Corpus) -> Result<(), ReachError> {
    if corpus.is_empty() {
        return Err(ReachError::EmptyCorpus);
    }
    let n = corpus.syllables.len();
    if corpus.frequencies.len() != n || corpus.features.len() != n {
        return Err(ReachError::InvalidCorpus(format!(
            "corpus has {n} syllables but {} frequencies and {} feature vectors",
            corpus.frequencies.len(),
            corpus.features.len()
        )));
    }
    if u32::try_from(n).is_err() {
        return Err(ReachError::InvalidCorpus(format!(
            "corpus has {n} syllables; at most {} are supported",
            u32::MAX
        )));
    }
    if let Some(index) = corpus
        .features
        .iter()
        .position(|&f| usize::from(f) >= FEATURE_VECTOR_COUNT)
    {
        return Err(ReachError::InvalidCorpus(format!(
            "syllable {index} ('{}') has feature bits beyond the {FEATURE_COUNT} features",
            corpus.syllables[index]
        )));
    }
    Ok(())
}

/// The reach of one profile over a corpus.
#[derive(Debug, Clone, PartialEq)]
pub struct ProfileReach {
    pub profile_name: String,
    pub reach: u32,
    pub total: u32,
    pub unique_reachable: u32,
    pub threshold: f64,
    pub max_flips: u32,
    pub temperature: f64,
    pub frequency_weight: f64,
    /// Wall time of this profile's computation, rounded to 2 decimals.
    pub computation_ms: f64,
    /// `(syllable_index, starts_counted_from)`, count descending then index ascending.
    pub reachable_indices: Vec<(u32, u32)>,
}

/// Why reaches could not be computed.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum ReachError {
    #[error("corpus is empty")]
    EmptyCorpus,
    /// Settings that are unusable (non-finite numbers, temperature <= 0,
    /// ...), or that make the computation itself undefined (a transition
    /// weight that overflows, or all weights underflowing to zero, where the
    /// Python tool raises).
    #[error("{0}")]
    InvalidSettings(String),
    /// A corpus whose parallel vectors disagree or whose feature vectors use
    /// bits beyond the 12 features.
    #[error("{0}")]
    InvalidCorpus(String),
}
