"""What every command shares: consoles, common options, table printing and the one error path."""

from __future__ import annotations

import functools
import os
import traceback
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Annotated, Any, TypeVar

import polars as pl
import typer
from rich import box
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from tracekit.errors import TracekitError

console = Console()
# Errors are printed unwrapped so a long path and line number stay on one greppable line.
err_console = Console(stderr=True, soft_wrap=True, highlight=False)

StoreOpt = Annotated[Path, typer.Option("--store", help="Store directory.")]
DEFAULT_STORE = Path("data/parquet")
#: The one default seed of every command, the Makefile and the notebooks.
DEFAULT_SEED = 7

#: Exceptions that mean "the input or the request is wrong" (exit code 2). Anything else is a
#: defect in tracekit: still one line, exit code 1, and the traceback with ``--debug``.
EXPECTED_ERRORS: tuple[type[BaseException], ...] = (
    TracekitError,
    ValueError,  # includes json.JSONDecodeError and UnicodeDecodeError
    OSError,  # missing files, permissions, read-only stores
    KeyError,
    pl.exceptions.PolarsError,
)
_MAX_MESSAGE = 600


class _State:
    """Process-wide CLI switches set by the root callback (``--debug``)."""

    debug: bool = os.environ.get("TRACEKIT_DEBUG", "") not in ("", "0")


state = _State()


def split_list(value: str | None) -> list[str] | None:
    """``"a, b,c"`` -> ``["a", "b", "c"]``; ``None`` or ``""`` -> ``None``."""
    return [v.strip() for v in value.split(",") if v.strip()] if value else None


def _cell(value: object) -> str:
    return f"{value:.4g}" if isinstance(value, float) else str(value)


def print_frame(
    frame: pl.DataFrame,
    title: str | None = None,
    limit: int = 60,
    key: str | Sequence[str] | None = None,
    compact: bool = False,
) -> None:
    """Print a polars frame as a rich table (floats to 4 significant digits).

    A frame of a few rows that is too wide for the terminal (a replay summary has 18 columns) is
    printed turned on its side, one line per column, so that no name or value is cut.

    Parameters
    ----------
    frame : polars.DataFrame
        The table.
    title : str, optional
        Printed above it.
    limit : int
        Most rows printed (the number left out is said below).
    key : str or sequence of str, optional
        Column(s) naming each row (a replay summary's ``vc``, predict's ``split``): when the
        table is turned, their values (joined by a space) head the columns instead of
        ``row 1``, ``row 2`` ...
    compact : bool
        No borders and one space between columns (a long table of short values).
    """
    cells = [[_cell(v) for v in row] for row in frame.head(limit).iter_rows()]
    widths = [max([len(c)] + [len(r[i]) for r in cells]) for i, c in enumerate(frame.columns)]
    gap = 1 if compact else 3  # what each column adds to its widest cell
    if 0 < frame.height <= 6 and sum(w + gap for w in widths) + 1 > console.width:
        keys = [key] if isinstance(key, str) else list(key or [])
        at = [frame.columns.index(k) for k in keys]
        if keys:
            heads = [" ".join(r[i] for i in at) for r in cells]
        else:
            heads = [f"row {i + 1}" if frame.height > 1 else "value" for i in range(frame.height)]
        table = Table(title=title, show_lines=False)
        table.add_column(" ".join(keys) or "column", justify="left")
        for head in heads:
            table.add_column(head, justify="right")
        for i, col in enumerate(frame.columns):
            if i not in at:
                table.add_row(col, *[r[i] for r in cells])
        console.print(table)
        return
    if compact:
        # No padding: the box's blank column rule is the one-space gap between columns.
        table = Table(title=title, box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False,
                      padding=0)  # fmt: skip
    else:
        table = Table(title=title, show_lines=False)
    for col in frame.columns:
        table.add_column(col, justify="right" if frame[col].dtype.is_numeric() else "left")
    for row in cells:
        table.add_row(*row)
    console.print(table)
    if frame.height > limit:
        console.print(f"... {frame.height - limit} more rows")


def one_line(exc: BaseException) -> str:
    """The exception's message on one line (multi-line library messages joined with ' | ').

    An OS error that names its file reads like tracekit's own messages, ``<file>: <problem>``
    (``data/x.toml: no such file or directory``), not ``[Errno 2] No such file ...: 'x'``.
    """
    if isinstance(exc, KeyError) and exc.args:
        text = f"missing key {exc.args[0]!r}"
    elif isinstance(exc, OSError) and exc.filename is not None and exc.strerror:
        name = os.fsdecode(exc.filename) if isinstance(exc.filename, bytes) else exc.filename
        text = f"{name}: {exc.strerror.lower()}"
    else:
        text = str(exc) or type(exc).__name__
    parts = [p.strip() for p in text.splitlines() if p.strip()]
    text = " | ".join(parts)
    return text if len(text) <= _MAX_MESSAGE else text[: _MAX_MESSAGE - 1] + "…"


def fail(message: str, code: int = 2) -> None:
    """Print ``error: message`` in red on stderr and exit with ``code``."""
    err_console.print(f"[bold red]error:[/] {escape(message)}")
    raise typer.Exit(code=code)


F = TypeVar("F", bound=Callable[..., Any])


def guarded(command: F) -> F:
    """Wrap a command so that any exception becomes one red line instead of a traceback.

    Expected errors (:data:`EXPECTED_ERRORS`) exit with code 2; anything else is reported as
    an internal error with code 1. ``tracekit --debug`` (or ``TRACEKIT_DEBUG=1``) re-raises
    instead, showing the full traceback.
    """

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except (typer.Exit, typer.Abort):
            raise
        except KeyboardInterrupt:
            err_console.print("[bold red]interrupted[/]")
            raise typer.Exit(code=130) from None
        except Exception as exc:
            if state.debug:
                traceback.print_exc()
                raise typer.Exit(code=2 if isinstance(exc, EXPECTED_ERRORS) else 1) from exc
            if isinstance(exc, EXPECTED_ERRORS):
                fail(one_line(exc), code=2)
            fail(
                f"internal error ({type(exc).__name__}): {one_line(exc)} "
                "(run `tracekit --debug ...` for the traceback and please report it)",
                code=1,
            )

    return wrapper  # type: ignore[return-value]
