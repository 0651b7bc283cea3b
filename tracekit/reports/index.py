"""``reports/index.html``: one card per report, the result files, the data's provenance."""

from __future__ import annotations

import html
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import nbformat

from tracekit.reports.figures import HEADLINES
from tracekit.reports.page import page_shell

__all__ = ["REPORT_SECTIONS", "ReportCard", "report_card", "write_index"]

#: Report page -> the findings section it discusses (``tracekit.analysis.findings.SECTIONS``);
#: the overview discusses them all.
REPORT_SECTIONS: dict[str, str | None] = {
    "01_overview": None,
    "02_jobs_users": "jobs_users",
    "03_utilization": "utilization",
    "04_queueing": "queueing",
    "05_failures": "failures",
    "08_openb": "openb",
    "09_acme": "acme",
}
VERDICT_ORDER: tuple[str, ...] = ("agree", "close", "differs", "n/a")

CSS = """
.cards{display:grid;grid-template-columns:repeat(auto-fill,minmax(340px,1fr));gap:16px}
.card{border:1px solid #ddd;border-radius:6px;padding:12px 14px;background:#fff}
.card h3{margin:0 0 6px;font-size:17px}.card h3 a{color:#1f4e8c;text-decoration:none}
.card p{margin:4px 0;font-size:14px}.card img{width:100%;border:1px solid #eee;margin-top:6px}
.verdicts span{display:inline-block;padding:1px 8px;margin:2px 4px 2px 0;border-radius:10px;
  font-size:12.5px}
.v-agree{background:#d8f0d2}.v-close{background:#fdf2c4}.v-differs{background:#f8d0cc}
.v-na{background:#eee}
table.prov{border-collapse:collapse;font-size:13px}
table.prov td,table.prov th{border:1px solid #ddd;padding:4px 8px;text-align:left;
  vertical-align:top}
"""


@dataclass(frozen=True)
class ReportCard:
    """What the index says about one report page."""

    stem: str
    title: str
    question: str


def report_card(executed: Path) -> ReportCard:
    """Title (the first ``#`` heading) and question (the next paragraph) of a notebook."""
    nb = nbformat.read(executed, as_version=4)
    title, question = executed.stem, ""
    for cell in nb.cells:
        if cell.cell_type != "markdown":
            continue
        lines = cell.source.splitlines()
        for i, line in enumerate(lines):
            if line.startswith("# "):
                title = line[2:].strip()
                para = []
                for nxt in lines[i + 1 :]:
                    if nxt.strip() == "" and para:
                        break
                    if nxt.strip():
                        para.append(nxt.strip())
                # the card is plain text: drop markdown emphasis and code marks
                question = re.sub(r"[*`]", "", " ".join(para))
                break
        break
    return ReportCard(executed.stem, title, question)


def _verdict_counts(findings_csv: Path, stem: str) -> dict[str, int]:
    import polars as pl

    if not findings_csv.is_file() or stem not in REPORT_SECTIONS:
        return {}
    df = pl.read_csv(findings_csv, infer_schema_length=0)
    column = "verdict" if "verdict" in df.columns else "agreement"
    section = REPORT_SECTIONS[stem]
    if section is not None:
        from tracekit.analysis import findings

        ids = getattr(findings, "SECTIONS", {}).get(section)
        if not ids:
            return {}
        df = df.filter(pl.col("finding_id").is_in(list(ids)))
    counts = dict(df.group_by(column).len().iter_rows())
    return {k: counts[k] for k in (*VERDICT_ORDER, *sorted(set(counts) - set(VERDICT_ORDER)))
            if k in counts}  # fmt: skip


def _card_html(card: ReportCard, out: Path) -> str:
    counts = _verdict_counts(out / "findings.csv", card.stem)
    verdicts = "".join(
        f'<span class="v-{"na" if k == "n/a" else html.escape(k)}">{html.escape(k)} {n}</span>'
        for k, n in counts.items()
    )
    findings = f'<p class="verdicts">findings: {verdicts}</p>' if verdicts else ""
    thumbs = "".join(
        f'<a href="{card.stem}.html"><img src="figures/{name}.png" alt="{html.escape(name)}"></a>'
        for name, stem in HEADLINES.items()
        if stem == card.stem and (out / "figures" / f"{name}.png").is_file()
    )
    return (
        f'<div class="card"><h3><a href="{card.stem}.html">{html.escape(card.title)}</a></h3>'
        f"<p>{html.escape(card.question)}</p>{findings}{thumbs}</div>"
    )


def _provenance(store: Any) -> str:
    rows = []
    for part in store.partitions:
        sources = "; ".join(
            f"{html.escape(Path(s['path']).name)} ({s.get('bytes') or 0:,} B, sha256 "
            f"{str(s.get('sha256'))[:12]}…)"
            for s in part.get("sources", [])
        )
        rows.append(
            f"<tr><td>{html.escape(part['trace'])}/{html.escape(part['cluster'])}</td>"
            f"<td>{'SYNTHETIC sample' if part.get('synthetic') else 'real trace'}</td>"
            f"<td>{html.escape(', '.join(f'{t} {n:,}' for t, n in sorted(part['rows'].items())))}"
            f"</td><td>{sources}</td></tr>"
        )
    head = "<tr><th>partition</th><th>data</th><th>rows</th><th>raw files</th></tr>"
    return f'<table class="prov">{head}{"".join(rows)}</table>'


def write_index(
    store: Path, out: Path, cards: Sequence[ReportCard], timings: dict[str, float] | None = None
) -> Path:
    """Write ``out/index.html``; links only files that exist in ``out``."""
    from tracekit import __version__
    from tracekit.analysis.summary import data_kinds
    from tracekit.store import open_store

    st = open_store(store)
    synthetic = st.is_synthetic()
    files = [
        ("findings.csv", "every published number beside the measured one, with its verdict"),
        ("replay_study.csv", "mean JCT, queueing and utilization per trace, cluster, policy "
                             "and predictor"),
        ("replay_jobs.parquet", "the replay study's per-job JCT and queueing delay"),
        ("openb_placement.csv", "openb: unallocated GPU share and fragmentation rate per "
                                "placement policy as the load grows"),
    ]  # fmt: skip
    file_items = "".join(
        f'<li><a href="{name}">{name}</a>: {html.escape(what)}</li>'
        for name, what in files
        if (out / name).is_file()
    )
    pngs = sorted((out / "figures").glob("*.png")) if (out / "figures").is_dir() else []
    png_items = "".join(f'<a href="figures/{p.name}">{p.stem}</a> ' for p in pngs)
    if pngs:
        file_items += f"<li>static PNG figures: {png_items}</li>"
    timing = ", ".join(f"{k} {v:.1f} s" for k, v in (timings or {}).items())
    kinds = data_kinds(st)
    data_note = (
        f"<p><b>The data of {html.escape(', '.join(kinds['synthetic']))} is the SYNTHETIC "
        "sample</b>: generated in the raw formats of the traces and calibrated to the published "
        "statistics. Agreement with a paper shows the calibration, not a reproduction; run "
        "<code>make reports DATA=real</code> after <code>make data</code> for the real "
        "traces.</p>"
        if kinds["synthetic"]
        else ""
    )
    if kinds["real"]:
        data_note += (
            f"<p><b>REAL data</b>: {html.escape(', '.join(kinds['real']))}, read from the "
            "published trace files listed below.</p>"
        )
    if "openb" not in st.traces:
        data_note += (
            "<p>openb (Alibaba GPU-sharing trace): <b>skipped: no openb files</b>. Pass "
            "<code>tracekit reports --openb PATH</code> with the folder of "
            "cluster-trace-gpu-v2023 (github.com/alibaba/clusterdata).</p>"
        )
    body = f"""<h1>tracekit reports</h1>
{data_note}
<p>Each report reads the normalized store, draws the figures the papers (Philly ATC'19, Helios
SC'21, PAI NSDI'22, openb ATC'23, Acme NSDI'24) show and puts every published number beside the
measured one.</p>
<div class="cards">{"".join(_card_html(c, out) for c in cards)}</div>
<h2>Result files</h2><ul>{file_items}</ul>
<h2>Data provenance</h2>{_provenance(st)}"""
    footer = f"tracekit {__version__}" + (f"; steps: {timing}" if timing else "")
    page = page_shell("tracekit reports", body, synthetic, home=None, code_toggle=False,
                      real=kinds["real"],
                      footer=html.escape(footer), extra_head=f"<style>{CSS}</style>")  # fmt: skip
    path = out / "index.html"
    tmp = path.with_suffix(".html.tmp")
    tmp.write_text(page, encoding="utf-8")
    os.replace(tmp, path)
    return path
