"""Fitted latent-duration shifts (output of ``python -m tracekit.sample._fit``; do not edit).

Per cluster: a shift per job-size point (``_targets.SIZE_POINTS``) and per status (completed,
canceled, failed), added to the latent duration score so that GPU time by size and by status
match the published shares while the duration CDF stays exact.
"""

from __future__ import annotations

# fmt: off
HELIOS_SIZE_SHIFT: dict[str, tuple[float, ...]] = {
    "Venus": (
        0.0000, 0.6434, 0.3373, 0.2076, 0.1046, 0.4760, 0.0187,
        0.5487, 0.1973, 0.0531, 0.4613, 0.4028, -0.1588,
    ),
    "Earth": (
        0.0000, 0.6813, 0.7997, 0.7579, 0.1837, 0.7566, 0.7602,
        0.8409, 0.6767, 0.8500, 1.1762, 1.0049, 0.4263,
    ),
    "Saturn": (
        0.0000, 0.6427, 0.3755, 0.4605, 1.3489, 0.7797, 0.5379,
        0.8916, 0.7489, 0.9487, -0.2815, 1.0387, 0.5789,
    ),
    "Uranus": (
        0.0000, 0.6065, 0.6523, 0.6445, 1.2214, 0.7515, 0.4847,
        1.1152, 1.0116, 1.1401, -0.0749, 0.8114, 0.5581,
    ),
}
HELIOS_STATUS_SHIFT: dict[str, tuple[float, ...]] = {
    "Venus": (
        0.0000, -0.1617, -0.4694,
    ),
    "Earth": (
        0.0000, 0.2995, -0.0640,
    ),
    "Saturn": (
        0.0000, -0.1891, -0.2579,
    ),
    "Uranus": (
        0.0000, 0.0330, -0.3015,
    ),
}
# fmt: on
