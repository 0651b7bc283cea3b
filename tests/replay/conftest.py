"""Shared replay test inputs: seeded job tables, a CPU-independent per-job digest, and the two
replay cores (the reference Python loops and the compiled core) to run every test against.

Golden digests must hold on every machine (AMD, Intel with AVX-512, any libm). Two rules keep
them portable:

- inputs never carry transcendental-function bits: every float input is quantized to whole
  milliseconds (``np.rint(x * 1000) / 1000``) after drawing, so ``np.exp`` or a lognormal draw
  that differs in its last bits between CPUs gives the same job table;
- the digest hashes times rounded to 1 microsecond, not full-precision floats.

The engine itself only adds, subtracts, multiplies and compares, which IEEE 754 makes identical
everywhere, so on these inputs the rounded digest is exact. Regenerate a golden value with
``python -c`` on the test's own ``portable_digest(simulate(...))`` and say why it changed in
the commit message.
"""

from __future__ import annotations

import fcntl
import hashlib
from collections.abc import Callable
from pathlib import Path

import numpy as np
import polars as pl
import pytest

Trace = tuple[pl.DataFrame, dict[str, tuple[int, int]]]

#: Resolution of the digest (seconds): far above float noise, far below any event spacing.
DIGEST_RESOLUTION_S = 1e-6
#: The replay cores every golden and property test runs on (``replay(core=...)``).
CORES = ("python", "compiled")


def quantize_ms(x: np.ndarray) -> np.ndarray:
    """``x`` rounded to whole milliseconds, so that last-bit float noise cannot reach a test."""
    return np.rint(np.asarray(x, dtype=np.float64) * 1000.0) / 1000.0


def jobs_frame(
    job_ids: list[str] | np.ndarray,
    vc: np.ndarray,
    submit: np.ndarray,
    duration: np.ndarray,
    gpus: np.ndarray,
    rng: np.random.Generator,
) -> pl.DataFrame:
    """A replay job table; ``pred_duration`` is the duration times LogNormal(0, 1) noise."""
    return pl.DataFrame(
        {
            "job_id": job_ids,
            "vc": vc,
            "submit_time": quantize_ms(submit),
            "duration_s": quantize_ms(duration),
            "num_gpus": gpus.astype(np.int64),
            "pred_duration_s": quantize_ms(duration * rng.lognormal(0.0, 1.0, len(submit))),
        }
    )


GOLDEN_SIZES = [1, 1, 1, 1, 2, 4, 8, 8, 16, 24]


def _golden_trace(kind: str, n: int = 1500) -> Trace:
    """A seeded, overloaded two-VC trace: ``int`` (whole seconds) or ``float`` times."""
    rng = np.random.default_rng(7 if kind == "int" else 11)
    submit = np.sort(rng.integers(0, 12_000, n)).astype(np.float64)
    short = rng.integers(1, 60, n).astype(np.float64)
    long = np.exp(rng.uniform(0.0, 8.5, n))
    duration = np.where(rng.random(n) < 0.4, short, long)
    if kind == "int":
        # Whole seconds: ceil() of exp() is the same integer on every CPU.
        duration = np.ceil(duration)
    else:
        submit = submit + rng.uniform(0.0, 1.0, n).round(3)
    vc = rng.choice(["a", "b"], n)
    gpus = rng.choice(GOLDEN_SIZES, n)
    gpus = np.where(vc == "b", np.minimum(gpus, 8), gpus)
    jobs = jobs_frame(np.arange(n).astype(str), vc, submit, duration, gpus, rng)
    return jobs, {"a": (4, 8), "b": (2, 8)}


def _crowded_trace(seed: int, n: int = 700) -> Trace:
    """Whole-second arrivals packed so that several jobs often arrive together, mixed sizes
    (multi-node jobs fragment the nodes) and durations whose order differs from submit order."""
    rng = np.random.default_rng(seed)
    submit = np.sort(rng.integers(0, 4_000, n)).astype(np.float64)
    duration = np.ceil(np.exp(rng.uniform(0.0, 8.0, n)))
    gpus = rng.choice([1, 1, 1, 2, 3, 4, 8, 12, 16], n)
    vc = rng.choice(["a", "b"], n, p=[0.6, 0.4])
    gpus = np.where(vc == "b", np.minimum(gpus, 8), gpus)
    jobs = jobs_frame([f"j{i}" for i in range(n)], vc, submit, duration, gpus, rng)
    return jobs, {"a": (4, 8), "b": (3, 8)}


def _portable_digest(res) -> str:  # noqa: ANN001 - ReplayResult
    """SHA-256 (16 hex digits) of per-job times rounded to 1 µs and of all run segments."""
    h = hashlib.sha256()
    times = ["start_time", "end_time", "overhead_s"]
    jobs = res.jobs.select(
        "job_id",
        *[(pl.col(c) / DIGEST_RESOLUTION_S).round(0).cast(pl.Int64).alias(c) for c in times],
        "preemptions",
    )
    h.update(jobs.write_csv().encode())
    seg = res.segments
    floats = [c for c, t in seg.schema.items() if t.is_float()]
    seg = seg.with_columns(
        (pl.col(c) / DIGEST_RESOLUTION_S).round(0).cast(pl.Int64) for c in floats
    )
    h.update(seg.write_csv().encode())
    return h.hexdigest()[:16]


@pytest.fixture(params=CORES)
def core(request: pytest.FixtureRequest) -> str:
    """Each replay core in turn: the reference Python loops, then the compiled core."""
    return request.param


def assert_same_outcome(got, ref) -> None:  # noqa: ANN001 - ReplayResult
    """Bit-identical per-job output (every column, full precision) and run segments."""
    assert got.jobs.equals(ref.jobs), (got.jobs, ref.jobs)
    assert got.segments.equals(ref.segments)


def _replay_both(jobs: pl.DataFrame, cluster: object, policy: object, **options: object):  # noqa: ANN202
    """Replay on the Python loops (with node records when asked) and on the compiled core;
    check both give the same per-job output and run segments; return the Python result."""
    from tracekit.replay import replay

    ref = replay(jobs, cluster, policy, core="python", **options)  # type: ignore[arg-type]
    fast = {k: v for k, v in options.items() if k not in ("record", "record_nodes")}
    got = replay(jobs, cluster, policy, core="compiled", **fast)  # type: ignore[arg-type]
    assert got.config["core"] == "compiled"
    assert_same_outcome(got, ref)
    return ref


@pytest.fixture(scope="session")
def replay_both() -> Callable[..., object]:
    """``replay`` on both cores: asserts identical outcomes, returns the Python loops' result
    (which alone can record node allocations)."""
    return _replay_both


@pytest.fixture(scope="session")
def same_outcome() -> Callable[..., None]:
    """:func:`assert_same_outcome`: identical per-job output and run segments."""
    return assert_same_outcome


@pytest.fixture(scope="session")
def make_jobs() -> Callable[..., pl.DataFrame]:
    """:func:`jobs_frame`: a replay job table from arrays (inputs quantized to 1 ms)."""
    return jobs_frame


@pytest.fixture(scope="session")
def golden_trace() -> Callable[..., Trace]:
    """Factory of the seeded golden traces (``"int"`` or ``"float"``)."""
    return _golden_trace


@pytest.fixture(scope="session")
def crowded_trace() -> Callable[..., Trace]:
    """Factory of crowded traces (simultaneous arrivals, fragmenting sizes)."""
    return _crowded_trace


@pytest.fixture(scope="session")
def portable_digest() -> Callable[..., str]:
    """The per-job digest that holds on every CPU (times rounded to 1 µs)."""
    return _portable_digest


#: Scale of the synthetic Helios sample the front-door tests replay (about 250 Venus GPU jobs).
SAMPLE_SCALE = 0.002


@pytest.fixture(scope="session")
def sample_store(tmp_path_factory: pytest.TempPathFactory, worker_id: str) -> Path:
    """A store with the synthetic Helios sample and the LightGBM predictions that
    ``tracekit predict`` writes for Venus; built once for all test workers (file lock)."""
    from tracekit.predict import run_predict
    from tracekit.reports import ensure_sample_store

    base = tmp_path_factory.getbasetemp()
    root = (base if worker_id == "master" else base.parent) / "replay-sample"
    root.mkdir(exist_ok=True)
    store = root / "store"
    with open(root / "lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (root / "done").exists():
            ensure_sample_store(store, SAMPLE_SCALE, 7, ["helios"])
            run_predict(store, "helios", cluster="Venus", model="lgbm", seed=7)
            (root / "done").touch()
    return store
