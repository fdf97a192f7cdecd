"""The Python API: windows against a powercap fixture advanced at known watts,
the modelled label, exceptions inside a `with` block, the decorator, records
read by `hoeveel report`, and every bad input as a clear exception."""

import json
import os
import re
import subprocess
import time
from pathlib import Path

import pytest

import hoeveel
from fakesys import FakePowercap

REPO = Path(__file__).resolve().parents[2]
PACKAGE_W = 40.0
DRAM_W = 4.0
INTEL_RANGE_UJ = 262_143_328_850


@pytest.fixture
def powercap(tmp_path):
    fake = FakePowercap(
        tmp_path / "sys",
        [
            ("intel-rapl:0", "package-0", PACKAGE_W, INTEL_RANGE_UJ),
            ("intel-rapl:0:0", "dram", DRAM_W, INTEL_RANGE_UJ),
        ],
    )
    yield fake
    fake.stop()


def fixture_monitor(fake, **kwargs):
    return hoeveel.Monitor(sensors=["rapl-powercap"], sysfs_root=fake.root, **kwargs)


def assert_within_1pct(measured, expected, what):
    error = abs(measured - expected) / expected
    assert error < 0.01, f"{what}: {measured} J, expected {expected} J ({error:.2%} off)"


def test_a_window_reads_rate_times_duration(powercap):
    with fixture_monitor(powercap) as monitor:
        with monitor.measure("work") as m:
            time.sleep(0.5)
    assert_within_1pct(m.energy_j["package-0"], PACKAGE_W * m.duration_s, "package-0")
    assert_within_1pct(m.energy_j["dram-0"], DRAM_W * m.duration_s, "dram-0")
    assert_within_1pct(m.total_j, (PACKAGE_W + DRAM_W) * m.duration_s, "total")
    assert m.provenance == "counter"
    assert not m.modelled
    assert m.net_j is None
    assert m.warnings == []
    assert isinstance(m.window, hoeveel.Window)


def test_overlapping_windows_each_read_their_own_span(powercap):
    with fixture_monitor(powercap) as monitor:
        monitor.begin_window("a")
        time.sleep(0.3)
        monitor.begin_window("b")
        time.sleep(0.3)
        a = monitor.end_window("a")
        time.sleep(0.3)
        b = monitor.end_window("b")
    for w in (a, b):
        assert_within_1pct(w.total_j, (PACKAGE_W + DRAM_W) * w.duration_s, w.name)
    assert a.start_s < b.start_s < a.start_s + a.duration_s < b.start_s + b.duration_s


def test_a_counter_wrap_inside_a_window_is_corrected(tmp_path):
    # 6 J at 40 W: the package counter wraps every 0.15 s.
    fake = FakePowercap(tmp_path / "sys", [("intel-rapl:0", "package-0", PACKAGE_W, 6_000_000)])
    try:
        with fixture_monitor(fake) as monitor:
            with monitor.measure("wrapping") as m:
                time.sleep(0.5)
    finally:
        fake.stop()
    assert m.wraps_corrected == ["package-0"]
    assert_within_1pct(m.energy_j["package-0"], PACKAGE_W * m.duration_s, "package-0")


def test_a_window_at_the_baseline_s_power_has_no_net_figure_and_says_why(powercap):
    with fixture_monitor(powercap, baseline_s=0.5) as monitor:
        assert_within_1pct(monitor.baseline.total_power_w, PACKAGE_W + DRAM_W, "baseline")
        with monitor.measure("idle") as m:
            time.sleep(0.3)
    # Constant power: the window draws exactly the baseline, so its net is noise
    # around zero (it came back as -8.9e-16 J): no figure, and the warning the
    # CLI gives.
    assert m.net_j is None
    assert any(w.startswith("net energy is not resolved") for w in m.warnings), m.warnings


def test_sleep_on_a_machine_without_counters_is_labelled_modelled():
    with hoeveel.Monitor(sensors=["model"]) as monitor:
        assert monitor.modelled
        with monitor.measure("sleep") as m:
            time.sleep(0.5)
    assert m.provenance == "modelled"
    assert m.modelled
    assert any("MODELLED" in w for w in m.warnings), m.warnings
    assert m.duration_s >= 0.5
    # The default monitor says the same whenever it falls back to the model.
    with hoeveel.measure("default") as d:
        time.sleep(0.1)
    assert d.modelled == hoeveel.default_monitor().modelled


def test_an_exception_in_the_block_ends_the_window_and_is_raised_again(powercap):
    with fixture_monitor(powercap) as monitor:
        with pytest.raises(ZeroDivisionError):
            with monitor.measure("fails") as m:
                time.sleep(0.1)
                1 / 0
        assert monitor.open_windows == []
        assert m.window is not None and m.duration_s >= 0.1
        # The name is free again.
        with monitor.measure("fails"):
            pass


def test_the_decorator_measures_every_call(powercap):
    with fixture_monitor(powercap) as monitor:

        @monitor.track()
        def work(seconds):
            time.sleep(seconds)
            return "done"

        assert work(0.2) == "done"
        assert work.last_window.name.endswith("work")
        assert_within_1pct(
            work.last_window.total_j, (PACKAGE_W + DRAM_W) * work.last_window.duration_s, "call"
        )

    @hoeveel.track
    def bare():
        return 1

    @hoeveel.track("named")
    def named():
        return 2

    assert bare() == 1 and bare.last_window.name.endswith("bare")
    assert named() == 2 and named.last_window.name == "named"


def hoeveel_binary():
    binary = Path(os.environ.get("HOEVEEL_BIN", REPO / "target" / "debug" / "hoeveel"))
    assert binary.exists(), f"{binary} is missing: build it with `cargo build -p hoeveel`"
    return binary


def test_a_record_written_from_python_is_read_by_hoeveel_report(powercap, tmp_path):
    record = tmp_path / "windows.jsonl"
    with fixture_monitor(powercap, record=record, baseline_s=0.5) as monitor:
        for name in ("load", "infer", "infer", "infer"):
            with monitor.measure(name):
                time.sleep(0.15)
    out = subprocess.run(
        [hoeveel_binary(), "report", "--json", str(record)],
        capture_output=True,
        text=True,
        check=True,
    )
    report = json.loads(out.stdout)
    text = json.dumps(report)
    assert "infer" in text and "load" in text, text[:2000]
    plain = subprocess.run(
        [hoeveel_binary(), "report", "--wide", str(record)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "window infer" in plain and "window load" in plain, plain


def test_bad_input_is_a_clear_exception(tmp_path):
    with pytest.raises(hoeveel.SensorError, match=r"unknown sensor `rapl-magic`; known: rapl-perf"):
        hoeveel.Monitor(sensors=["rapl-magic"])
    with pytest.raises(hoeveel.SensorError, match=r"the sysfs root /no/such/sys is not a directory"):
        hoeveel.Monitor(sysfs_root="/no/such/sys")
    with pytest.raises(hoeveel.SensorError, match=r"sensor rapl-powercap was asked for") as e:
        hoeveel.Monitor(sensors=["rapl-powercap"], sysfs_root=tmp_path)
    assert hasattr(e.value, "fix")
    with hoeveel.Monitor(sensors=["model"]) as monitor:
        with pytest.raises(hoeveel.WindowError, match=r"window `never` was never begun"):
            monitor.end_window("never")
        monitor.begin_window("once")
        with pytest.raises(hoeveel.WindowError, match=r"window `once` is already open"):
            monitor.begin_window("once")
        monitor.end_window("once")
        with pytest.raises(hoeveel.WindowError, match=r"window `once` has already ended"):
            monitor.end_window("once")
    # A window name is one plain line: a NUL used to reach the HTML report.
    with hoeveel.Monitor(sensors=["model"]) as monitor:
        for name, why in [("", "is empty"), ("a\0b", "holds a NUL character"),
                          ("two\nlines", "holds a line break")]:
            with pytest.raises(ValueError, match=f"window name .* {why}"):
                monitor.begin_window(name)
        assert monitor.open_windows == []
    # Every error is a HoeveelError.
    assert issubclass(hoeveel.WindowError, hoeveel.HoeveelError)
    assert issubclass(hoeveel.SensorError, hoeveel.HoeveelError)


def test_the_readme_snippet_runs_as_shown(capsys):
    readme = (REPO / "README.md").read_text()
    blocks = re.findall(r"```python\n(.*?)```", readme, flags=re.S)
    assert blocks, "the README shows a Python snippet"
    exec(compile(blocks[0], "README.md", "exec"), {})
    printed = capsys.readouterr().out
    assert " J in " in printed, printed
