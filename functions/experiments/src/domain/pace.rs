//! "When will we know?": the pace at which an experiment compares requests, how long each
//! `collecting` candidate still needs at that pace if no failure comes, and which sample
//! percentage would reach a verdict by a deadline, at what extra Lambda cost.
//!
//! The pace is read from the latest comparisons of the versions serving now (at most
//! [`PACE_RECORDS`]): how many there were per hour between the oldest and the newest of them.
//! Requests served follow from the sample percentage (compared ≈ served × sample %), so a higher
//! sample percentage compares proportionally more of the same traffic. Both are estimates from
//! recent traffic, not promises: traffic changes, and a failure resets the count of clean
//! comparisons needed.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::domain::record::ComparisonRecord;
use crate::domain::verdict::CandidateVerdict;

/// How many of the latest comparisons the pace is read from.
pub const PACE_RECORDS: usize = 100;

/// Comparisons an hour lower than this are no pace to extrapolate from (fewer than one a day).
const MIN_PER_HOUR: f64 = 1.0 / 24.0;

/// The experiment's recent pace.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Pace {
    /// Comparisons an hour over the latest [`PACE_RECORDS`] at most.
    pub compared_per_hour: f64,
    /// Requests the proxy served an hour, inferred from the sample percentage.
    pub served_per_hour: f64,
    pub sample_percent: f64,
    /// How many comparisons the pace was read from.
    pub comparisons: usize,
}

/// The pace of `records` (newest first), sampled at `sample_percent`; `None` with fewer than two
/// records, records all at one instant, a sample percentage of 0, or times that do not parse.
pub fn pace(records: &[ComparisonRecord], sample_percent: f64) -> Option<Pace> {
    let latest = &records[..records.len().min(PACE_RECORDS)];
    let (newest, oldest) = (latest.first()?, latest.last()?);
    let at = |r: &ComparisonRecord| OffsetDateTime::parse(&r.at, &Rfc3339).ok();
    let hours = (at(newest)? - at(oldest)?).as_seconds_f64() / 3_600.0;
    if latest.len() < 2 || hours <= 0.0 || sample_percent <= 0.0 {
        return None;
    }
    // n records span n - 1 intervals.
    let compared_per_hour = (latest.len() - 1) as f64 / hours;
    (compared_per_hour >= MIN_PER_HOUR).then(|| Pace {
        compared_per_hour,
        served_per_hour: compared_per_hour * 100.0 / sample_percent,
        sample_percent,
        comparisons: latest.len(),
    })
}

/// Seconds until `more` clean comparisons at `pace`.
pub fn seconds_for(more: u64, pace: &Pace) -> f64 {
    more as f64 / pace.compared_per_hour * 3_600.0
}

/// What it takes to reach a verdict within a deadline.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ByDeadline {
    pub deadline_seconds: f64,
    /// The sample percentage that would compare enough in time (never below the current one);
    /// `None` when even 100 % would not.
    pub sample_percent: Option<f64>,
    /// Seconds at 100 %, for when it cannot be made.
    pub seconds_at_full_sample: f64,
    /// What comparing more costs an hour at that percentage over the current one (the control's
    /// second invocation and every candidate's), where every memory size is known.
    pub extra_usd_per_hour: Option<f64>,
}

/// The sample percentage that brings `more` clean comparisons within `deadline_seconds` at the
/// served traffic of `pace`, and its extra cost, given what one comparison costs in invocations
/// (`usd_per_comparison`, `None` where a memory size is unknown).
pub fn by_deadline(
    more: u64,
    pace: &Pace,
    deadline_seconds: f64,
    usd_per_comparison: Option<f64>,
) -> ByDeadline {
    let served_per_second = pace.served_per_hour / 3_600.0;
    let needed_percent = more as f64 / (served_per_second * deadline_seconds) * 100.0;
    let sample_percent = (needed_percent <= 100.0).then(|| needed_percent.max(pace.sample_percent));
    let extra_usd_per_hour = match (sample_percent, usd_per_comparison) {
        (Some(percent), Some(usd)) => {
            Some(pace.served_per_hour * (percent - pace.sample_percent) / 100.0 * usd)
        }
        _ => None,
    };
    ByDeadline {
        deadline_seconds,
        sample_percent,
        seconds_at_full_sample: more as f64 / served_per_second,
        extra_usd_per_hour,
    }
}

/// What one comparison costs in invocations: the control once more and every candidate once,
/// each at its mean billed duration; `None` unless every memory size is known.
pub fn usd_per_comparison(verdicts: &[CandidateVerdict]) -> Option<f64> {
    let control = verdicts.first()?.cost.control_usd_per_million?;
    let candidates: Option<f64> = verdicts
        .iter()
        .map(|v| v.cost.candidate_usd_per_million)
        .sum();
    Some((control + candidates?) / 1e6)
}

/// A duration for people: `45 s`, `12 min`, `3.5 h`, `2.1 days`.
pub fn words(seconds: f64) -> String {
    if seconds < 90.0 {
        format!("{:.0} s", seconds.max(1.0))
    } else if seconds < 90.0 * 60.0 {
        format!("{:.0} min", seconds / 60.0)
    } else if seconds < 48.0 * 3_600.0 {
        format!("{:.1} h", seconds / 3_600.0)
    } else {
        format!("{:.1} days", seconds / 86_400.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::record::{RequestSummary, VariantResult};

    fn at(second: u32) -> ComparisonRecord {
        let variant = VariantResult {
            id: "control".into(),
            name: "c".into(),
            status: Some(200),
            duration_ms: 1.0,
            failure: None,
            failure_detail: None,
            verdict: None,
            version: None,
            function: None,
        };
        ComparisonRecord {
            answered_by: None,
            experiment: "x".into(),
            correlation_id: format!("{second}"),
            at: format!("2026-12-05T10:{:02}:{:02}.000Z", second / 60, second % 60),
            request: RequestSummary {
                method: "GET".into(),
                path: "/x".into(),
                query: String::new(),
                body: String::new(),
            },
            control: variant,
            candidates: Vec::new(),
            noise: None,
        }
    }

    #[test]
    fn the_pace_is_comparisons_an_hour_between_the_oldest_and_newest() {
        // 11 comparisons 36 s apart, newest first: 10 intervals in 360 s, 100 an hour.
        let records: Vec<_> = (0..=10).rev().map(|i| at(i * 36)).collect();
        let pace = pace(&records, 25.0).unwrap();
        assert!((pace.compared_per_hour - 100.0).abs() < 1e-9, "{pace:?}");
        assert!((pace.served_per_hour - 400.0).abs() < 1e-9);
        assert_eq!(pace.comparisons, 11);
        // 350 more at 100 an hour: 3.5 hours.
        assert!((seconds_for(350, &pace) - 12_600.0).abs() < 1e-6);
        assert!(super::pace(&records[..1], 25.0).is_none());
        assert!(super::pace(&[at(5), at(5)], 25.0).is_none());
        assert!(super::pace(&records, 0.0).is_none());
    }

    #[test]
    fn a_deadline_names_the_sample_percentage_and_what_it_costs() {
        let pace = Pace {
            compared_per_hour: 100.0,
            served_per_hour: 400.0,
            sample_percent: 25.0,
            comparisons: 11,
        };
        // 350 more within 2 hours: 175 comparisons an hour of 400 served, 43.75 %.
        let two_hours = by_deadline(350, &pace, 7_200.0, Some(0.000_002));
        assert!((two_hours.sample_percent.unwrap() - 43.75).abs() < 1e-9);
        // 75 more comparisons an hour at $0.000002 each.
        assert!((two_hours.extra_usd_per_hour.unwrap() - 0.000_15).abs() < 1e-12);
        // Within 30 minutes even 100 % (200 in 30 min) is not enough: 52.5 minutes at 100 %.
        let half_hour = by_deadline(350, &pace, 1_800.0, Some(0.000_002));
        assert_eq!(half_hour.sample_percent, None);
        assert!((half_hour.seconds_at_full_sample - 3_150.0).abs() < 1e-9);
        // A deadline the current pace already meets keeps the current percentage.
        let week = by_deadline(350, &pace, 604_800.0, None);
        assert_eq!(week.sample_percent, Some(25.0));
        assert_eq!(week.extra_usd_per_hour, None);
    }

    #[test]
    fn durations_read_in_the_unit_that_fits() {
        assert_eq!(words(40.0), "40 s");
        assert_eq!(words(720.0), "12 min");
        assert_eq!(words(12_600.0), "3.5 h");
        assert_eq!(words(3.0 * 86_400.0), "3.0 days");
    }
}
