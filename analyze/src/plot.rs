//! Charts as plain SVG strings: no plotting library, no fonts to load, no script.
//! The same SVG goes into `hoeveel plot` files and inline into the HTML report, so
//! the report needs no network and no JavaScript to show its charts.

use hoeveel_record::{Record, RunPhase};
use std::fmt::Write as _;

/// Most points drawn per series; longer series are averaged into this many buckets.
pub const MAX_POINTS: usize = 1500;

#[derive(Debug, Clone, PartialEq)]
pub enum Chart {
    Power(PowerChart),
    Bars(BarChart),
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
        // them; the samples' phase tags otherwise (a run killed early).
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

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

const PALETTE: [&str; 6] = [
    "#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#8c564b", "#e377c2",
];

pub fn svg(chart: &Chart) -> String {
    match chart {
        Chart::Power(c) => power_svg(c),
        Chart::Bars(c) => bars_svg(c),
    }
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

fn power_svg(c: &PowerChart) -> String {
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
            r#"<rect class="phase" data-phase="{name}" x="{:.1}" y="{top}" width="{:.1}" height="{:.1}" fill="{fill}" opacity="0.7"/>"#,
            x(*start),
            (x(*end) - x(*start)).max(0.5),
            h - top - bottom
        );
    }
    // Axes and ticks.
    let _ = write!(
        s,
        r#"<line x1="{left}" y1="{:.1}" x2="{:.1}" y2="{:.1}" stroke="black"/>"#,
        y(0.0),
        w - right,
        y(0.0)
    );
    let _ = write!(
        s,
        r#"<line x1="{left}" y1="{top}" x2="{left}" y2="{:.1}" stroke="black"/>"#,
        y(0.0)
    );
    for i in 0..=4 {
        let p = p_max * i as f64 / 4.0;
        let _ = write!(
            s,
            r#"<text x="{:.1}" y="{:.1}" text-anchor="end">{}</text>"#,
            left - 4.0,
            y(p) + 4.0,
            trim_num(p)
        );
        let t = t_max * i as f64 / 4.0;
        let _ = write!(
            s,
            r#"<text x="{:.1}" y="{:.1}" text-anchor="middle">{}</text>"#,
            x(t),
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
            r##"<line class="baseline" x1="{left}" y1="{:.1}" x2="{:.1}" y2="{:.1}" stroke="#555" stroke-dasharray="5,4"/>"##,
            y(b),
            w - right,
            y(b)
        );
    }
    for (i, (id, pts)) in c.series.iter().enumerate() {
        let colour = PALETTE[i % PALETTE.len()];
        let d: Vec<String> = pts
            .iter()
            .map(|(t, p)| format!("{:.1},{:.1}", x(*t), y(*p)))
            .collect();
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
    s
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

fn bars_svg(c: &BarChart) -> String {
    let row_h = 24.0;
    let (left, right, top, bottom) = (300.0, 40.0, 34.0, 36.0);
    let w = 760.0;
    let h = top + bottom + row_h * c.bars.len().max(1) as f64;
    let v_max = nice_max(
        c.bars
            .iter()
            .map(|b| b.high.max(b.typical.unwrap_or(0.0)))
            .fold(0.0, f64::max),
    );
    let x = |v: f64| left + (w - left - right) * (v / v_max).clamp(0.0, 1.0);
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
            r#"<rect class="bar" x="{left}" y="{:.1}" width="{:.1}" height="{:.1}" fill="{fill}" opacity="{}"/>"#,
            yc - 7.0,
            (x(centre) - left).max(0.5),
            14.0,
            if b.typical.is_some() { "0.85" } else { "0.4" }
        );
        if b.high > b.low {
            let _ = write!(
                s,
                r#"<line class="range" x1="{:.1}" y1="{yc:.1}" x2="{:.1}" y2="{yc:.1}" stroke="black" stroke-width="1.5"/><line x1="{:.1}" y1="{:.1}" x2="{:.1}" y2="{:.1}" stroke="black"/><line x1="{:.1}" y1="{:.1}" x2="{:.1}" y2="{:.1}" stroke="black"/>"#,
                x(b.low),
                x(b.high),
                x(b.low),
                yc - 5.0,
                x(b.low),
                yc + 5.0,
                x(b.high),
                yc - 5.0,
                x(b.high),
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
    for i in 0..=4 {
        let v = v_max * i as f64 / 4.0;
        let _ = write!(
            s,
            r#"<text x="{:.1}" y="{:.1}" text-anchor="middle">{}</text>"#,
            x(v),
            base + 14.0,
            trim_num(v)
        );
    }
    let _ = write!(
        s,
        r#"<text x="{:.1}" y="{:.1}" text-anchor="middle">{}</text>"#,
        (left + w - right) / 2.0,
        h - 4.0,
        esc(&c.unit)
    );
    s.push_str("</svg>");
    s
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
        let s = svg(&chart);
        assert!(s.starts_with("<svg") && s.ends_with("</svg>"));
        assert_eq!(s.matches(r#"class="bar""#).count(), 2);
        assert_eq!(s.matches(r#"class="range""#).count(), 1);
        assert!(s.contains("x &amp; y") && s.contains("a &lt;b&gt;"));
    }

    #[test]
    fn nice_axis_bounds() {
        assert_eq!(nice_max(7.3), 10.0);
        assert_eq!(nice_max(0.23), 0.25);
        assert_eq!(nice_max(649.0), 1000.0);
    }
}
