"""Shared helpers for the benchmarks: machine description, peak memory, result records."""

from __future__ import annotations

import json
import os
import platform
import resource
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import psutil

RESULTS = Path(__file__).parent / "results"


def machine() -> str:
    """One line naming the machine the figures were measured on."""
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as fh:
            names = [ln.split(":", 1)[1].strip() for ln in fh if ln.startswith("model name")]
        cpu = names[0] if names else cpu
    except OSError:
        pass
    mem_gb = psutil.virtual_memory().total / 2**30
    return (
        f"{cpu}; {os.cpu_count()} cores; {mem_gb:.0f} GiB RAM; Python {platform.python_version()}"
    )


def _children_uss(proc: psutil.Process) -> int:
    """Unique memory (bytes) of the children: forked workers share the parent's pages
    copy-on-write, so their USS is what they add."""
    total = 0
    for child in proc.children(recursive=True):
        try:
            total += child.memory_full_info().uss
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            pass
    return total


@contextmanager
def peak_rss() -> Iterator[dict[str, float]]:
    """Measure the peak memory (GB) of this process and its children during the block, by
    sampling: this process's RSS every 50 ms, the children's USS every 0.5 s (reading a
    process's smaps costs ~15 ms per GB, which would steal a core from the workers if done at
    20 Hz)."""
    proc = psutil.Process()
    box = {"peak_gb": proc.memory_info().rss / 2**30}
    stop = threading.Event()

    def sample() -> None:
        children, tick = 0, 0
        while not stop.is_set():
            if tick % 10 == 0:
                children = _children_uss(proc)
            tick += 1
            box["peak_gb"] = max(box["peak_gb"], (proc.memory_info().rss + children) / 2**30)
            stop.wait(0.05)

    t = threading.Thread(target=sample, daemon=True)
    t.start()
    try:
        yield box
    finally:
        stop.set()
        t.join()
        box["peak_gb"] = max(box["peak_gb"], proc.memory_info().rss / 2**30)


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    """Wall-clock seconds of ``fn()`` and its result."""
    t0 = time.perf_counter()
    out = fn()
    return time.perf_counter() - t0, out


def max_rss_gb() -> float:
    """Lifetime peak RSS of this process (ru_maxrss), in GB."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20


def report(topic: str, rows: list[dict[str, Any]]) -> None:
    """Print a table of figures and append them as JSON lines to results/<topic>.json."""
    stamp = time.strftime("%Y-%m-%dT%H:%M:%S")
    print(f"\n== {topic} — {machine()}")
    print(
        f"{'figure':40} {'goal':>10} {'measured':>10} {'baseline':>10} {'ratio':>8} {'peak GB':>8}"
    )
    for r in rows:
        print(
            f"{r['figure']:40} {r.get('goal', ''):>10} {r['measured_s']:>10.2f} "
            f"{r.get('baseline_s', float('nan')):>10.2f} {r.get('ratio', float('nan')):>8.1f} "
            f"{r.get('peak_gb', float('nan')):>8.2f}  {'OK' if r.get('ok') else 'MISS'}"
        )
    RESULTS.mkdir(exist_ok=True)
    with open(RESULTS / f"{topic}.json", "a") as fh:
        for r in rows:
            fh.write(json.dumps({"time": stamp, "machine": machine(), **r}) + "\n")
