//! Bounds on the figures a record may hold, checked by the reader on every
//! event, so that no command prints a figure computed from an absurd one (a
//! negative gross energy, a mean that overflowed to infinity, a chart
//! coordinate of `inf`).
//!
//! The bounds are far beyond any measurement, so that a record of a real run is
//! never refused, and low enough that sums and squares of many of them stay
//! finite: a mean of energies below [`MAX_ENERGY_J`] cannot overflow.
//!
//! | quantity                      | may be                                   |
//! |-------------------------------|------------------------------------------|
//! | gross energy (`energy_j`, `total_energy_j`) | 0 to [`MAX_ENERGY_J`]      |
//! | net energy (`net_energy_j`)   | either sign, magnitude up to [`MAX_ENERGY_J`] |
//! | duration (`duration_s`, `interval_s`, …) | 0 to [`MAX_DURATION_S`]       |
//! | time stamp (`start_s`, `t_s`) | either sign, magnitude up to [`MAX_DURATION_S`] |
//! | power (`power_w`, …)          | either sign, magnitude up to [`MAX_POWER_W`] |
//! | share (`other_cpu_share`)     | 0 to 1                                   |
//! | token rate (`tokens_per_s`)   | 0 to [`MAX_TOKENS_PER_S`]                |
//!
//! Every value must be a finite number.

use crate::events::*;

/// The largest energy a record may hold, in joules: 1 PJ, about 280 GWh, the
/// output of a large power station for ten days.
pub const MAX_ENERGY_J: f64 = 1e15;
/// The longest duration or time stamp a record may hold, in seconds: 1e9 s,
/// about 32 years.
pub const MAX_DURATION_S: f64 = 1e9;
/// The largest power a record may hold, in watts: 10 MW, a whole data hall.
pub const MAX_POWER_W: f64 = 1e7;
/// The largest token rate a record may hold, in tokens per second.
pub const MAX_TOKENS_PER_S: f64 = 1e9;

/// What kind of quantity a field holds, and so which values it may take.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Quantity {
    GrossEnergy,
    NetEnergy,
    Duration,
    Time,
    Power,
    Share,
    TokenRate,
}

impl Quantity {
    /// The quantity in a sentence: "a gross energy".
    pub fn name(self) -> &'static str {
        match self {
            Quantity::GrossEnergy => "a gross energy",
            Quantity::NetEnergy => "a net energy",
            Quantity::Duration => "a duration",
            Quantity::Time => "a time stamp",
            Quantity::Power => "a power",
            Quantity::Share => "a share",
            Quantity::TokenRate => "a token rate",
        }
    }

    /// The largest magnitude, and its unit after a space (none for a share).
    pub fn max(self) -> (f64, &'static str) {
        match self {
            Quantity::GrossEnergy | Quantity::NetEnergy => (MAX_ENERGY_J, " J"),
            Quantity::Duration | Quantity::Time => (MAX_DURATION_S, " s"),
            Quantity::Power => (MAX_POWER_W, " W"),
            Quantity::Share => (1.0, ""),
            Quantity::TokenRate => (MAX_TOKENS_PER_S, " tokens/s"),
        }
    }

    /// Whether a value below zero can be real: a net energy (the baseline drew
    /// more), a time stamp, a power (the record does not say what sign means).
    pub fn may_be_negative(self) -> bool {
        matches!(self, Quantity::NetEnergy | Quantity::Time | Quantity::Power)
    }

    /// Why `v` is not a value of this quantity; None when it is one.
    pub fn refuses(self, v: f64) -> Option<Why> {
        if !v.is_finite() {
            Some(Why::NotFinite)
        } else if v < 0.0 && !self.may_be_negative() {
            Some(Why::Negative)
        } else if v.abs() > self.max().0 {
            Some(Why::TooLarge)
        } else {
            None
        }
    }
}

/// Why a value was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Why {
    NotFinite,
    Negative,
    TooLarge,
}

/// A field whose value is out of range: where, what, and why.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{field} is {}: {}", fmt_value(*.value), reason(*.quantity, *.why))]
pub struct OutOfRange {
    /// The field as a path from the event: `repetition.parts[1].net_energy_j`,
    /// `sample.power_w["package-0"]`.
    pub field: String,
    pub value: f64,
    pub quantity: Quantity,
    pub why: Why,
}

fn reason(q: Quantity, why: Why) -> String {
    let (max, unit) = q.max();
    match why {
        Why::NotFinite => "not a finite number".to_string(),
        Why::Negative => format!("{} is never negative", q.name()),
        Why::TooLarge => format!(
            "larger than {}{unit}, the most {} in a record may be; no measurement comes near it, so the record is damaged or not from a measurement",
            fmt_value(max),
            q.name()
        ),
    }
}

/// A value as people read it: plain between 1e-4 and 1e6, else with an exponent.
fn fmt_value(v: f64) -> String {
    if v == 0.0 || (1e-4..1e6).contains(&v.abs()) {
        format!("{v}")
    } else {
        format!("{v:e}")
    }
}

/// Checks the fields of one event, as the reader reads it.
pub fn check(event: &Event) -> Result<(), OutOfRange> {
    match event {
        Event::RunStart(s) => run_start(s),
        Event::Baseline(b) => baseline(b),
        Event::Phase(p) => {
            let f = Fields("phase");
            f.one("start_s", p.start_s, Quantity::Time)?;
            f.one("duration_s", p.duration_s, Quantity::Duration)?;
            f.map("energy_j", &p.energy_j, Quantity::GrossEnergy)?;
            f.one("total_energy_j", p.total_energy_j, Quantity::GrossEnergy)?;
            f.opt("net_energy_j", p.net_energy_j, Quantity::NetEnergy)
        }
        Event::Sample(s) => {
            let f = Fields("sample");
            f.one("t_s", s.t_s, Quantity::Time)?;
            f.map("power_w", &s.power_w, Quantity::Power)
        }
        Event::Repetition(r) => repetition(r),
        Event::Notice(n) => Fields("notice").one("t_s", n.t_s, Quantity::Time),
        Event::RunEnd(e) => {
            let f = Fields("run_end");
            f.one("duration_s", e.duration_s, Quantity::Duration)?;
            f.one("agent_cpu_s", e.agent_cpu_s, Quantity::Duration)
        }
    }
}

fn run_start(s: &RunStart) -> Result<(), OutOfRange> {
    let f = Fields("run_start.settings");
    f.one("baseline_s", s.settings.baseline_s, Quantity::Duration)?;
    f.one("interval_s", s.settings.interval_s, Quantity::Duration)?;
    for (i, sensor) in s.sensors.iter().enumerate() {
        let name = format!("run_start.sensors[{i}]");
        Fields(&name).opt(
            "update_period_s",
            sensor.update_period_s,
            Quantity::Duration,
        )?;
    }
    for (i, gpu) in s.gpus.iter().enumerate() {
        let name = format!("run_start.gpus[{i}]");
        Fields(&name).opt("power_limit_w", gpu.power_limit_w, Quantity::Power)?;
    }
    Ok(())
}

fn baseline(b: &Baseline) -> Result<(), OutOfRange> {
    let f = Fields("baseline");
    f.one("start_s", b.start_s, Quantity::Time)?;
    f.one("duration_s", b.duration_s, Quantity::Duration)?;
    f.map("energy_j", &b.energy_j, Quantity::GrossEnergy)?;
    f.map("power_w", &b.power_w, Quantity::Power)?;
    f.one("total_power_w", b.total_power_w, Quantity::Power)?;
    f.opt("total_power_sd_w", b.total_power_sd_w, Quantity::Power)?;
    f.opt("other_cpu_share", b.other_cpu_share, Quantity::Share)
}

fn repetition(r: &Repetition) -> Result<(), OutOfRange> {
    let f = Fields("repetition");
    f.window(
        r.start_s,
        r.duration_s,
        &r.energy_j,
        r.total_energy_j,
        r.net_energy_j,
    )?;
    if let Some(short) = &r.too_short {
        Fields("repetition.too_short").one(
            "min_window_s",
            short.min_window_s,
            Quantity::Duration,
        )?;
    }
    metrics(&Fields("repetition.metrics"), &r.metrics)?;
    if let Some(w) = r.steady.as_ref().and_then(|s| s.window.as_ref()) {
        let f = Fields("repetition.steady.window");
        f.window(
            w.start_s,
            w.duration_s,
            &w.energy_j,
            w.total_energy_j,
            w.net_energy_j,
        )?;
    }
    for (i, p) in r.parts.iter().enumerate() {
        let name = format!("repetition.parts[{i}]");
        let f = Fields(&name);
        f.window(
            p.start_s,
            p.duration_s,
            &p.energy_j,
            p.total_energy_j,
            p.net_energy_j,
        )?;
        if let Some(short) = &p.too_short {
            f.one(
                "too_short.min_window_s",
                short.min_window_s,
                Quantity::Duration,
            )?;
        }
        metrics(&Fields(&format!("{name}.metrics")), &p.metrics)?;
    }
    Ok(())
}

fn metrics(f: &Fields, m: &Metrics) -> Result<(), OutOfRange> {
    f.opt(
        "time_to_first_token_s",
        m.time_to_first_token_s,
        Quantity::Duration,
    )?;
    f.opt("tokens_per_s", m.tokens_per_s, Quantity::TokenRate)
}

/// The fields of one event (or one part of it), named after `self.0`.
struct Fields<'a>(&'a str);

impl Fields<'_> {
    fn one(&self, name: &str, v: f64, q: Quantity) -> Result<(), OutOfRange> {
        match q.refuses(v) {
            None => Ok(()),
            Some(why) => Err(OutOfRange {
                field: format!("{}.{name}", self.0),
                value: v,
                quantity: q,
                why,
            }),
        }
    }

    fn opt(&self, name: &str, v: Option<f64>, q: Quantity) -> Result<(), OutOfRange> {
        v.map_or(Ok(()), |v| self.one(name, v, q))
    }

    /// Every value of a domain map; the domain is named as a quoted string, its
    /// control characters escaped.
    fn map(&self, name: &str, map: &DomainMap, q: Quantity) -> Result<(), OutOfRange> {
        for (domain, v) in map {
            if q.refuses(*v).is_some() {
                return self.one(&format!("{name}[{domain:?}]"), *v, q);
            }
        }
        Ok(())
    }

    /// A measured window: its start, duration, gross energies and net energy.
    fn window(
        &self,
        start_s: f64,
        duration_s: f64,
        energy_j: &DomainMap,
        total_energy_j: f64,
        net_energy_j: Option<f64>,
    ) -> Result<(), OutOfRange> {
        self.one("start_s", start_s, Quantity::Time)?;
        self.one("duration_s", duration_s, Quantity::Duration)?;
        self.map("energy_j", energy_j, Quantity::GrossEnergy)?;
        self.one("total_energy_j", total_energy_j, Quantity::GrossEnergy)?;
        self.opt("net_energy_j", net_energy_j, Quantity::NetEnergy)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_quantity_takes_its_range_and_its_bounds() {
        for q in [
            Quantity::GrossEnergy,
            Quantity::NetEnergy,
            Quantity::Duration,
            Quantity::Time,
            Quantity::Power,
            Quantity::Share,
            Quantity::TokenRate,
        ] {
            let (max, _) = q.max();
            assert_eq!(q.refuses(0.0), None, "{q:?}");
            assert_eq!(q.refuses(max), None, "{q:?}");
            assert_eq!(q.refuses(max * 1.01), Some(Why::TooLarge), "{q:?}");
            assert_eq!(q.refuses(f64::NAN), Some(Why::NotFinite), "{q:?}");
            assert_eq!(q.refuses(f64::INFINITY), Some(Why::NotFinite), "{q:?}");
            let negative = if q.may_be_negative() {
                None
            } else {
                Some(Why::Negative)
            };
            assert_eq!(q.refuses(-max / 2.0), negative, "{q:?}");
        }
        assert!(Quantity::NetEnergy.may_be_negative());
        assert!(!Quantity::GrossEnergy.may_be_negative());
        assert!(!Quantity::Duration.may_be_negative());
    }

    #[test]
    fn a_part_and_a_domain_are_named_in_the_field() {
        let mut r = crate::testdata::repetition(0, 5.0);
        let mut part = r.clone();
        part.energy_j = [("gpu\u{1b}[2J".to_string(), -1.0)].into();
        r.parts = vec![Part {
            name: PartName::Retrieval,
            start_s: 1.0,
            duration_s: 0.5,
            energy_j: part.energy_j,
            total_energy_j: 1.0,
            net_energy_j: None,
            incomplete: Vec::new(),
            too_short: None,
            metrics: Metrics::default(),
        }];
        let err = check(&Event::Repetition(r)).expect_err("a negative gross energy");
        assert_eq!(err.field, "repetition.parts[0].energy_j[\"gpu\\u{1b}[2J\"]");
        assert_eq!(err.why, Why::Negative);
    }
}
