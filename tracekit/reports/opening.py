"""The first cell every report notebook runs: the store, its traces, and what the data is."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from tracekit import plots
from tracekit.analysis import summary
from tracekit.store import Store, open_store


def open_report(
    store: str | Path | Store, traces: str | Sequence[str] | None = None, show: bool = True
) -> tuple[Store, list[str], list[str]]:
    """Open ``store`` for a report notebook and say what its data is.

    Marks every later figure SYNTHETIC and/or REAL (``plots.mark_data``) and, with ``show``,
    displays the data banner (what the data is, which asked-for traces the store lacks).

    Parameters
    ----------
    store : path or Store
        The store the notebook reads.
    traces : str or sequence of str, optional
        The traces the notebook shows (a comma-separated string, as papermill passes it); default
        every trace in the store.
    show : bool
        Display the banner (in a notebook); False only marks the figures.

    Returns
    -------
    tuple
        ``(store, present, missing)``: the opened store, the asked-for traces it holds, and those
        it lacks.
    """
    st = store if isinstance(store, Store) else open_store(store)
    present, missing = summary.select_traces(st, traces)
    plots.mark_data(**summary.data_kinds(st, present))
    if show:
        from IPython.display import Markdown, display

        display(Markdown(summary.data_banner(st, missing, present)))
    return st, present, missing


__all__ = ["open_report"]
