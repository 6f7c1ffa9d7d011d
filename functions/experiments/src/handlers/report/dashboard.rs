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

use maud::{DOCTYPE, Markup, PreEscaped, html};

use crate::domain::compare::Outcome;
use crate::domain::definition::Experiment;
use crate::domain::promotion::Event;
use crate::domain::record::Counts;
use crate::domain::report::{
    Explored, Mismatch, MismatchGroup, REPORT_WINDOW, Report, VariantFigures,
};
use crate::domain::verdict::{
    self, CandidateVerdict, CorrectnessState, Interval, PerformanceState,
};
use crate::handlers::report::View;

/// The page's stylesheet. Static text with no data in it, so it goes into `<style>` (a raw-text
/// element, where escaping would break selectors) as it is.
const STYLE: &str = r#"
  body { font-family: system-ui, sans-serif; margin: 2rem auto; max-width: 60rem; padding: 0 1rem; color: #1d1d1f; }
  table { border-collapse: collapse; width: 100%; margin: 1rem 0 2rem; }
  th, td { border-bottom: 1px solid #ddd; padding: .4rem .6rem; text-align: left; vertical-align: top; }
  td.count, td.calls, td.matches, td.intended, td.mismatches, td.errors, td.p50, td.p90, td.p99 { text-align: right; font-variant-numeric: tabular-nums; }
  code { word-break: break-all; }
  /* A difference keeps its lines and spaces: the caret under a differing line of text points at
     the first character that differs. Long lines scroll rather than wrap. */
  code.diff { display: block; white-space: pre; overflow-x: auto; word-break: normal; }
  /* Beside the verdict's figures there is less room: the lines wrap there. */
  #verdict-figures code.diff { white-space: pre-wrap; overflow-wrap: anywhere; margin-top: .2rem; }
  svg { max-width: 100%; height: auto; font-size: 12px; }
  p.note { color: #555; font-size: .9rem; }
  .label { font-size: 13px; } .tick { fill: #555; } .in-bar { fill: #fff; font-weight: 600; }
  .grid { stroke: #ccc; stroke-dasharray: 2 3; }
  .match { fill: #2e7d32; } .intended { fill: #6a1b9a; } .mismatch { fill: #c62828; } .error { fill: #757575; }
  .p50 { fill: #1565c0; } .p90 { fill: #42a5f5; } .p99 { fill: #90caf9; }
  .verdict { font-size: 1.2rem; padding: .6rem .8rem; border-left: .4rem solid #757575; background: #f5f5f5; margin: .5rem 0; }
  .verdict.differs { border-color: #c62828; } .verdict.equivalent { border-color: #2e7d32; }
  /* Eight columns within the text column: each figure on top, what it is measured against below. */
  #verdict-figures { table-layout: fixed; font-size: .9rem; }
  #verdict-figures th, #verdict-figures td { padding: .4rem .5rem; }
  #verdict-figures thead th { vertical-align: bottom; }
  #verdict-figures td.num { text-align: right; font-variant-numeric: tabular-nums; }
  #verdict-figures td.cost { white-space: nowrap; }
  #verdict-figures td small { display: block; color: #555; overflow-wrap: break-word; }
  /* The tables of differences keep the text column's width: a long line of a difference scrolls
     inside its cell. */
  #latest-differing, #mismatches { table-layout: fixed; }
  #latest-differing th:nth-child(1), #mismatches th:nth-child(2) { width: 6rem; }
  #latest-differing th:nth-child(2), #mismatches th:nth-child(3) { width: 11rem; }
  #latest-differing th:nth-child(4), #mismatches th:nth-child(5) { width: 7rem; }
  #mismatches th:nth-child(1) { width: 3.5rem; }
  #latest-differing td code, #mismatches td code { overflow-wrap: anywhere; word-break: normal; }
  #latest-differing td code.diff, #mismatches td code.diff { overflow-wrap: normal; }
  .legend .match { background: #2e7d32; } .legend .intended { background: #6a1b9a; }
  .legend .mismatch { background: #c62828; } .legend .error { background: #757575; }
  .legend span { display: inline-block; width: .9rem; height: .9rem; vertical-align: middle; margin: 0 .3rem 0 1rem; }
"#;

/// The verdict table's columns and their widths (`None`: the room left).
/// The verdict table's fixed column widths as style rules (the page allows no `style` attributes).
fn column_widths() -> String {
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

const VERDICT_COLUMNS: [(&str, Option<&str>); 8] = [
    ("candidate", Some("6rem")),
    ("may be released", Some("8rem")),
    ("state", Some("5.5rem")),
    ("failures", Some("7rem")),
    ("failure rate, always-valid 95 % (decides)", Some("9rem")),
    ("more needed", Some("5rem")),
    ("median duration ratio (decides)", Some("9rem")),
    ("cost per million, control → candidate", None),
];

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

/// An interval of rates, as `low-high` percentages.
fn interval(interval: Interval) -> String {
    format!(
        "{}-{}",
        verdict::percent(interval.low),
        verdict::percent(interval.high)
    )
}

/// A cost per million invocations, or [`NONE`] where the memory size is unknown.
fn usd(value: Option<f64>) -> String {
    value.map_or_else(|| NONE.to_owned(), |value| format!("${value:.2}"))
}

/// What the cost cell's title says of one side: its memory size, or that it is unknown.
fn memory(memory_mb: Option<u32>) -> String {
    memory_mb.map_or_else(|| "memory size unknown".to_owned(), |mb| format!("{mb} MB"))
}

/// The latest differing comparisons, one per input (the first, newest, of each).
fn distinct_inputs(differing: &[verdict::Differing]) -> Vec<&verdict::Differing> {
    let mut seen = std::collections::HashSet::new();
    differing
        .iter()
        .filter(|d| seen.insert(d.input.as_str()))
        .collect()
}

/// The numbers behind each verdict: in each cell the figure first, then what it is measured
/// against. The inputs that differed are in [`latest_differing_rows`], where their differences
/// have the page's width.
fn verdict_rows(verdicts: &[CandidateVerdict]) -> Markup {
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
                    @if let Some(more) = c.more_needed { (more) } @else { (NONE) }
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
fn duration_cell(v: &CandidateVerdict) -> Markup {
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
fn latest_differing_rows(verdicts: &[CandidateVerdict]) -> Markup {
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

const ROW: f64 = 34.0;
const LABEL: f64 = 170.0;
const WIDTH: f64 = 720.0;

/// One segment of a candidate's stacked bar.
struct Segment {
    x: f64,
    width: f64,
    count: u64,
    class: &'static str,
    what: &'static str,
}

/// The segments of `v`'s bar, left to right, on a plot `plot` wide; outcomes that did not occur
/// have none.
fn segments(v: &VariantFigures, plot: f64) -> Vec<Segment> {
    let mut x = LABEL;
    let mut segments = Vec::new();
    for (count, class, what) in [
        (v.matches, "match", "matches"),
        (v.intended, "intended", "intended differences"),
        (v.mismatches, "mismatch", "mismatches"),
        (v.errors, "error", "errors"),
    ] {
        if v.calls == 0 || count == 0 {
            continue;
        }
        let width = plot * count as f64 / v.calls as f64;
        segments.push(Segment {
            x,
            width,
            count,
            class,
            what,
        });
        x += width;
    }
    segments
}

/// Stacked bars: matches, intended differences, mismatches and errors of each candidate, as
/// shares of its calls.
fn outcome_chart(candidates: &[&VariantFigures]) -> Markup {
    let height = 30.0 + ROW * candidates.len() as f64 + 30.0;
    let plot = WIDTH - LABEL - 20.0;
    let axis = 20.0 + ROW * candidates.len() as f64 + 4.0;
    html! {
        svg id="outcomes-chart" role="img" aria-labelledby="outcomes-title"
            viewBox={ "0 0 " (WIDTH) " " (height) } width=(WIDTH) height=(height) {
            title id="outcomes-title" { "Outcomes per candidate, share of calls" }
            @for (i, v) in candidates.iter().enumerate() {
                @let y = 20.0 + ROW * i as f64;
                text x=(LABEL - 8.0) y=(y + 17.0) text-anchor="end" class="label" { (v.id) }
                @for s in segments(v, plot) {
                    rect class=(s.class) x=(tenths(s.x)) y=(tenths(y)) width=(tenths(s.width)) height="24" {
                        title { (v.id) ": " (s.count) " " (s.what) " of " (v.calls) " calls" }
                    }
                    // Counts go inside the bars that have room for them.
                    @if s.width > 28.0 {
                        text x=(tenths(s.x + 6.0)) y=(tenths(y + 17.0)) class="in-bar" { (s.count) }
                    }
                }
            }
            @for pct in [0, 25, 50, 75, 100] {
                @let x = tenths(LABEL + plot * f64::from(pct) / 100.0);
                // SVG elements in HTML need their end tag (no void `<line>`).
                line x1=(x) y1="16" x2=(x) y2=(tenths(axis)) class="grid" {}
                text x=(x) y=(tenths(axis + 16.0)) text-anchor="middle" class="tick" { (pct) "%" }
            }
        }
    }
}

/// Grouped bars: p50, p90 and p99 duration of every variant, control included.
fn duration_chart(variants: &[VariantFigures]) -> Markup {
    let height = 30.0 + ROW * 1.5 * variants.len() as f64 + 30.0;
    // Room on the right for the longest label ("p99 1234.5 ms").
    let plot = WIDTH - LABEL - 120.0;
    let max = variants
        .iter()
        .filter_map(|v| v.p99_ms)
        .fold(0.0f64, f64::max)
        .max(1.0);
    html! {
        svg id="duration-chart" role="img" aria-labelledby="duration-title"
            viewBox={ "0 0 " (WIDTH) " " (height) } width=(WIDTH) height=(height) {
            title id="duration-title" { "Duration per variant in milliseconds: p50, p90, p99" }
            @for (i, v) in variants.iter().enumerate() {
                @let y = 20.0 + ROW * 1.5 * i as f64;
                text x=(LABEL - 8.0) y=(y + 22.0) text-anchor="end" class="label" { (v.id) }
                @let bars = [(v.p50_ms, "p50"), (v.p90_ms, "p90"), (v.p99_ms, "p99")];
                @for (j, (value, class)) in bars.into_iter().enumerate() {
                    @if let Some(value) = value {
                        @let w = (plot * value / max).max(1.0);
                        @let by = y + 12.0 * j as f64;
                        rect class=(class) x=(LABEL) y=(tenths(by)) width=(tenths(w)) height="10" {
                            title { (v.id) " " (class) ": " (tenths(value)) " ms" }
                        }
                        text x=(tenths(LABEL + w + 4.0)) y=(tenths(by + 9.0)) class="tick" {
                            (class) " " (tenths(value)) " ms"
                        }
                    }
                }
            }
        }
    }
}

/// One row of the latest mismatches or intended differences: when, which candidate, the request,
/// what differed (and, when intended, as what it was declared).
fn difference_row(m: &Mismatch) -> Markup {
    let request = &m.request;
    html! {
        tr {
            td { (m.at) }
            td { (m.variant) }
            td {
                code {
                    (request.method) " " (request.path)
                    @if !request.query.is_empty() { "?" (request.query) }
                }
                @if !request.body.is_empty() { br; code { (request.body) } }
            }
            td {
                code class="diff" { (m.diff) }
                @if let Some(declared) = &m.intended { br; small { "intended: " (declared) } }
            }
        }
    }
}

/// The rows of a differences table, or one row saying there are `none`.
fn difference_rows(differences: &[Mismatch], none: &str) -> Markup {
    html! {
        @for m in differences { (difference_row(m)) }
        @if differences.is_empty() { tr { td colspan="4" { (none) } } }
    }
}

/// The header row of both differences tables.
fn difference_heading() -> Markup {
    html! {
        tr { th { "at" } th { "variant" } th { "request" } th { "difference" } }
    }
}

/// One distinct mismatching input: how often, which candidate, the request, the latest difference.
fn group_row(g: &MismatchGroup) -> Markup {
    html! {
        tr {
            td class="count" { (g.count) }
            td { (g.variant) }
            td { code { (g.input) } }
            td { code class="diff" { (g.diff) } }
            td { (g.latest_at) }
        }
    }
}

/// The mismatches grouped by input, or one row saying there are none.
fn group_rows(groups: &[MismatchGroup]) -> Markup {
    html! {
        @for g in groups { (group_row(g)) }
        @if groups.is_empty() { tr { td colspan="5" { "No mismatches in this window." } } }
    }
}

/// The latest exploration of each candidate explored: the minimal input found, or none.
fn exploration_rows(experiment: &Experiment, explorations: &[Explored]) -> Markup {
    html! {
        @for candidate in &experiment.candidates {
            @if let Some(e) = explorations.iter().find(|e| e.candidate == candidate.id) {
                tr data-explored=(e.candidate) {
                    td { (e.candidate) }
                    td { (e.at) }
                    td { (e.distribution) ", seed " code { (e.seed) } }
                    @match &e.input {
                        Some(input) => {
                            td class="count" { (e.cases) }
                            td {
                                @if e.outcome == Some(Outcome::Intended) { "differs as intended on " }
                                @else { "differs on " }
                                code { (input) }
                                @if let Some(diff) = &e.diff { code class="diff" { (diff) } }
                            }
                        }
                        None => {
                            td class="count" { (e.cases) }
                            td { "no difference in " (e.cases) " cases" }
                        }
                    }
                }
            }
        }
        @if explorations.is_empty() {
            tr {
                td colspan="5" {
                    "Not explored yet: " code { "./build.sh explore <env> " (experiment.name) }
                }
            }
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::compare::Verdict;
    use crate::domain::definition::Experiments;
    use crate::domain::record::{ComparisonRecord, RequestSummary, VariantResult};

    fn experiment() -> Experiment {
        let yaml = "experiments:\n  round:\n    comparators: [body]\n    path: /round\n    control: {name: c, function: round-control}\n    candidates:\n      half-even: {name: Half even, function: h}\n      \"fixed\": {name: Fixed, function: f}\n";
        Experiments::parse(yaml).unwrap().by_name["round"].clone()
    }

    fn result(id: &str, same: bool) -> VariantResult {
        VariantResult {
            id: id.to_owned(),
            name: id.to_owned(),
            status: Some(200),
            duration_ms: 10.0,
            failure: None,
            failure_detail: None,
            version: None,
            function: None,
            verdict: Some(Verdict {
                body: Some(same),
                diff: (!same).then(|| "$.rounded: control 63, candidate <62>".to_owned()),
                ..Verdict::default()
            }),
        }
    }

    #[test]
    fn each_candidate_has_its_verdict_sentence_at_the_top_as_in_the_json() {
        let experiment = experiment();
        let records: Vec<ComparisonRecord> = (0..40)
            .map(|i| ComparisonRecord {
                experiment: "round".into(),
                correlation_id: format!("c{i}"),
                at: format!("2026-11-30T10:00:{:02}.000Z", i % 60),
                request: RequestSummary {
                    method: "GET".into(),
                    path: "/round".into(),
                    query: "number=62.5&x=<b>".into(),
                    body: String::new(),
                },
                control: VariantResult {
                    verdict: None,
                    ..result("control", true)
                },
                candidates: vec![result("half-even", i % 4 != 0), result("fixed", true)],
                noise: None,
            })
            .collect();
        let report = crate::domain::report::report(&experiment, &records, &Default::default());
        let html = render(
            &experiment,
            &report,
            &Counts::default(),
            &View::default(),
            &[],
        )
        .into_string();
        let sentences = html.find(r#"<section id="verdicts">"#).unwrap();
        assert!(sentences < html.find(r#"<h2>Variants</h2>"#).unwrap());
        // Next to the sentences, why "differs" comes fast and "equivalent" slowly.
        let why = html
            .find(r#"id="why-asymmetric""#)
            .expect("the asymmetry explained");
        assert!(sentences < why && why < html.find("<h2>Verdict</h2>").unwrap());
        for v in &report.verdicts {
            let expected = format!(
                r#"data-verdict="{}" data-state="{}" data-promotable="false">{}</p>"#,
                v.candidate,
                state_name(v.correctness.state),
                html! { (v.sentence) }.into_string()
            );
            assert!(html.contains(&expected), "{expected}\n{html}");
        }
        assert!(
            html.contains("half-even differs from the control: 10 of 40 comparisons differ"),
            "{html}"
        );
        assert!(
            html.contains("fixed: collecting, 411 more clean comparisons needed"),
            "{html}"
        );
        // Inputs and differences are escaped.
        assert!(html.contains("number=62.5&amp;x=&lt;b&gt;"), "{html}");
        assert!(html.contains("candidate &lt;62&gt;"), "{html}");
        assert!(!html.contains("<b>"));
    }

    #[test]
    fn the_page_says_how_many_requests_were_compared_and_links_to_the_older_comparisons() {
        let experiment = experiment();
        let report = crate::domain::report::report(&experiment, &[], &Default::default());
        let counts = Counts {
            served: 200,
            sampled: 200,
            compared: 190,
            skipped: 10,
            since: None,
        };
        let current = View {
            all: false,
            versions: [("control".to_owned(), Some("build-1".to_owned()))].into(),
            older: 7,
        };
        let cases = [
            (
                "since the current versions",
                current.clone(),
                vec![
                    "All versions: compared 190 of 200 requests (10 skipped).",
                    "at most, current versions only)",
                    "Since the current versions (control build-1). 7 comparisons of earlier versions or of another arrangement (before a promotion or its undo) left out: ",
                    r#"<a id="older-records" href="?all=1">"#,
                ],
            ),
            (
                "all comparisons",
                View {
                    all: true,
                    ..current
                },
                vec![
                    "All versions: compared 190 of 200 requests (10 skipped).",
                    r#"<a id="current-versions" href="dashboard">"#,
                ],
            ),
        ];
        for (case, view, expected) in cases {
            let html = render(&experiment, &report, &counts, &view, &[]).into_string();
            for text in expected {
                assert!(html.contains(text), "{case}: no {text:?} in the page");
            }
        }
    }

    #[test]
    fn intended_differences_are_shown_apart_from_mismatches() {
        let yaml = "experiments:\n  fizzbuzz:\n    comparators: [body]\n    path: /fizzbuzz\n    control: {name: c, function: fizzbuzz-control}\n    candidates:\n      reference: {name: Reference, function: r}\n";
        let experiment = Experiments::parse(yaml).unwrap().by_name["fizzbuzz"].clone();
        let mut reference = result("reference", false);
        if let Some(v) = reference.verdict.as_mut() {
            v.diff = Some(r#"body: control "FizzBuzz", candidate "Fizz Buzz""#.to_owned());
            v.intended = Some(r#"the spec prints "Fizz Buzz""#.to_owned());
        }
        let records: Vec<ComparisonRecord> = (0..460)
            .map(|i| ComparisonRecord {
                experiment: "fizzbuzz".into(),
                correlation_id: format!("c{i}"),
                at: format!("2026-11-30T10:00:{:02}.000Z", i % 60),
                request: RequestSummary {
                    method: "GET".into(),
                    path: "/fizzbuzz".into(),
                    query: "from=1&to=15".into(),
                    body: String::new(),
                },
                control: VariantResult {
                    verdict: None,
                    ..result("control", true)
                },
                candidates: vec![reference.clone()],
                noise: None,
            })
            .collect();
        let report = crate::domain::report::report(&experiment, &records, &Default::default());
        let html = render(
            &experiment,
            &report,
            &Counts::default(),
            &View::default(),
            &[],
        )
        .into_string();
        assert!(
            html.contains(
                "reference is equivalent: 0 unintended differences in 460 comparisons (460 intended)"
            ),
            "{html}"
        );
        assert!(html.contains(r#"<td class="intended">460</td><td class="mismatches">0</td>"#));
        assert!(html.contains(r#"<span class="intended">460</span> intended, not failures"#));
        assert!(html.contains(r#"<rect class="intended""#));
        assert!(!html.contains(r#"<rect class="mismatch""#));
        assert!(html.contains("No mismatches in this window."));
        let intended = &html[html.find(r#"<table id="intended-differences">"#).unwrap()..];
        assert!(
            intended.contains("intended: the spec prints &quot;Fizz Buzz&quot;"),
            "{intended}"
        );
        assert_eq!(
            intended.matches("<tr><td>").count(),
            crate::domain::report::LATEST_INTENDED
        );
    }

    #[test]
    fn markup_in_stored_names_inputs_and_differences_is_escaped() {
        const HOSTILE: &str = "<script>alert(1)</script>";
        const ESCAPED: &str = "&lt;script&gt;alert(1)&lt;/script&gt;";
        let yaml = format!(
            "experiments:\n  round:\n    comparators: [body]\n    path: /round\n    control: {{name: '{HOSTILE}', function: round-control}}\n    candidates:\n      half-even: {{name: '{HOSTILE}', function: h}}\n"
        );
        let experiment = Experiments::parse(&yaml).unwrap().by_name["round"].clone();
        let mut candidate = VariantResult {
            name: HOSTILE.to_owned(),
            ..result("half-even", false)
        };
        if let Some(v) = candidate.verdict.as_mut() {
            v.diff = Some(format!("$.rounded: control 63, candidate {HOSTILE}"));
        }
        let records: Vec<ComparisonRecord> = (0..3)
            .map(|i| ComparisonRecord {
                experiment: "round".into(),
                correlation_id: format!("c{i}"),
                at: format!("2026-11-30T10:00:0{i}.000Z"),
                request: RequestSummary {
                    method: "POST".into(),
                    path: "/round".into(),
                    query: format!("x={HOSTILE}"),
                    body: HOSTILE.to_owned(),
                },
                control: VariantResult {
                    verdict: None,
                    ..result("control", true)
                },
                candidates: vec![candidate.clone()],
                noise: None,
            })
            .collect();
        let mut report = crate::domain::report::report(&experiment, &records, &Default::default());
        report.explorations = vec![Explored {
            candidate: "half-even".into(),
            at: "2026-12-01T03:00:00.000Z".into(),
            distribution: "generated".into(),
            seed: 1,
            cases: 3,
            input: Some(HOSTILE.into()),
            outcome: Some(Outcome::Mismatch),
            diff: Some(HOSTILE.into()),
        }];
        let html = render(
            &experiment,
            &report,
            &Counts::default(),
            &View::default(),
            &[],
        )
        .into_string();
        assert!(!html.contains("<script"), "{html}");
        for (what, expected) in [
            ("the control's name", format!("<strong>{ESCAPED}</strong>")),
            ("the candidate's name", format!("<td>{ESCAPED}</td>")),
            (
                "the mismatching input, once for its three mismatches",
                format!(
                    "<td class=\"count\">3</td><td>half-even</td><td><code>POST /round?x={ESCAPED} {ESCAPED}</code></td>"
                ),
            ),
            ("the difference", format!("candidate {ESCAPED}</code>")),
            (
                "the explored input",
                format!("differs on <code>{ESCAPED}</code>"),
            ),
            (
                "the explored difference",
                format!("<code class=\"diff\">{ESCAPED}</code>"),
            ),
            (
                "the latest differing input",
                format!(
                    "<td><code>POST /round?x={ESCAPED} {ESCAPED}</code></td><td><code class=\"diff\">"
                ),
            ),
        ] {
            assert!(
                html.contains(&expected),
                "{what}: {expected} not in\n{html}"
            );
        }
        assert_eq!(
            html.matches("<tr data-latest-differing=").count(),
            1,
            "the three comparisons of one input are one row of the latest differing inputs"
        );
    }

    #[test]
    fn each_explored_candidate_shows_its_latest_exploration_and_the_others_nothing() {
        let experiment = experiment();
        let mut report = crate::domain::report::report(&experiment, &[], &Default::default());
        let empty = render(
            &experiment,
            &report,
            &Counts::default(),
            &View::default(),
            &[],
        )
        .into_string();
        assert!(
            empty.contains("Not explored yet: <code>./build.sh explore &lt;env&gt; round</code>")
        );
        report.explorations = vec![
            Explored {
                candidate: "fixed".into(),
                at: "2026-12-01T03:00:01.000Z".into(),
                distribution: "uniform".into(),
                seed: 7,
                cases: 256,
                input: None,
                outcome: None,
                diff: None,
            },
            Explored {
                candidate: "half-even".into(),
                at: "2026-12-01T03:00:00.000Z".into(),
                distribution: "generated".into(),
                seed: 1,
                cases: 3,
                input: Some("GET /round?number=0.5".into()),
                outcome: Some(Outcome::Mismatch),
                diff: Some("$.rounded: control 1, candidate 0".into()),
            },
        ];
        // Stored in the other order than the definition's.
        report
            .explorations
            .sort_by(|a, b| b.candidate.cmp(&a.candidate));
        let html = render(
            &experiment,
            &report,
            &Counts::default(),
            &View::default(),
            &[],
        )
        .into_string();
        let section = &html[html.find(r#"<table id="explorations">"#).unwrap()..];
        // In the definition's order, whatever the order stored.
        let rows: Vec<usize> = experiment
            .candidates
            .iter()
            .map(|c| {
                section
                    .find(&format!(r#"<tr data-explored="{}">"#, c.id))
                    .unwrap()
            })
            .collect();
        assert!(rows.is_sorted(), "{section}");
        assert!(
            section.contains(
                "<td class=\"count\">3</td><td>differs on <code>GET /round?number=0.5</code>\
             <code class=\"diff\">$.rounded: control 1, candidate 0</code></td>"
            ),
            "{section}"
        );
        assert!(
            section.contains("<td>uniform, seed <code>7</code></td>"),
            "{section}"
        );
        assert!(
            section.contains("<td>no difference in 256 cases</td>"),
            "{section}"
        );
        assert!(!section.contains("Not explored yet"), "{section}");
    }

    /// A report of the workshop's kinds of difference, each as the comparator writes it: the sort
    /// exercise's header and body, a candidate's 500, FizzBuzz's text.
    fn differences_report() -> (Experiment, crate::domain::report::Report) {
        use crate::domain::compare::{Observed, compare};
        use std::collections::BTreeMap;
        let yaml = "experiments:\n  e:\n    comparators: [body, statuscode, {headers: [content-type]}]\n    path: /e\n    control: {name: c, function: c}\n    candidates:\n      exercise: {name: Exercise, function: x}\n      fails: {name: Fails, function: f}\n      text: {name: Text, function: t}\n";
        let experiment = Experiments::parse(yaml).unwrap().by_name["e"].clone();
        let answer = |status, content_type: &str, body: &str| Observed {
            status,
            headers: BTreeMap::from([("content-type".to_owned(), content_type.to_owned())]),
            body: body.to_owned(),
        };
        let json = "application/json";
        let fizzbuzz = |fifteen: &str| {
            let lines: Vec<String> = (1..=30)
                .map(|n| match (n % 3, n % 5) {
                    (0, 0) => fifteen.to_owned(),
                    (0, _) => "Fizz".to_owned(),
                    (_, 0) => "Buzz".to_owned(),
                    _ => n.to_string(),
                })
                .collect();
            lines.join("\n")
        };
        let pairs = [
            (
                "exercise",
                answer(200, json, "[2,9,10]"),
                answer(200, "text/plain", "[10,2,9]"),
            ),
            (
                "fails",
                answer(200, json, r#"{"rounded":2}"#),
                answer(500, json, r#"{"error":"chaos"}"#),
            ),
            (
                "text",
                answer(200, "text/plain", &fizzbuzz("FizzBuzz")),
                answer(200, "text/plain", &fizzbuzz("Fizz Buzz")),
            ),
        ];
        let records: Vec<ComparisonRecord> = pairs
            .iter()
            .enumerate()
            .map(|(i, (id, control, candidate))| ComparisonRecord {
                experiment: "e".into(),
                correlation_id: format!("c{i}"),
                at: format!("2026-11-30T10:00:0{i}.000Z"),
                request: RequestSummary {
                    method: "GET".into(),
                    path: "/e".into(),
                    query: String::new(),
                    body: String::new(),
                },
                control: VariantResult {
                    verdict: None,
                    ..result("control", true)
                },
                candidates: vec![VariantResult {
                    verdict: Some(compare(&experiment, control, candidate)),
                    ..result(id, false)
                }],
                noise: None,
            })
            .collect();
        let report = crate::domain::report::report(&experiment, &records, &Default::default());
        (experiment, report)
    }

    #[test]
    fn differences_show_status_headers_and_text_lines_as_the_comparator_wrote_them() {
        let (experiment, report) = differences_report();
        let html = render(
            &experiment,
            &report,
            &Counts::default(),
            &View::default(),
            &[],
        )
        .into_string();
        let table = |id: &str| {
            let start = html.find(&format!(r#"<table id="{id}">"#)).unwrap();
            &html[start..start + html[start..].find("</table>").unwrap()]
        };
        // The whole difference, every line of it, in both tables: under the verdict, among the
        // latest differing inputs, and in "Mismatches by input".
        let (latest, mismatches) = (table("latest-differing"), table("mismatches"));
        for (what, expected) in [
            (
                "a header, named, with both values",
                "<code class=\"diff\">content-type: control &quot;application/json&quot;, \
                 candidate &quot;text/plain&quot;\n$[0]: control 2, candidate 10",
            ),
            (
                "a status before the body",
                "<code class=\"diff\">status: control 200, candidate 500\n\
                 $.error: control (absent), candidate &quot;chaos&quot;\n",
            ),
            (
                "a text's first differing line, its lines and caret kept",
                "<code class=\"diff\">body, line 15:\n\
                 \x20 line 14    &quot;14&quot;\n\
                 \x20 control    &quot;FizzBuzz&quot;\n\
                 \x20 candidate  &quot;Fizz Buzz&quot;\n\
                 \x20                 ^\n\
                 \x20 line 16    &quot;16&quot;\n\
                 … 1 more differing line</code>",
            ),
        ] {
            for table in [latest, mismatches] {
                assert!(
                    table.contains(expected),
                    "{what}: {expected}\nnot in\n{table}"
                );
            }
        }
    }

    #[test]
    fn the_promotions_say_what_when_by_whom_how_and_why_newest_first() {
        use crate::domain::promotion::Promotion;
        let experiment = experiment();
        let report = crate::domain::report::report(&experiment, &[], &Default::default());
        let page = |history: &[Event]| {
            render(
                &experiment,
                &report,
                &Counts::default(),
                &View::default(),
                history,
            )
            .into_string()
        };
        assert!(page(&[]).contains("Never promoted"));
        let history = [
            Event::Promoted(Promotion {
                candidate: "half-even".into(),
                by: "arn:aws:sts::123456789012:assumed-role/dev/alice".into(),
                at: "2026-12-05T09:00:00.000Z".into(),
                forced: true,
                reason: Some("banker's rounding is the spec now".into()),
                verdict: "half-even differs from the control".into(),
                evidence: serde_json::Value::Null,
            }),
            Event::Undone {
                candidate: "half-even".into(),
                by: "bob".into(),
                at: "2026-12-05T10:00:00.000Z".into(),
            },
        ];
        let html = page(&history);
        let undone = html
            .find("data-action=\"undone\"")
            .expect("the undo is listed");
        let promoted = html
            .find("data-action=\"promoted\"")
            .expect("the promotion is listed");
        assert!(undone < promoted, "newest first");
        for expected in [
            "arn:aws:sts::123456789012:assumed-role/dev/alice",
            "2026-12-05T09:00:00.000Z",
            "forced",
            "Reason: banker's rounding is the spec now",
            "Verdict then: half-even differs from the control",
            "undid the promotion of <strong>half-even</strong>",
            "bob",
        ] {
            assert!(html.contains(expected), "{expected} in {html}");
        }
    }
}
