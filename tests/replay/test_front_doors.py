"""The Python front doors: replay() on both resource models, the store reader, the registry,
the compiled-kernel seam, and the earlier names other modules still use."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from tracekit.errors import TraceFormatError
from tracekit.replay import (
    POLICIES,
    Cluster,
    GPUPool,
    choose_resource_model,
    feasibility,
    make_policy,
    replay,
    replay_from_store,
    simulate,
)
from tracekit.replay.engines.placement import Consolidate
from tracekit.replay.engines.whole_gpu import VCRun, run_static
from tracekit.replay.policies import FIFO, SRTF
from tracekit.schema import JOBS
from tracekit.store import begin


def small_trace() -> pl.DataFrame:
    rng = np.random.default_rng(3)
    n = 40
    return pl.DataFrame(
        {
            "job_id": [f"j{i}" for i in range(n)],
            "vc": rng.choice(["a", "b"], n),
            "submit_time": np.sort(rng.integers(0, 2000, n)).astype(float),
            "duration_s": rng.integers(1, 900, n).astype(float),
            "num_gpus": rng.choice([1, 2, 4, 8], n),
            "pred_duration_s": rng.integers(1, 900, n).astype(float),
            "user": rng.choice(["u1", "u2", "u3"], n),
        }
    )


@pytest.mark.parametrize("name", list(POLICIES))
def test_every_registered_policy_runs_on_each_of_its_resource_models(name: str) -> None:
    pol = make_policy(name)
    assert pol.summary and set(pol.resources) <= {"whole", "shared"}
    jobs = small_trace()
    for model in pol.resources:
        res = replay(jobs, {"a": (1, 8), "b": (2, 8)}, name, resource_model=model)
        assert res.config["resource_model"] == model
        assert res.jobs["end_time"].is_not_null().all()
        assert (res.jobs["start_time"] >= res.jobs["submit_time"]).all()
        assert res.summary(by_vc=False)["jobs"][0] == jobs.height


def test_resource_model_follows_resources_policy_and_options() -> None:
    cl = Cluster.from_dict({"a": 1})
    assert choose_resource_model(make_policy("fifo"), cl) == "whole"
    assert choose_resource_model(make_policy("fifo"), cl.to_pool()) == "shared"
    assert choose_resource_model(make_policy("lucid"), cl) == "shared"
    assert choose_resource_model(make_policy("sjf"), cl, max_jobs_per_gpu=2) == "shared"
    assert choose_resource_model(make_policy("qssf"), cl, placement="balance") == "shared"
    with pytest.raises(ValueError, match="whole GPUs only"):
        choose_resource_model(make_policy("tiresias"), cl.to_pool())
    with pytest.raises(ValueError, match="shared GPUs only"):
        choose_resource_model(make_policy("lucid"), cl, "whole")


def test_earlier_column_names_are_read() -> None:
    jobs = small_trace()
    old = jobs.rename({"duration_s": "duration", "pred_duration_s": "pred_duration"})
    for policy in ("qssf", "lucid"):
        a = replay(jobs, {"a": (1, 8), "b": (2, 8)}, policy)
        b = replay(old, {"a": (1, 8), "b": (2, 8)}, policy)
        assert a.digest() == b.digest()
        assert "duration_s" in b.jobs.columns and "pred_duration_s" in b.jobs.columns


def test_feasibility_of_absurd_values_is_a_clear_error() -> None:
    # 1e300 s once crashed feasibility with a polars overflow error.
    jobs = small_trace().with_columns(
        pl.when(pl.col("job_id") == "j5").then(1e300).otherwise(pl.col("submit_time"))
        .alias("submit_time")
    )  # fmt: skip
    cl = Cluster.from_dict({"a": (1, 8), "b": (2, 8)})
    with pytest.raises(TraceFormatError, match=r"line 6: submit_time or duration_s beyond"):
        feasibility(jobs, cl)
    with pytest.raises(TraceFormatError, match="beyond 1e"):
        replay(jobs, cl)
    res = replay(jobs, cl, repair=True)
    assert res.quality.counts["replay.time_out_of_range"] == 1
    rep = res.feasibility()
    assert rep.filter(pl.col("period") == -1)["jobs"].sum() == jobs.height - 1


class KernelFIFO(FIFO):
    """FIFO with a stand-in "compiled" kernel: the Python engine under another name."""

    calls = 0

    @staticmethod
    def kernel(view, nodes: int, gpus_per_node: int, options) -> VCRun:  # noqa: ANN001
        KernelFIFO.calls += 1
        placer = Consolidate(nodes, gpus_per_node, options.compat)
        return run_static(view, FIFO(), placer, options.backfill, options.backfill_depth, False,
                          False)  # fmt: skip


def test_a_policy_with_a_kernel_runs_it_arrays_in_arrays_out() -> None:
    jobs = small_trace()
    cl = {"a": (1, 8), "b": (2, 8)}
    ref = replay(jobs, cl, "fifo")
    got = replay(jobs, cl, KernelFIFO())
    assert KernelFIFO.calls == 2  # once per VC
    assert got.digest() == ref.digest() and got.config["core"] == "kernel"
    replay(jobs, cl, KernelFIFO(), record=True)  # node records need the Python engine
    replay(jobs, cl, KernelFIFO(), core="python")  # and so does the reference
    assert KernelFIFO.calls == 2


class OwnKeysSRTF(SRTF):
    """SRTF with keys of its own: it declares no compiled kernel, so it runs in Python."""

    def key(self, st, j: int, t: float) -> tuple:  # noqa: ANN001 - VCState
        return super().key(st, j, t)


def test_built_in_policies_declare_their_compiled_kernels() -> None:
    specs = {name: make_policy(name).kernel_spec() for name in POLICIES}
    rules = {name: spec.rule for name, spec in specs.items() if spec is not None}
    assert rules == {"fifo": "static", "sjf": "static", "sjf-pred": "static", "qssf": "static",
                     "srtf": "srtf", "srtf-pred": "srtf", "tiresias": "las"}  # fmt: skip
    assert specs["lucid"] is None  # shared GPUs: the Python engine
    assert specs["srtf-pred"].predicted and not specs["srtf"].predicted  # type: ignore[union-attr]
    assert make_policy("srtf").compat_variant("lucid").kernel_spec().list_ties  # type: ignore[union-attr]
    strict = make_policy("tiresias").compat_variant("lucid").kernel_spec()
    assert strict.strict and strict.thresholds == (3250.0, 7200.0)  # type: ignore[union-attr]
    # A preemptive subclass inherits no kernel (it may change the keys).
    assert OwnKeysSRTF().kernel_spec() is None


def test_replay_core_choice() -> None:
    jobs = small_trace()
    cl = {"a": (1, 8), "b": (2, 8)}
    for name in ("fifo", "sjf-pred", "qssf", "srtf", "srtf-pred", "tiresias"):
        fast = replay(jobs, cl, name)
        assert fast.config["core"] == "compiled"
        slow = replay(jobs, cl, name, core="python")
        assert slow.config["core"] == "python" and slow.jobs.equals(fast.jobs)
    assert replay(jobs, cl, "srtf", record=True).config["core"] == "python"
    assert replay(jobs, cl, OwnKeysSRTF()).config["core"] == "python"
    with pytest.raises(ValueError, match="does not run recording node allocations"):
        replay(jobs, cl, "srtf", record=True, core="compiled")
    with pytest.raises(ValueError, match="OwnKeysSRTF.*no compiled kernel"):
        replay(jobs, cl, OwnKeysSRTF(), core="compiled")
    with pytest.raises(ValueError, match="a placement factory"):
        replay(jobs, cl, "fifo", placement=Consolidate, core="compiled")
    # Shared GPUs: Lucid runs compiled, except where its kernel cannot (recording occupancy).
    lucid = replay(jobs, cl, "lucid", core="compiled")
    assert lucid.config["core"] == "compiled"
    assert lucid.jobs.equals(replay(jobs, cl, "lucid", core="python").jobs)
    assert replay(jobs, cl, "lucid", record=True).config["core"] == "python"
    with pytest.raises(ValueError, match="does not run recording GPU occupancy"):
        replay(jobs, cl, "lucid", record=True, core="compiled")
    with pytest.raises(ValueError, match="core must be one of"):
        replay(jobs, cl, "fifo", core="fast")


def _tiny_store(root: Path) -> Path:
    t0 = datetime(2020, 9, 1, tzinfo=UTC)
    n = 5
    jobs = pl.DataFrame(
        {
            "job_id": [str(i) for i in range(n)],
            "user": ["u"] * n,
            "vc": ["a", "a", "b", "a", "zz"],
            "submit_time": [t0.replace(hour=h) for h in range(n)],
            "duration_s": [100.0, 200.0, 300.0, None, 50.0],
            "num_gpus": [1.0, 8.0, 0.0, 1.0, 1.0],
        }
    )
    jobs = jobs.with_columns(**{c: pl.lit(None) for c in JOBS.names if c not in jobs.columns})
    cap = pl.DataFrame({"date": [date(2020, 9, 1)] * 2, "vc": ["a", "b"], "num_gpus": [16.0, 8.0]})
    preds = pl.DataFrame(
        {"job_id": ["0", "1", "4"] * 2, "model": ["m"] * 3 + ["m2"] * 3,
         "pred_duration_s": [90.0, 210.0, 40.0, 1.0, 2.0, 3.0], "pred_q10_s": [None] * 6,
         "pred_q90_s": [None] * 6, "trained_until": [t0] * 6},
        schema_overrides={"pred_q10_s": pl.Float64, "pred_q90_s": pl.Float64},
    )  # fmt: skip
    store = root / "store"
    with begin(store, "helios") as tx:
        tx.write("jobs", "Venus", jobs)
        tx.write("capacity", "Venus", cap)
    with begin(store, "helios", mode="update") as tx:
        tx.write("predictions", "Venus", preds)
    return store


def test_replay_from_store_reads_predictions_only_when_needed(tmp_path: Path) -> None:
    store = _tiny_store(tmp_path)
    fifo = replay_from_store(store, "helios", "Venus", policy="fifo")
    # job 2 has 0 GPUs and job 3 no duration: not replayed; job 4's VC has no capacity: dropped
    assert sorted(fifo.jobs["job_id"].to_list()) == ["0", "1"]
    assert fifo.quality.counts["replay.unknown_vc"] == 1
    assert "pred_duration_s" not in fifo.jobs.columns
    assert fifo.jobs["submit_time"].to_list() == [0.0, 3600.0]
    with pytest.raises(ValueError, match="several prediction models for helios/Venus: m, m2"):
        replay_from_store(store, "helios", "Venus", policy="qssf")
    qssf = replay_from_store(store, "helios", "Venus", prediction_model="m", policy="qssf")
    assert qssf.jobs["pred_duration_s"].to_list() == [90.0, 210.0]
    assert qssf.config["trace"] == "helios" and qssf.config["cluster"] == "Venus"
    late = replay_from_store(store, "helios", "Venus", start="2020-09-01T01:00:00")
    assert late.jobs["submit_time"].to_list() == [0.0]
    with pytest.raises(ValueError, match="models: m, m2"):
        replay_from_store(store, "helios", "Venus", prediction_model="lgbm", policy="qssf")
    shared = replay_from_store(store, "helios", "Venus", prediction_model="m", policy="lucid")
    assert isinstance(shared.resources, GPUPool) and shared.resources.groups == ["a", "b"]
    assert shared.quality.counts["replay.util_from_prior"] == 3


def test_replay_from_store_on_the_sample(sample_store: Path) -> None:
    res = replay_from_store(sample_store, "helios", "Venus", policy="fifo")
    assert res.jobs.height > 100 and res.config["cluster_source"].startswith("capacity@")
    qssf = replay_from_store(sample_store, "helios", "Venus", policy="qssf")  # the one model
    assert qssf.jobs["pred_duration_s"].is_not_null().all()


def test_earlier_modules_are_gone() -> None:
    # The compatibility modules of the earlier layout were removed: one import path per name.
    import importlib

    for name in ("cluster", "jobs", "metrics", "simulator", "sharing", "study", "published"):
        with pytest.raises(ModuleNotFoundError):
            importlib.import_module(f"tracekit.replay.{name}")
    assert simulate is replay


def test_frame_writer_picks_the_format_and_keeps_the_previous_file(tmp_path) -> None:
    from tracekit.replay.results import write_frame_atomic

    frame = pl.DataFrame({"job_id": ["a", "b"], "jct_s": [1.5, 2.0]})
    pq = write_frame_atomic(frame, tmp_path / "out" / "jobs.parquet")
    assert pl.read_parquet(pq).equals(frame)
    csv = write_frame_atomic(frame, tmp_path / "out" / "jobs.csv")
    assert pl.read_csv(csv).equals(frame)
    # A write that fails (CSV cannot hold a list column) leaves the previous file and no temp.
    with pytest.raises(pl.exceptions.PolarsError):
        write_frame_atomic(pl.DataFrame({"x": [[1, 2]]}), csv)
    assert pl.read_csv(csv).equals(frame)
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["jobs.csv", "jobs.parquet"]
