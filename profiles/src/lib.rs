//! Sourced profiles: grid intensity, hosting sites, published per-request figures,
//! model cards, devices and networks.
//!
//! The shipped files in `profiles/` are compiled into the binary, so `hoeveel`
//! works anywhere. A user overrides or extends them with files of the same kind in
//! a folder (`--profiles DIR`, the `HOEVEEL_PROFILES` variable, or
//! `$XDG_CONFIG_HOME/hoeveel/profiles`): an entry with the same id replaces the
//! shipped one, a new id is added. Every file is checked on load (see [`check`]), so
//! a bad number stops the program with the file, the entry and the field named,
//! rather than flowing silently into a result.

pub mod check;
pub mod grid_dataset;
pub mod quantity;
pub mod schema;
pub mod sources;

use check::{Checker, ProfileProblem};
pub use grid_dataset::{DatasetInfo, GridChoice, GridDataset, GridLookup, UnknownGridDataset};
use hoeveel_record::capped::{CappedError, read_file_text_at_most};
pub use quantity::Quantity;
pub use schema::*;
use std::path::{Path, PathBuf};

/// The shipped profile files, by name.
pub const SHIPPED: [(&str, &str); 5] = [
    ("grid.toml", include_str!("../grid.toml")),
    ("sites.toml", include_str!("../sites.toml")),
    ("requests.toml", include_str!("../requests.toml")),
    ("models.toml", include_str!("../models.toml")),
    ("devices.toml", include_str!("../devices.toml")),
];

/// The shipped municipality scenario (workshop case 3).
pub const MUNICIPALITY_SCENARIO: &str = include_str!("../scenarios/municipality.toml");

/// Every problem found while loading; loading fails when there is at least one.
#[derive(Debug, thiserror::Error)]
#[error("{} problem(s) in the profiles:\n  {}", .0.len(), .0.iter().map(|p| p.to_string()).collect::<Vec<_>>().join("\n  "))]
pub struct ProfileErrors(pub Vec<ProfileProblem>);

/// Where an entry came from.
#[derive(Debug, Clone, PartialEq)]
pub struct Origin {
    /// `shipped:grid.toml` or a file path.
    pub file: String,
}

/// The most bytes a user's profile file may have.
pub const MAX_PROFILE_FILE_BYTES: u64 = 4 * 1024 * 1024;

/// All profiles, merged.
#[derive(Debug, Clone, Default)]
pub struct ProfileSet {
    pub grid: Vec<(GridEntry, Origin)>,
    pub default_grid_dataset: String,
    /// What each grid dataset is (the grid file's `[dataset.ID]` tables).
    pub grid_dataset_info: std::collections::BTreeMap<String, DatasetInfo>,
    pub sites: Vec<(SiteEntry, Origin)>,
    pub requests: Vec<(RequestEntry, Origin)>,
    pub models: Vec<(ModelEntry, Origin)>,
    pub devices: Vec<(DeviceEntry, Origin)>,
    /// Files that were read, and files that were skipped with the reason.
    pub files: Vec<String>,
    pub skipped: Vec<String>,
}

/// A profile entry of any kind, for `profiles show`.
#[derive(Debug, Clone)]
pub enum AnyEntry<'a> {
    Grid(&'a GridEntry),
    Site(&'a SiteEntry),
    Request(&'a RequestEntry),
    Model(&'a ModelEntry),
    Device(&'a DeviceEntry),
}

impl ProfileSet {
    /// The shipped profiles only.
    pub fn shipped() -> Result<ProfileSet, ProfileErrors> {
        ProfileSet::load(&[])
    }

    /// The shipped profiles, overridden by the `.toml` files of each folder in order.
    /// A file larger than [`MAX_PROFILE_FILE_BYTES`] is a problem named by its path,
    /// and is not read.
    pub fn load(dirs: &[PathBuf]) -> Result<ProfileSet, ProfileErrors> {
        let mut set = ProfileSet {
            default_grid_dataset: "ember-2025-08".to_string(),
            ..ProfileSet::default()
        };
        let mut problems = Vec::new();
        for (name, text) in SHIPPED {
            set.add_file(&format!("shipped:{name}"), text, &mut problems);
        }
        for dir in dirs {
            let entries = match std::fs::read_dir(dir) {
                Ok(e) => e,
                Err(e) => {
                    problems.push(ProfileProblem {
                        file: dir.display().to_string(),
                        entry: None,
                        field: None,
                        message: format!("cannot read the profile folder: {e}"),
                    });
                    continue;
                }
            };
            let mut paths: Vec<PathBuf> = entries
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|x| x == "toml"))
                .collect();
            paths.sort();
            for path in paths {
                // Capped whatever the file is: a FIFO or a device named `x.toml`
                // has no size to check beforehand.
                let read = read_file_text_at_most(&path, MAX_PROFILE_FILE_BYTES);
                if let Err(too_large @ CappedError::TooLarge { .. }) = &read {
                    problems.push(ProfileProblem {
                        file: path.display().to_string(),
                        entry: None,
                        field: None,
                        message: format!(
                            "{too_large} for a profile file (the shipped ones are a few kilobytes); not read"
                        ),
                    });
                    continue;
                }
                match read {
                    Ok(text) => set.add_file(&path.display().to_string(), &text, &mut problems),
                    Err(e) => problems.push(ProfileProblem {
                        file: path.display().to_string(),
                        entry: None,
                        field: None,
                        message: format!("cannot read: {e}"),
                    }),
                }
            }
        }
        set.check_references(&mut problems);
        if problems.is_empty() {
            Ok(set)
        } else {
            Err(ProfileErrors(problems))
        }
    }

    /// The folders named by `HOEVEEL_PROFILES` and the user's config folder, where
    /// they exist, followed by `extra` (from `--profiles`).
    pub fn user_dirs(extra: &[PathBuf]) -> Vec<PathBuf> {
        let mut dirs = Vec::new();
        let config = std::env::var_os("XDG_CONFIG_HOME")
            .map(PathBuf::from)
            .or_else(|| std::env::var_os("HOME").map(|h| Path::new(&h).join(".config")));
        if let Some(c) = config
            .map(|c| c.join("hoeveel").join("profiles"))
            .filter(|c| c.is_dir())
        {
            dirs.push(c);
        }
        if let Some(env) = std::env::var_os("HOEVEEL_PROFILES") {
            dirs.extend(std::env::split_paths(&env));
        }
        dirs.extend(extra.iter().cloned());
        dirs
    }

    /// Parses and checks one profile file's `text` (named `file` in messages), as
    /// [`ProfileSet::load`] does for each file it reads: its entries are added to
    /// the set (an id already there is replaced) and its problems appended to
    /// `problems`. References between files are checked by `load` only.
    pub fn add_file(&mut self, file: &str, text: &str, problems: &mut Vec<ProfileProblem>) {
        let mut checker = Checker::new(file);
        let table: toml::Table = match text.parse() {
            Ok(t) => t,
            Err(e) => {
                checker.report(
                    None,
                    None,
                    format!("not valid TOML: {}", e.to_string().trim()),
                );
                problems.extend(checker.problems);
                return;
            }
        };
        let Some(kind_name) = table.get("kind").and_then(|k| k.as_str()) else {
            self.skipped
                .push(format!("{file}: no `kind` key; not an analysis profile"));
            return;
        };
        let Some(kind) = Kind::parse(kind_name) else {
            self.skipped.push(format!(
                "{file}: kind `{kind_name}` is not an analysis profile"
            ));
            return;
        };
        if let Some(d) = table
            .get("default_dataset")
            .and_then(|d| d.as_str())
            .filter(|_| kind == Kind::Grid)
        {
            self.default_grid_dataset = d.to_string();
        }
        if let Some(t) = table.get("dataset").filter(|_| kind == Kind::Grid) {
            self.add_dataset_info(t, &mut checker);
        }
        let origin = Origin {
            file: file.to_string(),
        };
        let raw_entries = match table.get("entry") {
            Some(toml::Value::Array(a)) => a.clone(),
            Some(_) => {
                checker.report(
                    None,
                    Some("entry"),
                    "must be an array of tables ([[entry]])",
                );
                problems.extend(checker.problems);
                return;
            }
            None => Vec::new(),
        };
        let mut seen = std::collections::HashSet::new();
        for (i, raw) in raw_entries.into_iter().enumerate() {
            let Some(t) = raw.as_table() else {
                checker.report(
                    Some(&format!("#{}", i + 1)),
                    None,
                    "an entry must be a table",
                );
                continue;
            };
            let Some(id) = t.get("id").and_then(|v| v.as_str()).map(str::to_string) else {
                checker.report(
                    Some(&format!("#{}", i + 1)),
                    Some("id"),
                    "missing: every entry needs an id",
                );
                continue;
            };
            if !seen.insert(id.clone()) {
                checker.report(Some(&id), Some("id"), "appears twice in this file");
            }
            let before = checker.problems.len();
            checker.raw_entry(kind, &id, t);
            let raw_failed = checker.problems.len() > before;
            let value = toml::Value::Table(t.clone());
            macro_rules! typed {
                ($ty:ty, $check:ident, $list:ident) => {
                    match value.try_into::<$ty>() {
                        Ok(e) => {
                            checker.$check(&e);
                            upsert(&mut self.$list, e, origin.clone(), |e| &e.id);
                        }
                        // A missing or unknown field is already named; serde would repeat it.
                        Err(_) if raw_failed => {}
                        Err(err) => {
                            checker.report(Some(&id), None, err.to_string().trim().to_string())
                        }
                    }
                };
            }
            match kind {
                Kind::Grid => typed!(GridEntry, grid, grid),
                Kind::Sites => typed!(SiteEntry, site, sites),
                Kind::Requests => typed!(RequestEntry, request, requests),
                Kind::Models => typed!(ModelEntry, model, models),
                Kind::Devices => typed!(DeviceEntry, device, devices),
            }
        }
        self.files.push(file.to_string());
        problems.extend(checker.problems);
    }

    /// The `[dataset.ID]` tables of a grid file: a name and a pull for each.
    fn add_dataset_info(&mut self, value: &toml::Value, checker: &mut Checker<'_>) {
        let Some(t) = value.as_table() else {
            checker.report(
                None,
                Some("dataset"),
                "must be a table of [dataset.ID] tables",
            );
            return;
        };
        for (id, v) in t {
            match v.clone().try_into::<DatasetInfo>() {
                Ok(info) => {
                    self.grid_dataset_info.insert(id.clone(), info);
                }
                Err(e) => checker.report(
                    None,
                    Some(&format!("dataset.{id}")),
                    e.to_string().trim().to_string(),
                ),
            }
        }
    }

    fn check_references(&self, problems: &mut Vec<ProfileProblem>) {
        for (site, origin) in &self.sites {
            if self.grid_entry(&site.grid).is_none() {
                problems.push(ProfileProblem {
                    file: origin.file.clone(),
                    entry: Some(site.id.clone()),
                    field: Some("grid".into()),
                    message: format!("`{}` is not an entry of any grid profile", site.grid),
                });
            }
        }
    }

    /// A grid entry by full id (`NL/ember-2025-08`) or by zone in the default dataset (`NL`).
    pub fn grid_entry(&self, id: &str) -> Option<&GridEntry> {
        let full = if id.contains('/') {
            id.to_string()
        } else {
            format!("{id}/{}", self.default_grid_dataset)
        };
        self.grid.iter().map(|(e, _)| e).find(|e| e.id == full)
    }

    pub fn site(&self, id: &str) -> Option<&SiteEntry> {
        self.sites.iter().map(|(e, _)| e).find(|e| e.id == id)
    }

    pub fn request(&self, id: &str) -> Option<&RequestEntry> {
        self.requests.iter().map(|(e, _)| e).find(|e| e.id == id)
    }

    pub fn model(&self, id: &str) -> Option<&ModelEntry> {
        self.models.iter().map(|(e, _)| e).find(|e| e.id == id)
    }

    pub fn device(&self, id: &str) -> Option<&DeviceEntry> {
        self.devices.iter().map(|(e, _)| e).find(|e| e.id == id)
    }

    /// Looks an id up in every kind, for `profiles show`.
    pub fn find(&self, id: &str) -> Option<(AnyEntry<'_>, &Origin)> {
        if let Some((e, o)) = self.grid.iter().find(|(e, _)| e.id == id) {
            return Some((AnyEntry::Grid(e), o));
        }
        if let Some((e, o)) = self.sites.iter().find(|(e, _)| e.id == id) {
            return Some((AnyEntry::Site(e), o));
        }
        if let Some((e, o)) = self.requests.iter().find(|(e, _)| e.id == id) {
            return Some((AnyEntry::Request(e), o));
        }
        if let Some((e, o)) = self.models.iter().find(|(e, _)| e.id == id) {
            return Some((AnyEntry::Model(e), o));
        }
        if let Some((e, o)) = self.devices.iter().find(|(e, _)| e.id == id) {
            return Some((AnyEntry::Device(e), o));
        }
        None
    }

    /// The site's factor in gCO2e per kWh of IT energy: PUE x grid intensity, as
    /// an interval, with the grid entry `choice` gives it.
    pub fn site_factor(
        &self,
        site: &SiteEntry,
        choice: GridChoice<'_>,
    ) -> Option<(hoeveel_record::stats::Interval, GridLookup<'_>)> {
        let grid = self.grid_lookup(&site.grid, choice)?;
        Some((site.pue.interval().scale(grid.entry.value), grid))
    }
}

fn upsert<T>(list: &mut Vec<(T, Origin)>, item: T, origin: Origin, id: impl Fn(&T) -> &String) {
    if let Some(slot) = list.iter_mut().find(|(e, _)| id(e) == id(&item)) {
        *slot = (item, origin);
    } else {
        list.push((item, origin));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_profile_file_over_the_limit_is_named_and_not_read() {
        let dir = tempfile::tempdir().expect("tempdir");
        let big = std::fs::File::create(dir.path().join("big.toml")).expect("create");
        big.set_len(1_000_000_000).expect("sparse");
        let errors = ProfileSet::load(&[dir.path().to_path_buf()]).expect_err("too large");
        let text = errors.to_string();
        assert!(text.contains("big.toml"), "{text}");
        assert!(
            text.contains("1000000000 bytes is more than the 4194304"),
            "{text}"
        );
    }

    #[cfg(unix)]
    #[test]
    fn a_device_named_like_a_profile_is_read_only_to_the_cap() {
        // /dev/zero has no size to check; it used to be read until memory ran out.
        let dir = tempfile::tempdir().expect("tempdir");
        std::os::unix::fs::symlink("/dev/zero", dir.path().join("zero.toml")).expect("symlink");
        let errors = ProfileSet::load(&[dir.path().to_path_buf()]).expect_err("endless");
        let text = errors.to_string();
        assert!(text.contains("zero.toml"), "{text}");
        assert!(
            text.contains("what it streams is more than the 4194304 bytes allowed"),
            "{text}"
        );
    }

    #[test]
    fn shipped_profiles_load_and_check_clean() {
        let set = ProfileSet::shipped().expect("shipped profiles are valid");
        assert_eq!(set.files.len(), 5);
        assert!(set.skipped.is_empty());
        assert_eq!(set.grid_entry("NL/workshop").map(|g| g.value), Some(253.0));
        assert_eq!(set.grid_entry("NL").map(|g| g.value), Some(252.70));
        let workshop: Vec<_> = set.sites.iter().filter(|(s, _)| s.workshop).collect();
        assert_eq!(workshop.len(), 6);
        // The workshop's Microsoft PUEs are Microsoft's published ones, not guesses.
        for (id, pue) in [("ms-nl", 1.14), ("ms-sg", 1.30)] {
            let site = set.site(id).expect("site");
            assert!(!site.meta.unverified(), "{id} has a source");
            assert_eq!(site.pue.interval().centre(), pue);
        }
        // AWS publishes PUE per region: a value, not a range.
        for (id, pue) in [
            ("aws-stockholm", 1.10),
            ("aws-eu-central-1", 1.35),
            ("aws-ap-southeast-1", 1.32),
        ] {
            let site = set.site(id).expect("aws");
            assert!(!site.pue.is_range(), "{id}");
            assert_eq!(site.pue.low(), pue, "{id}");
        }
        // Chile has none: a range of the nearest published values.
        let chile = set.site("aws-chile").expect("chile");
        assert_eq!((chile.pue.low(), chile.pue.high()), (1.09, 1.17));
        // Every shipped entry cites sources that exist, and every request has a rung.
        assert!(set.requests.iter().all(|(r, _)| !r.meta.cite.is_empty()));
        assert!(set.sites.iter().all(|(r, _)| !r.meta.cite.is_empty()));
        assert_eq!(
            set.request("mistral-large2-lca-2025").map(|r| r.rung),
            Some(Rung::Lifecycle)
        );
        assert_eq!(
            set.grid_entry("gcp-europe-west4/google-2024")
                .map(|g| (g.value, g.meta.year)),
            Some((208.81, 2024))
        );
        for id in [
            "llama-2",
            "llama-3",
            "llama-3.1",
            "llama-3.2",
            "llama-3.3",
            "llama-4",
        ] {
            assert!(set.model(id).is_some(), "{id}");
        }
        assert!(set.model("llama-3.3").expect("3.3").inconsistent);
    }

    fn load_with(file: &str, text: &str) -> Result<ProfileSet, ProfileErrors> {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(dir.path().join(file), text).expect("write");
        ProfileSet::load(&[dir.path().to_path_buf()])
    }

    const SITE: &str = r#"kind = "sites"
[[entry]]
id = "my-site"
name = "Mine"
operator = "me"
location = "NL"
grid = "NL"
pue = @PUE@
unit = "PUE"
source = "my meter"
year = 2025
licence = "mine"
vintage = "2025"
status = "V"
"#;

    #[test]
    fn negative_pue_is_named_by_file_entry_and_field() {
        let err =
            load_with("sites.toml", &SITE.replace("@PUE@", "-1.2")).expect_err("negative PUE");
        let text = err.to_string();
        assert!(
            text.contains("sites.toml: entry `my-site`: field `pue`"),
            "{text}"
        );
        assert!(text.contains("-1.2"), "{text}");
    }

    #[test]
    fn override_replaces_and_adds() {
        let set = load_with(
            "sites.toml",
            &SITE.replace("@PUE@", "1.2").replace("my-site", "ms-nl"),
        )
        .expect("valid");
        assert_eq!(set.site("ms-nl").map(|s| s.pue.low()), Some(1.2));
        let set = load_with(
            "sites.toml",
            &SITE.replace("@PUE@", "{ low = 1.1, high = 1.3 }"),
        )
        .expect("valid");
        let s = set.site("my-site").expect("added");
        assert!(s.pue.is_range());
        let f = set.site_factor(s, GridChoice::Named).expect("factor").0;
        assert!((f.low - 1.1 * 252.70).abs() < 1e-9 && (f.high - 1.3 * 252.70).abs() < 1e-9);
    }

    #[test]
    fn missing_source_and_unknown_field_are_named() {
        let text = SITE
            .replace("@PUE@", "1.2")
            .replace("source = \"my meter\"\n", "colour = \"red\"\n");
        let err = load_with("mine.toml", &text).expect_err("bad");
        assert_eq!(err.0.len(), 2, "{err}");
        let text = err.to_string();
        assert!(
            text.contains("mine.toml: entry `my-site`: field `source`: missing"),
            "{text}"
        );
        assert!(
            text.contains("entry `my-site`: field `colour`: unknown field"),
            "{text}"
        );
    }

    #[test]
    fn reversed_range_and_unknown_grid_are_named() {
        let text = SITE
            .replace("@PUE@", "{ low = 1.3, high = 1.1 }")
            .replace("grid = \"NL\"", "grid = \"XX/none\"");
        let err = load_with("mine.toml", &text).expect_err("bad");
        let text = err.to_string();
        assert!(
            text.contains("field `pue`: low 1.3 is above high 1.1"),
            "{text}"
        );
        assert!(
            text.contains("field `grid`: `XX/none` is not an entry"),
            "{text}"
        );
    }

    #[test]
    fn battery_arithmetic_is_checked() {
        let text = r#"kind = "devices"
[[entry]]
id = "bat"
name = "b"
value = 20.0
unit = "Wh"
capacity_mah = 5000.0
voltage_v = 3.7
source = "s"
year = 2025
licence = "l"
vintage = "v"
status = "D"
"#;
        let err = load_with("devices.toml", text).expect_err("wrong arithmetic");
        assert!(
            err.to_string().contains("5000 mAh x 3.7 V = 18.5 Wh"),
            "{err}"
        );
    }

    #[test]
    fn files_of_other_kinds_are_skipped_not_failed() {
        let set = load_with("power_models.toml", "[cpu]\nmin_w = 1.0\n").expect("skipped");
        assert_eq!(set.skipped.len(), 1);
    }

    #[test]
    fn the_published_protocol_figures_are_shipped_with_their_protocol() {
        let set = ProfileSet::shipped().expect("valid");
        let with = |name: &str| -> Vec<&RequestEntry> {
            set.requests
                .iter()
                .map(|(e, _)| e)
                .filter(|e| e.protocol.as_ref().is_some_and(|p| p.name == name))
                .collect()
        };
        let aes = with("ai-energy-score");
        assert_eq!(aes.len(), 5);
        let smollm = set
            .request("aienergyscore-smollm-135m")
            .expect("SmolLM-135M");
        // 7.28 Wh per 1,000 queries is 26.2 J per query.
        assert!((smollm.energy_j().expect("J").centre() - 26.208).abs() < 1e-6);
        assert!(
            aes.iter()
                .all(|e| e.protocol.as_ref().and_then(|p| p.new_tokens) == Some(10))
        );
        let mle = with("ml-energy");
        let per_token: Vec<_> = mle
            .iter()
            .filter_map(|e| e.protocol.as_ref())
            .map(|p| (p.concurrency, p.j_per_output_token))
            .collect();
        assert_eq!(
            per_token,
            [(Some(8), Some(0.455)), (Some(512), Some(0.070))]
        );
    }

    #[test]
    fn a_request_without_a_rung_or_with_an_unknown_one_is_refused_by_name() {
        let text = request_with_protocol(
            r#"{ name = "ml-energy", model = "m", hardware = "h", published = "x", concurrency = 8, j_per_output_token = 0.1 }"#,
        );
        load_with("mine.toml", &text).expect("a valid request");
        let err = load_with(
            "mine.toml",
            &text
                .replace("rung = \"accelerator\"\n", "")
                .replace("method = \"measured\"\n", ""),
        )
        .expect_err("no rung");
        assert!(
            err.to_string()
                .contains("entry `mine`: field `rung, method`: missing: a published figure says its boundary rung"),
            "{err}"
        );
        let err = load_with(
            "mine.toml",
            &text.replace("rung = \"accelerator\"", "rung = \"datacentre\""),
        )
        .expect_err("unknown rung");
        assert!(
            err.to_string()
                .contains("field `rung`: `datacentre` is not a rung; use one of accelerator, cpu"),
            "{err}"
        );
    }

    #[test]
    fn a_cite_that_is_not_a_source_is_refused_and_shipped_entries_must_cite() {
        let text = request_with_protocol(
            r#"{ name = "ml-energy", model = "m", hardware = "h", published = "x", concurrency = 8, j_per_output_token = 0.1 }"#,
        );
        let cited = text.replace(
            "source = \"me\"\n",
            "source = \"me\"\ncite = [\"ccf\", \"nowhere\"]\n",
        );
        let err = load_with("mine.toml", &cited).expect_err("dangling cite");
        assert!(
            err.to_string()
                .contains("field `cite`: `nowhere` is not a source in profiles/SOURCES.md"),
            "{err}"
        );
        let pointer = text.replace("source = \"me\"", "source = \"me, see SOURCES.md#gone\"");
        let err = load_with("mine.toml", &pointer).expect_err("dangling pointer");
        assert!(
            err.to_string()
                .contains("field `source`: points at SOURCES.md#gone"),
            "{err}"
        );
        // The same entry as a shipped file must cite a source.
        let mut set = ProfileSet::default();
        let mut problems = Vec::new();
        set.add_file("shipped:requests.toml", &text, &mut problems);
        assert!(
            problems
                .iter()
                .any(|p| p.field.as_deref() == Some("cite") && p.message.contains("missing")),
            "{problems:?}"
        );
    }

    /// Every printed source string of the shipped data, the power models included,
    /// points at sources that exist, and none at a file outside the repository.
    #[test]
    fn no_shipped_text_points_at_a_missing_source_or_file() {
        let power_models = include_str!("../power_models.toml");
        let texts = SHIPPED.iter().map(|(name, text)| (*name, *text)).chain([
            ("power_models.toml", power_models),
            ("scenarios/municipality.toml", MUNICIPALITY_SCENARIO),
        ]);
        for (name, text) in texts {
            assert!(
                sources::undefined_pointers(text).is_empty(),
                "{name}: {:?}",
                sources::undefined_pointers(text)
            );
            assert!(!text.contains("figures.md"), "{name} points at figures.md");
        }
        assert!(power_models.matches("SOURCES.md#ccf").count() >= 8);
    }

    fn request_with_protocol(protocol: &str) -> String {
        format!(
            r#"kind = "requests"
[[entry]]
id = "mine"
name = "Mine"
kind = "llm"
energy = 1.0
unit = "J"
boundary = "GPU only"
rung = "accelerator"
includes = "the GPU"
excludes = "the rest"
method = "measured"
protocol = {protocol}
source = "me"
year = 2026
licence = "mine"
vintage = "today"
status = "V"
"#
        )
    }

    #[test]
    fn a_protocol_figure_that_breaks_its_protocol_is_named() {
        let err = load_with(
            "mine.toml",
            &request_with_protocol(
                r#"{ name = "ai-energy-score", model = "m", hardware = "h", new_tokens = 20, published = "1 Wh per 1,000 queries" }"#,
            ),
        )
        .expect_err("20 tokens");
        assert!(
            err.to_string().contains(
                "entry `mine`: field `protocol.new_tokens`: AI Energy Score generates exactly 10"
            ),
            "{err}"
        );
        let err = load_with(
            "mine.toml",
            &request_with_protocol(
                r#"{ name = "ml-energy", model = "m", hardware = "h", published = "x" }"#,
            ),
        )
        .expect_err("no concurrency");
        assert!(err.to_string().contains("needs its concurrency"), "{err}");
        let err = load_with(
            "mine.toml",
            &request_with_protocol(
                r#"{ name = "mlperf", model = "m", hardware = "h", published = "x" }"#,
            ),
        )
        .expect_err("unknown protocol");
        assert!(
            err.to_string()
                .contains("`mlperf` is not one of ai-energy-score, ml-energy"),
            "{err}"
        );
        let err = load_with(
            "mine.toml",
            &request_with_protocol(
                r#"{ name = "ml-energy", model = "m", hardware = "h", published = "x", concurency = 8 }"#,
            ),
        )
        .expect_err("misspelt field");
        assert!(err.to_string().contains("concurency"), "{err}");
    }
}
