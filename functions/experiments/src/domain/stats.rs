//! The statistics behind a verdict, as plain functions on counts and samples: the exact binomial
//! (Clopper-Pearson) bounds, an always-valid confidence sequence for a rate that may be checked
//! after every comparison, and bootstrap intervals for duration ratios (the median of paired
//! ratios, and the ratio of two quantiles).
//!
//! Everything is `f64` and computed here (log-gamma by Lanczos, the regularized incomplete beta by
//! its continued fraction, inverses by bisection) so the Lambda binaries need no statistics crate.

use measure::percentile;

/// `ln Γ(x)` for `x > 0`: the Lanczos approximation (g = 7, nine coefficients), good to about
/// 1e-13 relative over the range the bounds use; below 0.5 through the reflection formula.
pub fn ln_gamma(x: f64) -> f64 {
    const G: f64 = 7.0;
    const COEFFICIENTS: [f64; 9] = [
        0.999_999_999_999_809_9,
        676.520_368_121_885_1,
        -1_259.139_216_722_402_8,
        771.323_428_777_653_1,
        -176.615_029_162_140_6,
        12.507_343_278_686_905,
        -0.138_571_095_265_720_12,
        9.984_369_578_019_572e-6,
        1.505_632_735_149_311_6e-7,
    ];
    if x < 0.5 {
        // Γ(x) Γ(1 - x) = π / sin(πx)
        let pi = std::f64::consts::PI;
        return (pi / (pi * x).sin()).abs().ln() - ln_gamma(1.0 - x);
    }
    let x = x - 1.0;
    let t = x + G + 0.5;
    let series = COEFFICIENTS[1..]
        .iter()
        .enumerate()
        .fold(COEFFICIENTS[0], |sum, (i, c)| {
            sum + c / (x + i as f64 + 1.0)
        });
    0.5 * (2.0 * std::f64::consts::PI).ln() + (x + 0.5) * t.ln() - t + series.ln()
}

/// `ln B(a, b)`.
pub fn ln_beta(a: f64, b: f64) -> f64 {
    ln_gamma(a) + ln_gamma(b) - ln_gamma(a + b)
}

/// The regularized incomplete beta function `I_x(a, b)` for `a, b > 0`, `0 <= x <= 1`, by the
/// continued fraction (modified Lentz), on the side of `x` where it converges fast.
pub fn regularized_incomplete_beta(x: f64, a: f64, b: f64) -> f64 {
    if x <= 0.0 {
        return 0.0;
    }
    if x >= 1.0 {
        return 1.0;
    }
    let front = (a * x.ln() + b * (1.0 - x).ln() - ln_beta(a, b)).exp();
    if x < (a + 1.0) / (a + b + 2.0) {
        front * beta_continued_fraction(x, a, b) / a
    } else {
        1.0 - front * beta_continued_fraction(1.0 - x, b, a) / b
    }
}

fn beta_continued_fraction(x: f64, a: f64, b: f64) -> f64 {
    const TINY: f64 = 1e-300;
    const EPSILON: f64 = 1e-15;
    let not_tiny = |v: f64| if v.abs() < TINY { TINY } else { v };
    let mut c = 1.0;
    let mut d = 1.0 / not_tiny(1.0 - (a + b) * x / (a + 1.0));
    let mut fraction = d;
    for m in 1..=10_000 {
        let m = f64::from(m);
        let even = m * (b - m) * x / ((a + 2.0 * m - 1.0) * (a + 2.0 * m));
        d = 1.0 / not_tiny(1.0 + even * d);
        c = not_tiny(1.0 + even / c);
        fraction *= d * c;
        let odd = -(a + m) * (a + b + m) * x / ((a + 2.0 * m) * (a + 2.0 * m + 1.0));
        d = 1.0 / not_tiny(1.0 + odd * d);
        c = not_tiny(1.0 + odd / c);
        let step = d * c;
        fraction *= step;
        if (step - 1.0).abs() < EPSILON {
            break;
        }
    }
    fraction
}

/// `P(X <= k)` for `X ~ Binomial(n, p)`.
pub fn binomial_cdf(k: u64, n: u64, p: f64) -> f64 {
    if k >= n {
        return 1.0;
    }
    // P(X <= k) = I_{1-p}(n - k, k + 1)
    regularized_incomplete_beta(1.0 - p, (n - k) as f64, k as f64 + 1.0)
}

/// The `p` in `[low, high]` where `decreasing(p)` crosses zero, by bisection to f64 resolution.
fn bisect(mut low: f64, mut high: f64, decreasing: impl Fn(f64) -> f64) -> f64 {
    for _ in 0..200 {
        let middle = 0.5 * (low + high);
        if middle <= low || middle >= high {
            break;
        }
        if decreasing(middle) > 0.0 {
            low = middle;
        } else {
            high = middle;
        }
    }
    0.5 * (low + high)
}

/// The exact one-sided upper confidence bound of a rate at level `1 - alpha` after `k` events in
/// `n` trials (Clopper-Pearson): the `p` with `P(Bin(n, p) <= k) = alpha`; 1 when `k = n`.
/// Valid for one look at a fixed `n`.
pub fn clopper_pearson_upper(k: u64, n: u64, alpha: f64) -> f64 {
    if k >= n {
        return 1.0;
    }
    bisect(k as f64 / n as f64, 1.0, |p| binomial_cdf(k, n, p) - alpha)
}

/// The exact one-sided lower bound: the `p` with `P(Bin(n, p) >= k) = alpha`; 0 when `k = 0`.
pub fn clopper_pearson_lower(k: u64, n: u64, alpha: f64) -> f64 {
    if k == 0 || n == 0 {
        return 0.0;
    }
    bisect(0.0, k as f64 / n as f64, |p| {
        alpha - (1.0 - binomial_cdf(k - 1, n, p))
    })
}

/// The two-sided Clopper-Pearson interval at level `1 - alpha` (`alpha / 2` on each side).
pub fn clopper_pearson_interval(k: u64, n: u64, alpha: f64) -> (f64, f64) {
    (
        clopper_pearson_lower(k, n, alpha / 2.0),
        clopper_pearson_upper(k, n, alpha / 2.0),
    )
}

/// `ln` of Robbins' mixture martingale for a Bernoulli rate `p` after `k` events in `n` trials,
/// with a uniform Beta(1, 1) prior: `B(1 + k, 1 + n - k) / (p^k (1 - p)^(n - k))`. Under the true
/// `p` it starts at 1 and is a nonnegative martingale, so by Ville's inequality it ever reaches
/// `1 / alpha` with probability at most `alpha`, however often it is looked at.
fn ln_mixture(k: u64, n: u64, p: f64) -> f64 {
    let (k, clean) = (k as f64, (n - k) as f64);
    let likelihood = |count: f64, q: f64| if count == 0.0 { 0.0 } else { count * q.ln() };
    ln_beta(1.0 + k, 1.0 + clean) - likelihood(k, p) - likelihood(clean, 1.0 - p)
}

/// The upper end of the always-valid `1 - alpha` confidence sequence for a rate (Robbins'
/// beta-binomial mixture with Ville's inequality): the largest `p >= k/n` whose mixture
/// martingale stays under `1 / alpha`. The chance that the true rate is ever above it, at any of
/// the `n` a verdict is checked at, is at most `alpha`.
pub fn always_valid_upper(k: u64, n: u64, alpha: f64) -> f64 {
    if k >= n {
        return 1.0;
    }
    let level = (1.0 / alpha).ln();
    bisect(k as f64 / n as f64, 1.0, |p| level - ln_mixture(k, n, p))
}

/// The lower end of the same confidence sequence: the smallest `p <= k/n` inside it.
pub fn always_valid_lower(k: u64, n: u64, alpha: f64) -> f64 {
    if k == 0 || n == 0 {
        return 0.0;
    }
    let level = (1.0 / alpha).ln();
    bisect(0.0, k as f64 / n as f64, |p| ln_mixture(k, n, p) - level)
}

/// A point estimate with its interval.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct Estimate {
    pub value: f64,
    pub low: f64,
    pub high: f64,
}

/// `statistic` of `pairs` with its bootstrap percentile interval at level `1 - alpha`:
/// `resamples` resamplings of the pairs with replacement from a generator seeded with `seed`, so
/// the same samples give the same interval. Pairs are resampled whole, so whatever the two
/// durations of one request share stays shared. `None` without pairs or when `statistic` has no
/// value for them.
fn bootstrap(
    pairs: &[(f64, f64)],
    statistic: impl Fn(&mut dyn Iterator<Item = (f64, f64)>) -> Option<f64>,
    resamples: usize,
    seed: u64,
    alpha: f64,
) -> Option<Estimate> {
    let value = statistic(&mut pairs.iter().copied())?;
    let mut rng = fastrand::Rng::with_seed(seed);
    let mut values: Vec<f64> = (0..resamples)
        .filter_map(|_| statistic(&mut (0..pairs.len()).map(|_| pairs[rng.usize(..pairs.len())])))
        .collect();
    let low = percentile(&mut values, alpha / 2.0)?;
    let high = percentile(&mut values, 1.0 - alpha / 2.0)?;
    Some(Estimate { value, low, high })
}

/// `quantile(candidate) / quantile(control)` over paired samples `(control, candidate)`, with its
/// bootstrap percentile interval at level `1 - alpha` (see [`bootstrap`]). `None` without pairs or
/// with a control quantile of 0.
pub fn bootstrap_quantile_ratio(
    pairs: &[(f64, f64)],
    q: f64,
    resamples: usize,
    seed: u64,
    alpha: f64,
) -> Option<Estimate> {
    let ratio = |sample: &mut dyn Iterator<Item = (f64, f64)>| {
        let (mut control, mut candidate): (Vec<f64>, Vec<f64>) = sample.unzip();
        let denominator = percentile(&mut control, q).filter(|d| *d > 0.0)?;
        percentile(&mut candidate, q).map(|c| c / denominator)
    };
    bootstrap(pairs, ratio, resamples, seed, alpha)
}

/// The median over paired samples `(control, candidate)` of `candidate / control`: how many times
/// the control's duration the candidate takes on the same request, for the typical request. With
/// its bootstrap percentile interval at level `1 - alpha` (see [`bootstrap`]). Pairs with a
/// control of 0 are left out; `None` when none is left.
///
/// Each ratio divides two durations measured on the same input at nearly the same moment, so
/// what they share (the input's size, a busy machine, a queue in front of both) cancels, which a
/// ratio of the two medians leaves in. When the two are measured alike, in an order that is
/// random for each pair, the ratio of two identical functions is as likely to be above 1 as
/// below, and this median is 1 give or take sampling.
pub fn bootstrap_median_paired_ratio(
    pairs: &[(f64, f64)],
    resamples: usize,
    seed: u64,
    alpha: f64,
) -> Option<Estimate> {
    let median = |sample: &mut dyn Iterator<Item = (f64, f64)>| {
        let mut ratios: Vec<f64> = sample
            .filter(|(control, _)| *control > 0.0)
            .map(|(control, candidate)| candidate / control)
            .collect();
        percentile(&mut ratios, 0.5)
    };
    bootstrap(pairs, median, resamples, seed, alpha)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const ALPHA: f64 = 0.05;

    fn close(actual: f64, expected: f64, tolerance: f64) -> bool {
        (actual - expected).abs() <= tolerance
    }

    #[test]
    fn ln_gamma_matches_known_values() {
        // Values from Python's math.lgamma; 0.5 is ln √π, 10 is ln 9!.
        for (x, expected) in [
            (1e-3, 6.907_178_885_383_854),
            (0.1, 2.252_712_651_734_205_5),
            (0.5, 0.572_364_942_924_700_4),
            (1.0, 0.0),
            (2.0, 0.0),
            (3.7, 1.428_072_326_665_388_3),
            (10.0, 12.801_827_480_081_467),
            (100.0, 359.134_205_369_575_4),
        ] {
            let actual = ln_gamma(x);
            assert!(
                close(actual, expected, 1e-12 * expected.abs().max(1.0)),
                "lgamma({x}) = {actual}, expected {expected}"
            );
        }
    }

    #[test]
    fn binomial_cdf_equals_the_direct_sum() {
        for (k, n, p) in [
            (0u64, 10u64, 0.1f64),
            (3, 10, 0.3),
            (7, 20, 0.5),
            (19, 20, 0.9),
        ] {
            let direct: f64 = (0..=k)
                .map(|i| {
                    let ln_choose = ln_gamma(n as f64 + 1.0)
                        - ln_gamma(i as f64 + 1.0)
                        - ln_gamma((n - i) as f64 + 1.0);
                    (ln_choose + i as f64 * p.ln() + (n - i) as f64 * (1.0 - p).ln()).exp()
                })
                .sum();
            let cdf = binomial_cdf(k, n, p);
            assert!(
                close(cdf, direct, 1e-12),
                "({k}, {n}, {p}): {cdf} vs {direct}"
            );
        }
    }

    #[test]
    fn zero_of_3000_has_the_exact_upper_bound_of_the_rule_of_three() {
        // With no events, P(Bin(n, u) <= 0) = (1 - u)^n = alpha.
        let expected = 1.0 - 0.05f64.powf(1.0 / 3000.0);
        let upper = clopper_pearson_upper(0, 3000, ALPHA);
        assert!(close(upper, expected, 1e-12), "{upper} vs {expected}");
        assert!(close(upper, 0.000_998_079, 1e-9), "{upper}");
        // The rule of three: about 3/n.
        assert!(close(upper, 3.0 / 3000.0, 2e-6), "{upper}");
    }

    #[test]
    fn upper_bounds_satisfy_the_binomial_identity_and_published_values() {
        // Independent values: bisection on the directly summed binomial CDF (Python).
        for (k, n, expected) in [
            (1, 10, 0.394_163_302_436_504_8),
            (5, 20, 0.455_582_404_001_748_8),
        ] {
            let upper = clopper_pearson_upper(k, n, ALPHA);
            assert!(
                close(upper, expected, 1e-9),
                "{k} of {n}: {upper} vs {expected}"
            );
            let tail = binomial_cdf(k, n, upper);
            assert!(close(tail, ALPHA, 1e-9), "{k} of {n}: P(X <= k) = {tail}");
        }
    }

    #[test]
    fn the_two_sided_interval_of_37_in_120_has_its_tails_at_2_5_percent() {
        let (low, high) = clopper_pearson_interval(37, 120, ALPHA);
        assert!(
            close(1.0 - binomial_cdf(36, 120, low), 0.025, 1e-9),
            "{low}"
        );
        assert!(close(binomial_cdf(37, 120, high), 0.025, 1e-9), "{high}");
        assert!(low < 37.0 / 120.0 && 37.0 / 120.0 < high);
        assert!(
            (0.22..0.24).contains(&low) && (0.39..0.41).contains(&high),
            "{low} {high}"
        );
    }

    #[test]
    fn the_always_valid_bound_for_no_events_has_its_closed_form() {
        // k = 0: B(1, n + 1) = 1 / (n + 1), so (n + 1)(1 - u)^n = alpha.
        for n in [1u64, 10, 412, 1000] {
            let expected = 1.0 - (ALPHA / (n as f64 + 1.0)).powf(1.0 / n as f64);
            let upper = always_valid_upper(0, n, ALPHA);
            assert!(close(upper, expected, 1e-12), "{n}: {upper} vs {expected}");
            // Wider than the single-look bound: the price of looking after every comparison.
            assert!(upper > clopper_pearson_upper(0, n, ALPHA));
        }
    }

    #[test]
    fn the_always_valid_bounds_sit_where_the_martingale_reaches_one_over_alpha() {
        let level = (1.0 / ALPHA).ln();
        for (k, n) in [(1, 10), (5, 20), (37, 120), (3, 500)] {
            let upper = always_valid_upper(k, n, ALPHA);
            let lower = always_valid_lower(k, n, ALPHA);
            assert!(close(ln_mixture(k, n, upper), level, 1e-9), "{k} of {n}");
            assert!(close(ln_mixture(k, n, lower), level, 1e-9), "{k} of {n}");
        }
    }

    /// Successes of Bernoulli(p) trials, one at a time.
    fn events(rng: &mut fastrand::Rng, p: f64, n: u64) -> impl Iterator<Item = bool> + '_ {
        (0..n).map(move |_| rng.f64() < p)
    }

    #[test]
    fn the_one_sided_clopper_pearson_bound_covers_at_least_95_percent() {
        let mut rng = fastrand::Rng::with_seed(13);
        for (p, n) in [(0.01, 300), (0.1, 50), (0.3, 20)] {
            let runs = 2_000;
            let covered = (0..runs)
                .filter(|_| {
                    let k = events(&mut rng, p, n).filter(|e| *e).count() as u64;
                    clopper_pearson_upper(k, n, ALPHA) >= p
                })
                .count();
            let coverage = covered as f64 / runs as f64;
            assert!(coverage >= 0.94, "p = {p}, n = {n}: {coverage}");
        }
    }

    #[test]
    fn the_always_valid_interval_covers_95_percent_when_checked_after_every_observation() {
        let mut rng = fastrand::Rng::with_seed(13);
        for p in [0.02, 0.2] {
            let runs = 300;
            let covered = (0..runs)
                .filter(|_| {
                    let mut k = 0;
                    events(&mut rng, p, 500).zip(1..).all(|(event, n)| {
                        k += u64::from(event);
                        always_valid_lower(k, n, ALPHA) <= p && p <= always_valid_upper(k, n, ALPHA)
                    })
                })
                .count();
            let coverage = covered as f64 / runs as f64;
            assert!(coverage >= 0.94, "p = {p}: {coverage}");
        }
    }

    #[test]
    fn the_bootstrap_interval_contains_the_true_ratio_of_a_clear_case() {
        // The candidate takes twice the control's time, give or take 10 %.
        let mut rng = fastrand::Rng::with_seed(7);
        let pairs: Vec<(f64, f64)> = (0..400)
            .map(|_| {
                let control = 10.0 * (0.9 + 0.2 * rng.f64());
                (control, 20.0 * (0.9 + 0.2 * rng.f64()))
            })
            .collect();
        let ratio = bootstrap_quantile_ratio(&pairs, 0.5, 1_000, 1, ALPHA).unwrap();
        assert!(ratio.low <= 2.0 && 2.0 <= ratio.high, "{ratio:?}");
        assert!(
            ratio.low <= ratio.value && ratio.value <= ratio.high,
            "{ratio:?}"
        );
        assert!(ratio.high - ratio.low < 0.1, "{ratio:?}");
        let again = bootstrap_quantile_ratio(&pairs, 0.5, 1_000, 1, ALPHA).unwrap();
        assert_eq!(ratio, again, "the same seed gives the same interval");
        assert!(bootstrap_quantile_ratio(&[], 0.5, 1_000, 1, ALPHA).is_none());
    }

    /// `(control, candidate)` pairs of two functions that take the same time, give or take 20 %
    /// each, on requests whose durations share a factor of 1 to 10 (the input's size, a busy
    /// moment): the sort solution against its control, in short.
    fn identical_with_a_shared_factor(count: usize, seed: u64) -> Vec<(f64, f64)> {
        let mut rng = fastrand::Rng::with_seed(seed);
        (0..count)
            .map(|_| {
                let shared = 1.0 + 9.0 * rng.f64();
                let own = |rng: &mut fastrand::Rng| 0.8 + 0.4 * rng.f64();
                (shared * own(&mut rng), shared * own(&mut rng))
            })
            .collect()
    }

    #[test]
    fn the_median_paired_ratio_of_identical_functions_is_1_and_narrower_than_the_ratio_of_medians()
    {
        let (mut paired_widths, mut medians_widths) = (0.0, 0.0);
        for seed in 1..=20 {
            let pairs = identical_with_a_shared_factor(300, seed);
            let paired = bootstrap_median_paired_ratio(&pairs, 1_000, 1, ALPHA).unwrap();
            let medians = bootstrap_quantile_ratio(&pairs, 0.5, 1_000, 1, ALPHA).unwrap();
            assert!(
                (0.97..=1.03).contains(&paired.value),
                "seed {seed}: {paired:?}"
            );
            assert!(
                paired.high - paired.low < medians.high - medians.low,
                "seed {seed}: paired {paired:?}, medians {medians:?}"
            );
            paired_widths += paired.high - paired.low;
            medians_widths += medians.high - medians.low;
        }
        assert!(
            paired_widths < 0.6 * medians_widths,
            "{paired_widths} vs {medians_widths}"
        );
    }

    #[test]
    fn the_median_paired_ratio_of_a_clear_case_holds_the_true_ratio() {
        // The candidate takes twice the control's time on every request, give or take 10 %.
        let mut rng = fastrand::Rng::with_seed(11);
        let pairs: Vec<(f64, f64)> = (0..400)
            .map(|_| {
                let control = 1.0 + 30.0 * rng.f64();
                (control, 2.0 * control * (0.9 + 0.2 * rng.f64()))
            })
            .collect();
        let ratio = bootstrap_median_paired_ratio(&pairs, 1_000, 1, ALPHA).unwrap();
        assert!(ratio.low <= 2.0 && 2.0 <= ratio.high, "{ratio:?}");
        assert!(ratio.high - ratio.low < 0.05, "{ratio:?}");
        assert_eq!(
            Some(ratio),
            bootstrap_median_paired_ratio(&pairs, 1_000, 1, ALPHA)
        );
    }

    #[test]
    fn pairs_with_a_control_of_0_are_left_out_of_the_paired_ratio() {
        assert_eq!(bootstrap_median_paired_ratio(&[], 100, 1, ALPHA), None);
        assert_eq!(
            bootstrap_median_paired_ratio(&[(0.0, 3.0)], 100, 1, ALPHA),
            None
        );
        let ratio = bootstrap_median_paired_ratio(&[(0.0, 9.0), (2.0, 3.0)], 100, 1, ALPHA);
        assert_eq!(ratio.map(|r| r.value), Some(1.5));
    }

    proptest! {
        #[test]
        fn bounds_lie_in_0_1_around_the_observed_rate(n in 1u64..2_000, share in 0.0f64..=1.0) {
            let k = ((n as f64) * share).round() as u64;
            let rate = k as f64 / n as f64;
            for (lower, upper) in [
                clopper_pearson_interval(k, n, ALPHA),
                (clopper_pearson_lower(k, n, ALPHA), clopper_pearson_upper(k, n, ALPHA)),
                (always_valid_lower(k, n, ALPHA), always_valid_upper(k, n, ALPHA)),
            ] {
                prop_assert!((0.0..=1.0).contains(&lower) && (0.0..=1.0).contains(&upper));
                prop_assert!(lower <= rate + 1e-12 && rate <= upper + 1e-12, "{} {} {}", lower, rate, upper);
            }
        }

        #[test]
        fn the_median_paired_ratio_scales_with_the_candidate(
            pairs in proptest::collection::vec((0.1f64..100.0, 0.1f64..100.0), 1..60),
            factor in 0.1f64..10.0,
        ) {
            let scaled: Vec<(f64, f64)> = pairs.iter().map(|(a, b)| (*a, b * factor)).collect();
            let before = bootstrap_median_paired_ratio(&pairs, 50, 1, ALPHA).unwrap();
            let after = bootstrap_median_paired_ratio(&scaled, 50, 1, ALPHA).unwrap();
            for (b, a) in [(before.value, after.value), (before.low, after.low), (before.high, after.high)] {
                prop_assert!((a - b * factor).abs() <= 1e-9 * a.abs().max(1.0), "{} {} {}", a, b, factor);
            }
            prop_assert!(before.low <= before.high);
        }

        #[test]
        fn upper_bounds_rise_with_events_and_fall_with_clean_trials(n in 1u64..1_500, share in 0.0f64..1.0) {
            let k = ((n as f64) * share).floor() as u64;
            for bound in [clopper_pearson_upper, always_valid_upper] {
                prop_assert!(bound(k + 1, n + 1, ALPHA) >= bound(k, n + 1, ALPHA));
                prop_assert!(bound(k, n + 1, ALPHA) <= bound(k, n, ALPHA));
            }
        }
    }
}
