//! The grid dataset a run's CO2e figures use, chosen once (`hoeveel --grid
//! DATASET`, default the grid file's `default_dataset`), and how a figure that
//! names a grid entry of its own finds its value in that dataset.
//!
//! A site (or a scenario) names the grid entry its figures were published or
//! quoted with (`NL/workshop`, `SE/ember-2025-06`). Under a chosen dataset the
//! named entry's zone is looked up in that dataset; where the dataset has no such
//! zone (a provider's own regions, a zone only one source covers), the named
//! entry stands in and the lookup says so, so that the output can print it.
//! [`GridChoice::Named`] keeps the named entry: the workshop's reproduction of
//! case 2 uses it, so its figures do not move with `--grid`.

use super::{GridEntry, ProfileSet};
use serde::{Deserialize, Serialize};

/// What a dataset is, from the grid file's `[dataset.ID]` table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DatasetInfo {
    /// Who publishes it and in which form ("Ember yearly data via co2.js").
    pub name: String,
    /// When it was pulled ("2025-08").
    pub pull: String,
}

/// The dataset chosen for a run, with what a reader needs to judge it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GridDataset {
    pub id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub info: Option<DatasetInfo>,
    /// The data years its entries give (the same year where first == last).
    pub data_year_first: i64,
    pub data_year_last: i64,
}

impl GridDataset {
    /// The line printed with every CO2e figure, e.g. "Grid: Ember yearly data via
    /// co2.js, data year 2024, pull 2025-08 (dataset ember-2025-08)".
    pub fn line(&self) -> String {
        let years = if self.data_year_first == self.data_year_last {
            format!("data year {}", self.data_year_first)
        } else {
            format!(
                "data years {}–{}",
                self.data_year_first, self.data_year_last
            )
        };
        match &self.info {
            Some(i) => format!(
                "Grid: {}, {years}, pull {} (dataset {})",
                i.name, i.pull, self.id
            ),
            None => format!("Grid: dataset {}, {years}", self.id),
        }
    }
}

/// `--grid` named a dataset that no grid entry belongs to.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("no grid dataset `{given}`; the profiles have {}", .known.join(", "))]
pub struct UnknownGridDataset {
    pub given: String,
    pub known: Vec<String>,
}

/// Which grid entry a figure that names one uses.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum GridChoice<'a> {
    /// The named entry itself (the workshop's reproduction).
    Named,
    /// The named entry's zone in this dataset, or the named entry where the
    /// dataset lacks the zone.
    In(&'a GridDataset),
}

/// The entry a figure uses.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GridLookup<'a> {
    pub entry: &'a GridEntry,
    /// The chosen dataset has no entry for the zone: the named entry stands in.
    pub fallback: bool,
}

impl ProfileSet {
    /// Every grid dataset, in the order the files give them.
    pub fn grid_dataset_ids(&self) -> Vec<String> {
        let mut ids: Vec<String> = Vec::new();
        for (e, _) in &self.grid {
            if !ids.contains(&e.dataset) {
                ids.push(e.dataset.clone());
            }
        }
        ids
    }

    /// The dataset `id`, or the default one when `id` is None.
    pub fn grid_dataset(&self, id: Option<&str>) -> Result<GridDataset, UnknownGridDataset> {
        let id = id.unwrap_or(&self.default_grid_dataset);
        let years: Vec<i64> = self
            .grid
            .iter()
            .filter(|(e, _)| e.dataset == id)
            .map(|(e, _)| e.meta.year)
            .collect();
        let (Some(first), Some(last)) = (years.iter().min(), years.iter().max()) else {
            return Err(UnknownGridDataset {
                given: id.to_string(),
                known: self.grid_dataset_ids(),
            });
        };
        Ok(GridDataset {
            id: id.to_string(),
            info: self.grid_dataset_info.get(id).cloned(),
            data_year_first: *first,
            data_year_last: *last,
        })
    }

    /// The entry a figure naming `named` (an entry id, or a zone of the default
    /// dataset) uses under `choice`; None when `named` is no entry.
    pub fn grid_lookup(&self, named: &str, choice: GridChoice<'_>) -> Option<GridLookup<'_>> {
        let entry = self.grid_entry(named)?;
        let GridChoice::In(dataset) = choice else {
            return Some(GridLookup {
                entry,
                fallback: false,
            });
        };
        let chosen = self
            .grid
            .iter()
            .map(|(e, _)| e)
            .find(|e| e.zone == entry.zone && e.dataset == dataset.id);
        Some(match chosen {
            Some(e) => GridLookup {
                entry: e,
                fallback: false,
            },
            None => GridLookup {
                entry,
                fallback: true,
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_dataset_is_described_with_its_years_and_pull() {
        let p = ProfileSet::shipped().expect("profiles");
        let d = p.grid_dataset(None).expect("default");
        assert_eq!(d.id, p.default_grid_dataset);
        let line = d.line();
        assert!(
            line.starts_with("Grid: ") && line.ends_with(&format!("(dataset {})", d.id)),
            "{line}"
        );
        assert!(
            line.contains(&format!("data year {}", d.data_year_last)),
            "{line}"
        );
        assert!(line.contains(", pull "), "{line}");
        let w = p.grid_dataset(Some("workshop")).expect("workshop");
        assert!(w.line().contains("data year 2024"), "{}", w.line());
    }

    #[test]
    fn an_unknown_dataset_names_the_known_ones() {
        let p = ProfileSet::shipped().expect("profiles");
        let err = p.grid_dataset(Some("ember-1999")).expect_err("unknown");
        assert!(err.known.contains(&"workshop".to_string()));
        let text = err.to_string();
        assert!(
            text.starts_with("no grid dataset `ember-1999`; the profiles have "),
            "{text}"
        );
        assert!(
            text.contains("workshop") && text.contains(&p.default_grid_dataset),
            "{text}"
        );
    }

    #[test]
    fn a_named_entry_follows_the_chosen_dataset_or_stands_in_for_it() {
        let p = ProfileSet::shipped().expect("profiles");
        let workshop = p.grid_dataset(Some("workshop")).expect("workshop");
        let em = p.grid_dataset(Some("em-2024")).expect("em");
        // Named: the entry itself, whatever is chosen.
        let named = p
            .grid_lookup("NL/workshop", GridChoice::Named)
            .expect("named");
        assert_eq!((named.entry.value, named.fallback), (253.0, false));
        // The zone in the chosen dataset.
        let nl = p
            .grid_lookup("NL/workshop", GridChoice::In(&em))
            .expect("NL");
        assert_eq!((nl.entry.id.as_str(), nl.fallback), ("NL/em-2024", false));
        let se = p
            .grid_lookup("SE/ember-2025-06", GridChoice::In(&workshop))
            .expect("SE");
        // The workshop has no Swedish value: the named entry stands in, flagged.
        assert_eq!(
            (se.entry.id.as_str(), se.fallback),
            ("SE/ember-2025-06", true)
        );
        assert!(p.grid_lookup("XX/none", GridChoice::In(&em)).is_none());
    }
}
