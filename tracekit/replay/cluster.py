"""Compatibility names for code written against the earlier layout: the cluster model now
lives in :mod:`tracekit.replay.resources`, its readers in :mod:`tracekit.replay.inputs`."""

from tracekit.replay.inputs import cluster_from_store, read_vcs_csv
from tracekit.replay.resources import (
    DEFAULT_GPUS_PER_NODE,
    POOL_VC,
    Cluster,
    VCSpec,
    as_cluster,
    cluster_from_capacity,
    cluster_from_machines,
)

__all__ = [
    "DEFAULT_GPUS_PER_NODE",
    "POOL_VC",
    "Cluster",
    "VCSpec",
    "as_cluster",
    "cluster_from_capacity",
    "cluster_from_machines",
    "cluster_from_store",
    "read_vcs_csv",
]
