"""The data side of ``tracekit reports``: raw inputs -> store -> predictions -> CSV results.

Each step prints one progress line with the elapsed time (:class:`StepLog`). Nothing here renders
HTML; :mod:`tracekit.reports.build` strings the steps together.

Inputs: the synthetic sample (or the real downloads) of :data:`tracekit.sample.SAMPLE_TRACES`,
and openb's real files whenever :func:`locate_openb` finds them (openb has no sample: its files
are small and public). Results written beside the pages: ``findings.csv``, ``replay_study.csv``
(and its per-job ``replay_jobs.parquet``) and ``openb_placement.csv``.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from tracekit.errors import TracekitError
from tracekit.replay.results import write_frame_atomic

__all__ = [
    "OPENB_CLUSTERS",
    "REPLAY_TRACES",
    "StepLog",
    "ensure_sample_store",
    "locate_openb",
    "prepare_predictions",
    "prepare_raw",
    "prepare_store",
    "write_findings",
    "write_openb_placement",
    "write_replay_study",
]

#: Duration models the replay study compares (trained before the notebooks run).
PREDICTION_MODELS: tuple[str, ...] = ("lgbm", "user-median")
#: Traces the replay study replays: those the published scheduler studies replayed (Helios and
#: its artifact's Philly replay, the PAI simulator). openb's pods are replayed by the placement
#: study instead, and Acme publishes no cluster capacity to replay on.
REPLAY_TRACES: tuple[str, ...] = ("philly", "helios", "pai")
#: openb pod lists the reports read: the production list, and the variant whose GPU-model
#: constraints finding OB2 measures.
OPENB_CLUSTERS: tuple[str, ...] = ("default", "gpuspec33")
#: Where project machines keep the real openb files: ``shared/real/openb`` in the first folder
#: above the checkout that has one.
CHECKOUT_OPENB = Path("shared") / "real" / "openb"


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


def _marker_matches(folder: Path, trace: str, scale: float | None, seed: int) -> bool:
    """True when ``folder`` holds the sample this run would generate: same generator version,
    seed and scale (the trace's default scale when ``scale`` is None)."""
    from tracekit.sample import DEFAULT_SCALES, GENERATOR_VERSION
    from tracekit.sources._common import SYNTHETIC_MARKER

    marker = folder / SYNTHETIC_MARKER
    if not marker.is_file():
        return False
    meta = json.loads(marker.read_text())
    want = DEFAULT_SCALES.get(trace) if scale is None else scale
    return (
        meta.get("generator_version") == GENERATOR_VERSION
        and meta.get("seed") == seed
        and meta.get("scale") == want
    )


def locate_openb(openb: str | Path | None, raw: Path) -> Path | None:
    """The folder of real openb files the reports read, or None to skip the openb report.

    Parameters
    ----------
    openb : str or path, optional
        ``"auto"`` (or None): ``raw/openb`` when it holds the openb node list, else the real files
        project machines keep beside the checkout (``shared/real/openb`` in the first folder
        above it that has one), else None.
        ``"none"``: skip openb. Any other value: that folder, which must hold the files.
    raw : path
        The real raw traces' folder (``--raw``).

    Raises
    ------
    TracekitError
        An explicit folder without ``openb_node_list_all_node.csv`` below it.
    """
    from tracekit.sources.openb.formats import NODE_FILE

    def holds(folder: Path) -> bool:
        return folder.is_dir() and next(folder.rglob(NODE_FILE), None) is not None

    if openb is not None and str(openb) not in ("auto", "none"):
        folder = Path(openb)
        if not holds(folder):
            raise TracekitError(
                f"{folder}: no {NODE_FILE} below it; pass the folder of the openb files "
                "(cluster-trace-gpu-v2023 of github.com/alibaba/clusterdata) or --openb none"
            )
        return folder
    if str(openb) == "none":
        return None
    checkout = Path(__file__).resolve().parents[2]
    for folder in (Path(raw) / "openb", *(p / CHECKOUT_OPENB for p in checkout.parents)):
        if holds(folder):
            return folder
    return None


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
        synthetic sample into ``sample_dir`` when it is missing or was made with another seed,
        scale or generator version.

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

    missing = [t for t in traces if not _marker_matches(sample_dir / t, t, scale, seed)]
    if missing:
        what = f"generating SYNTHETIC sample for {','.join(missing)} (seed {seed})"
        t0 = log.step("sample", what)
        generate(sample_dir, traces=tuple(missing), scale=scale, seed=seed)
        log.done("sample", t0)
    else:
        log.say(f"reusing SYNTHETIC sample in {sample_dir}")
    return {t: sample_dir / t for t in traces}


def prepare_store(raw_paths: dict[str, Path], store: Path, log: StepLog) -> None:
    """Ingest every trace into ``store``; drop other traces so nothing stale mixes in.

    openb is read for :data:`OPENB_CLUSTERS` only.
    """
    from tracekit.sources import ingest
    from tracekit.store import drop, read_manifest

    present = {p["trace"] for p in read_manifest(store, missing_ok=True)["partitions"].values()}
    for trace in sorted(present - set(raw_paths)):
        drop(store, trace)
    for trace, path in raw_paths.items():
        t0 = log.step(f"ingest_{trace}", f"ingesting {trace} from {path}")
        options = {"clusters": list(OPENB_CLUSTERS)} if trace == "openb" else {}
        ingest(trace, path, store, **options)
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
    """Train the duration predictors the replay study compares, on each of ``traces`` that the
    study replays (:data:`REPLAY_TRACES`), up to the study's cut-off so its jobs are held out."""
    from tracekit.predict import run_predict
    from tracekit.replay.studies import study_train_until

    for trace in [t for t in traces if t in REPLAY_TRACES]:
        t0 = log.step(f"predict_{trace}", f"training duration predictors on {trace}")
        for model in PREDICTION_MODELS:
            run_predict(store, trace, model=model, seed=seed,
                        train_until=study_train_until(trace))  # fmt: skip
        log.done(f"predict_{trace}", t0)


def write_findings(store: Path, out: Path) -> Path:
    """Write ``findings.csv``: every finding, published beside measured, with its verdict."""
    from tracekit.analysis import findings_table
    from tracekit.store import open_store

    return write_frame_atomic(findings_table(open_store(store)), out / "findings.csv")


def write_replay_study(
    store: Path, out: Path, seed: int, traces: Sequence[str] = REPLAY_TRACES
) -> Path | None:
    """Run the replay study; write ``replay_study.csv`` and the per-job ``replay_jobs.parquet``.

    The study (:func:`tracekit.replay.studies.replay_study_runs`) replays every policy and
    predictor on the held-out jobs of every cluster of ``traces`` in the store; notebook 07
    draws both files. Returns None (and writes nothing) when the store holds none of them.
    """
    from tracekit.replay.studies import replay_study_runs
    from tracekit.store import open_store

    st = open_store(store)
    present = [t for t in traces if t in st.traces]
    if not present:
        return None
    result = replay_study_runs(st, traces=present, seed=seed)
    write_frame_atomic(result.jobs, out / "replay_jobs.parquet")
    return write_frame_atomic(result.summary, out / "replay_study.csv")


def write_openb_placement(store: Path, out: Path, seed: int) -> Path | None:
    """Run the openb placement study on the production pods; write ``openb_placement.csv``.

    The unallocated-GPU share and the fragmentation rate of every placement policy as the
    arrived load grows to 100 % (:func:`tracekit.replay.studies.openb.compare_placements`,
    one seed); notebook 08 draws it. Returns None when the store has no openb pods.
    """
    from tracekit.replay.studies import openb as placement_study
    from tracekit.store import open_store

    st = open_store(store)
    if "openb" not in st.traces or "default" not in st.clusters("openb"):
        return None
    curve = placement_study.compare_placements(
        st.machines("openb", "default"), st.scan("pod_specs", "openb", "default"), seeds=(seed,)
    )
    return write_frame_atomic(curve, out / "openb_placement.csv")
