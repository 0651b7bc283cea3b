"""Regenerate ``reports/``: raw data -> store -> predictions -> notebooks -> light HTML pages.

``make reports`` runs ``tracekit reports``, which calls :func:`run_all`. The notebooks are the
jupytext files of ``notebooks/``, executed by papermill; each becomes one page (code folded away,
plotly.js shared from ``assets/``), and ``index.html`` has one card per page.
"""

from tracekit.reports.browser import FigureCheck, check_pages
from tracekit.reports.build import build_pages, run_all, run_ingest
from tracekit.reports.figures import headline_figures, write_static_figures
from tracekit.reports.index import write_index
from tracekit.reports.notebooks import notebook_sources
from tracekit.reports.opening import open_report
from tracekit.reports.page import export_page, write_assets
from tracekit.reports.pipeline import ensure_sample_store, write_findings, write_replay_study

__all__ = [
    "FigureCheck",
    "build_pages",
    "check_pages",
    "ensure_sample_store",
    "export_page",
    "headline_figures",
    "notebook_sources",
    "open_report",
    "run_all",
    "run_ingest",
    "write_assets",
    "write_findings",
    "write_index",
    "write_replay_study",
    "write_static_figures",
]
