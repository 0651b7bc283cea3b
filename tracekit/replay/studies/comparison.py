"""Policy comparison on one store partition (the building block of the replay study).

A study runs the standard policy set on the same jobs and returns one tidy comparison table.
Predicted-duration policies use the store's ``predictions`` table, on the held-out window after
the models' ``trained_until`` so predictions are out of sample.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import polars as pl

from tracekit.replay.metrics import ReplayResult, compare
from tracekit.replay.simulator import replay_from_store

ORACLE_POLICIES: tuple[str, ...] = ("fifo", "sjf", "srtf", "tiresias")
PREDICTED_POLICIES: tuple[str, ...] = ("sjf-pred", "qssf", "srtf-pred")


def held_out_start(store: Any, trace: str, cluster: str, models: Sequence[str]) -> datetime | None:
    """The latest ``trained_until`` of ``models`` in the store's predictions (None if absent)."""
    preds = store.scan("predictions", trace=trace, cluster=cluster)
    out = (
        preds.filter(pl.col("model").is_in(list(models)))
        .select(pl.col("trained_until").max())
        .collect()
        .item()
    )
    return out


def prediction_models_in(store: Any, trace: str, cluster: str) -> list[str]:
    """Models present in the partition's ``predictions`` table."""
    return (
        store.scan("predictions", trace=trace, cluster=cluster)
        .select(pl.col("model").unique())
        .collect()["model"]
        .to_list()
    )


def needs_pool(store: Any, trace: str, cluster: str) -> bool:
    """True when the capacity is not split by the jobs' VCs, so the replay must pool all nodes.

    Philly's capacity comes from its machine list (no VC split) and PAI's is split by GPU type
    while its jobs have no VC; Helios capacity is per VC and stays partitioned.
    """
    cap_vcs = set(
        store.scan("capacity", trace=trace, cluster=cluster)
        .select(pl.col("vc").unique())
        .collect()["vc"]
        .to_list()
    )
    job_vcs = set(
        store.scan("jobs", trace=trace, cluster=cluster)
        .filter(pl.col("num_gpus") > 0)
        .select(pl.col("vc").unique())
        .collect()["vc"]
        .to_list()
    )
    return not cap_vcs or not (cap_vcs & job_vcs)


def policy_comparison(
    store: Any,
    trace: str,
    cluster: str,
    *,
    prediction_models: Sequence[str] = ("lgbm", "user-median"),
    oracle_policies: Sequence[str] = ORACLE_POLICIES,
    predicted_policies: Sequence[str] = PREDICTED_POLICIES,
    start: datetime | str | None = None,
    end: datetime | str | None = None,
    **replay_options: Any,
) -> tuple[pl.DataFrame, list[ReplayResult]]:
    """Replay one partition under every policy and predictor on the same jobs.

    Parameters
    ----------
    store : Store
        An opened store with ``jobs``, ``capacity`` (or ``machines``) and ``predictions``.
    trace, cluster : str
        The partition.
    prediction_models : sequence of str
        Models of the ``predictions`` table fed to the predicted policies; models absent from the
        store are skipped.
    oracle_policies, predicted_policies : sequence of str
        Policies run once (true durations) and once per prediction model.
    start, end : datetime or str, optional
        Submit window; ``start`` defaults to the models' ``trained_until`` (held-out jobs only).
    **replay_options
        Passed to :func:`tracekit.replay.replay_from_store` (``backfill``, ``placement``, ...).

    Returns
    -------
    (table, results)
        ``table``: the overall rows of :func:`tracekit.replay.compare` with a ``predictor``
        column (``oracle`` or the model name); ``results``: the underlying replays.
    """
    present = prediction_models_in(store, trace, cluster)
    models = [m for m in prediction_models if m in present]
    if start is None and models:
        start = held_out_start(store, trace, cluster, models)
    if needs_pool(store, trace, cluster):
        replay_options.setdefault("pool", True)
    runs: list[tuple[str, str, str | None]] = [(p, "oracle", None) for p in oracle_policies]
    runs += [(p, m, m) for m in models for p in predicted_policies]
    results, labels = [], []
    for policy, label, model in runs:
        result = replay_from_store(
            store, trace, cluster, start=start, end=end, policy=policy,
            prediction_model=model or (models[0] if models else None), **replay_options,
        )  # fmt: skip
        results.append(result)
        labels.append(label)
    table = compare(results)
    overall = table.filter(pl.col("vc") == "all") if "vc" in table.columns else table
    overall = overall.with_columns(pl.Series("predictor", labels))
    first = ["policy", "predictor"]
    return overall.select(first + [c for c in overall.columns if c not in first]), results


def held_out_inputs(
    store: Any,
    trace: str,
    cluster: str,
    prediction_model: str = "lgbm",
    end: datetime | str | None = None,
) -> tuple[pl.DataFrame, Any]:
    """Replay jobs of the held-out window and the partition's cluster model.

    The window starts at the model's ``trained_until`` when the store has its predictions (and
    then carries ``pred_duration``); otherwise it covers every GPU job.

    Returns
    -------
    (jobs, cluster)
        Inputs for :func:`tracekit.replay.simulate` and the sweep helpers; pooled (every job in
        VC ``"pool"``) when :func:`needs_pool` says the capacity is not split by VC.
    """
    from tracekit.replay.cluster import cluster_from_store
    from tracekit.replay.jobs import jobs_from_store

    present = prediction_models_in(store, trace, cluster)
    model = prediction_model if prediction_model in present else None
    start = held_out_start(store, trace, cluster, [model]) if model else None
    jobs, _ = jobs_from_store(store, trace, cluster, start=start, end=end, prediction_model=model)
    if model is None and "pred_duration" in jobs.columns:
        jobs = jobs.drop("pred_duration")
    cl = cluster_from_store(store, trace, cluster)
    if needs_pool(store, trace, cluster):
        cl = cl.pooled()
        jobs = jobs.with_columns(pl.lit(next(iter(cl))).alias("vc"))
    return jobs, cl
