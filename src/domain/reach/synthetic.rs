//! Synthetic corpora for benchmarks and property tests (to be written):
//! realistic shape, a few hundred occupied feature vectors and Zipf-like
//! frequencies, deterministic for a seed.

use crate::domain::corpus::Corpus;

/// A deterministic synthetic corpus of `size` syllables.
pub fn synthetic_corpus(size: usize, seed: u64) -> Corpus {
    let _ = (size, seed);
    Corpus::default()
}
