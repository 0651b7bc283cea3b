"""The data side of tracekit reports: where openb's files come from, when a sample is reused,
what a notebook ran with, and the pages' data banners."""

from __future__ import annotations

import json
from pathlib import Path

import nbformat
import pytest

import tracekit as tk
from tracekit.errors import TracekitError
from tracekit.reports import export_page, write_index
from tracekit.reports.notebooks import notebook_parameters
from tracekit.reports.pipeline import _marker_matches, locate_openb
from tracekit.sample import DEFAULT_SCALES, GENERATOR_VERSION

REAL_OPENB = next(
    (p / "shared/real/openb" for p in Path(__file__).resolve().parents
     if (p / "shared/real/openb").is_dir()),
    None,
)  # fmt: skip


def test_openb_folder_rules(tmp_path: Path) -> None:
    raw = tmp_path / "raw"
    # an explicit folder must hold the node list; "none" skips openb
    with pytest.raises(TracekitError, match="no openb_node_list_all_node.csv below it"):
        locate_openb(tmp_path, raw)
    assert locate_openb("none", raw) is None
    # auto: the copy project machines keep beside the checkout
    assert locate_openb("auto", raw) == REAL_OPENB
    # auto prefers RAW/openb, where a user puts the downloaded files
    (raw / "openb" / "cluster-trace-gpu-v2023").mkdir(parents=True)
    (raw / "openb" / "cluster-trace-gpu-v2023" / "openb_node_list_all_node.csv").write_text("x")
    assert locate_openb("auto", raw) == raw / "openb"
    assert locate_openb(None, raw) == raw / "openb"
    assert locate_openb(raw / "openb", tmp_path) == raw / "openb"


def test_a_sample_is_reused_only_when_it_is_the_one_asked_for(tmp_path: Path) -> None:
    marker = {"synthetic": True, "generator_version": GENERATOR_VERSION, "seed": 7,
              "scale": DEFAULT_SCALES["acme"]}  # fmt: skip
    folder = tmp_path / "acme"
    assert not _marker_matches(folder, "acme", None, 7)  # nothing there
    folder.mkdir()
    (folder / "SYNTHETIC.json").write_text(json.dumps(marker))
    assert _marker_matches(folder, "acme", None, 7)  # default scale, same seed and version
    assert not _marker_matches(folder, "acme", 0.5, 7)
    assert not _marker_matches(folder, "acme", None, 8)
    (folder / "SYNTHETIC.json").write_text(json.dumps(marker | {"generator_version": "0.9"}))
    assert not _marker_matches(folder, "acme", None, 7)  # an older generator's sample


def test_notebook_parameters_prefer_the_injected_cell(executed_notebook: Path,
                                                      tmp_path: Path) -> None:
    assert notebook_parameters(executed_notebook) == {"store": "elsewhere"}
    nb = nbformat.read(executed_notebook, as_version=4)
    nb.cells = [c for c in nb.cells if "injected-parameters" not in c.metadata.get("tags", [])]
    nb.cells[1].source = 'store = "data/parquet"\ntraces = "openb"\nlimit = len("abc")'
    nbformat.write(nb, tmp_path / "nb.ipynb")
    # defaults when nothing was injected; a value that is not a literal is left out
    assert notebook_parameters(tmp_path / "nb.ipynb") == {"store": "data/parquet",
                                                          "traces": "openb"}


def test_real_data_banner(executed_notebook: Path, tmp_path: Path) -> None:
    real = export_page(executed_notebook, tmp_path / "real.html", synthetic=False,
                       real=["openb"]).read_text()  # fmt: skip
    assert "REAL DATA: openb" in real and "SYNTHETIC SAMPLE" not in real
    both = export_page(executed_notebook, tmp_path / "both.html", synthetic=True,
                       real=["openb"]).read_text()  # fmt: skip
    assert "REAL DATA: openb" in both and "SYNTHETIC SAMPLE" in both
    none = export_page(executed_notebook, tmp_path / "none.html", synthetic=False).read_text()
    assert "REAL DATA" not in none



def test_index_says_when_openb_is_skipped(tmp_path: Path) -> None:
    fixtures = Path(__file__).resolve().parents[1] / "fixtures"
    tk.ingest("helios", fixtures / "helios", tmp_path / "store")
    text = write_index(tmp_path / "store", tmp_path, []).read_text()
    assert "skipped: no openb files" in text and "--openb PATH" in text
    assert "REAL data" in text and "SYNTHETIC" not in text
