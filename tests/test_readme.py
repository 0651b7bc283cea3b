"""Every command the README documents is run here, as a user would type it.

The README's ``bash`` blocks are the source of truth: each line that starts with ``tracekit`` runs,
in order, in a fresh copy of the repository (so relative paths such as ``data/sample`` behave as
in a clone). Two substitutions keep the run offline and short, and both are visible here:

- ``tracekit download ...`` gets ``--mirror`` pointing at a local HTTP server on 127.0.0.1 that
  serves real-format archives;
- ``tracekit reports`` is the command ``make reports`` runs: it is checked against the Makefile's
  recipe and run once, through ``make reports``, in its own fresh copy.

``make test`` is what CI itself runs; it is not run again from inside the suite. The Python API
block runs after the commands, against the store they built.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
import threading
import zipfile
from collections.abc import Iterator
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
VENV_BIN = Path(sys.executable).parent
# The default sample sized for `make reports`; the README test may shrink only this.
SAMPLE_SCALE_FOR_TEST = "0.01"


def code_blocks(lang: str) -> list[str]:
    """The README's fenced code blocks in ``lang``, in order."""
    text = README.read_text(encoding="utf-8")
    return re.findall(rf"```{lang}\n(.*?)```", text, flags=re.S)


def command_lines(prefix: str) -> list[str]:
    """Lines of the README's bash blocks that start with ``prefix`` (trailing comments cut)."""
    lines = []
    for block in code_blocks("bash"):
        for raw in block.splitlines():
            line = raw.split(" #", 1)[0].strip()
            if line.startswith(prefix + " ") or line == prefix:
                lines.append(line)
    return lines


def _copy_repo(dest: Path) -> Path:
    """The tracked (and new, unignored) files of the repository, as a fresh clone would have."""
    files = subprocess.run(
        ["git", "ls-files", "-co", "--exclude-standard", "-z"],
        cwd=ROOT, capture_output=True, check=True,
    ).stdout.decode().split("\0")  # fmt: skip
    for name in filter(None, files):
        src = ROOT / name
        if src.is_file():
            target = dest / name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, target)
    return dest


class _Quiet(SimpleHTTPRequestHandler):
    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def mirror(tmp_path_factory: pytest.TempPathFactory, real_data: Path) -> Iterator[str]:
    """A local HTTP server with the release files the README downloads: Helios' ``data.zip``
    built from the real-format fixtures, and openb's real files (their checksums are pinned)."""
    root = tmp_path_factory.mktemp("mirror")
    with zipfile.ZipFile(root / "data.zip", "w") as zf:
        for f in (ROOT / "tests/fixtures/helios").rglob("*.csv"):
            zf.write(f, f.relative_to(ROOT / "tests/fixtures/helios").as_posix())
    for f in (real_data / "openb").glob("*.csv"):
        shutil.copy2(f, root / f.name)
    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(_Quiet, directory=str(root)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PATH"] = f"{VENV_BIN}{os.pathsep}{env.get('PATH', '')}"
    env["PLOTLY_RENDERER"] = "plotly_mimetype+notebook"
    return env


def _as_run(line: str, mirror_url: str) -> list[str] | None:
    """The README line as the test runs it (``None``: run elsewhere, see the module docstring)."""
    argv = shlex.split(line)
    if argv[1:2] == ["reports"]:
        return None
    if argv[1:2] == ["download"]:
        argv += ["--mirror", mirror_url]
    if argv[1:2] == ["sample"] and "--scale" not in argv:
        argv += ["--scale", SAMPLE_SCALE_FOR_TEST]
    return argv


@pytest.fixture(scope="module")
def user_run(tmp_path_factory: pytest.TempPathFactory, mirror: str) -> dict[str, object]:
    """Run every README ``tracekit`` line in order in a fresh copy; keep each outcome."""
    work = _copy_repo(tmp_path_factory.mktemp("clone"))
    outcomes: dict[str, subprocess.CompletedProcess[str]] = {}
    for line in command_lines("tracekit"):
        argv = _as_run(line, mirror)
        if argv is None:
            continue
        outcomes[line] = subprocess.run(
            argv, cwd=work, env=_env(), capture_output=True, text=True, timeout=600
        )
    return {"work": work, "outcomes": outcomes}


def test_readme_documents_every_command() -> None:
    from tracekit.cli import app

    documented = {shlex.split(line)[1] for line in command_lines("tracekit")}
    commands = {c.name or c.callback.__name__ for c in app.registered_commands}
    assert commands, "the CLI registers no command"
    assert not commands - documented, f"README shows no line for {sorted(commands - documented)}"
    assert {"make reports", "make test"} <= set(command_lines("make"))


@pytest.mark.slow
def test_every_readme_command_runs(user_run: dict) -> None:
    failed = {
        line: (p.returncode, (p.stderr or p.stdout).strip().splitlines()[-3:])
        for line, p in user_run["outcomes"].items()
        if p.returncode != 0
    }
    assert not failed, failed
    assert user_run["outcomes"], "no command ran"


@pytest.mark.slow
def test_readme_python_block_runs_on_the_store_the_commands_built(user_run: dict) -> None:
    blocks = code_blocks("python")
    assert blocks, "README has no Python block"
    for block in blocks:
        done = subprocess.run(
            [sys.executable, "-c", block],
            cwd=user_run["work"], env=_env(), capture_output=True, text=True, timeout=600,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr[-2000:]


def test_make_reports_runs_the_documented_reports_command() -> None:
    recipe = subprocess.run(
        ["make", "-n", "reports"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout
    for line in command_lines("tracekit"):
        if shlex.split(line)[1] == "reports":
            assert re.search(r"(^|/)tracekit reports\b", recipe, flags=re.M), recipe


@pytest.mark.slow
def test_make_reports_from_a_fresh_copy(tmp_path: Path) -> None:
    work = _copy_repo(tmp_path / "clone")
    done = subprocess.run(
        ["make", "reports"], cwd=work, env=_env(), capture_output=True, text=True, timeout=900
    )
    assert done.returncode == 0, (done.stdout + done.stderr)[-3000:]
    assert (work / "reports/index.html").is_file()
    assert (work / "reports/findings.csv").is_file()
