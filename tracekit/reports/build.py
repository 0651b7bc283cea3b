"""``tracekit reports``: data -> store -> predictions -> notebooks -> pages, CSVs, PNGs, index."""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Sequence
from pathlib import Path

from tracekit.cli._common import DEFAULT_SEED
from tracekit.reports.figures import chromium_path, write_static_figures
from tracekit.reports.index import report_card, write_index
from tracekit.reports.notebooks import notebook_sources, run_notebooks
from tracekit.reports.page import export_page, write_assets
from tracekit.reports.pipeline import (
    StepLog,
    prepare_predictions,
    prepare_raw,
    prepare_store,
    write_findings,
    write_replay_study,
)
from tracekit.schema import TRACES

__all__ = ["build_pages", "run_all", "run_ingest"]


def run_ingest(
    data: str = "sample",
    store: Path = Path("data/parquet"),
    raw: Path = Path("data/raw"),
    sample_dir: Path = Path("data/sample"),
    scale: float | None = None,
    seed: int = DEFAULT_SEED,
    traces: Sequence[str] = TRACES,
    log: StepLog | None = None,
) -> dict[str, Path]:
    """Bring the raw inputs (real or sample) into ``store``; returns trace -> raw folder."""
    log = log or StepLog()
    raw_paths = prepare_raw(data, Path(raw), Path(sample_dir), scale, seed, traces, log)
    prepare_store(raw_paths, Path(store), log)
    return raw_paths


def build_pages(
    store: Path,
    out: Path,
    notebooks: Sequence[str] | None = None,
    seed: int = DEFAULT_SEED,
    workers: int = 2,
    log: StepLog | None = None,
) -> list[Path]:
    """Execute the notebooks against ``store`` and export one page each into ``out``.

    Returns the executed notebooks (in ``out/_build``) in page order.
    """
    from tracekit.store import open_store

    log = log or StepLog()
    out = Path(out)
    write_assets(out)
    synthetic = open_store(store).is_synthetic()
    params = {"store": str(store), "traces": None, "clusters": None, "seed": seed,
              "results": str(out)}  # fmt: skip
    executed = run_notebooks(notebook_sources(notebooks), out / "_build", params, workers, log)
    for nb in executed:
        export_page(nb, out / f"{nb.stem}.html", synthetic)
    return executed


def run_all(
    data: str = "sample",
    store: Path = Path("data/parquet"),
    out: Path = Path("reports"),
    raw: Path = Path("data/raw"),
    sample_dir: Path = Path("data/sample"),
    scale: float | None = None,
    seed: int = DEFAULT_SEED,
    traces: Sequence[str] = TRACES,
    notebooks: Sequence[str] | None = None,
    workers: int = 2,
    figures: bool = True,
    quiet: bool = False,
) -> dict[str, float]:
    """Regenerate ``out``: pages, ``findings.csv``, ``replay_study.csv``, PNGs and the index.

    Returns the step timings in seconds (also written to ``out/timings.json``).
    """
    log = StepLog(quiet=quiet)
    store, out = Path(store), Path(out)
    out.mkdir(parents=True, exist_ok=True)
    raw_paths = run_ingest(data, store, raw, sample_dir, scale, seed, traces, log)
    prepare_predictions(store, list(raw_paths), log, seed)
    t0 = log.step("findings", "writing findings.csv")
    write_findings(store, out)
    log.done("findings", t0)
    t0 = log.step("replay_study", "replaying every policy (replay_study.csv)")
    if write_replay_study(store, out, seed) is None:
        log.say("replay study: this tracekit has no tracekit.replay.studies (skipped)")
    log.done("replay_study", t0)
    executed = build_pages(store, out, notebooks, seed, workers, log)
    if figures and chromium_path() is not None:
        t0 = log.step("figures", "exporting static PNG figures (kaleido + chromium)")
        write_static_figures(store, out)
        log.done("figures", t0)
    elif figures:
        log.say("SKIPPED static PNG figures: no chromium on PATH (apt-get install chromium)")
    cards = [report_card(nb) for nb in executed]
    log.timings["total"] = round(time.perf_counter() - log.started, 1)
    write_index(store, out, cards, log.timings)
    shutil.rmtree(out / "_build", ignore_errors=True)
    log.say(f"done: {out / 'index.html'}")
    (out / "timings.json").write_text(json.dumps(log.timings, indent=2))
    return log.timings
