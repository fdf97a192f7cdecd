//! Charts as plain SVG strings: no plotting library, no fonts to load, no script.
//! The same SVG goes into `hoeveel plot` files and inline into the HTML report, so
//! the report needs no network and no JavaScript to show its charts.

use hoeveel_record::{Record, RunPhase};
use std::fmt::Write as _;

/// Most points drawn per series; longer series are averaged into this many buckets.
pub const MAX_POINTS: usize = 1500;

/// What a chart reads of a record's series: between `MAX_POINTS / 2` and
/// `MAX_POINTS` averaged points, so that the chart draws them as read.
pub const CHART_SAMPLES: hoeveel_record::Samples = hoeveel_record::Samples::AtMost(MAX_POINTS / 2);

#[derive(Debug, Clone, PartialEq)]
pub enum Chart {
    Power(PowerChart),
    Bars(BarChart),
    Scatter(ScatterChart),
}

/// Points on log-log axes, each with a vertical interval: energy per output
/// token against parameter count, for models of different sizes.
#[derive(Debug, Clone, PartialEq)]
pub struct ScatterChart {
    pub title: String,
    pub x_unit: String,
    pub y_unit: String,
    pub points: Vec<Point>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Point {
    pub label: String,
    pub x: f64,
    pub y: f64,
    pub y_low: f64,
    pub y_high: f64,
}

/// A value axis: linear from 0, or logarithmic between two powers of ten when
/// the values span more than two orders of magnitude (else a small value next to
/// a large one is an invisible sliver).
#[derive(Debug, Clone, Copy, PartialEq)]
enum Axis {
    Linear { max: f64 },
    Log { lo_exp: i32, hi_exp: i32 },
}

impl Axis {
    fn for_values(values: impl Iterator<Item = f64> + Clone, force_log: bool) -> Axis {
        let positive = values.clone().filter(|v| *v > 0.0 && v.is_finite());
        let max = positive.clone().fold(0.0_f64, f64::max);
        let min = positive.fold(f64::INFINITY, f64::min);
        if max > 0.0 && (force_log || max / min > 100.0) {
            let lo_exp = min.log10().floor() as i32;
            let hi_exp = (max.log10().ceil() as i32).max(lo_exp + 1);
            Axis::Log { lo_exp, hi_exp }
        } else {
            Axis::Linear {
                max: nice_max(values.fold(0.0_f64, f64::max)),
            }
        }
    }

    /// Position of `v` between 0 and 1.
    fn at(self, v: f64) -> f64 {
        match self {
            Axis::Linear { max } => (v / max).clamp(0.0, 1.0),
            Axis::Log { lo_exp, hi_exp } => {
                if v <= 0.0 {
                    return 0.0;
                }
                ((v.log10() - f64::from(lo_exp)) / f64::from(hi_exp - lo_exp)).clamp(0.0, 1.0)
            }
        }
    }

    /// Tick values: quarters of a linear axis, every power of ten of a log one.
    fn ticks(self) -> Vec<f64> {
        match self {
            Axis::Linear { max } => (0..=4).map(|i| max * f64::from(i) / 4.0).collect(),
            Axis::Log { lo_exp, hi_exp } => (lo_exp..=hi_exp).map(|e| 10f64.powi(e)).collect(),
        }
    }

    fn is_log(self) -> bool {
        matches!(self, Axis::Log { .. })
    }

    /// A tick's label: a power of ten written out on a log axis.
    fn label(self, v: f64) -> String {
        match self {
            Axis::Log { .. } if v >= 1e9 => format!("{:.0}B", v / 1e9),
            Axis::Log { .. } if v >= 1e6 => format!("{:.0}M", v / 1e6),
            Axis::Log { .. } if v >= 1e4 => format!("{:.0}k", v / 1e3),
            Axis::Log { .. } if v >= 1.0 => format!("{v:.0}"),
            Axis::Log { .. } => format!("{v}"),
            Axis::Linear { .. } => trim_num(v),
        }
    }
}

/// Power over time per domain, with the run's phases shaded.
#[derive(Debug, Clone, PartialEq)]
pub struct PowerChart {
    pub title: String,
    pub series: Vec<(String, Vec<(f64, f64)>)>,
    pub baseline_w: Option<f64>,
    /// (start_s, end_s, phase name)
    pub phases: Vec<(f64, f64, String)>,
    pub provenance: String,
}

/// Horizontal bars with a range whisker each.
#[derive(Debug, Clone, PartialEq)]
pub struct BarChart {
    pub title: String,
    pub unit: String,
    pub bars: Vec<Bar>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Bar {
    pub label: String,
    pub low: f64,
    pub typical: Option<f64>,
    pub high: f64,
    /// Drawn in the accent colour (the measured value among references).
    pub highlight: bool,
}

impl PowerChart {
    /// The record's time series, averaged down to at most [`MAX_POINTS`] per domain.
    pub fn of(record: &Record) -> Option<PowerChart> {
        if record.samples.is_empty() {
            return None;
        }
        let domains: Vec<String> = record
            .run_start
            .domains
            .iter()
            .map(|d| d.id.clone())
            .collect();
        let bucket = record.samples.len().div_ceil(MAX_POINTS).max(1);
        let series = domains
            .iter()
            .map(|id| {
                let pts: Vec<(f64, f64)> = record
                    .samples
                    .chunks(bucket)
                    .filter_map(|chunk| {
                        let vals: Vec<(f64, f64)> = chunk
                            .iter()
                            .filter_map(|s| s.power_w.get(id).map(|p| (s.t_s, *p)))
                            .collect();
                        (!vals.is_empty()).then(|| {
                            let n = vals.len() as f64;
                            (
                                vals.iter().map(|v| v.0).sum::<f64>() / n,
                                vals.iter().map(|v| v.1).sum::<f64>() / n,
                            )
                        })
                    })
                    .collect();
                (id.clone(), pts)
            })
            .filter(|(_, pts)| !pts.is_empty())
            .collect();
        // Exact windows from the repetitions and the baseline where the record has
        // them; otherwise the samples' phase tags, which only 1.x records carry
        // without windows (a 2.0 reader derives a sample's phase from the windows).
        let mut phases: Vec<(f64, f64, String)> = Vec::new();
        for r in &record.repetitions {
            let name = if r.warmup { "warm-up" } else { "repetition" };
            phases.push((r.start_s, r.start_s + r.duration_s, name.to_string()));
        }
        if let Some(b) = &record.baseline {
            phases.push((b.start_s, b.start_s + b.duration_s, "baseline".to_string()));
        }
        if phases.is_empty() {
            for s in &record.samples {
                let name = phase_name(s.phase);
                match phases.last_mut() {
                    Some(last) if last.2 == name => last.1 = s.t_s,
                    _ => phases.push((s.t_s, s.t_s, name.to_string())),
                }
            }
        }
        phases.retain(|p| p.1 > p.0);
        Some(PowerChart {
            title: format!("Power over time: {}", record.run_start.workload.label),
            series,
            baseline_w: record.baseline.as_ref().map(|b| b.total_power_w),
            phases,
            provenance: record
                .total_provenance()
                .map(|p| p.as_str().to_string())
                .unwrap_or_else(|| "unknown".into()),
        })
    }
}

fn phase_name(p: RunPhase) -> &'static str {
    match p {
        RunPhase::Baseline => "baseline",
        RunPhase::Prepare => "prepare",
        RunPhase::Warmup => "warm-up",
        RunPhase::Repetition => "repetition",
        RunPhase::Between => "between",
    }
}

/// Text as SVG (XML): entities for the markup characters, and control
/// characters other than newline and tab, which XML does not allow, as visible
/// escapes ([`hoeveel_record::printable`]).
fn esc(s: &str) -> String {
    hoeveel_record::printable::text(s)
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

const PALETTE: [&str; 6] = [
    "#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#8c564b", "#e377c2",
];

/// A chart with a coordinate that is not a finite number: drawn, it would
/// write `inf` or `NaN` into the SVG, so it is not drawn at all.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error(
    "the chart \"{chart}\" has a coordinate of {value}, not a finite number, so it is not drawn (a figure it shows is infinite or not a number)"
)]
pub struct NotFinite {
    pub chart: String,
    pub value: f64,
}

/// The chart as SVG; an error where a coordinate is not a finite number.
pub fn svg(chart: &Chart) -> Result<String, NotFinite> {
    let (drawn, title) = match chart {
        Chart::Power(c) => (power_svg(c), &c.title),
        Chart::Bars(c) => (bars_svg(c), &c.title),
        Chart::Scatter(c) => (scatter_svg(c), &c.title),
    };
    drawn.map_err(|value| NotFinite {
        chart: title.clone(),
        value,
    })
}

/// A coordinate as the SVG holds it, to a tenth of a unit: every coordinate
/// computed from a figure goes through here, so none is written as `inf` or
/// `NaN`; the value that is not finite is the error.
fn coord(v: f64) -> Result<String, f64> {
    Ok(format!("{:.1}", finite(v)?))
}

/// `v`, or the error [`coord`] gives: for a value a coordinate is computed
/// from through `f64::max`, which would pass over a NaN.
fn finite(v: f64) -> Result<f64, f64> {
    if v.is_finite() { Ok(v) } else { Err(v) }
}

/// A "nice" upper bound for an axis.
fn nice_max(v: f64) -> f64 {
    if v <= 0.0 || !v.is_finite() {
        return 1.0;
    }
    let mag = 10f64.powf(v.log10().floor());
    for m in [1.0, 2.0, 2.5, 5.0, 10.0] {
        if v <= m * mag {
            return m * mag;
        }
    }
    10.0 * mag
}

fn power_svg(c: &PowerChart) -> Result<String, f64> {
    let (w, h) = (760.0, 320.0);
    let (left, right, top, bottom) = (60.0, 150.0, 34.0, 40.0);
    let t_max = c
        .series
        .iter()
        .flat_map(|(_, p)| p.iter().map(|x| x.0))
        .chain(c.phases.iter().map(|p| p.1))
        .fold(0.0_f64, f64::max)
        .max(1e-9);
    let p_max = nice_max(
        c.series
            .iter()
            .flat_map(|(_, p)| p.iter().map(|x| x.1))
            .chain(c.baseline_w)
            .fold(0.0_f64, f64::max),
    );
    let x = |t: f64| left + (w - left - right) * t / t_max;
    let y = |p: f64| top + (h - top - bottom) * (1.0 - p / p_max);
    let mut s = String::new();
    let _ = write!(
        s,
        r#"<svg xmlns="http://www.w3.org/2000/svg" class="chart" data-chart="power" viewBox="0 0 {w} {h}" width="{w}" height="{h}" role="img" font-family="sans-serif" font-size="11"><title>{}</title>"#,
        esc(&c.title)
    );
    let _ = write!(
        s,
        r#"<text x="{left}" y="18" font-size="13" font-weight="bold">{} [{}]</text>"#,
        esc(&c.title),
        esc(&c.provenance)
    );
    for (start, end, name) in &c.phases {
        let fill = match name.as_str() {
            "baseline" => "#dddddd",
            "warm-up" => "#ffe8b0",
            "repetition" => "#cfe8ff",
            _ => continue,
        };
        let _ = write!(
            s,
            r#"<rect class="phase" data-phase="{name}" x="{}" y="{top}" width="{}" height="{:.1}" fill="{fill}" opacity="0.7"/>"#,
            coord(x(*start))?,
            coord((finite(x(*end))? - x(*start)).max(0.5))?,
            h - top - bottom
        );
    }
    // Axes and ticks.
    let y0 = coord(y(0.0))?;
    let _ = write!(
        s,
        r#"<line x1="{left}" y1="{y0}" x2="{:.1}" y2="{y0}" stroke="black"/>"#,
        w - right,
    );
    let _ = write!(
        s,
        r#"<line x1="{left}" y1="{top}" x2="{left}" y2="{y0}" stroke="black"/>"#,
    );
    for i in 0..=4 {
        let p = p_max * i as f64 / 4.0;
        let _ = write!(
            s,
            r#"<text x="{:.1}" y="{}" text-anchor="end">{}</text>"#,
            left - 4.0,
            coord(y(p) + 4.0)?,
            trim_num(p)
        );
        let t = t_max * i as f64 / 4.0;
        let _ = write!(
            s,
            r#"<text x="{}" y="{:.1}" text-anchor="middle">{}</text>"#,
            coord(x(t))?,
            h - bottom + 16.0,
            trim_num(t)
        );
    }
    let _ = write!(
        s,
        r#"<text x="{:.1}" y="{:.1}" text-anchor="middle">time (s)</text>"#,
        (left + w - right) / 2.0,
        h - 6.0
    );
    let _ = write!(
        s,
        r#"<text x="14" y="{:.1}" transform="rotate(-90 14 {:.1})" text-anchor="middle">power (W)</text>"#,
        h / 2.0,
        h / 2.0
    );
    if let Some(b) = c.baseline_w {
        let _ = write!(
            s,
            r##"<line class="baseline" x1="{left}" y1="{yb}" x2="{:.1}" y2="{yb}" stroke="#555" stroke-dasharray="5,4"/>"##,
            w - right,
            yb = coord(y(b))?,
        );
    }
    for (i, (id, pts)) in c.series.iter().enumerate() {
        let colour = PALETTE[i % PALETTE.len()];
        let d = pts
            .iter()
            .map(|(t, p)| Ok(format!("{},{}", coord(x(*t))?, coord(y(*p))?)))
            .collect::<Result<Vec<String>, f64>>()?;
        let _ = write!(
            s,
            r#"<polyline class="series" data-domain="{}" fill="none" stroke="{colour}" stroke-width="1.5" points="{}"/>"#,
            esc(id),
            d.join(" ")
        );
        let ly = top + 14.0 * i as f64 + 8.0;
        let _ = write!(
            s,
            r#"<line x1="{:.1}" y1="{ly:.1}" x2="{:.1}" y2="{ly:.1}" stroke="{colour}" stroke-width="3"/><text x="{:.1}" y="{:.1}">{}</text>"#,
            w - right + 10.0,
            w - right + 28.0,
            w - right + 32.0,
            ly + 4.0,
            esc(id)
        );
    }
    let mut ly = top + 14.0 * c.series.len() as f64 + 14.0;
    for (name, fill) in [
        ("baseline", "#dddddd"),
        ("warm-up", "#ffe8b0"),
        ("repetition", "#cfe8ff"),
    ] {
        let _ = write!(
            s,
            r#"<rect x="{:.1}" y="{:.1}" width="18" height="9" fill="{fill}"/><text x="{:.1}" y="{:.1}">{name}</text>"#,
            w - right + 10.0,
            ly,
            w - right + 32.0,
            ly + 8.0
        );
        ly += 14.0;
    }
    if c.baseline_w.is_some() {
        let _ = write!(
            s,
            r##"<line x1="{:.1}" y1="{:.1}" x2="{:.1}" y2="{:.1}" stroke="#555" stroke-dasharray="5,4"/><text x="{:.1}" y="{:.1}">idle baseline</text>"##,
            w - right + 10.0,
            ly + 4.0,
            w - right + 28.0,
            ly + 4.0,
            w - right + 32.0,
            ly + 8.0
        );
    }
    s.push_str("</svg>");
    Ok(s)
}

/// A label cut to `max` characters, with an ellipsis.
fn shorten(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_string()
    } else {
        let cut: String = s.chars().take(max - 1).collect();
        format!("{cut}…")
    }
}

fn trim_num(v: f64) -> String {
    if v == 0.0 {
        "0".into()
    } else if v.abs() >= 100.0 {
        format!("{v:.0}")
    } else if v.abs() >= 1.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.3}")
    }
}

fn bars_svg(c: &BarChart) -> Result<String, f64> {
    let row_h = 24.0;
    let (left, right, top, bottom) = (300.0, 40.0, 34.0, 36.0);
    let w = 760.0;
    let h = top + bottom + row_h * c.bars.len().max(1) as f64;
    let axis = Axis::for_values(
        c.bars
            .iter()
            .flat_map(|b| [b.low, b.high, b.typical.unwrap_or(b.low)]),
        false,
    );
    let x = |v: f64| left + (w - left - right) * axis.at(v);
    let mut s = String::new();
    let _ = write!(
        s,
        r#"<svg xmlns="http://www.w3.org/2000/svg" class="chart" data-chart="bars" viewBox="0 0 {w} {h}" width="{w}" height="{h}" role="img" font-family="sans-serif" font-size="11"><title>{}</title>"#,
        esc(&c.title)
    );
    let _ = write!(
        s,
        r#"<text x="10" y="18" font-size="13" font-weight="bold">{}</text>"#,
        esc(&c.title)
    );
    for (i, b) in c.bars.iter().enumerate() {
        let yc = top + row_h * i as f64 + row_h / 2.0;
        let fill = if b.highlight { "#d62728" } else { "#1f77b4" };
        let centre = b.typical.unwrap_or((b.low + b.high) / 2.0);
        let _ = write!(
            s,
            r#"<text x="{:.1}" y="{:.1}" text-anchor="end">{}</text>"#,
            left - 6.0,
            yc + 4.0,
            esc(&shorten(&b.label, 46))
        );
        let _ = write!(
            s,
            r#"<rect class="bar" x="{left}" y="{:.1}" width="{}" height="{:.1}" fill="{fill}" opacity="{}"/>"#,
            yc - 7.0,
            coord((finite(x(centre))? - left).max(0.5))?,
            14.0,
            if b.typical.is_some() { "0.85" } else { "0.4" }
        );
        if b.high > b.low {
            let (lo, hi) = (coord(x(b.low))?, coord(x(b.high))?);
            let _ = write!(
                s,
                r#"<line class="range" x1="{lo}" y1="{yc:.1}" x2="{hi}" y2="{yc:.1}" stroke="black" stroke-width="1.5"/><line x1="{lo}" y1="{:.1}" x2="{lo}" y2="{:.1}" stroke="black"/><line x1="{hi}" y1="{:.1}" x2="{hi}" y2="{:.1}" stroke="black"/>"#,
                yc - 5.0,
                yc + 5.0,
                yc - 5.0,
                yc + 5.0
            );
        }
    }
    let base = h - bottom;
    let _ = write!(
        s,
        r#"<line x1="{left}" y1="{base:.1}" x2="{:.1}" y2="{base:.1}" stroke="black"/>"#,
        w - right
    );
    for v in axis.ticks() {
        let _ = write!(
            s,
            r#"<text class="tick" x="{}" y="{:.1}" text-anchor="middle">{}</text>"#,
            coord(x(v))?,
            base + 14.0,
            axis.label(v)
        );
    }
    let _ = write!(
        s,
        r#"<text x="{:.1}" y="{:.1}" text-anchor="middle">{}{}</text>"#,
        (left + w - right) / 2.0,
        h - 4.0,
        esc(&c.unit),
        if axis.is_log() { " (log scale)" } else { "" }
    );
    s.push_str("</svg>");
    Ok(s)
}

fn scatter_svg(c: &ScatterChart) -> Result<String, f64> {
    let (w, h) = (760.0, 420.0);
    let (left, right, top, bottom) = (80.0, 200.0, 34.0, 46.0);
    let xa = Axis::for_values(c.points.iter().map(|p| p.x), true);
    let ya = Axis::for_values(c.points.iter().flat_map(|p| [p.y, p.y_low, p.y_high]), true);
    let x = |v: f64| left + (w - left - right) * xa.at(v);
    let y = |v: f64| h - bottom - (h - top - bottom) * ya.at(v);
    let mut s = String::new();
    let _ = write!(
        s,
        r#"<svg xmlns="http://www.w3.org/2000/svg" class="chart" data-chart="scatter" viewBox="0 0 {w} {h}" width="{w}" height="{h}" role="img" font-family="sans-serif" font-size="11"><title>{}</title>"#,
        esc(&c.title)
    );
    let _ = write!(
        s,
        r#"<text x="10" y="18" font-size="13" font-weight="bold">{}</text>"#,
        esc(&c.title)
    );
    let (x0, x1, y0, y1) = (left, w - right, h - bottom, top);
    let _ = write!(
        s,
        r#"<line x1="{x0}" y1="{y0}" x2="{x1}" y2="{y0}" stroke="black"/><line x1="{x0}" y1="{y0}" x2="{x0}" y2="{y1}" stroke="black"/>"#
    );
    for v in xa.ticks() {
        let _ = write!(
            s,
            r#"<text class="tick" x="{}" y="{:.1}" text-anchor="middle">{}</text>"#,
            coord(x(v))?,
            y0 + 14.0,
            xa.label(v)
        );
    }
    for v in ya.ticks() {
        let _ = write!(
            s,
            r#"<text class="tick" x="{:.1}" y="{}" text-anchor="end">{}</text>"#,
            x0 - 6.0,
            coord(y(v) + 4.0)?,
            ya.label(v)
        );
    }
    let _ = write!(
        s,
        r#"<text x="{:.1}" y="{:.1}" text-anchor="middle">{} (log scale)</text><text x="14" y="{:.1}" transform="rotate(-90 14 {:.1})" text-anchor="middle">{} (log scale)</text>"#,
        (x0 + x1) / 2.0,
        h - 8.0,
        esc(&c.x_unit),
        (y0 + y1) / 2.0,
        (y0 + y1) / 2.0,
        esc(&c.y_unit)
    );
    for (i, p) in c.points.iter().enumerate() {
        let colour = PALETTE[i % PALETTE.len()];
        let (px, py) = (coord(x(p.x))?, coord(y(p.y))?);
        let _ = write!(
            s,
            r#"<line class="range" x1="{px}" y1="{}" x2="{px}" y2="{}" stroke="{colour}"/><circle class="point" cx="{px}" cy="{py}" r="4" fill="{colour}"/><text x="{:.1}" y="{:.1}">{}</text>"#,
            coord(y(p.y_low.max(f64::MIN_POSITIVE)))?,
            coord(y(p.y_high))?,
            x1 + 10.0,
            top + 16.0 * (i as f64 + 1.0),
            esc(&shorten(&p.label, 30))
        );
        let _ = write!(
            s,
            r#"<circle cx="{:.1}" cy="{:.1}" r="4" fill="{colour}"/>"#,
            x1 + 4.0,
            top + 16.0 * (i as f64 + 1.0) - 4.0
        );
    }
    s.push_str("</svg>");
    Ok(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bars_have_ranges_and_escape_labels() {
        let chart = Chart::Bars(BarChart {
            title: "a <b>".into(),
            unit: "g".into(),
            bars: vec![
                Bar {
                    label: "x & y".into(),
                    low: 1.0,
                    typical: None,
                    high: 2.0,
                    highlight: false,
                },
                Bar {
                    label: "z".into(),
                    low: 3.0,
                    typical: Some(3.0),
                    high: 3.0,
                    highlight: true,
                },
            ],
        });
        let s = svg(&chart).expect("svg");
        assert!(s.starts_with("<svg") && s.ends_with("</svg>"));
        assert_eq!(s.matches(r#"class="bar""#).count(), 2);
        assert_eq!(s.matches(r#"class="range""#).count(), 1);
        assert!(s.contains("x &amp; y") && s.contains("a &lt;b&gt;"));
    }

    #[test]
    fn control_characters_in_labels_are_escaped_for_xml() {
        let chart = Chart::Bars(BarChart {
            title: "t\u{1b}[2J".into(),
            unit: "g\u{0}".into(),
            bars: vec![Bar {
                label: "x\u{9b}".into(),
                low: 1.0,
                typical: None,
                high: 2.0,
                highlight: false,
            }],
        });
        let s = svg(&chart).expect("svg");
        assert!(!s.chars().any(char::is_control), "{s:?}");
        assert!(s.contains("t\\x1b[2J") && s.contains("g\\x00") && s.contains("x\\u{9b}"));
    }

    #[test]
    fn bars_spanning_orders_of_magnitude_use_a_log_axis_with_decade_ticks() {
        let bar = |label: &str, v: f64| Bar {
            label: label.into(),
            low: v,
            typical: Some(v),
            high: v,
            highlight: false,
        };
        let s = svg(&Chart::Bars(BarChart {
            title: "ratio".into(),
            unit: "x".into(),
            bars: vec![bar("published", 25.0), bar("measured", 89_000.0)],
        }))
        .expect("svg");
        assert!(s.contains("(log scale)"), "{s}");
        let ticks: Vec<&str> = s
            .split(r#"class="tick""#)
            .skip(1)
            .filter_map(|t| t.split('>').nth(1)?.split('<').next())
            .collect();
        assert_eq!(ticks, ["10", "100", "1000", "10k", "100k"]);
        // The published bar is no sliver: on a linear axis to 100,000 it would be
        // 0.1 px wide; here it spans its decade and a bit (over 30 px).
        let widths: Vec<f64> = s
            .split(r#"class="bar""#)
            .skip(1)
            .filter_map(|b| b.split("width=\"").nth(1)?.split('"').next()?.parse().ok())
            .collect();
        assert!(widths[0] > 30.0, "{widths:?}");
        // Close values keep a linear axis.
        let s = svg(&Chart::Bars(BarChart {
            title: "t".into(),
            unit: "g".into(),
            bars: vec![bar("a", 2.0), bar("b", 7.3)],
        }))
        .expect("svg");
        assert!(!s.contains("log scale"));
    }

    #[test]
    fn a_scatter_has_log_axes_and_a_point_with_an_interval_per_model() {
        let s = svg(&Chart::Scatter(ScatterChart {
            title: "per token".into(),
            x_unit: "parameters".into(),
            y_unit: "J per output token".into(),
            points: vec![
                Point {
                    label: "small".into(),
                    x: 1.35e8,
                    y: 0.06,
                    y_low: 0.05,
                    y_high: 0.07,
                },
                Point {
                    label: "large".into(),
                    x: 2.7e8,
                    y: 0.085,
                    y_low: 0.08,
                    y_high: 0.09,
                },
            ],
        }))
        .expect("svg");
        assert_eq!(s.matches(r#"class="point""#).count(), 2);
        assert_eq!(s.matches(r#"class="range""#).count(), 2);
        assert_eq!(s.matches("(log scale)").count(), 2);
    }

    #[test]
    fn a_coordinate_that_is_not_finite_is_refused_not_written() {
        let power = Chart::Power(PowerChart {
            title: "Power over time: far".into(),
            series: vec![("cpu".into(), vec![(0.0, 1.0), (f64::MAX, 2.0)])],
            baseline_w: None,
            phases: vec![],
            provenance: "counter".into(),
        });
        let err = svg(&power).expect_err("a time of f64::MAX s");
        assert!(err.value.is_infinite(), "{err:?}");
        assert!(
            err.to_string().starts_with(
                "the chart \"Power over time: far\" has a coordinate of inf, not a finite number"
            ),
            "{err}"
        );
        let mut bars = BarChart {
            title: "ratio".into(),
            unit: "x".into(),
            bars: vec![Bar {
                label: "a".into(),
                low: f64::NAN,
                typical: Some(f64::NAN),
                high: 1.0,
                highlight: false,
            }],
        };
        assert!(svg(&Chart::Bars(bars.clone())).is_err(), "NaN is refused");
        bars.bars[0].low = 0.5;
        bars.bars[0].typical = Some(0.7);
        let s = svg(&Chart::Bars(bars)).expect("finite bars draw");
        assert!(!s.contains("inf") && !s.contains("NaN"), "{s}");
    }

    #[test]
    fn nice_axis_bounds() {
        assert_eq!(nice_max(7.3), 10.0);
        assert_eq!(nice_max(0.23), 0.25);
        assert_eq!(nice_max(649.0), 1000.0);
    }
}
