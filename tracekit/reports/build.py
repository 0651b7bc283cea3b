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
from tracekit.reports.notebooks import notebook_parameters, notebook_sources, run_notebooks
from tracekit.reports.page import export_page, write_assets
from tracekit.reports.pipeline import (
    StepLog,
    locate_openb,
    prepare_predictions,
    prepare_raw,
    prepare_store,
    write_findings,
    write_openb_placement,
    write_replay_study,
)
from tracekit.sample import SAMPLE_TRACES

__all__ = ["build_pages", "run_all", "run_ingest"]


def run_ingest(
    data: str = "sample",
    store: Path = Path("data/parquet"),
    raw: Path = Path("data/raw"),
    sample_dir: Path = Path("data/sample"),
    scale: float | None = None,
    seed: int = DEFAULT_SEED,
    traces: Sequence[str] = SAMPLE_TRACES,
    log: StepLog | None = None,
    openb: str | Path | None = "auto",
) -> dict[str, Path]:
    """Bring the raw inputs (real or sample) into ``store``; returns trace -> raw folder.

    ``traces`` are sampled (or read from ``raw`` with ``data="real"``); openb, which has no
    sample, is read from its real files wherever :func:`~tracekit.reports.pipeline.locate_openb`
    finds them (``openb="none"`` skips it).
    """
    log = log or StepLog()
    sampled = [t for t in traces if t != "openb"]
    raw_paths = prepare_raw(data, Path(raw), Path(sample_dir), scale, seed, sampled, log)
    folder = locate_openb(openb, Path(raw))
    if folder is not None:
        raw_paths["openb"] = folder
    else:
        log.say("openb: skipped, no openb files (pass --openb PATH)")
    prepare_store(raw_paths, Path(store), log)
    return raw_paths


def _last_timings(out: Path) -> dict[str, float]:
    """Seconds per step of the last run (``timings.json``), or nothing if there is none."""
    try:
        timings = json.loads((out / "timings.json").read_text())
    except (OSError, ValueError):
        return {}
    return {k: v for k, v in timings.items() if isinstance(v, int | float)}


def build_pages(
    store: Path,
    out: Path,
    notebooks: Sequence[str] | None = None,
    seed: int = DEFAULT_SEED,
    workers: int = 2,
    log: StepLog | None = None,
) -> list[Path]:
    """Execute the notebooks against ``store`` and export one page each into ``out``.

    Each notebook shows the traces its own ``traces`` parameter names (all of the store when
    None); its page's banner says which of them are the SYNTHETIC sample and which REAL data.
    Returns the executed notebooks (in ``out/_build``) in page order.
    """
    from tracekit.analysis.summary import data_kinds
    from tracekit.store import open_store

    log = log or StepLog()
    out = Path(out)
    write_assets(out)
    st = open_store(store)
    params = {"store": str(store), "clusters": None, "seed": seed, "results": str(out)}
    executed = run_notebooks(notebook_sources(notebooks), out / "_build", params, workers, log,
                             cost_hint=_last_timings(out))  # fmt: skip
    for nb in executed:
        traces = notebook_parameters(nb).get("traces")
        shown = traces.split(",") if isinstance(traces, str) else traces
        kinds = data_kinds(st, shown)
        export_page(nb, out / f"{nb.stem}.html", bool(kinds["synthetic"]), real=kinds["real"])
    return executed


def _drop_stale(out: Path, *names: str) -> None:
    """Remove results of an earlier run that this run does not produce (never shown as new)."""
    for name in names:
        (out / name).unlink(missing_ok=True)


def run_all(
    data: str = "sample",
    store: Path = Path("data/parquet"),
    out: Path = Path("reports"),
    raw: Path = Path("data/raw"),
    sample_dir: Path = Path("data/sample"),
    scale: float | None = None,
    seed: int = DEFAULT_SEED,
    traces: Sequence[str] = SAMPLE_TRACES,
    notebooks: Sequence[str] | None = None,
    workers: int = 2,
    figures: bool = True,
    quiet: bool = False,
    openb: str | Path | None = "auto",
) -> dict[str, float]:
    """Regenerate ``out``: pages, ``findings.csv``, ``replay_study.csv``,
    ``openb_placement.csv``, PNGs and the index.

    Parameters
    ----------
    traces : sequence of str
        Traces of the synthetic sample (or of ``raw`` with ``data="real"``); default every
        sampled trace (:data:`tracekit.sample.SAMPLE_TRACES`).
    openb : str or path
        openb's real files: ``"auto"`` finds them (see
        :func:`~tracekit.reports.pipeline.locate_openb`), ``"none"`` skips openb, else a folder.

    Returns the step timings in seconds (also written to ``out/timings.json``).
    """
    log = StepLog(quiet=quiet)
    store, out = Path(store), Path(out)
    out.mkdir(parents=True, exist_ok=True)
    raw_paths = run_ingest(data, store, raw, sample_dir, scale, seed, traces, log, openb)
    prepare_predictions(store, list(raw_paths), log, seed)
    t0 = log.step("findings", "writing findings.csv")
    write_findings(store, out)
    log.done("findings", t0)
    t0 = log.step("replay_study", "replaying every policy on every cluster (replay_study.csv)")
    if write_replay_study(store, out, seed) is None:
        log.say("replay study: no trace of the study in the store (skipped)")
        _drop_stale(out, "replay_study.csv", "replay_jobs.parquet")
    log.done("replay_study", t0)
    if "openb" in raw_paths:
        t0 = log.step("openb_placement", "placing openb pods under each placement policy "
                                         "(openb_placement.csv)")  # fmt: skip
        write_openb_placement(store, out, seed)
        log.done("openb_placement", t0)
    else:
        _drop_stale(out, "openb_placement.csv")
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
