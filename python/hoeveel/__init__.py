"""Measure the energy of a block of Python code on real hardware.

hoeveel reads the machine's energy counters (Intel and AMD RAPL through
perf_event or powercap, NVIDIA GPUs through NVML) at the start and end of each
window you name. Where no counter can be read (a VM, a container without
access) it falls back to a labelled power model, and every result says so.

    import time
    import hoeveel

    with hoeveel.measure("sleep") as m:
        time.sleep(0.5)
    print(f"{m.total_j:.2f} J in {m.duration_s:.2f} s ({m.provenance})")

Windows may overlap and nest. Results are plain dataclasses whose field names
carry their units (``total_j``, ``duration_s``). Errors are ``HoeveelError``
subclasses whose ``fix`` attribute names the one command that fixes them.
Nothing here elevates its privileges.
"""

from __future__ import annotations

import atexit
import functools
import threading
from dataclasses import dataclass, field
from typing import Callable, Dict, List, Optional, Sequence, TypeVar

from . import _native
from ._native import HoeveelError, RecordError, SensorError, WindowError

__all__ = [
    "Baseline",
    "Domain",
    "HoeveelError",
    "Measurement",
    "Monitor",
    "RecordError",
    "SensorError",
    "Window",
    "WindowError",
    "default_monitor",
    "measure",
    "track",
]

__version__ = _native.__version__

F = TypeVar("F", bound=Callable)


@dataclass(frozen=True)
class Window:
    """One ended window. Energies are in joules, times in seconds."""

    name: str
    #: Seconds from the monitor's start to the window's begin.
    start_s: float
    duration_s: float
    #: Gross energy of every measured domain (``package-0``, ``dram-0``, ``gpu-0``, ``cpu-model``).
    energy_j: Dict[str, float]
    #: Sum of the domains in the total (see ``Monitor.domains``).
    total_j: float
    #: Total minus the idle baseline's power times the duration; None without a baseline.
    net_j: Optional[float]
    #: ``counter``, ``integrated`` or ``modelled``: how the total was obtained.
    provenance: Optional[str]
    #: Domains whose counter wrapped in the window (corrected).
    wraps_corrected: List[str] = field(default_factory=list)
    #: Domains of the total that stopped being measured during the window.
    incomplete: List[str] = field(default_factory=list)
    #: Domains whose counter was reset during the window.
    undercounted: List[str] = field(default_factory=list)
    #: Set when the window was shorter than the sensors resolve: the shortest they do.
    min_window_s: Optional[float] = None
    #: Everything a reader of this figure should know, one sentence each.
    warnings: List[str] = field(default_factory=list)

    @property
    def modelled(self) -> bool:
        """True when the total is estimated from a power model, not measured."""
        return self.provenance == "modelled"

    @property
    def too_short(self) -> bool:
        return self.min_window_s is not None

    @property
    def mean_power_w(self) -> float:
        return self.total_j / self.duration_s if self.duration_s > 0 else float("nan")


@dataclass(frozen=True)
class Baseline:
    """The idle power measured before the windows, for net energy."""

    duration_s: float
    power_w: Dict[str, float]
    total_power_w: float
    #: Spread of the total power over the baseline's slices; None with fewer than three.
    total_power_sd_w: Optional[float]
    #: Share of all CPUs (0 to 1) other processes used during the baseline.
    other_cpu_share: Optional[float]


@dataclass(frozen=True)
class Domain:
    """A measured domain and whether it counts in the total."""

    id: str
    kind: str
    sensor: str
    provenance: str
    in_total: bool
    reason: str


class Measurement:
    """The handle a ``with`` block gets. After the block, ``window`` holds the
    result and its fields read through (``m.total_j``)."""

    def __init__(self, monitor: "Monitor", name: str):
        self._monitor = monitor
        self.name = name
        self.window: Optional[Window] = None

    def __enter__(self) -> "Measurement":
        self._monitor.begin_window(self.name)
        return self

    def __exit__(self, exc_type, exc, tb) -> bool:
        # The window ends whether the block raised or not; an exception from the
        # block is never swallowed.
        self.window = self._monitor.end_window(self.name)
        return False

    def __getattr__(self, attribute: str):
        window = self.__dict__.get("window")
        if window is None:
            raise AttributeError(
                f"{attribute}: the window `{self.name}` has not ended yet"
            )
        return getattr(window, attribute)

    def __repr__(self) -> str:
        return f"Measurement({self.name!r}, window={self.window!r})"


class Monitor:
    """Measures named windows with the sensors it discovers once.

    ``sensors``: names to use exactly (``rapl-perf``, ``rapl-powercap``, ``nvml``,
    ``model``); default: the best available. ``sysfs_root``: where sysfs is (a
    container with the host's /sys mounted elsewhere). ``nvml_library``: a
    libnvidia-ml.so to load instead of the system's. ``total``: ``package``
    (package + DRAM + GPUs) or ``psys`` (the platform). ``baseline_s``: measure
    the idle power first, so windows get a net energy. ``record``: write a
    record (JSON Lines) that ``hoeveel report`` reads, one entry per window name.
    """

    def __init__(
        self,
        sensors: Optional[Sequence[str]] = None,
        sysfs_root: str = "/sys",
        nvml_library: Optional[str] = None,
        total: str = "package",
        baseline_s: Optional[float] = None,
        record: Optional[str] = None,
        interval_s: float = 0.5,
        proc_root: str = "/proc",
        label: Optional[str] = None,
    ):
        self._native = _native.Monitor(
            sensors=list(sensors) if sensors is not None else None,
            sysfs_root=str(sysfs_root),
            nvml_library=str(nvml_library) if nvml_library is not None else None,
            total=total,
            interval_s=interval_s,
            proc_root=str(proc_root),
            record=str(record) if record is not None else None,
            label=label,
        )
        self.baseline: Optional[Baseline] = None
        if baseline_s is not None:
            self.measure_baseline(baseline_s)

    def measure_baseline(self, duration_s: float) -> Baseline:
        """Measures the idle power for ``duration_s``; windows ended after it get ``net_j``."""
        self.baseline = Baseline(**self._native.measure_baseline(float(duration_s)))
        return self.baseline

    def begin_window(self, name: str) -> None:
        self._native.begin(name)

    def end_window(self, name: str) -> Window:
        return Window(**self._native.end(name))

    def measure(self, name: str) -> Measurement:
        """A context manager: ``with monitor.measure("step") as m: ...``."""
        return Measurement(self, name)

    def track(self, name: Optional[str] = None) -> Callable[[F], F]:
        """A decorator that measures every call of a function; the last result
        is the function's ``last_window`` attribute."""
        return _tracker(lambda: self, name)

    @property
    def domains(self) -> List[Domain]:
        return [Domain(**d) for d in self._native.domains()]

    @property
    def modelled(self) -> bool:
        """True when a domain in the total is modelled rather than measured."""
        return self._native.is_modelled()

    @property
    def unavailable(self) -> List[tuple]:
        """Sensors looked for and not usable: (sensor, reason, fix)."""
        return self._native.unavailable()

    @property
    def open_windows(self) -> List[str]:
        return self._native.open_windows()

    def close(self) -> None:
        """Stops measuring and finishes the record. Safe to call twice."""
        self._native.close()

    def __enter__(self) -> "Monitor":
        return self

    def __exit__(self, exc_type, exc, tb) -> bool:
        self.close()
        return False


_default: Optional[Monitor] = None
_default_lock = threading.Lock()


def default_monitor() -> Monitor:
    """The monitor ``measure`` and ``track`` use: the machine's best sensors,
    started on first use and closed when Python exits."""
    global _default
    with _default_lock:
        if _default is None:
            _default = Monitor()
            atexit.register(_default.close)
        return _default


def measure(name: str) -> Measurement:
    """``with hoeveel.measure("name") as m:`` on the default monitor."""
    return Measurement(default_monitor(), name)


def track(name_or_function=None):
    """A decorator on the default monitor: ``@hoeveel.track`` or
    ``@hoeveel.track("name")``. Each call is a window named after the function
    (or ``name``); the last result is the function's ``last_window``."""
    if callable(name_or_function):
        return _tracker(default_monitor, None)(name_or_function)
    return _tracker(default_monitor, name_or_function)


def _tracker(monitor: Callable[[], Monitor], name: Optional[str]) -> Callable[[F], F]:
    def decorate(function: F) -> F:
        window_name = name or function.__qualname__

        @functools.wraps(function)
        def wrapper(*args, **kwargs):
            with monitor().measure(window_name) as m:
                result = function(*args, **kwargs)
            wrapper.last_window = m.window
            return result

        wrapper.last_window = None
        return wrapper  # type: ignore[return-value]

    return decorate
