"""The structure of ``tracekit/replay``: no import circle, one policy registry, one reader of
files and the store, and docs that stand alone (docs/layout.md states these rules)."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "tracekit" / "replay"
# Modules that read a data file shipped inside the package (the published results beside the
# study), not an input: the one-reader rule is about trace inputs and the store.
PACKAGE_DATA = {"tracekit.replay.studies.published"}


def modules() -> dict[str, Path]:
    out = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE.parent.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        out[name] = path
    return out


def imports(path: Path, known: set[str]) -> set[str]:
    """Replay modules ``path`` imports (at module level or inside functions)."""
    out = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            base = node.module
            for alias in node.names:
                sub = f"{base}.{alias.name}"
                if sub in known:
                    out.add(sub)
                elif base in known:
                    out.add(base)
        elif isinstance(node, ast.Import):
            out |= {a.name for a in node.names if a.name in known}
    return out


def graph() -> dict[str, set[str]]:
    mods = modules()
    known = set(mods)
    return {m: imports(p, known) - {m} for m, p in mods.items()}


def test_no_import_circle_inside_replay() -> None:
    edges = graph()
    # The package __init__ re-exports everything; everything else must form a DAG.
    core = {m for m in edges if m != "tracekit.replay"}
    for m in core:
        assert "tracekit.replay" not in edges[m], f"{m} imports the package __init__"
    state: dict[str, int] = {}

    def visit(m: str, path: list[str]) -> None:
        state[m] = 1
        for n in sorted(edges[m] & core):
            if state.get(n) == 1:
                pytest.fail("import circle: " + " -> ".join([*path, m, n]))
            if n not in state:
                visit(n, [*path, m])
        state[m] = 2

    for m in sorted(core):
        if m not in state:
            visit(m, [])


def test_layers_point_one_way() -> None:
    edges = graph()
    low = {"tracekit.replay.resources", "tracekit.replay.policies.base"}
    for m in low:
        assert not {e for e in edges[m] if e.startswith("tracekit.replay")}, m
    # Engines never read inputs or build results; policies never see an engine.
    for m, deps in edges.items():
        if m.startswith("tracekit.replay.engines"):
            assert not deps & {"tracekit.replay.inputs", "tracekit.replay.run",
                               "tracekit.replay.results"}, m  # fmt: skip
        if m.startswith("tracekit.replay.policies"):
            assert not {d for d in deps if d.startswith("tracekit.replay.engines")}, m


def test_one_policy_registry_and_one_reader() -> None:
    for name, path in modules().items():
        text = path.read_text()
        if name != "tracekit.replay.policies":
            assert not re.search(r"^POLICIES\b.*=", text, re.M), f"second registry in {name}"
        if name in PACKAGE_DATA or name == "tracekit.replay.inputs":
            continue
        for call in ("read_csv(", ".scan(", "scan_parquet(", "read_parquet("):
            assert call not in text, f"{name} reads input ({call}); only inputs.py may"
