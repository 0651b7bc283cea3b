"""Exports: any trace of the store in the input format of the simulators people already run.

One module per format (:mod:`.helios`, :mod:`.philly_json`, :mod:`.swf`, :mod:`.openb`,
:mod:`.jobs_csv`), one registry (:data:`FORMATS`) and one front door, :func:`export` (also
``tracekit.export`` at the top level and ``tracekit export FORMAT`` on the command line). Each
export writes a ``README.md`` beside its files. See ``docs/interop.md``.
"""

from tracekit.export.api import FORMATS, ExportResult, export, formats, select

__all__ = ["FORMATS", "ExportResult", "export", "formats", "select"]
