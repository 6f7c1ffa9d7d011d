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

#[cfg(test)]
mod tests;
mod words;

use words::sentence;
pub use words::{count, percent};

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
    /// No evidence to decide on: no comparison at all, or comparisons lost unevenly
    /// ([`crate::domain::coverage`]). Never a pass.
    Inconclusive,
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
    /// Why the verdict is `inconclusive`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub inconclusive_because: Option<String>,
    /// While `collecting`: about how many seconds those take at the experiment's recent pace if
    /// no failure comes ([`crate::domain::pace`]); `None` without a pace.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub eta_seconds: Option<f64>,
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

/// Why a candidate without a single comparison is `inconclusive`, not `collecting`.
pub const NO_COMPARISONS: &str = "no comparison of the versions serving now yet (a control that only fails, or requests all skipped, give none either)";

pub fn correctness(observed: &Observations, promotion: &Promotion) -> Correctness {
    let (k, n) = (observed.failures(), observed.comparisons);
    let always_valid = Interval {
        low: stats::always_valid_lower(k, n, ALPHA),
        high: stats::always_valid_upper(k, n, ALPHA),
    };
    let threshold = promotion.max_mismatch_rate;
    let state = if n == 0 {
        CorrectnessState::Inconclusive
    } else if always_valid.low > threshold {
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
        more_needed: matches!(
            state,
            CorrectnessState::Collecting | CorrectnessState::Inconclusive
        )
        .then(|| more_clean_needed(k, n, promotion)),
        inconclusive_because: (n == 0).then(|| NO_COMPARISONS.to_owned()),
        eta_seconds: None,
        max_mismatch_rate: threshold,
        min_comparisons: promotion.min_comparisons,
        decided_by: DECIDED_BY,
        latest_differing: observed.latest_differing.clone(),
    }
}

/// Marks a verdict `inconclusive` for `why` (comparisons lost unevenly): whatever its counts say,
/// they do not represent the traffic, so it may not be released on them.
pub fn make_inconclusive(verdict: &mut CandidateVerdict, why: &str) {
    let c = &mut verdict.correctness;
    if c.state != CorrectnessState::Inconclusive {
        verdict.sentence = format!(
            "{}: inconclusive, {why}. The counts alone would say: {}",
            verdict.candidate, verdict.sentence
        );
    }
    c.state = CorrectnessState::Inconclusive;
    c.inconclusive_because = Some(why.to_owned());
    verdict.promotable = false;
    verdict.not_releasable_because = Some(format!("inconclusive: {why}"));
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
        CorrectnessState::Inconclusive => Some(format!(
            "inconclusive: {}",
            correctness
                .inconclusive_because
                .as_deref()
                .unwrap_or("no evidence")
        )),
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
