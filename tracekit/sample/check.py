"""Does a sample show the science? Its targets, measured as the reports measure them.

``check(path)`` accepts a store (a folder with ``manifest.json``) or a sample folder written by
:func:`tracekit.sample.generate` (then each trace found is ingested through the real readers into a
temporary store, the duration predictors are trained and the replay study is run). It returns one
row per target: the published value, the sample's value, the criterion and whether it holds.

Targets (docs/sample.md, "Targets"):

* the calibration the sample is built for, read off the findings table (published numbers from
  ``tracekit/analysis/published``): Helios allocation within 8 points and mean GPU-job queue
  within a factor of 2 per cluster; Philly's mean GPU-job queue and its per-attempt median wait
  by size within a factor of 2;
* the replay study on the sample (when the store has predictions): for every cluster, FIFO has
  queueing and at least 50 % utilization; SJF and SRTF with the true durations beat FIFO on mean
  JCT; QSSF with LightGBM predictions lies between FIFO and SJF; Helios' FIFO/SJF mean-JCT ratio
  is within a factor of 2 of SC'21 Table 3;
* Acme (when the store has it): each cluster's ``cluster_summary.csv`` values the sample is
  calibrated to (job counts, run times, queueing delays, GPUs per job, status shares).
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import polars as pl

from tracekit.sources._common import SYNTHETIC_MARKER

COLUMNS: dict[str, Any] = {
    "trace": pl.String,
    "cluster": pl.String,
    "target": pl.String,
    "published": pl.Float64,
    "sample": pl.Float64,
    "criterion": pl.String,
    "ok": pl.Boolean,
}
ALLOCATION_POINTS = 8.0  # H15: allocation within this many points of the published value
QUEUE_FACTOR = 2.0  # mean queues, per-attempt waits, FIFO/SJF ratios: within this factor
MIN_UTILIZATION = 0.5  # FIFO's utilization in the replay study
# (finding id, metric) of the findings-table rows checked with a factor-of-2 criterion.
FACTOR_ROWS: tuple[tuple[str, str], ...] = (
    ("H10", "mean GPU-job queue"),
    ("P4", "mean GPU-job queue (Acme summary)"),
    ("P4", "median per-attempt wait, 1 GPU (median over VCs)"),
    ("P4", "median per-attempt wait, 2-4 GPU (median over VCs)"),
    ("P4", "median per-attempt wait, 5-8 GPU (median over VCs)"),
    ("P4", "median per-attempt wait, >8 GPU (median over VCs)"),
)


def _within_factor(sample: float | None, published: float | None) -> bool:
    if sample is None or published is None or sample <= 0 or published <= 0:
        return False
    return max(sample / published, published / sample) <= QUEUE_FACTOR


def _row(
    trace: str,
    cluster: str,
    target: str,
    published: float | None,
    sample: float | None,
    criterion: str,
    ok: bool,
) -> dict[str, Any]:
    return {
        "trace": trace,
        "cluster": cluster,
        "target": target,
        "published": published,
        "sample": sample,
        "criterion": criterion,
        "ok": bool(ok),
    }


def findings_targets(store: Any) -> list[dict[str, Any]]:
    """The calibration targets read off :func:`tracekit.analysis.findings.findings_table`."""
    from tracekit.analysis.findings import findings_table

    ft = findings_table(store, ids=["H10", "H15", "P4"])
    rows = []
    for r in ft.iter_rows(named=True):
        if r["cluster"] == "all":
            continue
        if r["finding_id"] == "H15":
            ok = r["measured"] is not None and (
                abs(r["measured"] - r["published"]) <= ALLOCATION_POINTS
            )
            crit = f"within {ALLOCATION_POINTS:g} points"
        elif (r["finding_id"], r["metric"]) in FACTOR_ROWS:
            ok = _within_factor(r["measured"], r["published"])
            crit = f"within {QUEUE_FACTOR:g}x"
        else:
            continue
        target = f"{r['finding_id']} {r['metric']}"
        rows.append(_row(r["trace"], r["cluster"], target, r["published"], r["measured"], crit, ok))
    return rows


def study_targets(study: pl.DataFrame) -> list[dict[str, Any]]:
    """The replay-study targets for every (trace, cluster) of a :func:`replay_study` table."""
    from tracekit.analysis.scheduling import published_fifo_ratios
    from tracekit.replay.studies import published_results

    published = published_results()
    sjf = published_fifo_ratios(published).filter(pl.col("policy") == "sjf")
    ratio_pub = {(t, c): (v, _experiment(r)) for t, c, v, r in
                 sjf.select("trace", "cluster", "published", "reference").iter_rows()}  # fmt: skip
    fifo = published.filter((pl.col("policy") == "fifo") & (pl.col("metric") == "jct_mean_s"))
    fifo_pub = {(t, c): (v, _experiment(r)) for t, c, v, r in
                fifo.select("trace", "cluster", "value", "reference").iter_rows()}  # fmt: skip
    rows = []
    for (trace, cluster), runs in study.group_by(["trace", "cluster"], maintain_order=True):
        jct: dict[tuple[str, str], float] = {
            (p, q): v for p, q, v in runs.select("policy", "predictor", "jct_mean_s").iter_rows()
        }
        fifo = runs.filter(pl.col("policy") == "fifo")
        if fifo.height != 1:
            continue
        f = fifo.row(0, named=True)

        def add(*a: Any, _t: str = str(trace), _c: str = str(cluster)) -> None:
            rows.append(_row(_t, _c, *a))

        add("FIFO mean queue", None, f["queue_mean_s"], "> 0 s", f["queue_mean_s"] > 0)
        util = f["utilization"]
        add("FIFO utilization", None, util, f">= {MIN_UTILIZATION:g}",
            util is not None and util >= MIN_UTILIZATION)  # fmt: skip
        fj = f["jct_mean_s"]
        for policy in ("sjf", "srtf"):
            v = jct.get((policy, "oracle"))
            if v is not None:
                add(f"{policy.upper()} (oracle) mean JCT", None, v, f"< FIFO ({fj:,.0f} s)", v < fj)
        q, s = jct.get(("qssf", "lgbm")), jct.get(("sjf", "oracle"))
        if q is not None and s is not None:
            add("QSSF (LightGBM) mean JCT", None, q,
                f"between SJF (oracle) and FIFO ({s:,.0f} .. {fj:,.0f} s)", s < q < fj)  # fmt: skip
        key = (str(trace), str(cluster))
        if s and key in ratio_pub:
            ratio, (pub, source) = fj / s, ratio_pub[key]
            add(f"FIFO/SJF mean JCT ({source})", pub, ratio, f"within {QUEUE_FACTOR:g}x",
                _within_factor(ratio, pub))  # fmt: skip
        if key in fifo_pub:
            pub, source = fifo_pub[key]
            add(f"FIFO mean JCT ({source})", pub, fj, f"within {QUEUE_FACTOR:g}x",
                _within_factor(fj, pub))  # fmt: skip
    return rows


def _experiment(reference: str) -> str:
    """Short name of a published experiment from its reference (the target's label)."""
    for key, name in (("SC'21 Table 3", "SC'21 Table 3"), ("HeliosArtifact", "Helios artifact"),
                      ("simulator", "PAI simulator")):  # fmt: skip
        if key in reference:
            return name
    return reference


# Acme summary columns checked, with the tolerance: relative for counts, times and sizes,
# absolute (fraction) for shares. Mean GPUs per job rests on a few pretraining jobs (0.25).
ACME_TOLERANCE: dict[str, float] = {
    "gpu_job_num": 0.01, "cpu_job_num": 0.01,
    "med_run_time_gpu": 0.1, "avg_run_time_gpu": 0.1, "avg_run_time_cpu": 0.1,
    "med_que_time_gpu": 0.1, "avg_que_time_gpu": 0.1, "avg_que_time_cpu": 0.1,
    "med_gpu_num": 0.0, "avg_gpu_num": 0.25,
    "complete_rate_gpu": 0.01, "cancel_rate_gpu": 0.01, "fail_rate_gpu": 0.01,
    "complete_rate_gpu_time": 0.05, "cancel_rate_gpu_time": 0.05, "fail_rate_gpu_time": 0.05,
}  # fmt: skip


def acme_targets(store: Any) -> list[dict[str, Any]]:
    """The Acme sample's calibration to the authors' cluster summary, per cluster.

    Counts are compared with the published count x the sample's scale (from the store's
    SYNTHETIC marker; 1 for a real trace).
    """
    from tracekit.analysis.acme import cluster_summary
    from tracekit.sample.acme import targets

    if "acme" not in store.traces:
        return []
    info = store.sample_info("acme") or {}
    scale = float(info.get("scale", 1.0))
    measured = cluster_summary(store.jobs("acme"))
    rows = []
    for cluster in store.clusters("acme"):
        got = measured.filter(pl.col("id") == cluster)
        want = targets(cluster)
        if got.height != 1:
            continue
        for metric, tol in ACME_TOLERANCE.items():
            if metric not in want or metric not in got.columns:
                continue
            pub = float(want[metric]) * (scale if metric.endswith("job_num") else 1.0)
            value = got[metric].item()
            share = "rate" in metric
            if share:
                ok = value is not None and abs(value - pub) <= tol
                crit = f"within {100 * tol:g} points"
            else:
                ok = value is not None and abs(value - pub) <= tol * abs(pub)
                crit = f"within {100 * tol:g} %" if tol else "equal"
            scaled = " (x scale)" if metric.endswith("job_num") else ""
            name = f"cluster summary {metric}{scaled}"
            rows.append(_row("acme", cluster, name, pub, value, crit, ok))
    return rows


def _has_predictions(store: Any) -> bool:
    return any(p.get("rows", {}).get("predictions", 0) > 0 for p in store.partitions)


def _check_store(store_path: Path, study: pl.DataFrame | None = None) -> pl.DataFrame:
    from tracekit.replay.studies import replay_study
    from tracekit.store import open_store

    st = open_store(store_path)
    rows = findings_targets(st) + acme_targets(st)
    if study is None and _has_predictions(st):
        study = replay_study(st)
    if study is not None:
        rows += study_targets(study)
    return pl.DataFrame(rows, schema=COLUMNS)


def prepare_store(raw: str | Path, store: str | Path, seed: int = 7) -> Path:
    """Ingest every synthetic trace under ``raw`` into ``store`` and train the replay study's
    duration predictors (LightGBM and the per-user median, cut off at the study window) on the
    traces the study replays."""
    from tracekit.predict import run_predict
    from tracekit.replay.studies import STUDY_TRACES, study_train_until
    from tracekit.sample import SAMPLE_TRACES
    from tracekit.sources import ingest

    raw, store = Path(raw), Path(store)
    for trace in SAMPLE_TRACES:
        if (raw / trace / SYNTHETIC_MARKER).is_file():
            ingest(trace, raw / trace, store)
            if trace not in STUDY_TRACES:
                continue
            for model in ("lgbm", "user-median"):
                run_predict(store, trace, model=model, seed=seed,
                            train_until=study_train_until(trace))  # fmt: skip
    return store


def check(
    out_or_store: str | Path, seed: int = 7, study: pl.DataFrame | None = None
) -> pl.DataFrame:
    """Compare a sample (raw folder) or a store with the targets of the default run.

    Parameters
    ----------
    out_or_store : path
        A store (has ``manifest.json``; the study runs when it holds predictions) or the output
        folder of :func:`tracekit.sample.generate` (ingested, predicted and studied in a
        temporary store).
    seed : int
        Seed of the predictors trained for a raw folder.
    study : polars.DataFrame, optional
        A :func:`tracekit.replay.replay_study` table of the same store (run when omitted).

    Returns
    -------
    polars.DataFrame
        ``trace, cluster, target, published, sample, criterion, ok``.
    """
    path = Path(out_or_store)
    if (path / "manifest.json").is_file():
        return _check_store(path, study)
    with tempfile.TemporaryDirectory(prefix="tracekit-check-") as tmp:
        store = prepare_store(path, Path(tmp) / "store", seed)
        if not (store / "manifest.json").is_file():
            return pl.DataFrame(schema=COLUMNS)
        return _check_store(store)
