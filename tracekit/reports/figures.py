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
}


def chromium_path() -> str | None:
    """The Chromium kaleido drives (Debian's ``chromium``), or ``None``."""
    return shutil.which("chromium") or shutil.which("chromium-browser")


def headline_figures(store: Path) -> dict[str, Any]:
    """The headline figures rebuilt from ``store`` (name -> plotly figure)."""
    from tracekit import plots
    from tracekit.analysis import failures, jobs, queueing, utilization
    from tracekit.store import open_store

    st = open_store(store)
    plots.mark_synthetic(st.is_synthetic())
    jf = st.scan("jobs")
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
    return figures


def write_static_figures(store: Path, out: Path) -> list[Path]:
    """Export the headline figures as PNG into ``out/figures/`` when Chromium is installed.

    kaleido drives a Chrome/Chromium binary; without one nothing is written and an empty list is
    returned (the HTML reports do not need the PNGs).
    """
    if chromium_path() is None:
        return []
    import plotly.io as pio

    figures = headline_figures(store)
    folder = out / "figures"
    folder.mkdir(parents=True, exist_ok=True)
    paths = [folder / f"{name}.png" for name in figures]
    # one kaleido session for all figures: the browser starts once
    pio.write_images(list(figures.values()), paths, width=1100, height=520)
    return paths
