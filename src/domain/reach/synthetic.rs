//! Synthetic corpora for benchmarks and tests: realistic shape,
//! deterministic for a seed.
//!
//! Shape, modelled on real runs (the 601-syllable demo run occupies 144 of
//! the 4,096 feature vectors, with a few classes holding most syllables):
//! - feature vectors come from a pool of up to 320 vectors drawn from a simple
//!   phonotactic model (a syllable starts with a vowel, a cluster, a heavy
//!   cluster or a single consonant; has a short, long or neutral vowel; ends
//!   with a vowel, a nasal, a stop or something else), so the occupied
//!   classes sit close together in feature space and have many neighbours;
//! - class occupancy is skewed (Zipf over the pool);
//! - frequencies are heavy-tailed in `1..=10_000` (median about 3, many
//!   ties), like syllable counts of real texts;
//! - syllable strings are unique, and the corpus is in load order
//!   (frequency descending, ties in insertion order).

use super::WalkerSettings;
use crate::domain::corpus::Corpus;

/// Most feature vectors a synthetic corpus occupies.
pub const SYNTHETIC_CLASSES: usize = 320;
/// Highest synthetic frequency.
pub const MAX_SYNTHETIC_FREQUENCY: u64 = 10_000;
/// Reach threshold of the stress settings: so low that nearly every
/// candidate of every start is counted, which maximises the counting and
/// output work (every syllable reachable, counts in the hundreds of
/// thousands at 1M syllables).
pub const STRESS_THRESHOLD: f64 = 1e-30;

/// A deterministic synthetic corpus of `size` syllables.
pub fn synthetic_corpus(size: usize, seed: u64) -> Corpus {
    let mut rng = SplitMix64(seed);
    let pool = vector_pool(&mut rng);
    // Zipf occupancy over the pool: cumulative weights for sampling.
    let mut cumulative = Vec::with_capacity(pool.len());
    let mut total = 0.0;
    for rank in 0..pool.len() {
        total += 1.0 / ((rank + 1) as f64).powf(1.1);
        cumulative.push(total);
    }
    let mut rows: Vec<(u64, u16)> = (0..size)
        .map(|_| {
            let u = rng.next_f64() * total;
            let class = cumulative.partition_point(|&c| c <= u).min(pool.len() - 1);
            let v = rng.next_f64();
            let frequency = ((MAX_SYNTHETIC_FREQUENCY as f64).powf(v * v * v).floor() as u64)
                .clamp(1, MAX_SYNTHETIC_FREQUENCY);
            (frequency, pool[class])
        })
        .collect();
    // Load order: frequency descending, ties in insertion (generation) order.
    let mut order: Vec<usize> = (0..size).collect();
    order.sort_by_key(|&i| std::cmp::Reverse(rows[i].0));
    let mut corpus = Corpus {
        syllables: Vec::with_capacity(size),
        frequencies: Vec::with_capacity(size),
        features: Vec::with_capacity(size),
    };
    for i in order {
        let (frequency, features) = rows[i];
        corpus.push(syllable_name(i), frequency, features);
    }
    rows.clear();
    corpus
}

/// Default settings with [`STRESS_THRESHOLD`]: nearly every syllable is
/// reachable from nearly every start that can reach it at all.
pub fn stress_settings() -> WalkerSettings {
    WalkerSettings {
        threshold: STRESS_THRESHOLD,
        ..WalkerSettings::default()
    }
}

/// A small deterministic pseudo-random generator (SplitMix64): enough for
/// synthetic data, and it keeps corpora identical across platforms and
/// crate versions.
#[derive(Debug, Clone)]
pub struct SplitMix64(pub u64);

impl SplitMix64 {
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in `[0, 1)`.
    pub fn next_f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    fn chance(&mut self, p: f64) -> bool {
        self.next_f64() < p
    }
}

/// Up to [`SYNTHETIC_CLASSES`] distinct feature vectors, most probable first.
fn vector_pool(rng: &mut SplitMix64) -> Vec<u16> {
    let mut pool: Vec<u16> = Vec::with_capacity(SYNTHETIC_CLASSES);
    let mut seen = [false; 1 << 12];
    let mut attempts = 0;
    while pool.len() < SYNTHETIC_CLASSES && attempts < 200_000 {
        attempts += 1;
        let v = phonotactic_vector(rng);
        if !seen[usize::from(v)] {
            seen[usize::from(v)] = true;
            pool.push(v);
        }
    }
    pool
}

/// One feature vector from the phonotactic model (bit i = feature i).
fn phonotactic_vector(rng: &mut SplitMix64) -> u16 {
    let mut v = 0u16;
    let mut set = |bit: u32, on: bool| {
        if on {
            v |= 1 << bit;
        }
    };
    // Onset: vowel / heavy cluster / cluster / single consonant.
    let onset = rng.next_f64();
    if onset < 0.25 {
        set(0, true);
    } else if onset < 0.33 {
        set(1, true);
        set(2, true);
    } else if onset < 0.55 {
        set(1, true);
    }
    set(3, rng.chance(0.6)); // plosive
    set(4, rng.chance(0.45)); // fricative
    set(5, rng.chance(0.4)); // liquid
    set(6, rng.chance(0.5)); // nasal
    let vowel = rng.next_f64();
    set(7, vowel < 0.6); // short
    set(8, (0.6..0.85).contains(&vowel)); // long
    let coda = rng.next_f64();
    set(9, coda < 0.4); // ends with vowel
    set(10, (0.4..0.6).contains(&coda)); // ends with nasal
    set(11, (0.6..0.85).contains(&coda)); // ends with stop
    v
}

/// A unique, pronounceable name for generation number `i` (bijective
/// base-120 numeration over consonant-vowel chunks).
fn syllable_name(i: usize) -> String {
    const ONSETS: [&str; 20] = [
        "b", "d", "f", "g", "h", "k", "l", "m", "n", "p", "r", "s", "t", "v", "w", "z", "br", "st",
        "kl", "th",
    ];
    const VOWELS: [&str; 6] = ["a", "e", "i", "o", "u", "y"];
    let chunks = ONSETS.len() * VOWELS.len();
    let mut n = i + 1;
    let mut name = String::new();
    while n > 0 {
        n -= 1;
        let chunk = n % chunks;
        name.push_str(ONSETS[chunk / VOWELS.len()]);
        name.push_str(VOWELS[chunk % VOWELS.len()]);
        n /= chunks;
    }
    name
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn deterministic_and_realistic() {
        let a = synthetic_corpus(20_000, 7);
        let b = synthetic_corpus(20_000, 7);
        assert_eq!(a, b);
        assert_ne!(a, synthetic_corpus(20_000, 8));
        assert_eq!(a.len(), 20_000);
        let names: HashSet<&String> = a.syllables.iter().collect();
        assert_eq!(names.len(), a.len(), "syllables are unique");
        let classes: HashSet<u16> = a.features.iter().copied().collect();
        assert!(
            (100..=SYNTHETIC_CLASSES).contains(&classes.len()),
            "{}",
            classes.len()
        );
        assert!(a.features.iter().all(|&f| f < 4096));
        assert!(
            a.frequencies
                .iter()
                .all(|&f| (1..=MAX_SYNTHETIC_FREQUENCY).contains(&f))
        );
        assert!(a.frequencies.windows(2).all(|w| w[0] >= w[1]), "load order");
        let distinct: HashSet<u64> = a.frequencies.iter().copied().collect();
        assert!(distinct.len() > 100 && distinct.len() < a.len() / 2, "ties");
        // Skewed occupancy: the largest class holds far more than average.
        let mut sizes = std::collections::HashMap::new();
        for &f in &a.features {
            *sizes.entry(f).or_insert(0usize) += 1;
        }
        let largest = sizes.values().copied().max().unwrap_or(0);
        assert!(largest > 10 * a.len() / classes.len());
    }

    #[test]
    fn names_are_bijective() {
        let names: HashSet<String> = (0..50_000).map(syllable_name).collect();
        assert_eq!(names.len(), 50_000);
        assert_eq!(syllable_name(0), "ba");
    }
}
