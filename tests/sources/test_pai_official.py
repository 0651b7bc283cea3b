"""The official PAI analysis definitions against hand-computed outputs of the official code on the
fixtures, and the store against them."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import polars as pl
import pytest

from tracekit.sources import pai
from tracekit.sources.pai import official as pai_official
from tracekit.store import open_store

FIXTURES = Path(__file__).parents[1] / "fixtures" / "pai"
NAN = np.nan


def _job(n: int) -> str:
    return f"aaaa{n:020d}"


def _worker(n: int) -> str:
    return "dddd" + "0" * 54 + f"{n:02d}"


@pytest.fixture(scope="module")
def raw() -> dict[str, pd.DataFrame]:
    return pai_official.load_raw(FIXTURES)


@pytest.fixture(scope="module")
def dfa(raw) -> pd.DataFrame:
    return pai_official.task_table(raw["dft"], raw["dfj"], raw["dfi"], raw["dfg"])


# job, task, start_time, start_time_i, runtime, runtime_i, wait_time, gpu_type_spec, group
EXPECTED_DFA = [
    (1, "tensorflow", 4550879, 4550900, 537, 516.0, 21, NAN, "9999" + "0" * 27 + "1"),
    (2, "ps", 1739162, 1739170, 5838, 5830.0, 8, "T4", "9999" + "0" * 27 + "2"),
    (2, "worker", 1739162, 1739180, 5838, 11510 / 3, 18, "T4", "9999" + "0" * 27 + "2"),
    (3, "PyTorchWorker", 6000000, 6000100, NAN, NAN, 100, NAN, "cccc00000002"),
    (4, "worker", NAN, NAN, NAN, NAN, NAN, NAN, "cccc00000002"),
    (5, "worker", 2000000, 2000010, 300, 290.0, 10, NAN, "cccc00000003"),
    (6, "worker", 3000000, 3000050, 90000, 89940.0, 50, "V100M32", "9999" + "0" * 27 + "3"),
    (7, "OssToVolumeWorker", 494319, 494330, 81, 70.0, 11, NAN, "9999" + "0" * 27 + "4"),
]


def test_task_table_matches_fixture(dfa: pd.DataFrame) -> None:
    assert len(dfa) == 8
    got = dfa.set_index(["job_name", "task_name"])
    for job, task, st, st_i, rt, rt_i, wait, spec, group in EXPECTED_DFA:
        row = got.loc[(_job(job), task)]
        values = [row.start_time, row.start_time_i, row.runtime, row.runtime_i, row.wait_time]
        np.testing.assert_allclose(values, [st, st_i, rt, rt_i, wait], rtol=1e-12)
        assert (pd.isna(spec) and pd.isna(row.gpu_type_spec)) or row.gpu_type_spec == spec
        assert row.group == group
        assert row.status == row.status_j == row.status_i
    assert got.loc[(_job(2), "worker")].duration_min == pytest.approx(11510 / 3 / 60)
    assert str(got.loc[(_job(7), "OssToVolumeWorker")].start_date) == "1970-01-07 01:18:39+08:00"


def test_named_definitions(raw, dfa: pd.DataFrame) -> None:
    runtime = pai_official.task_runtime_s(dfa)
    wait = pai_official.task_wait_time_s(dfa)
    assert runtime[(_job(2), "worker")] == pytest.approx(3836.6666667)
    assert wait[(_job(2), "worker")] == 18.0
    gpus = pai_official.task_gpus(raw["dft"])
    np.testing.assert_allclose(gpus.to_numpy(), [0.5, NAN, 2.0, 1.0, 0.25, 0.5, 16.0, NAN])
    statuses = pd.Series(["Failed", "Terminated", "Failed"])
    assert pai_official.status_alphabetical_max(statuses) == "Terminated"
    assert pai_official.status_alphabetical_max(pd.Series(["Running", "Waiting"])) == "Waiting"


def test_worker_table_faithful_and_fixed(raw) -> None:
    dfw = pai_official.worker_table_with_tasks(raw["dfi"], raw["dft"], raw["dfg"])
    order = [5, 10, 2, 4, 3, 8, 9, 1, 6]
    assert dfw.worker_name.tolist() == [_worker(n) for n in order]
    w03 = dfw[dfw.worker_name == _worker(3)].iloc[0]
    assert (w03.status, w03.runtime) == ("Terminated", 5600.0)
    w06 = dfw[dfw.worker_name == _worker(6)].iloc[0]
    assert np.isnan(w06.start_time) and w06.end_time == 0.0  # official bug 1 reproduced
    assert dfw[dfw.worker_name == _worker(5)].group.isna().all()  # untagged: NaN in dfw
    fixed = pai_official.worker_table(raw["dfi"], faithful=False)
    assert np.isnan(fixed[fixed.worker_name == _worker(6)].end_time.iloc[0])


def test_task_sensor_sums(raw, dfa: pd.DataFrame) -> None:
    dfw = pai_official.worker_table_with_tasks(raw["dfi"], raw["dft"], raw["dfg"])
    dfas = pai_official.task_sensor_sums(dfa, dfw, raw["dfs"], raw["dfp"]).set_index(
        ["job_name", "task_name"]
    )
    assert len(dfas) == 4  # inner join with sensors: job 2 ps (no sensor row) vanishes
    assert (dfas.loc[(_job(1), "tensorflow")][["gpu_wrk_util", "plan_gpu"]] == [16.0625, 50]).all()
    w2 = dfas.loc[(_job(2), "worker")]
    assert (w2.gpu_wrk_util, w2.plan_gpu, w2.cap_gpu) == (165.75, 200.0, 10.0)
    w6 = dfas.loc[(_job(6), "worker")]
    assert (w6.gpu_wrk_util, w6.plan_gpu) == (612.5, 1600.0)
    j7 = dfas.loc[(_job(7), "OssToVolumeWorker")]
    assert (j7[list(pai_official.SENSOR_SUM_COLUMNS[:4])] == 0.0).all()  # official bug 2
    fixed = pai_official.task_sensor_sums(dfa, dfw, raw["dfs"], raw["dfp"], faithful=False)
    j7f = fixed.set_index(["job_name", "task_name"]).loc[(_job(7), "OssToVolumeWorker")]
    assert j7f[list(pai_official.SENSOR_SUM_COLUMNS[:4])].isna().all()
    shares = pai_official.plan_vs_usage_shares(dfas.reset_index())
    assert shares["gpu"] == (100.0, 0.0)  # 3 GPU tasks, all request more than they use


def test_store_tasks_agree_with_official(tmp_path: Path, dfa: pd.DataFrame) -> None:
    pai.ingest(FIXTURES, tmp_path / "store")
    tasks = open_store(tmp_path / "store").scan("tasks").collect()
    ours = tasks.to_pandas().set_index(["job_name", "task_name"])
    official = dfa.set_index(["job_name", "task_name"])
    np.testing.assert_allclose(
        ours.loc[official.index, "queue_s"].to_numpy(dtype=float), official.wait_time.to_numpy()
    )
    np.testing.assert_allclose(
        ours.loc[official.index, "duration_s"].to_numpy(dtype=float),
        official.runtime_i.to_numpy(),
    )
    np.testing.assert_allclose(
        ours.loc[official.index, "num_gpus"].to_numpy(dtype=float),
        (official.inst_num * official.plan_gpu / 100).to_numpy(),
    )
    # Where the official code keeps end_time 0 for a never-started task, the store has null.
    assert tasks.filter(pl.col("job_name") == _job(4))["end_time"].to_list() == [None]
