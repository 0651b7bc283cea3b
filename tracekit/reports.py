"""Regenerate ``reports/``: data -> store -> predictions -> executed notebooks -> HTML + findings.

``make reports`` calls :func:`run_all`. Every step prints a progress line with its elapsed time.
The notebooks are jupytext percent files in ``notebooks/``; each is executed by papermill with the
parameters ``store``, ``traces`` and ``clusters`` and exported to self-contained HTML (plotly.js is
embedded, so the pages render offline).
"""

from __future__ import annotations

import argparse
import html
import json
import os
import shutil
import sys
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tracekit.schema import TRACES

NOTEBOOK_DIR = Path(__file__).resolve().parents[1] / "notebooks"
# The "notebook" renderer embeds plotly.js in the output, so the exported HTML works offline.
PLOTLY_RENDERER = "plotly_mimetype+notebook"


@dataclass
class StepLog:
    """Prints one line per step with the elapsed time, and keeps the timings."""

    started: float = field(default_factory=time.perf_counter)
    timings: dict[str, float] = field(default_factory=dict)

    def step(self, name: str, message: str) -> float:
        """Announce a step; returns its start time."""
        print(f"[reports {time.perf_counter() - self.started:6.1f}s] {message}", flush=True)
        return time.perf_counter()

    def done(self, name: str, t0: float) -> None:
        """Record the duration of a step."""
        self.timings[name] = round(time.perf_counter() - t0, 2)


def _marker_matches(folder: Path, scale: float | None, seed: int) -> bool:
    marker = folder / "SYNTHETIC.json"
    if not marker.is_file():
        return False
    meta = json.loads(marker.read_text())
    return meta.get("seed") == seed and (scale is None or meta.get("scale") == scale)


def prepare_raw(
    data: str,
    raw: Path,
    sample_dir: Path,
    scale: float | None,
    seed: int,
    traces: Sequence[str],
    log: StepLog,
) -> dict[str, Path]:
    """Locate raw inputs: the real downloads (``data='real'``) or the synthetic sample.

    The sample is generated only when it is missing or was made with another seed/scale.
    """
    if data == "real":
        found = {t: raw / t for t in traces if (raw / t).exists() and any((raw / t).iterdir())}
        if not found:
            raise SystemExit(f"DATA=real but no raw traces under {raw}/ (run `make data` first)")
        return found
    if data != "sample":
        raise SystemExit(f"DATA must be 'sample' or 'real', got {data!r}")
    from tracekit.sample import generate

    missing = [t for t in traces if not _marker_matches(sample_dir / t, scale, seed)]
    if missing:
        t0 = log.step(
            "sample", f"generating SYNTHETIC sample for {','.join(missing)} (seed {seed})"
        )
        generate(sample_dir, traces=tuple(missing), scale=scale, seed=seed)
        log.done("sample", t0)
    else:
        log.step("sample", f"reusing SYNTHETIC sample in {sample_dir}")
    return {t: sample_dir / t for t in traces}


def prepare_store(raw_paths: dict[str, Path], store: Path, log: StepLog) -> None:
    """Ingest every trace into ``store``; drop other traces so nothing stale mixes in."""
    from tracekit.sources import ingest
    from tracekit.store import drop, read_manifest

    present = {p["trace"] for p in read_manifest(store, missing_ok=True)["partitions"].values()}
    for trace in sorted(present - set(raw_paths)):
        drop(store, trace)
    for trace, path in raw_paths.items():
        t0 = log.step(f"ingest_{trace}", f"ingesting {trace} from {path}")
        ingest(trace, path, store)
        log.done(f"ingest_{trace}", t0)


def ensure_sample_store(
    store: str | Path, scale: float, seed: int, traces: Sequence[str]
) -> Path:
    """Generate and ingest the synthetic sample into ``store`` unless it has those traces.

    The raw sample goes to ``<store>-raw`` beside the store. Used by ``tracekit sweep`` when the
    sweep's TOML asks for the sample.
    """
    from tracekit.sample import generate
    from tracekit.sources import ingest
    from tracekit.store import read_manifest

    store = Path(store)
    present = {p["trace"] for p in read_manifest(store, missing_ok=True)["partitions"].values()}
    missing = [t for t in traces if t not in present]
    if missing:
        raw = store.parent / f"{store.name}-raw"
        generate(raw, traces=missing, scale=scale, seed=seed)
        for trace in missing:
            ingest(trace, raw / trace, store)
    return store


def prepare_predictions(store: Path, traces: Sequence[str], log: StepLog, seed: int) -> None:
    """Train the duration predictors the replay notebook compares (LightGBM and baselines)."""
    from tracekit.predict import run_predict

    for trace in traces:
        t0 = log.step(f"predict_{trace}", f"training duration predictors on {trace}")
        for model in ("lgbm", "user-median"):
            run_predict(store, trace, model=model, seed=seed)
        log.done(f"predict_{trace}", t0)


def notebook_sources(names: Sequence[str] | None = None) -> list[Path]:
    """The jupytext notebook sources, in order (optionally only those whose stem is in names)."""
    paths = sorted(NOTEBOOK_DIR.glob("[0-9][0-9]_*.py"))
    if names:
        paths = [p for p in paths if p.stem in names or p.stem.split("_", 1)[0] in names]
    return paths


def execute_notebook(
    source: Path, out: Path, parameters: dict[str, Any], synthetic: bool, timeout_s: int = 600
) -> Path:
    """Execute one jupytext notebook with papermill and export it to HTML in ``out``."""
    import jupytext
    import nbformat
    import papermill
    from nbconvert import HTMLExporter

    build = out / "_build"
    build.mkdir(parents=True, exist_ok=True)
    nb = jupytext.read(source)
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    src_ipynb = build / f"{source.stem}.src.ipynb"
    done_ipynb = build / f"{source.stem}.ipynb"
    nbformat.write(nb, src_ipynb)
    os.environ.setdefault("PLOTLY_RENDERER", PLOTLY_RENDERER)
    papermill.execute_notebook(
        str(src_ipynb),
        str(done_ipynb),
        parameters=parameters,
        kernel_name="python3",
        cwd=str(Path.cwd()),
        progress_bar=False,
        execution_timeout=timeout_s,
    )
    executed = nbformat.read(done_ipynb, as_version=4)
    body, _ = HTMLExporter(template_name="lab").from_notebook_node(executed)
    if synthetic:
        banner = (
            '<div style="background:#fff3cd;border:1px solid #d39e00;padding:8px 14px;'
            'font:600 15px sans-serif">SYNTHETIC SAMPLE — generated data calibrated to the '
            "published statistics, not the real trace.</div>"
        )
        at = body.find(">", body.find("<body")) + 1
        body = body[:at] + banner + body[at:]
    target = out / f"{source.stem}.html"
    tmp = target.with_suffix(".html.tmp")
    tmp.write_text(body, encoding="utf-8")
    os.replace(tmp, target)
    src_ipynb.unlink(missing_ok=True)
    return target


def run_notebooks(
    store: Path,
    out: Path,
    names: Sequence[str] | None = None,
    traces: Sequence[str] | None = None,
    workers: int = 2,
    log: StepLog | None = None,
) -> list[Path]:
    """Execute notebooks (two at a time by default) and export their HTML."""
    from tracekit.store import open_store

    log = log or StepLog()
    synthetic = open_store(store).is_synthetic()
    params = {"store": str(store), "traces": list(traces) if traces else None, "clusters": None}
    sources = notebook_sources(names)

    def one(src: Path) -> Path:
        t0 = log.step(f"nb_{src.stem}", f"executing notebook {src.name}")
        path = execute_notebook(src, out, params, synthetic)
        log.done(f"nb_{src.stem}", t0)
        return path

    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        return list(pool.map(one, sources))


def write_findings(store: Path, out: Path) -> Path:
    """Write ``findings.csv``: every finding, published vs measured, with agreement."""
    from tracekit.analysis.findings import findings_table
    from tracekit.store import open_store

    table = findings_table(open_store(store))
    path = out / "findings.csv"
    table.write_csv(path)
    return path


def headline_figures(store: Path) -> dict[str, Any]:
    """The report's headline figures, rebuilt from the store (names -> plotly figures)."""
    from tracekit import plots
    from tracekit.analysis import arrivals, failures, jobs, queueing
    from tracekit.store import open_store

    jf = open_store(store).scan("jobs")
    return {
        "duration_cdf": plots.duration_cdf(jobs.duration_cdf(jf), title="GPU-job duration CDF"),
        "queue_cdf": plots.queue_cdf(queueing.queue_cdf(jf), title="GPU-job queueing delay CDF"),
        "status_gpu_time": plots.status_bars(
            failures.status_shares(jf), "gpu_time_share", x=["trace", "cluster"],
            title="GPU time by final status",
        ),
        "hourly_submissions": plots.hourly_profile(
            arrivals.by_hour(jf), "relative", title="GPU-job submissions by hour (mean = 1)"
        ),
    }  # fmt: skip


def write_static_figures(store: Path, out: Path) -> list[Path]:
    """Export the headline figures as PNG with kaleido, when Debian's chromium is installed.

    kaleido 1.x drives a Chrome/Chromium binary; without one this step is skipped (the HTML
    reports do not need it). Returns the files written.
    """
    if not (shutil.which("chromium") or shutil.which("chromium-browser")):
        print("[reports] no chromium: static PNG figures skipped", flush=True)
        return []
    import plotly.io as pio

    figures = headline_figures(store)
    folder = out / "figures"
    folder.mkdir(parents=True, exist_ok=True)
    paths = [folder / f"{name}.png" for name in figures]
    # One kaleido session for all figures: the browser starts once.
    pio.write_images(list(figures.values()), paths, width=1100, height=520)
    return paths


def _provenance_rows(store: Path) -> list[dict[str, Any]]:
    from tracekit.store import open_store

    rows = []
    for part in open_store(store).partitions:
        rows.append(
            {
                "partition": f"{part['trace']}/{part['cluster']}",
                "data": "SYNTHETIC sample" if part.get("synthetic") else "real trace",
                "rows": ", ".join(f"{t} {n:,}" for t, n in sorted(part["rows"].items())),
                "sources": "; ".join(
                    f"{s['path']} ({s.get('bytes') or 0:,} B, sha256 {str(s.get('sha256'))[:12]}…)"
                    for s in part.get("sources", [])
                ),
            }
        )
    return rows


def write_index(store: Path, out: Path, pages: Sequence[Path], log: StepLog) -> Path:
    """Write ``reports/index.html`` linking the reports, with data provenance and timings."""
    from tracekit import __version__
    from tracekit.store import open_store

    synthetic = open_store(store).is_synthetic()
    rows = _provenance_rows(store)
    head = "".join(f"<th>{html.escape(k)}</th>" for k in (rows[0] if rows else {}))
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(str(v))}</td>" for v in r.values()) + "</tr>"
        for r in rows
    )
    links = "".join(
        f'<li><a href="{p.name}">{html.escape(p.stem.replace("_", " "))}</a></li>' for p in pages
    )
    timing = ", ".join(f"{k} {v:.1f}s" for k, v in log.timings.items())
    banner = (
        '<p style="background:#fff3cd;padding:8px;font-weight:600">SYNTHETIC SAMPLE: generated '
        "data calibrated to the published statistics — not the real traces.</p>"
        if synthetic
        else "<p>Real trace data.</p>"
    )
    page = f"""<!doctype html><html><head><meta charset="utf-8"><title>tracekit reports</title>
<style>body{{font-family:sans-serif;max-width:1100px;margin:2em auto}}
td,th{{border:1px solid #ccc;padding:4px 8px;font-size:13px;text-align:left}}
table{{border-collapse:collapse}}</style></head><body>
<h1>tracekit reports</h1>{banner}
<h2>Reports</h2><ul>{links}
<li><a href="findings.csv">findings.csv</a> (published vs measured)</li>
<li>static PNG figures in <a href="figures/">figures/</a> (when chromium is installed)</li></ul>
<h2>Data provenance</h2><table><tr>{head}</tr>{body}</table>
<p>tracekit {__version__}; store <code>{html.escape(str(store))}</code>; steps: {timing}</p>
</body></html>"""
    path = out / "index.html"
    path.write_text(page, encoding="utf-8")
    return path


def run_all(
    data: str = "sample",
    store: Path = Path("data/parquet"),
    out: Path = Path("reports"),
    raw: Path = Path("data/raw"),
    sample_dir: Path = Path("data/sample"),
    scale: float | None = None,
    seed: int = 7,
    traces: Sequence[str] = TRACES,
    notebooks: Sequence[str] | None = None,
    workers: int = 2,
) -> dict[str, float]:
    """Run the whole pipeline; returns the step timings in seconds."""
    log = StepLog()
    store, out = Path(store), Path(out)
    out.mkdir(parents=True, exist_ok=True)
    raw_paths = prepare_raw(data, Path(raw), Path(sample_dir), scale, seed, traces, log)
    prepare_store(raw_paths, store, log)
    prepare_predictions(store, list(raw_paths), log, seed)
    pages = run_notebooks(store, out, notebooks, None, workers, log)
    t0 = log.step("findings", "writing findings.csv")
    write_findings(store, out)
    log.done("findings", t0)
    t0 = log.step("figures", "exporting static PNG figures (kaleido)")
    write_static_figures(store, out)
    log.done("figures", t0)
    write_index(store, out, pages, log)
    shutil.rmtree(out / "_build", ignore_errors=True)
    total = time.perf_counter() - log.started
    log.timings["total"] = round(total, 1)
    print(f"[reports {total:6.1f}s] done: {out / 'index.html'}", flush=True)
    (out / "timings.json").write_text(json.dumps(log.timings, indent=2))
    return log.timings


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``python -m tracekit.reports {all,ingest}``."""
    parser = argparse.ArgumentParser(prog="python -m tracekit.reports")
    parser.add_argument("what", choices=("all", "ingest", "notebooks"))
    parser.add_argument("--data", default="sample")
    parser.add_argument("--raw", type=Path, default=Path("data/raw"))
    parser.add_argument("--sample", type=Path, default=Path("data/sample"))
    parser.add_argument("--store", type=Path, default=Path("data/parquet"))
    parser.add_argument("--out", type=Path, default=Path("reports"))
    parser.add_argument("--scale", type=float, default=None)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--traces", default=",".join(TRACES))
    parser.add_argument("--notebooks", default=None, help="comma-separated stems or numbers")
    args = parser.parse_args(argv)
    traces = [t for t in args.traces.split(",") if t]
    names = args.notebooks.split(",") if args.notebooks else None
    if args.what == "all":
        run_all(
            args.data,
            args.store,
            args.out,
            args.raw,
            args.sample,
            args.scale,
            args.seed,
            traces,
            names,
        )
    elif args.what == "ingest":
        log = StepLog()
        paths = prepare_raw(args.data, args.raw, args.sample, args.scale, args.seed, traces, log)
        prepare_store(paths, args.store, log)
    else:
        run_notebooks(args.store, args.out, names)
    return 0


if __name__ == "__main__":
    sys.exit(main())
