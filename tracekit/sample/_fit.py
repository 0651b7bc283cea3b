"""Fit the latent-duration shifts of the Helios sample (writes ``_fitted.py``).

Run ``python -m tracekit.sample._fit`` after changing the targets or the construction. The fit
iterates ``shift += step * ln(target share / achieved share)`` for GPU time by size point and by
status on a large simulated set of GPU jobs; the duration CDF stays exact throughout because
durations come from ranks.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from tracekit.sample import _targets
from tracekit.sample._common import rng_for
from tracekit.sample._formats import HELIOS_CLUSTERS
from tracekit.sample.helios import _size_pmf, gpu_job_attributes


def _shares(values: np.ndarray, labels: np.ndarray, k: int) -> np.ndarray:
    return np.bincount(labels, weights=values, minlength=k) / values.sum()


def fit_cluster(
    cluster: str, n: int = 300_000, iters: int = 60, step: float = 0.5, seed: int = 0
) -> tuple[np.ndarray, np.ndarray, dict[str, float]]:
    """Fitted (size shifts, status shifts, final max abs share error) for one cluster.

    GPU time is dominated by the duration tail, so single draws are noisy: the step shrinks
    over the iterations and the result is the average of the last third of the iterates.
    """
    k_size = len(_targets.SIZE_POINTS)
    size_target = np.diff(np.concatenate([[0.0], _targets.HELIOS_GPU_TIME_SIZE_CDF[cluster]])) / 100
    status_target = np.asarray(_targets.HELIOS_STATUS_GPU_TIME[cluster])
    present = _size_pmf(cluster) > 0
    size_shift = np.zeros(k_size)
    status_shift = np.zeros(3)
    errs = {}
    kept_size, kept_status = [], []
    for it in range(iters):
        eta = step * (1.0 - 0.8 * it / iters)
        rng = rng_for(seed, 99, it % 4)  # a few fixed draws: average out sampling noise
        sessions = np.arange(n)
        users = rng.integers(0, 150, size=n)
        a = gpu_job_attributes(rng, cluster, n, users, sessions, size_shift, status_shift)
        gpu_time = a["gpus"] * a["duration"]
        by_size = _shares(gpu_time, a["size_idx"], k_size)
        by_status = _shares(gpu_time, a["status"], 3)
        ok = present & (size_target > 0) & (by_size > 0)
        size_shift[ok] += eta * np.log(size_target[ok] / by_size[ok])
        status_shift += eta * np.log(status_target / by_status)
        size_shift -= size_shift[0]
        status_shift -= status_shift[0]
        if it >= 2 * iters // 3:
            kept_size.append(size_shift.copy())
            kept_status.append(status_shift.copy())
        errs = {
            "size_share_max_abs_err": float(np.abs(by_size - size_target)[present].max()),
            "status_share_max_abs_err": float(np.abs(by_status - status_target).max()),
        }
    return np.mean(kept_size, axis=0), np.mean(kept_status, axis=0), errs


def main() -> None:
    """Fit every cluster and rewrite ``_fitted.py``."""
    sizes, statuses = {}, {}
    for cluster in HELIOS_CLUSTERS:
        s, t, errs = fit_cluster(cluster)
        sizes[cluster], statuses[cluster] = s, t
        print(cluster, errs)

    def fmt(v: np.ndarray) -> str:
        vals = [f"{x:.4f}" for x in v]
        rows = [", ".join(vals[i : i + 7]) for i in range(0, len(vals), 7)]
        return "(\n        " + ",\n        ".join(rows) + ",\n    )"

    lines = [
        '"""Fitted latent-duration shifts (``python -m tracekit.sample._fit``; do not edit).',
        "",
        "Per cluster: a shift per job-size point (``_targets.SIZE_POINTS``) and per status",
        "(completed, canceled, failed), added to the latent duration score so that GPU time by",
        "size and by status match the published shares while the duration CDF stays exact.",
        '"""',
        "",
        "from __future__ import annotations",
        "",
        "# fmt: off",
        "HELIOS_SIZE_SHIFT: dict[str, tuple[float, ...]] = {",
        *[f'    "{c}": {fmt(sizes[c])},' for c in HELIOS_CLUSTERS],
        "}",
        "HELIOS_STATUS_SHIFT: dict[str, tuple[float, ...]] = {",
        *[f'    "{c}": {fmt(statuses[c])},' for c in HELIOS_CLUSTERS],
        "}",
        "# fmt: on",
        "",
    ]
    Path(__file__).with_name("_fitted.py").write_text("\n".join(lines))


if __name__ == "__main__":
    main()
