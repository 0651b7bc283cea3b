"""Calibrated synthetic samples of the traces, written in their raw formats.

``generate(out)`` writes ``out/helios/data/<Cluster>/...``, ``out/philly/trace-data/...``,
``out/pai/...`` and ``out/acme/data/job_trace/...`` in the exact formats of the real downloads,
each folder marked with a ``SYNTHETIC.json``; the real readers then ingest them like real data.
``check(path)`` compares a sample (or a store) with the published numbers and the sample's
targets. See docs/sample.md.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from tracekit.sample._common import GENERATOR_VERSION, write_marker
from tracekit.sample.check import check
from tracekit.sources._common import SYNTHETIC_MARKER

# Fraction of the real job counts, per trace, when no scale is given. Helios and Philly at 0.1:
# the scaled clusters (about 100-230 GPUs) are large enough for the published queueing to emerge
# (smaller clusters queue more: docs/sample.md, "Scale"); PAI at 0.04 (42 k jobs, 0.3 M instance
# rows) keeps its ingest short; Acme at 0.04 (about 43 k jobs, written and read in under a second)
# is the smallest scale at which pretraining still holds the largest share of Seren's GPU time.
# Together they keep ``make reports`` within its 2-minute budget.
DEFAULT_SCALES: dict[str, float] = {"philly": 0.1, "helios": 0.1, "pai": 0.04, "acme": 0.04}
DEFAULT_SCALE = DEFAULT_SCALES["helios"]
# Every trace the sample can write; all of them are written when none are named (the traces of
# ``make reports``; the replay study uses the first three).
SAMPLE_TRACES: tuple[str, ...] = ("philly", "helios", "pai", "acme")
DEFAULT_TRACES: tuple[str, ...] = SAMPLE_TRACES

__all__ = [
    "DEFAULT_SCALE",
    "DEFAULT_SCALES",
    "DEFAULT_TRACES",
    "GENERATOR_VERSION",
    "SAMPLE_TRACES",
    "check",
    "generate",
]


def generate(
    out: str | Path,
    traces: Iterable[str] = DEFAULT_TRACES,
    scale: float | None = None,
    seed: int = 7,
) -> dict[str, Any]:
    """Write a calibrated synthetic sample of ``traces`` under ``out``.

    Parameters
    ----------
    out : path
        Output folder; ``out/<trace>/`` is replaced for every generated trace.
    traces : iterable of str
``generate(out)`` writes ``out/helios/data/<Cluster>/...``, ``out/philly/trace-data/...`` and
``out/pai/...`` (with ``traces=(..., "acme")`` also ``out/acme/data/job_trace/...``) in the
exact formats of the real downloads, each folder marked with a ``SYNTHETIC.json``; the real
readers then ingest them like real data. ``check(path)`` compares a sample (or a store) with the
published numbers and the sample's targets. See docs/sample.md.
    scale : float, optional
        Fraction of the real trace's jobs for every trace (default: each trace's
        :data:`DEFAULT_SCALES` entry; 1 = full size).
    seed : int
        Seed; the same seed and scale give byte-identical files.

    Returns
    -------
    dict
        Per trace: a summary (counts, windows, noise ceiling, seconds taken).
    """
    if scale is not None and not 0 < float(scale) <= 1:
        raise ValueError(f"scale must be in (0, 1], got {scale}")
    wanted = list(dict.fromkeys(traces))
    unknown = [t for t in wanted if t not in SAMPLE_TRACES]
    if unknown:
        raise ValueError(f"unknown trace(s) {unknown}; choose from {', '.join(SAMPLE_TRACES)}")
    out = Path(out)
    summary: dict[str, Any] = {"scale": scale, "seed": seed, "version": GENERATOR_VERSION}
    for trace in wanted:
        trace_scale = DEFAULT_SCALES[trace] if scale is None else float(scale)
        folder = out / trace
        if folder.exists():
            # Never delete real data: only an earlier sample (marked) or an empty folder.
            if not (folder / SYNTHETIC_MARKER).is_file() and any(folder.iterdir()):
                raise FileExistsError(
                    f"{folder} exists and is not a synthetic sample (no {SYNTHETIC_MARKER}); "
                    "refusing to overwrite it"
                )
            shutil.rmtree(folder)
        folder.mkdir(parents=True)
        t0 = time.perf_counter()
        if trace == "helios":
            from tracekit.sample.helios import generate_helios

            info = generate_helios(folder, trace_scale, seed)
        elif trace == "philly":
            from tracekit.sample.philly import generate_philly

            info = generate_philly(folder, trace_scale, seed)
        elif trace == "acme":
            from tracekit.sample.acme import generate_acme

            info = generate_acme(folder, trace_scale, seed)
        else:
            from tracekit.sample.pai import generate_pai

            info = generate_pai(folder, trace_scale, seed)
            if not (folder / SYNTHETIC_MARKER).is_file():
                write_marker(folder, "pai", seed, trace_scale, {})
        info["seconds"] = round(time.perf_counter() - t0, 2)
        summary[trace] = info
    return summary
