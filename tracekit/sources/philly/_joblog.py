"""``cluster_job_log`` -> ``jobs`` + ``attempts`` (native JSON fast path, validated slow path)."""

from __future__ import annotations

import json
import re
from typing import IO, Any

import polars as pl
import pyarrow as pa

from tracekit.errors import TraceFormatError
from tracekit.quality import QualityCounter
from tracekit.sources._common import read_capped
from tracekit.sources.philly.formats import (
    ATTEMPT_KEYS,
    DETAIL_KEYS,
    GPU_ID_PREFIX,
    JOB_KEYS,
    MAX_JOB_LOG_BYTES,
    NULL_TIME_STRINGS,
    STATUS_MAP,
    TIME_FORMAT,
    TIMEZONE,
)
from tracekit.timeutil import localize_naive


def _load_json(data: bytes, path: str) -> list[Any]:
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
    job_df, att_df = _frames_from_records(records, path, qc)
    return _finish_job_log(job_df, att_df, path, qc)


def _frames_from_records(
    records: list[Any], path: str, qc: QualityCounter
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Exact path: validate each decoded job object in Python, build the raw frames."""
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
    for rule in ("bad_job_record", "null_time.json_null", "null_time.none_string",
                 "null_time.empty"):
        qc.add(f"philly.{rule}", 0)
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
    return job_df, att_df


_JOB_LOG_SCHEMA: dict[str, pl.DataType] = {
    "status": pl.String(), "vc": pl.String(), "jobid": pl.String(),
    "attempts": pl.List(pl.Struct({
        "start_time": pl.String(), "end_time": pl.String(),
        "detail": pl.List(pl.Struct({"ip": pl.String(), "gpus": pl.List(pl.String())})),
    })),
    "submitted_time": pl.String(), "user": pl.String(),
}
# A JSON value that is neither string, null, array nor object: the exact path must judge it.
_NON_STRING_SCALAR = re.compile(rb'":\s*[-0-9tf]')


def _frames_from_json_bytes(
    data: bytes, qc: QualityCounter
) -> tuple[pl.DataFrame, pl.DataFrame] | None:
    """Fast path: parse the job log natively with polars; None when anything is unusual.

    Taken only when the document is an array whose objects have exactly the documented keys and
    string/null values everywhere (checked by schema, null counts and key counts in the raw
    bytes); otherwise the exact per-object path decides, so both give the same frames.
    """
    if data.lstrip()[:1] != b"[" or _NON_STRING_SCALAR.search(data):
        return None
    try:
        df = pl.read_json(data, infer_schema_length=None)
    except (pl.exceptions.PolarsError, ValueError):
        return None
    if df.height == 0 or dict(df.schema) != _JOB_LOG_SCHEMA:
        return None
    n = df.height
    if any(df[c].null_count() for c in ("status", "vc", "jobid", "attempts", "user")):
        return None
    n_att = int(df["attempts"].list.len().sum())
    att = (
        df.select(pl.int_range(n, dtype=pl.Int64).alias("job_idx"), "attempts")
        .explode("attempts")
        .filter(pl.col("attempts").is_not_null())
        .with_columns(pl.int_range(pl.len(), dtype=pl.Int32).over("job_idx").alias("attempt"))
        .unnest("attempts")
    )
    if att.height != n_att or att["detail"].null_count():
        return None
    n_det = int(att["detail"].list.len().sum())
    det = (
        att.select("job_idx", "attempt", "detail").explode("detail")
        .filter(pl.col("detail").is_not_null()).unnest("detail")
    )
    if det.height != n_det or det["ip"].null_count() or det["gpus"].null_count():
        return None
    n_gpu = int(det["gpus"].list.len().sum())
    counts = {
        **{k: n for k in JOB_KEYS},
        **{k: n_att for k in ATTEMPT_KEYS},
        **{k: n_det for k in DETAIL_KEYS},
    }
    if any(data.count(f'"{k}"'.encode()) != v for k, v in counts.items()):
        return None  # a key missing somewhere (read as null) or appearing inside a value
    gpus = det.explode("gpus").filter(pl.col("gpus").is_not_null())
    if gpus.height != n_gpu:
        return None
    keys = ["job_idx", "attempt"]
    machines = det.group_by(keys, maintain_order=True).agg(pl.col("ip").alias("machines"))
    gpu_lists = gpus.group_by(keys, maintain_order=True).agg(
        (pl.col("ip") + "/" + pl.col("gpus")).alias("gpus")
    )
    empty = pl.lit([], dtype=pl.List(pl.String))
    att = (
        att.drop("detail")
        .join(machines, on=keys, how="left")
        .join(gpu_lists, on=keys, how="left")
        .sort(keys)
        .select(
            *keys,
            pl.col("start_time").alias("start_raw"), pl.col("end_time").alias("end_raw"),
            pl.col("machines").fill_null(empty), pl.col("gpus").fill_null(empty),
        )
    )
    jobs = df.select(
        pl.int_range(n, dtype=pl.Int64).alias("job_idx"), pl.col("jobid").alias("job_id"),
        "user", "vc", pl.col("status").alias("raw_status"),
        pl.col("submitted_time").alias("submit_raw"),
    )
    marked = []
    for frame, cols in ((jobs, ["submit_raw"]), (att, ["start_raw", "end_raw"])):
        for c in cols:
            col = frame[c]
            qc.add("philly.null_time.json_null", col.null_count())
            qc.add("philly.null_time.none_string", int((col == "None").sum()))
            qc.add("philly.null_time.empty", int((col == "").sum()))
        marked.append(frame.with_columns(
            pl.when(pl.col(c).is_in(list(NULL_TIME_STRINGS))).then(None).otherwise(pl.col(c))
            .alias(c) for c in cols
        ))
    qc.add("philly.bad_job_record", 0)
    return marked[0], marked[1]


def _finish_job_log(
    job_df: pl.DataFrame, att_df: pl.DataFrame, path: str, qc: QualityCounter
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Shared by both paths: GPU-id check, duplicates, times, per-job columns, status."""
    bad_gpu = att_df.select(
        pl.col("gpus").list.eval(pl.element().str.contains(_GPU_ENTRY)).list.all().not_()
    ).to_series()
    if bad_gpu.any():
        idx = int(att_df["job_idx"].filter(bad_gpu)[0])
        jid = job_df.filter(pl.col("job_idx") == idx)["job_id"].to_list()
        problem = (f"job #{idx + 1} ({jid[0] if jid else '?'}): GPU ids must look like "
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
    """Read ``cluster_job_log`` from a binary file (see :func:`parse_job_log`).

    Well-formed logs take a native polars path; anything unusual goes through the exact
    per-object path, which names the bad job. Both give identical frames and counts.
    """
    data = read_capped(fh, MAX_JOB_LOG_BYTES, path, "Philly job log")
    fast = _frames_from_json_bytes(data, qc)
    if fast is None:
        return parse_job_log(_load_json(data, path), path, qc)
    return _finish_job_log(fast[0], fast[1], path, qc)
