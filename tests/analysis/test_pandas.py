"""Every public analysis function accepts a pandas DataFrame in the store schema and returns the
same table as for the polars frame; anything else is refused with one clear TypeError."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from tracekit.analysis import arrivals, failures, jobs, queueing, summary, users, utilization
from tracekit.analysis._common import lazy
from tracekit.analysis._synth import helios_like_capacity, helios_like_jobs

T0 = datetime(2017, 10, 3, tzinfo=UTC)


@pytest.fixture(scope="module")
def helios() -> tuple[pl.DataFrame, pl.DataFrame]:
    return helios_like_jobs(3000, seed=1), helios_like_capacity(vcs=4)


def _philly_tables() -> dict[str, pl.DataFrame]:
    n = 6
    jobs_ = pl.DataFrame(
        {
            "trace": "philly",
            "cluster": "philly",
            "job_id": [f"j{i}" for i in range(n)],
            "vc": ["a", "a", "b", "b", "a", "b"],
            "user": ["u1", "u2", "u1", "u2", "u1", "u3"],
            "submit_time": [T0 + timedelta(minutes=10 * i) for i in range(n)],
            "num_gpus": [1.0, 4.0, 8.0, 16.0, 1.0, 8.0],
            "status": ["completed", "canceled", "failed", "completed", "failed", "completed"],
            "num_attempts": [1, 1, 2, 1, 1, 1],
        }
    )
    attempts = pl.DataFrame(
        {
            "trace": "philly",
            "cluster": "philly",
            "job_id": ["j0", "j1", "j2", "j2", "j3", "j4", "j5"],
            "attempt": [0, 0, 0, 1, 0, 0, 0],
            "start_time": [T0 + timedelta(minutes=10 * i + 3) for i in (0, 1, 2, 2, 3, 4, 5)],
            "end_time": [T0 + timedelta(minutes=10 * i + 9) for i in (0, 1, 2, 2, 3, 4, 5)],
            "machines": [["m1"], ["m1"], ["m2"], ["m2"], ["m2", "m3"], ["m1"], ["m3"]],
        }
    )
    minutes = pl.DataFrame(
        {
            "trace": "philly",
            "cluster": "philly",
            "job_id": ["j0", "j1", "j2", "j3", "j5"] * 2,
            "attempt": [0] * 10,
            "util": [0.0, 50.0, 80.0, 30.0, 90.0, 10.0, 0.0, 70.0, 40.0, 60.0],
            "shared_server": [False, True] * 5,
        }
    )
    host = pl.DataFrame(
        {"cpu_util": [0.0, 10.0, 20.0], "mem_total": [100.0, 100.0, 0.0], "mem_free": [5.0] * 3}
    )
    return {"jobs": jobs_, "attempts": attempts, "minutes": minutes, "host": host}


def _pai_tables() -> dict[str, pl.DataFrame]:
    tasks = pl.DataFrame(
        {
            "trace": "pai",
            "cluster": "pai",
            "job_name": ["a", "b", "c", "d"],
            "task_name": ["worker"] * 4,
            "plan_gpu": [0.5, 1.0, None, 0.25],
            "gpu_type": ["T4", "MISC", None, "V100"],
            "queue_s": [3.0, 10.0, 1.0, 100.0],
            "inst_num": [1.0, 2.0, 1.0, 4.0],
            "plan_cpu": [6.0, 4.0, 1.0, 8.0],
            "plan_mem_gb": [29.3, 14.6, 4.9, 58.6],
            "start_time": [T0 + timedelta(hours=h) for h in (0, 1, 30, 50)],
            "num_gpus": [0.5, 2.0, None, 1.0],
        }
    )
    jobs_ = pl.DataFrame(
        {
            "trace": "pai",
            "cluster": "pai",
            "job_id": ["a", "b", "c", "d"],
            "user": ["u1", "u1", "u2", "u3"],
        }
    )
    machine_metric = pl.DataFrame(
        {
            "trace": "pai",
            "cluster": "pai",
            "machine": ["m1", "m2", "m3"],
            "machine_cpu_usr": [14.9, 30.0, 22.0],
            "machine_cpu_kernel": [3.6, 2.0, None],
            "machine_cpu_iowait": [0.003, 0.01, 0.0],
            "machine_gpu": [87.8, None, 10.0],
            "machine_net_receive": [1.1e8, None, 2.0e7],
        }
    )
    sensors = pl.DataFrame(
        {
            "trace": "pai",
            "cluster": "pai",
            "job_name": ["a", "b", "d"],
            "task_name": ["worker"] * 3,
            "gpu_wrk_util": [2.0, 150.0, 0.0],
            "inst_id": ["i1", "i2", "i3"],
            "cpu_usage": [140.0, 350.0, None],
            "avg_mem": [1.5, 10.0, None],
        }
    )
    return {"tasks": tasks, "sensors": sensors, "jobs": jobs_, "machine_metric": machine_metric}


def _calls(
    helios: tuple[pl.DataFrame, pl.DataFrame],
) -> list[tuple[Callable[..., pl.DataFrame], tuple[pl.DataFrame, ...]]]:
    jf, cap = helios
    ph = _philly_tables()
    pai = _pai_tables()
    series = utilization.allocation_series(jf, cap, freq="1d")
    out: list[tuple[Callable[..., pl.DataFrame], tuple[pl.DataFrame, ...]]] = []
    # Every public function whose only required parameter is the jobs table.
    for mod in (jobs, users, arrivals, queueing, failures, summary):
        for name, fn in inspect.getmembers(mod, inspect.isfunction):
            params = list(inspect.signature(fn).parameters.values())
            required = [p.name for p in params if p.default is inspect.Parameter.empty]
            if not name.startswith("_") and fn.__module__ == mod.__name__ and required == ["jobs"]:
                out.append((fn, (jf,)))
    out += [
        (utilization.allocation_series, (jf, cap)),
        (utilization.allocation_profile, (series,)),
        (queueing.philly_attempt_delays, (ph["attempts"], ph["jobs"])),
        (queueing.philly_vc_queue_table, (ph["attempts"], ph["jobs"])),
        (queueing.philly_attempt_delay_cdf, (ph["attempts"], ph["jobs"])),
        (queueing.philly_locality, (ph["attempts"], ph["jobs"].with_columns(queue_s=1.0))),
        (queueing.philly_locality_summary,
         (ph["attempts"], ph["jobs"].with_columns(queue_s=1.0))),
        (utilization.philly_gpu_util, (ph["minutes"], ph["jobs"])),
        (utilization.philly_gpu_util_cdf, (ph["minutes"], ph["jobs"])),
        (utilization.philly_placement_util, (ph["minutes"], ph["jobs"], ph["attempts"])),
        (utilization.host_util_summary, (ph["host"],)),
        (utilization.host_util_cdf, (ph["host"],)),
        (queueing.pai_wait_by, (pai["tasks"],)),
        (utilization.pai_request_shares, (pai["tasks"],)),
        (utilization.pai_gpu_type_shares, (pai["tasks"],)),
        (utilization.pai_task_request_usage, (pai["tasks"], pai["sensors"])),
        (utilization.pai_request_usage_summary, (pai["tasks"], pai["sensors"])),
        (utilization.pai_request_usage_cdf, (pai["tasks"], pai["sensors"])),
        (utilization.pai_instance_cpu_mem, (pai["tasks"], pai["sensors"])),
        (utilization.pai_cpu_mem_usage_cdf, (pai["tasks"], pai["sensors"])),
        (utilization.pai_cpu_mem_usage_summary, (pai["tasks"], pai["sensors"])),
        (utilization.pai_machine_metric_cdf, (pai["machine_metric"],)),
        (utilization.pai_machine_metric_summary, (pai["machine_metric"],)),
        (summary.pai_volume, (pai["jobs"], pai["tasks"])),
        (arrivals.by_day, (pai["tasks"], None, False, "start_time")),
        (jobs.with_bucket_rank, (jobs.size_pmf(jf, scheme="philly"), "philly")),
    ]
    return out


def test_every_public_function_accepts_pandas(helios: tuple[pl.DataFrame, pl.DataFrame]) -> None:
    calls = _calls(helios)
    assert len(calls) >= 55  # the jobs functions of six modules plus the other tables
    for fn, args in calls:
        as_pandas: list[Any] = [a.to_pandas() if isinstance(a, pl.DataFrame) else a for a in args]
        want = fn(*args)
        got = fn(*as_pandas)
        # same rows in the same order: ties (users with equal totals) are broken in the function
        try:
            assert_frame_equal(got, want, check_dtypes=False, check_exact=False)
        except AssertionError as exc:
            raise AssertionError(f"{fn.__name__}: {exc}") from None


def test_lazy_refuses_other_inputs_with_one_clear_error() -> None:
    with pytest.raises(TypeError, match="polars LazyFrame/DataFrame or a pandas DataFrame"):
        lazy({"num_gpus": [1]})
    with pytest.raises(TypeError, match="got list"):
        jobs.size_pmf([1, 2, 3])
