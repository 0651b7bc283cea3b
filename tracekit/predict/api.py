"""Store-level entry point: features, training, predictions table and metrics.

The CLI (``tracekit predict``) is a thin wrapper around :func:`run_predict`.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from pathlib import Path

import polars as pl

from tracekit.errors import StoreError
from tracekit.predict.evaluate import (
    as_utc,
    default_train_until,
    evaluate_rolling,
    evaluate_temporal,
)
from tracekit.predict.features import build_features
from tracekit.predict.models import DEFAULT_SEED, make_model
from tracekit.schema import PREDICTIONS
from tracekit.store import Store, begin, open_store

_PRED_COLS = PREDICTIONS.names


def _train_until(value: str | date | datetime | None) -> datetime | None:
    if value is None:
        return None
    try:
        return as_utc(value)
    except (ValueError, TypeError) as exc:
        raise ValueError(f"train_until: {exc}") from None


def _partitions(st: Store, trace: str, cluster: str | None) -> list[tuple[str, str]]:
    """The (trace, cluster) pairs to train on, with errors that say what is present."""
    if not st.traces:
        raise StoreError(
            f"{st.path}: the store holds no trace yet; ingest one first "
            f"(`tracekit ingest TRACE RAW_PATH --store {st.path}`, or `make ingest` for the "
            "synthetic sample)"
        )
    parts = st.select(trace, cluster)
    if len({p["trace"] for p in parts}) > 1:
        raise ValueError(f"trace: train one trace at a time, got {trace!r}")
    with_jobs = [(p["trace"], p["cluster"]) for p in parts if p["rows"].get("jobs", 0) > 0]
    if not with_jobs:
        names = ", ".join(f"{p['trace']}/{p['cluster']}" for p in parts)
        raise StoreError(f"{st.path}: {names} has no jobs to learn from; ingest its trace again")
    return with_jobs


def run_predict(
    store: str | Path,
    trace: str,
    cluster: str | None = None,
    model: str = "lgbm",
    train_until: str | date | datetime | None = None,
    seed: int = DEFAULT_SEED,
    *,
    rolling: bool = False,
    metrics_csv: str | Path | None = None,
    n_jobs: int = 1,
) -> pl.DataFrame:
    """Train a duration model per cluster, write the ``predictions`` table, return metrics.

    Parameters
    ----------
    store : str or Path
        A tracekit store with the ``jobs`` table of ``trace``.
    trace : str
        Trace name (``philly``, ``helios``, ``pai``); matched ignoring case.
    cluster : str, optional
        One cluster (default: every cluster of the trace, each trained separately); matched
        ignoring case.
    model : str
        ``lgbm``, ``user-median``, ``global-median`` or ``helios-mix``.
    train_until : str, date or datetime, optional
        Train on jobs that ended before this instant (UTC when naive); test on jobs submitted
        at or after it. Default: the UTC midnight before 80 % of the cluster's finished GPU jobs.
    seed : int
        Seed of the learned models (default 7, the project's one default seed).
    rolling : bool
        Lucid-style weekly retraining from ``train_until``: each test week gets a model trained
        on jobs ended before the week (its ``trained_until``); the train period keeps the first
        model's predictions.
    metrics_csv : str or Path, optional
        Also write the metrics table as CSV there.
    n_jobs : int
        LightGBM threads.

    Returns
    -------
    polars.DataFrame
        Metrics: ``trace, cluster, model, split, trained_until, n, mae_s, medae_log, r2_log,
        spearman, within_{10,25,50,100}pct``. ``split`` is ``train`` (in-sample), ``test``
        (held out, one model), and with ``rolling`` also ``week <k>`` rows and a ``rolling``
        row scoring the whole test period with the weekly models (those predictions are the
        ones written).

    Raises
    ------
    ValueError
        An unknown model, a ``train_until`` that is not a date, or one that leaves the
        training or the test set of a cluster empty (the message gives the usable range).
    StoreError
        No store, an empty store, an unknown trace or cluster (the message lists the ones
        present), a cluster without jobs, or a store that cannot be written.

    Notes
    -----
    Predictions cover every GPU job (train and test period) under ``model``; rows of other
    models already in the store are kept, earlier rows of this model are replaced. Nothing is
    written unless every cluster succeeds.
    """
    estimator = make_model(model, seed=seed, n_jobs=n_jobs)
    cut = _train_until(train_until)
    st = open_store(store)
    metrics: list[pl.DataFrame] = []
    outputs: dict[str, pl.DataFrame] = {}
    pairs = _partitions(st, trace, cluster)
    name = pairs[0][0]  # the trace as the store spells it
    for _, c in pairs:
        features = build_features(st.jobs(name, c))
        if features.is_empty():
            if cluster is not None:
                raise StoreError(f"{st.path}: {name}/{c} has no GPU jobs to predict")
            continue
        try:
            t = cut if cut is not None else default_train_until(features)
            _, preds, m = evaluate_temporal(features, estimator, t)
        except ValueError as exc:
            raise ValueError(f"{name}/{c}: {exc}") from None
        if rolling:
            roll_preds, roll_m = evaluate_rolling(
                features, estimator, t, every=timedelta(days=7)
            )
            preds = pl.concat(
                [preds.filter(~pl.col("job_id").is_in(roll_preds["job_id"].implode())),
                 roll_preds]
            )
            roll_m = roll_m.with_columns(
                pl.when(pl.col("split") == "all").then(pl.lit("rolling"))
                .otherwise(pl.col("split")).alias("split")
            )
            m = pl.concat([m, roll_m], how="vertical_relaxed")
        metrics.append(
            m.select(
                pl.lit(name).alias("trace"), pl.lit(c).alias("cluster"),
                pl.lit(model).alias("model"), pl.all(),
            )
        )
        outputs[c] = preds.with_columns(pl.lit(model).alias("model")).select(_PRED_COLS)
    if not outputs:
        raise StoreError(f"{st.path}: no GPU jobs to predict in trace {trace!r}")
    _write_predictions(st.path, name, model, outputs)
    result = pl.concat(metrics, how="vertical_relaxed")
    if metrics_csv is not None:
        Path(metrics_csv).parent.mkdir(parents=True, exist_ok=True)
        result.write_csv(metrics_csv)
    return result


def _write_predictions(
    store: Path, trace: str, model: str, outputs: dict[str, pl.DataFrame]
) -> None:
    """Replace ``model``'s rows of each cluster's predictions, keeping other models' rows."""
    st = open_store(store)  # freshly: another model's predictions may have landed meanwhile
    with begin(store, trace, mode="update") as tx:
        for c, preds in outputs.items():
            old = (
                st.scan("predictions", trace=trace, cluster=c)
                .filter(pl.col("model") != model)
                .select(_PRED_COLS)
                .collect()
            )
            tx.write("predictions", c, pl.concat([old, preds], how="vertical_relaxed"))


__all__ = ["run_predict"]
