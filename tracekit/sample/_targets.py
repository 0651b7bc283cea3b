"""Published calibration targets the synthetic sample is built from and checked against.

Values are copied from the project specs (findings.md §2, §3, §6 and calibration.json); the tag in
each comment says where the number comes from (VEC = vector figures of the Helios artifact, ART =
artifact CSVs, NB-DIG = digitized notebook figures, SEC = secondary source, DER = derived fit).
"""

from __future__ import annotations

# ---- Helios --------------------------------------------------------------------------------------
# [ART] helios_cluster_summary.csv: (GPU jobs, CPU jobs) per cluster, full trace.
HELIOS_JOBS: dict[str, tuple[int, int]] = {
    "Venus": (125_303, 121_405),
    "Earth": (427_148, 445_738),
    "Saturn": (698_896, 1_054_182),
    "Uranus": (329_117, 161_192),
}
# [ART/3P] published cluster sizes on 2020-09-01 and time-averaged capacity.
HELIOS_SIZE_0901: dict[str, int] = {"Venus": 1064, "Earth": 1144, "Saturn": 2096, "Uranus": 2112}
HELIOS_MEAN_CAPACITY: dict[str, float] = {
    "Venus": 1022.0,
    "Earth": 997.0,
    "Saturn": 2080.0,
    "Uranus": 2119.0,
}

# [VEC] GPU-job duration CDF (%) at t = 2^0 .. 2^21 s (calibration.json).
DURATION_GRID_S: tuple[int, ...] = tuple(2**i for i in range(22))
HELIOS_GPU_DURATION_CDF: dict[str, tuple[float, ...]] = {
    "Venus": (1.89, 2.78, 4.06, 6.37, 9.64, 14.76, 23.22, 37.64, 55.05, 65.14, 72.86, 78.53,
              83.67, 86.89, 89.65, 92.33, 95.42, 97.46, 98.9, 99.64, 99.94, 100.0),
    "Earth": (0.95, 1.27, 1.59, 2.07, 2.75, 4.05, 9.09, 17.77, 55.12, 71.59, 76.52, 87.59,
              88.67, 90.24, 95.73, 97.82, 98.63, 99.27, 99.66, 99.87, 99.95, 100.0),
    "Saturn": (7.18, 8.5, 10.88, 12.7, 17.25, 25.08, 35.9, 50.79, 61.62, 69.61, 76.28, 84.89,
               88.75, 92.67, 95.62, 96.9, 98.13, 99.13, 99.68, 99.91, 99.98, 100.0),
    "Uranus": (2.0, 2.95, 3.79, 4.88, 7.61, 13.42, 22.62, 36.33, 48.32, 58.99, 72.3, 80.02,
               84.96, 88.81, 91.71, 94.4, 96.79, 98.49, 99.37, 99.82, 99.95, 100.0),
}  # fmt: skip
# [VEC] CPU-job duration CDF (%) on the same grid.
HELIOS_CPU_DURATION_CDF: dict[str, tuple[float, ...]] = {
    "Venus": (45.06, 46.2, 47.22, 48.18, 49.22, 53.08, 57.82, 84.34, 88.54, 92.0, 94.83, 96.45,
              97.35, 98.09, 98.94, 99.18, 99.44, 99.63, 99.93, 99.96, 99.98, 100.0),
    "Earth": (88.33, 89.28, 92.21, 96.53, 97.52, 98.11, 98.66, 99.13, 99.44, 99.59, 99.69, 99.8,
              99.85, 99.88, 99.92, 99.94, 99.96, 99.98, 99.98, 99.99, 100.0, 100.0),
    "Saturn": (27.6, 52.28, 69.16, 74.53, 79.73, 82.78, 85.89, 90.02, 92.97, 95.76, 97.4, 98.21,
               98.59, 98.99, 99.3, 99.53, 99.77, 99.91, 99.98, 99.99, 100.0, 100.0),
    "Uranus": (14.25, 20.44, 33.44, 39.68, 44.91, 50.11, 63.6, 71.31, 77.65, 84.69, 90.09, 94.04,
               96.41, 98.06, 98.92, 99.54, 99.83, 99.92, 99.95, 99.97, 99.99, 100.0),
}  # fmt: skip
# [ART] median GPU-job duration (s) per cluster (summary CSV).
HELIOS_MEDIAN_GPU_DURATION_S: dict[str, float] = {
    "Venus": 204.0,
    "Earth": 234.0,
    "Saturn": 124.0,
    "Uranus": 280.0,
}

# [VEC] job-size CDF (% of GPU jobs) and GPU-time CDF (%) at gpu_num <= these points; the last
# point stands for ">64" (mass placed at 128 GPUs, findings §3.3).
SIZE_POINTS: tuple[int, ...] = (1, 2, 4, 8, 12, 16, 24, 32, 40, 48, 56, 64, 128)
HELIOS_SIZE_CDF: dict[str, tuple[float, ...]] = {
    "Venus": (51.84, 57.38, 64.8, 89.98, 89.98, 94.14, 95.04, 97.76, 98.05, 98.3, 98.48, 98.71,
              100),
    "Earth": (89.17, 89.98, 92.08, 97.51, 97.52, 99.09, 99.27, 99.75, 99.78, 99.82, 99.84, 99.87,
              100),
    "Saturn": (68.25, 71.05, 79.36, 94.93, 94.95, 97.46, 97.86, 99.27, 99.4, 99.52, 99.6, 99.73,
               100),
    "Uranus": (66.26, 69.44, 73.74, 92.31, 92.32, 97.87, 98.15, 99.6, 99.65, 99.7, 99.74, 99.96,
               100),
}  # fmt: skip
HELIOS_GPU_TIME_SIZE_CDF: dict[str, tuple[float, ...]] = {
    "Venus": (4.63, 8.0, 12.77, 42.14, 42.14, 58.33, 60.18, 83.43, 84.79, 85.86, 87.98, 90.9, 100),
    "Earth": (11.49, 12.56, 18.85, 46.75, 46.76, 66.77, 69.86, 83.88, 84.4, 86.64, 88.52, 91.15,
              100),
    "Saturn": (5.38, 7.09, 12.7, 40.25, 40.52, 57.75, 59.85, 84.19, 86.09, 89.01, 89.1, 92.91, 100),
    "Uranus": (3.28, 4.52, 8.37, 39.79, 39.85, 64.61, 65.7, 91.85, 92.59, 93.74, 93.83, 98.92, 100),
}  # fmt: skip

STATUSES3: tuple[str, ...] = ("completed", "canceled", "failed")
# [ART] GPU-job status shares by count (completed, canceled, failed).
HELIOS_STATUS_COUNT: dict[str, tuple[float, float, float]] = {
    "Venus": (0.526, 0.272, 0.202),
    "Earth": (0.735, 0.136, 0.129),
    "Saturn": (0.582, 0.272, 0.145),
    "Uranus": (0.607, 0.201, 0.192),
}
# [ART/VEC] GPU-time shares by status (H8).
HELIOS_STATUS_GPU_TIME: dict[str, tuple[float, float, float]] = {
    "Venus": (0.516, 0.399, 0.085),
    "Earth": (0.499, 0.419, 0.082),
    "Saturn": (0.520, 0.388, 0.092),
    "Uranus": (0.509, 0.387, 0.104),
}
# [ART] CPU-job status shares (all clusters pooled).
HELIOS_CPU_STATUS_COUNT: tuple[float, float, float] = (0.909, 0.030, 0.061)
# [VEC] status by exact gpu_num, all clusters pooled (H9): sizes 1,2,4,8,16,32,>=64.
H9_SIZES: tuple[int, ...] = (1, 2, 4, 8, 16, 32, 64)
H9_STATUS_BY_SIZE: tuple[tuple[float, float, float], ...] = (
    (0.668, 0.185, 0.147),
    (0.405, 0.325, 0.270),
    (0.576, 0.194, 0.230),
    (0.551, 0.292, 0.157),
    (0.428, 0.463, 0.109),
    (0.439, 0.411, 0.150),
    (0.213, 0.685, 0.102),
)
# [ART] mean GPU-job queueing delay (s); medians are 0 everywhere.
HELIOS_MEAN_QUEUE_S: dict[str, float] = {
    "Venus": 1253.0,
    "Earth": 319.0,
    "Saturn": 612.0,
    "Uranus": 1949.0,
}
HELIOS_MEAN_CPU_QUEUE_S: dict[str, float] = {
    "Venus": 773.0,
    "Earth": 3.0,
    "Saturn": 16.0,
    "Uranus": 120.0,
}
# [VEC] top-5 % users' share of GPU time (H13) and the lognormal sigma that reproduces it [DER].
HELIOS_TOP5_USER_GPU_TIME: dict[str, float] = {
    "Venus": 0.596,
    "Earth": 0.459,
    "Saturn": 0.613,
    "Uranus": 0.500,
}
HELIOS_USER_SIGMA: dict[str, float] = {"Venus": 1.9, "Earth": 1.6, "Saturn": 1.95, "Uranus": 1.7}
# ≈713 users over the four clusters [DER from VEC]; split roughly by job volume.
HELIOS_USERS: dict[str, int] = {"Venus": 140, "Earth": 150, "Saturn": 270, "Uranus": 153}
# [VEC] average GPU-job submissions per clock hour (h = 0..23), Fig. 2b.
HELIOS_HOURLY_SUBMISSIONS: dict[str, tuple[float, ...]] = {
    "Venus": (25.5, 18.6, 16.9, 10.7, 7.4, 5.5, 5.0, 6.1, 10.4, 22.6, 36.9, 42.1, 33.2, 37.0, 44.6,
              47.4, 49.6, 49.6, 36.6, 37.5, 38.4, 38.9, 32.7, 29.5),
    "Earth": (107.5, 95.7, 88.1, 84.0, 81.1, 78.8, 73.6, 73.8, 72.2, 81.1, 101.6, 111.9, 108.5,
              112.3, 105.3, 115.4, 113.1, 101.6, 93.3, 107.4, 122.2, 115.2, 105.2, 101.2),
    "Saturn": (139.1, 142.5, 113.2, 104.2, 97.6, 90.4, 85.5, 84.7, 95.0, 137.9, 183.7, 198.1,
               173.4, 185.1, 206.1, 234.5, 241.3, 219.0, 179.9, 185.9, 203.1, 195.3, 175.0, 179.4),
    "Uranus": (55.1, 48.3, 28.1, 16.5, 17.5, 25.6, 33.2, 19.6, 24.3, 53.5, 84.9, 96.3, 118.8,
               109.0, 125.0, 120.2, 137.7, 112.0, 87.6, 103.6, 110.9, 94.2, 99.7, 86.0),
}  # fmt: skip
# [ART] Venus GPU jobs per weekday, Mon..Sun (used for every cluster: the only published shape).
WEEKDAY_FACTOR: tuple[float, ...] = (1.02, 1.10, 1.27, 1.20, 0.95, 0.68, 0.77)
# [VEC] GPU jobs per month Apr..Sep (H18): the slow trend of the arrival rate.
HELIOS_MONTHLY_GPU_JOBS: dict[str, tuple[int, ...]] = {
    "Venus": (20633, 17181, 15926, 22516, 21888, 25340),
    "Earth": (31616, 63468, 86062, 97202, 59702, 87003),
    "Saturn": (198562, 69430, 67704, 134074, 118855, 108028),
    "Uranus": (60486, 46208, 52484, 60016, 66292, 41501),
}
# [DER from ART] allocation-based utilization: sum of GPU time / (mean GPUs x 181 days) (H15).
HELIOS_ALLOC_UTIL: dict[str, float] = {
    "Venus": 0.772,
    "Earth": 0.734,
    "Saturn": 0.850,
    "Uranus": 0.802,
}
# [VEC] monthly allocation utilization (%) Apr..Sep (H18): nearly flat while job counts vary 3x,
# so the GPU demand per job is higher in quiet months.
HELIOS_MONTHLY_UTIL_PCT: dict[str, tuple[float, ...]] = {
    "Venus": (71.6, 64.4, 73.2, 79.2, 80.0, 87.2),
    "Earth": (69.6, 67.2, 68.2, 74.2, 77.1, 76.4),
    "Saturn": (89.9, 85.1, 81.8, 80.7, 82.0, 87.0),
    "Uranus": (82.1, 79.8, 77.5, 74.7, 76.5, 82.3),
}
# [ART] Venus arrival burstiness: 10-minute index of dispersion and daily CV (H21).
VENUS_TEN_MIN_DISPERSION = 15.4
VENUS_DAILY_CV = 0.47

# ---- Philly --------------------------------------------------------------------------------------
PHILLY_JOBS = 117_325
# [SEC] ATC'19 Table 6: status by count and by GPU time (Pass, Killed, Failed).
PHILLY_STATUS_COUNT: tuple[float, float, float] = (0.693, 0.135, 0.172)
PHILLY_STATUS_GPU_TIME: tuple[float, float, float] = (0.4453, 0.3769, 0.1776)
# [DER, low confidence] size PMF placeholder (findings §6.1).
PHILLY_SIZE_PMF: dict[int, float] = {1: 0.74, 2: 0.03, 4: 0.09, 8: 0.12, 16: 0.015, 32: 0.005}
# [NB-DIG] run time (min) by size bucket: p50, p90 (Fig. 2).
PHILLY_RUNTIME_MIN: dict[str, tuple[float, float]] = {
    "1": (19.0, 244.0),
    "2-4": (33.0, 3446.0),
    "5-8": (206.0, 5972.0),
    ">8": (136.0, 3108.0),
}
# [ART] philly_runtime.csv quantiles (s): overall run-time median.
PHILLY_MEDIAN_RUNTIME_S = 1186.0
PHILLY_MEAN_RUNTIME_S = 14_613.0
# [NB-DIG] per-GPU-minute utilization, (P(util~0) %, median %, mean %) by status and size.
PHILLY_UTIL: dict[str, dict[int, tuple[float, float, float]]] = {
    "Pass": {1: (29, 55, 49), 4: (27, 52, 48), 8: (20, 52, 50), 16: (25, 46, 46)},
    "Failed": {1: (24, 81, 61), 4: (22, 49, 48), 8: (21, 83, 62), 16: (34, 30, 39)},
    "Killed": {1: (47, 9, 35), 4: (44, 24, 31), 8: (22, 76, 60), 16: (42, 14, 35)},
}
# [ART] official machine list: 321 x 2-GPU (12 GB) + 231 x 8-GPU (24 GB) = 552 machines.
PHILLY_MACHINES_2GPU = 321
PHILLY_MACHINES_8GPU = 231
