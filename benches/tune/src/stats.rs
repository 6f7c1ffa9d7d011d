//! Statistics over one memory size's samples: which ones to keep and what to report.
//!
//! Outliers are dropped with Tukey's fences on duration: a sample outside
//! `[Q1 − 1.5·IQR, Q3 + 1.5·IQR]` is dropped, but never more than half of them — if the fences
//! would leave fewer than ⌈n/2⌉, the ⌈n/2⌉ samples nearest the median are kept instead.

use measure::percentile_of_sorted;

/// The indices of the values to keep (ascending), per the rule in the module docs. With finite values
/// at least ⌈n/2⌉ always fall inside the fences; the nearest-half rule guards the rest.
pub fn kept_indices(values: &[f64]) -> Vec<usize> {
    let mut sorted: Vec<f64> = values.iter().copied().filter(|v| v.is_finite()).collect();
    sorted.sort_by(f64::total_cmp);
    let (Some(q1), Some(median), Some(q3)) = (
        percentile_of_sorted(&sorted, 0.25),
        percentile_of_sorted(&sorted, 0.5),
        percentile_of_sorted(&sorted, 0.75),
    ) else {
        return Vec::new();
    };
    let iqr = q3 - q1;
    let (low, high) = (q1 - 1.5 * iqr, q3 + 1.5 * iqr);
    let within: Vec<usize> = (0..values.len())
        .filter(|&i| (low..=high).contains(&values[i]))
        .collect();
    let at_least = values.len().div_ceil(2);
    if within.len() >= at_least {
        return within;
    }
    let mut nearest: Vec<usize> = (0..values.len()).collect();
    nearest.sort_by(|&a, &b| {
        let distance = |i: usize| {
            let d = (values[i] - median).abs();
            if d.is_nan() { f64::INFINITY } else { d }
        };
        distance(a).total_cmp(&distance(b)).then(a.cmp(&b))
    });
    nearest.truncate(at_least);
    nearest.sort_unstable();
    nearest
}

/// Mean, median and range of some values.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Summary {
    pub count: usize,
    pub mean: f64,
    /// Half the width of the mean's 95 % confidence interval ([`ci95_half_width`]); `None` under
    /// two values.
    pub mean_margin: Option<f64>,
    pub median: f64,
    pub min: f64,
    pub max: f64,
}

impl Summary {
    pub fn of(values: &[f64]) -> Option<Self> {
        let mut sorted = values.to_vec();
        sorted.sort_by(f64::total_cmp);
        let median = percentile_of_sorted(&sorted, 0.5)?;
        Some(Self {
            count: sorted.len(),
            mean: sorted.iter().sum::<f64>() / sorted.len() as f64,
            mean_margin: ci95_half_width(&sorted),
            median,
            min: sorted[0],
            max: sorted[sorted.len() - 1],
        })
    }
}

/// Whether two positive figures agree: the larger within `tolerance` (0.05 = 5 %) of the smaller.
/// The peer bench's warm-up rule: two consecutive windows' CPU per pair.
pub fn agree(a: f64, b: f64, tolerance: f64) -> bool {
    let (low, high) = (a.min(b), a.max(b));
    low > 0.0 && high - low <= tolerance * low
}

/// Student's t two-sided 95 % quantiles for 1 to 30 degrees of freedom, then 40, 60, 120, ∞
/// (a larger df takes the next listed one below it, which is slightly wider: conservative).
const T_95: [f64; 30] = [
    12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.160,
    2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064, 2.060, 2.056,
    2.052, 2.048, 2.045, 2.042,
];

fn t_95(df: usize) -> f64 {
    match df {
        0 => f64::INFINITY,
        1..=30 => T_95[df - 1],
        31..=39 => 2.042,
        40..=59 => 2.021,
        60..=119 => 2.000,
        120..=999 => 1.980,
        _ => 1.960,
    }
}

/// Half the width of the 95 % confidence interval of the mean (Student's t, sample standard
/// deviation); `None` under two values.
pub fn ci95_half_width(values: &[f64]) -> Option<f64> {
    let n = values.len();
    if n < 2 {
        return None;
    }
    let mean = values.iter().sum::<f64>() / n as f64;
    let variance = values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1) as f64;
    Some(t_95(n - 1) * variance.sqrt() / (n as f64).sqrt())
}

/// Whether the 95 % interval of the mean is within `relative` (0.05 = 5 %) of the mean.
pub fn precise_enough(values: &[f64], relative: f64) -> bool {
    let mean = values.iter().sum::<f64>() / values.len().max(1) as f64;
    ci95_half_width(values).is_some_and(|half| half <= relative * mean.abs())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn figures_agree_when_the_larger_is_within_the_tolerance_of_the_smaller() {
        assert!(agree(1000.0, 1050.0, 0.05));
        assert!(agree(1050.0, 1000.0, 0.05));
        assert!(!agree(1000.0, 1051.0, 0.05));
        // The Node.js peer after 100 and after 2,000 warm-up pairs.
        assert!(!agree(3941.0, 2555.0, 0.05));
        assert!(!agree(0.0, 0.0, 0.05));
    }

    #[test]
    fn the_confidence_interval_matches_a_known_t_test() {
        // R: t.test(c(10, 12, 11, 13, 9))$conf.int = 9.036757 12.963243
        let half = ci95_half_width(&[10.0, 12.0, 11.0, 13.0, 9.0]).unwrap();
        assert!((half - 1.963243).abs() < 5e-4, "{half}");
        // R: t.test(c(100, 102))$conf.int = 88.29379 113.70621 (df 1: t = 12.706)
        let half = ci95_half_width(&[100.0, 102.0]).unwrap();
        assert!((half - 12.70621).abs() < 5e-3, "{half}");
        assert_eq!(ci95_half_width(&[5.0]), None);
        assert_eq!(ci95_half_width(&[4.0, 4.0, 4.0]), Some(0.0));
    }

    #[test]
    fn sampling_stops_only_once_the_interval_is_within_the_bound() {
        // Half width 1.963 on a mean of 11: 17.8 %.
        let spread = [10.0, 12.0, 11.0, 13.0, 9.0];
        assert!(!precise_enough(&spread, 0.05));
        assert!(precise_enough(&spread, 0.18));
        let steady = [100.0, 101.0, 99.0, 100.5, 99.5];
        assert!(precise_enough(&steady, 0.05));
        assert!(
            !precise_enough(&[100.0], 0.05),
            "one sample says nothing about spread"
        );
    }

    #[test]
    fn t_quantiles_shrink_towards_the_normal_one() {
        assert_eq!(t_95(4), 2.776);
        assert_eq!(t_95(30), 2.042);
        assert_eq!(t_95(45), 2.021);
        assert_eq!(t_95(5000), 1.960);
        assert!((1..200).all(|df| t_95(df) >= t_95(df + 1)));
    }
    use proptest::prelude::*;

    #[test]
    fn a_single_slow_invocation_is_dropped() {
        let durations = [40.1, 40.3, 39.9, 40.0, 95.0, 40.2, 40.4, 40.0];
        assert_eq!(kept_indices(&durations), vec![0, 1, 2, 3, 5, 6, 7]);
    }

    #[test]
    fn steady_samples_are_all_kept() {
        let durations = [160.0, 161.5, 159.8, 162.0, 160.7];
        assert_eq!(kept_indices(&durations), vec![0, 1, 2, 3, 4]);
    }

    #[test]
    fn when_the_fences_would_keep_fewer_than_half_the_nearest_half_to_the_median_is_kept() {
        // Finite durations always leave at least half inside the fences (the property test below);
        // non-finite ones are outside any fence, so they exercise the guard.
        let durations = [5.0, f64::INFINITY, f64::INFINITY, f64::INFINITY];
        assert_eq!(kept_indices(&durations), vec![0, 1]);
    }

    #[test]
    fn summary_reports_mean_median_and_range() {
        let s = Summary::of(&[3.0, 1.0, 2.0, 10.0]).unwrap();
        assert_eq!(s.count, 4);
        assert_eq!(s.mean, 4.0);
        // The nearest-rank median (measure::percentile): the lower of the two middle values.
        assert_eq!(s.median, 2.0);
        assert_eq!((s.min, s.max), (1.0, 10.0));
        assert_eq!(Summary::of(&[]), None);
    }

    proptest! {
        #[test]
        fn outlier_removal_never_keeps_fewer_than_half(values in prop::collection::vec(0.0f64..1e6, 1..60)) {
            let kept = kept_indices(&values);
            prop_assert!(kept.len() >= values.len().div_ceil(2), "kept {} of {}", kept.len(), values.len());
            prop_assert!(kept.windows(2).all(|w| w[0] < w[1]), "indices ascending and unique");
            prop_assert!(kept.iter().all(|&i| i < values.len()));
        }

        #[test]
        fn the_median_sample_is_always_kept(values in prop::collection::vec(0.0f64..1e6, 1..60)) {
            let mut sorted = values.clone();
            sorted.sort_by(f64::total_cmp);
            let median_value = sorted[(sorted.len() - 1) / 2];
            let kept = kept_indices(&values);
            prop_assert!(kept.iter().any(|&i| values[i] == median_value));
        }

        #[test]
        fn summary_is_ordered(values in prop::collection::vec(-1e6f64..1e6, 1..60)) {
            let s = Summary::of(&values).unwrap();
            prop_assert!(s.min <= s.median && s.median <= s.max);
            prop_assert!(s.min <= s.mean + 1e-6 && s.mean <= s.max + 1e-6);
        }
    }
}
