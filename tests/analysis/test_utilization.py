"""PAI request vs usage for CPU and memory, and the machines' own metrics, on the PAI raw
fixture (values worked out by hand from ``tests/fixtures/pai``)."""

from __future__ import annotations

import polars as pl
import pytest

import tracekit as tk
from tracekit.analysis import utilization


def _pai(store: tk.Store) -> tuple[pl.LazyFrame, pl.LazyFrame]:
    return store.scan("tasks", trace="pai"), store.scan("sensors", trace="pai")


def test_instance_cpu_mem_request_vs_use(fixture_store: tk.Store) -> None:
    inst = utilization.pai_instance_cpu_mem(*_pai(fixture_store))
    # one row per sensor row: job 1 (1), job 2's workers (2), job 6's workers (2), job 7 (1)
    assert inst.height == 6
    row = inst.filter(pl.col("task_name") == "tensorflow").row(0, named=True)
    # plan_cpu 600 % of a core = 6 cores; cpu_usage 140.145 % = 1.401 cores
    assert row["cpu_requested"] == pytest.approx(6.0)
    assert row["cpu_used"] == pytest.approx(1.401451612903226)
    assert row["mem_requested_gb"] == pytest.approx(29.296875)
    assert row["mem_used_gb"] == pytest.approx(1.4627511160714286)
    # the OSS worker's sensor row has no usage: kept, with null use
    oss = inst.filter(pl.col("task_name") == "OssToVolumeWorker")
    assert oss["cpu_requested"].to_list() == [1.0] and oss["cpu_used"].to_list() == [None]


def test_cpu_mem_usage_summary(fixture_store: tk.Store) -> None:
    s = utilization.pai_cpu_mem_usage_summary(*_pai(fixture_store))
    cpu = s.filter(pl.col("resource") == "CPU (cores)").row(0, named=True)
    mem = s.filter(pl.col("resource") == "memory (GB)").row(0, named=True)
    # instances with both numbers: 5 (the OSS worker has no usage)
    assert cpu["n_instances"] == 5 and mem["n_instances"] == 5
    assert cpu["median_requested"] == pytest.approx(6.0)  # of 6, 4, 4, 48, 48 cores
    assert cpu["median_used"] == pytest.approx(3.5)  # of 1.40, 3.5, 3.4, 24, 23
    assert mem["median_used"] == pytest.approx(10.0)  # of 1.46, 10, 9.5, 120, 118 GB
    assert cpu["plan_gt_usage_share"] == pytest.approx(1.0)


def test_cpu_mem_usage_cdf_reads_quantiles(fixture_store: tk.Store) -> None:
    cdf = utilization.pai_cpu_mem_usage_cdf(*_pai(fixture_store), points=3)
    req = cdf.filter((pl.col("resource") == "CPU (cores)") & (pl.col("measure") == "requested"))
    # every requested value counts, also the OSS worker's 1 core: min 1, median 5, max 48
    assert req["value"].to_list() == pytest.approx([1.0, 5.0, 48.0])
    assert req["cdf"].to_list() == [0.0, 0.5, 1.0]
    assert set(cdf["measure"]) == {"requested", "used"}
    with pytest.raises(ValueError, match="at least 2"):
        utilization.pai_cpu_mem_usage_cdf(*_pai(fixture_store), points=1)


def test_machine_metrics(fixture_store: tk.Store) -> None:
    mm = fixture_store.scan("machine_metric", trace="pai")
    util = utilization.pai_machine_metric_cdf(mm, points=3)
    assert util["measure"].unique(maintain_order=True).to_list() == [
        "user CPU", "kernel CPU", "I/O wait", "GPU",
    ]  # fmt: skip
    usr = util.filter(pl.col("measure") == "user CPU")["value"].to_list()
    assert usr == pytest.approx([14.928745108999438, 22.464372554499719, 30.0])
    net = utilization.pai_machine_metric_cdf(mm, "network", points=2)
    # 111,649,584.6 bytes/s = 0.893 Gbit/s; the other machine reports none
    assert net["value"].to_list() == pytest.approx([0.893196677, 0.893196677])
    summary = utilization.pai_machine_metric_summary(mm)
    assert summary["unit"].to_list() == ["%", "%", "%", "%", "Gbit/s"]
    iowait = summary.filter(pl.col("measure") == "I/O wait").row(0, named=True)
    assert iowait["median"] == pytest.approx((0.0028667003281999497 + 0.01) / 2)
    with pytest.raises(ValueError, match="utilization' or 'network"):
        utilization.pai_machine_metric_cdf(mm, "disk")
