"""The compiled core's compilation: warm-up report, on-disk cache location and shipping.

Whether its results equal the Python loops' is checked by every golden, property, compat and
shortcut test, which run on both cores.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tracekit.replay.engines import compiled

TINY = "from numba import njit\n\n\n@njit(cache=True)\ndef plus_one(x):\n    return x + 1\n"


def test_warm_report_and_one_warm_up_per_process() -> None:
    first = compiled.ensure_compiled()
    assert set(first["kernels"]) == set(compiled.ENTRY_POINTS)
    assert set(first["kernels"].values()) <= {"cache", "compiled"}
    assert compiled.ensure_compiled() is first  # the kernels stay loaded
    folder = compiled.cache_dir()
    assert folder is not None and str(folder) == first["cache"]


def test_cache_files_round_trip() -> None:
    compiled.ensure_compiled()
    files = compiled.cache_files()
    assert files and all(n.startswith(("kernels.", "shared_kernels.")) for n in files)
    assert any(n.startswith("shared_kernels.") for n in files)  # the shared-GPU loop too
    assert {Path(n).suffix for n in files} == {".nbi", ".nbc"}
    # Installing this process's own files rewrites them (atomically) with the same bytes.
    folder = compiled.install_cache(files)
    assert folder == compiled.cache_dir()
    assert compiled.cache_files() == files
    with pytest.raises(ValueError, match="not a kernel cache file"):
        compiled.install_cache({"../kernels.x.nbi": b""})
    # Files an earlier version of the kernels left behind (other source lines) are not shipped.
    stale = compiled.cache_dir() / f"{next(iter(files)).split('.')[0]}.gone-1.py311.nbi"
    stale.write_bytes(b"")
    try:
        assert stale.name not in compiled.cache_files()
    finally:
        stale.unlink()


def _cache_path_in_subprocess(tmp_path: Path, xdg: Path) -> str:
    """Import a tiny cached numba module whose own folder is unwritable (its ``__pycache__`` is
    a file, which stops even root) through :func:`compiled.import_cached`; return where numba
    caches it."""
    mods = tmp_path / "mods"
    mods.mkdir()
    (mods / "tinykern.py").write_text(TINY)
    (mods / "__pycache__").write_text("a file, not a folder")
    (tmp_path / "tmp").mkdir()
    env = {**os.environ, "XDG_CACHE_HOME": str(xdg), "TMPDIR": str(tmp_path / "tmp"),
           "PYTHONPATH": os.pathsep.join([str(mods), *sys.path])}  # fmt: skip
    env.pop("NUMBA_CACHE_DIR", None)
    code = ("from tracekit.replay.engines.compiled import import_cached\n"
            "m = import_cached('tinykern')\nassert m.plus_one(1) == 2\n"
            "print(m.plus_one.stats.cache_path)")  # fmt: skip
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                         check=True)  # fmt: skip
    return out.stdout.strip()


def test_unwritable_package_folder_falls_back_to_the_user_cache(tmp_path: Path) -> None:
    path = _cache_path_in_subprocess(tmp_path, tmp_path / "xdg")
    assert path.startswith(str(tmp_path / "xdg" / "numba"))


def test_no_writable_cache_folder_falls_back_to_the_temporary_directory(tmp_path: Path) -> None:
    blocked = tmp_path / "not-a-folder"
    blocked.write_text("")
    path = _cache_path_in_subprocess(tmp_path, blocked)
    assert path.startswith(str(tmp_path / "tmp" / "tracekit-numba"))
