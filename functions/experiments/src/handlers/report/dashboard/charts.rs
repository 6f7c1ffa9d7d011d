//! The dashboard's two charts, drawn as inline SVG: outcomes per candidate (stacked shares of
//! its calls) and durations per variant (p50, p90, p99 bars).

use maud::{Markup, html};

use super::tenths;
use crate::domain::report::VariantFigures;

/// The most characters of a variant's id that fit left of the bars at the labels' size; a longer
/// one keeps its end (`…before-rt2-attendee`), where ids differ, and the whole id is its title.
const LABEL_CHARS: usize = 22;

/// A variant's id as its chart label: cut at the front when too long for the room.
pub(super) fn label(id: &str) -> String {
    let count = id.chars().count();
    if count <= LABEL_CHARS {
        return id.to_owned();
    }
    let tail: String = id.chars().skip(count - (LABEL_CHARS - 1)).collect();
    format!("…{tail}")
}

pub(super) const ROW: f64 = 34.0;
pub(super) const LABEL: f64 = 170.0;
pub(super) const WIDTH: f64 = 720.0;

/// One segment of a candidate's stacked bar.
pub(super) struct Segment {
    x: f64,
    width: f64,
    count: u64,
    class: &'static str,
    what: &'static str,
}

/// The segments of `v`'s bar, left to right, on a plot `plot` wide; outcomes that did not occur
/// have none.
pub(super) fn segments(v: &VariantFigures, plot: f64) -> Vec<Segment> {
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
pub(super) fn outcome_chart(candidates: &[&VariantFigures]) -> Markup {
    let height = 30.0 + ROW * candidates.len() as f64 + 30.0;
    let plot = WIDTH - LABEL - 20.0;
    let axis = 20.0 + ROW * candidates.len() as f64 + 4.0;
    html! {
        svg id="outcomes-chart" role="img" aria-labelledby="outcomes-title"
            viewBox={ "0 0 " (WIDTH) " " (height) } width=(WIDTH) height=(height) {
            title id="outcomes-title" { "Outcomes per candidate, share of calls" }
            @for (i, v) in candidates.iter().enumerate() {
                @let y = 20.0 + ROW * i as f64;
                text x=(LABEL - 8.0) y=(y + 17.0) text-anchor="end" class="label" {
                    title { (v.id) } (label(&v.id))
                }
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
pub(super) fn duration_chart(variants: &[VariantFigures]) -> Markup {
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
                text x=(LABEL - 8.0) y=(y + 22.0) text-anchor="end" class="label" {
                    title { (v.id) } (label(&v.id))
                }
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
