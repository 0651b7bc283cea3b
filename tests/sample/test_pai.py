"""The synthetic PAI sample: raw byte format, determinism, calibration, reader round trip."""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from tracekit.analysis.findings import findings_table
from tracekit.sample.pai import (
    GPU_TYPES,
    TIME_ORIGIN_S,
    _schedule_tasks,
    _write_machine_spec,
    generate_pai,
    hex_ids,
    measure_pai,
)
from tracekit.sources import pai as reader
from tracekit.sources._common import SYNTHETIC_MARKER, read_synthetic_marker

# sha256 of the official .header files (clusterdata README / qzweng-data check_shasum.sh).
HEADER_SHA256 = {
    "pai_job_table": "3ac33aefab9a4d81338794fa145fe280594a379444961a9c639f00181c508567",
    "pai_task_table": "978bbaabfc8695874c605c01c144b2977f611ceca73aeb72189988cdfbfb0a9c",
    "pai_instance_table": "51f2585178eaaf30ad8cc88c50ec9243b0f7d9603603ab7602efccb7aa34f6b0",
    "pai_sensor_table": "d3e26eb31fb3b833821373b487266312151a3bfb2f18fc62017a438546cc1362",
    "pai_group_tag_table": "320470fa8f77182bc6052c95ff359b75542c748e9516b3d8148a6e2bafc1798d",
    "pai_machine_spec": "4c9ea25914ff3f0b73be9ff223fb91002e787138165abd3f584ba37281448e1c",
    "pai_machine_metric": "300342613103c6192490f8990958903d837053c13adbc6c094d677074fbbb7ad",
}
CALIBRATION_SCALE = 0.01  # ~10.5 k jobs; tolerances below hold across seeds at this size
FLOAT_TIME = re.compile(r"^(\d+\.0)?$")  # 4550879.0, or empty
INT_TIME = re.compile(r"^\d*$")  # machine_metric: 6150435, or empty
NUMBER = re.compile(r"^(-?\d+(\.\d+)?(e[+-]?\d+)?)?$")


def _hexre(n: int) -> re.Pattern[str]:
    return re.compile(rf"^[0-9a-f]{{{n}}}$")


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    out = tmp_path_factory.mktemp("pai_sample") / "pai"
    summary = generate_pai(out, CALIBRATION_SCALE, seed=11)
    return out, summary


@pytest.fixture(scope="module")
def measured(sample: tuple[Path, dict]) -> dict:
    return measure_pai(sample[0])


def _lines(path: Path) -> list[list[str]]:
    data = path.read_bytes()
    assert b"\r" not in data and data.endswith(b"\n") and b'"' not in data
    return [ln.split(",") for ln in data.decode().splitlines()]


def test_headers_are_the_official_files(sample: tuple[Path, dict]) -> None:
    out, _ = sample
    for name, digest in HEADER_SHA256.items():
        assert hashlib.sha256((out / f"{name}.header").read_bytes()).hexdigest() == digest, name


def test_every_row_has_the_header_field_count_and_no_header_row(sample: tuple[Path, dict]) -> None:
    out, summary = sample
    for name in reader.RAW_TABLES:
        rows = _lines(out / f"{name}.csv")
        assert {len(r) for r in rows} == {len(reader.HEADERS[name])}, name
        assert rows[0] != list(reader.HEADERS[name])
        assert len(rows) == summary["rows"][name] > 0


def test_byte_format_of_fields(sample: tuple[Path, dict]) -> None:
    out, _ = sample
    jobs = _lines(out / "pai_job_table.csv")
    assert all(_hexre(24).match(r[0]) and _hexre(60).match(r[1]) and _hexre(12).match(r[2])
               for r in jobs)  # fmt: skip
    assert all(FLOAT_TIME.match(r[4]) and r[4] and FLOAT_TIME.match(r[5]) for r in jobs)
    assert {r[3] for r in jobs} == set(reader.STATUSES)
    assert min(float(r[4]) for r in jobs) == TIME_ORIGIN_S
    assert max(float(r[4]) for r in jobs) < 6.0e6

    tasks = _lines(out / "pai_task_table.csv")
    assert all(re.match(r"^\d+\.0$", r[2]) for r in tasks)  # inst_num like 1.0
    assert all(FLOAT_TIME.match(r[4]) and FLOAT_TIME.match(r[5]) for r in tasks)
    assert all(NUMBER.match(r[6]) and r[6] and NUMBER.match(r[7]) and r[7] for r in tasks)
    assert {r[9] for r in tasks} <= {"", *reader.TASK_GPU_TYPES}
    cpu_roles = [r for r in tasks if r[8] == ""]
    assert cpu_roles and all(r[9] == "" for r in cpu_roles)  # empty, never 0
    assert not any(r[8] in {"0", "0.0"} for r in tasks)
    assert "29.296875" in {r[7] for r in tasks}  # README plan_mem style

    inst = _lines(out / "pai_instance_table.csv")
    assert all(_hexre(60).match(r[2]) and (r[3] == "" or _hexre(60).match(r[3])) for r in inst)
    assert all(FLOAT_TIME.match(r[6]) and FLOAT_TIME.match(r[7]) for r in inst)
    assert all(r[8] == "" or _hexre(24).match(r[8]) for r in inst)

    sensor = _lines(out / "pai_sensor_table.csv")
    assert {r[5] for r in sensor} <= {"", *(f"/dev/nvidia{k}" for k in range(8))}
    assert all(NUMBER.match(v) for r in sensor for v in r[6:])

    tags = _lines(out / "pai_group_tag_table.csv")
    assert all(_hexre(60).match(r[0]) and _hexre(32).match(r[3]) for r in tags)
    assert {r[2] for r in tags} <= {"", *reader.TASK_GPU_TYPES}

    metric = _lines(out / "pai_machine_metric.csv")
    assert all(INT_TIME.match(r[2]) and r[2] and INT_TIME.match(r[3]) for r in metric)
    assert all(NUMBER.match(v) for r in metric for v in r[4:])


def test_floats_print_like_python_repr(sample: tuple[Path, dict]) -> None:
    """Every float field is written exactly as Python/pandas would (``1e-05``, ``4550879.0``)."""
    out, _ = sample
    float_cols = {
        "pai_job_table": range(4, 6),
        "pai_task_table": (2, 4, 5, 6, 7, 8),
        "pai_instance_table": range(6, 8),
        "pai_sensor_table": range(6, 16),
        "pai_machine_metric": range(4, 12),
    }
    for name, cols in float_cols.items():
        bad = [r[c] for r in _lines(out / f"{name}.csv") for c in cols
               if r[c] and repr(float(r[c])) != r[c]]  # fmt: skip
        assert not bad, (name, bad[:5])


def test_marker_says_synthetic(sample: tuple[Path, dict]) -> None:
    out, summary = sample
    marker = json.loads((out / SYNTHETIC_MARKER).read_text())
    assert marker["synthetic"] is True and "synthetic" in marker["note"]
    assert marker["seed"] == 11 and marker["scale"] == CALIBRATION_SCALE
    assert marker["pai_generator_version"] and marker["rows"] == summary["rows"]
    assert read_synthetic_marker(out) == marker


def test_same_seed_gives_identical_bytes_and_another_seed_differs(tmp_path: Path) -> None:
    def digests(folder: Path) -> dict[str, str]:
        return {p.name: hashlib.sha256(p.read_bytes()).hexdigest()
                for p in sorted(folder.iterdir())}  # fmt: skip

    generate_pai(tmp_path / "a", 0.002, seed=5)
    generate_pai(tmp_path / "b", 0.002, seed=5)
    generate_pai(tmp_path / "c", 0.002, seed=6)
    a, b, c = digests(tmp_path / "a"), digests(tmp_path / "b"), digests(tmp_path / "c")
    assert a == b and len(a) == 15
    assert a["pai_job_table.csv"] != c["pai_job_table.csv"]


def test_machine_spec_real_copy_and_rebuild(tmp_path: Path, real_dir: Path) -> None:
    (tmp_path / "r").mkdir()
    _write_machine_spec(tmp_path / "r", None, seed=1)  # rebuilt: the real configurations
    rows = _lines(tmp_path / "r" / "pai_machine_spec.csv")
    configs: dict[tuple[str, ...], int] = {}
    for r in rows:
        configs[tuple(r[1:])] = configs.get(tuple(r[1:]), 0) + 1
    expected = {("P100", "64", "512", "2"): 798, ("T4", "96", "512", "2"): 497,
                ("MISC", "96", "512", "8"): 280, ("V100M32", "96", "384", "8"): 135,
                ("CPU", "96", "512", "0"): 83, ("V100", "96", "512", "8"): 59,
                ("V100", "96", "384", "8"): 45}  # fmt: skip
    assert len(rows) == 1897 and configs == expected
    real = real_dir / "pai/pai_machine_spec.csv"
    (tmp_path / "x").mkdir()
    _write_machine_spec(tmp_path / "x", real, seed=1)
    assert (tmp_path / "x" / "pai_machine_spec.csv").read_bytes() == real.read_bytes()


def test_machine_pool_follows_the_sampled_load(sample: tuple[Path, dict], real_dir: Path) -> None:
    # A sample keeps the first machines of each type of the real spec, byte for byte, as many
    # as each type's load needs: every type is there, in the real file's order.
    out, summary = sample
    kept = (out / "pai_machine_spec.csv").read_bytes().splitlines()
    real = (real_dir / "pai/pai_machine_spec.csv").read_bytes().splitlines()
    assert 5 < len(kept) < len(real) / 10 and summary["rows"]["pai_machine_spec"] == len(kept)
    assert set(kept) <= set(real)
    order = [real.index(line) for line in kept]
    assert order == sorted(order)
    types = {line.split(b",")[1] for line in kept}
    assert types == {b"CPU", b"T4", b"MISC", b"P100", b"V100", b"V100M32"}


def test_instances_sit_on_machines_of_their_gpu_type(sample: tuple[Path, dict]) -> None:
    out, _ = sample
    mtype = {r[0]: r[1] for r in _lines(out / "pai_machine_spec.csv")}
    ttype = {(r[0], r[1]): r[9] for r in _lines(out / "pai_task_table.csv")}
    placed = [(ttype[(r[0], r[1])], mtype[r[8]]) for r in _lines(out / "pai_instance_table.csv")
              if r[8]]  # fmt: skip
    gpu = [(t, m) for t, m in placed if t]
    assert gpu and all(t == m for t, m in gpu)


def test_status_and_end_time_shares(measured: dict) -> None:
    js, ts = measured["job_status_share"], measured["task_status_share"]
    for status, target in (("Terminated", 0.6938), ("Failed", 0.2431), ("Running", 0.0596)):
        assert js[status] == pytest.approx(target, abs=0.025), status
    assert 0 < js["Waiting"] < 0.01
    for status, target in (("Terminated", 0.7019), ("Failed", 0.2036), ("Running", 0.0916)):
        assert ts[status] == pytest.approx(target, abs=0.03), status
    assert measured["job_end_empty_share"] == pytest.approx(0.2808, abs=0.025)
    assert measured["failed_job_end_empty_share"] == pytest.approx(0.785, abs=0.05)


def test_gpu_requests_and_usage_gap(measured: dict) -> None:
    # findings A3: 53.1 of 97.8 % of tasks with a plan_gpu ask for < 1 GPU -> 0.543
    assert measured["task_lt_1gpu_share"] == pytest.approx(0.543, abs=0.07)
    assert measured["task_plan_gpu_empty_share"] == pytest.approx(223_965 / 1_261_050, abs=0.05)
    # A6: plan > usage for 98.02 % of tasks
    assert measured["task_plan_gt_usage_share"] == pytest.approx(0.9802, abs=0.015)
    util = measured["sensor_gpu_util"]
    assert util["zero_share"] == pytest.approx(0.345, abs=0.04)
    assert 0.5 < util["median"] < 5
    assert measured["gpu_type_share"]["MISC"] == pytest.approx(0.677, abs=0.08)


def test_task_waits_emerge_from_the_scheduler() -> None:
    # One T4 machine (2 GPUs = 20 tenths): three 2-GPU tasks ready at 0, 1 and 2 s run one
    # after the other, and a tenth-of-a-GPU task ready at 3 s waits until the third ends: the
    # machine is full until then. Its wait comes from the schedule, nothing is drawn.
    machines = pl.DataFrame({"gpu_type": ["T4", "CPU"], "cap_gpu": [2, 0]})
    t4 = GPU_TYPES.index("T4")
    start = _schedule_tasks(
        np.array([0.0, 1.0, 2.0, 3.0]), np.array([20, 20, 20, 1]),
        np.array([10.0, 10.0, 10.0, 5.0]), np.full(4, t4), machines, seed=7,
    )  # fmt: skip
    assert start.tolist() == [0.0, 10.0, 20.0, 30.0]


def test_waits_are_start_up_latency_plus_contention(measured: dict) -> None:
    # Every task first takes a start-up latency (T4's published wait, median 3 s); contention
    # on the sample's machine pool adds to it.
    wait = measured["wait_p50_p90_by_gpu_type"]
    for gpu_type, (p50, p90) in wait.items():
        assert 1 <= p50 <= 10 and p90 >= p50, gpu_type


def test_time_shape_users_and_recurrence(measured: dict) -> None:
    assert measured["hourly_shape_corr"] > 0.85
    assert measured["jobs_10min_dispersion_index"] > 1.2  # over-dispersed vs Poisson (=1)
    p10, p50, p90 = measured["tasks_per_user_p10_p50_p90"]
    assert p90 / p50 > 4  # skewed users
    assert measured["task_share_in_groups_ge5"] == pytest.approx(0.65, abs=0.08)
    assert measured["recurring_within_25pct_of_group_median"] == pytest.approx(0.78, abs=0.08)
    assert 0.04 < measured["workload_share_of_tags"] < 0.16
    assert 0.99 < measured["tag_rows_per_job"] < 1.01  # one per job, a few missing or orphan


def test_quirks_are_present(measured: dict) -> None:
    q = measured["quirks"]
    for key in ("duplicate_worker_rows", "empty_worker_rows", "instance_zero_start_rows",
                "task_zero_start_rows", "task_empty_plan_gpu_rows", "jobs_without_tag",
                "orphan_tag_rows"):  # fmt: skip
        assert q[key] > 0, key


def test_round_trip_through_the_reader(sample: tuple[Path, dict], tmp_path: Path) -> None:
    out, summary = sample
    from tracekit import open_store

    written = reader.ingest(out, tmp_path / "store")["pai"]
    rows = summary["rows"]
    assert written["jobs"] == rows["pai_job_table"]
    assert written["tasks"] == rows["pai_task_table"]
    assert written["instances"] == rows["pai_instance_table"]
    assert written["sensors"] == rows["pai_sensor_table"]
    assert written["machines"] == rows["pai_machine_spec"]
    jobs = open_store(tmp_path / "store").scan("jobs", trace="pai").collect()
    assert jobs.height == rows["pai_job_table"]
    assert set(jobs["status"].unique()) == {"completed", "failed", "censored"}
    manifest = json.loads((tmp_path / "store" / "manifest.json").read_text())
    assert manifest["partitions"]["pai/pai"]["synthetic"] is True
    # the calibrated inputs agree with the published numbers they were drawn from
    ft = findings_table(open_store(tmp_path / "store"), ids=["A1", "A3", "A4"])
    calibrated = ft.filter(~pl.col("metric").str.contains("Acme"))
    assert calibrated.height == 12
    assert (calibrated["agreement"] != "differs").all(), calibrated.filter(
        pl.col("agreement") == "differs"
    )


def test_hex_ids_are_unique_and_stable() -> None:
    idx = np.arange(200_000)
    a = hex_ids(idx, 7, 24).to_pylist()
    assert len(set(a)) == idx.size and all(len(s) == 24 for s in a[:10])
    assert hex_ids(idx[:5], 7, 24).to_pylist() == a[:5]
    assert hex_ids(idx[:5], 8, 24).to_pylist() != a[:5]


def test_rejects_bad_scale(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="scale"):
        generate_pai(tmp_path, 0, seed=1)
