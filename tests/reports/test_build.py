"""End to end: sample -> store -> predictions -> notebooks -> pages a reader can use offline."""

from __future__ import annotations

import csv
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tracekit import reports
from tracekit.cli import app
from tracekit.reports.figures import chromium_path
from tracekit.reports.page import figure_payload

TINY_SCALE = 0.004
MAX_PAGE_BYTES = 1_500_000
#: The papers' anchor figures every default run must show (a substring of each chart title).
ANCHORS: dict[str, tuple[str, ...]] = {
    "02_jobs_users": ("CPU-job duration CDF (Fig. 5b)", "share of CPU time (Fig. 8b)",
                      "GPU jobs per month", "tasks started per day", "by workload tag",
                      "recurring group"),
    "03_utilization": ("mean allocation per month", "single- vs multi-GPU",
                       "daily allocation per VC", "CPU requested vs used",
                       "memory requested vs used", "machine utilization"),
    "04_queueing": ("per-attempt delay CDF per VC", "servers per job vs queueing delay"),
    "05_failures": ("CPU vs GPU jobs (Fig. 7a)",),
    "07_replay": ("JCT CDF per policy", "mean queueing delay per VC"),
}  # fmt: skip


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> dict:
    root = tmp_path_factory.mktemp("reports")
    out = root / "reports"
    timings = reports.run_all(data="sample", store=root / "store", out=out, raw=root / "raw",
                              sample_dir=root / "sample", scale=TINY_SCALE, seed=3,
                              quiet=True)  # fmt: skip
    return {"root": root, "out": out, "timings": timings}


def _pages(out: Path) -> list[Path]:
    return sorted(p for p in out.glob("*.html") if p.name != "index.html")


@pytest.mark.slow
def test_every_notebook_becomes_a_light_page(built: dict) -> None:
    out = built["out"]
    assert {p.stem for p in _pages(out)} == {p.stem for p in reports.notebook_sources()}
    assert (out / "assets" / "plotly.min.js").stat().st_size > 1_000_000
    assert not (out / "_build").exists()
    for page in _pages(out):
        text = page.read_text()
        assert page.stat().st_size <= MAX_PAGE_BYTES, page.name
        assert "Traceback (most recent call last)" not in text, page.name
        assert "SYNTHETIC SAMPLE" in text and 'href="index.html"' in text, page.name
        assert text.count("celltag_injected-parameters") == 1, page.name
        assert "celltag_parameters" not in text, page.name
        assert '<body class="show-code"' not in text and ".input{display:none}" in text
        assert "plotly.js v" not in text and "https://" not in text.split("<main>")[0]
        assert "…" not in re.sub(r"<script.*?</script>", "", text, flags=re.S) or page.stem in (
            "01_overview",  # provenance abbreviates checksums on purpose
        ), page.name


@pytest.mark.slow
def test_anchor_figures_present_with_date_axes(built: dict) -> None:
    out = built["out"]
    for stem, wanted in ANCHORS.items():
        figures = figure_payload(out / f"{stem}.html")
        titles = [f["layout"].get("title", {}).get("text", "") for f in figures]
        for anchor in wanted:
            assert any(anchor in t for t in titles), (stem, anchor, titles)
        for fig in figures:
            assert fig["layout"]["title"]["subtitle"]["text"] == "SYNTHETIC sample"
            for trace in fig["data"]:
                x = trace.get("x") or []
                if x and isinstance(x[0], str) and re.match(r"\d{4}-\d\d-\d\d", x[0]):
                    axis = "xaxis" + trace.get("xaxis", "x")[1:]
                    assert fig["layout"][axis]["type"] == "date", (stem, fig["layout"]["title"])


@pytest.mark.slow
def test_index_cards_and_no_dead_links(built: dict) -> None:
    out = built["out"]
    index = (out / "index.html").read_text()
    for p in reports.notebook_sources():
        assert f'href="{p.stem}.html"' in index
    assert index.count('class="card"') == len(reports.notebook_sources())
    assert "findings: " in index and "sha256" in index and "SYNTHETIC" in index
    assert 'href="findings.csv"' in index
    targets = re.findall(r'(?:href|src)="([^"#]+)"', index)
    assert targets
    for target in targets:
        assert (out / target).is_file(), f"dead link {target}"
    with open(out / "findings.csv") as fh:
        rows = list(csv.DictReader(fh))
    assert {r["finding_id"][0] for r in rows} >= {"P", "H", "A"}


@pytest.mark.slow
def test_every_figure_draws_data_in_chromium(built: dict) -> None:
    if chromium_path() is None:
        pytest.skip("Debian chromium not installed (.ci/run installs it)")
    checks = reports.check_pages(_pages(built["out"]))
    assert len(checks) >= 50
    empty = [(c.page, c.title) for c in checks if not c.draws_data]
    assert not empty, empty
    pngs = sorted((built["out"] / "figures").glob("*.png"))
    assert {p.stem for p in pngs} >= {"duration_cdf", "queue_cdf", "status_gpu_time"}
    for p in pngs:
        assert p.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and p.stat().st_size > 5_000
    assert 'src="figures/duration_cdf.png"' in (built["out"] / "index.html").read_text()


def test_cli_front_door_reports_bad_input_in_one_line(tmp_path: Path) -> None:
    run = CliRunner().invoke(app, ["reports", "--data", "bogus", "--store", str(tmp_path / "s"),
                                   "--out", str(tmp_path / "r")])  # fmt: skip
    assert run.exit_code == 2
    assert "'sample' or 'real'" in run.output and "Traceback" not in run.output
    assert run.output.strip().count("\n") == 0
