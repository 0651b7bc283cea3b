"""Counting repairs and drops made while reading raw files, by rule name.

Every repair or drop a reader makes is counted here under a dotted rule name such as
``helios.unknown_state`` or ``pai.start_time_zero``. The counts end up in the store manifest and
``tracekit info`` prints them, so nothing is dropped silently.
"""

from __future__ import annotations

from collections import Counter


class QualityCounter:
    """Accumulates data-quality counts by rule name.

    Parameters
    ----------
    lenient : bool, default False
        In lenient mode, rows that cannot be parsed are counted (rule ``<trace>.unparseable_row``)
        instead of raising. Readers consult this flag.
    """

    def __init__(self, lenient: bool = False) -> None:
        self.lenient = lenient
        self._counts: Counter[str] = Counter()
        self._examples: dict[str, str] = {}

    def add(self, rule: str, n: int = 1, example: str | None = None) -> None:
        """Count ``n`` occurrences of ``rule`` (zero counts are kept: evidence of a check)."""
        if n < 0:
            raise ValueError(f"count for {rule!r} must be >= 0, got {n}")
        self._counts[rule] += int(n)
        if example is not None and rule not in self._examples:
            self._examples[rule] = example[:200]

    def merge(self, other: QualityCounter | dict[str, int]) -> None:
        """Add the counts of ``other`` to this counter."""
        items = other.counts if isinstance(other, QualityCounter) else other
        for rule, n in items.items():
            self.add(rule, n)
        if isinstance(other, QualityCounter):
            for rule, ex in other.examples.items():
                self._examples.setdefault(rule, ex)

    @property
    def counts(self) -> dict[str, int]:
        """Counts by rule name, sorted by name."""
        return dict(sorted(self._counts.items()))

    @property
    def examples(self) -> dict[str, str]:
        """The first example seen for each rule, where one was given."""
        return dict(sorted(self._examples.items()))

    def nonzero(self) -> dict[str, int]:
        """Only the rules that fired at least once."""
        return {k: v for k, v in self.counts.items() if v}

    def __repr__(self) -> str:
        return f"QualityCounter({self.nonzero()})"
