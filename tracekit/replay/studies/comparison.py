"""Policy comparison on one store partition (the building block of the replay study).

A study runs the standard policy set on the same jobs and returns one tidy comparison table.
Predicted-duration policies use the store's ``predictions`` table, on the held-out window that
starts at the cut-off the study's predictors are trained at (``study_train_until``), so the
predictions are out of sample. Every read goes through :mod:`tracekit.replay.inputs`.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import polars as pl

from tracekit.replay.inputs import (
    cluster_from_store,
    jobs_from_store,
    load_store,
    prediction_models,
)
from tracekit.replay.results import ReplayResult, compare
from tracekit.replay.run import replay_from_store
from tracekit.replay.studies.study import study_train_until
from tracekit.timeutil import as_utc

ORACLE_POLICIES: tuple[str, ...] = ("fifo", "sjf", "srtf", "tiresias")
PREDICTED_POLICIES: tuple[str, ...] = ("sjf-pred", "qssf", "srtf-pred")


def held_out_start(
    store: Any, trace: str, cluster: str, models: Sequence[str] = ()
) -> datetime | None:
    """Start of the held-out window: the cut-off the study's predictors are trained at
    (:func:`~tracekit.replay.studies.study_train_until`), as a UTC datetime, when the store
    holds predictions of any of ``models`` for the partition (None otherwise, or for a trace
    without a study window)."""
    cut = study_train_until(trace)
    if cut is None or (
        models and not set(models) & set(prediction_models_in(store, trace, cluster))
    ):
        return None
    return as_utc(cut)


def prediction_models_in(store: Any, trace: str, cluster: str) -> list[str]:
    """Models present in the partition's ``predictions`` table."""
    return prediction_models(store, trace, cluster)


def needs_pool(store: Any, trace: str, cluster: str) -> bool:
    """True when the capacity is not split by the jobs' VCs, so the replay must pool all nodes.

    Philly's capacity comes from its machine list (no VC split) and PAI's is split by GPU type
    while its jobs have no VC; Helios capacity is per VC and stays partitioned.
    """
    cap_vcs = set(cluster_from_store(store, trace, cluster))
    jobs, _ = jobs_from_store(store, trace, cluster)
    return not cap_vcs & set(jobs["vc"].unique().to_list())


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
        Submit window; ``start`` defaults to :func:`held_out_start` (held-out jobs only).
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

    The window starts at :func:`held_out_start` when the store has the model's predictions (the
    jobs then carry ``pred_duration_s``); otherwise it covers every GPU job.

    Returns
    -------
    (jobs, cluster)
        Inputs for :func:`tracekit.replay.replay` and the sweep helpers; pooled (every job in
        VC ``"pool"``) when the capacity is not split by the jobs' VCs.
    """
    model = prediction_model if prediction_model in prediction_models_in(
        store, trace, cluster) else None  # fmt: skip
    start = held_out_start(store, trace, cluster, [model]) if model else None
    data = load_store(store, trace, cluster, start=start, end=end, prediction_model=model)
    return data.jobs, data.resources
