"""Fixtures of the report tests: Chromium's path, a tiny executed notebook with a figure, and a
small openb folder cut from the real files."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path

import nbformat
import plotly.graph_objects as go
import plotly.io as pio
import pytest


@pytest.fixture(scope="session")
def chromium() -> str:
    """Debian's chromium (CI's ``.ci/run`` installs it); tests that need it skip without it."""
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if path is None:
        pytest.skip("Debian chromium not installed (.ci/run installs it)")
    return path


def _figure_output(fig: go.Figure) -> nbformat.NotebookNode:
    return nbformat.v4.new_output(
        "display_data",
        {"application/vnd.plotly.v1+json": json.loads(pio.to_json(fig)), "text/plain": "<Figure>"},
    )


@pytest.fixture()
def executed_notebook(tmp_path: Path) -> Path:
    """An executed notebook as papermill leaves it: default + injected parameters, a figure."""
    nb = nbformat.v4.new_notebook()
    params = nbformat.v4.new_code_cell('store = "data/parquet"', metadata={"tags": ["parameters"]})
    injected = nbformat.v4.new_code_cell(
        'store = "elsewhere"', metadata={"tags": ["injected-parameters"]}
    )
    good = go.Figure(go.Scatter(x=[1, 2, 3], y=[3, 1, 2]), layout={"title": {"text": "good"}})
    plot = nbformat.v4.new_code_cell("fig.show()", outputs=[
        _figure_output(good),
        nbformat.v4.new_output("stream", name="stderr", text="a warning nobody should read"),
    ])  # fmt: skip
    quiet = nbformat.v4.new_code_cell("import polars as pl")
    nb.cells = [
        nbformat.v4.new_markdown_cell("# 99 — A test report\n\nWhat does it answer?"),
        params, injected, quiet, plot,
    ]  # fmt: skip
    path = tmp_path / "99_test.ipynb"
    nbformat.write(nb, path)
    return path


@pytest.fixture()
def figure_notebook(tmp_path: Path) -> Callable[..., Path]:
    """Write an executed notebook whose cells each show one of the given figures."""

    def make(figures: list[go.Figure], name: str = "98_figures") -> Path:
        nb = nbformat.v4.new_notebook()
        nb.cells = [nbformat.v4.new_markdown_cell("# Figures")] + [
            nbformat.v4.new_code_cell("fig.show()", outputs=[_figure_output(f)]) for f in figures
        ]
        path = tmp_path / f"{name}.ipynb"
        nbformat.write(nb, path)
        return path

    return make


@pytest.fixture(scope="session")
def openb_subset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The first 300 nodes of the real openb node list and the first 400 pods of two real pod
    lists, lines unchanged (the real files sit in ``shared/real/openb`` beside the repository on
    every project machine). Fewer nodes keep the placement study short: its cost follows the
    cluster's GPUs, not the pod list."""
    real = next((p / "shared/real/openb" for p in Path(__file__).resolve().parents
                 if (p / "shared/real/openb").is_dir()), None)  # fmt: skip
    assert real is not None, "shared/real/openb is not beside the repository"
    out = tmp_path_factory.mktemp("openb")
    for name, rows in (("openb_node_list_all_node.csv", 300), ("openb_pod_list_default.csv", 400),
                       ("openb_pod_list_gpuspec33.csv", 400)):
        lines = (real / name).read_text().splitlines()[: rows + 1]
        (out / name).write_text("\n".join(lines) + "\n")
    return out
