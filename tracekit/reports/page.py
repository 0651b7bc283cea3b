"""One executed notebook -> one light, self-contained HTML report page.

The page is the notebook as a reader wants it: narrative, tables and interactive charts, with the
code folded away behind one toggle. Charts are plotly figures stored in the notebook as plotly's
own JSON output; they are drawn here with ``Plotly.newPlot`` and the library is loaded once per
folder from ``assets/plotly.min.js`` (written by :func:`write_assets`), so pages are small and
work offline from ``file://``. Nothing is fetched from the network.
"""

from __future__ import annotations

import html
import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import nbformat

__all__ = ["ASSETS", "PLOTLY_JS", "export_page", "page_shell", "write_assets"]

ASSETS = "assets"
PLOTLY_JS = f"{ASSETS}/plotly.min.js"
PLOTLY_MIME = "application/vnd.plotly.v1+json"
_CONFIG = {"responsive": True, "displaylogo": False}

CSS = """
:root{--ink:#222;--muted:#666;--line:#e3e3e3;--accent:#1f4e8c}
*{box-sizing:border-box}
body{margin:0;font:15px/1.5 Inter,Helvetica,Arial,sans-serif;color:var(--ink);background:#fafafa}
header .bar{display:flex;gap:16px;align-items:center;
  padding:6px 20px;background:#fff;border-bottom:1px solid var(--line);font-size:14px}
header .bar a{color:var(--accent);text-decoration:none;font-weight:600}
header .bar .spacer{flex:1}
header .bar button{font:inherit;padding:2px 10px;border:1px solid #bbb;border-radius:4px;
  background:#f4f4f4;cursor:pointer}
.synthetic{background:#fff3cd;border-bottom:2px solid #d39e00;color:#5c4300;font-weight:600;
  padding:5px 20px}
.real{background:#e3f4e1;border-bottom:2px solid #3d8b40;color:#1d4d20;font-weight:600;
  padding:5px 20px}
header.sticky{position:sticky;top:0;z-index:50}
main{max-width:1180px;margin:0 auto;padding:10px 24px 60px;background:#fff}
h1{font-size:28px;margin:18px 0 8px}h2{font-size:22px;margin-top:32px;
  border-bottom:1px solid var(--line)}h3{font-size:18px}
a.anchor-link{display:none}
.input{display:none}
body.show-code .input{display:block}
.input_area pre{background:#f6f8fa;border:1px solid var(--line);padding:8px 10px;
  font-size:12.5px;overflow-x:auto;border-radius:4px}
.celltag_code-only{display:none}
body.show-code .celltag_code-only{display:block}
.output_area pre{font-size:13px;white-space:pre-wrap}
.output_stderr{display:none}
.rendered_html table{border-collapse:collapse;font-size:13px;margin:8px 0}
.plotly-graph-div{margin:6px 0 14px}
footer{max-width:1180px;margin:0 auto;padding:14px 24px;color:var(--muted);font-size:13px}
"""

TOGGLE_JS = """
function tkToggleCode(btn){var on=document.body.classList.toggle('show-code');
btn.textContent=on?'Hide code':'Show code';}
"""


def write_assets(out: Path) -> Path:
    """Write plotly.js (the version plotly.py ships) once into ``out/assets/``.

    Returns the path; an up-to-date file is left alone.
    """
    from plotly.offline import get_plotlyjs

    path = out / PLOTLY_JS
    path.parent.mkdir(parents=True, exist_ok=True)
    js = get_plotlyjs()
    if not path.is_file() or path.stat().st_size != len(js.encode()):
        tmp = path.with_suffix(".js.tmp")
        tmp.write_text(js, encoding="utf-8")
        os.replace(tmp, path)
    return path


def _figure_html(fig_json: dict[str, Any]) -> str:
    import plotly.io as pio

    return pio.to_html(
        fig_json,
        include_plotlyjs=False,
        include_mathjax=False,
        full_html=False,
        config=_CONFIG,
        default_width="100%",
        default_height=fig_json.get("layout", {}).get("height") or 450,
        validate=False,
    )


def _prepare(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """Reader's view of an executed notebook: one parameters cell, plotly outputs as HTML."""
    injected = any("injected-parameters" in c.metadata.get("tags", []) for c in nb.cells)
    cells = []
    for cell in nb.cells:
        tags = cell.metadata.get("tags", [])
        if injected and "parameters" in tags:
            continue  # papermill's injected cell carries the values actually used
        if cell.cell_type == "code":
            outputs = []
            for out in cell.get("outputs", []):
                data = out.get("data", {})
                if PLOTLY_MIME in data:
                    out["data"] = {"text/html": _figure_html(data[PLOTLY_MIME])}
                if out.get("output_type") == "stream" and out.get("name") == "stderr":
                    continue  # warnings and progress bars are not part of the report
                outputs.append(out)
            cell["outputs"] = outputs
            if not outputs:
                # a cell without output shows nothing unless the reader asks for the code
                cell.metadata.setdefault("tags", []).append("code-only")
        cells.append(cell)
    nb.cells = cells
    return nb


def page_shell(
    title: str,
    body: str,
    synthetic: bool,
    home: str | None = "index.html",
    code_toggle: bool = True,
    footer: str = "",
    extra_head: str = "",
    real: Sequence[str] = (),
) -> str:
    """The page around a report body: sticky bar (back link, code toggle) and data banners.

    ``synthetic`` adds the SYNTHETIC SAMPLE banner; ``real`` names the traces read from their
    real published files (a REAL DATA banner).
    """
    back = f'<a href="{home}">&larr; All reports</a>' if home else ""
    toggle = (
        '<button type="button" onclick="tkToggleCode(this)">Show code</button>'
        if code_toggle
        else ""
    )
    banner = (
        '<div class="synthetic">SYNTHETIC SAMPLE: generated data calibrated to the published '
        "statistics, not the real traces. Agreement with the papers shows the calibration, "
        "not a reproduction.</div>"
        if synthetic
        else ""
    )
    if real:
        names = html.escape(", ".join(real))
        banner += (
            f'<div class="real">REAL DATA: {names}, read from the published trace files.</div>'
        )

    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{html.escape(title)}</title>
<style>{CSS}</style>{extra_head}
<script>{TOGGLE_JS}</script>
</head><body>
<header class="sticky"><div class="bar">{back}<span class="spacer"></span>{toggle}</div>
{banner}</header>
<main>
{body}
</main>
<footer>{footer}</footer>
</body></html>
"""


def _title(nb: nbformat.NotebookNode, fallback: str) -> str:
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            for line in cell.source.splitlines():
                if line.startswith("# "):
                    return line[2:].strip()
    return fallback


def export_page(
    executed: Path, target: Path, synthetic: bool, footer: str = "", real: Sequence[str] = ()
) -> Path:
    """Render the executed notebook ``executed`` as the report page ``target`` (atomically).

    The page loads plotly.js from ``assets/`` beside it (see :func:`write_assets`); its banners
    say whether the data is the synthetic sample and which traces are real (:func:`page_shell`).
    """
    from nbconvert import HTMLExporter

    nb = _prepare(nbformat.read(executed, as_version=4))
    exporter = HTMLExporter(
        template_name="basic", exclude_input_prompt=True, exclude_output_prompt=True
    )
    body, _ = exporter.from_notebook_node(nb)
    from pygments.formatters import HtmlFormatter

    head = (
        f"<style>{HtmlFormatter(style='default').get_style_defs('.highlight')}</style>"
        f'<script src="{PLOTLY_JS}" charset="utf-8"></script>'
    )
    page = page_shell(_title(nb, target.stem), body, synthetic, footer=footer, extra_head=head,
                      real=real)  # fmt: skip
    tmp = target.with_suffix(".html.tmp")
    tmp.write_text(page, encoding="utf-8")
    os.replace(tmp, target)
    return target


def figure_payload(page: Path) -> list[dict[str, Any]]:
    """The plotly figures a report page draws (parsed from its ``Plotly.newPlot`` calls)."""
    text = page.read_text(encoding="utf-8")
    figures = []
    key = "Plotly.newPlot("
    at = text.find(key)
    decoder = json.JSONDecoder()
    while at >= 0:
        i = text.index(",", at) + 1  # skip the div id
        while text[i].isspace():
            i += 1
        data, j = decoder.raw_decode(text, i)
        j = text.index(",", j) + 1
        while text[j].isspace():
            j += 1
        layout, _ = decoder.raw_decode(text, j)
        figures.append({"data": data, "layout": layout})
        at = text.find(key, j)
    return figures
