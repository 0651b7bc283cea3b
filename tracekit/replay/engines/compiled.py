"""The compiled core of the whole-GPU replay: arrays in, arrays out, compiled once per machine.

:mod:`~tracekit.replay.engines.kernels` holds the numba event loops; this module prepares their
arrays, calls them, and manages their compilation:

* **Cache.** The kernels are compiled with ``cache=True`` on first use and the machine code is
  stored on disk, where numba puts it: the ``__pycache__`` folder beside
  ``tracekit/replay/engines/kernels.py`` when it is writable (a clone, a virtualenv), else the
  per-user cache (``~/.cache/numba`` on Linux), or ``$NUMBA_CACHE_DIR`` when set. The package
  directory itself is never required to be writable. The cache is keyed by the kernels'
  source text and the CPU model, so a new version or another CPU compiles again, once.
* **Warm-up.** :func:`warm` compiles (or loads) every kernel on a tiny input and says which
  happened; sweeps call it before they fan out, so parallel workers load the cache instead of
  all compiling at once.
* **Shipping.** :func:`cache_files` and :func:`install_cache` copy the cache to processes on
  other machines (a dask cluster): a worker with the same kernels and CPU loads it, any other
  compiles once.

Numba is imported only when a kernel is first needed (about 0.4 s), not with ``tracekit``.
"""

from __future__ import annotations

import importlib
import os
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np

from tracekit.replay.policies.base import JobView, KernelSpec

CORES = ("auto", "compiled", "python")
"""``replay(core=)``: ``auto`` = compiled when the policy has a kernel, ``compiled`` = the same
but an error when it has none, ``python`` = the reference Python loops."""
PLACEMENT_KINDS = {"consolidate": 0, "first_fit": 1, "spread": 2}
BACKFILL_KINDS = {"none": 0, "greedy": 1, "easy": 2}
ENTRY_POINTS = ("static_loop", "preemptive_loop", "shared_loop")
"""The compiled functions (each compiled once per machine and kernel version); the last is the
shared-GPU loop, which :mod:`~tracekit.replay.engines.shared_compiled` registers."""

_KERNELS: ModuleType | None = None
#: Kernels of other cores, by entry point: ``(their module, a warm-up returning "cache" or
#: "compiled")``; warmed, cached and shipped with these (see :func:`register_kernel`).
_OTHER_KERNELS: dict[str, tuple[Callable[[], ModuleType], Callable[[], str]]] = {}


def register_kernel(
    entry_point: str, module: Callable[[], ModuleType], warm_up: Callable[[], str]
) -> None:
    """Warm, cache and ship another core's compiled function with these (the shared-GPU
    loop registers itself when :mod:`~tracekit.replay.engines.shared_compiled` is imported,
    which importing :mod:`tracekit.replay` does)."""
    _OTHER_KERNELS[entry_point] = (module, warm_up)


def kernels() -> ModuleType:
    """The numba kernels module (imported on first use, see :func:`import_cached`)."""
    global _KERNELS
    if _KERNELS is None:
        _KERNELS = import_cached("tracekit.replay.engines.kernels")
    return _KERNELS


def import_cached(name: str) -> ModuleType:
    """Import a module of numba functions compiled with ``cache=True``.

    Numba stores their machine code beside the module, else in the per-user cache; when
    neither folder is writable it refuses to define them, and then they are cached in a
    ``tracekit-numba`` folder of the temporary directory (``numba.config.CACHE_DIR``, for the
    rest of this process).
    """
    try:
        return importlib.import_module(name)
    except RuntimeError as err:
        if "cannot cache" not in str(err):
            raise
    import numba

    numba.config.CACHE_DIR = str(Path(tempfile.gettempdir()) / "tracekit-numba")
    sys.modules.pop(name, None)
    return importlib.import_module(name)


def _arr(x: np.ndarray, dtype: type) -> np.ndarray:
    # Contiguous and writable: numba compiles a separate version for read-only arrays.
    return np.require(x, dtype=dtype, requirements=["C", "W"])


def alloc_offsets(gpus: np.ndarray, gpn: int, nodes: int, placement: str) -> tuple[np.ndarray, int]:
    """Start of each job's slots in the flat allocation buffers, and their total: at most
    ``ceil(g / gpn)`` nodes per job (``first_fit``: ``min(g, nodes)``)."""
    return kernels().alloc_offsets(_arr(gpus, np.int64), int(gpn), int(nodes),
                                   PLACEMENT_KINDS[placement])  # fmt: skip


def allocations(
    al: np.ndarray, alen: np.ndarray, aoff: np.ndarray
) -> list[tuple[tuple[int, int], ...] | None]:
    """Each job's last allocation as ``((node, gpus), ...)`` (artifact-compatible output)."""
    nodes, gp = al[0].tolist(), al[1].tolist()
    out: list[tuple[tuple[int, int], ...] | None] = []
    for o, k in zip(aoff.tolist(), alen.tolist(), strict=True):
        out.append(tuple(zip(nodes[o : o + k], gp[o : o + k], strict=True)) if k else None)
    return out


def run_static(
    view: JobView,
    key: np.ndarray | None,
    byrank: np.ndarray | None,
    est: np.ndarray | None,
    backfill: str,
    backfill_depth: int | None,
    fresh_gpu_order: bool,
    nodes: int,
    gpus_per_node: int,
    placement: str,
    compat: bool,
) -> tuple[Any, ...]:
    """One VC under a static-key policy; jobs go by ``(key, submit order)``: ``key`` is the
    policy's one key array, which the compiled loop turns into job priorities without sorting
    (whole numbers in a modest range or positive finite numbers), or ``byrank`` lists the jobs
    in that order (a lexicographic key; give it when :data:`NEEDS_ORDER` came back).

    Returns ``(start, alloc, alloc_len, alloc_offset, stuck)``: a job ends at start +
    duration; job ``j``'s last allocation is ``alloc[:, alloc_offset[j] : alloc_offset[j] +
    alloc_len[j]]`` (nodes, GPUs); ``stuck`` is the first job never placed, -1, or
    :data:`NEEDS_ORDER` (the keys do not pack: nothing was replayed).
    """
    gpus = _arr(view.gpus, np.int64)
    submit = _arr(view.submit, np.float64)
    est_arr = _arr(est if est is not None else view.duration, np.float64)
    # With byrank the keys are never read: any float array of the jobs' length does.
    keyf = _arr(key, np.float64) if key is not None else submit
    ensure_compiled()
    start, al, alen, aoff, stuck = kernels().static_loop(
        BACKFILL_KINDS[backfill], submit, _arr(view.duration, np.float64), gpus, keyf,
        keyf.view(np.int64), _NO_ORDER if byrank is None else _arr(byrank, np.int64), est_arr,
        -1 if backfill_depth is None else int(backfill_depth), bool(fresh_gpu_order), int(nodes),
        int(gpus_per_node), PLACEMENT_KINDS[placement], bool(compat),
    )  # fmt: skip
    return start, al, alen, aoff, int(stuck)


NEEDS_ORDER = -2
"""``run_static``'s ``stuck`` when the keys cannot be packed (NaN, negative fractions,
infinities): call again with ``byrank``."""
_NO_ORDER = np.zeros(0, dtype=np.int64)


def run_preemptive(
    view: JobView,
    spec: KernelSpec,
    run_mode: int,
    nodes: int,
    gpus_per_node: int,
    placement: str,
    compat: bool,
    backfill: str,
    overhead: Callable[[int], float],
    interval: float | None,
    origin: float,
) -> tuple[Any, ...]:
    """One VC under SRTF or Tiresias; ``run_mode`` is how running jobs are kept in order
    (``kernels.RUN_EXACT/RUN_PROXY/RUN_RECOMPUTE``, as the Python engine decides it).

    Returns ``(start, end, preemptions, overhead, seg_job, seg_start, seg_end, alloc,
    alloc_len, alloc_offset, stuck)`` (allocations as in :func:`run_static`); ``stuck`` is a
    job that can never be placed, or -1.
    """
    ensure_compiled()
    k = kernels()
    gpus = _arr(view.gpus, np.int64)
    n = len(gpus)
    cap = int(nodes) * int(gpus_per_node)
    maxg = int(gpus.max()) if n else 0
    iv = np.zeros(k.I_SIZES + maxg + 1, dtype=np.int64)
    iv[k.Q_RULE] = k.SRTF if spec.rule == "srtf" else k.LAS
    iv[k.Q_PRED] = spec.predicted
    iv[k.Q_TIES] = spec.list_ties
    iv[k.Q_STRICT] = spec.strict
    iv[k.Q_GPUTIME] = spec.gpu_time
    iv[k.Q_HOL] = backfill == "none"
    iv[k.Q_PLACE] = PLACEMENT_KINDS[placement]
    iv[k.Q_COMPAT] = compat
    iv[k.Q_RUNMODE] = run_mode
    iv[k.Q_CAP] = cap
    iv[k.Q_NTHR] = len(spec.thresholds)
    # Thresholds, then the checkpoint overhead per GPU count: the overhead function is called
    # once per count (it must depend on the count only).
    fp = np.zeros(len(spec.thresholds) + maxg + 1)
    fp[: len(spec.thresholds)] = spec.thresholds
    for g in np.unique(gpus).tolist():
        fp[len(spec.thresholds) + g] = overhead(int(g))
    if spec.predicted and view.pred is None:
        raise ValueError("a predicted-time policy needs pred_duration_s")
    pred = _arr(view.pred, np.float64) if view.pred is not None else np.zeros(n)
    aoff, asize = alloc_offsets(gpus, gpus_per_node, nodes, placement)
    out = k.preemptive_loop(
        _arr(view.submit, np.float64), _arr(view.duration, np.float64), gpus, pred, iv, fp,
        np.nan if interval is None else float(interval), float(origin), int(nodes),
        int(gpus_per_node), aoff, asize,
    )  # fmt: skip
    return (*out[:9], aoff, int(out[9]))


# ---------------------------------------------------------------------------------------------
# compilation: warm-up, cache location, shipping
# ---------------------------------------------------------------------------------------------
def _tiny_view() -> JobView:
    return JobView(
        np.array([0.0, 1.0, 2.0, 2.0]),
        np.array([5.0, 2.0, 1.0, 30.0]),
        np.array([1, 2, 8, 1], dtype=np.int64),
        np.array([4.0, 2.0, 1.0, 9.0]),
    )


_WARM: dict[str, Any] | None = None
#: Other cores' entry points warmed on their own (``ensure_compiled(only=...)``): name -> "cache"
#: or "compiled" ("" while its warm-up runs).
_READY: dict[str, str] = {}


def ensure_compiled(only: str | None = None) -> dict[str, Any]:
    """:func:`warm` once per process, under a file lock in the cache folder: when several
    processes start at once (test workers, a sweep's pool), one compiles and the others wait
    for its cache instead of compiling too. Returns the first warm-up's report.

    ``only``: an entry point registered by another core (``"shared_loop"``): warm just that one,
    so a shared-GPU replay does not import and load the whole-GPU kernels (about 0.5 s); the
    report then lists the entry points warmed so far.
    """
    global _WARM
    if _WARM is not None:
        return _WARM
    if only in _OTHER_KERNELS:
        if only not in _READY:
            _READY[only] = ""  # its warm-up replays through here: do not warm again
            try:
                with _cache_lock(only):
                    _READY[only] = _OTHER_KERNELS[only][1]()
            except BaseException:
                del _READY[only]
                raise
        return {"cache": str(cache_dir(only)), "kernels": dict(_READY)}
    with _cache_lock():
        _WARM = warm()
    return _WARM


@contextmanager
def _cache_lock(entry_point: str = ENTRY_POINTS[0]) -> Iterator[None]:
    folder = cache_dir(entry_point)
    try:
        import fcntl
    except ImportError:  # not POSIX: no lock, at worst two processes compile
        yield
        return
    if folder is None:
        yield
        return
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fh = open(folder / "tracekit-kernels.lock", "w")  # noqa: SIM115 - held for the block
    except OSError:
        yield
        return
    with fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def warm() -> dict[str, Any]:
    """Compile or load every kernel (on a four-job input) and report what happened.

    Returns ``{"seconds": wall time, "cache": cache folder, "kernels": {name: "cache" |
    "compiled"}}``; ``"compiled"`` means this process paid the compilation (and stored it).
    """
    global _WARM
    t0 = time.perf_counter()
    k = kernels()
    view = _tiny_view()
    rank = np.arange(4, dtype=np.int64)
    _WARM = {}  # (run_static/run_preemptive below must not warm again)
    try:
        run_static(view, None, rank, None, "easy", None, False, 2, 8, "consolidate", False)
        run_preemptive(view, KernelSpec("srtf"), k.RUN_PROXY, 2, 8, "consolidate", False,
                       "greedy", lambda g: 0.0, None, 0.0)  # fmt: skip
    except BaseException:
        _WARM = None
        raise
    report: dict[str, str] = {}
    for name in ENTRY_POINTS[:2]:
        stats = getattr(k, name).stats
        report[name] = "compiled" if sum(stats.cache_misses.values()) else "cache"
    try:
        for name, (_, warm_up) in _OTHER_KERNELS.items():
            report[name] = warm_up()
    except BaseException:
        _WARM = None
        raise
    _WARM = {
        "seconds": time.perf_counter() - t0,
        "cache": str(cache_dir()),
        "kernels": report,
    }
    return _WARM


def cache_dir(entry_point: str = ENTRY_POINTS[0]) -> Path | None:
    """The folder numba caches the kernels in for this process (None: caching unavailable),
    read from ``entry_point``'s module (all of them sit in one package folder)."""
    if entry_point in _OTHER_KERNELS:
        module = _OTHER_KERNELS[entry_point][0]()
    else:
        module = kernels()
    path = getattr(module, entry_point).stats.cache_path
    return Path(path) if path else None


def _kernel_modules() -> list[ModuleType]:
    return [kernels(), *(module() for module, _ in _OTHER_KERNELS.values())]


def _cache_prefix() -> tuple[str, ...]:
    # numba names the cache files "<module file stem>.<function>-<line>.py<ver>.*"
    return tuple(Path(m.__file__).stem + "." for m in _kernel_modules())  # type: ignore[arg-type]


def _current_cache_names() -> set[str] | None:
    """Names of the cache files the kernels of this version use: each compiled function's
    index and the machine-code files it lists (None: numba's cache layout is not the one
    expected, then every kernel file is taken). Files left by earlier versions of the kernels
    (other source lines) are not among them."""
    names: set[str] = set()
    for obj in (v for m in _kernel_modules() for v in vars(m).values()):
        cache = getattr(getattr(obj, "_cache", None), "_cache_file", None)
        if cache is None:
            continue
        try:
            names.add(cache._index_name)
            names.update(cache._load_index().values())
        except (AttributeError, OSError, TypeError, ValueError):
            return None
    return names


def cache_files() -> dict[str, bytes]:
    """The kernels' cache files of this process (``{file name: bytes}``), after a warm-up:
    only those of the current kernels (about 100 files, 3 MB), not stale ones."""
    folder = cache_dir()
    if folder is None or not folder.is_dir():
        return {}
    prefix = _cache_prefix()
    current = _current_cache_names()
    return {
        p.name: p.read_bytes()
        for p in sorted(folder.iterdir())
        if p.name.startswith(prefix)
        and p.suffix in (".nbi", ".nbc")
        and (current is None or p.name in current)
    }


def install_cache(files: dict[str, bytes]) -> Path | None:
    """Write cache files from :func:`cache_files` (another process, maybe another machine) into
    this process's cache folder, each atomically; returns the folder (None: no cache here).

    Numba checks the source text and CPU recorded in each file: files made for other kernels
    or another CPU are simply not used (the kernel compiles once here instead).
    """
    folder = cache_dir()
    if folder is None:
        return None
    folder.mkdir(parents=True, exist_ok=True)
    prefix = _cache_prefix()
    for name, data in files.items():
        if not name.startswith(prefix) or "/" in name or os.sep in name:
            raise ValueError(f"not a kernel cache file name: {name!r}")
        target = folder / name
        tmp = folder / f".{name}.{os.getpid()}.tmp"
        try:
            tmp.write_bytes(data)
            tmp.replace(target)
        finally:
            tmp.unlink(missing_ok=True)
    return folder


def ship_and_warm(files: dict[str, bytes]) -> dict[str, Any]:
    """Install shipped cache files, then :func:`warm` (what a dask worker runs once)."""
    if files:
        install_cache(files)
    report = warm()
    report["shipped_files"] = len(files)
    return report


__all__ = [
    "BACKFILL_KINDS",
    "CORES",
    "ENTRY_POINTS",
    "NEEDS_ORDER",
    "PLACEMENT_KINDS",
    "alloc_offsets",
    "allocations",
    "cache_dir",
    "cache_files",
    "ensure_compiled",
    "import_cached",
    "install_cache",
    "kernels",
    "register_kernel",
    "run_preemptive",
    "run_static",
    "ship_and_warm",
    "warm",
]
