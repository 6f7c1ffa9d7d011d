//! The chart: duration (top panel) and cost (bottom panel) against memory size, one column per
//! size, with the recommended sizes marked. Plain SVG text, no dependencies, readable as a file.

use std::fmt::Write;

use crate::options::Strategy;

/// What one column of the chart shows.
#[derive(Debug, Clone, PartialEq)]
pub struct Column {
    pub memory_mb: u32,
    pub mean_ms: f64,
    pub min_ms: f64,
    pub max_ms: f64,
    pub cost_usd: f64,
}

pub struct Chart<'a> {
    pub title: &'a str,
    pub subtitle: &'a str,
    pub cost_label: &'a str,
    pub columns: &'a [Column],
    /// Each strategy with the index of its column.
    pub picks: &'a [(Strategy, usize)],
}

const WIDTH: f64 = 960.0;
const HEIGHT: f64 = 660.0;
const LEFT: f64 = 100.0;
const RIGHT: f64 = 40.0;
const DURATION_PANEL: (f64, f64) = (125.0, 335.0);
const COST_PANEL: (f64, f64) = (400.0, 600.0);
const DURATION_COLOUR: &str = "#1f5fa8";
const COST_COLOUR: &str = "#c2410c";
const PICK_COLOUR: &str = "#15803d";

/// A tick step of 1, 2 or 5 × 10ⁿ giving about `target` intervals up to `max`, and the axis top.
pub fn nice_axis(max: f64, target: u32) -> (f64, f64) {
    if !(max.is_finite() && max > 0.0) {
        return (1.0, 1.0);
    }
    let raw = max / f64::from(target.max(1));
    let magnitude = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 5.0, 10.0]
        .into_iter()
        .map(|m| m * magnitude)
        .find(|s| *s >= raw * (1.0 - 1e-9))
        .unwrap_or(10.0 * magnitude);
    let top = (max / step - 1e-9).ceil().max(1.0) * step;
    (step, top)
}

/// A tick label with as many decimals as the step needs.
pub fn tick_label(value: f64, step: f64) -> String {
    let decimals = (-step.log10().floor()).max(0.0) as usize;
    format!("{value:.decimals$}")
}

pub fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

pub fn render(chart: &Chart) -> String {
    let mut svg = String::new();
    let n = chart.columns.len().max(1) as f64;
    let plot_width = WIDTH - LEFT - RIGHT;
    let x = |i: usize| LEFT + (i as f64 + 0.5) * plot_width / n;
    let _ = writeln!(
        svg,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" viewBox="0 0 {WIDTH} {HEIGHT}" font-family="DejaVu Sans, Arial, Helvetica, sans-serif" font-size="13">"#
    );
    let _ = writeln!(svg, r#"<rect width="100%" height="100%" fill="white"/>"#);
    let _ = writeln!(
        svg,
        r#"<text x="{}" y="28" font-size="18" font-weight="bold" text-anchor="middle">{}</text>"#,
        WIDTH / 2.0,
        escape(chart.title)
    );
    let _ = writeln!(
        svg,
        r##"<text x="{}" y="48" fill="#444" text-anchor="middle">{}</text>"##,
        WIDTH / 2.0,
        escape(chart.subtitle)
    );
    legend(&mut svg, chart.cost_label);

    let durations: Vec<(f64, f64, f64)> = chart
        .columns
        .iter()
        .map(|c| (c.mean_ms, c.min_ms, c.max_ms))
        .collect();
    let max_duration = durations.iter().map(|d| d.2.max(d.0)).fold(0.0, f64::max);
    panel(
        &mut svg,
        DURATION_PANEL,
        "Duration (ms)",
        max_duration,
        chart.columns.len(),
        &x,
        &durations,
        DURATION_COLOUR,
        |v| format!("{v:.1} ms"),
        true,
    );
    let costs: Vec<(f64, f64, f64)> = chart
        .columns
        .iter()
        .map(|c| {
            let per_million = c.cost_usd * 1e6;
            (per_million, per_million, per_million)
        })
        .collect();
    let max_cost = costs.iter().map(|c| c.0).fold(0.0, f64::max);
    panel(
        &mut svg,
        COST_PANEL,
        "Cost per 1M invocations (USD)",
        max_cost,
        chart.columns.len(),
        &x,
        &costs,
        COST_COLOUR,
        |v| format!("${v:.2}"),
        false,
    );

    // Memory labels under each panel; the shared axis title once, under the bottom one (the space
    // between the panels carries the recommendation labels).
    for bottom in [DURATION_PANEL.1, COST_PANEL.1] {
        for (i, column) in chart.columns.iter().enumerate() {
            let _ = writeln!(
                svg,
                r#"<text x="{:.1}" y="{:.1}" text-anchor="middle">{}</text>"#,
                x(i),
                bottom + 18.0,
                column.memory_mb
            );
        }
    }
    let _ = writeln!(
        svg,
        r#"<text x="{:.1}" y="{:.1}" text-anchor="middle" font-weight="bold">Memory size (MB)</text>"#,
        LEFT + plot_width / 2.0,
        COST_PANEL.1 + 42.0
    );

    picks(&mut svg, chart, &x);
    svg.push_str("</svg>\n");
    svg
}

/// Two rows, so a long cost label never runs off the chart.
fn legend(svg: &mut String, cost_label: &str) {
    let rows: [&[(&str, &str, &str)]; 2] = [
        &[
            (
                DURATION_COLOUR,
                "mean duration; bar: min–max of kept invocations",
                "dot",
            ),
            (PICK_COLOUR, "recommended size per strategy", "dash"),
        ],
        &[(COST_COLOUR, cost_label, "square")],
    ];
    for (row, items) in rows.iter().enumerate() {
        let y = 72.0 + 20.0 * row as f64;
        let mut x = LEFT;
        for &(colour, label, mark) in items.iter() {
            match mark {
                "dot" => {
                    let _ = writeln!(
                        svg,
                        r#"<circle cx="{}" cy="{}" r="5" fill="{colour}"/>"#,
                        x + 6.0,
                        y - 4.0
                    );
                }
                "square" => {
                    let _ = writeln!(
                        svg,
                        r#"<rect x="{}" y="{}" width="10" height="10" fill="{colour}"/>"#,
                        x + 1.0,
                        y - 9.0
                    );
                }
                _ => {
                    let _ = writeln!(
                        svg,
                        r#"<line x1="{}" y1="{}" x2="{}" y2="{}" stroke="{colour}" stroke-width="2" stroke-dasharray="5,3"/>"#,
                        x,
                        y - 4.0,
                        x + 14.0,
                        y - 4.0
                    );
                }
            }
            let _ = writeln!(
                svg,
                r#"<text x="{}" y="{}">{}</text>"#,
                x + 18.0,
                y,
                escape(label)
            );
            x += 18.0 + 7.0 * label.chars().count() as f64 + 30.0;
        }
    }
}

#[allow(clippy::too_many_arguments)]
fn panel(
    svg: &mut String,
    (top, bottom): (f64, f64),
    axis_title: &str,
    max: f64,
    count: usize,
    x: &impl Fn(usize) -> f64,
    values: &[(f64, f64, f64)],
    colour: &str,
    label: impl Fn(f64) -> String,
    with_range: bool,
) {
    let (step, axis_top) = nice_axis(max, 5);
    let y = |v: f64| bottom - (v / axis_top) * (bottom - top);
    let right = WIDTH - RIGHT;
    let mut tick = 0.0;
    while tick <= axis_top * (1.0 + 1e-9) {
        let _ = writeln!(
            svg,
            r##"<line x1="{LEFT}" y1="{0:.1}" x2="{right}" y2="{0:.1}" stroke="#e5e7eb"/><text x="{1}" y="{2:.1}" text-anchor="end" fill="#333">{3}</text>"##,
            y(tick),
            LEFT - 8.0,
            y(tick) + 4.0,
            tick_label(tick, step)
        );
        tick += step;
    }
    let _ = writeln!(
        svg,
        r##"<line x1="{LEFT}" y1="{top}" x2="{LEFT}" y2="{bottom}" stroke="#333"/><line x1="{LEFT}" y1="{bottom}" x2="{right}" y2="{bottom}" stroke="#333"/>"##
    );
    let middle = (top + bottom) / 2.0;
    let _ = writeln!(
        svg,
        r#"<text transform="translate(28,{middle:.1}) rotate(-90)" text-anchor="middle" font-weight="bold" fill="{colour}">{}</text>"#,
        escape(axis_title)
    );
    let points: Vec<String> = (0..count.min(values.len()))
        .map(|i| format!("{:.1},{:.1}", x(i), y(values[i].0)))
        .collect();
    let _ = writeln!(
        svg,
        r#"<polyline points="{}" fill="none" stroke="{colour}" stroke-width="2"/>"#,
        points.join(" ")
    );
    for (i, &(value, low, high)) in values.iter().enumerate().take(count) {
        let cx = x(i);
        if with_range {
            let _ = writeln!(
                svg,
                r#"<line x1="{cx:.1}" y1="{:.1}" x2="{cx:.1}" y2="{:.1}" stroke="{colour}" stroke-width="1.5"/><line x1="{:.1}" y1="{:.1}" x2="{:.1}" y2="{:.1}" stroke="{colour}"/><line x1="{:.1}" y1="{:.1}" x2="{:.1}" y2="{:.1}" stroke="{colour}"/>"#,
                y(low),
                y(high),
                cx - 5.0,
                y(low),
                cx + 5.0,
                y(low),
                cx - 5.0,
                y(high),
                cx + 5.0,
                y(high)
            );
            let _ = writeln!(
                svg,
                r#"<circle cx="{cx:.1}" cy="{:.1}" r="5" fill="{colour}"/>"#,
                y(value)
            );
        } else {
            let _ = writeln!(
                svg,
                r#"<rect x="{:.1}" y="{:.1}" width="10" height="10" fill="{colour}"/>"#,
                cx - 5.0,
                y(value) - 5.0
            );
        }
        let label_y = if with_range { y(high) } else { y(value) } - 10.0;
        let _ = writeln!(
            svg,
            r#"<text x="{:.1}" y="{:.1}" text-anchor="start" font-size="12" fill="{colour}">{}</text>"#,
            cx + 8.0,
            label_y.max(top - 4.0),
            escape(&label(value))
        );
    }
}

fn picks(svg: &mut String, chart: &Chart, x: &impl Fn(usize) -> f64) {
    let mut by_column: Vec<(usize, Vec<&str>)> = Vec::new();
    for &(strategy, column) in chart.picks {
        match by_column.iter_mut().find(|(c, _)| *c == column) {
            Some((_, names)) => names.push(strategy.name()),
            None => by_column.push((column, vec![strategy.name()])),
        }
    }
    for (column, names) in by_column {
        if column >= chart.columns.len() {
            continue;
        }
        let cx = x(column);
        for (top, bottom) in [DURATION_PANEL, COST_PANEL] {
            let _ = writeln!(
                svg,
                r#"<line x1="{cx:.1}" y1="{top}" x2="{cx:.1}" y2="{bottom}" stroke="{PICK_COLOUR}" stroke-width="2" stroke-dasharray="5,3" opacity="0.8"/>"#
            );
        }
        let _ = writeln!(
            svg,
            r#"<text x="{cx:.1}" y="{:.1}" text-anchor="middle" font-weight="bold" fill="{PICK_COLOUR}">▼ {}</text>"#,
            COST_PANEL.0 - 22.0,
            escape(&names.join(" + "))
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::options::Weight;
    use proptest::prelude::{prop_assert, proptest};

    fn columns() -> Vec<Column> {
        [
            (128, 160.0, 0.47),
            (512, 40.0, 0.48),
            (1769, 11.8, 0.48),
            (3008, 11.7, 0.66),
        ]
        .into_iter()
        .map(
            |(memory_mb, mean_ms, per_million): (u32, f64, f64)| Column {
                memory_mb,
                mean_ms,
                min_ms: mean_ms * 0.95,
                max_ms: mean_ms * 1.1,
                cost_usd: per_million / 1e6,
            },
        )
        .collect()
    }

    /// Tags open and close in order (enough to catch a broken template; not a full XML parser).
    fn tags_balance(svg: &str) -> bool {
        let mut open: Vec<&str> = Vec::new();
        for piece in svg.split('<').skip(1) {
            let Some((tag, _)) = piece.split_once('>') else {
                return false;
            };
            if let Some(name) = tag.strip_prefix('/') {
                if open.pop() != Some(name.trim()) {
                    return false;
                }
            } else if !tag.ends_with('/') {
                open.push(tag.split_whitespace().next().unwrap_or(""));
            }
        }
        open.is_empty()
    }

    #[test]
    fn the_chart_has_both_panels_labelled_axes_a_legend_and_the_picks() {
        let columns = columns();
        let picks = [
            (Strategy::Cost, 0),
            (Strategy::Speed, 3),
            (Strategy::Balanced(Weight::DEFAULT), 2),
        ];
        let svg = render(&Chart {
            title: "pbkdf2-control <local>",
            subtitle: "10 invocations",
            cost_label: "cost per 1M (arm64)",
            columns: &columns,
            picks: &picks,
        });
        assert!(tags_balance(&svg), "{svg}");
        for text in [
            "Duration (ms)",
            "Cost per 1M invocations (USD)",
            "Memory size (MB)",
            "cost per 1M (arm64)",
            "recommended size per strategy",
            "pbkdf2-control &lt;local&gt;",
            "▼ cost",
            "▼ speed",
            "▼ balanced",
            "160.0 ms",
            "$0.66",
            ">1769<",
        ] {
            assert!(svg.contains(text), "missing {text:?}");
        }
    }

    #[test]
    fn strategies_picking_the_same_size_share_one_marker() {
        let columns = columns();
        let picks = [
            (Strategy::Cost, 1),
            (Strategy::Balanced(Weight::DEFAULT), 1),
            (Strategy::Speed, 9),
        ];
        let svg = render(&Chart {
            title: "t",
            subtitle: "s",
            cost_label: "c",
            columns: &columns,
            picks: &picks,
        });
        assert!(svg.contains("▼ cost + balanced"));
        assert!(
            !svg.contains("▼ speed"),
            "an out-of-range pick is not drawn"
        );
    }

    #[test]
    fn nice_axes_for_typical_ranges() {
        assert_eq!(nice_axis(161.0, 5), (50.0, 200.0));
        assert_eq!(nice_axis(0.66, 5), (0.2, 0.8));
        assert_eq!(nice_axis(10.0, 5), (2.0, 10.0));
        assert_eq!(nice_axis(0.0, 5), (1.0, 1.0));
        assert_eq!(nice_axis(f64::NAN, 5), (1.0, 1.0));
        assert_eq!(tick_label(0.4, 0.2), "0.4");
        assert_eq!(tick_label(150.0, 50.0), "150");
    }

    proptest! {
        #[test]
        fn the_axis_covers_the_data_with_a_1_2_5_step(max in 1e-6f64..1e9, target in 1u32..10) {
            let (step, top) = nice_axis(max, target);
            prop_assert!(top >= max * (1.0 - 1e-9), "top {top} under max {max}");
            prop_assert!(top <= max + step * (1.0 + 1e-9), "top {top} more than a step over {max}");
            let mantissa = step / 10f64.powf(step.log10().floor());
            prop_assert!([1.0, 2.0, 5.0, 10.0].iter().any(|m| (mantissa - m).abs() < 1e-6), "step {step}");
        }
    }
}
