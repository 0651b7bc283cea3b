"""Replay sweeps (tracekit.replay.sweep): configs, TOML, slices, executors, notebook grids."""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from typer.testing import CliRunner

from tracekit.cli import app
from tracekit.replay.sweep import (
    SweepConfig,
    configs_from_toml,
    load_slice,
    parse_predictor,
    policy_predictor_grid,
    prepare_compiled,
    sensitivity_grid,
    sweep,
    sweep_toml,
    with_predictions,
)
from tracekit.schema import JOBS
from tracekit.store import begin

T0 = datetime(2020, 7, 1, tzinfo=UTC)


def _full(df: pl.DataFrame) -> pl.DataFrame:
    return df.with_columns(**{c: pl.lit(None) for c in JOBS.names if c not in df.columns})


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny store: a PAI-like partition (GPU types, fractional GPUs, sensors' utilisation,
    store predictions) and a Helios-like one (VC capacity, no utilisation)."""
    rng = np.random.default_rng(5)
    root = tmp_path_factory.mktemp("sweep") / "store"
    n = 120
    types = rng.choice(["T4", "MISC", "V100"], n)
    pai = _full(
        pl.DataFrame(
            {
                "job_id": [f"p{i}" for i in range(n)],
                "user": rng.choice(["u1", "u2", "u3"], n).tolist(),
                "gpu_type": types.tolist(),
                "submit_time": [
                    T0 + timedelta(seconds=int(s)) for s in np.sort(rng.integers(0, 20000, n))
                ],  # fmt: skip
                "duration_s": rng.integers(30, 3000, n).astype(float),
                "num_gpus": rng.choice([0.25, 0.5, 1.0, 2.0], n),
                "gpu_util_mean": pl.Series(
                    [
                        float(u) if k else None
                        for u, k in zip(
                            rng.uniform(0, 60, n), rng.uniform(size=n) < 0.5, strict=True
                        )
                    ],
                    dtype=pl.Float64,
                ),  # fmt: skip
            }
        )
    )
    machines = pl.DataFrame(
        {
            "machine_id": [f"m{i}" for i in range(7)],
            "num_gpus": [2.0, 2.0, 8.0, 8.0, 8.0, 8.0, 0.0],
            "gpu_type": ["T4", "T4", "MISC", "MISC", "V100", "V100", "CPU"],
            "gpu_mem_gb": [None] * 7,
            "num_cpus": [96.0] * 7,
            "mem_gb": [512.0] * 7,
        },
        schema_overrides={"gpu_mem_gb": pl.Float64},
    )
    preds = pl.DataFrame(
        {
            "job_id": [f"p{i}" for i in range(n - 10)],  # 10 jobs without a prediction
            "model": ["m1"] * (n - 10),
            "pred_duration_s": rng.uniform(30, 3000, n - 10),
            "pred_q10_s": [None] * (n - 10),
            "pred_q90_s": [None] * (n - 10),
            "trained_until": [T0] * (n - 10),
        },
        schema_overrides={"pred_q10_s": pl.Float64, "pred_q90_s": pl.Float64},
    )
    with begin(root, "pai") as tx:
        tx.write("jobs", "pai", pai)
        tx.write("machines", "pai", machines)
    with begin(root, "pai", mode="update") as tx:
        tx.write("predictions", "pai", preds)
    m = 100
    helios = _full(
        pl.DataFrame(
            {
                "job_id": [f"h{i}" for i in range(m)],
                "user": rng.choice(["a", "b"], m).tolist(),
                "vc": rng.choice(["vcA", "vcB"], m).tolist(),
                "submit_time": [
                    T0 + timedelta(seconds=int(s)) for s in np.sort(rng.integers(0, 20000, m))
                ],  # fmt: skip
                "duration_s": rng.integers(30, 3000, m).astype(float),
                "num_gpus": rng.choice([1.0, 2.0, 8.0], m),
            }
        )
    )
    cap = pl.DataFrame({"date": [date(2020, 7, 1)] * 2, "vc": ["vcA", "vcB"],
                        "num_gpus": [16.0, 8.0]})  # fmt: skip
    with begin(root, "helios") as tx:
        tx.write("jobs", "Venus", helios)
        tx.write("capacity", "Venus", cap)
    return root


def _configs(store: Path) -> list[SweepConfig]:
    out = []
    for policy in ("fifo", "qssf", "lucid"):
        for pred in ("oracle", "noisy:1.0"):
            out.append(SweepConfig("pai", "pai", policy, pred, seed=1, store=str(store)))
            out.append(SweepConfig("helios", "Venus", policy, pred, seed=2, store=str(store)))
    return out


def test_parse_predictor() -> None:
    assert parse_predictor("oracle") == ("oracle", None)
    assert parse_predictor("noisy:0.5") == ("noisy", 0.5)
    assert parse_predictor("model:lgbm") == ("model", "lgbm")
    for bad in ("noisy", "noisy:x", "noisy:-1", "model:", "magic"):
        with pytest.raises(ValueError):
            parse_predictor(bad)


def test_noisy_predictions_seeded() -> None:
    jobs = pl.DataFrame({"duration_s": [10.0, 20.0, 30.0]})
    a = with_predictions(jobs, "noisy:1.0", 3, "x")["pred_duration_s"]
    assert a.to_list() == with_predictions(jobs, "noisy:1.0", 3, "x")["pred_duration_s"].to_list()
    assert a.to_list() != with_predictions(jobs, "noisy:1.0", 4, "x")["pred_duration_s"].to_list()
    assert with_predictions(jobs, "noisy:0", 3, "x")["pred_duration_s"].to_list() == [10, 20, 30]


def test_slices_read_only_their_partition(store: Path) -> None:
    pai = load_slice(SweepConfig("pai", "pai", "fifo", store=str(store)))
    assert pai.jobs["job_id"].str.starts_with("p").all()
    assert pai.cluster.groups == ["T4", "MISC", "V100"]  # type: ignore[union-attr]
    assert pai.jobs["util"].is_not_null().all()
    hel = load_slice(SweepConfig("helios", "Venus", "fifo", store=str(store)))
    assert hel.jobs["job_id"].str.starts_with("h").all() and hel.jobs.height == 100
    model = load_slice(SweepConfig("pai", "pai", "qssf", "model:m1", store=str(store)))
    assert model.notes["sweep.model_prediction_filled_with_median"] == 10
    assert model.jobs["pred_duration_s"].is_not_null().all()


@pytest.mark.slow
def test_sweep_sequential_vs_local_pool_vs_dask(
    store: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="tracekit.replay.sweep")
    configs = _configs(store)
    seq = sweep(configs, "sequential", progress=False)
    assert seq.height == len(configs)
    assert set(seq["engine"]) == {"shared", "whole"}
    assert seq.filter(pl.col("policy") == "lucid")["engine"].to_list() == ["shared"] * 4
    assert (seq["jobs"] > 0).all() and seq["jct_mean_s"].is_not_null().all()
    # whole GPUs run on the compiled core, and the Python core gives the same outcomes
    assert set(seq.filter(pl.col("engine") == "whole")["core"]) == {"compiled"}
    assert set(seq.filter(pl.col("engine") == "shared")["core"]) == {"compiled"}
    slow = sweep([replace(c, core="python") for c in configs], "sequential", progress=False)
    assert set(slow["core"]) == {"python"}
    assert slow["digest"].to_list() == seq["digest"].to_list()
    # FIFO ignores predictions entirely
    fifo = seq.filter(pl.col("policy") == "fifo")
    assert fifo.group_by("trace").agg(pl.col("digest").n_unique())["digest"].max() == 1
    local = sweep(configs, workers=1, progress=False)  # one spawned worker: the cheapest pool
    assert local["digest"].to_list() == seq["digest"].to_list()
    assert "pool workers load that cache" in caplog.text
    distributed = pytest.importorskip("distributed")
    # One worker process on loopback with an empty cache folder of its own: it can only load
    # the kernels from the files the sweep ships it (else it would compile, and say so).
    empty = tmp_path / "worker-numba-cache"
    toml = tmp_path / "s.toml"
    grid = '[grid]\ntrace_cluster = ["helios/Venus"]\npolicy = ["fifo", "srtf"]\n'
    toml.write_text(f'[sweep]\nstore = "{store}"\n[defaults]\ncapacity_scale = 1.0\n{grid}')
    with distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=True,
                                  dashboard_address=None, host="127.0.0.1",
                                  env={"NUMBA_CACHE_DIR": str(empty)}) as cluster:  # fmt: skip
        with distributed.Client(cluster) as client:
            dask = sweep(configs, client, progress=False)
        # `tracekit sweep --scheduler` says how its workers got the compiled core.
        args = ["sweep", str(toml), "--scheduler", cluster.scheduler_address]
        cli = CliRunner().invoke(app, args, env={"COLUMNS": "200"})
    assert dask["digest"].to_list() == seq["digest"].to_list()
    assert "to 1 dask workers: loaded on 1, compiled on 0" in caplog.text
    assert any(p.suffix == ".nbc" for p in empty.rglob("*"))
    assert cli.exit_code == 0, cli.output
    assert "shipped its cache" in cli.output and "loaded on 1, compiled on 0" in cli.output


def test_sweep_toml(store: Path, tmp_path: Path) -> None:
    toml = tmp_path / "s.toml"
    toml.write_text(
        f"""
[sweep]
store = "{store}"
out = "res/out.csv"

[defaults]
capacity_scale = 1.0

[grid]
trace_cluster = ["pai/pai", "helios/Venus"]
policy = ["fifo", "qssf"]
predictor = ["oracle", "noisy:0.5", "model:m1"]
seed = [0]

[[config]]
trace_cluster = "pai/pai"
policy = "lucid"
placement = "balance"
"""
    )
    configs = configs_from_toml(toml)
    assert len(configs) == 2 * 2 * 3 + 1
    assert configs[-1].placement == "balance" and configs[-1].resolved_engine == "shared"
    # model:m1 exists only for pai: the helios model configs fail loudly
    with pytest.raises(ValueError, match="predictions"):
        sweep_toml(toml, executor="sequential", progress=False)
    toml.write_text(toml.read_text().replace('"model:m1"', '"noisy:1.0"'))
    out = sweep_toml(toml, executor="sequential", progress=False)
    assert out.height == 13 and (tmp_path / "res/out.csv").exists()
    assert {"trace", "cluster", "policy", "predictor", "sigma", "seed", "jct_mean_s"} <= set(
        out.columns
    )
    bad = tmp_path / "bad.toml"
    bad.write_text('[grid]\npolicy = ["fifo"]\ncolour = ["red"]\n')
    with pytest.raises(ValueError, match="colour"):
        configs_from_toml(bad)


def _memory_trace(n: int = 300, seed: int = 0) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    return pl.DataFrame(
        {
            "job_id": [str(i) for i in range(n)],
            "vc": ["a"] * n,
            "submit_time": np.sort(rng.uniform(0, 20000, n)),
            "duration_s": rng.lognormal(6, 1.5, n).clip(1, 1e5),
            "num_gpus": rng.choice([1, 2, 4, 8], n, p=[0.6, 0.15, 0.15, 0.1]),
        }
    )


def test_policy_predictor_grid_and_sensitivity() -> None:
    jobs = _memory_trace()
    grid = policy_predictor_grid(jobs, {"a": (2, 8)}, ["fifo", "qssf"], ["oracle", "noisy:1"],
                                 [0, 1])  # fmt: skip
    assert grid.height == 8
    assert grid.select("policy", "predictor", "seed").unique().height == 8
    with ThreadPoolExecutor(2) as pool:  # any concurrent.futures executor works
        threaded = policy_predictor_grid(jobs, {"a": (2, 8)}, ["fifo", "qssf"],
                                         ["oracle", "noisy:1"], [0, 1], executor=pool)  # fmt: skip
    assert threaded["digest"].to_list() == grid["digest"].to_list()
    assert grid.columns[:4] == ["trace", "cluster", "policy", "predictor"]
    sens = sensitivity_grid(jobs, {"a": (2, 8)}, sigmas=(0.0, 2.0), seeds=(0, 1))
    assert sens.columns == ["sigma", "seed", "policy", "jct_mean_s", "queue_mean_s",
                            "baseline_jct_mean_s", "jct_gain"]  # fmt: skip
    assert sens.height == 4
    oracle = sens.filter(pl.col("sigma") == 0.0)
    assert oracle["jct_mean_s"].n_unique() == 1  # sigma 0 ignores the seed
    assert (oracle["jct_gain"] > 0).all()  # oracle QSSF beats FIFO on a loaded cluster
    shared = policy_predictor_grid(
        jobs.with_columns(pl.lit(0.3).alias("util")).drop("vc"), {"g": (2, 8)}, ["lucid"],
        ["oracle"], [0], engine="shared",
    )  # fmt: skip
    assert shared["colocated_share"][0] > 0


def test_sweep_toml_asks_the_hook_for_the_sample(tmp_path: Path) -> None:
    from tracekit.reports import ensure_sample_store

    toml = tmp_path / "s.toml"
    toml.write_text(
        '[sweep]\nstore = "st"\nsample = { scale = 0.002, seed = 5, traces = ["helios"] }\n'
        '[grid]\ntrace_cluster = ["helios/Venus"]\npolicy = ["fifo"]\n'
    )
    calls = []

    def hook(store: Path, scale: float, seed: int, traces: list[str]) -> Path:
        calls.append((store, scale, seed, traces))
        return ensure_sample_store(store, scale, seed, traces)

    out = sweep_toml(toml, executor="sequential", progress=False, prepare_store=hook)
    assert calls == [(tmp_path / "st", 0.002, 5, ["helios"])]
    assert out.height == 1 and out["jct_mean_s"][0] > 0
    # a second call finds the traces in the store and generates nothing
    assert ensure_sample_store(tmp_path / "st", 0.002, 5, ["helios"]) == tmp_path / "st"
    assert not (tmp_path / "st-raw" / "philly").exists()


def test_the_cli_prints_a_compact_table_of_80_columns(tmp_path: Path, sample_store: Path) -> None:
    toml = tmp_path / "s.toml"
    toml.write_text(
        f'[sweep]\nstore = "{sample_store}"\n'
        '[grid]\ntrace_cluster = ["helios/Venus"]\npolicy = ["fifo", "qssf"]\n'
        'predictor = ["oracle", "noisy:1.0"]\n[defaults]\nstart = "2020-09-01"\n'
    )
    out = tmp_path / "all.csv"
    result = CliRunner().invoke(app, ["sweep", str(toml), "--out", str(out)])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    head = next(ln for ln in lines if ln.startswith("run"))
    assert head.split() == ["run", "policy", "predictor", "jct_mean_s", "queue_mean_s",
                            "utilization", "dropped"]  # fmt: skip
    assert "…" not in result.output and max(len(ln) for ln in lines) <= 80
    full = pl.read_csv(out)
    rows = [ln.split() for ln in lines[lines.index(head) + 2 :] if ln.startswith("helios")]
    assert [int(r[-1]) for r in rows] == full["dropped"].to_list()
    assert [float(r[3]) for r in rows] == pytest.approx(full["jct_mean_s"].to_list(), rel=1e-3)
    assert {"seed", "engine", "digest"} <= set(full.columns)


def test_the_example_sweep_keeps_the_sample_capacity(repo_root: Path) -> None:
    configs = configs_from_toml(repo_root / "benchmarks" / "sweep_example.toml", store="st")
    assert len(configs) == 24
    assert {c.capacity_scale for c in configs} == {1.0}
    assert {(c.cluster, c.start, c.end) for c in configs} == {
        ("pai", "2020-07-06T00:00:00", "2020-07-13T00:00:00"),
        ("Venus", "2020-09-01T00:00:00", "2020-09-27T00:00:00"),
    }


def test_compiled_sweeps_run_in_process_unless_workers_are_asked(
    store: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    import tracekit.replay.sweep as sweep_module

    pools: list[int] = []

    def thread_pool(max_workers: int, mp_context: object) -> ThreadPoolExecutor:
        pools.append(max_workers)  # a thread pool stands in for the spawned processes
        return ThreadPoolExecutor(max_workers)

    monkeypatch.setattr(sweep_module, "ProcessPoolExecutor", thread_pool)
    caplog.set_level(logging.INFO, logger="tracekit.replay.sweep")
    whole = [SweepConfig("helios", "Venus", p, "noisy:1.0", store=str(store))
             for p in ("fifo", "qssf", "srtf")]  # fmt: skip
    assert all(c.compiled for c in whole)
    seq = sweep(whole, progress=False)
    assert pools == [] and "3 runs one after another" in caplog.text
    assert sweep(whole, workers=2, progress=False)["digest"].to_list() == seq["digest"].to_list()
    assert pools == [2]
    # Lucid's shared GPUs have a compiled core too; a run off it (core="python", or the FGD
    # placement, which runs in Python) keeps the pool.
    lucid = SweepConfig("helios", "Venus", "lucid", store=str(store))
    assert lucid.compiled and not replace(lucid, placement="fgd").compiled
    mixed = [*whole, replace(whole[0], core="python")]
    assert not mixed[-1].compiled
    sweep(mixed, progress=False)
    assert len(pools) == 2 and "4 runs on a local pool" in caplog.text


def test_a_shared_gpu_sweep_prepares_the_compiled_core(store: Path) -> None:
    # Shared GPUs have a compiled core too: a sweep of Lucid runs alone warms it before fanning
    # out and says how; a sweep on the Python core does not.
    lucid = [SweepConfig("pai", "pai", "lucid", store=str(store))]
    assert (prepare_compiled(lucid) or "").startswith("compiled core: ")
    assert prepare_compiled([replace(c, core="python") for c in lucid]) is None
