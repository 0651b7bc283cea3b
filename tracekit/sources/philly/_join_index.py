"""Vectorised per-minute join of util rows with the attempts' GPU intervals (numpy search).

Same semantics as :func:`tracekit.sources.philly._join.join_job_minutes` (tested to give the same
rows): a util row at ``t`` on ``(machine, gpu)`` belongs to the interval of that GPU with the
latest ``start_floor <= t``, when ``t < end``; ``shared_server`` is true when ``t`` lies in a
segment where the server hosts 2+ jobs. Instead of a polars as-of join grouped by machine and
GPU (which needs time-sorted input), each interval start is packed with its GPU into one sorted
int64 key and util rows are located with :func:`numpy.searchsorted`, so batches need no sort and
per-job sums are accumulated with :func:`numpy.bincount`.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import numpy as np
import polars as pl

from tracekit.quality import QualityCounter
from tracekit.sources.philly._join import gpu_intervals, shared_segments
from tracekit.sources.philly.formats import MAX_GPUS_PER_SERVER

_KEY_SHIFT = 34  # seconds since 1970 (and the far-future end) fit in 34 bits
_US = 1_000_000
_US_PER_MIN = 60 * _US
_DENSE_MAX_CELLS = 32 << 20  # int32 cells: 128 MB at most; a 48 MB block needs ~10 M
_MINUTES_COLUMNS = ("job_id", "attempt", "time", "machine_id", "gpu", "util", "shared_server")


def _seconds(col: pl.Series) -> np.ndarray:
    return col.dt.epoch("us").to_numpy() // _US


class JoinIndex:
    """Interval index of the attempts' GPUs; :meth:`match` joins util batches against it.

    Parameters
    ----------
    attempts : pl.DataFrame
        The ``attempts`` table (``job_id, attempt, start_time, end_time, gpus``).
    qc : QualityCounter, optional
        Receives ``philly.gpu_double_booked``.

    Attributes
    ----------
    wall_s : float
        Wall-clock seconds spent in :meth:`match` so far.
    """

    def __init__(self, attempts: pl.DataFrame, qc: QualityCounter | None = None) -> None:
        iv = gpu_intervals(attempts, qc)
        shared = shared_segments(iv)
        names = pl.concat([iv["machine_id"], shared["machine_id"]]).unique().sort()
        self._machines = pl.DataFrame({"machine_id": names,
                                       "_m": pl.Series(np.arange(len(names)), dtype=pl.Int64)})
        self._enum = pl.Enum(names)
        iv = iv.join(self._machines, on="machine_id", how="left").with_columns(
            (pl.col("_m") * MAX_GPUS_PER_SERVER + pl.col("gpu").cast(pl.Int64)).alias("_g")
        ).sort("_g", "start_floor", maintain_order=True)
        self._jobs = iv["job_id"].unique(maintain_order=True)
        job_idx = iv.select(pl.col("job_id").cast(pl.Enum(self._jobs)).to_physical())
        self._iv_job = job_idx.to_series().to_numpy().astype(np.int64)
        self._iv_attempt = iv["attempt"].to_numpy()
        self._iv_g = iv["_g"].to_numpy()
        self._iv_key = (self._iv_g << _KEY_SHIFT) | _seconds(iv["start_floor"])
        self._iv_end = iv["end"].dt.epoch("us").to_numpy()
        # Minute range each interval actually wins: up to the next start on the same GPU
        # (the as-of join picks the latest start), for the dense per-block lookup table.
        start_us = iv["start_floor"].dt.epoch("us").to_numpy()
        same_next = np.append(self._iv_g[1:] == self._iv_g[:-1], False)
        next_start = np.where(same_next, np.append(start_us[1:], 0), np.iinfo(np.int64).max)
        self._win_lo = start_us // _US_PER_MIN
        self._win_hi = -(-np.minimum(self._iv_end, next_start) // _US_PER_MIN)
        sh = shared.join(self._machines, on="machine_id", how="left").sort(
            "_m", "seg_start", maintain_order=True)
        self._sh_m = sh["_m"].to_numpy()
        self._sh_key = (self._sh_m << _KEY_SHIFT) | _seconds(sh["seg_start"])
        self._sh_end = sh["seg_end"].dt.epoch("us").to_numpy()
        self._sum = np.zeros(len(self._jobs), np.float64)
        self._n = np.zeros(len(self._jobs), np.int64)
        self.wall_s = 0.0

    def match(self, util: pl.DataFrame) -> pl.DataFrame:
        """Rows of ``util`` (``time, machine_id, gpu, util``) covered by an attempt, in the
        ``job_gpu_minutes`` schema and in ``util``'s order; per-job sums are accumulated."""
        t0 = time.perf_counter()
        if len(self._iv_key) == 0:  # no attempt could be placed in time
            return util.head(0).select(
                pl.lit(None, pl.String).alias("job_id"),
                pl.lit(None, pl.Int32).alias("attempt"),
                "time", "machine_id", "gpu", "util",
                pl.lit(None, pl.Boolean).alias("shared_server"),
            )
        # Enum cast: machine codes are the positions in the sorted name list (unknown -> -1).
        m = util["machine_id"].cast(self._enum, strict=False).to_physical().cast(pl.Int64) \
            .fill_null(-1).to_numpy()
        t_us = util["time"].dt.epoch("us").to_numpy()
        g = m * MAX_GPUS_PER_SERVER + util["gpu"].to_numpy().astype(np.int64)
        idx = self._dense_lookup(g, t_us)
        if idx is None:
            idx = np.searchsorted(self._iv_key, (g << _KEY_SHIFT) | (t_us // _US),
                                  side="right") - 1
        safe = np.maximum(idx, 0)
        hit = (m >= 0) & (idx >= 0) & (self._iv_g[safe] == g) & (t_us < self._iv_end[safe])
        rows = np.flatnonzero(hit)
        iv = idx[rows]
        m_hit, t_hit = m[rows], t_us[rows]
        sidx = np.searchsorted(self._sh_key, (m_hit << _KEY_SHIFT) | (t_hit // _US),
                               side="right") - 1
        ssafe = np.maximum(sidx, 0)
        shared = (sidx >= 0) & (self._sh_m[ssafe] == m_hit) & (t_hit < self._sh_end[ssafe]) \
            if len(self._sh_key) else np.zeros(len(rows), bool)
        picked = util[rows]
        job = self._iv_job[iv]
        vals = picked["util"]
        valid = vals.is_not_null().to_numpy()
        self._sum += np.bincount(job[valid], weights=vals.to_numpy()[valid].astype(np.float64),
                                 minlength=len(self._jobs))
        self._n += np.bincount(job[valid], minlength=len(self._jobs))
        out = picked.with_columns(
            self._jobs.gather(job).alias("job_id"),
            pl.Series("attempt", self._iv_attempt[iv], pl.Int32),
            pl.Series("shared_server", shared, pl.Boolean),
        ).select(_MINUTES_COLUMNS)
        self.wall_s += time.perf_counter() - t0
        return out

    def _dense_lookup(self, g: np.ndarray, t_us: np.ndarray) -> np.ndarray | None:
        """Interval index per row from a (GPU x minute) table painted for the batch's time
        window, or None when rows are not on whole minutes or the window is too long."""
        if len(t_us) == 0 or bool((t_us % _US_PER_MIN).any()):
            return None
        minute = t_us // _US_PER_MIN
        lo = int(minute.min())
        width = int(minute.max()) - lo + 1
        n_gpus = len(self._machines) * MAX_GPUS_PER_SERVER
        if n_gpus * width > _DENSE_MAX_CELLS:
            return None
        s = np.maximum(self._win_lo, lo)
        e = np.minimum(self._win_hi, lo + width)
        ids = np.flatnonzero(e > s)
        lengths = (e - s)[ids]
        total = int(lengths.sum())
        # cell = gpu * width + minute - lo, for every minute each interval wins in the window
        first = np.cumsum(lengths) - lengths
        base = np.repeat(self._iv_g[ids] * width + (s[ids] - lo) - first, lengths)
        table = np.full(n_gpus * width, -1, np.int32)
        table[base + np.arange(total)] = np.repeat(ids, lengths)
        ok = g >= 0
        out = np.full(len(g), -1, np.int64)
        out[ok] = table[g[ok] * width + minute[ok] - lo]
        return out

    def util_means(self) -> pl.DataFrame:
        """``job_id, util_sum, util_n`` over everything matched so far (jobs with a match)."""
        seen = self._n > 0
        return pl.DataFrame({
            "job_id": self._jobs.filter(pl.Series(seen)),
            "util_sum": self._sum[seen],
            "util_n": self._n[seen].astype(np.uint32),
        })


def job_gpu_minutes(
    util_batches: Iterator[pl.DataFrame], attempts: pl.DataFrame,
    qc: QualityCounter | None = None,
) -> Iterator[tuple[pl.DataFrame, pl.DataFrame]]:
    """Stream the per-job join over util batches.

    Yields ``(minutes, partial)`` per batch: ``minutes`` in the ``job_gpu_minutes`` schema and
    ``partial`` = per-job ``util_sum``, ``util_n`` (non-null samples) to be summed by the caller
    (see :func:`finish_gpu_util_mean`).
    """
    index = JoinIndex(attempts, qc)
    for batch in util_batches:
        minutes = index.match(batch)
        partial = minutes.group_by("job_id").agg(
            pl.col("util").cast(pl.Float64).sum().alias("util_sum"),
            pl.col("util").count().alias("util_n"),
        )
        yield minutes, partial
