//! Charts drawn on the server as SVG: no chart library in the browser (the WebAssembly
//! stays as it is), colours from the stylesheet's variables so the light and dark themes
//! apply, a `viewBox` so a phone scales it down, and beside every chart the same numbers
//! as a table a keyboard or a screen reader can read. The panel's own changes (releases,
//! syncs, its actions) are drawn on every chart as markers.

use std::fmt::Write as _;

use super::prometheus::Series;
use super::queries::Unit;
use super::window::Window;
use crate::escape::html;

/// Series drawn at most on one chart (the largest); the rest are counted, not drawn.
pub const MOST_SERIES: usize = 8;

/// Rows of the value table: evenly spread over the range, plus the newest point.
const TABLE_ROWS: usize = 24;

const WIDTH: f64 = 640.0;
const HEIGHT: f64 = 220.0;
const LEFT: f64 = 64.0;
const RIGHT: f64 = 12.0;
const TOP: f64 = 10.0;
const BOTTOM: f64 = 26.0;

/// A change of the panel's own history, drawn as a vertical line.
#[derive(Clone, Debug, PartialEq)]
pub struct Marker {
    /// Unix seconds.
    pub at: i64,
    /// `release`, `sync` or `action` (its CSS class).
    pub kind: &'static str,
    /// What happened, in words ("backend 1.8.2 → 1.8.3 by Ana").
    pub text: String,
}

/// A value in `unit`, short enough for an axis.
pub fn format(unit: Unit, value: f64) -> String {
    let trim = |v: f64, decimals: usize| {
        let s = format!("{v:.decimals$}");
        if s.contains('.') {
            s.trim_end_matches('0').trim_end_matches('.').to_owned()
        } else {
            s
        }
    };
    let scaled = |v: f64| {
        if v == 0.0 {
            "0".to_owned()
        } else if v.abs() >= 100.0 {
            trim(v, 0)
        } else if v.abs() >= 10.0 {
            trim(v, 1)
        } else if v.abs() >= 0.1 {
            trim(v, 2)
        } else {
            trim(v, 3)
        }
    };
    match unit {
        Unit::PerSecond => format!("{}/s", scaled(value)),
        Unit::Ratio => format!("{} %", scaled(value * 100.0)),
        Unit::Seconds if value.abs() < 1.0 && value != 0.0 => {
            format!("{} ms", scaled(value * 1000.0))
        }
        Unit::Seconds => format!("{} s", scaled(value)),
        Unit::Bytes => {
            let mut v = value;
            let mut unit = "B";
            for next in ["KiB", "MiB", "GiB", "TiB"] {
                if v.abs() < 1024.0 {
                    break;
                }
                v /= 1024.0;
                unit = next;
            }
            format!("{} {unit}", scaled(v))
        }
        Unit::Cores => format!("{} cores", scaled(value)),
        Unit::Count => scaled(value),
    }
}

/// The smallest "nice" number (1, 2, 2.5 or 5 × 10ⁿ; for bytes, powers of two) not below
/// `max`: the top of the value axis.
fn nice_top(unit: Unit, max: f64) -> f64 {
    if max <= 0.0 || !max.is_finite() {
        return match unit {
            Unit::Ratio => 0.01,
            _ => 1.0,
        };
    }
    if unit == Unit::Bytes {
        let mut top = 1.0;
        while top < max {
            top *= 2.0;
        }
        return top;
    }
    let magnitude = 10f64.powf(max.log10().floor());
    [1.0, 2.0, 2.5, 5.0, 10.0]
        .into_iter()
        .map(|f| f * magnitude)
        .find(|top| *top >= max * (1.0 - 1e-9))
        .unwrap_or(10.0 * magnitude)
}

/// Time-axis ticks: the first interval giving at most six labels, aligned to it (UTC).
fn time_ticks(window: &Window) -> (Vec<i64>, &'static str) {
    const STEPS: [(i64, &str); 12] = [
        (60, "%H:%M"),
        (300, "%H:%M"),
        (600, "%H:%M"),
        (900, "%H:%M"),
        (1800, "%H:%M"),
        (3600, "%H:%M"),
        (7200, "%H:%M"),
        (3 * 3600, "%H:%M"),
        (6 * 3600, "%H:%M"),
        (12 * 3600, "%a %H:%M"),
        (86_400, "%a %d"),
        (2 * 86_400, "%a %d"),
    ];
    let span = (window.end - window.start).max(1);
    let (every, format) =
        STEPS.into_iter().find(|(every, _)| span / every <= 6).unwrap_or((7 * 86_400, "%d %b"));
    let first = (window.start + every - 1).div_euclid(every) * every;
    let ticks = (0..).map(|i| first + i * every).take_while(|t| *t <= window.end).collect();
    (ticks, format)
}

fn clock(at: i64, format: &str) -> String {
    chrono::DateTime::from_timestamp(at, 0)
        .map(|t| t.format(format).to_string())
        .unwrap_or_default()
}

/// The name of a series in the legend: its `legend` label, else the chart's title.
fn name_of(series: &Series, legend: Option<&str>, fallback: &str) -> String {
    legend
        .and_then(|l| series.labels.get(l))
        .cloned()
        .filter(|n| !n.is_empty())
        .unwrap_or_else(|| fallback.to_owned())
}

fn peak(series: &Series) -> f64 {
    series.points.iter().filter_map(|(_, v)| *v).fold(f64::NEG_INFINITY, f64::max)
}

fn latest(series: &Series) -> Option<f64> {
    series.points.iter().rev().find_map(|(_, v)| *v)
}

/// What to draw on one chart.
pub struct Drawing<'a> {
    /// The chart's id (unique on the page: SVG ids derive from it).
    pub id: &'a str,
    pub title: &'a str,
    pub unit: Unit,
    pub window: &'a Window,
    pub series: &'a [Series],
    /// The label naming each series, when there are several.
    pub legend: Option<&'a str>,
    /// The limit line (its first series), if the chart has one.
    pub limit: Option<&'a [Series]>,
    pub markers: &'a [Marker],
}

/// The chart as HTML: the SVG, its legend and its value table.
pub fn render(d: &Drawing<'_>) -> String {
    let mut drawn: Vec<&Series> = d.series.iter().collect();
    // The largest first, so the series kept when there are too many are the ones that matter.
    drawn.sort_by(|a, b| peak(b).total_cmp(&peak(a)));
    let hidden = drawn.len().saturating_sub(MOST_SERIES);
    drawn.truncate(MOST_SERIES);
    let limit = d.limit.and_then(|l| l.first()).and_then(latest);
    let max = drawn.iter().map(|s| peak(s)).chain(limit).fold(0.0, f64::max);
    let top = nice_top(d.unit, max);

    let plot_w = WIDTH - LEFT - RIGHT;
    let plot_h = HEIGHT - TOP - BOTTOM;
    let span = (d.window.end - d.window.start).max(1) as f64;
    let x = |t: i64| LEFT + (t - d.window.start) as f64 / span * plot_w;
    let y = |v: f64| TOP + plot_h - (v / top).clamp(0.0, 1.05) * plot_h;

    let id = html(d.id);
    let mut svg = String::new();
    let summary = match drawn.first().and_then(|s| latest(s)) {
        Some(v) if drawn.len() == 1 => format!("{}: now {}", d.title, format(d.unit, v)),
        _ => format!("{}: {} series", d.title, drawn.len()),
    };
    let _ = write!(
        svg,
        r#"<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-labelledby="{id}-t"><title id="{id}-t">{}</title>"#,
        html(&summary)
    );
    // Value axis: four lines above zero.
    for i in 0..=4 {
        let v = top * f64::from(i) / 4.0;
        let at = y(v);
        let _ = write!(
            svg,
            r#"<line class="grid" x1="{LEFT}" x2="{}" y1="{at:.1}" y2="{at:.1}"/><text class="axis" x="{}" y="{:.1}" text-anchor="end">{}</text>"#,
            WIDTH - RIGHT,
            LEFT - 6.0,
            at + 4.0,
            html(&format(d.unit, v))
        );
    }
    let (ticks, tick_format) = time_ticks(d.window);
    for t in ticks {
        let at = x(t);
        let _ = write!(
            svg,
            r#"<line class="tick" x1="{at:.1}" x2="{at:.1}" y1="{}" y2="{}"/><text class="axis" x="{at:.1}" y="{}" text-anchor="middle">{}</text>"#,
            TOP + plot_h,
            TOP + plot_h + 4.0,
            HEIGHT - 8.0,
            html(&clock(t, tick_format))
        );
    }
    if let Some(limit) = limit {
        let at = y(limit);
        let _ = write!(
            svg,
            r#"<line class="limit" x1="{LEFT}" x2="{}" y1="{at:.1}" y2="{at:.1}"><title>limit {}</title></line>"#,
            WIDTH - RIGHT,
            html(&format(d.unit, limit))
        );
    }
    for (i, series) in drawn.iter().enumerate() {
        let mut path = String::new();
        let mut pen_down = false;
        for (t, v) in &series.points {
            match v {
                // A missing value is a gap, never a drop to zero.
                None => pen_down = false,
                Some(v) => {
                    let _ = write!(
                        path,
                        "{}{:.1} {:.1}",
                        if pen_down { " L" } else { " M" },
                        x(*t),
                        y(*v)
                    );
                    pen_down = true;
                }
            }
        }
        let name = name_of(series, d.legend, d.title);
        let _ = write!(
            svg,
            r#"<path class="series s{}" d="{}"><title>{}</title></path>"#,
            i % MOST_SERIES,
            path.trim_start(),
            html(&name)
        );
    }
    for marker in d.markers.iter().filter(|m| m.at >= d.window.start && m.at <= d.window.end) {
        let at = x(marker.at);
        let _ = write!(
            svg,
            r#"<g class="marker {}"><title>{} · {}</title><line x1="{at:.1}" x2="{at:.1}" y1="{TOP}" y2="{}"/><path d="M{:.1} {TOP} l4 -6 h-8 z"/></g>"#,
            html(marker.kind),
            html(&clock(marker.at, "%a %d %H:%M UTC")),
            html(&marker.text),
            TOP + plot_h,
            at + 4.0
        );
    }
    svg.push_str("</svg>");

    let mut out = svg;
    if drawn.len() > 1 || hidden > 0 {
        out.push_str(r#"<ul class="legend">"#);
        for (i, series) in drawn.iter().enumerate() {
            let now =
                latest(series).map(|v| format(d.unit, v)).unwrap_or_else(|| "no value".into());
            let _ = write!(
                out,
                r#"<li><span class="swatch s{}"></span>{} <span class="muted">{}</span></li>"#,
                i % MOST_SERIES,
                html(&name_of(series, d.legend, d.title)),
                html(&now)
            );
        }
        if hidden > 0 {
            let _ = write!(out, r#"<li class="muted">and {hidden} smaller series not drawn</li>"#);
        }
        out.push_str("</ul>");
    }
    out.push_str(&table(d, &drawn));
    out
}

/// The numbers behind the chart, for keyboards and screen readers (and anyone who wants
/// the value at a time): up to [`TABLE_ROWS`] times, evenly spread, and the newest.
fn table(d: &Drawing<'_>, drawn: &[&Series]) -> String {
    let mut times: Vec<i64> = drawn.iter().flat_map(|s| s.points.iter().map(|(t, _)| *t)).collect();
    times.sort_unstable();
    times.dedup();
    if times.is_empty() {
        return String::new();
    }
    let every = times.len().div_ceil(TABLE_ROWS).max(1);
    let mut rows: Vec<i64> = times.iter().step_by(every).copied().collect();
    if let Some(last) = times.last() {
        if rows.last() != Some(last) {
            rows.push(*last);
        }
    }
    let mut out = String::from(
        r#"<details class="values"><summary>Values (UTC)</summary><table><thead><tr><th scope="col">Time</th>"#,
    );
    for series in drawn {
        let _ =
            write!(out, r#"<th scope="col">{}</th>"#, html(&name_of(series, d.legend, d.title)));
    }
    out.push_str("</tr></thead><tbody>");
    for t in rows.iter().rev() {
        let _ = write!(out, r#"<tr><th scope="row">{}</th>"#, html(&clock(*t, "%a %d %H:%M")));
        for series in drawn {
            let value = series.points.iter().find(|(at, _)| at == t).and_then(|(_, v)| *v);
            let text = value.map(|v| format(d.unit, v)).unwrap_or_else(|| "—".into());
            let _ = write!(out, "<td>{}</td>", html(&text));
        }
        out.push_str("</tr>");
    }
    out.push_str("</tbody></table></details>");
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;
    use std::time::Duration;

    fn window() -> Window {
        Window {
            start: 1_764_662_400,
            end: 1_764_666_000,
            step: Duration::from_secs(900),
            rate_window: Duration::from_secs(960),
        }
    }

    fn draw(unit: Unit, series: &[Series], legend: Option<&str>, markers: &[Marker]) -> String {
        render(&Drawing {
            id: "c",
            title: "C",
            unit,
            window: &window(),
            series,
            legend,
            limit: None,
            markers,
        })
    }

    fn series(name: &str, values: &[Option<f64>]) -> Series {
        let w = window();
        Series {
            labels: BTreeMap::from([("pod".to_owned(), name.to_owned())]),
            points: values
                .iter()
                .enumerate()
                .map(|(i, v)| (w.start + 900 * i as i64, *v))
                .collect(),
        }
    }

    #[test]
    fn values_are_written_in_their_unit() {
        assert_eq!(format(Unit::PerSecond, 12.34), "12.3/s");
        assert_eq!(format(Unit::Ratio, 0.05), "5 %");
        assert_eq!(format(Unit::Ratio, 0.0004), "0.04 %");
        assert_eq!(format(Unit::Seconds, 0.23), "230 ms");
        assert_eq!(format(Unit::Seconds, 1.5), "1.5 s");
        assert_eq!(format(Unit::Bytes, 512.0 * 1024.0 * 1024.0), "512 MiB");
        assert_eq!(format(Unit::Bytes, 1.5 * 1024.0 * 1024.0 * 1024.0), "1.5 GiB");
        assert_eq!(format(Unit::Cores, 0.25), "0.25 cores");
        assert_eq!(format(Unit::Count, 3.0), "3");
    }

    #[test]
    fn the_value_axis_ends_on_a_round_number_above_the_peak() {
        assert_eq!(nice_top(Unit::Count, 7.0), 10.0);
        assert_eq!(nice_top(Unit::Count, 180.0), 200.0);
        assert_eq!(nice_top(Unit::Seconds, 0.21), 0.25);
        assert_eq!(nice_top(Unit::Bytes, 300.0 * 1024.0 * 1024.0), 512.0 * 1024.0 * 1024.0);
        assert_eq!(nice_top(Unit::Count, 0.0), 1.0);
    }

    #[test]
    fn a_missing_point_is_a_gap_and_each_piece_starts_anew() {
        let drawn = [series("backend-1", &[Some(1.0), None, Some(2.0), Some(4.0), Some(4.0)])];
        let html = draw(Unit::Count, &drawn, Some("pod"), &[]);
        let path = html
            .split("class=\"series s0\" d=\"")
            .nth(1)
            .and_then(|p| p.split('"').next())
            .unwrap();
        assert_eq!(path.matches('M').count(), 2, "{path}");
        assert_eq!(path.matches('L').count(), 2, "{path}");
        // y of 4.0 on a 0..5 axis: 10 + 184 - 0.8 × 184
        assert!(path.ends_with("628.0 46.8"), "{path}");
    }

    #[test]
    fn labels_and_marker_text_from_outside_come_out_inert() {
        let drawn = [
            series("<script>alert(1)</script>", &[Some(1.0), Some(2.0)]),
            series("b\"onload=\"x", &[Some(1.0)]),
        ];
        let markers = [Marker {
            at: window().start + 60,
            kind: "release",
            text: "v1 <img src=x onerror=alert(1)>".into(),
        }];
        let html = draw(Unit::Cores, &drawn, Some("pod"), &markers);
        assert!(!html.contains("<script>") && !html.contains("<img"), "{html}");
        assert!(!html.contains("b\"onload"), "{html}");
        assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
    }

    #[test]
    fn markers_outside_the_range_are_left_out_and_the_rest_drawn_where_they_happened() {
        let w = window();
        let markers = [
            Marker { at: w.start + 1800, kind: "release", text: "in".into() },
            Marker { at: w.end + 1, kind: "sync", text: "after".into() },
        ];
        let drawn = [series("a", &[Some(1.0)])];
        let html = draw(Unit::Count, &drawn, None, &markers);
        assert_eq!(html.matches("class=\"marker").count(), 1);
        // Half-way along the plot: 64 + 0.5 × 564.
        assert!(html.contains("x1=\"346.0\""), "{html}");
    }

    #[test]
    fn beyond_eight_series_the_largest_are_drawn_and_the_rest_counted() {
        let drawn: Vec<Series> =
            (0..11).map(|i| series(&format!("p{i}"), &[Some(f64::from(i))])).collect();
        let html = draw(Unit::Count, &drawn, Some("pod"), &[]);
        assert_eq!(html.matches("<path class=\"series").count(), MOST_SERIES);
        assert!(html.contains("and 3 smaller series not drawn"));
        assert!(html.contains(">p10<") && !html.contains(">p0<"));
    }

    #[test]
    fn the_value_table_reads_the_same_numbers_newest_first() {
        let drawn = [series("a", &[Some(1.0), None, Some(3.0)])];
        let html = draw(Unit::PerSecond, &drawn, None, &[]);
        let table = html.split("<tbody>").nth(1).unwrap();
        let cells: Vec<&str> =
            table.split("<td>").skip(1).map(|c| c.split('<').next().unwrap()).collect();
        assert_eq!(cells, ["3/s", "—", "1/s"]);
    }
}
