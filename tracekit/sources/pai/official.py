"""The official PAI v2020 analysis definitions, as named pandas functions.

These mirror ``cluster-trace-gpu-v2020/analysis/utils.py`` (``get_dfiw``, ``get_dfia``,
``get_dfa``, ``get_dfw``) and the notebook's ``dfws``/``dfas`` cells of alibaba/clusterdata, so
that tracekit's numbers can be checked against the published analysis. They
work on raw frames as the official ``get_df`` returns them (raw column names and units, NaN for
missing); :func:`load_raw` reads those through tracekit's own parser.

Two official behaviours are bugs; by default the functions reproduce them (``faithful=True``)
and with ``faithful=False`` they apply tracekit's correct definition (the one the store uses):

1. ``start_time == 0 -> NaN`` is followed by a line meant to NaN the matching ``end_time``, which
   is a no-op because ``start_time`` is NaN by then: a never-started instance/task keeps
   ``end_time == 0``. Correct: ``end_time`` is missing too (the store maps every 0 to null).
2. Task-level sensor sums use pandas ``sum()``, which turns an all-NaN group into 0 (a task with
   no sensor values "used 0 % GPU"). Correct: the sum is missing.

A third difference is a choice, not a bug: the official task summary (``get_dfia``) does not
de-duplicate ``worker_name``, so a failed try and its retry both count in the task's earliest
start and mean runtime. The store's ``tasks.queue_s``/``duration_s`` keep the official
definition; :func:`worker_table` gives the de-duplicated view.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from tracekit.sources.pai import formats as pai
from tracekit.sources.pai.read import read_raw
from tracekit.timeutil import PAI_TIMEZONE

_KEYS = ["job_name", "task_name"]
SENSOR_SUM_COLUMNS: tuple[str, ...] = (
    "cpu_usage", "gpu_wrk_util", "avg_mem", "avg_gpu_wrk_mem",
    "plan_cpu", "plan_gpu", "plan_mem", "cap_cpu", "cap_gpu", "cap_mem",
)  # fmt: skip


def load_raw(raw_path: str | Path) -> dict[str, pd.DataFrame]:
    """Read the seven raw tables as the official ``get_df`` would (NaN for empty fields).

    Returns
    -------
    dict
        Keys ``dfj, dft, dfi, dfs, dfg, dfp, dfm`` (the official variable names).
    """
    short = {
        pai.JOB_TABLE: "dfj",
        pai.TASK_TABLE: "dft",
        pai.INSTANCE_TABLE: "dfi",
        pai.SENSOR_TABLE: "dfs",
        pai.GROUP_TAG_TABLE: "dfg",
        pai.MACHINE_SPEC: "dfp",
        pai.MACHINE_METRIC: "dfm",
    }
    out = {}
    for name, key in short.items():
        frame = read_raw(raw_path, name).to_pandas()
        # Official pandas reads empty string fields as NaN; polars gives None: same meaning.
        out[key] = frame.fillna(value=np.nan) if len(frame) else frame
    return out


def status_alphabetical_max(statuses: pd.Series) -> object:
    """Official task status from its instances: the alphabetical ``max`` of distinct strings.

    So ``Waiting > Terminated > Running > Failed`` -- not a semantic order.
    """
    return statuses.drop_duplicates().max()


def worker_table(dfi: pd.DataFrame, faithful: bool = True) -> pd.DataFrame:
    """Official de-duplicated worker table (``get_dfiw``).

    Sort by ``status, start_time, end_time``; keep the last row per ``worker_name``; drop rows
    without ``worker_name``; ``runtime = end - start`` where both > 0; ``start_time == 0`` ->
    NaN. With ``faithful=False`` the matching ``end_time`` becomes NaN too (bug 1).
    """
    dfiw = dfi.sort_values(["status", "start_time", "end_time"])
    dfiw = dfiw.drop_duplicates(subset=["worker_name"], keep="last")
    dfiw = dfiw.dropna(subset=["worker_name"]).copy()
    both = (dfiw.start_time > 0) & (dfiw.end_time > 0)
    dfiw["runtime"] = (dfiw.end_time - dfiw.start_time).where(both)
    never = dfiw.start_time == 0
    dfiw.loc[never, "start_time"] = np.nan
    if not faithful:
        dfiw.loc[never, "end_time"] = np.nan
    return dfiw


def task_instance_summary(dfi: pd.DataFrame) -> pd.DataFrame:
    """Official per-task instance summary (``get_dfia``), duplicates *not* removed.

    Columns: ``status`` (alphabetical max), ``start_time`` (earliest > 0), ``end_time``
    (latest > 0), ``runtime`` (mean of ``end - start`` over rows with both > 0).
    """
    dfi_s = dfi[dfi.start_time > 0][[*_KEYS, "start_time"]].groupby(_KEYS).min()
    dfi_e = dfi[dfi.end_time > 0][[*_KEYS, "end_time"]].groupby(_KEYS).max()
    dfi_m = dfi[(dfi.start_time > 0) & (dfi.end_time > 0)][[*_KEYS, "end_time", "start_time"]]
    dfi_m = dfi_m.assign(runtime=dfi_m.end_time - dfi_m.start_time)
    dfi_m = dfi_m.groupby(_KEYS)[["runtime"]].mean().reset_index()
    dfia = dfi[[*_KEYS, "status"]].drop_duplicates().groupby(_KEYS).max()
    for frame in (dfi_s, dfi_e, dfi_m):
        dfia = dfia.merge(frame, on=_KEYS, how="left")
    return dfia


def task_table(
    dft: pd.DataFrame,
    dfj: pd.DataFrame,
    dfi: pd.DataFrame,
    dfg: pd.DataFrame,
    faithful: bool = True,
) -> pd.DataFrame:
    """Official task table (``get_dfa``).

    Tasks inner-joined with jobs (suffix ``_j``) and with :func:`task_instance_summary`
    (suffix ``_i``; tasks without instance rows are dropped); ``runtime = end - start``;
    ``duration_min = runtime_i / 60``; ``wait_time = start_time_i - start_time``; group tags
    left-joined on ``inst_id``, missing ``group`` filled with ``user``. ``faithful=False`` also
    NaNs ``end_time`` where ``start_time == 0`` (bug 1).
    """
    dfa = dft.merge(dfj, on=["job_name"], suffixes=("", "_j"))
    never = dfa.start_time == 0
    dfa.loc[never, "start_time"] = np.nan
    if not faithful:
        dfa.loc[never, "end_time"] = np.nan
    dfa["runtime"] = dfa.end_time - dfa.start_time
    dfa = dfa.merge(task_instance_summary(dfi), on=_KEYS, suffixes=("", "_i"))
    dfa["duration_min"] = dfa.runtime_i / 60
    dfa["wait_time"] = dfa.start_time_i - dfa.start_time
    dfa["start_date"] = pd.to_datetime(dfa.start_time, unit="s", utc=True).dt.tz_convert(
        PAI_TIMEZONE
    )
    tags = dfg[[c for c in dfg.columns if c != "user"]]
    dfa = dfa.merge(tags, on="inst_id", how="left")
    dfa.loc[dfa.group.isnull(), "group"] = dfa.loc[dfa.group.isnull(), "user"]
    return dfa


def task_runtime_s(dfa: pd.DataFrame) -> pd.Series:
    """Official task runtime: mean instance runtime in seconds (``runtime_i``)."""
    return dfa.set_index(_KEYS)["runtime_i"]


def task_wait_time_s(dfa: pd.DataFrame) -> pd.Series:
    """Official task wait: earliest instance start (> 0) - task start, seconds."""
    return dfa.set_index(_KEYS)["wait_time"]


def task_gpus(dft: pd.DataFrame) -> pd.Series:
    """GPUs of each task: ``inst_num * plan_gpu / 100`` (maintainer, clusterdata issue #129)."""
    return (dft.inst_num * dft.plan_gpu / 100).set_axis(pd.MultiIndex.from_frame(dft[_KEYS]))


def worker_table_with_tasks(
    dfi: pd.DataFrame, dft: pd.DataFrame, dfg: pd.DataFrame, faithful: bool = True
) -> pd.DataFrame:
    """Official worker table joined with tasks (suffix ``_t``) and group tags (``get_dfw``)."""
    dfw = worker_table(dfi, faithful=faithful)
    dfw["start_date"] = pd.to_datetime(dfw.start_time, unit="s", utc=True).dt.tz_convert(
        PAI_TIMEZONE
    )
    dfw = dfw.merge(dft, on=_KEYS, how="left", suffixes=("", "_t"))
    dfw = dfw.merge(dfg, on="inst_id", how="left")
    dfw.loc[dfw.group.isnull(), "group"] = dfw.loc[dfw.group.isnull(), "user"]
    return dfw


def task_sensor_sums(
    dfa: pd.DataFrame,
    dfw: pd.DataFrame,
    dfs: pd.DataFrame,
    dfp: pd.DataFrame,
    faithful: bool = True,
) -> pd.DataFrame:
    """Official task-level request vs usage table (notebook ``dfws`` then ``dfas``).

    Workers left-joined with machine capacities, inner-joined with sensors (tasks without
    sensor rows vanish), then summed per task: per-instance ``plan_*`` and sensor usage add up
    over the task's workers. ``faithful=False`` keeps an all-NaN sum as NaN (bug 2).
    """
    dfws = dfw.merge(dfp.drop(columns=["gpu_type"]), on="machine", how="left")
    dfws = dfws.merge(
        dfs.drop(columns=["job_name", "task_name", "inst_id", "machine"]), on="worker_name"
    )
    cols = list(SENSOR_SUM_COLUMNS)
    grouped = dfws.groupby(_KEYS)[cols]
    sums = grouped.sum() if faithful else grouped.sum(min_count=1)
    return dfa.drop(columns=["plan_cpu", "plan_mem", "plan_gpu"]).merge(sums, on=_KEYS)


def plan_vs_usage_shares(dfas: pd.DataFrame) -> dict[str, tuple[float, float]]:
    """Share of tasks (%) whose request exceeds / falls below usage, per resource.

    Official ``plan_minus_usg_over_cap_task``: ``(plan - usage) / capacity`` per task (mean over
    its rows), then the percentage of tasks with a positive and with a negative value among the
    tasks where it is defined. Returns ``{"cpu": (plan>usage %, plan<usage %), "gpu": ..., "mem":
    ...}`` (the real trace gives gpu 98.02 / 1.97).
    """
    diff = pd.DataFrame(
        {
            "gpu": (dfas.plan_gpu - dfas.gpu_wrk_util) / (100 * dfas.cap_gpu),
            "cpu": (dfas.plan_cpu - dfas.cpu_usage) / (100 * dfas.cap_cpu),
            "mem": (dfas.plan_mem - dfas.avg_mem) / dfas.cap_mem,
        }
    )
    per_task = diff.set_axis(pd.MultiIndex.from_frame(dfas[_KEYS])).groupby(level=[0, 1]).mean()
    out = {}
    for device in ("cpu", "gpu", "mem"):
        # Like the official code: infinities (capacity 0) count as defined values.
        values = per_task[device].dropna()
        n = len(values)
        out[device] = (
            (100.0 * (values > 0).sum() / n, 100.0 * (values < 0).sum() / n) if n else (np.nan,) * 2
        )
    return out


__all__ = [
    "SENSOR_SUM_COLUMNS",
    "load_raw",
    "plan_vs_usage_shares",
    "status_alphabetical_max",
    "task_gpus",
    "task_instance_summary",
    "task_runtime_s",
    "task_sensor_sums",
    "task_table",
    "task_wait_time_s",
    "worker_table",
    "worker_table_with_tasks",
]
