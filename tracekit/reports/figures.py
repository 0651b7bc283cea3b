"""Static PNGs of the headline figures (kaleido), for papers and the index thumbnails."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

__all__ = ["HEADLINES", "chromium_path", "headline_figures", "write_static_figures"]

#: Headline figure name -> the report page it illustrates (its thumbnail on the index).
HEADLINES: dict[str, str] = {
    "status_gpu_time": "01_overview",
    "duration_cdf": "02_jobs_users",
    "allocation_daily": "03_utilization",
    "queue_cdf": "04_queueing",
    "status_by_size": "05_failures",
    "replay_jct": "07_replay",
    "openb_unallocated": "08_openb",
    "acme_gpu_time": "09_acme",
}


def chromium_path() -> str | None:
    """The Chromium kaleido drives (Debian's ``chromium``), or ``None``."""
    return shutil.which("chromium") or shutil.which("chromium-browser")


def headline_figures(store: Path, out: Path | None = None) -> dict[str, Any]:
    """The headline figures rebuilt from ``store`` (name -> plotly figure).

    With ``out`` (the reports folder), the replay study's mean JCT per policy and openb's
    unallocated-GPU curve are drawn from the ``replay_study.csv`` and ``openb_placement.csv``
    written there. Each figure carries the mark of the traces it shows.
    """
    import polars as pl

    from tracekit import plots
    from tracekit.analysis import acme, failures, jobs, queueing, scheduling, utilization
    from tracekit.analysis.summary import data_kinds
    from tracekit.store import open_store

    st = open_store(store)
    core = [t for t in st.traces if t not in ("openb", "acme")] or list(st.traces)
    plots.mark_data(**data_kinds(st, core))
    jf = st.scan("jobs", trace=core)
    figures: dict[str, Any] = {
        "status_gpu_time": plots.status_bars(
            failures.status_shares(jf), "gpu_time_share", x=["trace", "cluster"],
            title="GPU time by final status",
        ),
        "duration_cdf": plots.duration_cdf(jobs.duration_cdf(jf), title="GPU-job duration CDF"),
        "queue_cdf": plots.queue_cdf(queueing.queue_cdf(jf), title="GPU-job queueing delay CDF"),
    }  # fmt: skip
    main = "helios" if "helios" in st.traces else st.traces[0]
    figures["status_by_size"] = plots.status_bars(
        failures.status_by_size(st.scan("jobs", trace=main), ["trace"]), "job_share",
        x="size_bucket", title=f"{main}: final status by job size (GPUs)",
    )  # fmt: skip
    if "helios" in st.traces and "capacity" in st.tables:
        series = utilization.allocation_series(
            st.scan("jobs", trace="helios"), st.scan("capacity", trace="helios"), freq="1d"
        )
        figures["allocation_daily"] = plots.allocation_timeseries(
            series, title="Helios: allocated GPUs / capacity (daily mean)"
        )
    study = out / "replay_study.csv" if out is not None else None
    if study is not None and study.is_file():
        runs = scheduling.run_label(pl.read_csv(study)).filter(
            pl.col("predictor").is_in(scheduling.MAIN_PREDICTORS)
        )
        figures["replay_jct"] = plots.bars(
            runs.with_columns((pl.col("trace") + " / " + pl.col("cluster")).alias("where")),
            "run", "jct_mean_s", facet="where", x_title="policy (durations)",
            title="Replay study: mean JCT per policy and cluster",
        )  # fmt: skip
    curve = out / "openb_placement.csv" if out is not None else None
    if curve is not None and curve.is_file():
        plots.mark_data(**data_kinds(st, ["openb"]))
        figures["openb_unallocated"] = plots.lines(
            pl.read_csv(curve), "arrived_share", "unallocated_share", "placement", percent_y=True,
            title="openb: GPUs left unallocated as the arrived load grows",
            x_title="arrived GPU requests / GPU capacity", y_title="unallocated GPU share (%)",
        )  # fmt: skip
    if "acme" in st.traces:
        plots.mark_data(**data_kinds(st, ["acme"]))
        figures["acme_gpu_time"] = plots.treemap(
            acme.gpu_time_by_workload(st.scan("jobs", trace="acme")), ["cluster", "workload"],
            "gpu_time_s", title="Acme: GPU time by cluster and workload type",
            value_title="GPU time (GPU-s)",
        )  # fmt: skip
    plots.mark_data()
    return figures


def write_static_figures(store: Path, out: Path) -> list[Path]:
    """Export the headline figures as PNG into ``out/figures/`` when Chromium is installed.

    kaleido drives a Chrome/Chromium binary; without one nothing is written and an empty list is
    returned (the HTML reports do not need the PNGs).
    """
    if chromium_path() is None:
        return []
    import plotly.io as pio

    figures = headline_figures(store, out)
    folder = out / "figures"
    folder.mkdir(parents=True, exist_ok=True)
    paths = [folder / f"{name}.png" for name in figures]
    # one kaleido session for all figures: the browser starts once
    pio.write_images(list(figures.values()), paths, width=1100, height=520)
    return paths
