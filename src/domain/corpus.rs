//! A loaded corpus: syllables in index order, their frequencies and their
//! 12 binary phonetic features packed into the low bits of a `u16`.

/// Feature names in their fixed order; bit `i` of a feature vector is feature `i`.
pub const FEATURE_NAMES: [&str; 12] = [
    "starts_with_vowel",
    "starts_with_cluster",
    "starts_with_heavy_cluster",
    "contains_plosive",
    "contains_fricative",
    "contains_liquid",
    "contains_nasal",
    "short_vowel",
    "long_vowel",
    "ends_with_vowel",
    "ends_with_nasal",
    "ends_with_stop",
];

/// Number of phonetic features.
pub const FEATURE_COUNT: usize = FEATURE_NAMES.len();

/// A corpus in syllable-index order (the order that `reachable_indices` refer to).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Corpus {
    pub syllables: Vec<String>,
    pub frequencies: Vec<u64>,
    /// Bit `i` set when feature `FEATURE_NAMES[i]` is present.
    pub features: Vec<u16>,
}

impl Corpus {
    pub fn len(&self) -> usize {
        self.syllables.len()
    }

    pub fn is_empty(&self) -> bool {
        self.syllables.is_empty()
    }

    pub fn push(&mut self, syllable: String, frequency: u64, features: u16) {
        self.syllables.push(syllable);
        self.frequencies.push(frequency);
        self.features.push(features);
    }
}
