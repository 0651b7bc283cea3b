"""The generic reader's ``ingest``: a job table + its mapping -> one store partition, atomically."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import polars as pl

from tracekit.errors import TraceFormatError
from tracekit.quality import QualityCounter
from tracekit.sources._common import ProgressFn, no_progress, read_synthetic_marker, require_rows
from tracekit.sources._validate import Validator
from tracekit.sources.csv.jobs import to_jobs
from tracekit.sources.csv.mapping import Mapping, read_mapping
from tracekit.sources.csv.read import read_table
from tracekit.store import begin, source_record


def capacity_rows(
    jobs: pl.DataFrame, gpus: dict[str | None, float], timezone: str
) -> pl.DataFrame:
    """One ``capacity`` row per VC and local day the jobs span (constant GPUs per VC).

    Parameters
    ----------
    jobs : polars.DataFrame
        The partition's ``jobs`` table (its submit and end times set the days).
    gpus : dict
        GPUs per VC (the key None means the whole cluster).
    timezone : str
        The trace's zone; days are local calendar days.
    """
    schema = {"date": pl.Date, "vc": pl.String, "num_gpus": pl.Float64}
    if jobs.height == 0 or not gpus:
        return pl.DataFrame(schema=schema)
    span = jobs.select(
        pl.col("submit_time").min().alias("first"),
        pl.max_horizontal(pl.col("submit_time").max(), pl.col("end_time").max()).alias("last"),
    ).with_columns(pl.all().dt.convert_time_zone(timezone).dt.date())
    first: date = span["first"][0]
    last: date = span["last"][0]
    days = pl.date_range(first, last, "1d", eager=True).alias("date")
    per_vc = pl.DataFrame(
        {"vc": list(gpus), "num_gpus": list(gpus.values())},
        schema={"vc": pl.String, "num_gpus": pl.Float64},
    )
    return days.to_frame().join(per_vc, how="cross").select(list(schema)).sort("date", "vc")


def ingest(
    raw_path: str | Path,
    store: str | Path,
    *,
    mapping: str | Path | Mapping | None = None,
    clusters: list[str] | tuple[str, ...] | None = None,
    lenient: bool = False,
    strict: bool = False,
    allow_empty: bool = False,
    on_progress: ProgressFn | None = None,
) -> dict[str, dict[str, int]]:
    """Ingest a job table of any cluster into ``store``, as its column ``mapping`` says.

    Parameters
    ----------
    raw_path : str or Path
        The job table (delimited text, e.g. ``sacct --parsable2`` output or a CSV export).
    store : str or Path
        Store directory; the partition ``(mapping trace, mapping cluster)`` is replaced
        atomically. Nothing is written when the mapping or the table is bad.
    mapping : str, Path or Mapping
        The column mapping (TOML; see ``docs/interop.md`` and the examples folder).
    clusters : sequence of str, optional
        When given, must contain the mapping's cluster.
    lenient : bool
        Count and drop rows with unparseable cells (``<trace>.unparseable_row``) instead of
        raising.
    strict : bool
        Raise instead of repairing rows: a repeated job id, or a value that breaks the store
        contract (a negative count, a start before its submission, ...).
    allow_empty : bool
        Store an empty job table (by default an input without jobs is refused).
    on_progress : callable, optional
        Called as ``on_progress(stage, done, total)``.

    Returns
    -------
    dict
        ``{cluster: {table: rows}}``.

    Raises
    ------
    TraceFormatError
        A bad mapping (file, line and key named), a bad cell of the table (file, line and
        column named), or a table without jobs (unless ``allow_empty``).
    """
    if mapping is None:
        raise ValueError("the csv reader needs a column mapping: mapping='MAP.toml' "
                         "(`tracekit ingest csv PATH --mapping MAP.toml`)")
    progress = on_progress or no_progress
    spec = mapping if isinstance(mapping, Mapping) else read_mapping(mapping)
    path = Path(raw_path)
    if not path.is_file():
        raise TraceFormatError(path, None, "no such file (the csv reader reads one job table)")
    if clusters is not None and spec.cluster not in clusters:
        raise ValueError(f"the mapping's cluster is {spec.cluster!r}; got clusters={clusters}")
    quality = QualityCounter(lenient=lenient)
    check = Validator(spec.trace, quality, cluster=spec.cluster, strict=strict, label=str(path))
    progress(f"{spec.trace}/{spec.cluster}: reading {path.name}", 0, 2)
    fields = read_table(path, spec, quality)
    require_rows(fields.height, path, allow_empty, "job rows")
    jobs = to_jobs(fields.drop("_row"), spec.trace, quality, strict=strict, source=path)
    jobs = check("jobs", jobs)
    require_rows(jobs.height, path, allow_empty, "job rows left after repairs")
    capacity = check("capacity", capacity_rows(jobs, spec.capacity_gpus, spec.timezone))
    progress(f"{spec.trace}/{spec.cluster}: writing", 1, 2)
    marker = read_synthetic_marker(path)
    with begin(store, spec.trace, mode="ingest", allow_empty=allow_empty) as tx:
        rows = {"jobs": tx.write("jobs", spec.cluster, jobs)}
        if capacity.height:
            rows["capacity"] = tx.write("capacity", spec.cluster, capacity)
        tx.set_meta(
            spec.cluster,
            sources=[source_record(path), source_record(spec.path)],
            synthetic=marker is not None,
            quality=quality,
            timezone=spec.timezone,
            reader="csv",
            mapping=spec.document,
            sample=marker,
        )
    progress(f"{spec.trace}/{spec.cluster}: done", 2, 2)
    return {spec.cluster: rows}


__all__ = ["capacity_rows", "ingest"]
