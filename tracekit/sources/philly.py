"""Reader for the Microsoft Philly trace (ATC'19): raw files -> normalized store tables.

Input is the official ``trace-data.tar.gz`` (streamed with :mod:`tarfile`, never extracted) or a
folder holding the five extension-less files anywhere below it. Output (trace ``philly``, one
cluster ``philly``): ``jobs``, ``attempts``, ``gpu_util`` (long layout), ``host_util``,
``machines``, ``capacity`` and ``job_gpu_minutes``. See docs/philly.md for the mapping, the
definitions and the data-quality rules (``philly.*``).

The format constants at the top of this module are the single description of the on-disk format;
the synthetic sample generator imports them to write byte-compatible files.
"""

from __future__ import annotations

import contextlib
import gzip
import io
import json
import shutil
import tarfile
import tempfile
import zlib
from collections.abc import Callable, Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import IO, Any

import polars as pl
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from tracekit.errors import TraceFormatError
from tracekit.quality import QualityCounter
from tracekit.sources._common import find_by_basename, read_synthetic_marker
from tracekit.store import begin, read_manifest, source_record
from tracekit.timeutil import localize_naive

# ---- format constants (imported by the synthetic sample generator) -----------------------------
TRACE = "philly"
CLUSTER = "philly"
TIMEZONE = "America/Los_Angeles"

ARCHIVE_NAME = "trace-data.tar.gz"
ARCHIVE_DIR = "trace-data"  # top-level folder of the five files inside the tarball
ARCHIVE_BYTES = 1_055_988_361  # official LFS pointer
ARCHIVE_SHA256 = "2037ccf63a725a02be718b0e1aeee6142c90b7f62d0d849295120e9f6ba13d2c"
LFS_POINTER_PREFIX = b"version https://git-lfs"

JOB_LOG = "cluster_job_log"
GPU_UTIL = "cluster_gpu_util"
CPU_UTIL = "cluster_cpu_util"
MEM_UTIL = "cluster_mem_util"
MACHINE_LIST = "cluster_machine_list"
FILE_NAMES: tuple[str, ...] = (JOB_LOG, GPU_UTIL, CPU_UTIL, MEM_UTIL, MACHINE_LIST)
REQUIRED_FILES: tuple[str, ...] = (JOB_LOG,)

# cluster_job_log: one JSON array of objects with exactly these keys.
JOB_KEYS: tuple[str, ...] = ("status", "vc", "jobid", "attempts", "submitted_time", "user")
ATTEMPT_KEYS: tuple[str, ...] = ("start_time", "end_time", "detail")
DETAIL_KEYS: tuple[str, ...] = ("ip", "gpus")
TIME_FORMAT = "%Y-%m-%d %H:%M:%S"  # job-log times: naive US/Pacific wall clock
TIME_LEN = 19  # len("2017-10-03 00:08:00")
NULL_TIME_STRINGS: tuple[str, ...] = ("", "None")  # plus JSON null
GPU_ID_PREFIX = "gpu"  # "gpu0" ... "gpu7"
RAW_STATUSES: tuple[str, ...] = ("Pass", "Killed", "Failed")
STATUS_MAP: dict[str, str] = {"Pass": "completed", "Killed": "canceled", "Failed": "failed"}

# Utilization CSVs: header row, "," delimiter, no quoting, times with a zone suffix.
GPU_UTIL_COLUMNS: tuple[str, ...] = ("time", "machineId", *(f"gpu{k}_util" for k in range(8)))
GPU_UTIL_HEADER = ",".join(GPU_UTIL_COLUMNS)
GPU_UTIL_TRAILING_COMMA = True  # data rows end with "," (an empty last field)
CPU_UTIL_COLUMNS: tuple[str, ...] = ("time", "machine_id", "cpu_util")
CPU_UTIL_HEADER = ",".join(CPU_UTIL_COLUMNS)
MEM_UTIL_COLUMNS: tuple[str, ...] = ("time", "machine_id", "mem_total", "mem_free")
MEM_UTIL_HEADER = ",".join(MEM_UTIL_COLUMNS)
UTIL_NA = "NA"  # machine/GPU offline
UTIL_TIME_SUFFIXES: dict[str, int] = {" PDT": -7, " PST": -8}  # suffix -> UTC offset in hours
UTIL_TIME_LEN = TIME_LEN + 4  # "2017-10-03 00:08:00 PDT"
MAX_GPUS_PER_SERVER = 8
GLUED_ROW_VALUES = 16  # DST fall-back rows carrying two 8-value samples (formats.md trap 11)

# cluster_machine_list: spaces after the commas in the header and before the memory value.
MACHINE_LIST_COLUMNS: tuple[str, ...] = ("machineId", "number of GPUs", "single GPU mem")
MACHINE_LIST_HEADER = ", ".join(MACHINE_LIST_COLUMNS)
GPU_MEM_UNIT = "GB"
# ------------------------------------------------------------------------------------------------

ProgressFn = Callable[[str, int, int | None], None]

_CHUNK_BYTES = 48 << 20  # text chunk per parsing step of the util files
_JOIN_BATCH_ROWS = 4_000_000  # gpu_util rows per step of the per-job join
_BUCKET_BYTES = 256 << 20  # host-util join: one machine bucket per this many raw bytes
_FAR_FUTURE = pl.lit(9_000_000_000_000_000, dtype=pl.Int64).cast(pl.Datetime("us", "UTC"))
_UTC = pl.Datetime("us", "UTC")


# ================================================================================================
# Input: folder or tarball
# ================================================================================================
@contextlib.contextmanager
def _guard_archive(archive: Path, member: str) -> Iterator[None]:
    """Turn low-level archive read errors into a TraceFormatError naming archive and member."""
    try:
        yield
    except (tarfile.TarError, EOFError, zlib.error, gzip.BadGzipFile) as exc:
        raise TraceFormatError(
            f"{archive}!{member}" if member else archive,
            None,
            f"archive is truncated or corrupt ({type(exc).__name__}: {exc}); "
            "download it again (expected size "
            f"{ARCHIVE_BYTES:,} bytes for the official {ARCHIVE_NAME})",
        ) from exc


def _check_not_lfs_pointer(path: Path) -> None:
    if path.stat().st_size < 1024:
        with open(path, "rb") as fh:
            if fh.read(len(LFS_POINTER_PREFIX)) == LFS_POINTER_PREFIX:
                raise TraceFormatError(
                    path, 1, "this is a Git LFS pointer, not the data; fetch it with "
                    "`git lfs pull` or the LFS media URL",
                )


def _iter_members(raw_path: Path) -> Iterator[tuple[str, str, IO[bytes], int]]:
    """Yield ``(basename, display_path, binary file, size)`` for each Philly file found.

    Folders are searched by basename; a folder without the job log but with the tarball is
    read through the tarball. Tarballs are streamed member by member (``r|*``), in archive order.
    """
    if raw_path.is_dir():
        found = find_by_basename(raw_path, FILE_NAMES)
        if JOB_LOG not in found:
            archives = find_by_basename(raw_path, (ARCHIVE_NAME,))
            if ARCHIVE_NAME in archives:
                yield from _iter_members(archives[ARCHIVE_NAME])
                return
        for name in FILE_NAMES:
            if name in found:
                with open(found[name], "rb") as fh:
                    yield name, str(found[name]), fh, found[name].stat().st_size
        return
    if not raw_path.exists():
        raise FileNotFoundError(f"{raw_path}: no such file or folder")
    _check_not_lfs_pointer(raw_path)
    current = ""
    with _guard_archive(raw_path, current):
        tf = tarfile.open(raw_path, mode="r|*")
    with tf:
        members = iter(tf)
        while True:
            with _guard_archive(raw_path, current):
                member = next(members, None)
            if member is None:
                return
            name = Path(member.name).name
            if not member.isfile() or name not in FILE_NAMES:
                continue
            current = member.name
            with _guard_archive(raw_path, current):
                fh = tf.extractfile(member)
            if fh is None:  # pragma: no cover - isfile() members always have data
                continue
            # Read errors surface while the consumer reads ``fh``: ingest guards that too.
            yield name, f"{raw_path}!{member.name}", fh, member.size


# ================================================================================================
# cluster_job_log
# ================================================================================================
def _load_json(fh: IO[bytes], path: str) -> list[Any]:
    data = fh.read()
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise TraceFormatError(path, line, f"not UTF-8 text: {exc.reason}") from exc
    try:
        records = json.loads(text)
    except json.JSONDecodeError as exc:
        raise TraceFormatError(
            path, exc.lineno, f"malformed JSON at column {exc.colno}: {exc.msg}"
        ) from exc
    if not isinstance(records, list):
        raise TraceFormatError(path, 1, "expected one JSON array of job objects")
    return records


def _time_marker(value: Any, qc: QualityCounter) -> str | None:
    """Map the three null encodings to None (counted by encoding), keep other strings."""
    if value is None:
        qc.add("philly.null_time.json_null")
        return None
    if value in NULL_TIME_STRINGS:
        qc.add("philly.null_time.none_string" if value == "None" else "philly.null_time.empty")
        return None
    if not isinstance(value, str):
        raise ValueError(f"time is not a string: {value!r}")
    return value


_JOB_KEY_SET = frozenset(JOB_KEYS)
_GPU_ENTRY = rf"^[^/]+/{GPU_ID_PREFIX}[0-9]+$"  # "m47/gpu3", checked vectorized


def _flatten_job(
    i: int, job: Any, qc: QualityCounter, jobs: dict[str, list[Any]], att: dict[str, list[Any]]
) -> None:
    """Append one job object to column lists (validated first, so a bad job adds nothing).

    Hot loop (117 k jobs): exact ``type`` checks and local variables; GPU ids are validated
    vectorized afterwards (``_GPU_ENTRY``).
    """
    if type(job) is not dict:
        raise ValueError("job is not a JSON object")
    if len(job) != len(JOB_KEYS) or job.keys() != _JOB_KEY_SET:
        missing = [k for k in JOB_KEYS if k not in job]
        if missing:
            raise ValueError(f"missing keys {missing}")
        qc.add("philly.job_extra_keys", example=f"job #{i + 1}: {sorted(set(job) - _JOB_KEY_SET)}")
    jobid, user, vc, status = job["jobid"], job["user"], job["vc"], job["status"]
    attempts, submitted = job["attempts"], job["submitted_time"]
    if not (type(jobid) is str and type(user) is str and type(vc) is str and type(status) is str):
        raise ValueError("jobid, user, vc and status must be strings")
    if type(attempts) is not list:
        raise ValueError("attempts is not a list")
    if submitted is not None and type(submitted) is not str:
        raise ValueError(f"submitted_time is not a string: {submitted!r}")
    rows = []
    for a, attempt in enumerate(attempts):
        try:
            start, end, detail = attempt["start_time"], attempt["end_time"], attempt["detail"]
            for t in (start, end):
                if t is not None and type(t) is not str:
                    raise ValueError(f"attempt {a}: time is not a string: {t!r}")
            machines, gpus = [], []
            for d in detail:
                ip, ids = d["ip"], d["gpus"]
                if type(ip) is not str or type(ids) is not list:
                    raise ValueError(f"attempt {a}: bad detail entry {d!r}")
                machines.append(ip)
                gpus += [ip + "/" + g for g in ids]
        except (KeyError, TypeError) as exc:
            raise ValueError(f"attempt {a} is not of the form {{{', '.join(ATTEMPT_KEYS)}}} "
                             f"with detail entries {{{', '.join(DETAIL_KEYS)}}}") from exc
        rows.append((a, start, end, machines, gpus))
    # Validated: now record (null markers are counted only for records that are kept).
    for a, start, end, machines, gpus in rows:
        att["job_idx"].append(i)
        att["attempt"].append(a)
        att["start_raw"].append(start if type(start) is str and start not in NULL_TIME_STRINGS
                                else _time_marker(start, qc))
        att["end_raw"].append(end if type(end) is str and end not in NULL_TIME_STRINGS
                              else _time_marker(end, qc))
        att["machines"].append(machines)
        att["gpus"].append(gpus)
    jobs["job_idx"].append(i)
    jobs["job_id"].append(jobid)
    jobs["user"].append(user)
    jobs["vc"].append(vc)
    jobs["raw_status"].append(status)
    jobs["submit_raw"].append(_time_marker(submitted, qc))


def _parse_times(
    frame: pl.DataFrame, raw: str, out: str, path: str, qc: QualityCounter, ids: pl.Series
) -> pl.DataFrame:
    """Parse naive Pacific strings in ``raw`` to UTC ``out`` (unparseable: error or counted)."""
    naive = pl.col(raw).str.strptime(pl.Datetime("us"), TIME_FORMAT, strict=False)
    frame = frame.with_columns(naive.alias("_naive"))
    bad = frame.select((pl.col(raw).is_not_null() & pl.col("_naive").is_null()).alias("b"))["b"]
    if bad.any():
        first = int(bad.arg_true()[0])
        example = f"job {ids[first]}: {raw.removesuffix('_raw')} = {frame[raw][first]!r}"
        if not qc.lenient:
            raise TraceFormatError(path, None, f"unparseable time ({example}); expected "
                                   f"{TIME_FORMAT!r}, null, 'None' or ''")
        qc.add("philly.bad_time", int(bad.sum()), example=example)
    utc = localize_naive(pl.col("_naive"), TIMEZONE)
    earliest = pl.col("_naive").dt.replace_time_zone(TIMEZONE, ambiguous="earliest",
                                                     non_existent="null")
    latest = pl.col("_naive").dt.replace_time_zone(TIMEZONE, ambiguous="latest",
                                                   non_existent="null")
    counts = frame.select(
        (earliest != latest).sum().alias("amb"),
        (pl.col("_naive").is_not_null() & earliest.is_null()).sum().alias("nonex"),
    )
    qc.add("philly.ambiguous_local_time", int(counts["amb"][0] or 0))
    qc.add("philly.nonexistent_local_time", int(counts["nonex"][0] or 0))
    return frame.with_columns(utc.alias(out)).drop("_naive")


def parse_job_log(
    records: list[Any], path: str, qc: QualityCounter
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Turn the decoded ``cluster_job_log`` array into the ``jobs`` and ``attempts`` frames.

    Parameters
    ----------
    records : list
        The JSON array, as decoded by :func:`json.load`.
    path : str
        File name used in error messages.
    qc : QualityCounter
        Receives the ``philly.*`` counts; its ``lenient`` flag decides between raising and
        dropping (counted) a malformed job object.

    Returns
    -------
    jobs, attempts : polars.DataFrame
        In the store schemas, except that ``jobs.gpu_util_mean`` is still null.
    """
    jobs: dict[str, list[Any]] = {k: [] for k in
                                  ("job_idx", "job_id", "user", "vc", "raw_status", "submit_raw")}
    att: dict[str, list[Any]] = {k: [] for k in
                                 ("job_idx", "attempt", "start_raw", "end_raw", "machines", "gpus")}
    for i, job in enumerate(records):
        try:
            _flatten_job(i, job, qc, jobs, att)
        except (ValueError, TypeError, KeyError) as exc:
            jid = job.get("jobid") if isinstance(job, dict) else None
            problem = f"job #{i + 1} ({jid or 'no jobid'}): {exc}"
            if not qc.lenient:
                raise TraceFormatError(path, None, problem) from exc
            qc.add("philly.bad_job_record", example=problem)
    qc.add("philly.bad_job_record", 0)
    job_df = pl.DataFrame(jobs, schema={"job_idx": pl.Int64, "job_id": pl.String,
                                        "user": pl.String, "vc": pl.String,
                                        "raw_status": pl.String, "submit_raw": pl.String})
    # Nested lists go through Arrow: polars' Python constructor is slow for 100 k+ lists.
    lists = pa.list_(pa.string())
    att_table = pa.table({
        "job_idx": pa.array(att["job_idx"], pa.int64()),
        "attempt": pa.array(att["attempt"], pa.int32()),
        "start_raw": pa.array(att["start_raw"], pa.string()),
        "end_raw": pa.array(att["end_raw"], pa.string()),
        "machines": pa.array(att["machines"], lists),
        "gpus": pa.array(att["gpus"], lists),
    })
    att_df = pl.from_arrow(att_table)
    assert isinstance(att_df, pl.DataFrame)
    bad_gpu = att_df.select(
        pl.col("gpus").list.eval(pl.element().str.contains(_GPU_ENTRY)).list.all().not_()
    ).to_series()
    if bad_gpu.any():
        idx = int(att_df["job_idx"].filter(bad_gpu)[0])
        problem = (f"job #{idx + 1} ({records[idx].get('jobid')}): GPU ids must look like "
                   f"'{GPU_ID_PREFIX}K', got {att_df['gpus'].filter(bad_gpu)[0].to_list()}")
        if not qc.lenient:
            raise TraceFormatError(path, None, problem)
        bad_jobs = att_df["job_idx"].filter(bad_gpu).unique().implode()
        qc.add("philly.bad_job_record", len(bad_jobs[0]), example=problem)
        job_df = job_df.filter(~pl.col("job_idx").is_in(bad_jobs))
        att_df = att_df.filter(~pl.col("job_idx").is_in(bad_jobs))
    dup = job_df["job_id"].is_duplicated()
    if dup.any():
        problem = f"duplicate jobid {job_df['job_id'].filter(dup)[0]!r}"
        if not qc.lenient:
            raise TraceFormatError(path, None, problem)
        # Keep the first occurrence: job_id must be unique within (trace, cluster).
        keep = job_df.filter(pl.col("job_id").is_first_distinct())["job_idx"]
        qc.add("philly.duplicate_job", job_df.height - int(job_df["job_id"].n_unique()),
               example=problem)
        job_df = job_df.filter(pl.col("job_idx").is_in(keep.implode()))
        att_df = att_df.filter(pl.col("job_idx").is_in(keep.implode()))

    ids = job_df["job_id"]
    job_df = _parse_times(job_df, "submit_raw", "submit_time", path, qc, ids)
    att_ids = att_df.join(job_df.select("job_idx", "job_id"), on="job_idx", how="left")["job_id"]
    att_df = _parse_times(att_df, "start_raw", "start_time", path, qc, att_ids)
    att_df = _parse_times(att_df, "end_raw", "end_time", path, qc, att_ids)
    att_df = att_df.with_columns(pl.col("gpus").list.len().cast(pl.Float64).alias("num_gpus"))

    missing_submit = int(job_df["submit_time"].null_count())
    qc.add("philly.missing_submit_time", missing_submit)
    qc.add("philly.attempt_missing_start", int(att_df["start_time"].null_count()))
    qc.add("philly.attempt_missing_end", int(att_df["end_time"].null_count()))

    per_job = att_df.sort("job_idx", "attempt").group_by("job_idx").agg(
        pl.len().cast(pl.Int32).alias("num_attempts"),
        pl.col("num_gpus").first().alias("num_gpus"),
        pl.col("machines").first().list.len().cast(pl.Int32).alias("num_nodes"),
        pl.col("start_time").drop_nulls().first().alias("start_time"),
        pl.col("end_time").last().alias("end_time"),
    )
    out = job_df.join(per_job, on="job_idx", how="left").with_columns(
        pl.col("num_attempts").fill_null(0)
    )
    unknown = ~pl.col("raw_status").is_in(list(STATUS_MAP))
    n_unknown = int(out.select(unknown.sum()).item())
    qc.add("philly.unknown_status", n_unknown)
    censored = (pl.col("num_attempts") > 0) & pl.col("end_time").is_null()
    out = out.with_columns(
        pl.when(censored)
        .then(pl.lit("censored"))
        .otherwise(pl.col("raw_status").replace_strict(STATUS_MAP, default="censored"))
        .alias("status"),
        ((pl.col("start_time") - pl.col("submit_time")).dt.total_microseconds() / 1e6)
        .alias("queue_s"),
        ((pl.col("end_time") - pl.col("start_time")).dt.total_microseconds() / 1e6)
        .alias("duration_s"),
    ).with_columns((pl.col("num_gpus") * pl.col("duration_s")).alias("gpu_time_s"))
    qc.add("philly.job_no_attempts", int((out["num_attempts"] == 0).sum()))
    qc.add("philly.job_censored", int(out.select(censored.sum()).item()))
    qc.add("philly.negative_queue", int((out["queue_s"] < 0).sum()))
    qc.add("philly.negative_duration", int((out["duration_s"] < 0).sum()))

    jobs_out = out.sort("job_idx").select(
        "job_idx", "job_id", "user", "vc",
        pl.lit(None, pl.String).alias("job_name"),
        pl.lit(None, pl.String).alias("group_tag"),
        pl.lit(None, pl.String).alias("workload"),
        "submit_time", "start_time", "end_time", "queue_s", "duration_s", "num_gpus",
        pl.lit(None, pl.Float64).alias("num_cpus"),
        pl.lit(None, pl.Float64).alias("mem_gb"),
        "num_nodes",
        pl.lit(None, pl.String).alias("gpu_type"),
        "status", "raw_status", "num_attempts", "gpu_time_s",
        pl.lit(None, pl.Float64).alias("gpu_util_mean"),
    )
    attempts_out = att_df.join(job_df.select("job_idx", "job_id"), on="job_idx").sort(
        "job_idx", "attempt"
    ).select("job_id", "attempt", "start_time", "end_time", "machines", "gpus", "num_gpus")
    return jobs_out.drop("job_idx"), attempts_out


def read_job_log(fh: IO[bytes], path: str, qc: QualityCounter) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Read ``cluster_job_log`` from a binary file (see :func:`parse_job_log`)."""
    return parse_job_log(_load_json(fh, path), path, qc)


# ================================================================================================
# Utilization CSVs
# ================================================================================================
def _iter_line_chunks(
    fh: IO[bytes], path: str, chunk_bytes: int
) -> Iterator[tuple[int, pl.Series]]:
    """Yield ``(first_line_number, lines)`` chunks of a text file, split at line ends.

    Line numbers are 1-based and count every physical line, so errors can name the exact line.
    """
    leftover = b""
    line_no = 1
    while True:
        block = fh.read(chunk_bytes)
        data = leftover + block
        if not block:
            if data:
                yield line_no, _decode_lines(data, path, line_no)
            return
        cut = data.rfind(b"\n")
        if cut < 0:
            leftover = data
            continue
        leftover = data[cut + 1 :]
        lines = _decode_lines(data[:cut], path, line_no)
        yield line_no, lines
        line_no += len(lines)


def _decode_lines(data: bytes, path: str, line_no: int) -> pl.Series:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = line_no + data[: exc.start].count(b"\n")
        raise TraceFormatError(path, line, f"not UTF-8 text: {exc.reason}") from exc
    # Vectorized split (no Python loop over lines); tolerate CRLF line ends.
    return pl.Series("line", [text]).str.split("\n").explode().str.strip_chars_end("\r")


def _util_time(raw: pl.Expr) -> tuple[pl.Expr, pl.Expr]:
    """Naive local time and UTC offset (hours) of a util time string; null when malformed."""
    naive = raw.str.slice(0, TIME_LEN).str.strptime(pl.Datetime("us"), TIME_FORMAT, strict=False)
    suffix = raw.str.slice(TIME_LEN)
    offset = pl.lit(None, pl.Int64)
    for sfx, hours in UTIL_TIME_SUFFIXES.items():
        offset = pl.when(suffix == sfx).then(pl.lit(-hours, pl.Int64)).otherwise(offset)
    ok = naive.is_not_null() & offset.is_not_null() & (raw.str.len_chars() == UTIL_TIME_LEN)
    return pl.when(ok).then(naive), pl.when(ok).then(offset)


def _check_header(line: str, expected: tuple[str, ...], path: str, qc: QualityCounter,
                  rule: str) -> None:
    fields = [f.strip() for f in line.rstrip(",").split(",")]
    if fields != list(expected):
        problem = f"unexpected header {line[:120]!r}; expected {','.join(expected)!r}"
        if not qc.lenient:
            raise TraceFormatError(path, 1, problem)
        qc.add(rule, example=problem)
    else:
        qc.add(rule, 0)


def _reject(bad: pl.DataFrame, path: str, qc: QualityCounter, rule: str, what: str) -> None:
    """Raise for the first bad row (strict) or count all of them (lenient)."""
    if bad.height == 0:
        qc.add(rule, 0)
        return
    line, text = int(bad["lineno"][0]), str(bad["line"][0])[:120]
    if not qc.lenient:
        raise TraceFormatError(path, line, f"{what}: {text!r}")
    qc.add(rule, bad.height, example=f"line {line}: {text}")


def _frame(first: int, lines: pl.Series, skip_header: bool) -> pl.DataFrame:
    df = pl.DataFrame({"line": lines}).with_row_index("lineno", offset=first)
    if skip_header:
        df = df.slice(1)
    return df


def iter_gpu_util(
    fh: IO[bytes], path: str, qc: QualityCounter, chunk_bytes: int = _CHUNK_BYTES,
    on_progress: ProgressFn | None = None, total_bytes: int | None = None,
) -> Iterator[pl.DataFrame]:
    """Stream ``cluster_gpu_util`` as long-layout frames ``time, machine_id, gpu, util``.

    Every data row yields one output row per value it carries (GPU K = K-th value), so 2- and
    4-GPU servers with short rows and servers padded with ``NA`` are both kept as written.
    ``NA`` (offline) -> null util. A glued DST row (16 values during the repeated hour of the
    fall-back night) is split into the earlier (PDT) and the later (PST) sample. Times become UTC
    using the row's suffix (``PDT`` = UTC-7, ``PST`` = UTC-8).
    """
    done = 0
    for first, lines in _iter_line_chunks(fh, path, chunk_bytes):
        done += int(lines.str.len_bytes().sum()) + len(lines)
        df = _frame(first, lines, skip_header=first == 1)
        if first == 1:
            _check_header(lines[0], GPU_UTIL_COLUMNS, path, qc, "philly.gpu_util_bad_header")
        # Time order within a chunk (the file is time-ordered across chunks): readers can
        # prune row groups by time, and the per-job join can skip its sort.
        out = _gpu_chunk_fast(df, path, qc).sort("time", maintain_order=True)
        if on_progress is not None:
            on_progress(GPU_UTIL, done, total_bytes)
        if out.height:
            yield out


class _Fallback(Exception):
    """The fast path met something unusual: parse that group with the exact line-level path."""


_GPU_LONG_SCHEMA = {"time": _UTC, "machine_id": pl.String, "gpu": pl.Int8, "util": pl.Float32}


def _gpu_chunk_fast(df: pl.DataFrame, path: str, qc: QualityCounter) -> pl.DataFrame:
    """Parse a chunk of gpu-util lines: lines are grouped by field count and each group is read
    by Arrow's CSV parser (typed floats, ``NA`` -> null). A group with anything unusual (bad
    time, empty or non-numeric value, mixed trailing commas) is re-parsed by :func:`_gpu_chunk`,
    which names the exact line, so both paths give identical results and counts.
    """
    blank = pl.col("line") == ""
    qc.add("philly.blank_line", int(df.select(blank.sum()).item()))
    df = df.filter(~blank).with_columns(
        pl.col("line").str.count_matches(",", literal=True).alias("c")
    )
    outs = []
    for (c,), part in df.partition_by("c", as_dict=True, maintain_order=True).items():
        local = QualityCounter(lenient=qc.lenient)
        try:
            out = _gpu_group(part, int(c), local)
        except (_Fallback, pa.ArrowInvalid):
            local = QualityCounter(lenient=qc.lenient)
            out = _gpu_chunk(part.drop("c"), path, local)
        qc.merge(local)
        outs.append(out)
    if not outs:
        return pl.DataFrame(schema=_GPU_LONG_SCHEMA)
    return pl.concat(outs)


def _gpu_group(part: pl.DataFrame, commas: int, qc: QualityCounter) -> pl.DataFrame:
    """Fast path for lines with the same number of commas (raises _Fallback when unsure)."""
    if commas < 2:
        raise _Fallback
    names = [f"f{i}" for i in range(commas + 1)]
    types = {n: pa.float32() for n in names[2:-1]}
    types.update({"f0": pa.string(), "f1": pa.string(), names[-1]: pa.string()})
    blob = part["line"].str.join("\n").item().encode()
    table = pacsv.read_csv(
        io.BytesIO(blob),
        read_options=pacsv.ReadOptions(column_names=names),
        parse_options=pacsv.ParseOptions(quote_char=False, ignore_empty_lines=False),
        convert_options=pacsv.ConvertOptions(
            column_types=types, null_values=[UTIL_NA], strings_can_be_null=False,
            quoted_strings_can_be_null=False,
        ),
    )
    if table.num_rows != part.height:
        raise _Fallback
    f = pl.from_arrow(table)
    assert isinstance(f, pl.DataFrame)
    last = f[names[-1]]
    values = names[2:-1]
    if not (last == "").all():
        lastf = pl.select(pl.when(last == UTIL_NA).then(None).otherwise(last)
                          .cast(pl.Float32, strict=False)).to_series()
        if (last == "").any() or lastf.null_count() != int((last == UTIL_NA).sum()):
            raise _Fallback
        f = f.with_columns(lastf.alias(names[-1]))
        values.append(names[-1])
        qc.add("philly.gpu_util_no_trailing_comma", f.height)
    naive, offset = _util_time(pl.col("f0"))
    f = f.with_columns(naive.alias("naive"), offset.alias("off"))
    if f["naive"].null_count() or (f["f1"] == "").any():
        raise _Fallback
    k = len(values)
    if k == 0:
        qc.add("philly.gpu_util_row_without_values", f.height)
    glued = pl.lit(False)
    if k > MAX_GPUS_PER_SERVER:
        earliest = pl.col("naive").dt.replace_time_zone(TIMEZONE, ambiguous="earliest",
                                                        non_existent="null")
        latest = pl.col("naive").dt.replace_time_zone(TIMEZONE, ambiguous="latest",
                                                      non_existent="null")
        glued = pl.lit(k == GLUED_ROW_VALUES) & (earliest != latest).fill_null(False)
    f = f.with_columns(glued.alias("glued"))
    n_glued = int(f["glued"].sum())
    qc.add("philly.gpu_util_glued_dst_row", n_glued)
    dst_pdt, dst_pst = -UTIL_TIME_SUFFIXES[" PDT"], -UTIL_TIME_SUFFIXES[" PST"]
    first_off = pl.when(pl.col("glued")).then(dst_pdt).otherwise(pl.col("off"))
    f = f.with_columns(
        (pl.col("naive") + pl.duration(hours=first_off)).dt.replace_time_zone("UTC").alias("t1"),
        (pl.col("naive") + pl.duration(hours=dst_pst)).dt.replace_time_zone("UTC").alias("t2"),
    )
    frames = []
    glued_rows = f.filter(pl.col("glued")) if n_glued else None
    for j, col in enumerate(values):
        if j < MAX_GPUS_PER_SERVER:
            src, tcol = f, "t1"
        else:
            qc.add("philly.gpu_util_extra_values", f.height - n_glued)
            if glued_rows is None:
                continue
            src, tcol = glued_rows, "t2"
        frames.append(src.select(
            pl.col(tcol).alias("time"), pl.col("f1").alias("machine_id"),
            pl.lit(j % MAX_GPUS_PER_SERVER, pl.Int8).alias("gpu"), pl.col(col).alias("util"),
        ))
    qc.add("philly.gpu_util_offline_value", sum(int(f[c].null_count()) for c in values))
    qc.add("philly.gpu_util_empty_value", 0)
    qc.add("philly.gpu_util_bad_row", 0)
    qc.add("philly.gpu_util_bad_value", 0)
    qc.add("philly.gpu_util_extra_values", 0)
    if not frames:
        return pl.DataFrame(schema=_GPU_LONG_SCHEMA)
    return pl.concat(frames)


def _gpu_chunk(df: pl.DataFrame, path: str, qc: QualityCounter) -> pl.DataFrame:
    blank = pl.col("line") == ""
    qc.add("philly.blank_line", int(df.select(blank.sum()).item()))
    df = df.filter(~blank)
    naive, offset = _util_time(pl.col("p").list.get(0))
    df = df.with_columns(pl.col("line").str.split(",").alias("p")).with_columns(
        pl.col("p").list.len().alias("n"),
        naive.alias("naive"),
        offset.alias("off"),
        pl.col("p").list.get(1, null_on_oob=True).alias("machine_id"),
    )
    trailing = pl.col("p").list.last() == ""
    ok = pl.col("naive").is_not_null() & (pl.col("n") >= 2) & (pl.col("machine_id") != "")
    bad = df.filter(~ok)
    _reject(bad, path, qc, "philly.gpu_util_bad_row",
            "bad row (expected '<YYYY-MM-DD HH:MM:SS PDT|PST>,<machine>,<values>...')")
    df = df.filter(ok)
    qc.add("philly.gpu_util_no_trailing_comma", int(df.select((~trailing).sum()).item()))
    nvals = pl.col("n") - 2 - trailing.cast(pl.Int64)
    df = df.with_columns(pl.col("p").list.slice(2, nvals).alias("v")).with_columns(
        pl.col("v").list.len().alias("k")
    )
    qc.add("philly.gpu_util_row_without_values", int((df["k"] == 0).sum()))
    # Glued rows: only rows with more than 8 values need the (costly) ambiguity test.
    wide = pl.col("k") > MAX_GPUS_PER_SERVER
    earliest = pl.col("naive").dt.replace_time_zone(TIMEZONE, ambiguous="earliest",
                                                    non_existent="null")
    latest = pl.col("naive").dt.replace_time_zone(TIMEZONE, ambiguous="latest",
                                                  non_existent="null")
    glued = wide & (pl.col("k") == GLUED_ROW_VALUES) & (earliest != latest).fill_null(False)
    df = df.with_columns(glued.alias("glued"))
    qc.add("philly.gpu_util_glued_dst_row", int(df["glued"].sum()))
    long = df.select(
        "lineno", "line", "naive", "off", "machine_id", "glued", "v",
        pl.int_ranges(0, pl.col("k"), dtype=pl.Int64).alias("pos"),
    ).explode("v", "pos")
    long = long.filter(pl.col("pos").is_not_null())
    extra = (pl.col("pos") >= MAX_GPUS_PER_SERVER) & ~pl.col("glued")
    qc.add("philly.gpu_util_extra_values", int(long.select(extra.sum()).item()))
    long = long.filter(~extra)
    # Glued halves: first 8 values = earlier instant (PDT), next 8 = later instant (PST).
    dst_pdt, dst_pst = -UTIL_TIME_SUFFIXES[" PDT"], -UTIL_TIME_SUFFIXES[" PST"]
    off = (
        pl.when(pl.col("glued"))
        .then(pl.when(pl.col("pos") >= MAX_GPUS_PER_SERVER).then(dst_pst).otherwise(dst_pdt))
        .otherwise(pl.col("off"))
    )
    is_na = pl.col("v") == UTIL_NA
    is_empty = pl.col("v") == ""
    num = pl.col("v").cast(pl.Float32, strict=False)
    long = long.with_columns(
        (pl.col("naive") + pl.duration(hours=off)).dt.replace_time_zone("UTC").alias("time"),
        (pl.col("pos") % MAX_GPUS_PER_SERVER).cast(pl.Int8).alias("gpu"),
        num.alias("util"),
        is_na.alias("is_na"),
        is_empty.alias("is_empty"),
    )
    bad_val = long.filter(pl.col("util").is_null() & ~pl.col("is_na") & ~pl.col("is_empty"))
    _reject(bad_val, path, qc, "philly.gpu_util_bad_value", "value is not a number or 'NA'")
    qc.add("philly.gpu_util_offline_value", int(long["is_na"].sum()))
    qc.add("philly.gpu_util_empty_value", int(long["is_empty"].sum()))
    return long.select("time", "machine_id", "gpu", "util")


def iter_host_util(
    fh: IO[bytes], path: str, kind: str, qc: QualityCounter, chunk_bytes: int = _CHUNK_BYTES
) -> Iterator[pl.DataFrame]:
    """Stream ``cluster_cpu_util`` (``kind='cpu'``) or ``cluster_mem_util`` (``kind='mem'``).

    Yields ``time, machine_id, cpu_util`` or ``time, machine_id, mem_total, mem_free`` frames
    (Float32, UTC). ``NA`` -> null; a ``mem_total`` of 0 makes both memory values null (counted).
    """
    columns = CPU_UTIL_COLUMNS if kind == "cpu" else MEM_UTIL_COLUMNS
    values = list(columns[2:])
    rule = f"philly.{kind}_util"
    for first, lines in _iter_line_chunks(fh, path, chunk_bytes):
        df = _frame(first, lines, skip_header=first == 1)
        if first == 1:
            _check_header(lines[0], columns, path, qc, f"{rule}_bad_header")
        blank = pl.col("line") == ""
        qc.add("philly.blank_line", int(df.select(blank.sum()).item()))
        df = df.filter(~blank)
        naive, offset = _util_time(pl.col("p").list.get(0))
        parts = pl.col("line").str.strip_chars_end(",").str.split(",")
        df = df.with_columns(parts.alias("p")).with_columns(
            naive.alias("naive"), offset.alias("off"),
            pl.col("p").list.get(1, null_on_oob=True).alias("machine_id"),
            *[pl.col("p").list.get(2 + j, null_on_oob=True).alias(c)
              for j, c in enumerate(values)],
        )
        num = [pl.when(pl.col(c) == UTIL_NA).then(None).otherwise(pl.col(c))
               .cast(pl.Float32, strict=False).alias(f"_{c}") for c in values]
        df = df.with_columns(num)
        ok = (
            pl.col("naive").is_not_null()
            & (pl.col("p").list.len() == len(columns))
            & (pl.col("machine_id") != "")
        )
        for c in values:
            ok = ok & ((pl.col(c) == UTIL_NA) | pl.col(f"_{c}").is_not_null())
        _reject(df.filter(~ok), path, qc, f"{rule}_bad_row",
                f"bad row (expected {len(columns)} fields: {','.join(columns)})")
        df = df.filter(ok)
        qc.add(f"{rule}_offline", int(df[f"_{values[0]}"].null_count()))
        out = df.select(
            (pl.col("naive") + pl.duration(hours=pl.col("off"))).dt.replace_time_zone("UTC")
            .alias("time"),
            "machine_id",
            *[pl.col(f"_{c}").alias(c) for c in values],
        )
        if kind == "mem":
            zero = pl.col("mem_total") == 0
            qc.add("philly.mem_total_zero", int(out.select(zero.sum()).item()))
            out = out.with_columns(
                pl.when(zero).then(None).otherwise(pl.col(c)).alias(c) for c in values
            )
        if out.height:
            yield out


class _HostUtilJoin:
    """Full outer join of the CPU and memory streams on (time, machine), in bounded memory.

    Rows are spread over machine-hash buckets written to temporary Parquet files; each bucket is
    then joined on its own, so only one bucket is in memory at a time.
    """

    def __init__(self, tmp: Path, buckets: int) -> None:
        self.tmp = tmp
        self.buckets = max(1, buckets)
        self.writers: dict[tuple[str, int], pq.ParquetWriter] = {}
        self.seen: set[str] = set()

    def add(self, kind: str, frame: pl.DataFrame) -> None:
        self.seen.add(kind)
        frame = frame.with_columns(
            (pl.col("machine_id").hash(seed=7) % self.buckets).alias("_b")
        )
        for (b,), part in frame.partition_by("_b", as_dict=True).items():
            table = part.drop("_b").to_arrow()
            key = (kind, int(b))
            if key not in self.writers:
                self.writers[key] = pq.ParquetWriter(self.tmp / f"{kind}-{b}.parquet",
                                                     table.schema)
            self.writers[key].write_table(table)

    def finish(self) -> Iterator[pl.DataFrame]:
        for w in self.writers.values():
            w.close()
        empty = {
            "cpu": pl.DataFrame(schema={"time": _UTC, "machine_id": pl.String,
                                        "cpu_util": pl.Float32}),
            "mem": pl.DataFrame(schema={"time": _UTC, "machine_id": pl.String,
                                        "mem_total": pl.Float32, "mem_free": pl.Float32}),
        }
        for b in range(self.buckets):
            sides = {}
            for kind in ("cpu", "mem"):
                f = self.tmp / f"{kind}-{b}.parquet"
                sides[kind] = pl.read_parquet(f) if f.exists() else empty[kind]
            if sides["cpu"].height == 0 and sides["mem"].height == 0:
                continue
            yield sides["cpu"].join(
                sides["mem"], on=["time", "machine_id"], how="full", coalesce=True
            ).select("time", "machine_id", "cpu_util", "mem_total", "mem_free")


# ================================================================================================
# cluster_machine_list and capacity
# ================================================================================================
def read_machine_list(fh: IO[bytes], path: str, qc: QualityCounter) -> pl.DataFrame:
    """Read ``cluster_machine_list`` into the ``machines`` schema (whitespace stripped)."""
    lines = fh.read().decode("utf-8", errors="strict").splitlines()
    if not lines:
        raise TraceFormatError(path, 1, "empty machine list")
    _check_header(lines[0], MACHINE_LIST_COLUMNS, path, qc, "philly.machine_list_bad_header")
    ids, gpus, mems = [], [], []
    for n, line in enumerate(lines[1:], start=2):
        if not line.strip():
            qc.add("philly.blank_line")
            continue
        fields = [f.strip() for f in line.split(",")]
        try:
            if len(fields) != 3 or not fields[0]:
                raise ValueError("expected 3 fields")
            num = int(fields[1])
            mem = fields[2]
            if not mem.endswith(GPU_MEM_UNIT):
                raise ValueError(f"GPU memory {mem!r} lacks the unit {GPU_MEM_UNIT!r}")
            mem_gb = float(mem[: -len(GPU_MEM_UNIT)])
        except ValueError as exc:
            if not qc.lenient:
                raise TraceFormatError(path, n, f"{exc}: {line!r}") from exc
            qc.add("philly.machine_list_bad_row", example=f"line {n}: {line}")
            continue
        ids.append(fields[0])
        gpus.append(float(num))
        mems.append(mem_gb)
    return pl.DataFrame(
        {"machine_id": ids, "num_gpus": gpus, "gpu_mem_gb": mems},
        schema={"machine_id": pl.String, "num_gpus": pl.Float64, "gpu_mem_gb": pl.Float64},
    ).select(
        "machine_id", "num_gpus",
        pl.lit(None, pl.String).alias("gpu_type"),  # not in the trace (only GPU memory)
        "gpu_mem_gb",
        pl.lit(None, pl.Float64).alias("num_cpus"),
        pl.lit(None, pl.Float64).alias("mem_gb"),
    )


def check_machine_list(machines: pl.DataFrame, attempts: pl.DataFrame,
                       qc: QualityCounter) -> pl.DataFrame:
    """Compare listed GPU counts with placements (warnings only, see philly-traces issue #8).

    Returns the machines whose placements use more GPUs (highest index + 1) than listed, with
    ``listed`` and ``used`` columns; counts ``philly.machine_list_gpu_mismatch`` and
    ``philly.machine_not_in_list``.
    """
    used = (
        attempts.select(pl.col("gpus").explode().alias("g"))
        .drop_nulls()
        .select(
            pl.col("g").str.split_exact("/", 1).struct.field("field_0").alias("machine_id"),
            (pl.col("g").str.split_exact("/", 1).struct.field("field_1")
             .str.slice(len(GPU_ID_PREFIX)).cast(pl.Int64) + 1).alias("used"),
        )
        .group_by("machine_id")
        .agg(pl.col("used").max())
    )
    joined = used.join(machines.select("machine_id", pl.col("num_gpus").alias("listed")),
                       on="machine_id", how="left")
    qc.add("philly.machine_not_in_list", int(joined["listed"].null_count()))
    bad = joined.filter(pl.col("used") > pl.col("listed")).sort("machine_id")
    qc.add("philly.machine_list_gpu_mismatch", bad.height,
           example=", ".join(bad["machine_id"].head(5).to_list()) or None)
    return bad


def derive_capacity(machines: pl.DataFrame, jobs: pl.DataFrame) -> pl.DataFrame:
    """Daily cluster capacity from the machine list: one row per local date, ``vc`` null.

    Philly publishes no per-VC capacity; ``vc = null`` means "whole cluster". Dates run from the
    first submission to the last job event (local ``America/Los_Angeles`` dates); every date gets
    the sum of listed GPUs (the list is a single snapshot).
    """
    total = float(machines["num_gpus"].sum()) if machines.height else 0.0
    times = pl.concat([jobs["submit_time"], jobs["start_time"], jobs["end_time"]]).drop_nulls()
    schema = {"date": pl.Date, "vc": pl.String, "num_gpus": pl.Float64}
    if times.is_empty() or machines.height == 0:
        return pl.DataFrame(schema=schema)
    local = times.dt.convert_time_zone(TIMEZONE).dt.date()
    first, last = local.min(), local.max()
    assert isinstance(first, date) and isinstance(last, date)
    days = pl.date_range(first, last, timedelta(days=1), eager=True)
    return pl.DataFrame({"date": days, "vc": [None] * len(days),
                         "num_gpus": [total] * len(days)}, schema=schema)


# ================================================================================================
# Per-job GPU utilization (attempts x machine x GPU x minute)
# ================================================================================================
def gpu_intervals(attempts: pl.DataFrame, qc: QualityCounter | None = None) -> pl.DataFrame:
    """One row per (attempt, machine, GPU): the minutes ``[start_floor, end)`` it held the GPU.

    A util sample at minute ``m`` belongs to the attempt when ``floor(start) <= m < end`` (the
    official notebook's minute walk). A missing end (censored) is open-ended; attempts without
    a start cannot be placed in time and are left out. Overlapping intervals on one GPU (double
    bookings) are counted as ``philly.gpu_double_booked``; such minutes go to the later attempt.
    """
    iv = (
        attempts.filter(pl.col("start_time").is_not_null())
        .select("job_id", "attempt", "start_time", "end_time", pl.col("gpus").alias("g"))
        .explode("g")
        .drop_nulls("g")
        .with_columns(pl.col("g").str.split_exact("/", 1).alias("_s"))
        .select(
            "job_id", "attempt",
            pl.col("_s").struct.field("field_0").alias("machine_id"),
            pl.col("_s").struct.field("field_1").str.slice(len(GPU_ID_PREFIX)).cast(pl.Int8)
            .alias("gpu"),
            pl.col("start_time").dt.truncate("1m").alias("start_floor"),
            pl.col("end_time").fill_null(_FAR_FUTURE).alias("end"),
        )
        .sort("machine_id", "gpu", "start_floor")
    )
    if qc is not None:
        prev_end = pl.col("end").cum_max().shift(1).over("machine_id", "gpu")
        qc.add("philly.gpu_double_booked",
               int(iv.select((pl.col("start_floor") < prev_end).sum()).item()))
    return iv.sort("start_floor")


def shared_segments(intervals: pl.DataFrame) -> pl.DataFrame:
    """Time segments ``[seg_start, seg_end)`` in which a server hosts GPUs of 2+ jobs.

    A sweep over (job, attempt, machine) intervals: +1 at each start, -1 at each end; ends sort
    before starts at the same instant because intervals are half-open.
    """
    per_machine = intervals.group_by("job_id", "attempt", "machine_id").agg(
        pl.col("start_floor").min(), pl.col("end").max()
    )
    events = pl.concat([
        per_machine.select("machine_id", pl.col("start_floor").alias("t"),
                           pl.lit(1, pl.Int32).alias("d")),
        per_machine.select("machine_id", pl.col("end").alias("t"), pl.lit(-1, pl.Int32).alias("d")),
    ]).sort("machine_id", "t", "d")
    seg = events.with_columns(
        pl.col("d").cum_sum().over("machine_id").alias("active"),
        pl.col("t").shift(-1).over("machine_id").alias("seg_end"),
    )
    return (
        seg.filter((pl.col("active") >= 2) & (pl.col("seg_end") > pl.col("t")))
        .select("machine_id", pl.col("t").alias("seg_start"), "seg_end")
        .sort("seg_start")
    )


def join_job_minutes(util: pl.DataFrame, intervals: pl.DataFrame,
                     shared: pl.DataFrame) -> pl.DataFrame:
    """Attach ``job_id, attempt, shared_server`` to util rows covered by an attempt.

    ``util`` holds ``time, machine_id, gpu, util`` rows in any order; rows no attempt covers
    (idle GPUs) are not returned. Output is in the ``job_gpu_minutes`` schema.
    """
    u = util if util["time"].is_sorted() else util.sort("time")
    hit = u.join_asof(
        intervals, left_on="time", right_on="start_floor", by=["machine_id", "gpu"],
        strategy="backward", check_sortedness=False,
    ).filter(pl.col("job_id").is_not_null() & (pl.col("time") < pl.col("end")))
    hit = hit.join_asof(
        shared, left_on="time", right_on="seg_start", by="machine_id",
        strategy="backward", check_sortedness=False,
    ).with_columns(
        (pl.col("seg_end").is_not_null() & (pl.col("time") < pl.col("seg_end")))
        .alias("shared_server")
    )
    return hit.select("job_id", "attempt", "time", "machine_id", "gpu", "util", "shared_server")


def job_gpu_minutes(
    util_batches: Iterator[pl.DataFrame], attempts: pl.DataFrame,
    qc: QualityCounter | None = None,
) -> Iterator[tuple[pl.DataFrame, pl.DataFrame]]:
    """Stream the per-job join over util batches.

    Yields ``(minutes, partial)`` per batch: ``minutes`` in the ``job_gpu_minutes`` schema and
    ``partial`` = per-job ``util_sum``, ``util_n`` (non-null samples) to be summed by the caller
    (see :func:`finish_gpu_util_mean`).
    """
    iv = gpu_intervals(attempts, qc)
    shared = shared_segments(iv)
    for batch in util_batches:
        minutes = join_job_minutes(batch, iv, shared)
        partial = minutes.group_by("job_id").agg(
            pl.col("util").cast(pl.Float64).sum().alias("util_sum"),
            pl.col("util").count().alias("util_n"),
        )
        yield minutes, partial


def finish_gpu_util_mean(jobs: pl.DataFrame, partials: list[pl.DataFrame]) -> pl.DataFrame:
    """Fill ``jobs.gpu_util_mean`` = mean util over the job's non-null GPU-minutes."""
    if not partials:
        return jobs
    agg = pl.concat(partials).group_by("job_id").agg(pl.col("util_sum").sum(),
                                                     pl.col("util_n").sum())
    agg = agg.select("job_id", pl.when(pl.col("util_n") > 0)
                     .then(pl.col("util_sum") / pl.col("util_n")).alias("_mean"))
    return jobs.join(agg, on="job_id", how="left").with_columns(
        pl.col("_mean").alias("gpu_util_mean")
    ).drop("_mean")


def _parquet_batches(path: Path, rows: int) -> Iterator[pl.DataFrame]:
    pf = pq.ParquetFile(path)
    for rb in pf.iter_batches(batch_size=rows):
        frame = pl.from_arrow(pa.Table.from_batches([rb]))
        assert isinstance(frame, pl.DataFrame)
        yield frame


# ================================================================================================
# ingest
# ================================================================================================
def ingest(
    raw_path: str | Path,
    store: str | Path,
    *,
    clusters: list[str] | tuple[str, ...] | None = None,
    lenient: bool = False,
    on_progress: ProgressFn | None = None,
) -> dict[str, dict[str, int]]:
    """Ingest the Philly trace into ``store`` (trace ``philly``, cluster ``philly``).

    Parameters
    ----------
    raw_path : str or Path
        ``trace-data.tar.gz`` or a folder containing the five files (or the tarball).
    store : str or Path
        Store directory; the ``philly`` partition is replaced atomically.
    clusters : sequence of str, optional
        Only ``["philly"]`` is meaningful; anything else raises ``ValueError``.
    lenient : bool
        Count and drop unparseable rows/objects (rules ``philly.*``) instead of raising.
    on_progress : callable, optional
        Called as ``on_progress(stage, done, total)``; for the util files ``done``/``total``
        are bytes (``total`` may be None).

    Returns
    -------
    dict
        ``{"philly": {table: rows}}``.

    Raises
    ------
    TraceFormatError
        Malformed input (file and line named), truncated archive, missing job log.
    """
    raw = Path(raw_path)
    if clusters is not None and set(clusters) != {CLUSTER}:
        raise ValueError(f"Philly has one cluster, {CLUSTER!r}; got {list(clusters)}")
    qc = QualityCounter(lenient=lenient)
    marker = read_synthetic_marker(raw)
    progress = on_progress or (lambda stage, done, total: None)
    seen: dict[str, str] = {}
    jobs = attempts = machines = None
    store_path = Path(store)
    store_path.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".philly-", dir=store_path))
    try:
        with begin(store_path, TRACE) as tx:
            gpu_writer = None
            host = _HostUtilJoin(tmp, 1)
            for name, display, fh, size in _iter_members(raw):
                if name in seen:
                    qc.add("philly.duplicate_file", example=display)
                    continue
                seen[name] = display
                progress(name, 0, size)
                with _guard_archive(Path(display), ""):
                    if name == JOB_LOG:
                        jobs, attempts = read_job_log(fh, display, qc)
                    elif name == GPU_UTIL:
                        gpu_writer = tx.open_writer("gpu_util", CLUSTER)
                        for frame in iter_gpu_util(fh, display, qc, on_progress=progress,
                                                   total_bytes=size):
                            gpu_writer.write(frame)
                    elif name in (CPU_UTIL, MEM_UTIL):
                        if host.buckets == 1 and not host.writers:
                            host.buckets = max(1, min(64, size // _BUCKET_BYTES + 1))
                        kind = "cpu" if name == CPU_UTIL else "mem"
                        for frame in iter_host_util(fh, display, kind, qc):
                            host.add(kind, frame)
                    elif name == MACHINE_LIST:
                        machines = read_machine_list(fh, display, qc)
                progress(name, size, size)
            missing = [n for n in FILE_NAMES if n not in seen]
            for n in missing:
                if n in REQUIRED_FILES:
                    raise TraceFormatError(raw, None, f"{n} not found (looked for the files "
                                           f"{', '.join(FILE_NAMES)} by base name)")
                qc.add(f"philly.missing_file.{n}", example=f"{n} not found under {raw}")
            assert jobs is not None and attempts is not None
            for name in (CPU_UTIL, MEM_UTIL):
                if name in seen:
                    hw = tx.open_writer("host_util", CLUSTER)
                    for frame in host.finish():
                        hw.write(frame)
                    break
            if machines is not None:
                check_machine_list(machines, attempts, qc)
                tx.write("machines", CLUSTER, machines)
                tx.write("capacity", CLUSTER, derive_capacity(machines, jobs))
            partials: list[pl.DataFrame] = []
            if gpu_writer is not None:
                gpu_writer.close()  # finish the staged file so the join can read it back
                mw = tx.open_writer("job_gpu_minutes", CLUSTER)
                progress("job_gpu_minutes", 0, gpu_writer.rows)
                done = 0
                batches = _parquet_batches(gpu_writer.path, _JOIN_BATCH_ROWS)
                for minutes, partial in job_gpu_minutes(batches, attempts, qc):
                    mw.write(minutes)
                    partials.append(partial)
                    done += _JOIN_BATCH_ROWS
                    progress("job_gpu_minutes", min(done, gpu_writer.rows), gpu_writer.rows)
            jobs = finish_gpu_util_mean(jobs, partials)
            tx.write("jobs", CLUSTER, jobs)
            tx.write("attempts", CLUSTER, attempts)
            sources = [source_record(Path(seen[n])) for n in FILE_NAMES
                       if n in seen and Path(seen[n]).is_file()]
            if raw.is_file():
                sources = [source_record(raw)]
            tx.set_meta(
                CLUSTER, sources=sources, synthetic=marker is not None, quality=qc,
                timezone=TIMEZONE, synthetic_marker=marker, missing_files=missing,
                capacity_vc="null = whole cluster (Philly publishes no per-VC capacity)",
            )
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    manifest = read_manifest(store_path)
    return {CLUSTER: dict(manifest["partitions"][f"{TRACE}/{CLUSTER}"]["rows"])}


__all__ = [
    "ARCHIVE_NAME", "CLUSTER", "FILE_NAMES", "GPU_UTIL_HEADER", "JOB_KEYS", "TIMEZONE", "TRACE",
    "check_machine_list", "derive_capacity", "finish_gpu_util_mean", "gpu_intervals", "ingest",
    "iter_gpu_util", "iter_host_util", "job_gpu_minutes", "join_job_minutes", "parse_job_log",
    "read_job_log", "read_machine_list", "shared_segments",
]
