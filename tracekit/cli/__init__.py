"""The ``tracekit`` command line: one module per command, registered below.

Every command is thin: it parses arguments, calls the library and prints with rich. Errors take
one path (:func:`tracekit.cli._common.guarded`): one red line naming the file (and line) and exit
code 2, or the traceback with ``tracekit --debug``.
"""

from __future__ import annotations

from typing import Annotated

import typer

from tracekit.cli import download, info, ingest, predict, replay, reports, sample, sweep
from tracekit.cli import export as export_cmd
from tracekit.cli._common import console, guarded, state

app = typer.Typer(
    help="Normalize, characterize, predict and replay GPU-cluster traces.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)


def _version(value: bool) -> None:
    if value:
        from tracekit import __version__

        console.print(f"tracekit {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_version, is_eager=True, help="Print the version and exit."
        ),
    ] = False,
    debug: Annotated[
        bool, typer.Option("--debug", help="Show the full traceback of an error.")
    ] = False,
) -> None:
    """Normalize, characterize, predict and replay GPU-cluster traces."""
    state.debug = state.debug or debug


# One line per command: the module holds the command and its help.
app.command("ingest")(guarded(ingest.command))
app.command("info")(guarded(info.command))
app.command("sample")(guarded(sample.command))
app.command("download")(guarded(download.command))
app.command("predict")(guarded(predict.command))
app.command("replay")(guarded(replay.command))
app.command("sweep")(guarded(sweep.command))
app.command("reports")(guarded(reports.command))
app.command("export")(guarded(export_cmd.command))

__all__ = ["app"]
