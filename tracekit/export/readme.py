"""The ``README.md`` written beside every export: source, filters, mapping, drops and changes."""

from __future__ import annotations

from types import ModuleType

from tracekit.export._common import Ledger, Part

READ_BACK: dict[str, str] = {
    "helios": "tracekit ingest helios {folder}",
    # A Philly-format log of any cluster but Microsoft's own is read under its own name.
    "philly-json": "tracekit ingest philly {folder} --clusters {cluster}",
    "swf": "tracekit ingest swf {folder}",
    "openb": "(FGD's Kubernetes scheduler simulator reads the pod and node lists)",
    "csv": "tracekit replay --jobs-csv {folder}/jobs.csv --vcs-csv {folder}/vcs.csv --out r.csv",
}


def _table(header: tuple[str, str], rows: list[tuple[str, str]]) -> list[str]:
    lines = [f"| {header[0]} | {header[1]} |", "|---|---|"]
    return lines + [f"| {a} | {b} |" for a, b in rows]


def render_readme(module: ModuleType, part: Part, ledger: Ledger) -> str:
    """The README of one exported cluster folder, as Markdown."""
    from tracekit import __version__

    meta = part.meta
    lines = [f"# {part.trace}/{part.cluster} in the `{module.NAME}` format", ""]
    if part.synthetic:
        lines += [
            "**SYNTHETIC**: these jobs come from tracekit's calibrated synthetic sample, "
            "not from a real trace.",
            "",
        ]
    lines += [
        f"{module.DESCRIPTION}. Written by `tracekit export {module.NAME}` (tracekit "
        f"{__version__}).",
        "",
        "## Source",
        "",
        f"- store: `{part.store.path}`, trace `{part.trace}`, cluster `{part.cluster}`",
        f"- ingested at {meta.get('ingested_at', '?')} from: "
        + (", ".join(f"`{s.get('path')}`" for s in meta.get("sources", [])) or "(not recorded)"),
        f"- time zone of the trace: {part.timezone}",
        "",
        "## Filters",
        "",
    ]
    if part.start is None and part.end is None:
        lines.append("- none: every job of the cluster")
    else:
        lo = part.start.isoformat() if part.start else "the first job"
        hi = part.end.isoformat() if part.end else "the last job"
        lines.append(f"- submitted from {lo} (inclusive) to {hi} (exclusive), UTC")
    lines += [
        f"- jobs in the cluster: {part.total:,}; selected: {part.jobs.height:,}",
        "",
        "## Files",
        "",
        *_table(("file", "rows"), [(f"`{f}`", f"{n:,}") for f, n in ledger.files.items()]),
        "",
        "## Mapping",
        "",
        *_table((f"{module.NAME} field", "from the store's jobs table"), list(module.MAPPING)),
        "",
        "## Dropped",
        "",
    ]
    dropped = [(r, f"{n:,}") for r, n in ledger.dropped.items()]
    lines += _table(("selected jobs left out", "jobs"), dropped) if dropped else ["- nothing"]
    lines += ["", "## Changed", ""]
    changed = [(r, f"{n:,}") for r, n in ledger.changed.items()]
    lines += _table(("values the format cannot carry exactly", "jobs"), changed) if changed \
        else ["- nothing"]
    if ledger.remarks:
        lines += ["", "## Notes", "", *[f"- {r}" for r in ledger.remarks]]
    read_back = READ_BACK[module.NAME].format(folder=".", cluster=part.cluster)
    lines += ["", "## Read it back", "", "```", read_back, "```", ""]
    return "\n".join(lines)


__all__ = ["READ_BACK", "render_readme"]
