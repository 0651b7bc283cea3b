"""The data side of ``tracekit reports``: raw inputs -> store -> predictions -> CSV results.

Each step prints one progress line with the elapsed time (:class:`StepLog`). Nothing here renders
HTML; :mod:`tracekit.reports.build` strings the steps together.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from tracekit.errors import TracekitError

__all__ = [
    "StepLog",
    "ensure_sample_store",
    "prepare_predictions",
    "prepare_raw",
    "prepare_store",
    "write_findings",
    "write_replay_study",
]

#: Duration models the replay study compares (trained on every trace before the notebooks run).
PREDICTION_MODELS: tuple[str, ...] = ("lgbm", "user-median")


@dataclass
class StepLog:
    """Prints one line per step with the elapsed time, and keeps the timings in seconds."""

    started: float = field(default_factory=time.perf_counter)
    timings: dict[str, float] = field(default_factory=dict)
    quiet: bool = False

    def say(self, message: str) -> None:
        """Print ``[reports  12.3s] message`` (unless quiet)."""
        if not self.quiet:
            print(f"[reports {time.perf_counter() - self.started:6.1f}s] {message}", flush=True)

    def step(self, name: str, message: str) -> float:
        """Announce a step; returns its start time for :meth:`done`."""
        self.say(message)
        return time.perf_counter()

    def done(self, name: str, t0: float) -> None:
        """Record the duration of step ``name`` started at ``t0``."""
        self.timings[name] = round(time.perf_counter() - t0, 2)


def _marker_matches(folder: Path, scale: float | None, seed: int) -> bool:
    marker = folder / "SYNTHETIC.json"
    if not marker.is_file():
        return False
    meta = json.loads(marker.read_text())
    return meta.get("seed") == seed and (scale is None or meta.get("scale") == scale)


def prepare_raw(
    data: str,
    raw: Path,
    sample_dir: Path,
    scale: float | None,
    seed: int,
    traces: Sequence[str],
    log: StepLog,
) -> dict[str, Path]:
    """Locate the raw inputs of each trace: the real downloads or the synthetic sample.

    Parameters
    ----------
    data : {"sample", "real"}
        ``"real"`` reads ``raw/<trace>/`` (from ``tracekit download``); ``"sample"`` generates the
        synthetic sample into ``sample_dir`` when it is missing or was made with another seed or
        scale.

    Raises
    ------
    TracekitError
        ``data`` is neither value, or no real trace is present under ``raw``.
    """
    if data == "real":
        found = {t: raw / t for t in traces if (raw / t).is_dir() and any((raw / t).iterdir())}
        if not found:
            raise TracekitError(
                f"{raw}: no raw traces of {', '.join(traces)} (run `tracekit download` first)"
            )
        return found
    if data != "sample":
        raise TracekitError(f"data must be 'sample' or 'real', got {data!r}")
    from tracekit.sample import generate

    missing = [t for t in traces if not _marker_matches(sample_dir / t, scale, seed)]
    if missing:
        t0 = log.step("sample", f"generating SYNTHETIC sample for {','.join(missing)} (seed {seed})")
        generate(sample_dir, traces=tuple(missing), scale=scale, seed=seed)
        log.done("sample", t0)
    else:
        log.say(f"reusing SYNTHETIC sample in {sample_dir}")
    return {t: sample_dir / t for t in traces}


def prepare_store(raw_paths: dict[str, Path], store: Path, log: StepLog) -> None:
    """Ingest every trace into ``store``; drop other traces so nothing stale mixes in."""
    from tracekit.sources import ingest
    from tracekit.store import drop, read_manifest

    present = {p["trace"] for p in read_manifest(store, missing_ok=True)["partitions"].values()}
    for trace in sorted(present - set(raw_paths)):
        drop(store, trace)
    for trace, path in raw_paths.items():
        t0 = log.step(f"ingest_{trace}", f"ingesting {trace} from {path}")
        ingest(trace, path, store)
        log.done(f"ingest_{trace}", t0)


def ensure_sample_store(
    store: str | Path, scale: float, seed: int, traces: Sequence[str]
) -> Path:
    """Generate and ingest the synthetic sample into ``store`` unless it has those traces.

    The raw sample goes to ``<store>-raw`` beside the store. Used by ``tracekit sweep`` when the
    sweep's TOML asks for the sample.
    """
    from tracekit.sample import generate
    from tracekit.sources import ingest
    from tracekit.store import read_manifest

    store = Path(store)
    present = {p["trace"] for p in read_manifest(store, missing_ok=True)["partitions"].values()}
    missing = [t for t in traces if t not in present]
    if missing:
        raw = store.parent / f"{store.name}-raw"
        generate(raw, traces=missing, scale=scale, seed=seed)
        for trace in missing:
            ingest(trace, raw / trace, store)
    return store


def prepare_predictions(store: Path, traces: Sequence[str], log: StepLog, seed: int) -> None:
    """Train the duration predictors that the replay study compares, on every trace."""
    from tracekit.predict import run_predict

    for trace in traces:
        t0 = log.step(f"predict_{trace}", f"training duration predictors on {trace}")
        for model in PREDICTION_MODELS:
            run_predict(store, trace, model=model, seed=seed)
        log.done(f"predict_{trace}", t0)


def write_findings(store: Path, out: Path) -> Path:
    """Write ``findings.csv``: every finding, published beside measured, with its verdict."""
    from tracekit.analysis import findings_table
    from tracekit.store import open_store

    path = out / "findings.csv"
    tmp = path.with_suffix(".csv.tmp")
    findings_table(open_store(store)).write_csv(tmp)
    tmp.replace(path)
    return path


def write_replay_study(store: Path, out: Path, seed: int) -> Path | None:
    """Write ``replay_study.csv`` (and the per-job ``replay_jobs.parquet``) when tracekit has it.

    The study (every policy and predictor on every trace's clusters) lives in
    ``tracekit.replay.studies``; on an older tracekit without it nothing is written and ``None``
    is returned, so the index links only what exists.
    """
    try:
        from tracekit.replay.studies import replay_study
    except ImportError:
        return None
    from tracekit.store import open_store

    result = replay_study(open_store(store), seed=seed)
    summary, per_job = result if isinstance(result, tuple) else (result, None)
    path = out / "replay_study.csv"
    tmp = path.with_suffix(".csv.tmp")
    summary.write_csv(tmp)
    tmp.replace(path)
    if per_job is not None:
        jobs_path = out / "replay_jobs.parquet"
        per_job.write_parquet(jobs_path.with_suffix(".parquet.tmp"))
        jobs_path.with_suffix(".parquet.tmp").replace(jobs_path)
    return path
