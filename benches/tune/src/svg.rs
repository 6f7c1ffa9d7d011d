//! The chart: duration (top panel) and cost (bottom panel) against memory size, one column per
//! size, with the recommended sizes marked, drawn with plotters' SVG backend.

use plotters::coord::Shift;
use plotters::coord::ranged1d::{IntoSegmentedCoord, SegmentValue};
use plotters::element::DashedPathElement;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

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

#[derive(Debug, thiserror::Error)]
#[error("cannot draw the chart: {0}")]
pub struct ChartError(String);

impl<E: std::error::Error + Send + Sync> From<DrawingAreaErrorKind<E>> for ChartError {
    fn from(error: DrawingAreaErrorKind<E>) -> Self {
        Self(error.to_string())
    }
}

const SIZE: (u32, u32) = (960, 700);
const HEADER: u32 = 110;
const FONT: &str = "sans-serif";
const DURATION_COLOUR: RGBColor = RGBColor(0x1f, 0x5f, 0xa8);
const COST_COLOUR: RGBColor = RGBColor(0xc2, 0x41, 0x0c);
const PICK_COLOUR: RGBColor = RGBColor(0x15, 0x80, 0x3d);
const GRID_COLOUR: RGBColor = RGBColor(0xe5, 0xe7, 0xeb);

type Area<'a> = DrawingArea<SVGBackend<'a>, Shift>;

/// One panel's values per column: the marker's value and the low and high ends of its bar.
struct Panel<'a> {
    axis_title: &'a str,
    colour: RGBColor,
    values: Vec<(f64, f64, f64)>,
    /// The text next to a marker.
    label: fn(f64) -> String,
    /// The text of a tick on the value axis.
    tick: fn(f64) -> String,
    with_range: bool,
    x_desc: &'a str,
}

pub fn render(chart: &Chart) -> Result<String, ChartError> {
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, SIZE).into_drawing_area();
        root.fill(&WHITE)?;
        let (header, body) = root.split_vertically(HEADER);
        header_and_legend(&header, chart)?;
        let panels = body.split_evenly((2, 1));
        let durations = Panel {
            axis_title: "Duration (ms)",
            colour: DURATION_COLOUR,
            values: chart
                .columns
                .iter()
                .map(|c| (c.mean_ms, c.min_ms, c.max_ms))
                .collect(),
            label: |v| format!("{v:.1} ms"),
            tick: |v| {
                let text = format!("{v:.2}");
                text.trim_end_matches('0').trim_end_matches('.').to_string()
            },
            with_range: true,
            x_desc: "",
        };
        let costs = Panel {
            axis_title: "Cost per 1M invocations (USD)",
            colour: COST_COLOUR,
            values: chart
                .columns
                .iter()
                .map(|c| (c.cost_usd * 1e6, c.cost_usd * 1e6, c.cost_usd * 1e6))
                .collect(),
            label: |v| format!("${v:.2}"),
            tick: |v| format!("${v:.2}"),
            with_range: false,
            x_desc: "Memory size (MB)",
        };
        draw_panel(&panels[0], chart, &durations, false)?;
        draw_panel(&panels[1], chart, &costs, true)?;
        root.present()?;
    }
    Ok(svg)
}

fn header_and_legend(area: &Area, chart: &Chart) -> Result<(), ChartError> {
    let centre = (SIZE.0 / 2) as i32;
    let middle = Pos::new(HPos::Center, VPos::Top);
    area.draw(&Text::new(
        chart.title,
        (centre, 10),
        (FONT, 22)
            .into_font()
            .style(FontStyle::Bold)
            .color(&BLACK)
            .pos(middle),
    ))?;
    area.draw(&Text::new(
        chart.subtitle,
        (centre, 38),
        (FONT, 16)
            .into_font()
            .color(&RGBColor(0x44, 0x44, 0x44))
            .pos(middle),
    ))?;
    // Two rows, so a long cost label never runs off the chart.
    let (left, row_1, row_2) = (100, 72, 94);
    let text = |label: &str, x: i32, y: i32| {
        Text::new(
            label.to_string(),
            (x + 18, y),
            (FONT, 16)
                .into_font()
                .color(&BLACK)
                .pos(Pos::new(HPos::Left, VPos::Center)),
        )
    };
    let first = "mean duration; bar: min–max of kept invocations";
    area.draw(&Circle::new((left + 6, row_1), 5, DURATION_COLOUR.filled()))?;
    area.draw(&text(first, left, row_1))?;
    let second = left + 18 + 7 * first.chars().count() as i32 + 30;
    area.draw(&DashedPathElement::new(
        [(second, row_1), (second + 14, row_1)],
        5,
        3,
        PICK_COLOUR.stroke_width(2),
    ))?;
    area.draw(&text("recommended size per strategy", second, row_1))?;
    area.draw(&Rectangle::new(
        [(left + 1, row_2 - 5), (left + 11, row_2 + 5)],
        COST_COLOUR.filled(),
    ))?;
    area.draw(&text(chart.cost_label, left, row_2))?;
    Ok(())
}

fn draw_panel(
    area: &Area,
    chart: &Chart,
    panel: &Panel,
    label_picks: bool,
) -> Result<(), ChartError> {
    let count = chart.columns.len().max(1) as u32;
    let max = panel
        .values
        .iter()
        .map(|&(value, _, high)| value.max(high))
        .fold(0.0, f64::max);
    // Headroom for the value labels above the markers (and the pick labels in the cost panel).
    let top = if max.is_finite() && max > 0.0 {
        max * 1.3
    } else {
        1.0
    };
    let mut plot = ChartBuilder::on(area)
        .margin_left(20)
        .margin_right(40)
        .margin_top(10)
        .x_label_area_size(if panel.x_desc.is_empty() { 30 } else { 50 })
        .y_label_area_size(80)
        // An integer range includes its end: `0..count - 1` is one segment per column.
        .build_cartesian_2d((0..count - 1).into_segmented(), 0.0..top)?;
    let memory_label = |value: &SegmentValue<u32>| match value {
        SegmentValue::CenterOf(i) => chart
            .columns
            .get(*i as usize)
            .map_or_else(String::new, |c| c.memory_mb.to_string()),
        _ => String::new(),
    };
    let tick_label = panel.tick;
    plot.configure_mesh()
        .disable_x_mesh()
        .light_line_style(TRANSPARENT)
        .bold_line_style(GRID_COLOUR)
        .x_labels(count as usize + 1)
        .x_label_formatter(&memory_label)
        .y_labels(6)
        .y_label_formatter(&|v| tick_label(*v))
        .y_desc(panel.axis_title)
        .x_desc(panel.x_desc)
        .axis_desc_style(
            (FONT, 16)
                .into_font()
                .style(FontStyle::Bold)
                .color(&panel.colour),
        )
        .label_style((FONT, 15))
        .draw()?;

    let at = |i: usize| SegmentValue::CenterOf(i as u32);
    let colour = panel.colour;
    // The picks first, so the data is drawn over their lines.
    // Where the picks are labelled, their lines stop under the label.
    let line_top = if label_picks { top * 0.9 } else { top };
    for (column, names) in picks_by_column(chart) {
        plot.draw_series([DashedPathElement::new(
            [(at(column), 0.0), (at(column), line_top)],
            5,
            3,
            PICK_COLOUR.stroke_width(2),
        )])?;
        if label_picks {
            plot.draw_series([EmptyElement::at((at(column), top))
                + Text::new(
                    format!("▼ {}", names.join(" + ")),
                    (0, 2),
                    (FONT, 16)
                        .into_font()
                        .style(FontStyle::Bold)
                        .color(&PICK_COLOUR)
                        .pos(Pos::new(HPos::Center, VPos::Top)),
                )])?;
        }
    }
    plot.draw_series(LineSeries::new(
        panel.values.iter().enumerate().map(|(i, v)| (at(i), v.0)),
        colour.stroke_width(2),
    ))?;
    for (i, &(value, low, high)) in panel.values.iter().enumerate() {
        if panel.with_range {
            plot.draw_series([ErrorBar::new_vertical(
                at(i),
                low,
                value,
                high,
                colour.stroke_width(2),
                10,
            )])?;
            plot.draw_series([Circle::new((at(i), value), 5, colour.filled())])?;
        } else {
            plot.draw_series([EmptyElement::at((at(i), value))
                + Rectangle::new([(-5, -5), (5, 5)], colour.filled())])?;
        }
        let label_at = if panel.with_range { high } else { value };
        plot.draw_series([EmptyElement::at((at(i), label_at))
            + Text::new(
                (panel.label)(value),
                (8, -16),
                (FONT, 15).into_font().color(&colour),
            )])?;
    }

    Ok(())
}

/// The strategies grouped by the column they picked, in the order first picked; picks outside the
/// chart are left out.
fn picks_by_column(chart: &Chart) -> Vec<(usize, Vec<&'static str>)> {
    let mut by_column: Vec<(usize, Vec<&'static str>)> = Vec::new();
    for &(strategy, column) in chart.picks {
        if column >= chart.columns.len() {
            continue;
        }
        match by_column.iter_mut().find(|(c, _)| *c == column) {
            Some((_, names)) => names.push(strategy.name()),
            None => by_column.push((column, vec![strategy.name()])),
        }
    }
    by_column
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::options::Weight;

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

    /// Tags open and close in order (enough to catch broken output; not a full XML parser).
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
            } else if !tag.ends_with('/') && !tag.starts_with('?') {
                open.push(tag.split_whitespace().next().unwrap_or(""));
            }
        }
        open.is_empty()
    }

    /// The text of every `<text>` element, trimmed (still escaped).
    fn texts(svg: &str) -> Vec<&str> {
        svg.split("<text")
            .skip(1)
            .filter_map(|piece| {
                let (_, rest) = piece.split_once('>')?;
                let (text, _) = rest.split_once("</text>")?;
                Some(text.trim())
            })
            .collect()
    }

    fn render_ok(chart: &Chart) -> String {
        render(chart).unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn the_chart_has_both_panels_labelled_axes_a_legend_and_the_picks() {
        let columns = columns();
        let picks = [
            (Strategy::Cost, 0),
            (Strategy::Speed, 3),
            (Strategy::Balanced(Weight::DEFAULT), 2),
        ];
        let svg = render_ok(&Chart {
            title: "pbkdf2-control <local>",
            subtitle: "10 invocations",
            cost_label: "cost per 1M (arm64)",
            columns: &columns,
            picks: &picks,
        });
        assert!(svg.starts_with("<svg"), "{svg}");
        assert!(tags_balance(&svg), "{svg}");
        let texts = texts(&svg);
        for text in [
            "Duration (ms)",
            "Cost per 1M invocations (USD)",
            "Memory size (MB)",
            "cost per 1M (arm64)",
            "mean duration; bar: min–max of kept invocations",
            "recommended size per strategy",
            "pbkdf2-control &lt;local&gt;",
            "10 invocations",
            "▼ cost",
            "▼ speed",
            "▼ balanced",
            "160.0 ms",
            "11.7 ms",
            "$0.66",
            "$0.47",
        ] {
            assert!(texts.contains(&text), "missing {text:?} in {texts:?}");
        }
        for mb in ["128", "512", "1769", "3008"] {
            let under_both_panels = texts.iter().filter(|t| **t == mb).count();
            assert_eq!(under_both_panels, 2, "{mb} MB labels in {texts:?}");
        }
        // A min–max bar per size in the duration panel, one dashed line per pick in each panel.
        assert!(svg.matches("<circle").count() >= 5, "{svg}");
    }

    #[test]
    fn strategies_picking_the_same_size_share_one_marker() {
        let columns = columns();
        let picks = [
            (Strategy::Cost, 1),
            (Strategy::Balanced(Weight::DEFAULT), 1),
            (Strategy::Speed, 9),
        ];
        let chart = Chart {
            title: "t",
            subtitle: "s",
            cost_label: "c",
            columns: &columns,
            picks: &picks,
        };
        assert_eq!(picks_by_column(&chart), [(1, vec!["cost", "balanced"])]);
        let svg = render_ok(&chart);
        let texts = texts(&svg);
        assert!(texts.contains(&"▼ cost + balanced"), "{texts:?}");
        assert!(
            !texts.iter().any(|t| t.contains("speed")),
            "an out-of-range pick is not drawn"
        );
    }

    #[test]
    fn an_empty_or_flat_chart_still_draws() {
        for columns in [
            vec![],
            vec![Column {
                memory_mb: 128,
                mean_ms: 0.0,
                min_ms: 0.0,
                max_ms: 0.0,
                cost_usd: 0.0,
            }],
        ] {
            let svg = render_ok(&Chart {
                title: "t",
                subtitle: "s",
                cost_label: "c",
                columns: &columns,
                picks: &[],
            });
            assert!(tags_balance(&svg), "{svg}");
        }
    }
}
