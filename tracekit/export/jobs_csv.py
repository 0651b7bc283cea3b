"""``csv``: the plain ``jobs.csv`` + ``vcs.csv`` that ``tracekit replay --jobs-csv --vcs-csv``
reads.

The jobs are exactly those :func:`tracekit.replay.replay_from_store` replays (GPU jobs with a
run time, submit times in seconds from the window's start), already checked by the replay's own
validation: rows it would drop (unknown or too-small VC, zero run time, ...) are left out and
counted, so the files replay without ``repair``.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from tracekit.export._common import DEFAULT_GPUS_PER_NODE, Ledger, Part, vc_nodes

NAME = "csv"
DESCRIPTION = "plain jobs.csv + vcs.csv for `tracekit replay --jobs-csv --vcs-csv`"
JOBS_FILE = "jobs.csv"
VCS_FILE = "vcs.csv"
MAPPING: tuple[tuple[str, str], ...] = (
    ("job_id, user", "job_id, user"),
    ("vc", "vc (<none> when the trace has none)"),
    ("submit_time", "seconds from the window's start (--from, else the first GPU job's submit)"),
    ("duration", "duration_s"),
    ("num_gpus", "num_gpus (fractions rounded up by the replay's validation)"),
    ("pred_duration", "pred_duration_s of the store's predictions, when there are any"),
    ("vcs.csv: vc, nodes, gpus_per_node", "see the note on VC sizes"),
)


def write(part: Part, folder: Path, ledger: Ledger, prediction_model: str | None = None) -> None:
    """Write ``jobs.csv`` and ``vcs.csv`` of ``part`` into ``folder``."""
    from tracekit.replay import Cluster, jobs_from_store, validate_jobs
    from tracekit.replay.inputs import prediction_models

    if prediction_model is None:
        # One stored model is taken as it is (as docs/interop.md says); several need a choice.
        models = prediction_models(part.store, part.trace, part.cluster)
        prediction_model = models[0] if len(models) == 1 else None
    jobs, _origin = jobs_from_store(
        part.store, part.trace, part.cluster, part.start, part.end, prediction_model
    )
    jobs = jobs.join(part.jobs.select("job_id"), on="job_id", how="semi", maintain_order="left")
    ledger.drop("CPU-only jobs or jobs without a run time (the replay takes GPU jobs that ran)",
                part.jobs.height - jobs.height)
    gpu_jobs = part.jobs.filter((pl.col("num_gpus") > 0) & pl.col("duration_s").is_not_null())
    nodes, how = vc_nodes(part, gpu_jobs)
    cluster = Cluster({vc: (n, DEFAULT_GPUS_PER_NODE) for vc, n in nodes.items()})
    clean, quality = validate_jobs(
        jobs, cluster, repair=True, needs_prediction=False,
        source=f"{part.trace}/{part.cluster}",
    )  # fmt: skip
    for rule, n in quality.counts.items():
        if rule.endswith("rounded_up"):
            ledger.change(f"{rule} (tracekit replay validation)", n)
        else:
            ledger.drop(f"{rule} (tracekit replay validation)", n)
    clean.write_csv(folder / JOBS_FILE)
    ledger.wrote(JOBS_FILE, clean.height)
    vcs = cluster.to_frame().select("vc", "nodes", "gpus_per_node")
    vcs.write_csv(folder / VCS_FILE)
    ledger.wrote(VCS_FILE, vcs.height)
    ledger.note(f"VC sizes ({VCS_FILE}): {how}.")
    if prediction_model is not None:
        ledger.note(f"Predictions (pred_duration_s): model {prediction_model!r} of the store.")
    ledger.note(f"Replay with: tracekit replay --jobs-csv {JOBS_FILE} --vcs-csv {VCS_FILE} "
                "--out result.csv")


__all__ = ["DESCRIPTION", "JOBS_FILE", "MAPPING", "NAME", "VCS_FILE", "write"]
