//! The powercap and perf_event sysfs parsers: the bytes are the content of a
//! sysfs file. The counter parser takes the bytes as read (`energy_uj`,
//! `max_energy_range_uj`, `constraint_*_uw`); the text parsers take each line,
//! trimmed as they are read, as the content of a zone directory name, a zone
//! `name`, a `cpumask`, a `format` term (`config:0-7`), an event
//! (`event=0x02`) or a `.scale`. A line `NAME config:LO-HI` adds
//! term NAME to the format the following event lines are read with.

use hoeveel_measure::sensors::rapl_perf::counts_to_uj;
use hoeveel_measure::sensors::rapl_perf::power_pmu::{
    FormatField, event_config, parse_cpu_list, parse_format_field, parse_scale,
};
use hoeveel_measure::sensors::rapl_powercap::{ZoneAddress, classify, parse_uj};
use std::collections::BTreeMap;

fn main() {
    afl::fuzz!(|data: &[u8]| {
        let _ = parse_uj(data);
        let Ok(text) = std::str::from_utf8(data) else {
            return;
        };
        // The RAPL PMU's own format (arch/x86/events/rapl.c).
        let mut format = BTreeMap::from([(
            "event".to_string(),
            FormatField {
                word: 0,
                lo: 0,
                hi: 7,
            },
        )]);
        for line in text.lines() {
            let value = line.trim();
            let _ = parse_uj(value.as_bytes());
            let _ = ZoneAddress::parse(value);
            let _ = classify(value, None);
            let _ = classify(value, Some("package-0"));
            let _ = classify("dram", Some(value));
            let _ = parse_cpu_list(value);
            let _ = parse_format_field(value);
            if let Some(scale) = parse_scale(value) {
                let _ = counts_to_uj(u64::MAX, scale);
            }
            if let Some((name, field)) = value.split_once(' ')
                && let Some(field) = parse_format_field(field)
            {
                format.insert(name.to_string(), field);
            }
            let _ = event_config(value, &format);
        }
    });
}
