//! The verdict's tests: states, bounds, simulated experiments, performance, cost and words.

use super::*;
use proptest::prelude::*;

/// 10,000 simulated experiments, each read after every comparison up to `horizon`: the share
/// that is ever `equivalent` at a true failure rate `p` (default thresholds: 2 %, 300).
fn share_ever_equivalent(p: f64, horizon: u64, seed: u64) -> f64 {
    let promotion = Promotion::default();
    // Equivalent at (k, n) exactly when n reaches the first n at which k failures are
    // equivalent (the bound falls as clean comparisons come): one table instead of a bound
    // per step. The table is checked against `correctness` itself below.
    let first_n: Vec<u64> = (0..=200)
        .map(|k| more_clean_needed(k, 0, &promotion))
        .collect();
    for (k, n) in [(0u64, 300u64), (0, 451), (3, 700), (5, 1000), (12, 1500)] {
        let equivalent =
            correctness(&observed(k, 0, n), &promotion).state == CorrectnessState::Equivalent;
        assert_eq!(equivalent, n >= first_n[k as usize], "k = {k}, n = {n}");
    }
    let mut rng = fastrand::Rng::with_seed(seed);
    let experiments = 10_000;
    let equivalent = (0..experiments)
        .filter(|_| {
            let mut k = 0usize;
            (1..=horizon).any(|n| {
                k += usize::from(rng.f64() < p);
                k < first_n.len() && n >= first_n[k]
            })
        })
        .count();
    equivalent as f64 / f64::from(experiments)
}

#[test]
fn read_after_every_comparison_a_candidate_just_over_the_margin_is_rarely_equivalent() {
    // At 2.2 % against a 2 % margin, over 3,000 comparisons each.
    let share = share_ever_equivalent(0.022, 3_000, 7);
    assert!(share <= 0.05, "{share}");
}

#[test]
fn read_after_every_comparison_a_candidate_well_under_the_margin_is_mostly_equivalent() {
    let share = share_ever_equivalent(0.005, 3_000, 8);
    assert!(share >= 0.9, "{share}");
}

fn observed(mismatches: u64, errors: u64, comparisons: u64) -> Observations {
    Observations {
        candidate: "fixed".into(),
        comparisons,
        mismatches,
        errors,
        ..Observations::default()
    }
}

#[test]
fn defaults_can_be_reached_inside_the_report_window() {
    let defaults = Promotion::default();
    assert!(defaults.max_mismatch_rate >= lowest_reachable_rate());
    assert!(defaults.min_comparisons <= WINDOW);
    // Independently: the smallest n with 1 - (0.05 / (n + 1))^(1/n) <= 0.02 (Python).
    assert_eq!(more_clean_needed(0, 0, &defaults), 451);
    let lowest = lowest_reachable_rate();
    assert!((0.0098..0.0099).contains(&lowest), "{lowest}");
}

#[test]
fn more_needed_is_the_smallest_count_that_suffices() {
    let promotion = Promotion::default();
    for (k, n) in [(0, 0), (0, 100), (0, 452), (1, 100), (3, 250), (5, 2_000)] {
        let m = more_clean_needed(k, n, &promotion);
        let bound = |total| stats::always_valid_upper(k, total, ALPHA);
        assert!(
            bound(n + m) <= promotion.max_mismatch_rate,
            "{k} of {n}: {m}"
        );
        assert!(n + m >= promotion.min_comparisons, "{k} of {n}: {m}");
        assert!(
            m == 0 || bound(n + m - 1) > promotion.max_mismatch_rate,
            "{k} of {n}: {m}"
        );
    }
    // The minimum count binds when the bound is already low enough.
    let lenient = Promotion {
        max_mismatch_rate: 0.5,
        ..promotion
    };
    assert_eq!(more_clean_needed(0, 10, &lenient), 290);
}

#[test]
fn clean_comparisons_take_a_candidate_from_collecting_to_equivalent() {
    let promotion = Promotion::default();
    let needed = more_clean_needed(0, 0, &promotion);
    for (n, state, more) in [
        (0, CorrectnessState::Inconclusive, Some(needed)),
        (100, CorrectnessState::Collecting, Some(needed - 100)),
        (needed - 1, CorrectnessState::Collecting, Some(1)),
        (needed, CorrectnessState::Equivalent, None),
        (WINDOW, CorrectnessState::Equivalent, None),
    ] {
        let c = correctness(&observed(0, 0, n), &promotion);
        assert_eq!((c.state, c.more_needed), (state, more), "after {n}");
    }
}

#[test]
fn a_candidate_with_10_percent_mismatches_differs() {
    let c = correctness(&observed(12, 0, 120), &Promotion::default());
    assert_eq!(c.state, CorrectnessState::Differs);
    assert!(c.always_valid.low > 0.02, "{:?}", c.always_valid);
    assert!(c.interval.low < 0.1 && 0.1 < c.interval.high);
    // One mismatch in the first comparison is already enough.
    let first = correctness(&observed(1, 0, 1), &Promotion::default());
    assert_eq!(first.state, CorrectnessState::Differs);
}

#[test]
fn errors_count_against_the_candidate() {
    let c = correctness(&observed(0, 60, 60), &Promotion::default());
    assert_eq!((c.state, c.failures), (CorrectnessState::Differs, 60));
    let v = verdict(&observed(0, 60, 60), &Promotion::default());
    assert!(
        v.sentence.contains("differ or fail (60 failed)"),
        "{}",
        v.sentence
    );
    assert!(!v.promotable);
}

#[test]
fn one_failure_early_keeps_a_candidate_collecting_for_longer() {
    let promotion = Promotion::default();
    let clean = more_clean_needed(0, 50, &promotion);
    let one = more_clean_needed(1, 50, &promotion);
    assert_eq!(
        correctness(&observed(1, 0, 50), &promotion).state,
        CorrectnessState::Collecting
    );
    assert!(one > clean, "{one} vs {clean}");
}

#[test]
fn sentences_read_as_the_dashboard_shows_them() {
    let promotion = Promotion::default();
    let differs = verdict(
        &Observations {
            candidate: "half-even".into(),
            comparisons: 120,
            mismatches: 37,
            ..Observations::default()
        },
        &promotion,
    );
    assert_eq!(
        differs.sentence,
        "half-even differs from the control: 37 of 120 comparisons differ (31 %, always-valid 95 % interval 19-45 %)."
    );
    let equivalent = verdict(&observed(0, 0, 1_000), &promotion);
    assert_eq!(
        equivalent.sentence,
        "fixed is equivalent: 0 of 1000 comparisons differ; at most 0.99 % differ (95 %, always-valid)."
    );
    assert!(equivalent.promotable);
    let collecting = verdict(&observed(0, 0, 271), &promotion);
    assert_eq!(
        collecting.sentence,
        "fixed: collecting, 180 more clean comparisons needed (0 of 271 differ so far)."
    );
}

#[test]
fn intended_differences_are_clean_and_named_in_the_sentence() {
    let promotion = Promotion::default();
    let all_intended = Observations {
        intended: 1_000,
        ..observed(0, 0, 1_000)
    };
    let v = verdict(&all_intended, &promotion);
    assert_eq!(v.correctness.state, CorrectnessState::Equivalent);
    assert_eq!((v.correctness.failures, v.correctness.intended), (0, 1_000));
    assert!(v.promotable);
    assert_eq!(
        v.sentence,
        "fixed is equivalent: 0 unintended differences in 1000 comparisons (1000 intended); at most 0.99 % differ unintendedly (95 %, always-valid)."
    );
    // They neither hold a candidate back nor bring it on faster than clean comparisons.
    for n in [0, 100, 450, 451, 1_000] {
        let clean = correctness(&observed(0, 0, n), &promotion);
        let intended = correctness(
            &Observations {
                intended: n,
                ..observed(0, 0, n)
            },
            &promotion,
        );
        assert_eq!(
            (intended.state, intended.more_needed, intended.always_valid),
            (clean.state, clean.more_needed, clean.always_valid),
            "after {n}"
        );
    }
    let collecting = verdict(
        &Observations {
            intended: 20,
            ..observed(0, 0, 271)
        },
        &promotion,
    );
    assert_eq!(
        collecting.sentence,
        "fixed: collecting, 180 more clean comparisons needed (0 unintended differences in 271 comparisons so far, 20 intended)."
    );
    let differs = verdict(
        &Observations {
            intended: 5,
            ..observed(9, 1, 40)
        },
        &promotion,
    );
    assert_eq!(
        differs.sentence,
        "fixed differs from the control: 10 unintended differences or failures (1 failed) in 40 comparisons (25 %, always-valid 95 % interval 8.6-49 %; 5 more intended)."
    );
}

/// `(control, candidate)` pairs: the control takes about 10 ms, the candidate `factor` times.
fn timed(factor: f64, count: usize) -> Vec<(f64, f64)> {
    let mut rng = fastrand::Rng::with_seed(3);
    (0..count)
        .map(|_| (10.0 + rng.f64(), factor * (10.0 + rng.f64())))
        .collect()
}

#[test]
fn performance_states_follow_the_median_ratio_interval() {
    let promotion = Promotion::default();
    for (factor, state) in [
        (0.8, PerformanceState::Faster),
        (1.0, PerformanceState::Same),
        (1.1, PerformanceState::Same),
        (2.0, PerformanceState::Slower),
    ] {
        let p = performance(&timed(factor, 300), 0, &promotion).unwrap();
        assert_eq!(p.state, state, "×{factor}: {:?}", p.p50_ratio);
        assert!(p.p50_ratio.low <= factor * 1.01 && factor * 0.99 <= p.p50_ratio.high);
    }
    assert!(performance(&timed(1.0, MIN_PAIRS - 1), 0, &promotion).is_none());
    assert_eq!(
        performance(&timed(1.0, 900), 0, &promotion).unwrap().pairs,
        MAX_PAIRS
    );
}

#[test]
fn identical_functions_timed_in_pairs_are_the_same_however_much_the_requests_vary() {
    // Requests from 1 to 50 ms (their size, the machine's load), shared by both durations of
    // a pair; each function adds its own 10 %.
    let mut rng = fastrand::Rng::with_seed(17);
    let pairs: Vec<(f64, f64)> = (0..MAX_PAIRS)
        .map(|_| {
            let request = 1.0 + 49.0 * rng.f64();
            let own = |rng: &mut fastrand::Rng| 0.95 + 0.1 * rng.f64();
            (request * own(&mut rng), request * own(&mut rng))
        })
        .collect();
    let p = performance(&pairs, 0, &Promotion::default()).unwrap();
    assert_eq!(p.state, PerformanceState::Same, "{:?}", p.p50_ratio);
    let r = p.p50_ratio;
    assert!(
        r.low <= 1.0 && 1.0 <= r.high && r.high - r.low < 0.02,
        "{r:?}"
    );
}

#[test]
fn a_slower_candidate_is_not_promotable_even_when_equivalent() {
    let slow = Observations {
        durations: timed(2.0, 400),
        ..observed(0, 0, 1_000)
    };
    let v = verdict(&slow, &Promotion::default());
    assert_eq!(v.correctness.state, CorrectnessState::Equivalent);
    assert!(!v.promotable);
    assert!(
        v.sentence.ends_with("slower than the 1.2× allowed."),
        "{}",
        v.sentence
    );
    assert_eq!(
        v.not_releasable_because.as_deref(),
        Some("slower than the 1.2× allowed")
    );
}

#[test]
fn each_verdict_that_may_not_be_released_says_why_in_a_few_words() {
    let reason = |o: Observations| verdict(&o, &Promotion::default()).not_releasable_because;
    assert_eq!(reason(observed(0, 0, 1_000)), None);
    assert_eq!(
        reason(observed(10, 0, 40)).as_deref(),
        Some("it differs from the control")
    );
    let collecting = reason(observed(0, 0, 30)).unwrap();
    assert!(
        collecting.ends_with("more clean comparisons needed"),
        "{collecting}"
    );
}

#[test]
fn a_candidate_that_only_timed_out_gets_no_duration_ratio_but_a_count() {
    // A 1 s timeout against a 4 ms control: the "ratio" would be 250, the timeout's.
    let timed_out = Observations {
        errors: 30,
        timeouts: 30,
        durations: vec![(4.0, 1_000.0); 30],
        timed_out_pairs: 30,
        ..observed(0, 30, 30)
    };
    let v = verdict(&timed_out, &Promotion::default());
    let p = v.performance.as_ref().unwrap();
    assert!(p.only_timeouts);
    assert_eq!(p.state, PerformanceState::Slower, "a lower bound 250x over");
    assert_eq!(v.timeouts, 30);
    assert!(
            v.sentence.ends_with(
                "Timed out in 30 of 30 comparisons: slower than the 1.2× allowed; no duration ratio, a timeout only bounds its duration from below."
            ),
            "{}",
            v.sentence
        );
    // One answer in time among them: a ratio again (its lower bound).
    let mostly = Observations {
        timed_out_pairs: 29,
        ..timed_out
    };
    assert!(
        !verdict(&mostly, &Promotion::default())
            .performance
            .unwrap()
            .only_timeouts
    );
    assert_eq!(count(1, "comparison"), "1 comparison");
    assert_eq!(count(0, "comparison"), "0 comparisons");
}

#[test]
fn cost_per_million_at_the_arm64_price() {
    // 128 MB for 100 ms: 0.0125 GB-s, 0.1666675 USD per million, plus the requests.
    let usd = usd_per_million_invocations(128, 100.0);
    assert!((usd - 0.366_667_5).abs() < 1e-9, "{usd}");
    assert!((usd_per_million_invocations(1024, 0.0) - 0.20).abs() < 1e-12);
    let known = Observations {
        durations: vec![(99.2, 10.5); 30],
        control_memory_mb: Some(128),
        candidate_memory_mb: None,
        ..observed(0, 0, 30)
    };
    let cost = verdict(&known, &Promotion::default()).cost;
    // 99.2 ms is billed as 100 ms.
    assert!((cost.control_usd_per_million.unwrap() - 0.366_667_5).abs() < 1e-9);
    assert_eq!(cost.candidate_usd_per_million, None);
}

#[test]
fn percentages_keep_two_significant_figures_or_so() {
    for (share, text) in [
        (0.0, "0 %"),
        (0.0038, "0.38 %"),
        (0.042, "4.2 %"),
        (0.308, "31 %"),
        (1.0, "100 %"),
    ] {
        assert_eq!(percent(share), text);
    }
}

proptest! {
    #[test]
    fn the_state_agrees_with_the_bounds(n in 0u64..1_200, share in 0.0f64..0.2) {
        let k = ((n as f64) * share).round() as u64;
        let promotion = Promotion::default();
        let c = correctness(&observed(k, 0, n), &promotion);
        match c.state {
            CorrectnessState::Differs => prop_assert!(c.always_valid.low > promotion.max_mismatch_rate),
            CorrectnessState::Equivalent => prop_assert!(c.always_valid.high <= promotion.max_mismatch_rate && n >= promotion.min_comparisons),
            CorrectnessState::Collecting => prop_assert!(c.more_needed.is_some_and(|m| m > 0)),
            CorrectnessState::Inconclusive => prop_assert_eq!(n, 0),
        }
        prop_assert_eq!(c.state == CorrectnessState::Inconclusive, n == 0);
        prop_assert!(c.interval.low <= c.upper_bound + 1e-12);
    }
}
