"""Parameter sweeps of the replay: policy x cluster x predictor quality x seed, locally or on dask.

:func:`sweep` runs a list of :class:`SweepConfig` and returns one tidy row per config (the
config columns plus the summary metrics and a per-job output digest). :func:`sweep_toml` reads
the grid from a TOML file (format: docs/replay.md, example:
benchmarks/sweep_example.toml); ``tracekit sweep CONFIG.toml [--scheduler tcp://HOST:PORT]``
calls it.

Each distinct slice of the input, (store, trace, cluster, window, prediction model, resource
model, capacity scale), is read from the store once (:func:`tracekit.replay.inputs.load_store`),
in the calling process; a worker receives only
the slice its config needs (with dask, each slice is scattered once and shared by its configs),
never the whole store.

Configs run on the compiled cores by default (``SweepConfig.core``; shared GPUs with the
``fgd`` placement run in Python). Before fanning
out, the sweep compiles it or loads it from this machine's cache, so that a local pool's
workers load that cache instead of all compiling; on a dask cluster it ships this machine's
cache files to every worker, which loads them when its kernels and CPU match and compiles once
otherwise. Which happened is logged (and printed with ``progress``).

Predictions are made per config: ``oracle`` (the true duration),
``noisy:SIGMA`` (true duration x LogNormal(0, SIGMA), seeded by the config's seed) or
``model:NAME`` (the store's ``predictions`` of model NAME; missing ones get the model's median,
counted). The same config and seed always give the same per-job output, whichever executor runs
it.

For notebooks: :func:`policy_predictor_grid` (policy x predictor-quality grid) and
:func:`sensitivity_grid` (QSSF gain over FIFO vs prediction error) on an in-memory job table.
"""

from __future__ import annotations

import itertools
import logging
import os
import time
import tomllib
import zlib
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Executor, ProcessPoolExecutor, as_completed
from dataclasses import asdict, dataclass, field, fields
from multiprocessing import get_context
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from tracekit.replay.engines import compiled
from tracekit.replay.inputs import canonical, load_store
from tracekit.replay.resources import Cluster, GPUPool, as_cluster, as_pool
from tracekit.replay.results import write_csv_atomic
from tracekit.replay.run import replay

LOG = logging.getLogger(__name__)
ENGINES = ("auto", "whole", "shared")
#: Earlier engine names, still accepted.
ENGINE_ALIASES = {"replay": "whole", "sharing": "shared"}
METRICS = (
    "jobs", "dropped", "jct_mean_s", "jct_p50_s", "jct_p99_s", "queue_mean_s", "queue_p50_s",
    "queue_p99_s", "bsld_mean", "makespan_s", "utilization", "colocated_share", "digest",
    "wall_s",
)  # fmt: skip


@dataclass(frozen=True)
class SweepConfig:
    """One replay run of a sweep.

    Parameters
    ----------
    trace, cluster : str
        Store partition (e.g. ``"pai", "pai"``); for in-memory grids, any label.
    policy : str
        A registry name (``tracekit.replay.policies.describe()``); each runs on the resource
        models it supports (``srtf``, ``tiresias``: whole GPUs; ``lucid``: shared GPUs).
    predictor : str
        ``"oracle"``, ``"noisy:SIGMA"`` or ``"model:NAME"``.
    seed : int
        Seeds the noisy predictor and the engine.
    engine : {"auto", "whole", "shared"}
        Resource model. ``auto``: shared GPUs for a policy that runs only there (``lucid``) and
        for PAI (fractional GPUs, GPU types), whole GPUs otherwise. (``replay`` and ``sharing``
        are read as ``whole`` and ``shared``.)
    placement : str, optional
        Engine placement (``consolidate/first_fit/spread`` or ``pack/balance``).
    type_affinity, max_jobs_per_gpu : shared-GPU options (``max_jobs_per_gpu``: None is the
        engine's default, 4, or the packing policy's own limit, Lucid's 2).
    capacity_scale : float
        Keep this fraction of the machines/nodes (a what-if on a smaller cluster; the
        synthetic sample's capacity is already sized to its jobs: keep 1.0).
    start, end : str, optional
        Submit-time window (ISO, UTC).
    store : str
        Store path.
    name : str
        Free label carried into the results.
    core : {"auto", "compiled", "python"}
        The replay core (``replay(core=)``; ``auto`` is the compiled core for every built-in
        policy and every shared-GPU placement but ``fgd``). The result's ``core`` column says
        which ran.
    """

    trace: str
    cluster: str
    policy: str
    predictor: str = "oracle"
    seed: int = 0
    engine: str = "auto"
    placement: str | None = None
    type_affinity: str = "strict"
    max_jobs_per_gpu: int | None = None
    capacity_scale: float = 1.0
    start: str | None = None
    end: str | None = None
    store: str = "data/parquet"
    name: str = ""
    core: str = "auto"

    def __post_init__(self) -> None:
        if ENGINE_ALIASES.get(self.engine, self.engine) not in ENGINES:
            raise ValueError(f"engine must be one of {ENGINES}, got {self.engine!r}")
        if self.core not in compiled.CORES:
            raise ValueError(f"core must be one of {compiled.CORES}, got {self.core!r}")
        parse_predictor(self.predictor)

    @property
    def resolved_engine(self) -> str:
        """The resource model actually used (``auto`` resolved): ``whole`` or ``shared``."""
        engine = ENGINE_ALIASES.get(self.engine, self.engine)
        if engine != "auto":
            return engine
        from tracekit.replay.policies import make_policy

        whole = "whole" in make_policy(self.policy).resources
        return "shared" if not whole or self.trace == "pai" else "whole"

    @property
    def model(self) -> str | None:
        """Prediction model read from the store (``model:NAME``), else None."""
        kind, arg = parse_predictor(self.predictor)
        return str(arg) if kind == "model" else None

    def describe(self) -> str:
        """The config in one short line, for messages: ``helios/Venus fifo oracle seed 0 ...``."""
        text = f"{self.name + ': ' if self.name else ''}{self.trace}/{self.cluster} {self.policy}"
        text += f" {self.predictor} seed {self.seed}"
        if self.start is not None or self.end is not None:
            text += f" window [{self.start or '…'}, {self.end or '…'})"
        return text

    @property
    def compiled(self) -> bool:
        """The run replays on a compiled core: ``core`` not ``python`` and, on whole GPUs, a
        policy with a compiled kernel (every built-in one); on shared GPUs, a policy and a
        placement with one (every built-in pair but the ``fgd`` placement)."""
        if self.core == "python":
            return False
        from tracekit.replay.policies import make_policy

        pol = make_policy(self.policy)
        if self.resolved_engine == "shared":
            from tracekit.replay.engines.shared_compiled import why_python
            from tracekit.replay.engines.shared_gpu import SlowdownModel
            from tracekit.replay.placements import make_placement

            # The pool's default placement is a compiled one (pack, or best-fit with nodes).
            placer = make_placement(self.placement or "pack")
            return not why_python(pol, placer, SlowdownModel(), False, np.ones(1, np.int64))
        return pol.kernel is not None or pol.kernel_spec() is not None

    def slice_key(self) -> tuple[Any, ...]:
        """What identifies the input slice this config reads."""
        return (self.store, self.trace, self.cluster, self.start, self.end, self.model,
                self.resolved_engine, self.capacity_scale)  # fmt: skip


def parse_predictor(text: str) -> tuple[str, float | str | None]:
    """Parse a predictor spec: ``oracle``, ``noisy:0.5`` -> (noisy, 0.5), ``model:x``."""
    kind, _, arg = str(text).partition(":")
    if kind == "oracle" and not arg:
        return "oracle", None
    if kind == "noisy":
        try:
            sigma = float(arg)
        except ValueError:
            raise ValueError(
                f"noisy predictor needs a sigma, e.g. 'noisy:0.5', got {text!r}"
            ) from None
        if sigma < 0:
            raise ValueError(f"sigma must be >= 0, got {sigma}")
        return "noisy", sigma
    if kind == "model" and arg:
        return "model", arg
    raise ValueError(f"predictor must be 'oracle', 'noisy:SIGMA' or 'model:NAME', got {text!r}")


@dataclass
class Slice:
    """The input one config needs: jobs and cluster of one partition and window."""

    jobs: pl.DataFrame
    cluster: Cluster | GPUPool
    dropped: int = 0
    notes: dict[str, int] = field(default_factory=dict)


def load_slice(config: SweepConfig) -> Slice:
    """Read the jobs and cluster of ``config`` from its store (done once per distinct slice)."""
    data = load_store(
        config.store, config.trace, config.cluster, shared=config.resolved_engine == "shared",
        start=config.start, end=config.end, prediction_model=config.model,
        capacity_scale=config.capacity_scale, seed=config.seed,
    )  # fmt: skip
    notes = data.quality.nonzero()
    jobs = _fill_model_predictions(data.jobs, config, notes)
    return Slice(jobs, data.resources, 0, notes)


def _fill_model_predictions(jobs: pl.DataFrame, config: SweepConfig, notes: dict) -> pl.DataFrame:
    if config.model is None or "pred_duration_s" not in jobs.columns:
        return jobs
    pred = pl.col("pred_duration_s")
    bad = ~(pred.is_finite() & (pred > 0)).fill_null(False)
    n = int(jobs.select(bad.sum()).item())
    notes["sweep.model_prediction_filled_with_median"] = n
    if n:
        med = jobs.filter(~bad)["pred_duration_s"].median()
        jobs = jobs.with_columns(pl.when(bad).then(pl.lit(med or 1.0)).otherwise(pred).alias(
            "pred_duration_s"))  # fmt: skip
    return jobs


def with_predictions(
    jobs: pl.DataFrame, predictor: str, seed: int, label: str = ""
) -> pl.DataFrame:
    """Set ``pred_duration_s`` for a predictor spec (``oracle``, ``noisy:SIGMA``, ``model:...``).

    The noise generator is seeded by ``(seed, crc32(label))``, so one config gives the same
    predictions in any process.
    """
    kind, arg = parse_predictor(predictor)
    jobs = canonical(jobs)
    if kind == "model":
        if "pred_duration_s" not in jobs.columns:
            raise ValueError(f"predictor {predictor!r}: the slice has no store predictions")
        return jobs
    if kind == "oracle":
        return jobs.with_columns(pl.col("duration_s").alias("pred_duration_s"))
    rng = np.random.default_rng([int(seed), zlib.crc32(label.encode())])
    noise = rng.lognormal(0.0, float(arg), jobs.height) if arg else np.ones(jobs.height)
    return jobs.with_columns((pl.col("duration_s") * pl.Series(noise)).alias("pred_duration_s"))


def run_config(config: SweepConfig, data: Slice) -> dict[str, Any]:
    """Run one config on its slice and return its result row (config columns + metrics)."""
    t0 = time.perf_counter()
    label = f"{config.trace}/{config.cluster}"
    jobs = with_predictions(data.jobs, config.predictor, config.seed, label)
    row: dict[str, Any] = {**asdict(config), "engine": config.resolved_engine}
    kind, arg = parse_predictor(config.predictor)
    row["sigma"] = float(arg) if kind == "noisy" else (0.0 if kind == "oracle" else None)
    engine = config.resolved_engine
    options: dict[str, Any] = {"core": config.core}
    if engine == "shared":
        options.update(type_affinity=config.type_affinity,
                       max_jobs_per_gpu=config.max_jobs_per_gpu)  # fmt: skip
    res = replay(jobs, data.cluster, config.policy, resource_model=engine,
                 placement=config.placement, repair=True, seed=config.seed, **options)  # fmt: skip
    row["core"] = res.config.get("core", "python")
    summ = res.summary(by_vc=False).row(0, named=True)
    summ.setdefault("colocated_share", 0.0)
    dropped = sum(
        v for k, v in res.quality.nonzero().items() if not k.startswith("replay.bad_pred")
    )
    for m in METRICS:
        if m in summ:
            row[m] = summ[m]
    row["dropped"] = int(dropped)
    row["digest"] = res.digest()
    row["wall_s"] = time.perf_counter() - t0
    return row


def _run_many(configs: list[SweepConfig], data: Slice) -> list[dict[str, Any]]:
    return [run_config(c, data) for c in configs]


def sweep(
    configs: Sequence[SweepConfig],
    executor: Executor | Any | str | None = None,
    *,
    workers: int | None = None,
    scheduler: str | None = None,
    slices: Mapping[tuple[Any, ...], Slice] | None = None,
    progress: bool = True,
) -> pl.DataFrame:
    """Run every config and gather one tidy table (config columns + metrics), in config order.

    Parameters
    ----------
    configs : sequence of SweepConfig
    executor : None, "sequential", concurrent.futures.Executor or distributed.Client
        ``None``: a dask client on ``scheduler`` when given; else one after another in this
        process when every config runs on a compiled core (:attr:`SweepConfig.compiled`: a
        run takes 0.03-0.1 s, less than starting a worker process) and ``workers`` is not
        given; else a local process pool of ``workers`` processes (spawned, default: CPU
        count). The log says which.
    workers : int, optional
        Local pool size; giving it asks for the pool.
    scheduler : str, optional
        ``tcp://HOST:PORT`` of a dask.distributed scheduler.
    slices : mapping, optional
        Pre-loaded inputs by :meth:`SweepConfig.slice_key` (in-memory grids); others are read
        from the store once each.
    progress : bool
        Show a rich progress bar.
    """
    configs = list(configs)
    loaded: dict[tuple[Any, ...], Slice] = dict(slices or {})
    for i, c in enumerate(configs):
        if c.slice_key() not in loaded:
            try:
                loaded[c.slice_key()] = load_slice(c)
            except ValueError as exc:
                raise ValueError(f"sweep config {i + 1} of {len(configs)} ({c.describe()}): "
                                 f"{exc}") from exc  # fmt: skip
    client = None
    own_client = False
    if executor is None and scheduler is not None:
        from distributed import Client

        client, own_client = Client(scheduler), True
    elif executor is not None and type(executor).__name__ == "Client":
        client = executor
    elif executor is None and workers is None and all(c.compiled for c in configs):
        executor = "sequential"
        LOG.info("sweep: %d runs one after another (all on the compiled core)", len(configs))
    rows: list[dict[str, Any] | None] = [None] * len(configs)
    try:
        note = prepare_compiled(configs, client)
    except BaseException:
        if own_client and client is not None:
            client.close()
        raise
    if note:
        LOG.info(note)
        if progress:
            from rich.console import Console

            Console(stderr=True).print(note)
    bar = _Progress(len(configs), progress)
    try:
        if client is not None:
            remote = {k: client.scatter(v, broadcast=False) for k, v in loaded.items()}
            futs = {
                client.submit(run_config, c, remote[c.slice_key()], pure=False): i
                for i, c in enumerate(configs)
            }
            from distributed import as_completed as dask_completed

            for fut in dask_completed(list(futs)):
                rows[futs[fut]] = fut.result()
                bar.advance()
        elif executor == "sequential":
            for i, c in enumerate(configs):
                rows[i] = run_config(c, loaded[c.slice_key()])
                bar.advance()
        else:
            pool = executor
            own = pool is None
            if own:
                n = workers or os.cpu_count() or 1
                LOG.info("sweep: %d runs on a local pool of %d processes", len(configs), n)
                pool = ProcessPoolExecutor(max_workers=n, mp_context=get_context("spawn"))
            assert isinstance(pool, Executor)
            try:
                lfuts = {pool.submit(run_config, c, loaded[c.slice_key()]): i
                         for i, c in enumerate(configs)}  # fmt: skip
                for fut in as_completed(lfuts):
                    rows[lfuts[fut]] = fut.result()
                    bar.advance()
            finally:
                if own:
                    pool.shutdown()
    finally:
        bar.close()
        if own_client and client is not None:
            client.close()
    for c, r in zip(configs, rows, strict=True):
        assert r is not None
        notes = loaded[c.slice_key()].notes
        r["input_repairs"] = sum(
            v for k, v in notes.items()
            if not k.startswith(_NOT_REPAIRS)
        )
    return _tidy([r for r in rows if r is not None])


#: Input notes that are decisions, not repairs (nothing dropped or changed).
_NOT_REPAIRS = ("replay.util_from", "replay.pooled", "replay.prediction_in_training_window")


def prepare_compiled(configs: Sequence[SweepConfig], client: Any = None) -> str | None:
    """Make the compiled core ready before a sweep fans out, and say how (None: no config
    runs on it).

    Here: compile it, or load it from this machine's cache, once (workers of a local pool
    then load that cache). With a dask ``client``: also send this machine's cache files to
    every worker (:func:`tracekit.replay.engines.compiled.ship_and_warm`); a worker loads them
    when its kernels and CPU match and compiles once otherwise. Workers that join later
    compile or load on their first replay.
    """
    # Both resource models have a compiled core (a shared-GPU run with FGD falls back to Python
    # on its own; warming for it costs one cache load).
    if not any(c.core != "python" for c in configs):
        return None
    local = compiled.ensure_compiled()
    here = "compiled" if "compiled" in local["kernels"].values() else "loaded from its cache"
    if client is None:
        return (f"compiled core: {here} here in {local['seconds']:.1f} s "
                f"({local['cache']}); pool workers load that cache")  # fmt: skip
    files = compiled.cache_files()
    reports = client.run(compiled.ship_and_warm, files)
    done = [r for r in reports.values() if "compiled" in r["kernels"].values()]
    slowest = max((r["seconds"] for r in reports.values()), default=0.0)
    kib = sum(len(b) for b in files.values()) / 1024
    return (f"compiled core: {here} here; shipped its cache ({len(files)} files, {kib:.0f} KiB) "
            f"to {len(reports)} dask workers: loaded on {len(reports) - len(done)}, compiled "
            f"on {len(done)} (slowest {slowest:.1f} s)")  # fmt: skip


def _tidy(rows: list[dict[str, Any]]) -> pl.DataFrame:
    kinds = {"int": pl.Int64, "float": pl.Float64}
    schema: dict[str, Any] = {
        f.name: kinds.get(str(f.type), pl.String) for f in fields(SweepConfig)
    }
    schema.update({"engine": pl.String, "sigma": pl.Float64, "jobs": pl.Int64, "dropped": pl.Int64,
                   "digest": pl.String, "input_repairs": pl.Int64})  # fmt: skip
    for m in METRICS:
        schema.setdefault(m, pl.Float64)
    data = {c: [r.get(c) for r in rows] for c in schema}
    first = [c for c in SUMMARY_COLUMNS if c in schema]
    return pl.DataFrame(data, schema=schema).select(first + [c for c in schema if c not in first])


SUMMARY_COLUMNS = (
    "trace", "cluster", "policy", "predictor", "seed", "engine", "core", "jobs", "jct_mean_s",
    "queue_mean_s", "colocated_share",
)  # fmt: skip
"""The columns shown first (a terminal-width view: ``frame.select(SUMMARY_COLUMNS)``)."""


COMPACT_METRICS = ("jct_mean_s", "queue_mean_s", "utilization", "dropped")
"""The metrics of :func:`compact`."""
_KEY_CANDIDATES = (
    "predictor", "seed", "engine", "placement", "type_affinity", "max_jobs_per_gpu",
    "capacity_scale", "start", "end", "core", "name",
)  # fmt: skip


def compact(results: pl.DataFrame) -> pl.DataFrame:
    """A terminal-width view of sweep results: what tells the runs apart, and four metrics.

    Columns: ``run`` (``trace/cluster``), ``policy``, every other config column that varies
    between runs of the same cluster and policy (the grid's own keys, such as ``predictor`` and
    ``seed``; what a cluster or policy implies, such as its window or engine, is left out), then
    :data:`COMPACT_METRICS`. The full table has every column.
    """
    keys = ["trace", "cluster", "policy"]
    varying = [
        c for c in _KEY_CANDIDATES
        if c in results.columns and results.height
        and results.group_by(keys).agg(pl.col(c).n_unique())[c].max() > 1  # type: ignore[operator]
    ]  # fmt: skip
    run = pl.concat_str(pl.col("trace"), pl.lit("/"), pl.col("cluster")).alias("run")
    metrics = [c for c in COMPACT_METRICS if c in results.columns]
    return results.select(run, "policy", *varying, *metrics)


class _Progress:
    """A rich progress bar (silent when disabled or not a terminal-capable console)."""

    def __init__(self, total: int, enabled: bool) -> None:
        self.bar = None
        if enabled and total:
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

            self.bar = Progress(
                "[progress.description]{task.description}", BarColumn(), MofNCompleteColumn(),
                TimeElapsedColumn(), transient=False,
            )  # fmt: skip
            self.bar.start()
            self.task = self.bar.add_task("sweep", total=total)

    def advance(self) -> None:
        if self.bar is not None:
            self.bar.advance(self.task)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.stop()


# --- TOML ---------------------------------------------------------------------------------------

GRID_KEYS = {"trace_cluster", "policy", "predictor", "seed", "placement", "capacity_scale",
             "type_affinity", "max_jobs_per_gpu", "engine", "window", "core"}  # fmt: skip


def configs_from_toml(path: str | Path, store: str | Path | None = None) -> list[SweepConfig]:
    """Expand a sweep TOML file into configs (format: docs/replay.md).

    ``[sweep] store`` is resolved relative to the TOML file; ``store=`` overrides it.
    """
    path = Path(path)
    with open(path, "rb") as fh:
        doc = tomllib.load(fh)
    head = doc.get("sweep", {})
    root = Path(store) if store is not None else _resolve(path, head.get("store", "data/parquet"))
    defaults = dict(doc.get("defaults", {}))
    grid = dict(doc.get("grid", {}))
    unknown = set(grid) - GRID_KEYS
    if unknown:
        raise ValueError(
            f"{path}: unknown [grid] keys {sorted(unknown)}; known {sorted(GRID_KEYS)}"
        )
    keys = list(grid)
    values = [v if isinstance(v, list) else [v] for v in grid.values()]
    out: list[SweepConfig] = []
    per_cluster = doc.get("clusters", {})
    for combo in itertools.product(*values) if keys else [()]:
        spec = dict(zip(keys, combo, strict=True))
        out.append(_make_config(_with_cluster(defaults, per_cluster, spec), root, path))
    for extra in doc.get("config", []):
        out.append(_make_config(_with_cluster(defaults, per_cluster, extra), root, path))
    return out


def _with_cluster(
    defaults: dict[str, Any], per_cluster: dict[str, Any], spec: dict[str, Any]
) -> dict[str, Any]:
    """defaults < [clusters."trace/cluster"] overrides < the grid point or [[config]] itself."""
    tc = spec.get("trace_cluster") or defaults.get("trace_cluster")
    if tc is None and "trace" in spec:
        tc = f"{spec['trace']}/{spec.get('cluster', spec['trace'])}"
    return {**defaults, **per_cluster.get(str(tc), {}), **spec}


def _resolve(toml: Path, p: str) -> Path:
    q = Path(p).expanduser()
    return q if q.is_absolute() else (toml.parent / q).resolve()


def _make_config(spec: dict[str, Any], root: Path, path: Path) -> SweepConfig:
    spec = dict(spec)
    if "trace_cluster" in spec:
        trace, _, cluster = str(spec.pop("trace_cluster")).partition("/")
        spec["trace"], spec["cluster"] = trace, cluster or trace
    if "window" in spec:
        win = spec.pop("window")
        spec["start"], spec["end"] = (win[0] or None, win[1] or None) if win else (None, None)
    spec.setdefault("store", str(root))
    allowed = {f.name for f in fields(SweepConfig)}
    bad = set(spec) - allowed
    if bad:
        raise ValueError(f"{path}: unknown config keys {sorted(bad)}")
    if "trace" not in spec or "policy" not in spec:
        raise ValueError(f"{path}: every config needs trace/cluster and policy: {spec}")
    return SweepConfig(**spec)


def sweep_toml(
    path: str | Path,
    scheduler: str | None = None,
    *,
    store: str | Path | None = None,
    executor: Executor | Any | str | None = None,
    workers: int | None = None,
    progress: bool = True,
    prepare_store: Callable[[Path, float, int, list[str]], Any] | None = None,
) -> pl.DataFrame:
    """Run the sweep described by a TOML file (see :func:`configs_from_toml`).

    ``[sweep] sample = {scale, seed, traces}`` asks for the synthetic sample in the store:
    ``prepare_store(store, scale, seed, traces)`` is called first when given (the CLI passes
    :func:`tracekit.reports.ensure_sample_store`; replay itself only reads stores).
    ``[sweep] workers`` sets the local pool size. Results are also written to ``[sweep] out``
    (CSV, relative to the TOML) when given.
    """
    path = Path(path)
    with open(path, "rb") as fh:
        head = tomllib.load(fh).get("sweep", {})
    root = Path(store) if store is not None else _resolve(path, head.get("store", "data/parquet"))
    if "sample" in head and prepare_store is not None:
        s = head["sample"]
        prepare_store(root, float(s.get("scale", 0.005)), int(s.get("seed", 7)),
                      list(s.get("traces", ["philly", "helios", "pai"])))  # fmt: skip
    configs = configs_from_toml(path, store=root)
    out = sweep(configs, executor, workers=workers or head.get("workers"), scheduler=scheduler,
                progress=progress)  # fmt: skip
    if "out" in head:
        write_csv_atomic(out, _resolve(path, head["out"]))
    return out


# --- notebook grids -----------------------------------------------------------------------------


def _memory_configs(
    label: str, policies: Sequence[str], predictors: Sequence[str], seeds: Sequence[int],
    engine: str, placement: str | None,
) -> list[SweepConfig]:  # fmt: skip
    return [
        SweepConfig(
            trace=label,
            cluster=label,
            policy=p,
            predictor=q,
            seed=int(s),
            engine=engine,
            placement=placement,
            store="<memory>",
        )  # fmt: skip
        for p in policies
        for q in predictors
        for s in seeds
    ]


def policy_predictor_grid(
    jobs: pl.DataFrame,
    cluster: Cluster | GPUPool | Mapping[str, Any],
    policies: Sequence[str] = ("fifo", "sjf", "sjf-pred", "qssf"),
    predictors: Sequence[str] = ("oracle", "noisy:0.5", "noisy:1.0", "noisy:2.0"),
    seeds: Sequence[int] = (0, 1, 2),
    *,
    engine: str = "auto",
    placement: str | None = None,
    executor: Executor | Any | str | None = "sequential",
    progress: bool = False,
) -> pl.DataFrame:
    """Tidy ``policy x predictor x seed`` table on an in-memory job table.

    ``jobs``: a replay job table (:mod:`tracekit.replay.inputs`). ``cluster``: a
    :class:`Cluster` / mapping (whole GPUs) or a :class:`GPUPool` (shared GPUs). ``engine``:
    the resource model (``auto``: shared GPUs for a GPUPool, whole GPUs otherwise).
    """
    engine = ENGINE_ALIASES.get(engine, engine)
    if engine == "auto":
        engine = "shared" if isinstance(cluster, GPUPool) else "whole"
    if engine == "shared":
        cl: Cluster | GPUPool = as_pool(cluster)
    else:
        cl = as_cluster(cluster)  # type: ignore[arg-type]
    configs = _memory_configs("memory", policies, predictors, seeds, engine, placement)
    data = Slice(jobs, cl)
    slices = {c.slice_key(): data for c in configs}
    return sweep(configs, executor, slices=slices, progress=progress)


def sensitivity_grid(
    jobs: pl.DataFrame,
    cluster: Cluster | GPUPool | Mapping[str, Any],
    sigmas: Sequence[float] = (0.0, 0.25, 0.5, 1.0, 1.5, 2.0),
    seeds: Sequence[int] = (0, 1, 2),
    *,
    policy: str = "qssf",
    baseline: str = "fifo",
    engine: str = "auto",
    executor: Executor | Any | str | None = "sequential",
    progress: bool = False,
) -> pl.DataFrame:
    """QSSF (or ``policy``) gain over FIFO vs prediction error.

    For every ``sigma`` and seed, predictions are ``duration x LogNormal(0, sigma)``. Returns
    ``sigma, seed, policy, jct_mean_s, queue_mean_s, baseline_jct_mean_s, jct_gain`` where
    ``jct_gain = 1 - jct_mean_s / baseline_jct_mean_s`` (0.3 = 30 % lower average JCT).
    """
    predictors = [f"noisy:{s:g}" for s in sigmas]
    grid = policy_predictor_grid(jobs, cluster, [policy], predictors, seeds, engine=engine,
                                 executor=executor, progress=progress)  # fmt: skip
    base = policy_predictor_grid(jobs, cluster, [baseline], ["oracle"], seeds[:1], engine=engine,
                                 executor="sequential")  # fmt: skip
    b_jct = float(base["jct_mean_s"][0])
    return grid.select(
        "sigma", "seed", "policy", "jct_mean_s", "queue_mean_s",
        pl.lit(b_jct).alias("baseline_jct_mean_s"),
        (1.0 - pl.col("jct_mean_s") / b_jct).alias("jct_gain"),
    ).sort("sigma", "seed")  # fmt: skip


__all__ = [
    "ENGINES",
    "ENGINE_ALIASES",
    "GRID_KEYS",
    "METRICS",
    "COMPACT_METRICS",
    "SUMMARY_COLUMNS",
    "Slice",
    "SweepConfig",
    "compact",
    "configs_from_toml",
    "load_slice",
    "parse_predictor",
    "policy_predictor_grid",
    "prepare_compiled",
    "run_config",
    "sensitivity_grid",
    "sweep",
    "sweep_toml",
    "with_predictions",
]
