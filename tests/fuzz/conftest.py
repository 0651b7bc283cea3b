"""Fuzzing targets: one entry per reader, each a hypothesis strategy for a whole raw input folder.

A target generates files in the reader's raw format from well-formed rows whose fields are drawn
from realistic values *and* hostile ones (negative, huge, infinite and not-a-number values, far
past and far future times, empty fields, junk text, invalid UTF-8), then damages the bytes now and
then (a truncated row, an extra field, a blank line, a cut-off file). A new reader plugs in with
one entry in :data:`FUZZ_TARGETS`.

Examples per target: ``TRACEKIT_FUZZ_EXAMPLES`` (``make fuzz`` sets 10,000; ``make test`` runs the
small default).
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

import pytest
from hypothesis import strategies as st

from tracekit.sources.helios import formats as helios
from tracekit.sources.pai import formats as pai
from tracekit.sources.philly import formats as philly

EXAMPLES = int(os.environ.get("TRACEKIT_FUZZ_EXAMPLES", "25"))
Files = dict[str, bytes]


@dataclass(frozen=True)
class FuzzTarget:
    """One reader under fuzzing.

    Attributes
    ----------
    trace : str
        The reader's name in ``tracekit.sources.READERS``.
    files : SearchStrategy
        Draws ``{relative path: bytes}``: a whole raw input folder.
    """

    trace: str
    files: st.SearchStrategy[Files]


# ---- field values -------------------------------------------------------------------------------
# Values every reader must parse and then repair (or refuse in strict mode) ...
IMPOSSIBLE_NUMBERS = ["-8", "-800.0", "1e400", "inf", "-inf", "1e300", "0"]
# ... and values it must refuse with the file and line (or count, in lenient mode).
UNPARSEABLE_NUMBERS = ["", " ", "x", "nan", "1.5"]
HOSTILE_NUMBERS = IMPOSSIBLE_NUMBERS + UNPARSEABLE_NUMBERS
IMPOSSIBLE_INTS = ["-8", "-1", "0", "99999999999"]  # for integer columns


def _number(lo: int, hi: int, junk: bool) -> st.SearchStrategy[str]:
    """An integer field: impossible integers, and (with ``junk``) anything."""
    good = st.integers(lo, hi).map(str)
    rare = st.sampled_from(HOSTILE_NUMBERS if junk else IMPOSSIBLE_INTS)
    return st.one_of(*[good] * 12, st.sampled_from(IMPOSSIBLE_INTS), rare)


def _float_text(lo: float, hi: float, junk: bool) -> st.SearchStrategy[str]:
    good = st.floats(lo, hi, allow_nan=False).map(repr)
    rare = st.sampled_from(HOSTILE_NUMBERS if junk else IMPOSSIBLE_NUMBERS)
    return st.one_of(*[good] * 12, st.sampled_from(IMPOSSIBLE_NUMBERS), rare)


def _time_text(fmt: str, years: tuple[int, int], junk: bool) -> st.SearchStrategy[str]:
    good = st.datetimes(
        min_value=datetime(years[0], 1, 1), max_value=datetime(years[1], 12, 31)
    ).map(lambda d: d.strftime(fmt))
    impossible = ["9999-12-31 23:59:59", "1970-01-01 00:00:00"]
    hostile = st.sampled_from(
        [*impossible, "", "None", "2020-13-01 00:00:00", "x"] if junk else impossible
    )
    return st.one_of(*[good] * 12, hostile)


TOKEN = st.text(alphabet="abcdefABCDEF0123456789", min_size=1, max_size=8)
ODD_TEXT = st.sampled_from(["", " ", "é", "\u00ff", "a b", "NA", "None", "-"])


def _token(junk: bool) -> st.SearchStrategy[str]:
    return st.one_of(*[TOKEN] * 8, ODD_TEXT) if junk else TOKEN


# ---- byte damage --------------------------------------------------------------------------------
@st.composite
def _damage(draw: st.DrawFn, data: bytes, junk: bool) -> bytes:
    """Leave ``data`` alone most of the time (always, unless ``junk``); else damage it."""
    if not junk:
        return data
    kind = draw(st.sampled_from(["none"] * 15 + ["cut", "insert", "blank", "bad_utf8", "crlf"]))
    if kind == "none" or not data:
        return data
    at = draw(st.integers(0, len(data)))
    if kind == "cut":
        return data[:at]
    if kind == "insert":
        return data[:at] + draw(st.sampled_from([b",", b"\n", b"x", b'"', b"\x00"])) + data[at:]
    if kind == "blank":
        return data[:at] + b"\n\n" + data[at:]
    if kind == "bad_utf8":
        return data[:at] + b"\xff\xfe" + data[at:]
    return data.replace(b"\n", b"\r\n")


def _csv(rows: list[list[str]], header: str | None = None) -> bytes:
    lines = ([header] if header is not None else []) + [",".join(r) for r in rows]
    return ("\n".join(lines) + ("\n" if lines else "")).encode()


# ---- Helios -------------------------------------------------------------------------------------
def _helios_row(junk: bool) -> st.SearchStrategy[list[str]]:
    t = _time_text(helios.TIME_FORMAT, (2020, 2020), junk)
    return st.tuples(
        TOKEN, _token(junk), _token(junk), _number(0, 16, junk), _number(0, 64, junk),
        _number(0, 4, junk), st.sampled_from([*helios.STATUS_MAP, "WEIRD", ""]), t, t, t,
        _number(0, 100_000, junk), _number(0, 10_000, junk),
    ).map(list)  # fmt: skip


@st.composite
def helios_files(draw: st.DrawFn, junk: bool) -> Files:
    rows = draw(st.lists(_helios_row(junk), min_size=0 if junk else 1, max_size=8))
    log = draw(_damage(_csv(rows, ",".join(helios.LOG_HEADER)), junk))
    files = {f"data/Venus/{helios.LOG_FILE}": log}
    if draw(st.booleans()):
        vcs = draw(st.lists(_number(0, 64, junk), min_size=1, max_size=3))
        day = draw(st.sampled_from(
            ["2020-04-01", "2020-13-01", "", "9999-12-31"] if junk else ["2020-04-01", "9999-12-31"]
        ))  # fmt: skip
        right = str(sum(int(v) for v in vcs if v.isdigit()))
        total = draw(st.one_of(st.just(right), _number(0, 9, junk)))
        header = ",".join(["date", *(f"vc{i}" for i in range(len(vcs))), "total"])
        files[f"data/Venus/{helios.CAPACITY_FILE}"] = draw(
            _damage(_csv([[day, *vcs, total]], header), junk)
        )
    return files


# ---- Philly -------------------------------------------------------------------------------------
def _philly_time(junk: bool) -> st.SearchStrategy[object]:
    good = _time_text(philly.TIME_FORMAT, (2017, 2017), junk)
    if not junk:
        return st.one_of(*[good] * 8, st.none(), st.just("None"), st.just(""))
    return st.one_of(*[good] * 8, st.none(), st.just(17), st.just("None"))


def _attempt(junk: bool) -> st.SearchStrategy[dict]:
    detail = st.fixed_dictionaries({
        "ip": st.sampled_from(["m1", "m2", "", "m1/x"] if junk else ["m1", "m2"]),
        "gpus": st.lists(st.sampled_from(["gpu0", "gpu1", "gpu7"] * 5 + ["gpuX", "", "gpu-1"]
                                         if junk else ["gpu0", "gpu1", "gpu7"]), max_size=3),
    })  # fmt: skip
    return st.fixed_dictionaries(
        {"start_time": _philly_time(junk), "end_time": _philly_time(junk),
         "detail": st.lists(detail, max_size=2)}
    )  # fmt: skip


def _job(junk: bool) -> st.SearchStrategy[dict]:
    return st.fixed_dictionaries(
        {
            "status": st.sampled_from([*philly.RAW_STATUSES * 4, "Weird", ""]),
            "vc": _token(junk),
            "jobid": TOKEN.map(lambda t: f"application_{t}") | st.just("" if junk else "a_1"),
            "attempts": st.lists(_attempt(junk), max_size=3),
            "submitted_time": _philly_time(junk),
            "user": _token(junk),
        },
        optional={"extra": st.just(1)} if junk else {},
    )


def _util_row(junk: bool) -> st.SearchStrategy[str]:
    time = _time_text(philly.TIME_FORMAT, (2017, 2017), junk).map(lambda t: f"{t} PDT")
    value = st.one_of(_float_text(0, 100, junk), st.just(philly.UTIL_NA))
    values = st.lists(value, min_size=0 if junk else 1, max_size=9)
    return st.tuples(time, st.sampled_from(["m1", "m2"]), values).map(
        lambda r: ",".join([r[0], r[1], *r[2]]) + ","
    )


@st.composite
def philly_files(draw: st.DrawFn, junk: bool) -> Files:
    jobs = draw(st.lists(_job(junk), min_size=0 if junk else 1, max_size=5))
    if not junk:  # unique ids: a repeated id is refused, which junk cases cover
        for i, job in enumerate(jobs):
            job["jobid"] = f"application_{i}"
    log = draw(_damage(json.dumps(jobs).encode(), junk))
    rows = draw(st.lists(_util_row(junk), min_size=0 if junk else 1, max_size=6))
    util = "\n".join([philly.GPU_UTIL_HEADER, *rows]) + "\n"
    machines = "\n".join(
        [philly.MACHINE_LIST_HEADER, *(f"m{i},{draw(_number(0, 8, junk))}, 12GB" for i in (1, 2))]
    )
    return {
        f"trace-data/{philly.JOB_LOG}": log,
        f"trace-data/{philly.GPU_UTIL}": draw(_damage(util.encode(), junk)),
        f"trace-data/{philly.MACHINE_LIST}": (machines + "\n").encode(),
    }


# ---- PAI ----------------------------------------------------------------------------------------
def _pai_time(junk: bool) -> st.SearchStrategy[str]:
    good = st.integers(0, 7_000_000).map(lambda s: f"{s}.0")
    rare = st.sampled_from(HOSTILE_NUMBERS if junk else IMPOSSIBLE_NUMBERS)
    return st.one_of(*[good] * 12, st.sampled_from([*IMPOSSIBLE_NUMBERS, "1e12"]), rare)


JOBS = [f"j{i}" for i in range(4)]
INSTS = [f"i{i}" for i in range(4)]


@st.composite
def pai_files(draw: st.DrawFn, junk: bool) -> Files:
    t = _pai_time(junk)
    job = st.tuples(st.sampled_from(JOBS), st.sampled_from(INSTS), _token(junk),
                    st.sampled_from([*pai.STATUSES, "x", ""]), t, t).map(list)
    task = st.tuples(
        st.sampled_from(JOBS), st.sampled_from(["worker", "ps", ""]), _float_text(0, 8, junk),
        st.sampled_from([*pai.STATUSES, ""]), t, t, _float_text(0, 800, junk),
        _float_text(0, 60, junk), _float_text(0, 800, junk),
        st.sampled_from([*pai.TASK_GPU_TYPES, ""]),
    ).map(list)
    inst = st.tuples(
        st.sampled_from(JOBS), st.sampled_from(["worker", "ps"]), TOKEN, _token(junk),
        st.sampled_from(INSTS), st.sampled_from([*pai.STATUSES, ""]), t, t,
        st.sampled_from(["m1", "m2", ""]),
    ).map(list)
    sensor = st.tuples(
        st.sampled_from(JOBS), st.just("worker"), TOKEN, st.sampled_from(INSTS),
        st.just("m1"), st.just("/dev/nvidia0"), *[_float_text(0, 800, junk)] * 10,
    ).map(list)
    spec = st.tuples(st.sampled_from(["m1", "m2"]), st.sampled_from(pai.MACHINE_GPU_TYPES),
                     _number(0, 96, junk), _number(0, 512, junk), _number(0, 8, junk)).map(list)
    metric = st.tuples(TOKEN, st.just("m1"), _pai_time(junk), _pai_time(junk),
                       *[_float_text(0, 100, junk)] * 8).map(list)  # fmt: skip
    tables = {
        pai.JOB_TABLE: st.lists(job, min_size=0 if junk else 1, max_size=6),
        pai.TASK_TABLE: st.lists(task, max_size=6),
        pai.INSTANCE_TABLE: st.lists(inst, max_size=8),
        pai.SENSOR_TABLE: st.lists(sensor, max_size=4),
        pai.GROUP_TAG_TABLE: st.lists(
            st.tuples(st.sampled_from(INSTS), _token(junk), st.sampled_from(["", "T4"]), TOKEN,
                      st.sampled_from(["", "bert"])).map(list), max_size=3),
        pai.MACHINE_SPEC: st.lists(spec, min_size=1, max_size=3),
        pai.MACHINE_METRIC: st.lists(metric, max_size=3),
    }  # fmt: skip
    files = {}
    for name, rows in tables.items():
        files[f"{name}{pai.CSV_SUFFIX}"] = draw(_damage(_csv(draw(rows)), junk))
    return files


#: One entry per reader. The csv, swf, openb and acme readers add theirs here.
FUZZ_TARGETS: dict[str, FuzzTarget] = {
    # Half the cases keep the format intact (impossible values only, which must be stored
    # repaired), half add junk (which must be refused naming the file, or repaired).
    "helios": FuzzTarget("helios", helios_files(junk=False) | helios_files(junk=True)),
    "philly": FuzzTarget("philly", philly_files(junk=False) | philly_files(junk=True)),
    "pai": FuzzTarget("pai", pai_files(junk=False) | pai_files(junk=True)),
}


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Parametrize ``fuzz_target`` over :data:`FUZZ_TARGETS`."""
    if "fuzz_target" in metafunc.fixturenames:
        metafunc.parametrize(
            "fuzz_target", list(FUZZ_TARGETS.values()), ids=list(FUZZ_TARGETS)
        )


@pytest.fixture
def fuzz_examples() -> int:
    """Examples per target (``TRACEKIT_FUZZ_EXAMPLES``)."""
    return EXAMPLES


@pytest.fixture
def fuzz_report() -> Callable[[str, dict[str, int]], None]:
    """Record one summary line per target: appended to ``TRACEKIT_FUZZ_REPORT`` when set (``make
    fuzz`` prints that file at the end, since test workers' output is captured), else printed."""

    def report(trace: str, counts: dict[str, int]) -> None:
        line = f"fuzz {trace}: " + ", ".join(f"{k} {v:,}" for k, v in counts.items())
        path = os.environ.get("TRACEKIT_FUZZ_REPORT")
        if path:
            with open(path, "a") as fh:
                fh.write(line + "\n")
        else:
            print("\n" + line)

    return report
