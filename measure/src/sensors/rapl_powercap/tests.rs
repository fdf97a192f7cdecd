//! Discovery and sampling on fake powercap trees; energies checked to the joule
//! through the meter.

use super::*;
use crate::meter::Meter;
use hoeveel_sysfs_fixture::{
    FakePowercap, INTEL_MAX_ENERGY_RANGE_UJ, ZoneSpec, build_powercap, client_zones,
    two_socket_zones,
};

fn tree(zones: &[ZoneSpec]) -> (tempfile::TempDir, FakePowercap) {
    let dir = tempfile::tempdir().expect("tempdir");
    let fake = build_powercap(dir.path(), zones).expect("build fake powercap");
    (dir, fake)
}

fn ids(sensor: &RaplPowercapSensor) -> Vec<&str> {
    sensor.domains().iter().map(|d| d.id.as_str()).collect()
}

/// Samples once and feeds every domain's reading to its meter at `t_s`.
fn sample_into(sensor: &mut RaplPowercapSensor, meters: &mut [Meter], t_s: f64) -> Vec<bool> {
    let mut out = Vec::new();
    sensor.sample(&mut out).expect("sample");
    assert_eq!(out.len(), meters.len());
    out.iter()
        .zip(meters.iter_mut())
        .map(|(r, m)| {
            m.update(t_s, *r)
                .expect("meter")
                .is_some_and(|interval| interval.wrapped)
        })
        .collect()
}

fn meters(sensor: &RaplPowercapSensor) -> Vec<Meter> {
    sensor
        .domains()
        .iter()
        .map(|d| Meter::new(d.wrap_range_uj))
        .collect()
}

#[test]
fn zone_addresses() {
    assert_eq!(
        ZoneAddress::parse("intel-rapl:1"),
        Some(ZoneAddress {
            mmio: false,
            zone: 1,
            subzone: None
        })
    );
    assert_eq!(
        ZoneAddress::parse("intel-rapl:0:2"),
        Some(ZoneAddress {
            mmio: false,
            zone: 0,
            subzone: Some(2)
        })
    );
    assert_eq!(
        ZoneAddress::parse("intel-rapl-mmio:0"),
        Some(ZoneAddress {
            mmio: true,
            zone: 0,
            subzone: None
        })
    );
    for other in [
        "intel-rapl",
        "intel-rapl:",
        "intel-rapl:x",
        "intel-rapl:0:1:2",
        "dtpm",
        "intel-rapl:0:",
    ] {
        assert_eq!(ZoneAddress::parse(other), None, "{other}");
    }
}

#[test]
fn zone_names_map_to_domains() {
    assert_eq!(
        classify("package-1", None),
        Ok(("package-1".into(), DomainKind::Package, Some(1)))
    );
    assert_eq!(
        classify("psys", None),
        Ok(("psys".into(), DomainKind::Psys, None))
    );
    assert_eq!(
        classify("core", Some("package-0")),
        Ok(("cores-0".into(), DomainKind::Cores, Some(0)))
    );
    assert_eq!(
        classify("uncore", Some("package-0")),
        Ok(("uncore-0".into(), DomainKind::Uncore, Some(0)))
    );
    assert_eq!(
        classify("dram", Some("package-1")),
        Ok(("dram-1".into(), DomainKind::Dram, Some(1)))
    );
    assert!(classify("core", Some("psys")).is_err());
    assert!(classify("gpu", Some("package-0")).is_err());
    assert!(classify("platform", None).is_err());
}

#[test]
fn client_tree_skips_the_mmio_twin() {
    let (_dir, fake) = tree(&client_zones());
    let sensor = RaplPowercapSensor::discover(fake.root()).expect("discover");
    assert_eq!(ids(&sensor), ["package-0", "cores-0", "uncore-0", "psys"]);
    let d = sensor.domains();
    assert_eq!(d[0].kind, DomainKind::Package);
    assert_eq!(d[1].kind, DomainKind::Cores);
    assert_eq!(d[2].kind, DomainKind::Uncore);
    assert_eq!(d[3].kind, DomainKind::Psys);
    assert_eq!(d[3].unit, None);
    assert!(d.iter().all(|d| d.provenance == Provenance::Counter));
    assert!(
        d.iter()
            .all(|d| d.wrap_range_uj == Some(INTEL_MAX_ENERGY_RANGE_UJ))
    );
    // The MMIO file is never opened.
    assert!(
        sensor
            .energy_paths()
            .all(|p| !p.to_string_lossy().contains("mmio"))
    );

    let info = sensor.info();
    assert_eq!(info.kind, crate::sensors::SensorKind::RaplPowercap);
    assert_eq!(info.provenance, Provenance::Counter);
    assert_eq!(info.domains, ["package-0", "cores-0", "uncore-0", "psys"]);
    assert!(info.source.contains("class/powercap"));
    let twins = &info.details["mmio_twins_skipped"];
    assert_eq!(twins[0]["zone"], "intel-rapl-mmio:0");
    assert_eq!(twins[0]["twin_of"], "intel-rapl:0");
    assert_eq!(
        info.details["zones"][0]["max_energy_range_uj"],
        INTEL_MAX_ENERGY_RANGE_UJ
    );
}

#[test]
fn mmio_zone_without_twin_is_used() {
    let zones = [ZoneSpec::new("intel-rapl-mmio:0", "package-0")];
    let (_dir, fake) = tree(&zones);
    let sensor = RaplPowercapSensor::discover(fake.root()).expect("discover");
    assert_eq!(ids(&sensor), ["package-0"]);
    assert_eq!(
        sensor.info().details["mmio_zones_used"][0],
        "intel-rapl-mmio:0"
    );
}

#[test]
fn two_sockets_with_dram() {
    let (_dir, fake) = tree(&two_socket_zones());
    let sensor = RaplPowercapSensor::discover(fake.root()).expect("discover");
    assert_eq!(ids(&sensor), ["package-0", "dram-0", "package-1", "dram-1"]);
    let units: Vec<_> = sensor.domains().iter().map(|d| d.unit).collect();
    assert_eq!(units, [Some(0), Some(0), Some(1), Some(1)]);
    assert_eq!(sensor.domains()[1].kind, DomainKind::Dram);
    assert_eq!(sensor.domains()[1].wrap_range_uj, Some(65_712_999_613));
}

#[test]
fn energies_to_the_joule() {
    let (_dir, mut fake) = tree(&two_socket_zones());
    let mut sensor = RaplPowercapSensor::discover(fake.root()).expect("discover");
    let mut meters = meters(&sensor);
    sample_into(&mut sensor, &mut meters, 0.0);
    // One second: 85 W and 60 W packages, 7 W and 5 W DRAM.
    for (zone, uj) in [
        ("intel-rapl:0", 85_000_000),
        ("intel-rapl:0:0", 7_000_000),
        ("intel-rapl:1", 60_000_000),
        ("intel-rapl:1:0", 5_000_000),
    ] {
        fake.advance_uj(zone, uj).expect("advance");
    }
    sample_into(&mut sensor, &mut meters, 1.0);
    // A second interval on package-0 only.
    fake.advance_uj("intel-rapl:0", 42_500_000)
        .expect("advance");
    sample_into(&mut sensor, &mut meters, 1.5);
    let totals: Vec<f64> = meters.iter().map(Meter::total_j).collect();
    assert_eq!(totals, [127.5, 7.0, 60.0, 5.0]);
}

#[test]
fn counter_wrap_is_corrected_and_flagged() {
    let max = 1_000_000_000; // 1 kJ range, to wrap quickly
    let zones = [
        ZoneSpec::new("intel-rapl:0", "package-0")
            .with_max_energy_range_uj(max)
            .with_energy_uj(max - 3_000_000),
        ZoneSpec::new("intel-rapl:0:0", "dram"),
    ];
    let (_dir, mut fake) = tree(&zones);
    let mut sensor = RaplPowercapSensor::discover(fake.root()).expect("discover");
    assert_eq!(sensor.domains()[0].wrap_range_uj, Some(max));
    let mut meters = meters(&sensor);
    sample_into(&mut sensor, &mut meters, 0.0);
    // 10 J: 3 J to the top, 1 µJ to zero, and on to 7 J - 1 µJ.
    assert!(
        fake.advance_uj("intel-rapl:0", 10_000_000)
            .expect("advance")
    );
    assert_eq!(fake.energy_uj("intel-rapl:0"), Some(6_999_999));
    fake.advance_uj("intel-rapl:0:0", 2_000_000)
        .expect("advance");
    let wrapped = sample_into(&mut sensor, &mut meters, 1.0);
    assert_eq!(wrapped, [true, false]);
    assert_eq!(meters[0].total_j(), 10.0);
    assert_eq!(meters[0].wraps(), 1);
    assert_eq!(meters[1].total_j(), 2.0);
}

#[test]
fn missing_root_is_unavailable_with_the_path() {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path().join("no-such-sys");
    let Err(err) = RaplPowercapSensor::discover(&root) else {
        panic!("discovered a sensor under a missing root");
    };
    assert!(
        matches!(&err, SensorError::Unavailable(m) if m.contains("no-such-sys")),
        "{err}"
    );
}

#[test]
fn root_without_powercap_is_unavailable() {
    let dir = tempfile::tempdir().expect("tempdir");
    let Err(err) = RaplPowercapSensor::discover(dir.path()) else {
        panic!("discovered a sensor without powercap");
    };
    assert!(
        matches!(&err, SensorError::Unavailable(m) if m.contains("class/powercap does not exist")),
        "{err}"
    );

    // The control type alone, as in a VM without RAPL zones.
    build_powercap(dir.path(), &[]).expect("build");
    let Err(err) = RaplPowercapSensor::discover(dir.path()) else {
        panic!("discovered a sensor without zones");
    };
    assert!(
        matches!(&err, SensorError::Unavailable(m) if m.contains("no intel-rapl zone")),
        "{err}"
    );
}

#[test]
fn unreadable_zone_is_skipped_and_said() {
    let (_dir, fake) = tree(&two_socket_zones());
    std::fs::remove_file(fake.energy_uj_path("intel-rapl:1:0").expect("path")).expect("rm");
    let sensor = RaplPowercapSensor::discover(fake.root()).expect("discover");
    assert_eq!(ids(&sensor), ["package-0", "dram-0", "package-1"]);
    let skipped = &sensor.info().details["zones_skipped"];
    assert_eq!(skipped[0]["zone"], "intel-rapl:1:0");
}

#[test]
fn duplicate_domains_are_refused() {
    let zones = [
        ZoneSpec::new("intel-rapl:0", "package-0"),
        ZoneSpec::new("intel-rapl:1", "package-0"),
    ];
    let (_dir, fake) = tree(&zones);
    assert!(matches!(
        RaplPowercapSensor::discover(fake.root()),
        Err(SensorError::Malformed { .. })
    ));
}

#[test]
fn bad_range_is_malformed_with_the_path() {
    let zones = [ZoneSpec::new("intel-rapl:0", "package-0").with_max_energy_range_uj(0)];
    let (_dir, fake) = tree(&zones);
    let Err(err) = RaplPowercapSensor::discover(fake.root()) else {
        panic!("accepted a zero range");
    };
    assert!(err.to_string().contains("no readable RAPL zone"), "{err}");
    assert!(err.to_string().contains("max_energy_range_uj"), "{err}");
}

#[test]
fn failed_sample_appends_nothing() {
    let (_dir, fake) = tree(&two_socket_zones());
    let mut sensor = RaplPowercapSensor::discover(fake.root()).expect("discover");
    let path = fake
        .energy_uj_path("intel-rapl:1")
        .expect("path")
        .to_path_buf();
    std::fs::write(&path, "not a number\n").expect("write");
    let mut out = vec![Reading::Counter { energy_uj: 1 }];
    let err = sensor.sample(&mut out).expect_err("garbage must not read");
    assert!(matches!(err, SensorError::Malformed { path: p, .. } if p == path));
    assert_eq!(out, [Reading::Counter { energy_uj: 1 }]);
}
