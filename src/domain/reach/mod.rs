//! Walker settings, walk profiles and per-profile reach (SEMANTICS §3).

mod engine;
pub mod reference;
pub mod synthetic;

pub use engine::Walker;

use crate::domain::corpus::FEATURE_COUNT;

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
    #[error("{0}")]
    InvalidSettings(String),
}
