//! One memory size's samples turned into the figures the report and the recommendation use.
//!
//! Cold starts (samples with an init duration) are shown apart and left out of the steady-state
//! figures, unless every sample is cold. Outliers are then dropped per [`crate::stats`]. Duration is
//! the mean of the kept samples; cost is the mean cost of the kept samples at their billed duration.

use crate::cost::PriceTable;
use crate::recommend::Point;
use crate::report_line::Sample;
use crate::stats::{self, Summary};

/// Local-only evidence that the CPU quota was in force.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CpuQuota {
    pub quota_us: u64,
    pub period_us: u64,
    /// From the cgroup's `cpu.stat`: periods in which the quota ran out, and the time held back.
    pub throttled_periods: u64,
    pub throttled_ms: f64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct MemoryResult {
    pub memory_mb: u32,
    pub invocations: usize,
    pub cold_starts: usize,
    /// Samples in the steady-state figures, after cold starts and outliers are set aside.
    pub kept: usize,
    pub outliers: usize,
    pub duration: Summary,
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
    Some(MemoryResult {
        memory_mb,
        invocations: samples.len(),
        cold_starts: samples.iter().filter(|s| s.is_cold()).count(),
        kept: kept.len(),
        outliers: steady.len() - kept.len(),
        duration,
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
}
