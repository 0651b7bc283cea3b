"""Replay studies: the standard policy x predictor study, per-partition policy comparisons and
the published scheduling results to set beside them.

:func:`replay_study` (summary table) and :func:`replay_study_runs` (summary and per-job
tables) run every policy and predictor on the held-out jobs of every cluster of a store;
:func:`policy_comparison` does one partition; :func:`published_results` and
:func:`fifo_ratios` put the published comparisons beside the measured ones.
"""

from __future__ import annotations

from tracekit.replay.studies.comparison import (
    held_out_inputs,
    held_out_start,
    needs_pool,
    policy_comparison,
)
from tracekit.replay.studies.published import fifo_ratios, published_results
from tracekit.replay.studies.study import (
    SAMPLE_MODE,
    STUDY_MODE,
    STUDY_RUNS,
    STUDY_TRACES,
    STUDY_WINDOWS,
    StudyResult,
    replay_study,
    replay_study_runs,
    study_inputs,
    study_mode,
    study_mode_label,
    study_train_until,
)

__all__ = [
    "SAMPLE_MODE",
    "STUDY_MODE",
    "STUDY_RUNS",
    "STUDY_TRACES",
    "STUDY_WINDOWS",
    "StudyResult",
    "fifo_ratios",
    "held_out_inputs",
    "held_out_start",
    "needs_pool",
    "policy_comparison",
    "published_results",
    "replay_study",
    "replay_study_runs",
    "study_inputs",
    "study_mode",
    "study_mode_label",
    "study_train_until",
]
