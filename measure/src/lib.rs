//! What every measurement of the workspace shares, defined once: the percentile (nearest rank).
//!
//! The experiments' report and statistics, the tuner, the load test and the benches all quote
//! p50/p95/p99 figures; before this crate each had its own function, with three definitions
//! (nearest rank, linear interpolation between ranks, and `values[n * 99 / 100]`), so the same
//! samples could give different "p99"s. This crate has no dependencies, so a Lambda binary can use
//! it at no cost.

use std::cmp::Ordering;
use std::time::Duration;

/// A value with a total order, so that a percentile is defined for any input (`f64` by
/// [`f64::total_cmp`]: a NaN sorts after every number instead of breaking the sort).
pub trait Ranked: Copy {
    fn order(&self, other: &Self) -> Ordering;
}

impl Ranked for f64 {
    fn order(&self, other: &Self) -> Ordering {
        self.total_cmp(other)
    }
}

macro_rules! ranked_by_ord {
    ($($t:ty),*) => {$(
        impl Ranked for $t {
            fn order(&self, other: &Self) -> Ordering {
                self.cmp(other)
            }
        }
    )*};
}
ranked_by_ord!(u32, u64, u128, usize, Duration);

/// The index in `count` sorted values of the `q`-quantile (`0..=1`) by nearest rank: the smallest
/// value with at least a share `q` of the values at or below it (`ceil(q * count)`-th, at least the
/// first); `None` for no values.
pub fn rank(count: usize, q: f64) -> Option<usize> {
    if count == 0 {
        return None;
    }
    let rank = (q.clamp(0.0, 1.0) * count as f64).ceil() as usize;
    Some(rank.clamp(1, count) - 1)
}

/// The `q`-quantile (`0..=1`) of values already sorted ascending, by nearest rank ([`rank`]).
pub fn percentile_of_sorted<T: Copy>(sorted: &[T], q: f64) -> Option<T> {
    rank(sorted.len(), q).map(|i| sorted[i])
}

/// The `q`-quantile (`0..=1`) of `values` by nearest rank, reordering them (a selection, not a
/// full sort); `None` for no values.
pub fn percentile<T: Ranked>(values: &mut [T], q: f64) -> Option<T> {
    let i = rank(values.len(), q)?;
    let (_, value, _) = values.select_nth_unstable_by(i, T::order);
    Some(*value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_matches_the_textbook_examples() {
        // The nearest-rank examples of the usual definition: 5 values 15, 20, 35, 40, 50.
        let mut values = [50.0, 15.0, 40.0, 20.0, 35.0];
        assert_eq!(percentile(&mut values, 0.05), Some(15.0));
        assert_eq!(percentile(&mut values, 0.30), Some(20.0));
        assert_eq!(percentile(&mut values, 0.40), Some(20.0));
        assert_eq!(percentile(&mut values, 0.50), Some(35.0));
        assert_eq!(percentile(&mut values, 1.00), Some(50.0));
        assert_eq!(percentile(&mut values, 0.0), Some(15.0));
        let sorted: Vec<u64> = (1..=100).collect();
        assert_eq!(percentile_of_sorted(&sorted, 0.99), Some(99));
        assert_eq!(percentile_of_sorted(&sorted, 0.5), Some(50));
        assert_eq!(percentile_of_sorted::<u64>(&[], 0.5), None);
    }

    #[test]
    fn a_nan_sorts_last_instead_of_breaking_the_order() {
        let mut values = [3.0, f64::NAN, 1.0, 2.0];
        assert_eq!(percentile(&mut values, 0.5), Some(2.0));
        assert!(percentile(&mut values, 1.0).unwrap().is_nan());
    }

    #[test]
    fn durations_and_integers_rank_alike() {
        let mut durations = [3, 1, 2].map(Duration::from_millis);
        assert_eq!(
            percentile(&mut durations, 0.99),
            Some(Duration::from_millis(3))
        );
        let mut counts = [3u64, 1, 2];
        assert_eq!(percentile(&mut counts, 0.5), Some(2));
    }
}
