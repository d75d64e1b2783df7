//! The fast reach engine: the exact results of the reference
//! (`super::reference`) in time nearly linear in the corpus size.
//!
//! # Structure
//!
//! Everything in SEMANTICS §3 depends on a syllable only through its feature
//! vector (its *class*, at most 4,096) and its frequency (see `classes`). For
//! a start `s` of class `c`, the candidates are all syllables of the classes
//! within `m = min(max_flips, max_neighbor_distance)` flips of `c` (its own
//! class excluded), so the candidate list, in index order, and with it the
//! reference's denominator `D_c`, is the same for every start of `c`. The
//! probability of a candidate `j` from `s` is `w(c, j) / D_c`, where the
//! weight depends only on the XOR mask of the two classes and on `j`'s
//! frequency. So one decision per (start class, group) replaces
//! `|c| * |group|` decisions, and a group that passes from `c` is counted
//! `|c|` times for each of its members.
//!
//! # How the denominator is formed, and why the decisions equal the reference's
//!
//! The reference sums the candidate weights `exp(-(flip + rarity) / T)` in
//! index order with CPython's compensated (Neumaier) summation, then adds the
//! inertia weight last. Here a *fast* denominator is formed instead:
//! `D̃_c = Σ_{c'} E_mask · S_{c'} + inertia`, where
//! `R_v = exp(B_v - B_max)` with `B_v = -rarity(f_v) / T` per distinct
//! frequency, `S_{c'} = Σ_groups |g| · R_v` per class, and
//! `E_mask = exp(-flip(mask) / T + B_max)`. This is the same sum factorised
//! and regrouped; it differs from the reference's `D_c` only by rounding:
//! every exponent argument is off by a few ulps of its magnitude `M`, every
//! product and `exp` by one ulp, and the plain summations by at most
//! `(terms - 1)` ulps (all terms are positive). The bound
//! `ε = u · (16·M + G_max + P_max + 32)` (u = 2^-53, `G_max`/`P_max` the most
//! groups/neighbour classes of a class) covers all of it, and the same holds
//! for the approximate weight `W̃ = E_mask · R_v` of each group.
//!
//! A group's decision `w / D_c > threshold` is taken from the approximation
//! only when `W̃` clears `threshold · D̃_c` by the margin
//! `(64·ε·|threshold| + 1e-20) · D̃_c`: then the reference's rounded
//! probability lies on the same side (the absolute `1e-20` absorbs subnormal
//! weights). The few groups inside the margin are decided exactly: the
//! class's denominator is recomputed in the reference's order (a pass over
//! the syllables in index order adding each candidate's exact weight with the
//! same compensated sum, then the inertia weight), each such group's weight is
//! computed with the reference's exact formula (`numeric`), and the division
//! and comparison are the reference's. Since members of a group have
//! bit-identical weights, their decisions are identical, so the counts per
//! syllable, their sum (hence `reach`), `unique_reachable` and
//! `reachable_indices` all equal the reference's.
//!
//! Within a neighbour class, groups are in frequency-descending order and the
//! approximate weight is monotone in frequency (non-increasing for `w >= 0`,
//! non-decreasing for `w < 0`, constant for `w = 0`), so the passing groups
//! and the groups within the margin are found by binary search: a prefix
//! (`w > 0`) or suffix (`w < 0`) passes. Should rounding make the sequence
//! wiggle by an ulp, a misplaced split can only move a group whose weight is
//! within that ulp of a band edge, which is still far (the margin) from the
//! threshold, or into the band, where it is decided exactly anyway.
//!
//! Whenever the factorisation could lose accuracy (exponent spread > 600, so
//! `R_v` could underflow; a denominator outside `[1e-280, 1e280]`; non-finite
//! intermediates) the class, or the whole profile, takes the exact path for
//! every decision instead; that is slower but equally exact. It is also where
//! a weight overflow or a vanishing denominator is reported as the error the
//! Python tool would raise: with `D̃_c <= 1e280` no exact weight of the class
//! can overflow, and with `D̃_c >= 1e-280` the denominator cannot vanish.
//!
//! # Cost
//!
//! `Walker::new`: O(N) counting sorts (plus one parallel sort when the corpus
//! is not in frequency-descending load order) and O(classes · masks) for the
//! neighbour classes. Per profile: O(distinct frequencies) `ln`/`exp`,
//! O(groups) for the class sums, O(class pairs · log groups) for the
//! decisions, O(N) per class decided exactly (rare), O(N) for the output (see
//! `output`). Profiles run in parallel and each class in parallel (rayon), so
//! both cores are used.

use std::time::Instant;

use rayon::prelude::*;

use super::classes::ClassIndex;
use super::numeric::{
    NeumaierSum, flip_cost, inertia_weight, mean_rounded, rarity_cost, round_ms, transition_weight,
};
use super::reference::{weight_overflow, weights_vanish};
use super::{
    FEATURE_VECTOR_COUNT, Profile, ProfileReach, ReachError, WalkerSettings, validate_corpus,
};
use crate::domain::corpus::Corpus;

/// Largest spread of the rarity exponents `-rarity / T` for which the
/// factorised weights `exp(B_v - B_max)` stay normal (`e^-600 ≈ 1e-261`).
const MAX_EXPONENT_SPREAD: f64 = 600.0;
/// Largest exponent magnitude for which the error bound stays far below the
/// decision margin.
const MAX_EXPONENT_MAGNITUDE: f64 = 1e6;
/// Range of fast denominators for which relative error bounds apply (no
/// overflow, subnormal terms negligible).
const MIN_FAST_DENOMINATOR: f64 = 1e-280;
const MAX_FAST_DENOMINATOR: f64 = 1e280;
/// Absolute probability slack of the margin: covers subnormal weights and
/// probabilities, whose error is absolute, not relative.
const ABSOLUTE_PROBABILITY_SLACK: f64 = 1e-20;
/// Safety factor between the error bound and the decision margin.
const MARGIN_FACTOR: f64 = 64.0;

/// A corpus prepared for walking: the class structure built once (the
/// "Building neighbour graph" step of a load), reused by every profile.
#[derive(Debug)]
pub struct Walker {
    corpus: Corpus,
    settings: WalkerSettings,
    index: ClassIndex,
    /// `flip_cost` of every XOR mask, evaluated as the reference does.
    flip_costs: Vec<f64>,
    force_exact: bool,
}

/// How one profile's decisions were taken (for tests and diagnostics).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ProfileStats {
    pub profile_name: String,
    /// Occupied feature classes of the corpus.
    pub classes: usize,
    /// (start class, neighbour class) pairs within `max_flips`.
    pub class_pairs: usize,
    /// (start class, group) decisions that fell within the rounding margin
    /// and were decided with the reference's exact denominator.
    pub near_threshold_decisions: usize,
    /// Start classes whose denominator was recomputed in reference order.
    pub exact_classes: usize,
}

impl Walker {
    /// Validates corpus and settings and builds the class structure.
    pub fn new(corpus: Corpus, settings: WalkerSettings) -> Result<Self, ReachError> {
        validate_corpus(&corpus)?;
        settings.validate()?;
        let index = ClassIndex::build(&corpus, settings.max_neighbor_distance);
        let flip_costs = (0..FEATURE_VECTOR_COUNT)
            .map(|mask| flip_cost(mask as u16, &settings.feature_costs))
            .collect();
        Ok(Self {
            corpus,
            settings,
            index,
            flip_costs,
            force_exact: false,
        })
    }

    pub fn corpus(&self) -> &Corpus {
        &self.corpus
    }

    pub fn settings(&self) -> &WalkerSettings {
        &self.settings
    }

    /// Number of occupied feature vectors.
    pub fn class_count(&self) -> usize {
        self.index.class_count()
    }

    /// Forces every start class's denominator to be formed in reference
    /// order and every decision to be taken exactly (slow: O(classes · N)).
    /// A verification aid: the results must not change.
    pub fn force_exact_denominators(mut self, on: bool) -> Self {
        self.force_exact = on;
        self
    }

    /// All profiles' reaches, in profile order.
    pub fn compute_all_reaches(&self) -> Result<Vec<ProfileReach>, ReachError> {
        Ok(self.compute_all_reaches_with_stats()?.0)
    }

    /// All profiles' reaches with how their decisions were taken, in profile
    /// order. Profiles are computed in parallel; each `computation_ms` is the
    /// wall time of that profile's own computation.
    pub fn compute_all_reaches_with_stats(
        &self,
    ) -> Result<(Vec<ProfileReach>, Vec<ProfileStats>), ReachError> {
        let results: Vec<Result<(ProfileReach, ProfileStats), ReachError>> = self
            .settings
            .profiles
            .par_iter()
            .map(|profile| self.compute_profile(profile))
            .collect();
        // The first failing profile in profile order, as a sequential run
        // would report it.
        let mut reaches = Vec::with_capacity(results.len());
        let mut stats = Vec::with_capacity(results.len());
        for result in results {
            let (reach, stat) = result?;
            reaches.push(reach);
            stats.push(stat);
        }
        Ok((reaches, stats))
    }

    /// One profile's reach and statistics.
    pub fn compute_profile(
        &self,
        profile: &Profile,
    ) -> Result<(ProfileReach, ProfileStats), ReachError> {
        let started = Instant::now();
        let plan = ProfilePlan::new(self, profile)?;
        let outcomes: Vec<Result<ClassOutcome, ReachError>> = (0..self.index.class_count())
            .into_par_iter()
            .map(|class| plan.decide_class(class))
            .collect();

        let index = &self.index;
        let mut diff = vec![0u32; index.group_count() + 1];
        let mut count_sum = 0u64;
        let mut stats = ProfileStats {
            profile_name: profile.name.clone(),
            classes: index.class_count(),
            ..ProfileStats::default()
        };
        for (class, outcome) in outcomes.into_iter().enumerate() {
            let outcome = outcome?;
            let size = index.class_sizes[class];
            // Wrapping arithmetic: the prefix sums below are the true counts
            // (each at most N), whatever the intermediate values.
            for &(first, end) in &outcome.ranges {
                diff[first as usize] = diff[first as usize].wrapping_add(size);
                diff[end as usize] = diff[end as usize].wrapping_sub(size);
            }
            count_sum += u64::from(size) * outcome.passing_per_start;
            stats.class_pairs += outcome.pairs;
            stats.near_threshold_decisions += outcome.near_threshold;
            stats.exact_classes += usize::from(outcome.exact);
        }
        let mut running = 0u32;
        let group_counts: Vec<u32> = diff[..index.group_count()]
            .iter()
            .map(|&d| {
                running = running.wrapping_add(d);
                running
            })
            .collect();
        drop(diff);
        let unique_reachable: u32 = group_counts
            .iter()
            .zip(&index.group_sizes)
            .filter(|&(&count, _)| count > 0)
            .map(|(_, &size)| size)
            .sum();
        let reachable_indices =
            super::output::reachable_indices(&index.group_of, &group_counts, &index.group_sizes);
        debug_assert_eq!(reachable_indices.len(), unique_reachable as usize);

        let n = self.corpus.len();
        let reach = ProfileReach {
            profile_name: profile.name.clone(),
            reach: mean_rounded(count_sum, n),
            total: n as u32,
            unique_reachable,
            threshold: self.settings.threshold,
            max_flips: profile.max_flips,
            temperature: profile.temperature,
            frequency_weight: profile.frequency_weight,
            computation_ms: round_ms(started.elapsed().as_secs_f64() * 1000.0),
            reachable_indices,
        };
        Ok((reach, stats))
    }
}

/// What one start class contributes.
#[derive(Debug, Default)]
struct ClassOutcome {
    /// Candidates counted from each start of the class.
    passing_per_start: u64,
    /// Group ranges `[first, end)` counted from every start of the class.
    ranges: Vec<(u32, u32)>,
    pairs: usize,
    near_threshold: usize,
    exact: bool,
}

impl ClassOutcome {
    /// Records that groups `first..end` pass.
    fn pass(&mut self, index: &ClassIndex, first: usize, end: usize) {
        if first >= end {
            return;
        }
        self.passing_per_start += index.group_sizes[first..end]
            .iter()
            .map(|&s| u64::from(s))
            .sum::<u64>();
        match self.ranges.last_mut() {
            Some(last) if last.1 as usize == first => last.1 = end as u32,
            _ => self.ranges.push((first as u32, end as u32)),
        }
    }
}

/// The factorised weights of a profile (see the module documentation).
struct FastWeights {
    /// `R_v = exp(B_v - B_max)` per distinct frequency.
    scaled: Vec<f64>,
    /// `E_mask = exp(-flip(mask) / T + B_max)` for masks within `max_flips`.
    mask_scale: Vec<f64>,
    /// `S_c = Σ |g| · R_v` per class.
    class_sums: Vec<f64>,
    /// Relative decision margin, `64 · ε`.
    margin: f64,
}

/// Everything one profile's per-class decisions share.
struct ProfilePlan<'a> {
    walker: &'a Walker,
    profile: &'a Profile,
    max_flips: u32,
    threshold: f64,
    /// The inertia candidate's exact weight.
    inertia: f64,
    /// Exact `rarity_cost` per distinct frequency.
    rarity: Vec<f64>,
    /// `None`: every class takes the exact path.
    fast: Option<FastWeights>,
}

impl<'a> ProfilePlan<'a> {
    fn new(walker: &'a Walker, profile: &'a Profile) -> Result<Self, ReachError> {
        let settings = &walker.settings;
        let index = &walker.index;
        let temperature = profile.temperature;
        let max_flips = profile.max_flips.min(settings.max_neighbor_distance);
        let inertia = inertia_weight(settings.inertia_cost, temperature);
        if inertia.is_infinite() {
            // Computed for every start: the Python tool raises.
            return Err(weight_overflow(profile));
        }
        let rarity: Vec<f64> = index
            .frequency_values
            .par_iter()
            .map(|&f| rarity_cost(f, profile.frequency_weight))
            .collect();
        let mut plan = Self {
            walker,
            profile,
            max_flips,
            threshold: settings.threshold,
            inertia,
            rarity,
            fast: None,
        };
        if !walker.force_exact {
            plan.fast = plan.fast_weights();
        }
        Ok(plan)
    }

    /// The factorised weights, or `None` when their error bound would not
    /// hold for these settings.
    fn fast_weights(&self) -> Option<FastWeights> {
        let index = &self.walker.index;
        let temperature = self.profile.temperature;
        let exponents: Vec<f64> = self.rarity.iter().map(|r| -r / temperature).collect();
        let b_max = exponents.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let b_min = exponents.iter().copied().fold(f64::INFINITY, f64::min);
        if !(b_max.is_finite() && b_min.is_finite()) || b_max - b_min > MAX_EXPONENT_SPREAD {
            return None;
        }
        let mut magnitude = b_max.abs().max(b_min.abs());
        let mut mask_scale = vec![0.0; FEATURE_VECTOR_COUNT];
        for (mask, scale) in mask_scale.iter_mut().enumerate() {
            if mask == 0 || (mask as u16).count_ones() > self.max_flips {
                continue;
            }
            let a = -self.walker.flip_costs[mask] / temperature;
            magnitude = magnitude.max(a.abs()).max((a + b_max).abs());
            *scale = (a + b_max).exp();
        }
        if !magnitude.is_finite() || magnitude > MAX_EXPONENT_MAGNITUDE {
            return None;
        }
        let scaled: Vec<f64> = exponents.iter().map(|b| (b - b_max).exp()).collect();
        let class_sums: Vec<f64> = (0..index.class_count())
            .into_par_iter()
            .map(|class| {
                index
                    .groups(class)
                    .map(|g| {
                        f64::from(index.group_sizes[g]) * scaled[index.group_value[g] as usize]
                    })
                    .sum()
            })
            .collect();
        let most_groups = (0..index.class_count())
            .map(|c| index.groups(c).len())
            .max()
            .unwrap_or(0);
        let most_neighbours = index
            .neighbour_start
            .windows(2)
            .map(|w| (w[1] - w[0]) as usize)
            .max()
            .unwrap_or(0);
        let epsilon = f64::EPSILON / 2.0
            * (16.0 * magnitude + most_groups as f64 + most_neighbours as f64 + 32.0);
        Some(FastWeights {
            scaled,
            mask_scale,
            class_sums,
            margin: MARGIN_FACTOR * epsilon,
        })
    }

    /// Decides every group for the starts of `class`.
    fn decide_class(&self, class: usize) -> Result<ClassOutcome, ReachError> {
        let index = &self.walker.index;
        let neighbours = index.neighbours_within(class, self.max_flips);
        let mut outcome = ClassOutcome {
            pairs: neighbours.len(),
            ..ClassOutcome::default()
        };
        if neighbours.is_empty() {
            // Only the inertia candidate: nothing to count, nothing divided.
            return Ok(outcome);
        }
        let Some(fast) = &self.fast else {
            return self.decide_class_exactly(class, outcome);
        };
        let denominator = self.fast_denominator(fast, class);
        if !(MIN_FAST_DENOMINATOR..=MAX_FAST_DENOMINATOR).contains(&denominator) {
            return self.decide_class_exactly(class, outcome);
        }
        let slack = (fast.margin * self.threshold.abs() + ABSOLUTE_PROBABILITY_SLACK) * denominator;
        let target = self.threshold * denominator;
        let (low, high) = (target - slack, target + slack);
        if !(low.is_finite() && high.is_finite()) {
            return self.decide_class_exactly(class, outcome);
        }

        let increasing = self.profile.frequency_weight < 0.0;
        let mut uncertain: Vec<(usize, u16)> = Vec::new();
        for nb in neighbours {
            let groups = index.groups(nb.class as usize);
            let first = groups.start;
            let values = &index.group_value[groups];
            let scale = fast.mask_scale[usize::from(nb.mask)];
            let weight = |v: &u32| scale * fast.scaled[*v as usize];
            if increasing {
                // Weights non-decreasing along the groups: fail, near, pass.
                let near_start = values.partition_point(|v| weight(v) < low);
                let pass_start = values.partition_point(|v| weight(v) <= high);
                uncertain.extend((first + near_start..first + pass_start).map(|g| (g, nb.mask)));
                outcome.pass(index, first + pass_start, first + values.len());
            } else {
                // Weights non-increasing along the groups: pass, near, fail.
                let near_start = values.partition_point(|v| weight(v) > high);
                let fail_start = values.partition_point(|v| weight(v) >= low);
                outcome.pass(index, first, first + near_start);
                uncertain.extend((first + near_start..first + fail_start).map(|g| (g, nb.mask)));
            }
        }
        if uncertain.is_empty() {
            return Ok(outcome);
        }

        // Decisions within rounding noise of the threshold: the reference's
        // denominator, exact weights, the reference's division.
        let weights = self.exact_weights(class)?;
        let denominator = self.reference_denominator(&weights)?;
        outcome.exact = true;
        outcome.near_threshold = uncertain.len();
        for (group, _) in uncertain {
            if weights[group] / denominator > self.threshold {
                outcome.pass(index, group, group + 1);
            }
        }
        // `pass` coalesces adjacent ranges only in call order; the counts
        // need no particular order.
        Ok(outcome)
    }

    /// The factorised denominator `D̃_c = Σ E_mask · S_c' + inertia`.
    fn fast_denominator(&self, fast: &FastWeights, class: usize) -> f64 {
        self.walker
            .index
            .neighbours_within(class, self.max_flips)
            .iter()
            .map(|nb| fast.mask_scale[usize::from(nb.mask)] * fast.class_sums[nb.class as usize])
            .sum::<f64>()
            + self.inertia
    }

    /// Every decision of `class` from exact weights and the reference-order
    /// denominator.
    fn decide_class_exactly(
        &self,
        class: usize,
        mut outcome: ClassOutcome,
    ) -> Result<ClassOutcome, ReachError> {
        let index = &self.walker.index;
        let weights = self.exact_weights(class)?;
        let denominator = self.reference_denominator(&weights)?;
        outcome.exact = true;
        for nb in index.neighbours_within(class, self.max_flips) {
            for group in index.groups(nb.class as usize) {
                outcome.near_threshold += 1;
                if weights[group] / denominator > self.threshold {
                    outcome.pass(index, group, group + 1);
                }
            }
        }
        Ok(outcome)
    }

    /// The exact weight of every candidate group of `class` (the reference's
    /// formula); 0.0 for groups that are not candidates.
    fn exact_weights(&self, class: usize) -> Result<Vec<f64>, ReachError> {
        let index = &self.walker.index;
        let mut weights = vec![0.0; index.group_count()];
        for nb in index.neighbours_within(class, self.max_flips) {
            let flip = self.walker.flip_costs[usize::from(nb.mask)];
            for group in index.groups(nb.class as usize) {
                let rarity = self.rarity[index.group_value[group] as usize];
                let weight = transition_weight(flip, rarity, self.profile.temperature);
                if weight.is_infinite() {
                    return Err(weight_overflow(self.profile));
                }
                weights[group] = weight;
            }
        }
        Ok(weights)
    }

    /// The reference's denominator for the starts of one class, given that
    /// class's `exact_weights`: the candidate
    /// weights in syllable-index order, summed with CPython's compensated
    /// summation, then the inertia weight.
    ///
    /// Non-candidates (own class, too many flips) have weight 0.0 in
    /// `weights`, and adding +0.0 leaves a compensated sum's result unchanged,
    /// so one branch-free pass over all syllables forms exactly the
    /// reference's sum.
    fn reference_denominator(&self, weights: &[f64]) -> Result<f64, ReachError> {
        let mut sum = NeumaierSum::default();
        for &group in &self.walker.index.group_of {
            sum.add(weights[group as usize]);
        }
        sum.add(self.inertia);
        let total = sum.total();
        // Only called for classes with at least one candidate: the Python
        // tool would divide by zero.
        if total == 0.0 {
            return Err(weights_vanish(self.profile));
        }
        Ok(total)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::reach::reference;

    fn corpus(rows: &[(u64, u16)]) -> Corpus {
        let mut corpus = Corpus::default();
        for (i, &(frequency, features)) in rows.iter().enumerate() {
            corpus.push(format!("s{i}"), frequency, features);
        }
        corpus
    }

    #[test]
    fn empty_corpus_is_an_error() {
        assert_eq!(
            Walker::new(Corpus::default(), WalkerSettings::default()).unwrap_err(),
            ReachError::EmptyCorpus
        );
    }

    #[test]
    fn invalid_settings_are_errors() {
        let c = corpus(&[(1, 0)]);
        let mut s = WalkerSettings::default();
        s.profiles[0].temperature = -1.0;
        assert!(
            matches!(Walker::new(c.clone(), s), Err(ReachError::InvalidSettings(m)) if m.contains("temperature"))
        );
        let s = WalkerSettings {
            threshold: f64::NAN,
            ..WalkerSettings::default()
        };
        assert!(
            matches!(Walker::new(c.clone(), s), Err(ReachError::InvalidSettings(m)) if m.contains("threshold"))
        );
        let s = WalkerSettings {
            max_neighbor_distance: 13,
            ..WalkerSettings::default()
        };
        assert!(Walker::new(c.clone(), s).is_err());
        let mut s = WalkerSettings::default();
        s.feature_costs[3] = f64::INFINITY;
        assert!(Walker::new(c, s).is_err());
    }

    #[test]
    fn small_corpus_equals_reference_both_paths() {
        let c = corpus(&[
            (10, 0b000),
            (5, 0b001),
            (5, 0b011),
            (3, 0b000),
            (0, 0b111),
            (5, 0b001),
            (1, 0b100),
        ]);
        let settings = WalkerSettings {
            threshold: 0.05,
            ..WalkerSettings::default()
        };
        let expected = reference::compute_all_reaches(&c, &settings).unwrap();
        for force in [false, true] {
            let walker = Walker::new(c.clone(), settings.clone())
                .unwrap()
                .force_exact_denominators(force);
            let got = walker.compute_all_reaches().unwrap();
            for (g, e) in got.iter().zip(&expected) {
                assert_eq!(g.reach, e.reach);
                assert_eq!(g.unique_reachable, e.unique_reachable);
                assert_eq!(g.reachable_indices, e.reachable_indices);
            }
        }
    }

    /// The exact path forms the reference's denominator bit for bit, and the
    /// factorised one stays within the error bound its margin is built on.
    #[test]
    fn denominators_exact_and_within_bound() {
        let corpus = crate::domain::reach::synthetic::synthetic_corpus(3_000, 11);
        let mut settings = WalkerSettings::default();
        // The default profiles plus the extremes of the UI's ranges.
        for (max_flips, temperature, frequency_weight) in
            [(3, 0.1, 2.0), (3, 0.1, -2.0), (1, 5.0, 0.0), (2, 0.1, 0.0)]
        {
            settings.profiles.push(Profile {
                name: format!("extreme-{temperature}-{frequency_weight}"),
                max_flips,
                temperature,
                frequency_weight,
            });
        }
        let walker = Walker::new(corpus.clone(), settings.clone()).unwrap();
        let mut checked = 0;
        for profile in &settings.profiles {
            let plan = ProfilePlan::new(&walker, profile).unwrap();
            let fast = plan.fast.as_ref().unwrap();
            for class in 0..walker.index.class_count() {
                let vector = walker.index.vectors[class];
                let Some(start) = corpus.features.iter().rposition(|&f| f == vector) else {
                    continue;
                };
                let expected =
                    reference::transition_denominator(&corpus, &settings, profile, start).unwrap();
                let weights = plan.exact_weights(class).unwrap();
                let exact = plan.reference_denominator(&weights).unwrap();
                assert_eq!(exact.to_bits(), expected.to_bits(), "class {class}");
                let approx = plan.fast_denominator(fast, class);
                let relative = ((approx - expected) / expected).abs();
                assert!(
                    relative <= fast.margin / MARGIN_FACTOR,
                    "relative error {relative:e} above bound {:e}",
                    fast.margin / MARGIN_FACTOR
                );
                checked += 1;
            }
        }
        assert!(checked > 1000, "{checked}");
    }

    #[test]
    fn overflow_is_reported_like_the_reference() {
        let c = corpus(&[(1, 0b0), (1, 0b1)]);
        let mut settings = WalkerSettings::default();
        settings.feature_costs[0] = -100.0;
        settings.profiles[0].temperature = 0.01;
        let expected = reference::compute_all_reaches(&c, &settings).unwrap_err();
        let walker = Walker::new(c, settings).unwrap();
        assert_eq!(walker.compute_all_reaches().unwrap_err(), expected);
    }
}
