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
    "07_replay": ("Mean JCT by policy", "ours vs published", "JCT CDF per policy",
                  "mean queueing delay per VC"),
    "08_openb": ("per-GPU request of single-GPU pods", "CDF of the per-GPU request",
                 "GPU-model constraint", "pods and requests by QoS class",
                 "nodes and GPUs per GPU model", "GPUs left unallocated as the arrived load",
                 "fragmentation rate as the arrived load"),
    "09_acme": ("final status of GPU jobs", "GPU time by final status", "run time CDF",
                "GPU time by cluster and workload type", "share of GPU jobs vs share of GPU time",
                "every trace"),
}  # fmt: skip
#: The data mark of each page's figures: the sample, openb's real files, or both (01 shows every
#: trace; 09's cross-trace chart too).
SYNTHETIC = "SYNTHETIC sample"
BOTH = "SYNTHETIC sample · REAL data: openb"
MARKS: dict[str, set[str]] = {"01_overview": {BOTH}, "08_openb": {"REAL data: openb"},
                              "09_acme": {SYNTHETIC, BOTH}}  # fmt: skip


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory, openb_subset: Path) -> dict:
    root = tmp_path_factory.mktemp("reports")
    out = root / "reports"
    timings = reports.run_all(data="sample", store=root / "store", out=out, raw=root / "raw",
                              sample_dir=root / "sample", scale=TINY_SCALE, seed=3,
                              quiet=True, openb=openb_subset)  # fmt: skip
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
        assert 'href="index.html"' in text, page.name
        # the sticky banners: the sample on every page but openb's, openb's real files on the
        # pages that show them
        assert ("SYNTHETIC SAMPLE" in text) == (page.stem != "08_openb"), page.name
        assert ("REAL DATA: openb" in text) == (page.stem in ("01_overview", "08_openb"))
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
    for page in _pages(out):
        stem = page.stem
        figures = figure_payload(page)
        titles = [f["layout"].get("title", {}).get("text", "") for f in figures]
        for anchor in ANCHORS.get(stem, ()):
            assert any(anchor in t for t in titles), (stem, anchor, titles)
        for fig in figures:
            mark = fig["layout"]["title"]["subtitle"]["text"]
            assert mark in MARKS.get(stem, {SYNTHETIC}), (stem, fig["layout"]["title"])
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
    assert 'href="findings.csv"' in index and 'href="replay_study.csv"' in index
    assert 'href="openb_placement.csv"' in index and "skipped: no openb files" not in index
    with open(out / "replay_study.csv") as fh:
        study = list(csv.DictReader(fh))
    assert {r["policy"] for r in study} >= {"fifo", "sjf", "srtf", "tiresias", "qssf", "lucid"}
    assert {r["trace"] for r in study} == {"philly", "helios", "pai"}
    assert set(study[0]) >= {"trace", "cluster", "policy", "predictor", "jobs", "jct_mean_s",
                             "queue_mean_s", "jct_p99_s", "utilization"}
    with open(out / "openb_placement.csv") as fh:
        curve = list(csv.DictReader(fh))
    assert {r["placement"] for r in curve} == {"best-fit", "packing", "load-balancing", "fgd"}
    targets = re.findall(r'(?:href|src)="([^"#]+)"', index)
    assert targets
    for target in targets:
        assert (out / target).is_file(), f"dead link {target}"
    with open(out / "findings.csv") as fh:
        rows = list(csv.DictReader(fh))
    assert {r["finding_id"][:2] for r in rows} >= {"P1", "H1", "A1", "OB", "AC"}
    assert {r["data"] for r in rows if r["trace"] == "openb"} == {"real"}
    assert {r["data"] for r in rows if r["trace"] == "acme"} == {"synthetic"}


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
