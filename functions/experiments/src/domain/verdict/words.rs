//! The verdict in words: the one sentence per candidate, and how counts and rates are written.

use super::*;

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

pub(super) fn percent_number(share: f64) -> String {
    let value = share * 100.0;
    if value == 0.0 || value >= 10.0 {
        format!("{value:.0}")
    } else if value >= 1.0 {
        format!("{value:.1}")
    } else {
        format!("{value:.2}")
    }
}

pub(super) fn sentence(
    id: &str,
    c: &Correctness,
    performance: Option<&Performance>,
    timeouts: u64,
) -> String {
    let (k, n, intended) = (c.failures, c.comparisons, c.intended);
    let interval = |k: u64| {
        // The bound that decides, as the verdict table shows it: one range, not two.
        format!(
            "{}, always-valid 95 % interval {}-{} %",
            percent(k as f64 / n as f64),
            percent_number(c.always_valid.low),
            percent_number(c.always_valid.high),
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
            CorrectnessState::Inconclusive => format!(
                "{id}: inconclusive, {}.",
                c.inconclusive_because.as_deref().unwrap_or("no evidence")
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
            CorrectnessState::Inconclusive => format!(
                "{id}: inconclusive, {}.",
                c.inconclusive_because.as_deref().unwrap_or("no evidence")
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
