"""The shortcuts of the replay's shared path (validation, ordering, ranks) against the plain
computations they replace: same verdicts, same orders, on random tables with random defects."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tracekit.errors import TraceFormatError
from tracekit.replay import Cluster, replay, validate_jobs
from tracekit.replay.engines.whole_gpu import stable_argsort, vc_bounds
from tracekit.replay.inputs import _any_bad, _rules, _surely_unique, vc_index
from tracekit.replay.run import submit_vc_order

CAPS = {"a": (1, 8), "b": (2, 8), "c": (4, 8)}
_FLOATS = st.sampled_from(
    [0.0, -0.0, 1.0, 2.0, 7.0, -3.0, 2.0**52, -(2.0**52), 2.5, 1e300, np.inf, -np.inf, np.nan]
)


@st.composite
def _tables(draw: st.DrawFn) -> pl.DataFrame:
    n = draw(st.integers(1, 25))
    pool = ["", "x", *(str(i) for i in range(30))]
    ids = draw(st.lists(st.sampled_from(pool), min_size=n, max_size=n, unique=draw(st.booleans())))
    vcs = draw(st.lists(st.sampled_from(["a", "b", "c", "d", None]), min_size=n, max_size=n))
    gpus = draw(st.lists(st.sampled_from([1.0, 2.0, 8.0, 9.0, 16.0, 17.0, 32.0, 33.0, 0.0,
                                          1.5, np.nan]), min_size=n, max_size=n))  # fmt: skip
    dur = draw(st.lists(st.sampled_from([1.0, 10.0, 0.0, -1.0, np.nan, 2e12]), min_size=n,
                        max_size=n))  # fmt: skip
    sub = draw(st.lists(st.sampled_from([0.0, 5.0, -2.0, np.nan, np.inf]), min_size=n,
                        max_size=n))  # fmt: skip
    return pl.DataFrame(
        {"job_id": ids, "vc": vcs, "submit_time": sub, "duration_s": dur, "num_gpus": gpus},
        schema={"job_id": pl.String, "vc": pl.String, "submit_time": pl.Float64,
                "duration_s": pl.Float64, "num_gpus": pl.Float64},
    )  # fmt: skip


@settings(max_examples=300, deadline=None)
@given(_tables())
def test_fast_validation_finds_a_bad_row_exactly_when_a_rule_does(jobs: pl.DataFrame) -> None:
    cluster = Cluster.from_dict(CAPS)
    caps = cluster.capacities()
    rules = _rules(False, False, caps, False, "strict")
    plain = any(int(jobs.select(expr).to_series().fill_null(True).sum()) for _, expr, _, _ in rules)
    assert _any_bad(jobs, rules, caps, False) == plain
    index = vc_index(jobs["vc"], sorted(caps))
    if index is not None:
        assert _any_bad(jobs, rules, caps, False, index) == plain
    if not plain:  # and a clean table passes validation unchanged
        clean, quality = validate_jobs(jobs, cluster)
        assert clean.height == jobs.height and not any(quality.counts.values())
    else:
        with pytest.raises(TraceFormatError):
            validate_jobs(jobs, cluster)


def test_fast_validation_checks_each_vc_against_its_own_size() -> None:
    # 16 GPUs fit VC "b" and the largest VC, but not VC "a".
    jobs = pl.DataFrame({"job_id": ["1", "2"], "vc": ["b", "a"], "submit_time": [0.0, 1.0],
                         "duration_s": [5.0, 5.0], "num_gpus": [16, 16]})  # fmt: skip
    with pytest.raises(TraceFormatError, match="more GPUs than its VC") as err:
        replay(jobs, CAPS, "fifo")
    assert err.value.line == 2  # the second row (line_offset 1)
    res = replay(jobs, CAPS, "fifo", repair=True)
    assert res.quality.counts["replay.job_larger_than_vc"] == 1
    assert res.jobs["job_id"].to_list() == ["1"]


@settings(max_examples=300, deadline=None)
@given(st.lists(_FLOATS, max_size=40), st.booleans())
def test_stable_argsort_is_numpy_stable_sort(values: list[float], presort: bool) -> None:
    key = np.array(values, dtype=np.float64)
    if presort:
        key = np.sort(key)
    assert np.array_equal(stable_argsort(key), np.argsort(key, kind="stable"))


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["b", "a", "c"]), st.sampled_from([0.0, 1.0, 2.0])),
                max_size=30), st.booleans())  # fmt: skip
def test_vc_order_is_lexsort_by_vc_then_submit(rows: list[tuple[str, float]], sort: bool) -> None:
    if sort:
        rows = sorted(rows, key=lambda r: r[1])
    vc = pl.Series([r[0] for r in rows], dtype=pl.String)
    submit = np.array([r[1] for r in rows], dtype=np.float64)
    names = sorted(Cluster.from_dict(CAPS))
    code = vc_index(vc, names)
    assert code is not None and [names[int(c)] for c in code] == vc.to_list()
    assert vc_index(pl.Series(["a", "d"]), names) is None
    order = submit_vc_order(submit, code)
    assert np.array_equal(order, np.lexsort((submit, code)))
    bounds = vc_bounds(code, names)
    assert [(vc, hi - lo) for vc, lo, hi in bounds] == [
        (v, int((vc == v).sum())) for v in ["a", "b", "c"] if (vc == v).any()
    ]
    assert all(set(vc.gather(order[lo:hi]).to_list()) == {v} for v, lo, hi in bounds)


_TEXT = st.text(alphabet="ab-_7é", max_size=16)


@settings(max_examples=300, deadline=None)
@given(st.lists(_TEXT, min_size=2, max_size=30), st.integers(0, 3), st.integers(1, 12))
def test_surely_unique_ids_are_unique(ids: list[str], cut: int, width: int) -> None:
    # Strings made by slicing longer ones, and by gluing chunks, must still compare by content.
    made = [
        pl.Series(ids),
        pl.Series(ids).str.slice(cut, width),
        pl.concat([pl.Series(ids[:cut], dtype=pl.String), pl.Series(ids[cut:])], rechunk=False),
        (pl.Series(ids) + "x").str.slice(0, width),
    ]
    for series in made:
        if _surely_unique(series):
            assert series.n_unique() == series.len()
    assert _surely_unique(pl.Series(ids)) == (len(set(ids)) == len(ids)) or any(
        len(i.encode()) > 12 for i in ids
    )
