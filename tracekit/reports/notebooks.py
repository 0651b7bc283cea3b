"""Execute the jupytext notebooks of ``notebooks/`` with papermill, two at a time."""

from __future__ import annotations

import ast
import os
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from tracekit.errors import TracekitError
from tracekit.reports.pipeline import StepLog

__all__ = [
    "NOTEBOOK_DIR",
    "execute_notebook",
    "notebook_parameters",
    "notebook_sources",
    "run_notebooks",
]

NOTEBOOK_DIR = Path(__file__).resolve().parents[2] / "notebooks"
#: The kernels emit plotly's own JSON; :mod:`tracekit.reports.page` draws it with the shared
#: plotly.js, so no output embeds the 4.5 MB library.
KERNEL_RENDERER = "plotly_mimetype"


def notebook_sources(names: Sequence[str] | None = None) -> list[Path]:
    """The jupytext notebook sources in order; ``names`` keeps stems or numbers (``"03"``)."""
    paths = sorted(NOTEBOOK_DIR.glob("[0-9][0-9]_*.py"))
    if names:
        paths = [p for p in paths if p.stem in names or p.stem.split("_", 1)[0] in names]
    return paths


def notebook_parameters(notebook: Path) -> dict[str, Any]:
    """The parameters a notebook ran with: its ``parameters`` cell, overridden by the cell
    papermill injected (literal values only; anything else is left out)."""
    import nbformat

    nb = nbformat.read(notebook, as_version=4)
    values: dict[str, Any] = {}
    for tag in ("parameters", "injected-parameters"):
        for cell in nb.cells:
            if cell.cell_type != "code" or tag not in cell.metadata.get("tags", []):
                continue
            for node in ast.parse(cell.source).body:
                if isinstance(node, ast.Assign) and len(node.targets) == 1:
                    target = node.targets[0]
                    try:
                        if isinstance(target, ast.Name):
                            values[target.id] = ast.literal_eval(node.value)
                    except ValueError:
                        continue
    return values


@contextmanager
def _kernel_env(**values: str) -> Iterator[None]:
    """Environment for the kernels papermill starts (they inherit ours), restored afterwards."""
    saved = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def execute_notebook(
    source: Path, build: Path, parameters: dict[str, Any], timeout_s: int = 600
) -> Path:
    """Execute one jupytext notebook; returns the executed ``.ipynb`` in ``build``.

    Only the parameters the notebook declares (its cell tagged ``parameters``) are injected.

    Raises
    ------
    TracekitError
        A cell raised: the message names the notebook, the cell and the error.
    """
    import jupytext
    import nbformat
    import papermill

    build.mkdir(parents=True, exist_ok=True)
    nb = jupytext.read(source)
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}  # fmt: skip
    src_ipynb = build / f"{source.stem}.src.ipynb"
    done_ipynb = build / f"{source.stem}.ipynb"
    nbformat.write(nb, src_ipynb)
    declared = papermill.inspect_notebook(str(src_ipynb))
    try:
        papermill.execute_notebook(
            str(src_ipynb),
        str(done_ipynb),
            parameters={k: v for k, v in parameters.items() if k in declared},
            kernel_name="python3",
            cwd=str(Path.cwd()),
            progress_bar=False,
            execution_timeout=timeout_s,
            # the kernel's own start-up warnings are not report progress
            extra_arguments=["--IPKernelApp.log_level=CRITICAL"],
        )
    except papermill.PapermillExecutionError as exc:
        raise TracekitError(
            f"{source}: cell [{exc.exec_count}] raised {exc.ename}: {exc.evalue} "
            f"(the executed notebook is {done_ipynb})"
        ) from exc
    src_ipynb.unlink(missing_ok=True)
    return done_ipynb


def run_notebooks(
    sources: Sequence[Path],
    build: Path,
    parameters: dict[str, Any],
    workers: int = 2,
    log: StepLog | None = None,
) -> list[Path]:
    """Execute ``sources`` (``workers`` at a time); returns the executed notebooks in order."""
    log = log or StepLog()

    def one(src: Path) -> Path:
        t0 = log.step(f"nb_{src.stem}", f"executing notebook {src.name}")
        path = execute_notebook(src, build, parameters)
        log.done(f"nb_{src.stem}", t0)
        return path

    with _kernel_env(PLOTLY_RENDERER=KERNEL_RENDERER), ThreadPoolExecutor(
        max_workers=max(1, workers)
    ) as pool:
        return list(pool.map(one, sources))
