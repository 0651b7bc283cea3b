"""Former location of the published scheduling results, kept so ``from tracekit.replay import
published`` in existing notebooks still works; use :mod:`tracekit.replay.studies`."""

from tracekit.replay.studies.published import fifo_ratios, published_results

__all__ = ["fifo_ratios", "published_results"]
