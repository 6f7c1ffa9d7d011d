//! One memory size's samples turned into the figures the report and the recommendation use.
//!
//! Cold starts (samples with an init duration) are shown apart and left out of the steady-state
//! figures, unless every sample is cold. Outliers are then dropped per [`crate::stats`]. Duration is
//! the mean of the kept samples; cost is the mean cost of the kept samples at their billed duration.
//! p95 and p99 are over every sample, cold starts included (init + duration), as callers see them.

use crate::cost::PriceTable;
pub use crate::model::CpuQuota;
use crate::model::Flagged;
use crate::recommend::Point;
use crate::report_line::Sample;
use crate::stats::{self, Summary};

#[derive(Debug, Clone, PartialEq)]
pub struct MemoryResult {
    pub memory_mb: u32,
    pub invocations: usize,
    pub cold_starts: usize,
    /// Samples in the steady-state figures, after cold starts and outliers are set aside.
    pub kept: usize,
    pub outliers: usize,
    pub duration: Summary,
    /// Over every sample, cold starts included at their init + duration (what a caller waits).
    pub p95_ms: f64,
    pub p99_ms: f64,
    pub billed_mean_ms: f64,
    pub cost_usd: f64,
    /// The first cold start's init duration.
    pub init_ms: Option<f64>,
    pub max_memory_used_mb: Option<u32>,
    pub cpu_quota: Option<CpuQuota>,
}

impl MemoryResult {
    pub fn point(&self) -> Point {
        Point {
            memory_mb: self.memory_mb,
            duration_ms: self.duration.mean,
            duration_margin_ms: self.duration.mean_margin.unwrap_or(0.0),
            cost_usd: self.cost_usd,
        }
    }
}

/// `None` when there are no samples.
pub fn summarise(memory_mb: u32, samples: &[Sample], prices: &PriceTable) -> Option<MemoryResult> {
    let warm: Vec<&Sample> = samples.iter().filter(|s| !s.is_cold()).collect();
    let steady: Vec<&Sample> = if warm.is_empty() {
        samples.iter().collect()
    } else {
        warm
    };
    let durations: Vec<f64> = steady.iter().map(|s| s.duration_ms).collect();
    let kept: Vec<&Sample> = stats::kept_indices(&durations)
        .into_iter()
        .map(|i| steady[i])
        .collect();
    let kept_durations: Vec<f64> = kept.iter().map(|s| s.duration_ms).collect();
    let duration = Summary::of(&kept_durations)?;
    let n = kept.len() as f64;
    let mut waits: Vec<f64> = samples
        .iter()
        .map(|s| s.duration_ms + s.init_ms.unwrap_or(0.0))
        .collect();
    waits.sort_by(f64::total_cmp);
    Some(MemoryResult {
        memory_mb,
        invocations: samples.len(),
        cold_starts: samples.iter().filter(|s| s.is_cold()).count(),
        kept: kept.len(),
        outliers: steady.len() - kept.len(),
        duration,
        p95_ms: measure::percentile_of_sorted(&waits, 0.95)?,
        p99_ms: measure::percentile_of_sorted(&waits, 0.99)?,
        billed_mean_ms: kept.iter().map(|s| s.billed_ms as f64).sum::<f64>() / n,
        cost_usd: kept
            .iter()
            .map(|s| prices.invocation_usd(memory_mb, s.billed_ms))
            .sum::<f64>()
            / n,
        init_ms: samples.iter().find_map(|s| s.init_ms),
        max_memory_used_mb: samples.iter().filter_map(|s| s.max_memory_used_mb).max(),
        cpu_quota: None,
    })
}

/// The sizes to leave out: those that failed, and those whose answer differs from the one most
/// sizes gave (on a tie, the smallest size's). `answers`: size, its answer, its failure.
pub fn flag_sizes(answers: &[(u32, Option<String>, Option<String>)]) -> Vec<Flagged> {
    let given: Vec<&String> = answers.iter().filter_map(|(_, a, _)| a.as_ref()).collect();
    let reference = given
        .iter()
        .max_by_key(|a| {
            let count = given.iter().filter(|b| b == a).count();
            let first = given.iter().position(|b| b == *a).unwrap_or(0);
            (count, std::cmp::Reverse(first))
        })
        .copied();
    answers
        .iter()
        .filter_map(|(mb, answer, failure)| {
            let reason = match (failure, answer) {
                (Some(failure), _) => failure.clone(),
                (None, None) => "no answer".to_string(),
                (None, Some(a)) if Some(a) != reference => {
                    format!(
                        "answered {a}, most sizes answered {}",
                        reference.map_or("", |r| r)
                    )
                }
                _ => return None,
            };
            Some(Flagged {
                memory_mb: *mb,
                reason,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cost::ARM64_US_EAST_1;

    fn sample(duration_ms: f64, init_ms: Option<f64>) -> Sample {
        Sample {
            duration_ms,
            billed_ms: (duration_ms + init_ms.unwrap_or(0.0)).ceil() as u64,
            memory_mb: 512,
            max_memory_used_mb: Some(18),
            init_ms,
        }
    }

    #[test]
    fn the_cold_start_and_a_slow_outlier_stay_out_of_the_steady_figures() {
        let samples = [
            sample(44.0, Some(30.0)),
            sample(40.0, None),
            sample(41.0, None),
            sample(40.5, None),
            sample(40.5, None),
            sample(90.0, None),
        ];
        let r = summarise(512, &samples, &ARM64_US_EAST_1).unwrap();
        assert_eq!(
            (r.invocations, r.cold_starts, r.kept, r.outliers),
            (6, 1, 4, 1)
        );
        assert_eq!(r.duration.mean, 40.5);
        assert_eq!(r.init_ms, Some(30.0));
        // Waits 74 (cold: 30 + 44), 40, 41, 40.5, 40.5, 90: the cold start and the outlier count.
        // Nearest rank (measure::percentile): the 6th of 6 for both.
        assert_eq!((r.p95_ms, r.p99_ms), (90.0, 90.0));
        // Billed 40, 41, 41, 41 ms.
        assert_eq!(r.billed_mean_ms, 40.75);
        let want = (ARM64_US_EAST_1.invocation_usd(512, 40)
            + 3.0 * ARM64_US_EAST_1.invocation_usd(512, 41))
            / 4.0;
        assert!((r.cost_usd - want).abs() < 1e-18);
    }

    #[test]
    fn when_every_sample_is_cold_they_are_all_used() {
        let samples = [sample(12.0, Some(30.0)), sample(13.0, Some(29.0))];
        let r = summarise(1769, &samples, &ARM64_US_EAST_1).unwrap();
        assert_eq!((r.kept, r.cold_starts), (2, 2));
        assert_eq!(r.duration.mean, 12.5);
    }

    #[test]
    fn no_samples_no_result() {
        assert_eq!(summarise(128, &[], &ARM64_US_EAST_1), None);
    }

    #[test]
    fn a_size_that_fails_or_answers_differently_is_flagged_not_averaged() {
        let ok = || Some("200 \"hash=ab\"".to_string());
        let answers = [
            (
                128,
                None,
                Some("invocation 1 answered HTTP 500".to_string()),
            ),
            (256, ok(), None),
            (512, Some("200 \"hash=zz\"".to_string()), None),
            (1769, ok(), None),
        ];
        let flagged = flag_sizes(&answers);
        let sizes: Vec<u32> = flagged.iter().map(|f| f.memory_mb).collect();
        assert_eq!(sizes, [128, 512]);
        assert!(flagged[0].reason.contains("HTTP 500"), "{:?}", flagged[0]);
        assert!(flagged[1].reason.contains("hash=zz"), "{:?}", flagged[1]);
        assert!(flag_sizes(&[(128, ok(), None), (256, ok(), None)]).is_empty());
    }
}
