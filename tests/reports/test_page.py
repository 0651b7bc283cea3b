"""A report page: one parameters cell, code folded, figures drawn with the shared plotly.js."""

from __future__ import annotations

from pathlib import Path

import pytest

from tracekit.errors import TracekitError
from tracekit.reports import export_page, write_assets
from tracekit.reports.index import report_card
from tracekit.reports.notebooks import execute_notebook
from tracekit.reports.page import PLOTLY_JS, figure_payload


def test_page_hides_code_and_keeps_one_parameters_cell(executed_notebook: Path,
                                                        tmp_path: Path) -> None:
    page = export_page(executed_notebook, tmp_path / "99_test.html", synthetic=True)
    text = page.read_text()
    assert "celltag_injected-parameters" in text
    assert "celltag_parameters" not in text  # the default cell is dropped: values shown once
    assert text.count("elsewhere") == 1 and "data/parquet" not in text
    assert ".input{display:none}" in text and "Show code" in text  # folded, with a toggle
    assert "celltag_code-only" in text  # a cell without output disappears with its code
    assert "a warning nobody should read" not in text
    assert 'href="index.html"' in text  # the way back
    assert "SYNTHETIC SAMPLE" in text and "position:sticky" in text
    assert f'<script src="{PLOTLY_JS}"' in text
    assert "plotly.js v" not in text  # the library is not embedded
    assert "cdnjs" not in text and "https://" not in text  # nothing from the network
    assert len(text) < 100_000
    [fig] = figure_payload(page)
    assert fig["data"][0]["y"] == [3, 1, 2] and fig["layout"]["title"]["text"] == "good"


def test_real_data_pages_carry_no_banner(executed_notebook: Path, tmp_path: Path) -> None:
    text = export_page(executed_notebook, tmp_path / "p.html", synthetic=False).read_text()
    assert "SYNTHETIC SAMPLE" not in text


def test_assets_written_once(tmp_path: Path) -> None:
    path = write_assets(tmp_path)
    assert path == tmp_path / PLOTLY_JS and path.stat().st_size > 1_000_000
    mtime = path.stat().st_mtime_ns
    assert write_assets(tmp_path).stat().st_mtime_ns == mtime


def test_report_card_reads_title_and_question(executed_notebook: Path) -> None:
    card = report_card(executed_notebook)
    assert card.title == "99 — A test report" and card.question == "What does it answer?"


def test_a_failing_notebook_is_one_clear_error(tmp_path: Path) -> None:
    source = tmp_path / "97_broken.py"
    source.write_text('# %% tags=["parameters"]\nstore = "x"\n\n# %%\nraise ValueError("no such '
                      'table: sensors")\n')
    with pytest.raises(TracekitError,
                       match=r"97_broken.py: cell \[\d+\] raised ValueError: no such table"):
        execute_notebook(source, tmp_path / "_build", {"store": "y"})
