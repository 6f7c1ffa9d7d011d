//! The experiment dashboard: one self-contained HTML page (inline CSS and SVG, no scripts, no
//! external assets) with the verdict on each candidate at the top (one sentence each, marked
//! `data-verdict="<candidate>"`, the same text as the JSON report's `sentence`), the numbers behind
//! it, the report's figures, two charts, the latest mismatches and, apart from them, the latest
//! differences the experiment intends.

use std::fmt::Write;

use crate::domain::definition::Experiment;
use crate::domain::report::{Mismatch, Report, VariantFigures};
use crate::domain::stats::Estimate;
use crate::domain::verdict::{self, CandidateVerdict, CorrectnessState, PerformanceState};

/// Escapes text for HTML element content and attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

fn ms(value: Option<f64>) -> String {
    value.map_or_else(|| "–".to_owned(), |v| format!("{v:.1}"))
}

fn state_name(state: CorrectnessState) -> &'static str {
    match state {
        CorrectnessState::Collecting => "collecting",
        CorrectnessState::Differs => "differs",
        CorrectnessState::Equivalent => "equivalent",
    }
}

/// The sentence of every verdict, one paragraph each.
fn verdict_sentences(verdicts: &[CandidateVerdict]) -> String {
    let mut html = String::new();
    for v in verdicts {
        let _ = write!(
            html,
            r#"<p class="verdict {state}" data-verdict="{id}" data-state="{state}" data-promotable="{}">{}</p>"#,
            v.promotable,
            escape(&v.sentence),
            id = escape(&v.candidate),
            state = state_name(v.correctness.state),
        );
    }
    html
}

fn ratio(estimate: &Estimate) -> String {
    format!(
        "{:.2}× ({:.2}-{:.2})",
        estimate.value, estimate.low, estimate.high
    )
}

fn usd(value: Option<f64>, memory_mb: Option<u32>) -> String {
    match (value, memory_mb) {
        (Some(value), Some(mb)) => format!("${value:.2} at {mb} MB"),
        _ => "memory size unknown".to_owned(),
    }
}

/// The numbers behind each verdict.
fn verdict_rows(verdicts: &[CandidateVerdict]) -> String {
    let mut rows = String::new();
    for v in verdicts {
        let c = &v.correctness;
        let (speed, p50, p99) = match &v.performance {
            Some(p) => (
                match p.state {
                    PerformanceState::Faster => "faster",
                    PerformanceState::Slower => "slower",
                    PerformanceState::Same => "same",
                },
                ratio(&p.p50_ratio),
                ratio(&p.p99_ratio),
            ),
            None => ("–", "–".to_owned(), "–".to_owned()),
        };
        let mut inputs = String::new();
        for d in &c.latest_differing {
            let _ = write!(
                inputs,
                "<li><code>{}</code>: {}</li>",
                escape(&d.input),
                escape(&d.why)
            );
        }
        let _ = write!(
            rows,
            r#"<tr data-verdict-figures="{id}"><th scope="row">{id}</th><td class="state">{state}</td><td class="num">{failures} of {n}<br><small>{mismatches} differ, {errors} failed</small></td><td class="num intended">{intended}</td><td class="num">{rate}</td><td class="num">{low}-{high}</td><td class="num">{av_low}-{av_high}<br><small>at most {threshold} to pass</small></td><td class="num">{more}</td><td class="num">{p50}</td><td class="num">{p99}</td><td>{speed}</td><td>{cost_control}<br>{cost_candidate}</td><td><ul>{inputs}</ul></td></tr>"#,
            id = escape(&v.candidate),
            state = state_name(c.state),
            failures = c.failures,
            n = c.comparisons,
            mismatches = c.mismatches,
            errors = c.errors,
            intended = c.intended,
            rate = c.rate.map_or_else(|| "–".to_owned(), verdict::percent),
            low = verdict::percent(c.interval.low),
            high = verdict::percent(c.interval.high),
            av_low = verdict::percent(c.always_valid.low),
            av_high = verdict::percent(c.always_valid.high),
            threshold = verdict::percent(c.max_mismatch_rate),
            more = c
                .more_needed
                .map_or_else(|| "–".to_owned(), |m| m.to_string()),
            cost_control = escape(&format!(
                "control {}",
                usd(v.cost.control_usd_per_million, v.cost.control_memory_mb)
            )),
            cost_candidate = escape(&format!(
                "candidate {}",
                usd(v.cost.candidate_usd_per_million, v.cost.candidate_memory_mb)
            )),
        );
    }
    rows
}

const ROW: f64 = 34.0;
const LABEL: f64 = 170.0;
const WIDTH: f64 = 720.0;

/// Stacked bars: matches, intended differences, mismatches and errors of each candidate, as
/// shares of its calls.
fn outcome_chart(candidates: &[&VariantFigures]) -> String {
    let height = 30.0 + ROW * candidates.len() as f64 + 30.0;
    let plot = WIDTH - LABEL - 20.0;
    let mut svg = format!(
        r#"<svg id="outcomes-chart" role="img" aria-labelledby="outcomes-title" viewBox="0 0 {WIDTH} {height}" width="{WIDTH}" height="{height}"><title id="outcomes-title">Outcomes per candidate, share of calls</title>"#
    );
    for (i, v) in candidates.iter().enumerate() {
        let y = 20.0 + ROW * i as f64;
        let _ = write!(
            svg,
            r#"<text x="{}" y="{}" text-anchor="end" class="label">{}</text>"#,
            LABEL - 8.0,
            y + 17.0,
            escape(&v.id)
        );
        let mut x = LABEL;
        for (count, class, what) in [
            (v.matches, "match", "matches"),
            (v.intended, "intended", "intended differences"),
            (v.mismatches, "mismatch", "mismatches"),
            (v.errors, "error", "errors"),
        ] {
            if v.calls == 0 || count == 0 {
                continue;
            }
            let w = plot * count as f64 / v.calls as f64;
            let _ = write!(
                svg,
                r#"<rect class="{class}" x="{x:.1}" y="{y:.1}" width="{w:.1}" height="24"><title>{}: {count} {what} of {} calls</title></rect>"#,
                escape(&v.id),
                v.calls
            );
            if w > 28.0 {
                let _ = write!(
                    svg,
                    r#"<text x="{:.1}" y="{:.1}" class="in-bar">{count}</text>"#,
                    x + 6.0,
                    y + 17.0
                );
            }
            x += w;
        }
    }
    let axis = 20.0 + ROW * candidates.len() as f64 + 4.0;
    for pct in [0, 25, 50, 75, 100] {
        let x = LABEL + plot * f64::from(pct) / 100.0;
        let _ = write!(
            svg,
            r#"<line x1="{x:.1}" y1="16" x2="{x:.1}" y2="{axis:.1}" class="grid"/><text x="{x:.1}" y="{:.1}" text-anchor="middle" class="tick">{pct}%</text>"#,
            axis + 16.0
        );
    }
    svg.push_str("</svg>");
    svg
}

/// Grouped bars: p50, p90 and p99 duration of every variant, control included.
fn duration_chart(variants: &[VariantFigures]) -> String {
    let height = 30.0 + ROW * 1.5 * variants.len() as f64 + 30.0;
    // Room on the right for the longest label ("p99 1234.5 ms").
    let plot = WIDTH - LABEL - 120.0;
    let max = variants
        .iter()
        .filter_map(|v| v.p99_ms)
        .fold(0.0f64, f64::max)
        .max(1.0);
    let mut svg = format!(
        r#"<svg id="duration-chart" role="img" aria-labelledby="duration-title" viewBox="0 0 {WIDTH} {height}" width="{WIDTH}" height="{height}"><title id="duration-title">Duration per variant in milliseconds: p50, p90, p99</title>"#
    );
    for (i, v) in variants.iter().enumerate() {
        let y = 20.0 + ROW * 1.5 * i as f64;
        let _ = write!(
            svg,
            r#"<text x="{}" y="{}" text-anchor="end" class="label">{}</text>"#,
            LABEL - 8.0,
            y + 22.0,
            escape(&v.id)
        );
        for (j, (value, class)) in [(v.p50_ms, "p50"), (v.p90_ms, "p90"), (v.p99_ms, "p99")]
            .into_iter()
            .enumerate()
        {
            let Some(value) = value else { continue };
            let w = (plot * value / max).max(1.0);
            let by = y + 12.0 * j as f64;
            let _ = write!(
                svg,
                r#"<rect class="{class}" x="{LABEL}" y="{by:.1}" width="{w:.1}" height="10"><title>{} {class}: {value:.1} ms</title></rect><text x="{:.1}" y="{:.1}" class="tick">{class} {value:.1} ms</text>"#,
                escape(&v.id),
                LABEL + w + 4.0,
                by + 9.0
            );
        }
    }
    svg.push_str("</svg>");
    svg
}

/// One row of the latest mismatches or intended differences: when, which candidate, the request,
/// what differed (and, when intended, as what it was declared).
fn difference_row(m: &Mismatch) -> String {
    let request = if m.request.query.is_empty() {
        format!("{} {}", m.request.method, m.request.path)
    } else {
        format!(
            "{} {}?{}",
            m.request.method, m.request.path, m.request.query
        )
    };
    let body = if m.request.body.is_empty() {
        String::new()
    } else {
        format!("<br><code>{}</code>", escape(&m.request.body))
    };
    let declared = m
        .intended
        .as_deref()
        .map(|d| format!("<br><small>intended: {}</small>", escape(d)))
        .unwrap_or_default();
    format!(
        "<tr><td>{}</td><td>{}</td><td><code>{}</code>{body}</td><td><code>{}</code>{declared}</td></tr>",
        escape(&m.at),
        escape(&m.variant),
        escape(&request),
        escape(&m.diff)
    )
}

pub fn render(experiment: &Experiment, report: &Report) -> String {
    let candidates: Vec<&VariantFigures> = report
        .variants
        .iter()
        .filter(|v| v.id != "control")
        .collect();
    let mut rows = String::new();
    for v in &report.variants {
        let _ = write!(
            rows,
            r#"<tr data-variant="{id}"><th scope="row">{id}</th><td>{name}</td><td class="calls">{}</td><td class="matches">{}</td><td class="intended">{}</td><td class="mismatches">{}</td><td class="errors">{}</td><td class="p50">{}</td><td class="p90">{}</td><td class="p99">{}</td></tr>"#,
            v.calls,
            if v.id == "control" {
                "–".to_owned()
            } else {
                v.matches.to_string()
            },
            if v.id == "control" {
                "–".to_owned()
            } else {
                v.intended.to_string()
            },
            if v.id == "control" {
                "–".to_owned()
            } else {
                v.mismatches.to_string()
            },
            v.errors,
            ms(v.p50_ms),
            ms(v.p90_ms),
            ms(v.p99_ms),
            id = escape(&v.id),
            name = escape(&v.name),
        );
    }
    let mut mismatches = String::new();
    for m in &report.latest_mismatches {
        mismatches.push_str(&difference_row(m));
    }
    if mismatches.is_empty() {
        mismatches.push_str(r#"<tr><td colspan="4">No mismatches in this window.</td></tr>"#);
    }
    let mut intended = String::new();
    for m in &report.latest_intended {
        intended.push_str(&difference_row(m));
    }
    if intended.is_empty() {
        intended
            .push_str(r#"<tr><td colspan="4">No intended differences in this window.</td></tr>"#);
    }
    let since = report
        .since
        .as_deref()
        .map(|s| format!(" since {}", escape(s)))
        .unwrap_or_default();
    format!(
        r#"<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Experiment {name}</title>
<style>
  body {{ font-family: system-ui, sans-serif; margin: 2rem auto; max-width: 60rem; padding: 0 1rem; color: #1d1d1f; }}
  table {{ border-collapse: collapse; width: 100%; margin: 1rem 0 2rem; }}
  th, td {{ border-bottom: 1px solid #ddd; padding: .4rem .6rem; text-align: left; vertical-align: top; }}
  td.calls, td.matches, td.intended, td.mismatches, td.errors, td.p50, td.p90, td.p99 {{ text-align: right; font-variant-numeric: tabular-nums; }}
  code {{ word-break: break-all; }}
  svg {{ max-width: 100%; height: auto; font-size: 12px; }}
  .label {{ font-size: 13px; }} .tick {{ fill: #555; }} .in-bar {{ fill: #fff; font-weight: 600; }}
  .grid {{ stroke: #ccc; stroke-dasharray: 2 3; }}
  .match {{ fill: #2e7d32; }} .intended {{ fill: #6a1b9a; }} .mismatch {{ fill: #c62828; }} .error {{ fill: #757575; }}
  .p50 {{ fill: #1565c0; }} .p90 {{ fill: #42a5f5; }} .p99 {{ fill: #90caf9; }}
  .verdict {{ font-size: 1.2rem; padding: .6rem .8rem; border-left: .4rem solid #757575; background: #f5f5f5; margin: .5rem 0; }}
  .verdict.differs {{ border-color: #c62828; }} .verdict.equivalent {{ border-color: #2e7d32; }}
  #verdict-figures td.num {{ text-align: right; font-variant-numeric: tabular-nums; }}
  #verdict-figures ul {{ margin: 0; padding-left: 1rem; }}
  .legend span {{ display: inline-block; width: .9rem; height: .9rem; vertical-align: middle; margin: 0 .3rem 0 1rem; }}
</style>
</head>
<body>
<h1>Experiment <span id="experiment-name">{name}</span></h1>
<p>Path <code>{path}</code> · control <strong>{control}</strong> · sampling {sample}% · candidate timeout {timeout} ms{noise}</p>
<p id="window"><span id="comparisons">{comparisons}</span> comparisons (the latest {window} at most){since}.</p>
<section id="verdicts">
{sentences}
</section>
<h2>Verdict</h2>
<p>A candidate fails a comparison when its answer differs from the control's{net} or when it times out, crashes or answers garbage. A difference the experiment declares as intended (the control's answer, rewritten as declared, equals the candidate's) is counted apart and is not a failure; any other difference is. The verdict is decided on a 95 % always-valid bound (Robbins' mixture confidence sequence): reading it after every comparison does not make a wrong <em>equivalent</em> more likely than 5 %. The single-look interval is the exact two-sided 95 % Clopper-Pearson interval. Durations: candidate / control at p50 and p99 with a 95 % bootstrap interval; <em>slower</em> when the p50 interval lies above the allowed {max_ratio}×, <em>faster</em> when it lies below 1. Cost per million invocations at Lambda's arm64 price in us-east-1.</p>
<table id="verdict-figures">
<thead><tr><th>candidate</th><th>state</th><th>failed</th><th>intended</th><th>rate</th><th>95 % interval</th><th>always-valid 95 %</th><th>more needed</th><th>p50 ratio</th><th>p99 ratio</th><th>speed</th><th>cost per million</th><th>latest differing inputs</th></tr></thead>
<tbody>{verdict_rows}</tbody>
</table>
<h2>Variants</h2>
<table id="figures">
<thead><tr><th>variant</th><th>name</th><th>calls</th><th>matches</th><th>intended</th><th>mismatches</th><th>errors</th><th>p50 ms</th><th>p90 ms</th><th>p99 ms</th></tr></thead>
<tbody>{rows}</tbody>
</table>
<h2>Outcomes</h2>
<p class="legend"><span class="match" style="background:#2e7d32"></span>matches<span style="background:#6a1b9a"></span>intended differences<span style="background:#c62828"></span>mismatches<span style="background:#757575"></span>errors (timeouts, failures, malformed answers)</p>
{outcomes}
<h2>Duration</h2>
{durations}
<h2>Latest mismatches</h2>
<table id="mismatches">
<thead><tr><th>at</th><th>variant</th><th>request</th><th>difference</th></tr></thead>
<tbody>{mismatches}</tbody>
</table>
<h2>Latest intended differences</h2>
<table id="intended-differences">
<thead><tr><th>at</th><th>variant</th><th>request</th><th>difference</th></tr></thead>
<tbody>{intended}</tbody>
</table>
</body>
</html>
"#,
        name = escape(&experiment.name),
        path = escape(&experiment.path),
        control = escape(&experiment.control.name),
        sample = experiment.sample_percent,
        timeout = experiment.timeout.as_millis(),
        noise = if experiment.noise_baseline {
            " · noise baseline on"
        } else {
            ""
        },
        comparisons = report.comparisons,
        window = crate::domain::report::REPORT_WINDOW,
        outcomes = outcome_chart(&candidates),
        durations = duration_chart(&report.variants),
        sentences = verdict_sentences(&report.verdicts),
        verdict_rows = verdict_rows(&report.verdicts),
        net = if experiment.noise_baseline {
            " (net of the control's own noise)"
        } else {
            ""
        },
        max_ratio = experiment.promotion.max_duration_ratio,
    )
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
        let html = render(&experiment, &report);
        let sentences = html.find(r#"<section id="verdicts">"#).unwrap();
        assert!(sentences < html.find(r#"<h2>Variants</h2>"#).unwrap());
        for v in &report.verdicts {
            let expected = format!(
                r#"data-verdict="{}" data-state="{}" data-promotable="false">{}</p>"#,
                v.candidate,
                state_name(v.correctness.state),
                escape(&v.sentence)
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
        let html = render(&experiment, &report);
        assert!(
            html.contains(
                "reference is equivalent: 0 unintended differences in 460 comparisons (460 intended)"
            ),
            "{html}"
        );
        assert!(html.contains(r#"<td class="intended">460</td><td class="mismatches">0</td>"#));
        assert!(html.contains(r#"<td class="num intended">460</td>"#));
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
    fn escapes_markup() {
        assert_eq!(
            escape(r#"<a href="x">&'"#),
            "&lt;a href=&quot;x&quot;&gt;&amp;&#39;"
        );
    }
}
