//! The verdict on a candidate: may it replace the control? Correctness (how often it differs from
//! the control, with a bound that stays valid however often it is looked at), performance (its
//! duration against the control's) and cost, each with a state and the numbers behind it, and one
//! sentence a person reads in two seconds.
//!
//! Pure: it sees counts and durations ([`Observations`]), never records, requests or SDKs.
//!
//! ## Correctness
//! Every comparison of the candidate counts: `n` comparisons, of which `k` failed, a failure being
//! a mismatch (net of the noise baseline when the experiment has one: the comparator already
//! discounts what the control disagrees with itself on, see [`crate::domain::compare::Verdict::net_of`]),
//! a timeout, a function error, a failed invocation or a malformed answer. A difference the
//! experiment declares as intended ([`crate::domain::definition`], [`crate::domain::compare::Outcome::Intended`])
//! is not a failure: it is counted apart (`intended`), shown, and named in the sentence, and it
//! counts as a clean comparison.
//!
//! The decision is checked after every comparison, so it uses an always-valid bound: Robbins'
//! beta-binomial mixture confidence sequence with Ville's inequality
//! ([`stats::always_valid_upper`]). With the true rate `p`, the chance that `p` ever leaves the
//! sequence, at any `n`, is at most 5 %. Hence:
//! - `equivalent`: the always-valid upper bound is at or under `maxMismatchRate` and
//!   `n >= minComparisons`. A false `equivalent` (true rate above the threshold) happens in at
//!   most 5 % of experiments, however often the verdict is read.
//! - `differs`: the always-valid lower bound is above `maxMismatchRate`: the candidate's rate is
//!   above the threshold, wrongly so in at most 5 % of experiments. This is the rule rather than
//!   "any mismatch", so a threshold above 0 means what it says; in practice a few mismatches
//!   early suffice (one mismatch in one comparison already puts the lower bound at 2.5 %).
//! - `collecting` otherwise, with the number of further clean comparisons that would bring the
//!   upper bound under the threshold ([`more_clean_needed`]).
//!
//! The single-look Clopper-Pearson figures (the one-sided upper bound, the two-sided interval)
//! are shown for reading, not used for the decision: checked after every comparison, a fixed-level
//! interval misses far more often than its level says.
//!
//! The guarantee covers one growing sequence of comparisons: the counts it is given are the
//! running totals of the candidate's version ([`crate::domain::tally`]), every comparison it
//! ever had, not the report's window of the latest [`WINDOW`] (from which old failures would
//! slide out). Durations come from the window.
//!
//! ## Performance
//! Over comparisons where both were timed, each a pair of durations the comparator measured the
//! same way on the same request (the control invoked again beside the candidates, in a random
//! order: [`crate::handlers::comparator`]):
//! - the p50 ratio is the median over requests of candidate / control on that request
//!   ([`stats::bootstrap_median_paired_ratio`]): what the candidate takes on a typical request,
//!   as a multiple of the control's time on the same request. The pairing cancels what both
//!   durations of a request share (its size, a busy moment), so the interval is narrower than
//!   that of a ratio of two medians, and for two identical functions it sits around 1;
//! - the p99 ratio is the candidate's p99 over the control's ([`stats::bootstrap_quantile_ratio`]),
//!   the tails of the two;
//!
//! each with a 95 % bootstrap percentile interval (pairs resampled whole, fixed seed, so a page
//! reload shows the same numbers). The state is decided on the p50 interval `[low, high]`, with
//! `r = maxDurationRatio`:
//! - `slower`: `low > r`, slower than the tolerance allows, with 95 % confidence;
//! - `faster`: `high < 1`, faster than the control, with 95 % confidence;
//! - `same`: neither; within the tolerance, or not enough evidence either way.
//!
//! Two identical functions read `faster` (or a `slower` against a tolerance of 1) now and then by
//! design: nominally in 1 experiment in 40, each tail of a 95 % interval.
//!
//! A timed-out answer counts at the timeout, a lower bound of its real duration, so timeouts can
//! only hide how much slower a candidate is, never make it look faster. Crashed and uninvokable
//! calls have no meaningful duration, and malformed answers no answer worth timing: all are left
//! out, so a candidate is never faster by failing fast. The p99 ratio is shown, not decided on:
//! the bootstrap is unreliable that far in the tail of a few hundred samples.

use serde::{Deserialize, Serialize};

use crate::domain::stats::{self, Estimate};

/// One minus the confidence level of every bound and interval here (95 %).
pub const ALPHA: f64 = 0.05;

/// The most comparisons a verdict sees: the report covers the latest this many.
pub const WINDOW: u64 = 1_000;

/// Fewer timed pairs than this and no performance state is given.
pub const MIN_PAIRS: usize = 20;
/// The latest this many timed pairs are resampled; bounds the work per report.
pub const MAX_PAIRS: usize = 500;
pub const RESAMPLES: usize = 1_000;
const SEED: u64 = 13;

/// How many of the latest differing inputs a verdict lists.
pub const LATEST_DIFFERING: usize = 5;

/// Lambda's arm64 price per GB-second, us-east-1, first pricing tier, as given in issue 13 on
/// 2026-11-30 (<https://aws.amazon.com/lambda/pricing/>; not re-checked against the live page).
pub const USD_PER_GB_SECOND: f64 = 0.000_013_333_4;
/// Lambda's price per million requests, us-east-1, same source and date.
pub const USD_PER_MILLION_REQUESTS: f64 = 0.20;

/// What a candidate must show to be promoted; the `promotion` block of a definition.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Promotion {
    /// The highest share of failed comparisons tolerated. Default 0.02: with no failures the
    /// always-valid bound gets under 2 % after 451 comparisons, well inside the report's window;
    /// 1 % would take 984, nearly all of it, and a single failure would then rule it out.
    pub max_mismatch_rate: f64,
    /// Comparisons seen before `equivalent`, whatever the bound says. Default 300: enough inputs
    /// for the rarer paths of a function to have been exercised.
    pub min_comparisons: u64,
    /// The slowest candidate / control p50 ratio tolerated. Default 1.2: 20 %, more than the
    /// run-to-run noise of a warm Lambda function, less than a regression anyone would accept.
    pub max_duration_ratio: f64,
}

impl Default for Promotion {
    fn default() -> Self {
        Self {
            max_mismatch_rate: 0.02,
            min_comparisons: 300,
            max_duration_ratio: 1.2,
        }
    }
}

/// The lowest `maxMismatchRate` a definition may ask for: what the always-valid bound reaches
/// after a whole window of clean comparisons. Anything lower could never be shown.
pub fn lowest_reachable_rate() -> f64 {
    stats::always_valid_upper(0, WINDOW, ALPHA)
}

/// A comparison the candidate failed, for people.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Differing {
    pub at: String,
    /// The request, e.g. `GET /round?number=62.5`.
    pub input: String,
    /// The difference, or the failure.
    pub why: String,
}

/// What the verdict is computed from, for one candidate: its counts from its running totals
/// (over the window in the "all comparisons" view), its durations from the window.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Observations {
    pub candidate: String,
    pub comparisons: u64,
    pub mismatches: u64,
    /// Differences the experiment declares the candidate means to make; not failures.
    pub intended: u64,
    /// Timeouts, function errors, failed invocations, malformed answers.
    pub errors: u64,
    /// Newest first, at most [`LATEST_DIFFERING`].
    pub latest_differing: Vec<Differing>,
    /// `(control ms, candidate ms)` of comparisons where both were timed, newest first.
    pub durations: Vec<(f64, f64)>,
    /// How many of [`Observations::durations`] are the candidate's timeouts (timed at the
    /// timeout, a lower bound).
    pub timed_out_pairs: usize,
    /// Comparisons in which the candidate timed out.
    pub timeouts: u64,
    pub control_memory_mb: Option<u32>,
    pub candidate_memory_mb: Option<u32>,
}

impl Observations {
    pub fn failures(&self) -> u64 {
        self.mismatches + self.errors
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CorrectnessState {
    Collecting,
    Differs,
    Equivalent,
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Interval {
    pub low: f64,
    pub high: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Correctness {
    pub state: CorrectnessState,
    pub comparisons: u64,
    /// Mismatches and errors.
    pub failures: u64,
    pub mismatches: u64,
    pub errors: u64,
    /// Comparisons that differ only as the experiment intends: not failures, not hidden.
    pub intended: u64,
    /// `failures / comparisons`; `None` before the first comparison.
    pub rate: Option<f64>,
    /// Single look: the one-sided 95 % Clopper-Pearson upper bound of the rate.
    pub upper_bound: f64,
    /// Single look: the two-sided 95 % Clopper-Pearson interval of the rate.
    pub interval: Interval,
    /// The 95 % always-valid confidence sequence at this `n`; the state is decided on it.
    pub always_valid: Interval,
    /// While `collecting`: clean comparisons still needed for `equivalent`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub more_needed: Option<u64>,
    pub max_mismatch_rate: f64,
    pub min_comparisons: u64,
    /// Which bound decides the state, and why `moreNeeded` can exceed `minComparisons`.
    pub decided_by: &'static str,
    pub latest_differing: Vec<Differing>,
}

/// [`Correctness::decided_by`], the same for every verdict.
pub const DECIDED_BY: &str = "The always-valid 95 % bound decides: equivalent once its upper end is at most maxMismatchRate after at least minComparisons comparisons, differs once its lower end is above it. The single-look interval is shown for reading, not decided on. moreNeeded counts the clean comparisons still needed, which exceeds minComparisons when the bound, not the minimum, is what is missing.";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PerformanceState {
    Faster,
    Slower,
    Same,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Performance {
    pub state: PerformanceState,
    /// Every timed pair is a timeout of the candidate: the ratios are the timeout's (lower
    /// bounds), not a duration of the candidate's; shown as "timed out", with the count.
    pub only_timeouts: bool,
    /// Timed comparisons used (the latest, at most [`MAX_PAIRS`]).
    pub pairs: usize,
    /// The median over requests of candidate / control on the same request, with its 95 %
    /// bootstrap interval.
    pub p50_ratio: Estimate,
    /// Candidate p99 / control p99, with its 95 % bootstrap interval.
    pub p99_ratio: Estimate,
    pub max_duration_ratio: f64,
}

/// Cost per million invocations at the mean billed duration; `None` where the memory size is
/// unknown.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Cost {
    pub control_memory_mb: Option<u32>,
    pub candidate_memory_mb: Option<u32>,
    pub control_usd_per_million: Option<f64>,
    pub candidate_usd_per_million: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CandidateVerdict {
    pub candidate: String,
    /// One sentence: the state and the numbers that matter.
    pub sentence: String,
    /// `equivalent` and not `slower`.
    pub promotable: bool,
    /// Why it may not be released yet, in a few words; `None` when it may.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub not_releasable_because: Option<String>,
    /// Comparisons in which the candidate timed out.
    pub timeouts: u64,
    pub correctness: Correctness,
    /// `None` with fewer than [`MIN_PAIRS`] timed comparisons.
    pub performance: Option<Performance>,
    pub cost: Cost,
}

/// The smallest number of further clean comparisons after which `k` failures in `n` would be
/// `equivalent` under `promotion`.
pub fn more_clean_needed(k: u64, n: u64, promotion: &Promotion) -> u64 {
    let enough = |m: u64| {
        n + m >= promotion.min_comparisons
            && stats::always_valid_upper(k, n + m, ALPHA) <= promotion.max_mismatch_rate
    };
    if enough(0) {
        return 0;
    }
    // The bound falls as clean comparisons accumulate: double, then bisect.
    let mut high = 1;
    while !enough(high) {
        high *= 2;
    }
    let mut low = high / 2;
    while high - low > 1 {
        let middle = low + (high - low) / 2;
        if enough(middle) {
            high = middle;
        } else {
            low = middle;
        }
    }
    high
}

pub fn correctness(observed: &Observations, promotion: &Promotion) -> Correctness {
    let (k, n) = (observed.failures(), observed.comparisons);
    let always_valid = Interval {
        low: stats::always_valid_lower(k, n, ALPHA),
        high: stats::always_valid_upper(k, n, ALPHA),
    };
    let threshold = promotion.max_mismatch_rate;
    let state = if always_valid.low > threshold {
        CorrectnessState::Differs
    } else if always_valid.high <= threshold && n >= promotion.min_comparisons {
        CorrectnessState::Equivalent
    } else {
        CorrectnessState::Collecting
    };
    let (low, high) = stats::clopper_pearson_interval(k, n, ALPHA);
    Correctness {
        state,
        comparisons: n,
        failures: k,
        mismatches: observed.mismatches,
        errors: observed.errors,
        intended: observed.intended,
        rate: (n > 0).then(|| k as f64 / n as f64),
        upper_bound: stats::clopper_pearson_upper(k, n, ALPHA),
        interval: Interval { low, high },
        always_valid,
        more_needed: (state == CorrectnessState::Collecting)
            .then(|| more_clean_needed(k, n, promotion)),
        max_mismatch_rate: threshold,
        min_comparisons: promotion.min_comparisons,
        decided_by: DECIDED_BY,
        latest_differing: observed.latest_differing.clone(),
    }
}

/// `None` with fewer than [`MIN_PAIRS`] timed pairs. When every pair is a timeout of the
/// candidate (`timed_out_pairs`), the ratios measure the timeout, not the candidate: they are
/// lower bounds, enough to call it `slower`, and [`Performance::only_timeouts`] says not to show
/// them as its duration.
pub fn performance(
    durations: &[(f64, f64)],
    timed_out_pairs: usize,
    promotion: &Promotion,
) -> Option<Performance> {
    let pairs = &durations[..durations.len().min(MAX_PAIRS)];
    if pairs.len() < MIN_PAIRS {
        return None;
    }
    let only_timeouts = timed_out_pairs >= durations.len();
    let p50_ratio = stats::bootstrap_median_paired_ratio(pairs, RESAMPLES, SEED, ALPHA)?;
    let p99_ratio = stats::bootstrap_quantile_ratio(pairs, 0.99, RESAMPLES, SEED, ALPHA)?;
    let state = if p50_ratio.low > promotion.max_duration_ratio {
        PerformanceState::Slower
    } else if p50_ratio.high < 1.0 {
        PerformanceState::Faster
    } else {
        PerformanceState::Same
    };
    Some(Performance {
        state,
        only_timeouts,
        pairs: pairs.len(),
        p50_ratio,
        p99_ratio,
        max_duration_ratio: promotion.max_duration_ratio,
    })
}

/// USD per million invocations of a function of `memory_mb` whose invocations are billed
/// `mean_billed_ms` on average, at the arm64 price ([`USD_PER_GB_SECOND`]).
pub fn usd_per_million_invocations(memory_mb: u32, mean_billed_ms: f64) -> f64 {
    let gb_seconds = f64::from(memory_mb) / 1024.0 * mean_billed_ms / 1000.0;
    1e6 * gb_seconds * USD_PER_GB_SECOND + USD_PER_MILLION_REQUESTS
}

/// Lambda bills each invocation rounded up to the millisecond. The durations here are measured
/// by the caller around the invocation, so they overstate the billed time a little.
fn mean_billed_ms(durations: impl ExactSizeIterator<Item = f64>) -> Option<f64> {
    let count = durations.len();
    (count > 0).then(|| durations.map(f64::ceil).sum::<f64>() / count as f64)
}

fn cost(observed: &Observations) -> Cost {
    let pairs = &observed.durations[..observed.durations.len().min(MAX_PAIRS)];
    let at =
        |memory: Option<u32>, mean: Option<f64>| Some(usd_per_million_invocations(memory?, mean?));
    Cost {
        control_memory_mb: observed.control_memory_mb,
        candidate_memory_mb: observed.candidate_memory_mb,
        control_usd_per_million: at(
            observed.control_memory_mb,
            mean_billed_ms(pairs.iter().map(|p| p.0)),
        ),
        candidate_usd_per_million: at(
            observed.candidate_memory_mb,
            mean_billed_ms(pairs.iter().map(|p| p.1)),
        ),
    }
}

/// The verdict on one candidate.
pub fn verdict(observed: &Observations, promotion: &Promotion) -> CandidateVerdict {
    let correctness = correctness(observed, promotion);
    let performance = performance(&observed.durations, observed.timed_out_pairs, promotion);
    let slower = performance
        .as_ref()
        .is_some_and(|p| p.state == PerformanceState::Slower);
    let promotable = correctness.state == CorrectnessState::Equivalent && !slower;
    let not_releasable_because = match correctness.state {
        CorrectnessState::Differs => Some("it differs from the control".to_owned()),
        CorrectnessState::Collecting => Some(format!(
            "{} more clean comparisons needed",
            correctness.more_needed.unwrap_or_default()
        )),
        CorrectnessState::Equivalent if slower => Some(format!(
            "slower than the {}× allowed",
            promotion.max_duration_ratio
        )),
        CorrectnessState::Equivalent => None,
    };
    let sentence = sentence(
        &observed.candidate,
        &correctness,
        performance.as_ref(),
        observed.timeouts,
    );
    CandidateVerdict {
        candidate: observed.candidate.clone(),
        sentence,
        promotable,
        not_releasable_because,
        timeouts: observed.timeouts,
        correctness,
        performance,
        cost: cost(observed),
    }
}

/// `1 comparison`, `2 comparisons`: a count with its noun (an `s` for any count but one).
pub fn count(n: u64, noun: &str) -> String {
    if n == 1 {
        format!("1 {noun}")
    } else {
        format!("{n} {noun}s")
    }
}

/// A share as people read it: `31 %`, `4.2 %`, `0.38 %`.
pub fn percent(share: f64) -> String {
    format!("{} %", percent_number(share))
}

fn percent_number(share: f64) -> String {
    let value = share * 100.0;
    if value == 0.0 || value >= 10.0 {
        format!("{value:.0}")
    } else if value >= 1.0 {
        format!("{value:.1}")
    } else {
        format!("{value:.2}")
    }
}

fn sentence(id: &str, c: &Correctness, performance: Option<&Performance>, timeouts: u64) -> String {
    let (k, n, intended) = (c.failures, c.comparisons, c.intended);
    let interval = |k: u64| {
        format!(
            "{}, 95 % interval {}-{} %",
            percent(k as f64 / n as f64),
            percent_number(c.interval.low),
            percent_number(c.interval.high),
        )
    };
    let mut sentence = if intended == 0 {
        let what = if c.errors > 0 {
            format!("differ or fail ({} failed)", c.errors)
        } else {
            "differ".to_owned()
        };
        match c.state {
            CorrectnessState::Differs => format!(
                "{id} differs from the control: {k} of {n} comparisons {what} ({}).",
                interval(k)
            ),
            CorrectnessState::Equivalent => format!(
                "{id} is equivalent: {k} of {n} comparisons {what}; at most {} differ (95 %, always-valid).",
                percent(c.always_valid.high),
            ),
            CorrectnessState::Collecting => format!(
                "{id}: collecting, {} more clean comparisons needed ({k} of {n} {what} so far).",
                c.more_needed.unwrap_or_default(),
            ),
        }
    } else {
        // "3 unintended differences or failures (1 failed) in 412 comparisons"
        let many =
            |count: u64, one: &str, more: &str| if count == 1 { one } else { more }.to_owned();
        let mut unintended = format!("{k} unintended {}", many(k, "difference", "differences"));
        if c.errors > 0 {
            unintended.push_str(&format!(
                " or {} ({} failed)",
                many(k, "failure", "failures"),
                c.errors
            ));
        }
        unintended.push_str(&format!(" in {n} comparisons"));
        match c.state {
            CorrectnessState::Differs => format!(
                "{id} differs from the control: {unintended} ({}; {intended} more intended).",
                interval(k)
            ),
            CorrectnessState::Equivalent => format!(
                "{id} is equivalent: {unintended} ({intended} intended); at most {} differ unintendedly (95 %, always-valid).",
                percent(c.always_valid.high),
            ),
            CorrectnessState::Collecting => format!(
                "{id}: collecting, {} more clean comparisons needed ({unintended} so far, {intended} intended).",
                c.more_needed.unwrap_or_default(),
            ),
        }
    };
    if let Some(p) = performance {
        let r = &p.p50_ratio;
        let state = match p.state {
            PerformanceState::Faster => "faster".to_owned(),
            PerformanceState::Slower => {
                format!("slower than the {}× allowed", p.max_duration_ratio)
            }
            PerformanceState::Same => "about as fast".to_owned(),
        };
        if p.only_timeouts {
            sentence.push_str(&format!(
                " Timed out in {timeouts} of {}: {state}; no duration ratio, a timeout only bounds its duration from below.",
                count(c.comparisons, "comparison"),
            ));
        } else {
            sentence.push_str(&format!(
                " Median duration {:.2}× the control's on the same requests (95 % interval {:.2}-{:.2}): {state}.",
                r.value, r.low, r.high
            ));
        }
    }
    sentence
}

#[cfg(test)]
mod tests {
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
            (0, CorrectnessState::Collecting, Some(needed)),
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
            "half-even differs from the control: 37 of 120 comparisons differ (31 %, 95 % interval 23-40 %)."
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
            "fixed differs from the control: 10 unintended differences or failures (1 failed) in 40 comparisons (25 %, 95 % interval 13-41 %; 5 more intended)."
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
            }
            prop_assert!(c.interval.low <= c.upper_bound + 1e-12);
        }
    }
}
