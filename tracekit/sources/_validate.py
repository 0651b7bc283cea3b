"""The readers' validation layer: the store contract's value rules, applied before every write.

Each reader passes every table it writes through a :class:`Validator` built from the contract in
:mod:`tracekit.schema` (:data:`~tracekit.schema.NON_NEGATIVE`, :data:`~tracekit.schema.FINITE`,
:data:`~tracekit.schema.TIME_ORDER`, :func:`~tracekit.schema.time_window`). A value that breaks
a rule is never stored as data: by default it is nulled (with the values derived from it) and
counted under a named rule, ``<trace>.<table>.<column>_<problem>``, in the data-quality report;
with ``strict=True`` it is an error naming the file. A row whose *required* time is impossible
(a submission in the year 9999) is dropped and counted, since null is not allowed there.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import polars as pl

from tracekit.errors import TraceFormatError
from tracekit.quality import QualityCounter
from tracekit.schema import (
    FINITE,
    NON_NEGATIVE,
    REQUIRED,
    TIME_DEPENDENTS,
    TIME_ORDER,
    _reversed,
    contract_violations,
    time_columns,
    time_window,
)
from tracekit.store import Store


@dataclass(frozen=True)
class _Rule:
    name: str  # rule suffix after "<trace>.<table>."
    mask: pl.Expr  # True where the row breaks the rule (null counts as False)
    cleared: tuple[str, ...]  # columns nulled by the repair ...
    drop: bool = False  # ... or the whole row dropped


class Validator:
    """Apply the store contract's value rules to the tables of one ingest.

    Parameters
    ----------
    trace : str
        The trace (names the rules and selects the time window).
    quality : QualityCounter
        Where repairs are counted.
    cluster : str, optional
        The cluster written: a trace's documented window applies to its own clusters only
        (:func:`~tracekit.schema.time_window`). None means the trace's own cluster.
    strict : bool, default False
        Raise instead of repairing.
    label : str
        The input named in strict-mode errors (file or folder).

    Examples
    --------
    >>> check = Validator("helios", QualityCounter(), label="data.zip")  # doctest: +SKIP
    >>> tx.write("jobs", cluster, check("jobs", jobs))  # doctest: +SKIP
    """

    def __init__(
        self,
        trace: str,
        quality: QualityCounter,
        *,
        cluster: str | None = None,
        strict: bool = False,
        label: str = "",
    ) -> None:
        self.trace = trace
        self.quality = quality
        self.cluster = cluster
        self.window = time_window(trace, cluster)
        self.strict = strict
        self.label = label
        self.jobs_dropped = 0  # job rows dropped so far (their per-job rows must go too)

    def rules(self, table: str, frame: pl.DataFrame) -> list[_Rule]:
        """The rules that apply to ``table`` given the columns ``frame`` has."""
        cols = frame.schema
        out: list[_Rule] = []
        for col in REQUIRED.get(table, ()):
            if col in cols:
                missing = pl.col(col).is_null()
                out.append(_Rule(f"{col}_missing_row_dropped", missing, (), drop=True))
        for col in NON_NEGATIVE.get(table, ()):
            if col not in cols:
                continue
            c = pl.col(col)
            if cols[col].is_float():
                out.append(_Rule(f"{col}_not_finite", c.is_nan() | c.is_infinite(), (col,)))
            out.append(_Rule(f"{col}_negative", c < 0, (col,)))
        for col in FINITE.get(table, ()):
            if col in cols:
                out.append(_Rule(f"{col}_not_finite", pl.col(col).is_infinite(), (col,)))
        # Every trace and cluster has a window: its documented one, or the wide one.
        lo, hi = self.window
        dependents = TIME_DEPENDENTS.get(table, {})
        for col in time_columns(table):
            if col not in cols:
                continue
            outside = (pl.col(col) < lo) | (pl.col(col) >= hi)
            if col in REQUIRED.get(table, ()):
                out.append(_Rule(f"{col}_outside_window_row_dropped", outside, (), drop=True))
            else:
                cleared = (col, *(d for d in dependents.get(col, ()) if d in cols))
                out.append(_Rule(f"{col}_outside_window", outside, cleared))
        for early, late, cleared in TIME_ORDER.get(table, ()):
            if early in cols and late in cols:
                kept = tuple(c for c in cleared if c in cols)
                out.append(_Rule(f"{late}_before_{early}", _reversed(table, early, late), kept))
        return out

    def raw(
        self,
        name: str,
        frame: pl.DataFrame,
        non_negative: tuple[str, ...] = (),
        upper: dict[str, float] | None = None,
    ) -> pl.DataFrame:
        """Enforce value rules on a *raw* table before it is combined into store tables.

        For readers that derive store columns from several raw rows (a PAI job's GPUs are a sum
        over its tasks), an impossible raw value must be repaired before it is summed.

        Parameters
        ----------
        name : str
            Short raw table name used in the rule names (``<trace>.<name>.<column>_...``).
        frame : polars.DataFrame
            The raw rows.
        non_negative : tuple of str
            Numeric columns that must be finite and >= 0.
        upper : dict, optional
            Column -> largest allowed value (raw times beyond the trace's window).
        """
        cols = frame.schema
        rules: list[_Rule] = []
        for col in non_negative:
            if col in cols:
                c = pl.col(col)
                rules.append(_Rule(f"{col}_not_finite", c.is_nan() | c.is_infinite(), (col,)))
                rules.append(_Rule(f"{col}_negative", c < 0, (col,)))
        for col, limit in (upper or {}).items():
            if col in cols:
                rules.append(_Rule(f"{col}_outside_window", pl.col(col) > limit, (col,)))
        return self._apply(name, frame, rules)

    def __call__(self, table: str, frame: pl.DataFrame) -> pl.DataFrame:
        """Return ``frame`` with every rule of ``table`` enforced (repairs counted).

        Raises
        ------
        TraceFormatError
            In strict mode, on the first broken rule (naming the input and an example row).
        """
        return self._apply(table, frame, self.rules(table, frame))

    def of_jobs(self, table: str, frame: pl.DataFrame, jobs: pl.DataFrame) -> pl.DataFrame:
        """Check a per-job table (``attempts``, ``pod_specs``, ...) and keep only the rows of
        jobs still in ``jobs``: a job row the contract dropped takes its other rows along,
        counted as ``<trace>.<table>.of_dropped_job``.

        Parameters
        ----------
        table : str
            The store table of ``frame`` (it has a ``job_id`` column).
        frame : polars.DataFrame
            Its rows.
        jobs : polars.DataFrame
            The ``jobs`` table as returned by this validator.
        """
        frame = self(table, frame)
        if not self.jobs_dropped:
            return frame
        kept = frame.filter(pl.col("job_id").is_in(jobs["job_id"].implode()))
        if kept.height < frame.height:
            self.quality.add(f"{self.trace}.{table}.of_dropped_job", frame.height - kept.height)
        return kept

    def _apply(self, table: str, frame: pl.DataFrame, rules: list[_Rule]) -> pl.DataFrame:
        if not rules or frame.height == 0:
            return frame
        # One pass to count every rule; repairs only when something fired (the common case is
        # a clean table, checked at the cost of one vectorized scan).
        counts = frame.select(
            r.mask.fill_null(False).sum().alias(str(i)) for i, r in enumerate(rules)
        ).row(0)
        if not any(counts):
            return frame
        # Rules are applied in order, each on the result of the previous ones: a value cleared
        # as out of window is not counted again as out of order.
        for rule in rules:
            mask = rule.mask.fill_null(False)
            n = int(frame.select(mask.sum()).item())
            if not n:
                continue
            name = f"{self.trace}.{table}.{rule.name}"
            example = self._example(frame.filter(mask))
            if self.strict:
                raise TraceFormatError(
                    self.label or self.trace,
                    None,
                    f"{n} {table} row(s) break the store contract ({name}), e.g. {example}; "
                    "without --strict they are repaired and counted",
                )
            self.quality.add(name, n, example=example)
            if rule.drop:
                frame = frame.filter(~mask)
                self.jobs_dropped += n if table == "jobs" else 0
            else:
                frame = frame.with_columns(
                    pl.when(mask).then(None).otherwise(pl.col(c)).alias(c) for c in rule.cleared
                )
        return frame

    @staticmethod
    def _example(bad: pl.DataFrame) -> str:
        # Times as text: an impossible time (year 9999 local -> 10000 UTC) has no Python value.
        head = bad.head(1)
        temporal = [c for c, t in head.schema.items() if t.is_temporal()]
        row = head.with_columns(pl.col(c).cast(pl.String) for c in temporal).row(0, named=True)
        keys = [k for k in ("job_id", "job_name", "machine_id", "machine", "time") if k in row]
        shown = {k: row[k] for k in keys[:2] if row[k] is not None}
        shown.update({k: v for k, v in row.items() if k not in shown and v is not None})
        text = ", ".join(f"{k}={v}" for k, v in list(shown.items())[:6])
        return text[:200]


def store_violations(store: str | Path) -> list[str]:
    """Check every table of every partition of a store against the value contract.

    Parameters
    ----------
    store : str or Path
        Store directory.

    Returns
    -------
    list of str
        ``"<trace>/<cluster> <problem>"`` for each broken rule; empty when the store is clean.
    """
    opened = Store(store)
    out = []
    for part in opened.partitions:
        trace, cluster = part["trace"], part["cluster"]
        for table in part["files"]:
            frame = opened.scan(table, trace=trace, cluster=cluster).collect()
            found = contract_violations(table, frame, trace, cluster)
            out += [f"{trace}/{cluster} {v}" for v in found]
    return out


__all__ = ["Validator", "store_violations"]
