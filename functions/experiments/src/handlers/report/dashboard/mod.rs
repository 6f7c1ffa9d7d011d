//! The experiment dashboard: one self-contained HTML page (inline CSS and SVG, no scripts, no
//! external assets) with the verdict on each candidate at the top (one sentence each, marked
//! `data-verdict="<candidate>"`, the same text as the JSON report's `sentence`), the numbers behind
//! it, the report's figures, two charts, the mismatches grouped by input (each distinct input once,
//! with how many times it mismatched), the latest differences the experiment intends, and the
//! latest exploration of each candidate (`./build.sh explore`: the minimal input that separates it
//! from the control, or none in so many cases). Each difference is shown as the comparator wrote it (see
//! [`crate::domain::compare`]), its lines and spaces kept so that a caret stays under the character
//! it points at.
//!
//! The view is a pure function from the report to markup, written with maud's `html!`: every value
//! spliced into the page is escaped by the template, so stored inputs, bodies, differences and
//! names cannot add markup to it.

//!
//! Its parts: [`verdict_table`], [`charts`], [`differences`]; the stylesheet is `dashboard.css`.

mod charts;
mod differences;
#[cfg(test)]
mod tests;
mod verdict_table;

use maud::{DOCTYPE, Markup, PreEscaped, html};

use crate::domain::coverage::Coverage;
use crate::domain::definition::Experiment;
use crate::domain::promotion::Event;
use crate::domain::record::Counts;
use crate::domain::report::{REPORT_WINDOW, Report, VariantFigures};
use crate::domain::verdict::{self, CandidateVerdict, CorrectnessState};
use crate::handlers::report::View;

use charts::{duration_chart, outcome_chart};
use differences::{difference_heading, difference_rows, exploration_rows, group_rows};
use verdict_table::{VERDICT_COLUMNS, column_widths, latest_differing_rows, verdict_rows};

/// The page's stylesheet (`dashboard.css`). Static text with no data in it, so it goes into
/// `<style>` (a raw-text element, where escaping would break selectors) as it is.
const STYLE: &str = include_str!("dashboard.css");

/// What the page shows for a missing figure.
const NONE: &str = "–";

/// A number to one decimal: durations in ms, and the charts' coordinates.
fn tenths(value: f64) -> String {
    format!("{value:.1}")
}

fn ms(value: Option<f64>) -> String {
    value.map_or_else(|| NONE.to_owned(), tenths)
}

fn state_name(state: CorrectnessState) -> &'static str {
    match state {
        CorrectnessState::Collecting => "collecting",
        CorrectnessState::Differs => "differs",
        CorrectnessState::Equivalent => "equivalent",
        CorrectnessState::Inconclusive => "inconclusive",
    }
}

/// The sentence of every verdict, one paragraph each.
fn verdict_sentences(verdicts: &[CandidateVerdict]) -> Markup {
    html! {
        @for v in verdicts {
            @let state = state_name(v.correctness.state);
            p class={ "verdict " (state) }
                data-verdict=(v.candidate)
                data-state=(state)
                data-promotable=(v.promotable) { (v.sentence) }
        }
    }
}

/// Whether comparisons were lost evenly across kinds of request ([`crate::domain::coverage`]).
fn coverage_table(coverage: &Coverage) -> Markup {
    html! {
        h3 { "Coverage" }
        p class="note" {
            "Sampled requests by kind, and how many were compared (since the last reset). Lost \
             unevenly beyond chance, the comparisons do not represent the traffic and every \
             verdict is inconclusive."
            @if coverage.in_flight > 0 { " " (coverage.in_flight) " on their way now." }
        }
        @if let Some(why) = &coverage.uneven {
            p class="verdict differs" id="uneven" { (why) }
        }
        table id="coverage" {
            thead { tr { th { "kind of request" } th { "sampled" } th { "compared" } th { "kept" } } }
            tbody {
                @for c in &coverage.classes {
                    tr {
                        td { (c.class) }
                        td class="count" { (c.sampled) }
                        td class="count" { (c.compared) }
                        td class="count" {
                            @if c.sampled > 0 {
                                (format!("{:.0} %", c.compared as f64 / c.sampled as f64 * 100.0))
                            } @else { (NONE) }
                        }
                    }
                }
                @if coverage.classes.is_empty() {
                    tr { td colspan="4" { "Nothing sampled since the last reset." } }
                }
            }
        }
    }
}

/// One row of the variants' figures; the outcome columns are empty for the control, which is
/// not compared with itself.
fn variant_row(v: &VariantFigures) -> Markup {
    let compared = v.id != "control";
    html! {
        tr data-variant=(v.id) {
            th scope="row" { (v.id) }
            td { (v.name) }
            td class="calls" { (v.calls) }
            td class="matches" { @if compared { (v.matches) } @else { (NONE) } }
            td class="intended" { @if compared { (v.intended) } @else { (NONE) } }
            td class="mismatches" { @if compared { (v.mismatches) } @else { (NONE) } }
            td class="errors" { (v.errors) }
            td class="p50" { (ms(v.p50_ms)) }
            td class="p90" { (ms(v.p90_ms)) }
            td class="p99" { (ms(v.p99_ms)) }
        }
    }
}

/// The dashboard page of `experiment`, showing `report`.
/// Which comparisons the page covers, and a link to the others.
fn view_line(view: &View) -> Markup {
    let versions: Vec<String> = view
        .versions
        .iter()
        .map(|(id, version)| match version {
            Some(version) => format!("{id} {version}"),
            // A variant that timed out or crashed in the latest comparison reported no version.
            None => format!("{id}: no version (it gave no answer)"),
        })
        .collect();
    // Relative links: the page is served under a prefix locally (`/lambda-url/...`) and on AWS.
    html! {
        p id="view" data-all=(view.all) data-older=(view.older) {
            @if view.all {
                "All comparisons of the window, whatever versions they ran. "
                a id="current-versions" href="dashboard" { "Only those since the current versions" }
            } @else {
                "Since the current versions"
                @if !versions.is_empty() { " (" (versions.join(", ")) ")" }
                ". "
                @if view.older > 0 {
                    (view.older) " comparisons of earlier versions or of another arrangement \
                     (before a promotion or its undo) left out: "
                }
                a id="older-records" href="?all=1" { "show all comparisons" }
            }
        }
    }
}

/// The experiment's promotions and undos, newest first: what, when, by whom, forced or on which
/// verdict.
fn promotion_rows(history: &[Event]) -> Markup {
    html! {
        @if history.is_empty() {
            tr { td colspan="5" { "Never promoted: the control is the definition's." } }
        }
        @for event in history.iter().rev() {
            @match event {
                Event::Promoted(p) => tr data-action="promoted" data-forced=(p.forced) {
                    td { "promoted " strong { (p.candidate) } }
                    td { (p.at) }
                    td { (p.by) }
                    td { @if p.forced { strong { "forced" } } @else { "on the verdict" } }
                    td {
                        @if let Some(reason) = &p.reason { "Reason: " (reason) ". " }
                        "Verdict then: " (p.verdict)
                    }
                },
                Event::Undone { candidate, by, at } => tr data-action="undone" {
                    td { "undid the promotion of " strong { (candidate) } }
                    td { (at) }
                    td { (by) }
                    td { "" }
                    td { "Its control answers again; the comparisons from before the promotion count again." }
                },
            }
        }
    }
}

pub fn render(
    experiment: &Experiment,
    report: &Report,
    counts: &Counts,
    view: &View,
    history: &[Event],
) -> Markup {
    let candidates: Vec<&VariantFigures> = report
        .variants
        .iter()
        .filter(|v| v.id != "control")
        .collect();
    let noise = experiment.noise_baseline;
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { "Experiment " (experiment.name) }
                style { (PreEscaped(STYLE)) (PreEscaped(column_widths())) }
            }
            body {
                h1 { "Experiment " span id="experiment-name" { (experiment.name) } }
                p {
                    "Path " code { (experiment.path) }
                    " · control " strong { (experiment.control.name) }
                    " · sampling " (experiment.sample_percent) "%"
                    " · candidate timeout " (experiment.timeout.as_millis()) " ms"
                    @if noise { " · noise baseline on" }
                }
                p id="compared" data-compared=(counts.compared) data-served=(counts.served) {
                    "All versions: " (counts.sentence()) "."
                }
                (view_line(view))
                p id="window" {
                    "This page: "
                    span id="comparisons" { (report.comparisons) }
                    @if report.comparisons == 1 { " comparison" } @else { " comparisons" }
                    " (the latest " (REPORT_WINDOW) " at most"
                    @if !view.all { ", current versions only" }
                    ")"
                    @if let Some(since) = &report.since { ", the oldest at " (since) }
                    "."
                    @if !view.all {
                        " The verdicts count every comparison of the current versions (running \
                         totals), not only these."
                    }
                    @if report.comparisons == 0 {
                        strong id="no-comparisons" {
                            " No comparison of the arrangement serving now yet (after a promotion \
                             or an undo, or a fresh start): the tables and charts below fill as \
                             requests come through the proxy."
                        }
                    }
                }
                @if let Some(pace) = &report.pace {
                    p id="pace" {
                        "Pace: about " (format!("{:.0}", pace.compared_per_hour))
                        " comparisons an hour lately (the latest " (pace.comparisons)
                        "), of about " (format!("{:.0}", pace.served_per_hour))
                        " requests served at " (pace.sample_percent) " % sampled. "
                        "\"More needed\" says how long the rest takes at this pace if no failure comes; "
                        code { "./build.sh verdict ... --by 30m" } " names the sample percentage that "
                        "would make a deadline, and its cost."
                    }
                }
                section id="verdicts" { (verdict_sentences(&report.verdicts)) }
                p class="note" id="why-asymmetric" {
                    "Why " strong { "differs" } " can come after one comparison and "
                    strong { "equivalent" } " only after hundreds: each is decided on a bound that "
                    "stays valid however often this page is read. A few failures early already put "
                    "the failure rate's lower bound above the allowed rate (one failure in one "
                    "comparison puts it at 2.5 %); showing it is below the allowed rate takes enough "
                    "clean comparisons to bring the upper bound under it (about 450 at 2 %). That is "
                    "also why \"more needed\" can exceed the minimum number of comparisons."
                }
                h2 { "Verdict" }
                table id="verdict-figures" {
                    // Fixed widths for the figures (the table's layout is fixed, so no long input
                    // or difference widens it past the window); the inputs take the rest.
                    colgroup {
                        @for (_, width) in VERDICT_COLUMNS {
                            // Widths from the stylesheet (column_widths): the page's CSP
                            // allows no style attributes.
                            @if width.is_some() { col class="fixed"; } @else { col; }
                        }
                    }
                    thead {
                        tr {
                            @for (heading, _) in VERDICT_COLUMNS {
                                th { (heading) }
                            }
                        }
                    }
                    tbody { (verdict_rows(&report.verdicts)) }
                }
                h3 { "Latest differing inputs" }
                table id="latest-differing" {
                    thead {
                        tr {
                            th { "candidate" } th { "request" } th { "difference or failure" }
                            th { "at" }
                        }
                    }
                    tbody { (latest_differing_rows(&report.verdicts)) }
                }
                @if let Some(coverage) = &report.coverage {
                    (coverage_table(coverage))
                }
                h2 { "Promotions" }
                table id="promotions" {
                    thead {
                        tr { th { "what" } th { "when" } th { "by" } th { "how" } th { "why" } }
                    }
                    tbody { (promotion_rows(history)) }
                }
                details id="method" {
                    summary { "How the verdict is decided" }
                    p {
                        "A candidate fails a comparison when its answer differs from the control's"
                        @if noise { " (net of the control's own noise)" }
                        " or when it times out, crashes or answers garbage. A difference the experiment \
                         declares as intended (the control's answer, rewritten as declared, equals the \
                         candidate's) is counted apart and is not a failure; any other difference is. \
                         The verdict is decided on a 95 % always-valid bound (Robbins' mixture confidence \
                         sequence): reading it after every comparison does not make a wrong "
                        em { "equivalent" }
                        " more likely than 5 %. The single-look interval is the exact two-sided 95 % \
                         Clopper-Pearson interval. Durations: candidate / control at p50 and p99 with a \
                         95 % bootstrap interval; "
                        em { "slower" }
                        " when the p50 interval lies above the allowed "
                        (experiment.promotion.max_duration_ratio) "×, "
                        em { "faster" }
                        " when it lies below 1. Cost per million invocations at Lambda's arm64 price in \
                         us-east-1."
                    }
                }
                h2 { "Variants" }
                table id="figures" {
                    thead {
                        tr {
                            @for heading in [
                                "variant", "name", "calls", "matches", "intended", "mismatches",
                                "errors", "p50 ms", "p90 ms", "p99 ms",
                            ] {
                                th { (heading) }
                            }
                        }
                    }
                    tbody {
                        @for v in &report.variants { (variant_row(v)) }
                    }
                }
                h2 { "Outcomes" }
                p class="legend" {
                    span class="match" {} "matches"
                    span class="intended" {} "intended differences"
                    span class="mismatch" {} "mismatches"
                    span class="error" {} "errors (timeouts, failures, malformed answers)"
                }
                (outcome_chart(&candidates))
                h2 { "Duration" }
                (duration_chart(&report.variants))
                @if !report.noisy_fields.is_empty() {
                    h2 { "Noise: where the control disagrees with itself" }
                    p class="note" {
                        "The noise baseline asks the control twice; these fields differed between its \
                         own two answers. A JSON path that does in at least 1 % of comparisons is \
                         proposed for the definition's " code { "ignore:" } " (review it before \
                         pasting: nothing is applied by itself)."
                    }
                    table id="noise" {
                        thead { tr { th { "field" } th { "disagreed" } th { "proposed" } } }
                        tbody {
                            @for f in &report.noisy_fields {
                                tr {
                                    td { code { (f.field) } }
                                    td class="count" {
                                        (f.disagreements) " of " (f.of) " ("
                                        (verdict::percent(f.share)) ")"
                                    }
                                    td { @if let Some(line) = &f.suggested_ignore { code { (line) } } @else { (NONE) } }
                                }
                            }
                        }
                    }
                }
                h2 { "Mismatches by input" }
                table id="mismatches" {
                    thead {
                        tr {
                            th { "times" } th { "variant" } th { "request" }
                            th { "latest difference" } th { "latest at" }
                        }
                    }
                    tbody { (group_rows(&report.mismatches_by_input)) }
                }
                h2 { "Latest intended differences" }
                table id="intended-differences" {
                    thead { (difference_heading()) }
                    tbody {
                        (difference_rows(&report.latest_intended, "No intended differences in this window."))
                    }
                }
                h2 { "Explored" }
                p {
                    "Generated requests sent to the control and each candidate, not through the \
                     experiment (none of them is counted above); the first difference shrunk to \
                     the smallest request that still differs."
                }
                table id="explorations" {
                    thead {
                        tr {
                            th { "candidate" } th { "at" } th { "inputs" } th { "cases" }
                            th { "result" }
                        }
                    }
                    tbody { (exploration_rows(experiment, &report.explorations)) }
                }
            }
        }
    }
}
