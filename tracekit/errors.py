"""Exceptions raised by tracekit."""

from __future__ import annotations

from pathlib import Path


class TracekitError(Exception):
    """Base class for tracekit errors."""


class TraceFormatError(TracekitError, ValueError):
    """A raw trace file does not have the expected format.

    Parameters
    ----------
    path : str or Path
        The file (or archive member, ``archive.zip!member``) that is malformed.
    line : int or None
        1-based line (or row) number where the problem was found, when known.
    problem : str
        What is wrong, in words a user can act on.
    """

    def __init__(self, path: str | Path, line: int | None, problem: str) -> None:
        self.path = str(path)
        self.line = line
        self.problem = problem
        where = f"{self.path}, line {line}" if line is not None else self.path
        super().__init__(f"{where}: {problem}")


class StoreError(TracekitError):
    """The store is missing, inconsistent, or a write was refused."""


class ManifestError(StoreError):
    """A store's ``manifest.json`` is damaged: not JSON, or not a tracekit manifest.

    Parameters
    ----------
    path : str or Path
        The manifest file.
    problem : str
        What is wrong with it.
    remedy : str
        The command (and steps) that rebuild it.
    """

    def __init__(self, path: str | Path, problem: str, remedy: str) -> None:
        self.path = str(path)
        self.problem = problem
        self.remedy = remedy
        super().__init__(f"{self.path}: damaged store manifest: {problem}; {remedy}")


__all__ = ["ManifestError", "StoreError", "TraceFormatError", "TracekitError"]
