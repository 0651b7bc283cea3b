"""Execute the jupytext notebooks of ``notebooks/`` with papermill, two at a time.

Starting a kernel and importing tracekit in it costs about two CPU seconds, as much as a light
notebook's own work; so each of the ``workers`` kernels is started once and runs its share of
the notebooks in turn, its namespace cleared (``%reset -f``) before each one, so no notebook
sees another's variables. Imported modules stay loaded.
"""

from __future__ import annotations

import ast
import os
import queue
import threading
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from tracekit.errors import TracekitError
from tracekit.reports.pipeline import StepLog

__all__ = [
    "NOTEBOOK_DIR",
    "Kernel",
    "execute_notebook",
    "notebook_parameters",
    "notebook_sources",
    "run_notebooks",
]

NOTEBOOK_DIR = Path(__file__).resolve().parents[2] / "notebooks"
#: The kernels emit plotly's own JSON; :mod:`tracekit.reports.page` draws it with the shared
#: plotly.js, so no output embeds the 4.5 MB library.
KERNEL_RENDERER = "plotly_mimetype"
#: Switches of every kernel: its own start-up warnings are not report progress.
KERNEL_ARGS: tuple[str, ...] = ("--IPKernelApp.log_level=CRITICAL",)


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


class Kernel:
    """A python3 kernel that runs several notebooks in turn (see the module docstring).

    Use as a context manager; the kernel is shut down on exit.
    """

    def __init__(self, cwd: Path | None = None) -> None:
        from jupyter_client.manager import KernelManager

        self.manager = KernelManager(kernel_name="python3")
        self.manager.start_kernel(cwd=str(cwd or Path.cwd()), extra_arguments=list(KERNEL_ARGS))

    def reset(self, timeout_s: float = 60.0) -> None:
        """Clear the kernel's namespace (variables of the notebook run before)."""
        client = self.manager.client()
        client.start_channels()
        try:
            client.wait_for_ready(timeout=timeout_s)
            client.execute_interactive("%reset -f", timeout=timeout_s, silent=True)
        finally:
            client.stop_channels()

    def __enter__(self) -> Kernel:
        return self

    def __exit__(self, *exc: object) -> None:
        self.manager.shutdown_kernel(now=True)


def execute_notebook(
    source: Path,
    build: Path,
    parameters: dict[str, Any],
    timeout_s: int = 600,
    kernel: Kernel | None = None,
) -> Path:
    """Execute one jupytext notebook; returns the executed ``.ipynb`` in ``build``.

    Only the parameters the notebook declares (its cell tagged ``parameters``) are injected.
    ``kernel``: run in this kernel, its namespace cleared first (default: a fresh kernel).

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
    where: dict[str, Any] = {"extra_arguments": list(KERNEL_ARGS)}
    if kernel is not None:
        kernel.reset()
        where = {"km": kernel.manager}
    try:
        papermill.execute_notebook(
            str(src_ipynb),
            str(done_ipynb),
            parameters={k: v for k, v in parameters.items() if k in declared},
            kernel_name="python3",
            cwd=str(Path.cwd()),
            progress_bar=False,
            execution_timeout=timeout_s,
            **where,
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
    cost_hint: dict[str, float] | None = None,
) -> list[Path]:
    """Execute ``sources`` on ``workers`` kernels; returns the executed notebooks in order.

    Parameters
    ----------
    cost_hint : dict, optional
        Seconds each notebook (by stem) took before, e.g. the last run's ``timings.json``: the
        costliest start first, so that no long notebook is left alone at the end.
    """
    log = log or StepLog()
    hint = cost_hint or {}
    todo: queue.SimpleQueue[Path] = queue.SimpleQueue()
    for src in sorted(sources, key=lambda p: -hint.get(f"nb_{p.stem}", 0.0)):
        todo.put(src)
    done: dict[Path, Path] = {}
    failed = threading.Event()  # a notebook raised: the other kernels take no new one

    def worker() -> None:
        with Kernel() as kernel:
            while not failed.is_set():
                try:
                    src = todo.get_nowait()
                except queue.Empty:
                    return
                t0 = log.step(f"nb_{src.stem}", f"executing notebook {src.name}")
                try:
                    done[src] = execute_notebook(src, build, parameters, kernel=kernel)
                except BaseException:
                    failed.set()
                    raise
                log.done(f"nb_{src.stem}", t0)

    n = max(1, min(workers, len(sources)))
    with _kernel_env(PLOTLY_RENDERER=KERNEL_RENDERER), ThreadPoolExecutor(max_workers=n) as pool:
        for future in [pool.submit(worker) for _ in range(n)]:
            future.result()
    return [done[src] for src in sources]
