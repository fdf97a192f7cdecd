//! The entry types of each profile file kind. Field names carry units where the
//! unit is fixed (`tdp_w`, `gpu_hours`); where a file allows several units, the
//! entry's `unit` field says which and [`super::check`] enforces the allowed set.

use super::quantity::Quantity;
pub use hoeveel_record::{Method, Rung};
use serde::{Deserialize, Serialize};

/// Where a number comes from. Every entry of every kind carries it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Meta {
    pub source: String,
    /// The year the figure refers to (data year or publication year).
    pub year: i64,
    pub licence: String,
    /// Which pull, commit or edition of the source this is.
    pub vintage: String,
    /// V verified, S secondary, D derived, NV not verified.
    pub status: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// Ids of the sources in `profiles/SOURCES.md` the figure comes from. Every
    /// shipped entry has at least one; a user's entry may have none, but an id it
    /// gives must exist.
    #[serde(default, skip_serializing_if = "Vec::is_empty", with = "one_or_many")]
    pub cite: Vec<String>,
}

impl Meta {
    pub fn unverified(&self) -> bool {
        self.status == "NV"
    }
}

/// `cite = "id"` or `cite = ["id", "id"]`.
mod one_or_many {
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    #[derive(Deserialize)]
    #[serde(untagged)]
    enum OneOrMany {
        One(String),
        Many(Vec<String>),
    }

    pub fn serialize<S: Serializer>(v: &[String], s: S) -> Result<S::Ok, S::Error> {
        v.serialize(s)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
        Ok(match OneOrMany::deserialize(d)? {
            OneOrMany::One(s) => vec![s],
            OneOrMany::Many(v) => v,
        })
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GridEntry {
    pub id: String,
    pub zone: String,
    pub name: String,
    pub dataset: String,
    /// gCO2e per kWh.
    pub value: f64,
    pub unit: String,
    #[serde(flatten)]
    pub meta: Meta,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SiteEntry {
    pub id: String,
    pub name: String,
    pub operator: String,
    pub location: String,
    /// An entry id of the grid profile.
    pub grid: String,
    pub pue: Quantity,
    pub unit: String,
    #[serde(default)]
    pub workshop: bool,
    #[serde(flatten)]
    pub meta: Meta,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RequestEntry {
    pub id: String,
    pub name: String,
    /// search, llm, ai-search, image.
    pub kind: String,
    pub energy: Quantity,
    /// Wh or J for an energy; gCO2e for a figure published only as carbon (a
    /// life-cycle assessment that gives no energy).
    pub unit: String,
    /// The figure's boundary in one line (GPU only, whole datacentre, ...).
    pub boundary: String,
    /// The boundary's rung on the ladder ([`Rung`]).
    pub rung: Rung,
    /// What the figure counts, and what it leaves out.
    pub includes: String,
    pub excludes: String,
    /// How it was obtained: measured, estimated from a fleet, or modelled.
    pub method: Method,
    /// The published protocol the figure was measured under, for figures a local
    /// run can reproduce under the same rules.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub protocol: Option<ProtocolFigure>,
    #[serde(flatten)]
    pub meta: Meta,
}

/// The protocols hoeveel knows how to restate a local run in.
pub const PROTOCOLS: [&str; 2] = ["ai-energy-score", "ml-energy"];

/// How a published figure was measured: the protocol, the model and the hardware.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProtocolFigure {
    /// `ai-energy-score` (batch 1, exactly 10 new tokens, greedy; Wh per 1,000
    /// queries) or `ml-energy` (a steady state at `concurrency` requests in
    /// flight; J per output token).
    pub name: String,
    pub model: String,
    /// Parameters, where the model's name states them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parameters: Option<f64>,
    pub hardware: String,
    /// New tokens per query (AI Energy Score: 10).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub new_tokens: Option<u32>,
    /// Requests in flight (ML.ENERGY).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub concurrency: Option<u32>,
    /// Energy per output token in the protocol's steady state (ML.ENERGY).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub j_per_output_token: Option<f64>,
    /// The figure as published, in the protocol's own unit.
    pub published: String,
}

impl RequestEntry {
    /// The energy in joules; `None` for a figure published as carbon only.
    pub fn energy_j(&self) -> Option<hoeveel_record::stats::Interval> {
        let factor = match self.unit.as_str() {
            "Wh" => 3600.0,
            "J" => 1.0,
            _ => return None,
        };
        Some(self.energy.interval().scale(factor))
    }

    /// The carbon per request in grams, for a figure published as carbon only.
    pub fn co2e_g(&self) -> Option<hoeveel_record::stats::Interval> {
        (self.unit == "gCO2e").then(|| self.energy.interval())
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelVariant {
    pub name: String,
    pub gpu_hours: f64,
    pub tdp_w: f64,
    pub location_tco2e: f64,
    pub status: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelEntry {
    pub id: String,
    pub name: String,
    pub gpu: String,
    pub tdp_w: f64,
    pub gpu_hours: f64,
    /// Location-based training emissions as the card reports them.
    pub location_tco2e: f64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub market_tco2e: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub market_note: Option<String>,
    pub unit: String,
    /// The card contradicts itself (Llama 3.3).
    #[serde(default)]
    pub inconsistent: bool,
    #[serde(default)]
    pub variants: Vec<ModelVariant>,
    #[serde(flatten)]
    pub meta: Meta,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeviceEntry {
    pub id: String,
    pub name: String,
    pub value: Quantity,
    /// W, Wh, kWh/GB or kB.
    pub unit: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub capacity_mah: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub voltage_v: Option<f64>,
    /// The value halves every so many years after `year` (a trend, e.g. Aslan 2018).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub halving_years: Option<f64>,
    #[serde(flatten)]
    pub meta: Meta,
}

impl DeviceEntry {
    /// The value in `year`. For a trend (`halving_years`), the value halves every
    /// `halving_years` after the entry's own year: v x 0.5^((year - entry year) / h).
    /// Aslan et al. (2018) give 0.06 kWh/GB for 2015, halving about every 2 years;
    /// they do not endorse extrapolating it, so callers must label it extrapolated.
    pub fn value_in(&self, year: i64) -> hoeveel_record::stats::Interval {
        match self.halving_years {
            Some(h) => self
                .value
                .interval()
                .scale(0.5f64.powf((year - self.meta.year) as f64 / h)),
            None => self.value.interval(),
        }
    }
}

/// The kinds of profile file, named by the `kind` key at the top of each file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Grid,
    Sites,
    Requests,
    Models,
    Devices,
}

impl Kind {
    pub fn parse(s: &str) -> Option<Kind> {
        Some(match s {
            "grid" => Kind::Grid,
            "sites" => Kind::Sites,
            "requests" => Kind::Requests,
            "models" => Kind::Models,
            "devices" => Kind::Devices,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Grid => "grid",
            Kind::Sites => "sites",
            Kind::Requests => "requests",
            Kind::Models => "models",
            Kind::Devices => "devices",
        }
    }

    /// Keys an entry of this kind may have; any other key is an error, so that a
    /// misspelt field is not silently ignored.
    pub fn allowed_keys(self) -> &'static [&'static str] {
        match self {
            Kind::Grid => &[
                "id", "zone", "name", "dataset", "value", "unit", "source", "year", "licence",
                "vintage", "status", "note", "cite",
            ],
            Kind::Sites => &[
                "id", "name", "operator", "location", "grid", "pue", "unit", "workshop", "source",
                "year", "licence", "vintage", "status", "note", "cite",
            ],
            Kind::Requests => &[
                "id", "name", "kind", "energy", "unit", "boundary", "rung", "includes", "excludes",
                "method", "protocol", "source", "year", "licence", "vintage", "status", "note",
                "cite",
            ],
            Kind::Models => &[
                "id",
                "name",
                "gpu",
                "tdp_w",
                "gpu_hours",
                "location_tco2e",
                "market_tco2e",
                "market_note",
                "unit",
                "inconsistent",
                "variants",
                "source",
                "year",
                "licence",
                "vintage",
                "status",
                "note",
                "cite",
            ],
            Kind::Devices => &[
                "id",
                "name",
                "value",
                "unit",
                "capacity_mah",
                "voltage_v",
                "halving_years",
                "source",
                "year",
                "licence",
                "vintage",
                "status",
                "note",
                "cite",
            ],
        }
    }

    /// Units an entry of this kind may give.
    pub fn allowed_units(self) -> &'static [&'static str] {
        match self {
            Kind::Grid => &["gCO2e/kWh"],
            Kind::Sites => &["PUE"],
            Kind::Requests => &["Wh", "J", "gCO2e"],
            Kind::Models => &["tCO2eq"],
            Kind::Devices => &["W", "Wh", "kWh/GB", "kB", "gCO2e/km"],
        }
    }
}
