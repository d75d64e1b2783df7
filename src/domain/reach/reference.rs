//! The naive reference-order implementation of SEMANTICS §3: the test oracle
//! for the fast engine.
//!
//! It follows the Python tool step by step and deliberately does nothing
//! clever: for every start it walks all syllables in index order, keeps the
//! neighbours within `min(max_flips, max_neighbor_distance)` flips (identical
//! feature vectors are not neighbours), appends the inertia candidate last,
//! sums the weights with CPython's compensated summation and divides. It is
//! O(N^2) per profile, so it is only for tests and small corpora.

use std::time::Instant;

use super::numeric::{
    NeumaierSum, flip_cost, inertia_weight, mean_rounded, rarity_cost, round_ms, transition_weight,
};
use super::{Profile, ProfileReach, ReachError, WalkerSettings, validate_corpus};
use crate::domain::corpus::Corpus;

/// All profiles' reaches computed exactly as the Python tool does, in
/// profile order.
pub fn compute_all_reaches(
    corpus: &Corpus,
    settings: &WalkerSettings,
) -> Result<Vec<ProfileReach>, ReachError> {
    validate_corpus(corpus)?;
    settings.validate()?;
    settings
        .profiles
        .iter()
        .map(|profile| compute_reach(corpus, settings, profile))
        .collect()
}

/// One profile's reach, the reference way.
pub fn compute_reach(
    corpus: &Corpus,
    settings: &WalkerSettings,
    profile: &Profile,
) -> Result<ProfileReach, ReachError> {
    validate_corpus(corpus)?;
    settings.validate()?;
    let started = Instant::now();
    let n = corpus.len();
    let mut counts = vec![0u32; n];
    let mut count_sum = 0u64;
    for start in 0..n {
        let probabilities = transition_probabilities(corpus, settings, profile, start)?;
        for (candidate, probability) in probabilities {
            if probability > settings.threshold {
                counts[candidate] += 1;
                count_sum += 1;
            }
        }
    }
    let mut reachable_indices: Vec<(u32, u32)> = counts
        .iter()
        .enumerate()
        .filter(|&(_, &count)| count > 0)
        .map(|(index, &count)| (index as u32, count))
        .collect();
    reachable_indices.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    let computation_ms = round_ms(started.elapsed().as_secs_f64() * 1000.0);
    Ok(ProfileReach {
        profile_name: profile.name.clone(),
        reach: mean_rounded(count_sum, n),
        total: n as u32,
        unique_reachable: reachable_indices.len() as u32,
        threshold: settings.threshold,
        max_flips: profile.max_flips,
        temperature: profile.temperature,
        frequency_weight: profile.frequency_weight,
        computation_ms,
        reachable_indices,
    })
}

/// The transition probabilities from `start` to each neighbour candidate, in
/// neighbour-index order (the inertia candidate takes part in the
/// normalisation but is not listed).
///
/// Errors where the Python tool raises: a weight that overflows
/// (`math.exp` raises `OverflowError`) or a zero denominator with at least one
/// neighbour to divide (`ZeroDivisionError`).
pub fn transition_probabilities(
    corpus: &Corpus,
    settings: &WalkerSettings,
    profile: &Profile,
    start: usize,
) -> Result<Vec<(usize, f64)>, ReachError> {
    let (weights, total) = candidate_weights(corpus, settings, profile, start)?;
    Ok(weights
        .into_iter()
        .map(|(candidate, weight)| (candidate, weight / total))
        .collect())
}

/// The probability denominator from `start`: the candidates' weights in
/// neighbour-index order, then the inertia weight, summed with CPython's
/// compensated summation.
pub fn transition_denominator(
    corpus: &Corpus,
    settings: &WalkerSettings,
    profile: &Profile,
    start: usize,
) -> Result<f64, ReachError> {
    Ok(candidate_weights(corpus, settings, profile, start)?.1)
}

/// The neighbour candidates' weights in index order and the denominator.
fn candidate_weights(
    corpus: &Corpus,
    settings: &WalkerSettings,
    profile: &Profile,
    start: usize,
) -> Result<(Vec<(usize, f64)>, f64), ReachError> {
    let max_flips = profile.max_flips.min(settings.max_neighbor_distance);
    let temperature = profile.temperature;
    let own = corpus.features[start];
    let mut weights: Vec<(usize, f64)> = Vec::new();
    for (candidate, (&features, &frequency)) in
        corpus.features.iter().zip(&corpus.frequencies).enumerate()
    {
        let distance = (own ^ features).count_ones();
        if distance == 0 || distance > max_flips {
            continue;
        }
        let flip = flip_cost(own ^ features, &settings.feature_costs);
        let rarity = rarity_cost(frequency, profile.frequency_weight);
        let weight = transition_weight(flip, rarity, temperature);
        if weight.is_infinite() {
            return Err(weight_overflow(profile));
        }
        weights.push((candidate, weight));
    }
    let inertia = inertia_weight(settings.inertia_cost, temperature);
    if inertia.is_infinite() {
        return Err(weight_overflow(profile));
    }
    let mut sum = NeumaierSum::default();
    for &(_, weight) in &weights {
        sum.add(weight);
    }
    sum.add(inertia);
    let total = sum.total();
    if total == 0.0 && !weights.is_empty() {
        return Err(weights_vanish(profile));
    }
    Ok((weights, total))
}

/// The error for a transition weight that overflows to infinity.
pub(crate) fn weight_overflow(profile: &Profile) -> ReachError {
    ReachError::InvalidSettings(format!(
        "profile '{}': a transition weight exp(-cost / temperature) overflows at temperature {}",
        profile.name, profile.temperature
    ))
}

/// The error for a start whose candidate weights all underflow to zero.
pub(crate) fn weights_vanish(profile: &Profile) -> ReachError {
    ReachError::InvalidSettings(format!(
        "profile '{}': every transition weight underflows to zero at temperature {}, \
         so transition probabilities are undefined",
        profile.name, profile.temperature
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn corpus(rows: &[(u64, u16)]) -> Corpus {
        let mut corpus = Corpus::default();
        for (i, &(frequency, features)) in rows.iter().enumerate() {
            corpus.push(format!("s{i}"), frequency, features);
        }
        corpus
    }

    #[test]
    fn probabilities_by_hand() {
        // Three syllables: 0 and 1 differ in feature 0 (cost 0.2), 2 shares
        // 0's vector (not a neighbour of 0).
        let c = corpus(&[(10, 0b0), (5, 0b1), (3, 0b0)]);
        let settings = WalkerSettings::default();
        let profile = &settings.profiles[1]; // dialect: m 2, T 0.7, w 0
        let p = transition_probabilities(&c, &settings, profile, 0).unwrap();
        let w1 = (-0.2f64 / 0.7).exp();
        let inertia = (-0.5f64 / 0.7).exp();
        assert_eq!(p.len(), 1);
        assert_eq!(p[0].0, 1);
        assert!((p[0].1 - w1 / (w1 + inertia)).abs() < 1e-15);
        // From 1 both others are neighbours, in index order.
        let p = transition_probabilities(&c, &settings, profile, 1).unwrap();
        assert_eq!(p.iter().map(|x| x.0).collect::<Vec<_>>(), vec![0, 2]);
    }

    #[test]
    fn reach_fields_small_corpus() {
        let c = corpus(&[(10, 0b0), (5, 0b1), (3, 0b0)]);
        let settings = WalkerSettings {
            threshold: 0.3,
            ..WalkerSettings::default()
        };
        let dialect = compute_reach(&c, &settings, &settings.profiles[1]).unwrap();
        // From 0 and 2 (class 0b0): one candidate (1), p = 0.6052 > 0.3.
        // From 1: candidates 0 and 2, each p = 0.3775 > 0.3... computed:
        let p1 = transition_probabilities(&c, &settings, &settings.profiles[1], 1).unwrap();
        assert!(p1.iter().all(|&(_, p)| p > 0.3));
        assert_eq!(dialect.total, 3);
        assert_eq!(dialect.unique_reachable, 3);
        // counts: 1 reached from 0 and 2; 0 and 2 reached from 1.
        assert_eq!(dialect.reachable_indices, vec![(1, 2), (0, 1), (2, 1)]);
        // mean = 4 / 3 -> 1
        assert_eq!(dialect.reach, 1);
    }

    #[test]
    fn max_flips_zero_counts_nothing() {
        let c = corpus(&[(1, 0b0), (1, 0b1)]);
        let mut settings = WalkerSettings::default();
        settings.profiles[0].max_flips = 0;
        let r = compute_reach(&c, &settings, &settings.profiles[0]).unwrap();
        assert_eq!((r.reach, r.unique_reachable), (0, 0));
        assert!(r.reachable_indices.is_empty());
    }

    #[test]
    fn overflow_and_underflow_are_errors() {
        let c = corpus(&[(1, 0b0), (1, 0b1)]);
        let mut settings = WalkerSettings::default();
        // Negative feature cost: -cost / T is huge.
        settings.feature_costs[0] = -100.0;
        settings.profiles[0].temperature = 0.01;
        let e = compute_reach(&c, &settings, &settings.profiles[0]).unwrap_err();
        assert!(e.to_string().contains("overflows"), "{e}");
        let mut settings = WalkerSettings {
            inertia_cost: 100.0,
            ..WalkerSettings::default()
        };
        settings.feature_costs[0] = 100.0;
        settings.profiles[0].temperature = 0.01;
        let e = compute_reach(&c, &settings, &settings.profiles[0]).unwrap_err();
        assert!(e.to_string().contains("underflows"), "{e}");
    }

    #[test]
    fn invalid_inputs_are_rejected() {
        let c = corpus(&[(1, 0b0)]);
        let mut settings = WalkerSettings::default();
        settings.profiles[2].temperature = 0.0;
        assert!(matches!(
            compute_all_reaches(&c, &settings),
            Err(ReachError::InvalidSettings(_))
        ));
        assert_eq!(
            compute_all_reaches(&Corpus::default(), &WalkerSettings::default()),
            Err(ReachError::EmptyCorpus)
        );
        let bad = corpus(&[(1, 0x1000)]);
        assert!(matches!(
            compute_all_reaches(&bad, &WalkerSettings::default()),
            Err(ReachError::InvalidCorpus(_))
        ));
    }
}
