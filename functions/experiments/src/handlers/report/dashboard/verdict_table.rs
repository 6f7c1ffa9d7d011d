//! The verdict table: for each candidate the figures its verdict is decided on, each above what
//! it is measured against, and the latest inputs on which it differed, with whole differences.

use maud::{Markup, html};

use super::{NONE, state_name};
use crate::domain::pace;
use crate::domain::verdict::{self, CandidateVerdict, Interval, PerformanceState};

/// The verdict table's fixed column widths as style rules (the page allows no `style` attributes).
pub(super) fn column_widths() -> String {
    VERDICT_COLUMNS
        .iter()
        .enumerate()
        .filter_map(|(i, (_, width))| {
            width.map(|w| {
                format!(
                    "  #verdict-figures col:nth-child({}) {{ width: {w}; }}\n",
                    i + 1
                )
            })
        })
        .collect()
}

pub(super) const VERDICT_COLUMNS: [(&str, Option<&str>); 8] = [
    ("candidate", Some("6rem")),
    ("may be released", Some("8rem")),
    ("state", Some("5.5rem")),
    ("failures", Some("7rem")),
    ("failure rate, always-valid 95 % (decides)", Some("9rem")),
    ("more needed", Some("5rem")),
    ("median duration ratio (decides)", Some("9rem")),
    ("cost per million, control → candidate", None),
];

/// An interval of rates, as `low-high` percentages.
pub(super) fn interval(interval: Interval) -> String {
    format!(
        "{}-{}",
        verdict::percent(interval.low),
        verdict::percent(interval.high)
    )
}

/// A cost per million invocations, or [`NONE`] where the memory size is unknown.
pub(super) fn usd(value: Option<f64>) -> String {
    value.map_or_else(|| NONE.to_owned(), |value| format!("${value:.2}"))
}

/// What the cost cell's title says of one side: its memory size, or that it is unknown.
pub(super) fn memory(memory_mb: Option<u32>) -> String {
    memory_mb.map_or_else(|| "memory size unknown".to_owned(), |mb| format!("{mb} MB"))
}

/// The latest differing comparisons, one per input (the first, newest, of each).
pub(super) fn distinct_inputs(differing: &[verdict::Differing]) -> Vec<&verdict::Differing> {
    let mut seen = std::collections::HashSet::new();
    differing
        .iter()
        .filter(|d| seen.insert(d.input.as_str()))
        .collect()
}

/// The numbers behind each verdict: in each cell the figure first, then what it is measured
/// against. The inputs that differed are in [`latest_differing_rows`], where their differences
/// have the page's width.
pub(super) fn verdict_rows(verdicts: &[CandidateVerdict]) -> Markup {
    html! {
        @for v in verdicts {
            @let c = &v.correctness;
            tr data-verdict-figures=(v.candidate) {
                th scope="row" { (v.candidate) }
                td class="releasable" {
                    @match &v.not_releasable_because {
                        None => strong { "yes" },
                        Some(why) => { "no" small { (why) } },
                    }
                }
                td class="state" { (state_name(c.state)) }
                td class="num" {
                    (c.failures) " of " (c.comparisons)
                    small {
                        (c.mismatches) " differ, " (c.errors) " failed; "
                        span class="intended" { (c.intended) } " intended, not failures"
                    }
                }
                td class="num" {
                    (interval(c.always_valid))
                    small { "at most " (verdict::percent(c.max_mismatch_rate)) " to pass" }
                    small {
                        "observed "
                        @if let Some(rate) = c.rate { (verdict::percent(rate)) } @else { (NONE) }
                        ", one look " (interval(c.interval)) " (shown)"
                    }
                }
                td class="num" {
                    @if let Some(more) = c.more_needed {
                        (more)
                        // How far along, and how long the rest takes at the recent pace.
                        progress value=(c.comparisons) max=(c.comparisons + more) {}
                        @if let Some(eta) = c.eta_seconds {
                            small class="eta" { "about " (pace::words(eta)) " at the recent pace" }
                        }
                    } @else { (NONE) }
                    small { "at least " (c.min_comparisons) " in all" }
                }
                td class="num" { (duration_cell(v)) }
                td class="cost num" title={
                    "control at " (memory(v.cost.control_memory_mb))
                    ", candidate at " (memory(v.cost.candidate_memory_mb))
                } {
                    (usd(v.cost.control_usd_per_million)) " → "
                    (usd(v.cost.candidate_usd_per_million))
                    small { "at " (memory(v.cost.control_memory_mb)) " → " (memory(v.cost.candidate_memory_mb)) }
                }
            }
        }
    }
}

/// The duration cell: the median ratio and its interval against the tolerance, which is what
/// decides, then the p99 ratio, which is only shown. A candidate that only timed out has no
/// duration of its own: it says so, with the count.
pub(super) fn duration_cell(v: &CandidateVerdict) -> Markup {
    let Some(p) = &v.performance else {
        return html! { (NONE) small { "too few timed comparisons" } };
    };
    if p.only_timeouts {
        return html! { "timed out" small { (v.timeouts) " times, no duration of its own" } };
    }
    let speed = match p.state {
        PerformanceState::Faster => "faster",
        PerformanceState::Slower => "slower",
        PerformanceState::Same => "same",
    };
    html! {
        (format!("{:.2}×", p.p50_ratio.value)) ", " (speed)
        small {
            (format!("({:.2}-{:.2})", p.p50_ratio.low, p.p50_ratio.high))
            ", at most " (format!("{}×", p.max_duration_ratio)) " to pass"
        }
        small { (format!("p99 {:.2}× (shown)", p.p99_ratio.value)) }
    }
}

/// The latest differing comparisons of every candidate, one row per distinct input, each with
/// its whole difference (or failure), lines kept.
pub(super) fn latest_differing_rows(verdicts: &[CandidateVerdict]) -> Markup {
    let any = verdicts
        .iter()
        .any(|v| !v.correctness.latest_differing.is_empty());
    html! {
        @for v in verdicts {
            @for d in distinct_inputs(&v.correctness.latest_differing) {
                tr data-latest-differing=(v.candidate) {
                    th scope="row" { (v.candidate) }
                    td { code { (d.input) } }
                    td { code class="diff" { (d.why) } }
                    td { (d.at) }
                }
            }
        }
        @if !any { tr { td colspan="4" { "No candidate differed in this window." } } }
    }
}
