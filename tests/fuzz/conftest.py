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
from pathlib import Path
from typing import Any

import pytest
from hypothesis import strategies as st

from tracekit.sources.acme import formats as acme
from tracekit.sources.helios import formats as helios
from tracekit.sources.openb import formats as openb
from tracekit.sources.pai import formats as pai
from tracekit.sources.philly import formats as philly
from tracekit.sources.swf import formats as swf

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
    entry : str, optional
        The file the reader is pointed at (default: the folder).
    mapping : str, optional
        The file passed as the reader's ``mapping`` (the generic readers).
    """

    trace: str
    files: st.SearchStrategy[Files]
    entry: str | None = None
    mapping: str | None = None

    def arguments(self, raw: Path) -> tuple[Path, dict[str, Any]]:
        """The reader's input and options for a generated folder ``raw``."""
        options = {"mapping": raw / self.mapping} if self.mapping else {}
        return (raw / self.entry if self.entry else raw), options


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


# ---- openb ---------------------------------------------------------------------------------------
# openb and Acme refuse a negative count as unparseable (their amounts are documented as
# non-negative); their intact cases draw impossible values the store contract repairs instead.
def _count_text(lo: int, hi: int, junk: bool, huge: str = "99999999999") -> st.SearchStrategy[str]:
    good = st.integers(lo, hi).map(str)
    rare = st.sampled_from([*HOSTILE_NUMBERS, *IMPOSSIBLE_INTS] if junk else ["0", huge])
    return st.one_of(*[good] * 12, rare)


def _seconds_text(junk: bool) -> st.SearchStrategy[str]:
    """Raw openb seconds: the real range, impossible ones (far future), junk."""
    good = st.integers(0, 13_000_000).map(str)
    impossible = ["4000000000", "0"]
    rare = st.sampled_from([*impossible, "99999999999", "-5", "", "1.5", "x", "1e9"] if junk
                           else impossible)  # fmt: skip
    return st.one_of(*[good] * 12, rare)


@st.composite
def openb_files(draw: st.DrawFn, junk: bool) -> Files:
    models = [*openb.GPU_MEM_GB, "G2", ""] + (["x y"] if junk else [])
    node = st.tuples(TOKEN, _count_text(0, 128_000, junk), _count_text(0, 800_000, junk),
                     _count_text(0, 8, junk, "0"), st.sampled_from(models)).map(list)  # fmt: skip
    nodes = draw(st.lists(node, min_size=0 if junk else 1, max_size=5))
    for i, row in enumerate(nodes):  # unique names, and a model on every GPU node ...
        row[0] = f"node-{i}" if not junk or draw(st.integers(0, 9)) else "node-0"
        if not junk and row[3] != "0":
            row[4] = row[4] or "G2"
    spec = st.sampled_from(["", "V100M16|V100M32", "T4", "G2|G2"] + (["|", "x"] if junk else []))
    t = _seconds_text(junk)
    pod = st.tuples(
        TOKEN, _count_text(0, 96_000, junk), _count_text(0, 400_000, junk),
        _count_text(0, 8, junk, "9" if junk else "0"),
        _count_text(0, 1000, junk, "1001" if junk else "1000"),
        spec, st.sampled_from([*openb.QOS_CLASSES, "Odd", ""]),
        st.sampled_from([*openb.PHASES, "Odd", ""]), t, t, st.one_of(t, st.just("")),
    ).map(list)  # fmt: skip
    pods = draw(st.lists(pod, min_size=0 if junk else 1, max_size=8))
    if not junk:  # unique pod names: a repeated one is refused, which junk cases cover
        for i, row in enumerate(pods):
            row[0] = f"pod-{i}"
    short = draw(st.integers(0, 7)) == 0  # the multigpu50 layout: request columns only
    header = openb.POD_HEADER_SHORT if short else openb.POD_HEADER
    pod_rows = [r[: len(header)] for r in pods]
    files = {
        openb.NODE_FILE: draw(_damage(_csv(nodes, ",".join(openb.NODE_HEADER)), junk)),
        f"{openb.POD_FILE_PREFIX}default{openb.POD_FILE_SUFFIX}": draw(
            _damage(_csv(pod_rows, ",".join(header)), junk)
        ),
    }
    if draw(st.booleans()):
        gpu = [r for r in nodes if r[3] not in ("0", "")]
        files[openb.GPU_NODE_FILE] = _csv(gpu, ",".join(openb.NODE_HEADER))
    return files


# ---- Acme ---------------------------------------------------------------------------------------
def _acme_time(junk: bool, offset: str) -> st.SearchStrategy[str]:
    good = st.datetimes(min_value=datetime(2023, 3, 1), max_value=datetime(2023, 8, 31)).map(
        lambda d: d.strftime("%Y-%m-%d %H:%M:%S") + offset
    )
    impossible = ["9999-12-31 23:59:59+08:00", "1970-01-01 00:00:00+00:00",
                  "2031-01-01 00:00:00+00:00"]  # fmt: skip
    hostile = [*impossible, "", "2023-03-01 00:18:22", "2023-13-01 00:00:00+08:00", "x"]
    return st.one_of(*[good] * 24, st.sampled_from(hostile if junk else impossible))


def _amount_text(hi: float, junk: bool) -> st.SearchStrategy[str]:
    good = st.floats(0, hi, allow_nan=False).map(repr)
    rare = st.sampled_from(HOSTILE_NUMBERS if junk else ["inf", "1e400", "1e300", "0"])
    return st.one_of(*[good] * 12, rare)


def _acme_row(cluster: str, junk: bool) -> st.SearchStrategy[list[str]]:
    t = _acme_time(junk, "+08:00" if cluster == "Seren" else "+00:00")
    count = st.one_of(_count_text(0, 1024, junk, "2147483647"),
                      st.sampled_from(["8.0", "2.5"] if junk else ["8.0"]))  # fmt: skip
    fields = {
        "job_id": TOKEN, "user": _token(junk), "node_num": count, "gpu_num": count,
        "cpu_num": count, "mem_per_pod_GB": _amount_text(2000, junk),
        "shared_mem_per_pod": _amount_text(200, junk),
        "type": st.sampled_from([*acme.WORKLOAD_TYPES, "Odd", ""]),
        "state": st.sampled_from([*acme.STATUS_MAP, "RUNNING", *([""] if junk else [])]),
        "submit_time": t, "start_time": st.one_of(t, st.just("")),
        "end_time": st.one_of(t, st.just("")), "fail_time": st.one_of(t, st.just("")),
        "stop_time": st.one_of(t, st.just("")), "duration": _amount_text(1e6, junk),
        "queue": _amount_text(1e5, junk), "gpu_time": _amount_text(1e8, junk),
    }  # fmt: skip
    return st.tuples(*(fields[c] for c in acme.HEADERS[cluster])).map(list)


@st.composite
def acme_files(draw: st.DrawFn, junk: bool) -> Files:
    clusters = draw(st.sampled_from([("Seren",), ("Kalos",), ("Seren", "Kalos")]))
    files = {}
    for cluster in clusters:
        rows = draw(st.lists(_acme_row(cluster, junk), min_size=0 if junk else 1, max_size=6))
        data = _csv(rows, ",".join(acme.HEADERS[cluster]))
        files[f"{acme.JOB_TRACE_DIR}/{acme.FILES[cluster]}"] = draw(_damage(data, junk))
    return files


# ---- csv (a job table and its column mapping) ---------------------------------------------------
def _rarely(good: st.SearchStrategy[str], rare: list[str]) -> st.SearchStrategy[str]:
    return st.one_of(*[good] * 12, st.sampled_from(rare))


CSV_STATUS_WORDS = {"completed": "OK", "failed": "FAIL", "canceled": "CANCEL", "censored": "RUN"}


def _csv_mapping(unix: bool, spans: bool, other: bool, capacity: bool) -> bytes:
    columns = ["job_id = \"id\"", "user = \"user\"", "vc = \"vc\"",
               "submit_time = \"submit\"", "num_gpus = \"gpus\"", "num_cpus = \"cpus\"",
               "num_nodes = \"nodes\"", "status = \"state\""]  # fmt: skip
    columns += (["queue_s = \"wait\"", "duration_s = \"run\""] if spans
                else ["start_time = \"start\"", "end_time = \"end\""])  # fmt: skip
    words = [f"{k} = [\"{v}\"]" for k, v in CSV_STATUS_WORDS.items()]
    lines = [
        "[trace]", "name = \"fuzz\"", "cluster = \"c1\"", "[time]",
        f"format = \"{'unix' if unix else '%Y-%m-%d %H:%M:%S'}\"",
        "timezone = \"Europe/Berlin\"", "[columns]", *columns, "[status]", *words,
        *(["other = \"censored\""] if other else []),
        *(["[capacity]", "gpus = { a = 8, b = 16 }"] if capacity else []),
    ]  # fmt: skip
    return ("\n".join(lines) + "\n").encode()


@st.composite
def csv_files(draw: st.DrawFn, junk: bool) -> Files:
    unix, spans = draw(st.booleans()), draw(st.booleans())
    # The generic reader refuses a negative or infinite count as unparseable: its intact cases
    # draw impossible values the store contract repairs instead (far times, negative spans).
    if unix:
        good = st.integers(1_577_836_800, 1_609_459_199).map(str)  # 2020
        hostile = ["253402300799", "-1", "0"] + (["1e300", "x", "", "2020-01-01"] if junk else [])
        t = st.one_of(*[good] * 24, st.sampled_from(hostile))
    else:
        t = _time_text("%Y-%m-%d %H:%M:%S", (2020, 2020), junk)
    span = _float_text(0, 1e6, junk) if junk else _rarely(st.floats(0, 1e6).map(repr),
                                                           ["-8", "1e300", "0"])  # fmt: skip
    count = _float_text(0, 64, junk) if junk else _rarely(st.floats(0, 64).map(repr),
                                                          ["0", "1e300"])  # fmt: skip
    row = st.tuples(
        TOKEN, _token(junk), st.sampled_from(["a", "b", ""]), t, count, count,
        _count_text(0, 16, junk),
        st.sampled_from([*CSV_STATUS_WORDS.values(), "WEIRD", *([""] if junk else [])]),
        *((span, span) if spans else (t, t)),
    ).map(list)  # fmt: skip
    rows = draw(st.lists(row, min_size=0 if junk else 1, max_size=8))
    if not junk:  # unique ids: a repeated one is renamed, which junk cases cover
        for i, r in enumerate(rows):
            r[0] = f"j{i}"
    header = "id,user,vc,submit,gpus,cpus,nodes,state," + ("wait,run" if spans else "start,end")
    other, capacity = draw(st.booleans()), draw(st.booleans())
    return {
        "mapping.toml": _csv_mapping(unix, spans, other=other or not junk, capacity=capacity),
        "jobs.csv": draw(_damage(_csv(rows, header), junk)),
    }


# ---- SWF ----------------------------------------------------------------------------------------
def _swf_field(lo: int, hi: int, junk: bool, required: bool = False) -> st.SearchStrategy[str]:
    good = st.integers(lo, hi).map(str)
    # Job number and submit time are required (-1 there is refused): intact cases keep them.
    impossible = ["99999999999999", "1e300"] if required else ["-1", "-5", "99999999999999",
                                                                "1e300"]  # fmt: skip
    rare = st.sampled_from([*impossible, "-1", "inf", "nan", "x", "1.5"] if junk else impossible)
    return st.one_of(*[good] * 24, rare)


@st.composite
def swf_files(draw: st.DrawFn, junk: bool) -> Files:
    header = [f"; Version: {swf.VERSION}", "; Computer: fuzz"]
    start = draw(st.sampled_from(["1136073600", "1136073600", "", "0", "x", "inf",
                                  "99999999999999"] if junk else ["1136073600", ""]))  # fmt: skip
    if start:
        header.append(f"; UnixStartTime: {start}")
    zone = draw(st.sampled_from(["Europe/Berlin", "", "Nowhere/City"] if junk else ["", "UTC"]))
    if zone:
        header.append(f"; TimeZoneString: {zone}")
    if draw(st.booleans()):
        header.append(f"; Note: {swf.GPU_NOTE} (fields 5 and 8 count GPUs)")
    ranges = [(1, 50), (0, 200_000), (0, 5000), (0, 100_000), (1, 64), (0, 100_000),
              (0, 4096), (1, 64), (0, 100_000), (0, 8192), (0, 5), (1, 9), (1, 3), (1, 9),
              (1, 2), (1, 1), (1, 50), (0, 600)]  # fmt: skip
    line = st.tuples(
        *(_swf_field(lo, hi, junk, required=i < 2) for i, (lo, hi) in enumerate(ranges))
    ).map(" ".join)
    lines = draw(st.lists(line, min_size=0 if junk else 1, max_size=8))
    text = "\n".join([*header, *lines]) + "\n"
    return {"log.swf": draw(_damage(text.encode(), junk))}


#: One entry per reader.
FUZZ_TARGETS: dict[str, FuzzTarget] = {
    # Half the cases keep the format intact (impossible values only, which must be stored
    # repaired), half add junk (which must be refused naming the file, or repaired).
    "helios": FuzzTarget("helios", helios_files(junk=False) | helios_files(junk=True)),
    "philly": FuzzTarget("philly", philly_files(junk=False) | philly_files(junk=True)),
    "pai": FuzzTarget("pai", pai_files(junk=False) | pai_files(junk=True)),
    "openb": FuzzTarget("openb", openb_files(junk=False) | openb_files(junk=True)),
    "acme": FuzzTarget("acme", acme_files(junk=False) | acme_files(junk=True)),
    "csv": FuzzTarget(
        "csv", csv_files(junk=False) | csv_files(junk=True), "jobs.csv", "mapping.toml"
    ),
    "swf": FuzzTarget("swf", swf_files(junk=False) | swf_files(junk=True)),
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
