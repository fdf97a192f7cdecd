//! Validation of profile files: units, ranges, required source fields, and
//! references between files. Every problem names the file, the entry and the field,
//! so that a user who edits a profile can find the line to fix.

use super::quantity::Quantity;
use super::schema::*;
use std::fmt;

/// One problem in one profile file.
#[derive(Debug, Clone, PartialEq)]
pub struct ProfileProblem {
    pub file: String,
    pub entry: Option<String>,
    pub field: Option<String>,
    pub message: String,
}

impl fmt::Display for ProfileProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file)?;
        if let Some(e) = &self.entry {
            write!(f, ": entry `{e}`")?;
        }
        if let Some(k) = &self.field {
            write!(f, ": field `{k}`")?;
        }
        write!(f, ": {}", self.message)
    }
}

/// Collects problems for one file.
pub struct Checker<'a> {
    pub file: &'a str,
    pub problems: Vec<ProfileProblem>,
}

impl<'a> Checker<'a> {
    pub fn new(file: &'a str) -> Checker<'a> {
        Checker {
            file,
            problems: Vec::new(),
        }
    }

    pub fn report(&mut self, entry: Option<&str>, field: Option<&str>, message: impl Into<String>) {
        self.problems.push(ProfileProblem {
            file: self.file.to_string(),
            entry: entry.map(str::to_string),
            field: field.map(str::to_string),
            message: message.into(),
        });
    }

    /// Keys and required metadata of one raw entry, before it is typed.
    pub fn raw_entry(&mut self, kind: Kind, id: &str, table: &toml::Table) {
        for key in table.keys() {
            if !kind.allowed_keys().contains(&key.as_str()) {
                self.report(
                    Some(id),
                    Some(key),
                    format!("unknown field for a `{}` entry", kind.as_str()),
                );
            }
        }
        for key in ["source", "year", "licence", "vintage", "status", "unit"] {
            if !table.contains_key(key) {
                self.report(Some(id), Some(key), "missing: every entry needs it");
            }
        }
        if kind == Kind::Requests {
            let missing: Vec<&str> = ["rung", "includes", "excludes", "method"]
                .into_iter()
                .filter(|k| !table.contains_key(*k))
                .collect();
            if !missing.is_empty() {
                self.report(
                    Some(id),
                    Some(&missing.join(", ")),
                    format!(
                        "missing: a published figure says its boundary rung ({}), what it includes and excludes, and how it was obtained (measured, fleet-estimate, modelled)",
                        Rung::ALL.map(Rung::as_str).join(", ")
                    ),
                );
            }
            if let Some(r) = table.get("rung").and_then(|r| r.as_str())
                && Rung::parse(r).is_none()
            {
                self.report(
                    Some(id),
                    Some("rung"),
                    format!(
                        "`{r}` is not a rung; use one of {}",
                        Rung::ALL.map(Rung::as_str).join(", ")
                    ),
                );
            }
        }
    }

    /// Whether the file is one of the shipped profiles, which must cite a source
    /// in `profiles/SOURCES.md` for every entry.
    fn shipped(&self) -> bool {
        self.file.starts_with("shipped:")
    }

    fn meta(&mut self, id: &str, meta: &Meta) {
        for (field, value) in [
            ("source", &meta.source),
            ("licence", &meta.licence),
            ("vintage", &meta.vintage),
        ] {
            if value.trim().is_empty() {
                self.report(Some(id), Some(field), "must not be empty");
            }
        }
        if !(1990..=2035).contains(&meta.year) {
            self.report(
                Some(id),
                Some("year"),
                format!("{} is not a plausible year (1990-2035)", meta.year),
            );
        }
        if meta.cite.is_empty() && self.shipped() {
            self.report(
                Some(id),
                Some("cite"),
                "missing: a shipped entry cites the id of its source in profiles/SOURCES.md",
            );
        }
        for c in &meta.cite {
            if crate::sources::find(c).is_none() {
                self.report(
                    Some(id),
                    Some("cite"),
                    format!("`{c}` is not a source in profiles/SOURCES.md"),
                );
            }
        }
        for dangling in crate::sources::undefined_pointers(&meta.source) {
            self.report(
                Some(id),
                Some("source"),
                format!("points at SOURCES.md#{dangling}, which is not a source there"),
            );
        }
        if !["V", "S", "D", "NV"].contains(&meta.status.as_str()) {
            self.report(
                Some(id),
                Some("status"),
                format!("`{}` is not one of V, S, D, NV", meta.status),
            );
        }
    }

    fn unit(&mut self, kind: Kind, id: &str, unit: &str) {
        if !kind.allowed_units().contains(&unit) {
            self.report(
                Some(id),
                Some("unit"),
                format!(
                    "`{unit}` is not allowed here; use one of {}",
                    kind.allowed_units().join(", ")
                ),
            );
        }
    }

    fn quantity(&mut self, id: &str, field: &str, q: &Quantity, min: f64, max: f64, why: &str) {
        for v in q.values() {
            if !v.is_finite() {
                self.report(Some(id), Some(field), "must be a finite number");
            } else if v < min || v > max {
                self.report(Some(id), Some(field), format!("{v} is out of range: {why}"));
            }
        }
        if let Quantity::Range { low, typical, high } = *q {
            if low > high {
                self.report(
                    Some(id),
                    Some(field),
                    format!("low {low} is above high {high}"),
                );
            }
            if let Some(t) = typical.filter(|t| *t < low || *t > high) {
                self.report(
                    Some(id),
                    Some(field),
                    format!("typical {t} lies outside low {low} .. high {high}"),
                );
            }
        }
    }

    fn number(&mut self, id: &str, field: &str, v: f64, min: f64, max: f64, why: &str) {
        self.quantity(id, field, &Quantity::Value(v), min, max, why);
    }

    pub fn grid(&mut self, e: &GridEntry) {
        self.meta(&e.id, &e.meta);
        self.unit(Kind::Grid, &e.id, &e.unit);
        self.number(
            &e.id,
            "value",
            e.value,
            0.0,
            2000.0,
            "grid intensity lies between 0 and 2000 gCO2e/kWh",
        );
        if e.id != format!("{}/{}", e.zone, e.dataset) {
            self.report(
                Some(&e.id),
                Some("id"),
                format!("must be ZONE/dataset, here `{}/{}`", e.zone, e.dataset),
            );
        }
    }

    pub fn site(&mut self, e: &SiteEntry) {
        self.meta(&e.id, &e.meta);
        self.unit(Kind::Sites, &e.id, &e.unit);
        self.quantity(
            &e.id,
            "pue",
            &e.pue,
            1.0,
            3.0,
            "a PUE is total facility energy over IT energy, so at least 1.0 (and above 3.0 is implausible)",
        );
    }

    pub fn request(&mut self, e: &RequestEntry) {
        self.meta(&e.id, &e.meta);
        self.unit(Kind::Requests, &e.id, &e.unit);
        self.quantity(
            &e.id,
            "energy",
            &e.energy,
            f64::MIN_POSITIVE,
            1e7,
            "energy per request must be positive",
        );
        for (field, value) in [
            ("boundary", &e.boundary),
            ("includes", &e.includes),
            ("excludes", &e.excludes),
        ] {
            if value.trim().is_empty() {
                self.report(
                    Some(&e.id),
                    Some(field),
                    "must say what the figure includes and leaves out",
                );
            }
        }
        if e.unit == "gCO2e" && e.rung != Rung::Lifecycle {
            self.report(
                Some(&e.id),
                Some("unit"),
                "a figure published as carbon only (gCO2e) is a life-cycle figure: its rung is lifecycle",
            );
        }
        if let Some(p) = &e.protocol {
            self.protocol(&e.id, p);
        }
    }

    fn protocol(&mut self, id: &str, p: &ProtocolFigure) {
        if !PROTOCOLS.contains(&p.name.as_str()) {
            self.report(
                Some(id),
                Some("protocol.name"),
                format!("`{}` is not one of {}", p.name, PROTOCOLS.join(", ")),
            );
        }
        for (field, value) in [
            ("protocol.model", &p.model),
            ("protocol.hardware", &p.hardware),
            ("protocol.published", &p.published),
        ] {
            if value.trim().is_empty() {
                self.report(Some(id), Some(field), "must not be empty");
            }
        }
        if p.parameters.is_some_and(|n| !(n.is_finite() && n >= 1.0)) {
            self.report(
                Some(id),
                Some("protocol.parameters"),
                "must be a positive count",
            );
        }
        match p.name.as_str() {
            "ai-energy-score" if p.new_tokens != Some(10) => self.report(
                Some(id),
                Some("protocol.new_tokens"),
                "AI Energy Score generates exactly 10 new tokens per query",
            ),
            "ml-energy"
                if p.concurrency.is_none_or(|c| c == 0)
                    || p.j_per_output_token
                        .is_none_or(|j| !(j.is_finite() && j > 0.0)) =>
            {
                self.report(
                    Some(id),
                    Some("protocol"),
                    "an ML.ENERGY figure needs its concurrency and a positive j_per_output_token",
                )
            }
            _ => {}
        }
    }

    pub fn model(&mut self, e: &ModelEntry) {
        self.meta(&e.id, &e.meta);
        self.unit(Kind::Models, &e.id, &e.unit);
        self.number(
            &e.id,
            "gpu_hours",
            e.gpu_hours,
            f64::MIN_POSITIVE,
            1e12,
            "must be positive",
        );
        self.number(
            &e.id,
            "tdp_w",
            e.tdp_w,
            1.0,
            5000.0,
            "a GPU's TDP lies between 1 and 5000 W",
        );
        self.number(
            &e.id,
            "location_tco2e",
            e.location_tco2e,
            0.0,
            1e9,
            "must not be negative",
        );
        if let Some(m) = e.market_tco2e {
            self.number(&e.id, "market_tco2e", m, 0.0, 1e9, "must not be negative");
        }
        for v in &e.variants {
            let field = format!("variants[{}]", v.name);
            self.number(
                &e.id,
                &format!("{field}.gpu_hours"),
                v.gpu_hours,
                f64::MIN_POSITIVE,
                1e12,
                "must be positive",
            );
            self.number(
                &e.id,
                &format!("{field}.tdp_w"),
                v.tdp_w,
                1.0,
                5000.0,
                "a GPU's TDP lies between 1 and 5000 W",
            );
            self.number(
                &e.id,
                &format!("{field}.location_tco2e"),
                v.location_tco2e,
                0.0,
                1e9,
                "must not be negative",
            );
        }
    }

    pub fn device(&mut self, e: &DeviceEntry) {
        self.meta(&e.id, &e.meta);
        self.unit(Kind::Devices, &e.id, &e.unit);
        self.quantity(
            &e.id,
            "value",
            &e.value,
            f64::MIN_POSITIVE,
            1e9,
            "must be positive",
        );
        match (e.capacity_mah, e.voltage_v) {
            (Some(mah), Some(v)) => {
                // mAh x V / 1000 = Wh.
                let wh = mah * v / 1000.0;
                if e.unit != "Wh" || (e.value.low() - wh).abs() > 1e-6 * wh.max(1.0) {
                    self.report(
                        Some(&e.id),
                        Some("value"),
                        format!(
                            "{mah} mAh x {v} V = {wh} Wh, but the entry says {} {}",
                            e.value.display(3),
                            e.unit
                        ),
                    );
                }
            }
            (None, None) => {}
            _ => self.report(
                Some(&e.id),
                Some("capacity_mah"),
                "a battery needs both capacity_mah and voltage_v",
            ),
        }
        if let Some(h) = e.halving_years {
            self.number(
                &e.id,
                "halving_years",
                h,
                0.1,
                100.0,
                "a halving period in years",
            );
        }
    }
}
