"""A fake powercap tree whose counters a separate process advances at known
watts, laid out as the kernel lays it out (Documentation/power/powercap), so
the package reads it through the same code as /sys.

The driver runs in its own process so that this test's GIL never delays a
counter update. Counters are rewritten in place with a fixed width, as the
sensor keeps each file open and re-reads it.
"""

import os
import subprocess
import sys
import textwrap
from pathlib import Path

WIDTH = 20

DRIVER = textwrap.dedent(
    """
    import os, sys, time
    zones = []  # (fd, watts, range_uj)
    args = sys.argv[1:]
    for path, watts, range_uj in zip(args[0::3], args[1::3], args[2::3]):
        zones.append((os.open(path, os.O_WRONLY), float(watts), int(range_uj)))
    start = time.monotonic()
    print("ready", flush=True)
    while True:
        elapsed = time.monotonic() - start
        for fd, watts, range_uj in zones:
            value = int(watts * elapsed * 1e6) % (range_uj + 1)
            os.pwrite(fd, b"%020d\\n" % value, 0)
        time.sleep(0.0002)
    """
)


class FakePowercap:
    """`root` is the sysfs root to pass as `sysfs_root`."""

    def __init__(self, root: Path, zones):
        """zones: (dir, name, watts, max_energy_range_uj)."""
        self.root = root
        powercap = root / "class" / "powercap"
        (powercap / "intel-rapl").mkdir(parents=True)
        args = []
        for directory, name, watts, range_uj in zones:
            zone = powercap / directory
            zone.mkdir()
            (zone / "name").write_text(name + "\n")
            (zone / "max_energy_range_uj").write_text(f"{range_uj}\n")
            (zone / "energy_uj").write_text(f"{0:0{WIDTH}d}\n")
            args += [str(zone / "energy_uj"), str(watts), str(range_uj)]
        self.process = subprocess.Popen(
            [sys.executable, "-c", DRIVER, *args], stdout=subprocess.PIPE, text=True
        )
        assert self.process.stdout.readline().strip() == "ready"

    def stop(self):
        self.process.kill()
        self.process.wait()
