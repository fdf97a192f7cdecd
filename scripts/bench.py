#!/usr/bin/env python3
"""The performance table of the README, measured in one sitting; asserts nothing.

Run through `scripts/bench`, which builds the release binaries and installs
CodeCarbon, pandas and llama-cpp-python into virtual environments first.

Steady-state CPU is differenced between two run lengths (the agent's own CPU
from its record, CodeCarbon's process CPU time), so start-up is not counted as
steady state; start-up is printed on its own. Each figure is the median of
--repeat tries.
"""

import argparse
import atexit
import json
import os
import platform
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

RAPL_SCALE = "2.3283064365386962890625e-10"


def run(cmd, **kw):
    return subprocess.run(cmd, check=True, capture_output=True, text=True, **kw)


def record_events(path: Path):
    """The events of a record; the time series (bare arrays) is left out."""
    return events_and_samples(path)[0]


def events_and_samples(path: Path):
    """A record's events, and how many samples its time series holds."""
    events, samples = [], 0
    for line in path.read_text().splitlines():
        if line.startswith("["):
            samples += 1
        elif line.strip():
            events.append(json.loads(line))
    return events, samples


def agent_cpu_s(agent, sensor_args, interval, seconds, work):
    rec = work / "cpu.jsonl"
    run([agent, "run", "--interval", interval, "--runs", "1", "--warmup", "0",
         "--baseline", "0", "--no-progress", "-o", str(rec), *sensor_args,
         "--", "sleep", str(seconds)])
    for e in record_events(rec):
        if e["type"] == "run_end":
            return e["data"]["agent_cpu_s"]
    raise RuntimeError("no run_end")


def steady(measure, short_s, long_s, repeat):
    """Median steady-state share of a core (%) and start-up CPU (ms)."""
    shares, startups = [], []
    for _ in range(repeat):
        a, b = measure(short_s), measure(long_s)
        slope = (b - a) / (long_s - short_s)
        shares.append(slope * 100)
        startups.append(max(a - slope * short_s, 0.0) * 1e3)
    return statistics.median(shares), statistics.median(startups)


def powercap_tree(root: Path):
    zone = root / "class" / "powercap" / "intel-rapl:0"
    zone.mkdir(parents=True)
    (root / "class" / "powercap" / "intel-rapl").mkdir()
    (zone / "name").write_text("package-0\n")
    (zone / "max_energy_range_uj").write_text("262143328850\n")
    (zone / "energy_uj").write_text("123456789\n")


def perf_tree(root: Path):
    """A `power` PMU whose event is the kernel's software cpu-clock, opened
    system-wide as RAPL is (needs root or CAP_PERFMON)."""
    pmu = root / "bus" / "event_source" / "devices" / "power"
    (pmu / "events").mkdir(parents=True)
    (pmu / "format").mkdir()
    software = Path("/sys/bus/event_source/devices/software/type")
    (pmu / "type").write_text(software.read_text() if software.exists() else "1\n")
    (pmu / "cpumask").write_text("0\n")
    (pmu / "format" / "event").write_text("config:0-63\n")
    (pmu / "events" / "energy-pkg").write_text("event=0x00\n")
    (pmu / "events" / "energy-pkg.scale").write_text(RAPL_SCALE + "\n")
    (pmu / "events" / "energy-pkg.unit").write_text("Joules\n")
    topo = root / "devices" / "system" / "cpu" / "cpu0" / "topology"
    topo.mkdir(parents=True)
    (topo / "physical_package_id").write_text("0\n")


CODECARBON = r"""
import sys, time, logging
from codecarbon import OfflineEmissionsTracker
iv, d = float(sys.argv[1]), float(sys.argv[2])
c0 = time.process_time()
tracker = OfflineEmissionsTracker(country_iso_code="NLD", measure_power_secs=iv,
                                  save_to_file=False, log_level="error")
tracker.start()
time.sleep(d)
tracker.stop()
print(time.process_time() - c0)
"""


def codecarbon_cpu_s(python, interval_s, seconds):
    return float(run([python, "-c", CODECARBON, str(interval_s), str(seconds)]).stdout.split()[-1])


def peak(cmd, tries=3, **kw):
    """Median wall seconds and largest peak resident MiB (GNU time) of a
    command over `tries` runs, after one untimed run that warms the page cache
    and the binary, as a user reading a record twice would find it."""
    walls, kibs = [], []
    for i in range(tries + 1):
        t0 = time.perf_counter()
        res = subprocess.run(["/usr/bin/time", "-f", "%M", *cmd], stdout=subprocess.DEVNULL,
                             stderr=subprocess.PIPE, text=True, **kw)
        wall = time.perf_counter() - t0
        if res.returncode != 0:
            raise RuntimeError(f"{cmd[0]} failed: {res.stderr[-500:]}")
        if i:
            walls.append(wall)
            kibs.append(int(res.stderr.strip().splitlines()[-1]))
    return statistics.median(walls), max(kibs) / 1024


def million_sample_record(agent, work, samples):
    """A record as the agent writes it (schema 2.0: compact samples), with
    `samples` samples at 1 kHz, and the same samples as CSV and as JSON Lines
    for pandas."""
    small = work / "small.jsonl"
    run([agent, "run", "--runs", "2", "--warmup", "0", "--baseline", "0", "--no-progress",
         "--no-samples", "-o", str(small), "--", "true"])
    events = [l for l in small.read_text().splitlines() if l.strip()]
    start, rest = events[0], events[1:]
    domain = json.loads(start)["data"]["domains"][0]["id"]
    big, csv, jsonl = work / "million.jsonl", work / "million.csv", work / "million-samples.jsonl"
    with big.open("w") as f, csv.open("w") as c, jsonl.open("w") as j:
        f.write(start + "\n")
        c.write(f"t_s,phase,repetition,{domain}\n")
        for i in range(samples):
            t = round(0.001 * (i + 1), 9)
            w = round(4.0 + (i % 97) * 0.0123457, 6)
            phase = "repetition" if i % 10 else "between"
            rep = "" if phase == "between" else str(i // 1000)
            f.write(f"[{t},{w}]\n")
            c.write(f"{t},{phase},{rep},{w}\n")
            j.write(f'{{"t_s":{t},"phase":"{phase}","repetition":{rep or "null"},"{domain}":{w}}}\n')
        for l in rest:
            f.write(l + "\n")
    return big, csv, jsonl


PANDAS = r"""
import sys, pandas as pd
kind, path = sys.argv[1], sys.argv[2]
if kind == "csv":
    df = pd.read_csv(path)
    print(df.groupby("phase").mean(numeric_only=True).shape)
else:
    df = pd.read_json(path, lines=True)
    print(df.groupby("phase").mean(numeric_only=True).shape)
"""


def llm_run(agent, interval, threads, tokens, prompt, sensor_args, work):
    """One agent run: its median decode tokens/s, the agent's own share of a
    core over it in % (its sampler and main thread; the model's threads are
    not counted), and the samples it wrote per second."""
    rec = work / "llm.jsonl"
    run([agent, "llm", "--interval", interval, "--runs", "3", "--warmup", "1",
         "--baseline", "0", "--threads", str(threads), "--max-tokens", str(tokens),
         "--prompt", prompt, "--no-progress", "-o", str(rec), *sensor_args])
    events, samples = events_and_samples(rec)
    rates = [e["data"]["metrics"].get("tokens_per_s") for e in events
             if e["type"] == "repetition" and not e["data"]["warmup"]]
    end = next(e["data"] for e in events if e["type"] == "run_end")
    return (statistics.median([r for r in rates if r]),
            end["agent_cpu_s"] / end["duration_s"] * 100, samples / end["duration_s"])


def decode_slowdowns(a, variants, prompt, work):
    """Decode speed under 1 ms sampling against 1 s, per variant (model
    threads, sensor arguments), over interleaved pairs: each round runs one
    pair of every variant, and the order within a pair alternates, so that a
    machine drifting in speed (a shared VM, heat) moves all sides alike. Per
    variant: the median of the paired differences (%) and its bootstrap
    interval, then the medians of tokens/s at 1 s, of the agent's share of a
    core (%) and of its samples per second under 1 ms."""
    pairs = [[] for _ in variants]  # per variant: (diff %, tokens/s at 1 s, agent %, samples/s)
    for n in range(a.llm_pairs):
        for (threads, args), got in zip(variants, pairs):
            order = ["1s", "1ms"] if n % 2 == 0 else ["1ms", "1s"]
            by_interval = {iv: llm_run(a.agent, iv, threads, a.llm_tokens, prompt, args, work)
                           for iv in order}
            (tokens_per_s_1s, _, _), (tokens_per_s_1ms, agent_pct, samples_per_s) = \
                by_interval["1s"], by_interval["1ms"]
            got.append(((tokens_per_s_1ms / tokens_per_s_1s - 1) * 100, tokens_per_s_1s,
                        agent_pct, samples_per_s))
    out = []
    for got in pairs:
        diffs, tokens_per_s_1s, agent_pct, samples_per_s = (list(c) for c in zip(*got))
        out.append((statistics.median(diffs), *median_ci(diffs), statistics.median(tokens_per_s_1s),
                    statistics.median(agent_pct), statistics.median(samples_per_s)))
    return out


def median_ci(values, level=0.95, resamples=4000):
    """Percentile-bootstrap interval of the median (fixed seed: the same data
    give the same interval)."""
    rng = random.Random(0)
    meds = sorted(statistics.median(rng.choices(values, k=len(values))) for _ in range(resamples))
    return meds[int((1 - level) / 2 * resamples)], meds[int((1 + level) / 2 * resamples) - 1]


LLAMA_PY = r"""
import sys, time
from llama_cpp import Llama
path, threads, tokens, prompt = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
llm = Llama(model_path=path, n_threads=threads, n_ctx=2048, seed=42, verbose=False)
rates = []
for i in range(4):
    first = last = None; n = 0
    for chunk in llm.create_chat_completion([{"role": "user", "content": prompt}],
                                            max_tokens=tokens, temperature=0.0, stream=True):
        if chunk["choices"][0]["delta"].get("content"):
            now = time.perf_counter(); n += 1
            first = first or now; last = now
    if i > 0 and n > 1:
        rates.append((n - 1) / (last - first))
rates.sort(); print(rates[len(rates) // 2])
"""


WAKE_C = r"""
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
static double cpu(void) { struct timespec t; clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t); return t.tv_sec + t.tv_nsec * 1e-9; }
int main(int argc, char **argv) {
    long ns = atol(argv[1]); int n = atoi(argv[2]);
    struct timespec d = { ns / 1000000000, ns % 1000000000 };
    double a = cpu();
    for (int i = 0; i < n; i++) nanosleep(&d, 0);
    printf("%f\n", (cpu() - a) / n * 1e6);
    return 0;
}
"""


def wake_up_cost_us(work, period_ns, n):
    """CPU one bare timer wake-up costs this thread: the floor under any sampler."""
    src, exe = work / "wake.c", work / "wake"
    src.write_text(WAKE_C)
    run(["cc", "-O2", "-o", str(exe), str(src)])
    return float(run([str(exe), str(period_ns), str(n)]).stdout)


def machine():
    cpu = "unknown CPU"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    virt = subprocess.run(["systemd-detect-virt"], capture_output=True, text=True).stdout.strip() \
        if shutil.which("systemd-detect-virt") else "?"
    return f"{cpu}, {os.cpu_count()} logical CPUs, Linux {platform.release()}, virtualisation: {virt or 'none'}"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--agent", required=True)
    ap.add_argument("--hoeveel", required=True)
    ap.add_argument("--codecarbon-python", required=True)
    ap.add_argument("--llama-python")
    ap.add_argument("--model", help="the GGUF both engines decode")
    ap.add_argument("--short-s", type=float, default=3.0)
    ap.add_argument("--long-s", type=float, default=15.0)
    ap.add_argument("--repeat", type=int, default=2)
    ap.add_argument("--samples", type=int, default=1_000_000)
    ap.add_argument("--threads", type=int, default=0,
                    help="model threads for the decode figures (default: one per CPU)")
    ap.add_argument("--llm-pairs", type=int, default=15)
    ap.add_argument("--llm-tokens", type=int, default=128)
    ap.add_argument("--only", default="cpu,wake,exec,decode,record",
                    help="comma-separated parts to measure: cpu, wake, exec, decode, record")
    a = ap.parse_args()
    only = set(a.only.split(","))
    rows = []
    work = Path(tempfile.mkdtemp(prefix="hoeveel-bench-", dir="/dev/shm" if Path("/dev/shm").is_dir() else None))
    # In memory when /dev/shm is there: the records and CSV take some 150 MB.
    atexit.register(shutil.rmtree, work, True)

    def row(figure, ours, codecarbon="—", note=""):
        rows.append((figure, ours, codecarbon, note))
        print(f"  {figure}: {ours} | CodeCarbon {codecarbon} {note}", file=sys.stderr, flush=True)

    pc, perf = work / "powercap", work / "perf"
    powercap_tree(pc)
    perf_tree(perf)
    kinds = [
        ("model sensor", ["--sensors", "model"]),
        ("powercap tree (tmpfs)", ["--sysfs-root", str(pc), "--sensors", "rapl-powercap"]),
        ("perf, software PMU", ["--sysfs-root", str(perf), "--sensors", "rapl-perf"]),
    ]
    for hz, interval, cc_interval in [(10, "100ms", 0.1), (100, "10ms", 0.01), (1000, "1ms", 0.001)] if "cpu" in only else []:
        for name, args in kinds:
            try:
                core_pct, startup_ms = steady(
                    lambda d: agent_cpu_s(a.agent, args, interval, d, work),
                    a.short_s, a.long_s, a.repeat)
                ours = f"{core_pct:.3f}% of a core (start-up {startup_ms:.1f} ms)"
            except subprocess.CalledProcessError as e:
                ours = "n/a: " + (e.stderr.strip().splitlines() or ["failed"])[-1][:80]
            cc = "—"
            if name == "model sensor":
                try:
                    cc_core_pct, _ = steady(lambda d: codecarbon_cpu_s(a.codecarbon_python, cc_interval, d),
                                         a.short_s, a.long_s, a.repeat)
                    cc = f"{cc_core_pct:.3f}%"
                except subprocess.CalledProcessError as e:
                    cc = "failed: " + e.stderr.strip()[-80:]
            row(f"agent CPU measuring `sleep`, {hz} Hz, {name}", ours, cc)

    for hz, n in [(10, 50), (100, 300), (1000, 3000)] if "wake" in only else []:
        us = wake_up_cost_us(work, 1_000_000_000 // hz, n)
        row(f"one bare timer wake-up (nanosleep) at {hz} Hz, this machine", f"{us:.1f} µs CPU each = {us * hz / 1e4:.3f}% of a core", "—",
            "the floor under any sampler at that rate")

    if "exec" in only:
        # exec to exit around an empty workload, and the first sample.
        walls = []
        for _ in range(5):
            t0 = time.perf_counter()
            run([a.agent, "run", "--runs", "1", "--warmup", "0", "--baseline", "0", "--no-progress",
                 "-o", str(work / "empty.jsonl"), "--", "true"])
            walls.append(time.perf_counter() - t0)
        run([a.agent, "run", "--interval", "1ms", "--runs", "1", "--warmup", "0", "--baseline", "0",
             "--no-progress", "-o", str(work / "first.jsonl"), "--", "sleep", "0.1"])
        first = next(json.loads(l)[0] for l in (work / "first.jsonl").read_text().splitlines()
                     if l.startswith("["))
        cc_walls = []
        for _ in range(3):
            t0 = time.perf_counter()
            run([a.codecarbon_python, "-c", CODECARBON, "1", "0"])
            cc_walls.append(time.perf_counter() - t0)
        row("exec to exit around an empty workload", f"{statistics.median(walls):.3f} s; first sample {first * 1e3:.1f} ms after the run clock starts (1 ms interval)",
            f"{statistics.median(cc_walls):.2f} s")

    if a.model and "decode" in only:
        prompt = "What is a life cycle assessment?"
        cpus = os.cpu_count() or 1
        # With as many model threads as CPUs, every CPU the agent takes is taken
        # from a model thread, and the others wait for it at the next barrier;
        # with one CPU left free, the agent can run there.
        all_cpus = a.threads or cpus
        # The CPU model changes every 10 ms, so under `--interval 1ms` it is
        # read at 100 Hz; RAPL (here the powercap tree on tmpfs) every 1 ms.
        variants = [(all_cpus, "model sensor", kinds[0][1]),
                    (all_cpus, "powercap tree (tmpfs)", kinds[1][1])]
        if all_cpus > 1:
            variants.append((all_cpus - 1, "model sensor", kinds[0][1]))
        results = decode_slowdowns(a, [(t, args) for t, _, args in variants], prompt, work)
        for (threads, sensor, _), (med, lo, hi, tokens_per_s_1s, agent_pct, samples_per_s) in zip(variants, results):
            row(f"LLM decode under the agent, 1 ms vs 1 s sampling, {sensor}, {threads} model thread(s) on {cpus} CPUs",
                f"median {med:+.1f}% over {a.llm_pairs} interleaved pairs "
                f"(95% CI {lo:+.1f}% to {hi:+.1f}%; {tokens_per_s_1s:.1f} tokens/s at 1 s)", "—",
                f"agent at 1 ms: {agent_pct:.2f}% of a core, {samples_per_s:.0f} samples/s")
        if a.llama_python:
            # Interleaved too: hoeveel at 1 s sampling, then llama-cpp-python.
            ours, refs = [], []
            for _ in range(3):
                ours.append(llm_run(a.agent, "1s", all_cpus, a.llm_tokens, prompt, kinds[0][1], work)[0])
                refs.append(float(run([a.llama_python, "-c", LLAMA_PY, a.model, str(all_cpus),
                                       str(a.llm_tokens), prompt]).stdout.split()[-1]))
            mine, ref = statistics.median(ours), statistics.median(refs)
            row("in-process decode: hoeveel (llama.cpp) vs llama-cpp-python, same GGUF, threads, prompt, token count, greedy",
                f"{mine:.1f} vs {ref:.1f} tokens/s ({statistics.median(o / r - 1 for o, r in zip(ours, refs)) * 100:+.1f}%, median of 3 interleaved pairs)")

    if "record" in only:
        big, csv, jsonl = million_sample_record(a.agent, work, a.samples)
        size_mb = big.stat().st_size / 1e6
        wall, mib = peak([a.hoeveel, "report", str(big)])
        pw_csv, pm_csv = peak([a.codecarbon_python, "-c", PANDAS, "csv", str(csv)])
        pw_json, pm_json = peak([a.codecarbon_python, "-c", PANDAS, "json", str(jsonl)])
        hw, hmib = peak([a.hoeveel, "report", "--html", str(work / "r.html"), str(big)])
        row(f"{a.samples:,}-sample record (one domain): size", f"{size_mb:.0f} MB")
        row("`hoeveel report` on it: time, peak memory", f"{wall:.2f} s, {mib:.0f} MiB (with the HTML power chart: {hw:.2f} s, {hmib:.0f} MiB)", "—",
            f"pandas read_csv + groupby: {pw_csv:.2f} s, {pm_csv:.0f} MiB; read_json(lines=True): {pw_json:.2f} s, {pm_json:.0f} MiB")

    print(f"\nMachine: {machine()}; {time.strftime('%Y-%m-%d')}; command: scripts/bench\n")
    print("| figure | hoeveel | CodeCarbon 3.3.2 | note |")
    print("|---|---|---|---|")
    for r in rows:
        print("| " + " | ".join(r) + " |")


if __name__ == "__main__":
    main()
