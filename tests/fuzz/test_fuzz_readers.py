"""Hypothesis-based fuzzing of every reader: each generated input folder must end in a stored
result that passes the store contract's checks, or in a ``TraceFormatError`` naming the file.
Any other exception is a failure."""

from __future__ import annotations

import shutil
import tempfile
from collections import Counter
from collections.abc import Callable
from pathlib import Path

from hypothesis import HealthCheck, given, settings

from tracekit.errors import TraceFormatError
from tracekit.sources import ingest
from tracekit.sources._validate import store_violations


def _write(root: Path, files: dict[str, bytes]) -> None:
    for rel, data in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)


def test_fuzz_reader(fuzz_target, fuzz_examples: int, fuzz_report: Callable) -> None:
    counts: Counter[str] = Counter()
    # One scratch folder per run (tmpfs when there is one): cases are many and small.
    scratch = Path(tempfile.mkdtemp(prefix="tk-fuzz-", dir="/dev/shm" if Path("/dev/shm").is_dir()
                                    else None))  # fmt: skip
    store = scratch / "store"

    @settings(
        max_examples=fuzz_examples,
        deadline=None,
        database=None,
        derandomize=True,
        suppress_health_check=list(HealthCheck),
    )
    @given(files=fuzz_target.files)
    def case(files: dict[str, bytes]) -> None:
        raw = scratch / "raw"
        shutil.rmtree(raw, ignore_errors=True)
        _write(raw, files)
        counts["cases"] += 1
        path, options = fuzz_target.arguments(raw)
        try:
            ingest(fuzz_target.trace, path, store, **options)
        except TraceFormatError as exc:
            assert exc.path and exc.problem, exc
            assert "\n" not in exc.problem, exc  # one line
            counts["TraceFormatError"] += 1
            counts["with line number"] += exc.line is not None
            return
        problems = store_violations(store)
        assert problems == [], problems
        counts["stored, contract ok"] += 1

    try:
        case()
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    counts["other exceptions"] += 0
    fuzz_report(fuzz_target.trace, dict(counts))
    assert counts["cases"] >= fuzz_examples * 0.9  # hypothesis ran (nearly) every example
