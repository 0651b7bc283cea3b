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
from tracekit.predict.models import make_model
from tracekit.schema import PREDICTIONS
from tracekit.store import begin, open_store

_PRED_COLS = PREDICTIONS.names


def run_predict(
    store: str | Path,
    trace: str,
    cluster: str | None = None,
    model: str = "lgbm",
    train_until: str | date | datetime | None = None,
    seed: int = 0,
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
        Trace name (``philly``, ``helios``, ``pai``).
    cluster : str, optional
        One cluster (default: every cluster of the trace, each trained separately).
    model : str
        ``lgbm``, ``user-median``, ``global-median`` or ``helios-mix``.
    train_until : str, date or datetime, optional
        Train on jobs that ended before this instant (UTC when naive); test on jobs submitted
        at or after it. Default: the UTC midnight before 80 % of the cluster's finished GPU jobs.
    seed : int
        Seed of the learned models.
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

    Notes
    -----
    Predictions cover every GPU job (train and test period) under ``model``; rows of other
    models already in the store are kept, earlier rows of this model are replaced.
    """
    st = open_store(store)
    clusters = [cluster] if cluster else st.clusters(trace)
    if not clusters or (cluster and cluster not in st.clusters(trace)):
        raise StoreError(
            f"{store}: no jobs for trace {trace!r}"
            + (f" cluster {cluster!r}" if cluster else "")
            + f"; present: {', '.join(st.clusters(trace)) or 'none'}"
        )
    estimator = make_model(model, seed=seed, n_jobs=n_jobs)
    metrics: list[pl.DataFrame] = []
    outputs: dict[str, pl.DataFrame] = {}
    for c in clusters:
        features = build_features(st.jobs(trace, c))
        if features.is_empty():
            continue
        t = as_utc(train_until) if train_until is not None else default_train_until(features)
        _, preds, m = evaluate_temporal(features, estimator, t)
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
                pl.lit(trace).alias("trace"), pl.lit(c).alias("cluster"),
                pl.lit(model).alias("model"), pl.all(),
            )
        )
        outputs[c] = preds.with_columns(pl.lit(model).alias("model")).select(_PRED_COLS)
    _write_predictions(store, trace, model, outputs)
    result = (
        pl.concat(metrics, how="vertical_relaxed") if metrics
        else pl.DataFrame(schema={"trace": pl.String, "cluster": pl.String, "model": pl.String})
    )
    if metrics_csv is not None:
        Path(metrics_csv).parent.mkdir(parents=True, exist_ok=True)
        result.write_csv(metrics_csv)
    return result


def _write_predictions(
    store: str | Path, trace: str, model: str, outputs: dict[str, pl.DataFrame]
) -> None:
    """Replace ``model``'s rows of each cluster's predictions, keeping other models' rows."""
    if not outputs:
        return
    st = open_store(store)
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
