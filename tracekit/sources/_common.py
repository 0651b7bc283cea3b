"""Helpers shared by the readers: locating files, synthetic-sample markers."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

# The sample generator writes this file at the root of each trace's raw folder. Readers copy it
# into the manifest so everything downstream can say the data is synthetic.
SYNTHETIC_MARKER = "SYNTHETIC.json"


def read_synthetic_marker(raw_path: Path) -> dict[str, Any] | None:
    """Return the sample generator's marker for ``raw_path`` (a folder or archive), if any.

    Looks in the folder itself and up to two parents (readers may be pointed at a sub-folder
    such as ``trace-data/``).
    """
    start = raw_path if raw_path.is_dir() else raw_path.parent
    for folder in (start, *list(start.parents)[:2]):
        marker = folder / SYNTHETIC_MARKER
        if marker.is_file():
            with open(marker) as fh:
                return json.load(fh)
    return None


def find_by_basename(root: Path, names: tuple[str, ...] | list[str]) -> dict[str, Path]:
    """Find files by base name anywhere below ``root`` (first match in sorted order wins)."""
    wanted = set(names)
    found: dict[str, Path] = {}
    for path in sorted(root.rglob("*")):
        if path.is_file() and path.name in wanted and path.name not in found:
            found[path.name] = path
    return found
