"""Helpers shared by the replay tests (not a test module)."""

from __future__ import annotations

import numpy as np
import polars as pl


def jobs_frame(
    job_ids: list[str] | np.ndarray,
    vc: np.ndarray,
    submit: np.ndarray,
    duration: np.ndarray,
    gpus: np.ndarray,
    rng: np.random.Generator,
) -> pl.DataFrame:
    """A replay job table; ``pred_duration`` is the duration times LogNormal(0, 1) noise."""
    return pl.DataFrame(
        {
            "job_id": job_ids,
            "vc": vc,
            "submit_time": submit,
            "duration": duration,
            "num_gpus": gpus.astype(np.int64),
            "pred_duration": duration * rng.lognormal(0.0, 1.0, len(submit)),
        }
    )
