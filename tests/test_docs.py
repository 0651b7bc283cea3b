"""The documentation cites only files that exist, and never the team's private inputs."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path, PurePosixPath

ROOT = Path(__file__).resolve().parents[1]
# Paths the docs name that a run creates (never tracked) or that stand for a user's own file.
GENERATED = ("data/", "reports/", "benchmarks/results/", "venus", "for_", "slurm_swf", "replay_")
SELF_CHECKS = ("tests/test_docs.py",)
REPO_TOP = ("tracekit/", "docs/", "tests/", "notebooks/", "benchmarks/", "examples/", ".ci/")


def _tracked() -> tuple[set[str], set[str]]:
    files = subprocess.run(
        ["git", "ls-files", "-co", "--exclude-standard"],
        cwd=ROOT, capture_output=True, text=True, check=True,
    ).stdout.split()  # fmt: skip
    folders = {str(p) for f in files for p in PurePosixPath(f).parents}
    return set(files), folders


def _cited(markdown: str) -> list[str]:
    """Repository paths a Markdown file names: in backticks, or as relative links."""
    text = (ROOT / markdown).read_text(encoding="utf-8")
    cited = []
    for code, link in re.findall(r"`([A-Za-z0-9_./-]+)`|\]\(([^)#\s]+)", text):
        if code and code.startswith(REPO_TOP) and "*" not in code:
            cited.append(code.rstrip("/"))
        elif link and not link.startswith(("http:", "https:", "mailto:")):
            base = PurePosixPath(markdown).parent
            cited.append(os.path.normpath(str(base / link)))
    return [c for c in cited if not c.startswith(GENERATED)]


def test_docs_cite_only_files_that_exist() -> None:
    files, folders = _tracked()
    pages = sorted(f for f in files if f.endswith(".md"))
    assert "README.md" in pages and "docs/layout.md" in pages
    missing = {
        page: [c for c in _cited(page) if c not in files and c not in folders] for page in pages
    }
    assert not {p: m for p, m in missing.items() if m}, missing


def test_no_machine_paths_or_private_inputs_in_tracked_files() -> None:
    files, _ = _tracked()
    # Machine paths, and the team's private inputs (the specs the docs must restate, not cite).
    pattern = re.compile(r"/work/|/home/\w+/|shared/specs|replay_compat|calibration\.json"
                         r"|findings\.md|formats\.md|fixtures\.md|replay\.md §")  # fmt: skip
    offenders = []
    for name in sorted(files):
        path = ROOT / name
        # The test that spells the patterns out is the only file allowed to hold them.
        if name in SELF_CHECKS or not path.is_file() or path.stat().st_size > 2_000_000:
            continue
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            continue
        offenders += [f"{name}:{i}" for i, line in enumerate(text.splitlines(), 1)
                      if pattern.search(line)]  # fmt: skip
    assert not offenders, offenders
