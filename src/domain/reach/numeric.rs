//! The arithmetic of SEMANTICS §3, written once so that the reference and the
//! fast engine evaluate bit-identical costs, weights and sums.
//!
//! Every function here reproduces the exact operation sequence of the Python
//! tool: IEEE-754 doubles give the same bits for the same sequence of basic
//! operations, and `ln`/`exp` resolve to the platform libm, as Python's
//! `math.log`/`math.exp` do. An algebraically equal rewrite (for example
//! `-w * ln(f + 1e-6)`) would change last bits and, for a probability sitting
//! on the threshold, the decision.

use crate::domain::corpus::FEATURE_COUNT;

/// `flip_cost` for the features set in `mask` (the XOR of two feature
/// vectors): the feature costs added in feature order, starting from 0.0.
pub(crate) fn flip_cost(mask: u16, feature_costs: &[f64; FEATURE_COUNT]) -> f64 {
    let mut cost = 0.0;
    for (bit, feature_cost) in feature_costs.iter().enumerate() {
        if mask & (1 << bit) != 0 {
            cost += feature_cost;
        }
    }
    cost
}

/// `rarity_cost(j, w) = w * ln(1 / (frequency_j + 1e-6))`, in that order.
///
/// The Python tool holds frequencies as `uint32`; a frequency converts to
/// `f64` exactly up to 2^53, far above any real count.
pub(crate) fn rarity_cost(frequency: u64, frequency_weight: f64) -> f64 {
    frequency_weight * (1.0 / (frequency as f64 + 1e-6)).ln()
}

/// The transition weight of a neighbour: `cost = flip; cost += rarity;
/// exp(-cost / T)`.
pub(crate) fn transition_weight(flip: f64, rarity: f64, temperature: f64) -> f64 {
    let mut cost = flip;
    cost += rarity;
    (-cost / temperature).exp()
}

/// The weight of the inertia candidate (staying put): `exp(-inertia / T)`.
pub(crate) fn inertia_weight(inertia_cost: f64, temperature: f64) -> f64 {
    (-inertia_cost / temperature).exp()
}

/// Compensated (Neumaier) summation exactly as CPython 3.12+ `sum()` performs
/// it on floats: the reference's probability denominator.
///
/// Starting from 0.0 is equivalent to CPython starting from the first item
/// (0.0 + x is x, with zero compensation). The compensation is added at the
/// end only when it is non-zero and finite, so an overflowed sum stays
/// infinite instead of becoming NaN.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct NeumaierSum {
    sum: f64,
    compensation: f64,
}

impl NeumaierSum {
    pub(crate) fn add(&mut self, x: f64) {
        let t = self.sum + x;
        if self.sum.abs() >= x.abs() {
            self.compensation += (self.sum - t) + x;
        } else {
            self.compensation += (x - t) + self.sum;
        }
        self.sum = t;
    }

    pub(crate) fn total(&self) -> f64 {
        if self.compensation != 0.0 && self.compensation.is_finite() {
            self.sum + self.compensation
        } else {
            self.sum
        }
    }
}

/// `round(sum / n)` with Python semantics: the true division of two integers
/// (correctly rounded; both convert to `f64` exactly below 2^53), then round
/// half to even.
pub(crate) fn mean_rounded(count_sum: u64, n: usize) -> u32 {
    let mean = count_sum as f64 / n as f64;
    // The mean of per-start counts is at most n - 1 < 2^32.
    mean.round_ties_even() as u32
}

/// `round(ms, 2)` with Python semantics: the decimal rounding of the exact
/// binary value, half to even, which is what formatting with two decimals
/// computes.
pub(crate) fn round_ms(ms: f64) -> f64 {
    format!("{ms:.2}").parse().unwrap_or(ms)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn neumaier_matches_cpython_sum() {
        // CPython 3.12: sum([0.1] * 10) == 1.0, while a naive loop gives
        // 0.9999999999999999.
        let mut s = NeumaierSum::default();
        let mut naive = 0.0;
        for _ in 0..10 {
            s.add(0.1);
            naive += 0.1;
        }
        assert_eq!(s.total(), 1.0);
        assert_ne!(naive, 1.0);
        // sum([1e100, 1.0, -1e100, 1.0]) == 2.0 in CPython 3.12.
        let mut s = NeumaierSum::default();
        for x in [1e100, 1.0, -1e100, 1.0] {
            s.add(x);
        }
        assert_eq!(s.total(), 2.0);
    }

    #[test]
    fn neumaier_overflow_stays_infinite() {
        let mut s = NeumaierSum::default();
        for x in [f64::MAX, f64::MAX, 1.0] {
            s.add(x);
        }
        assert_eq!(s.total(), f64::INFINITY);
    }

    #[test]
    fn flip_cost_adds_in_feature_order() {
        let costs = [0.2, 1.5, 2.0, 0.7, 0.7, 0.3, 0.3, 0.2, 0.2, 0.3, 0.4, 0.6];
        assert_eq!(flip_cost(0, &costs), 0.0);
        assert_eq!(flip_cost(0b1, &costs), 0.2);
        // ((0.0 + 0.2) + 0.7) + 0.3 in this order.
        let mask = 0b1 | 0b1000 | 0b10_0000;
        assert_eq!(flip_cost(mask, &costs), ((0.0 + 0.2) + 0.7) + 0.3);
        assert_eq!(
            flip_cost(0xfff, &costs),
            costs.iter().fold(0.0, |a, c| a + c)
        );
    }

    #[test]
    fn rarity_is_the_literal_formula() {
        assert_eq!(rarity_cost(0, 1.0), (1.0f64 / 1e-6).ln());
        assert_eq!(rarity_cost(7, -0.5), -0.5 * (1.0 / (7.0 + 1e-6f64)).ln());
        // w = 0 gives a signed zero, which adds to a flip cost without effect.
        assert_eq!(rarity_cost(5, 0.0), 0.0);
        assert_eq!(0.7 + rarity_cost(5, 0.0), 0.7);
        assert_eq!(0.7 + rarity_cost(0, 0.0), 0.7);
    }

    #[test]
    fn mean_rounds_half_to_even() {
        assert_eq!(mean_rounded(5, 2), 2);
        assert_eq!(mean_rounded(7, 2), 4);
        assert_eq!(mean_rounded(10986, 601), 18);
        assert_eq!(mean_rounded(0, 3), 0);
    }

    #[test]
    fn ms_rounds_to_two_decimals() {
        assert_eq!(round_ms(1011.3449), 1011.34);
        assert_eq!(round_ms(0.125), 0.12);
        assert_eq!(round_ms(2.0), 2.0);
    }
}
