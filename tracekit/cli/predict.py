"""``tracekit predict``: train a duration predictor and write the predictions table."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from tracekit.cli._common import DEFAULT_SEED, DEFAULT_STORE, StoreOpt, print_frame


def command(
    trace: Annotated[str, typer.Option(help="Trace to train on.")],
    cluster: Annotated[str | None, typer.Option(help="Cluster (default: all).")] = None,
    model: Annotated[
        str, typer.Option(help="lgbm, user-median, global-median, helios-mix.")
    ] = "lgbm",
    train_until: Annotated[str | None, typer.Option(help="Train on jobs before this date.")] = None,
    store: StoreOpt = DEFAULT_STORE,
    seed: Annotated[int, typer.Option(help="Random seed.")] = DEFAULT_SEED,
    metrics_out: Annotated[Path | None, typer.Option(help="Write metrics CSV here.")] = None,
    rolling: Annotated[bool, typer.Option(help="Weekly retraining (Lucid-style).")] = False,
) -> None:
    """Train a duration predictor, write the predictions table and print its metrics on the
    train and the held-out test jobs."""
    from tracekit.predict import run_predict

    metrics = run_predict(
        store,
        trace,
        cluster=cluster,
        model=model,
        train_until=train_until,
        seed=seed,
        rolling=rolling,
    )
    if metrics_out is not None:
        metrics.write_csv(metrics_out)
    key = ["cluster", "split"] if metrics["cluster"].n_unique() > 1 else "split"
    print_frame(metrics, title=f"{model} on {trace}: metrics of the train and test jobs", key=key)
