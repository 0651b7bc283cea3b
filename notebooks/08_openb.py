# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 08 — openb: GPU sharing and fragmentation (Alibaba, ATC'23)
#
# How many production pods share a GPU, what do they ask for, and how many GPUs does each
# placement policy leave unusable as the cluster fills up? The Alibaba GPU-sharing trace
# (cluster-trace-gpu-v2023, "openb") behind Weng et al., "Beware of Fragmentation", USENIX
# ATC'23: 8,152 pods on 1,523 nodes with 6,212 GPUs, read from the real published files.
#
# Pods become jobs (fractional GPUs kept: a pod asking 460 thousandths of one GPU has
# `num_gpus = 0.46`); the pod list `default` is the production workload, `gpuspec33` the
# published variant in which a third of the GPU pods may run only on some GPU models
# (`docs/openb.md`). The placement study replays the pods on the trace's real nodes under four
# policies (`tracekit.replay.studies.openb`).

# %% tags=["parameters"]
store = "data/parquet"
traces = "openb"
clusters = None
seed = 7
results = None  # the reports folder: findings.csv and openb_placement.csv are read from it

# %%
from pathlib import Path

import polars as pl
from IPython.display import Markdown, display

import tracekit
from tracekit import plots
from tracekit.analysis import findings, findings_table, openb, summary
from tracekit.replay.studies import openb as placement_study

st, present, missing = tracekit.reports.open_report(store, traces)
have = "openb" in present
if have:
    pods = st.scan("jobs", trace="openb", cluster=clusters)
    specs = st.scan("pod_specs", trace="openb", cluster=clusters)
    main = summary.main_cluster(st, "openb", clusters or ["default"])
    machines = st.machines("openb", main)
else:
    display(Markdown("_No openb pods in this store: pass `tracekit reports --openb PATH` with "
                     "the folder of cluster-trace-gpu-v2023. Every section is skipped._"))

# %% [markdown]
# ## How many pods share a GPU
#
# The paper (Sec. 2) finds GPU sharing common in production: many pods ask for a fraction of
# one GPU rather than whole GPUs, which is what makes fragmentation possible.

# %%
if have:
    share = openb.sharing_share(pods)
    display(plots.table(share, title="openb: pods asking for a fraction of one GPU",
                        labels={"gpu_pods": "GPU pods", "sharing_pods": "sharing pods",
                                "sharing_share": "share of all pods",
                                "sharing_share_of_gpu_pods": "share of GPU pods"}))
    row = share.filter(pl.col("cluster") == main).row(0, named=True)
    display(Markdown(
        f"Here {row['sharing_pods']:,} of the {row['pods']:,} pods of `{main}` "
        f"({100 * row['sharing_share']:.1f} %) ask for a fraction of one GPU: "
        f"{100 * row['sharing_share_of_gpu_pods']:.1f} % of the pods that use a GPU."))

# %% [markdown]
# ## What a GPU pod asks for (`gpu_milli`)
#
# Each single-GPU pod states the thousandths of one GPU it needs (1000 = the whole GPU). The
# paper's point is that these requests come in many sizes, so the leftovers of a shared GPU
# often fit no waiting pod.

# %%
if have:
    milli = openb.gpu_milli_distribution(specs.filter(pl.col("cluster") == main))
    plots.bars(milli, "gpu_milli", "share", log_y=False, percent_y=True,
               title=f"openb {main}: per-GPU request of single-GPU pods",
               x_title="GPU request (thousandths of one GPU)",
               y_title="share of single-GPU pods (%)").show()
    plots.lines(milli, "gpu_milli", "cdf", "cluster", percent_y=True, step=True, markers=True,
                title=f"openb {main}: CDF of the per-GPU request",
                x_title="GPU request (thousandths of one GPU)",
                y_title="single-GPU pods asking at most this (%)").show()
    whole = milli.filter(pl.col("gpu_milli") == openb.GPU_MILLI)["share"].sum()
    top = milli.filter(pl.col("gpu_milli") < openb.GPU_MILLI).sort("pods", descending=True)
    display(Markdown(
        f"Here {100 * whole:.0f} % of single-GPU pods want the whole GPU; the others use "
        f"{top.height} distinct sizes, the most common {top['gpu_milli'][0]} thousandths "
        f"({100 * top['share'][0]:.0f} % of single-GPU pods)."))

# %% [markdown]
# ## GPU-model constraints
#
# A pod may name the GPU models it can run on. The trace's README says about 33 % of the GPU
# pods of the `gpuspec33` variant carry such a constraint (finding OB2); the production list
# has none.

# %%
if have:
    constrained = openb.gpu_constraint_share(specs)
    display(plots.table(constrained, title="openb: GPU pods limited to some GPU models",
                        labels={"gpu_pods": "GPU pods", "constrained_pods": "constrained pods",
                                "constrained_share": "share"}))
    plots.bars(constrained, "cluster", "constrained_share", log_y=False, percent_y=True,
               title="openb: share of GPU pods with a GPU-model constraint",
               x_title="pod list", y_title="share of GPU pods (%)").show()

# %% [markdown]
# ## Demand by QoS class
#
# Pods carry a Kubernetes QoS class: latency-sensitive (`LS`), best-effort (`BE`),
# `Burstable` and `Guaranteed`. The paper schedules all of them on the same GPUs; below, each
# class's share of the pods and of the GPUs and CPUs they request.

# %%
if have:
    qos = openb.demand_by_qos(specs.filter(pl.col("cluster") == main))
    long = qos.unpivot(index="qos", on=["pod_share", "gpu_share", "cpu_share"],
                       variable_name="of", value_name="share")
    plots.bars(long.with_columns(pl.col("of").replace({"pod_share": "pods",
                                                       "gpu_share": "GPUs requested",
                                                       "cpu_share": "CPUs requested"})),
               "qos", "share", "of", log_y=False, percent_y=True,
               title=f"openb {main}: pods and requests by QoS class", x_title="QoS class",
               y_title="share (%)").show()
    ls = qos.filter(pl.col("qos") == "LS").row(0, named=True)
    display(Markdown(f"Here latency-sensitive pods are {100 * ls['pod_share']:.0f} % of the "
                     f"pods and ask for {100 * ls['gpu_share']:.0f} % of the requested GPUs."))

# %% [markdown]
# ## The nodes: GPU models
#
# The README: 1,523 nodes, 1,213 of them with GPUs, 6,212 GPUs of seven models (G1–G3 are
# undisclosed internal models).

# %%
if have:
    mix = openb.node_mix(machines).with_columns(pl.col("gpu_type").fill_null("(CPU only)"))
    long = mix.unpivot(index="gpu_type", on=["node_share", "gpu_share"], variable_name="of",
                       value_name="share")
    plots.bars(long.with_columns(pl.col("of").replace({"node_share": "nodes",
                                                       "gpu_share": "GPUs"})),
               "gpu_type", "share", "of", log_y=False, percent_y=True,
               title="openb: nodes and GPUs per GPU model", x_title="GPU model",
               y_title="share (%)").show()
    biggest = mix.sort("gpus", descending=True).row(0, named=True)
    display(Markdown(f"Here {mix['nodes'].sum():,} nodes hold {int(mix['gpus'].sum()):,} GPUs; "
                     f"{biggest['gpu_type']} holds {int(biggest['gpus']):,} of them."))

# %% [markdown]
# ## Unallocated GPUs as the load grows, per placement policy
#
# The paper's main experiment: pods drawn from the trace arrive one after another, with no
# departures, until their GPU requests reach the cluster's GPU capacity; a pod that fits nowhere
# fails. The curve is the share of the GPU capacity requested by failed pods. FGD
# (fragmentation gradient descent) places each pod where the expected fragmentation of the
# workload grows least; the paper reports up to 49 % fewer unallocated GPUs than its baselines
# (finding OB3). Here: best-fit, packing, load-balancing and FGD on the real nodes, one seed.

# %%
if have:
    saved = Path(results) / "openb_placement.csv" if results else None
    if saved is not None and saved.is_file():
        curve = pl.read_csv(saved)
    else:  # opened on its own: run the study (about 20 s)
        curve = placement_study.compare_placements(
            machines, st.scan("pod_specs", trace="openb", cluster=main), seeds=(seed,))
    plots.lines(curve, "arrived_share", "unallocated_share", "placement", percent_y=True,
                title="openb: GPUs left unallocated as the arrived load grows",
                x_title="arrived GPU requests / GPU capacity",
                y_title="unallocated GPU share (%)").show()
    plots.lines(curve, "arrived_share", "fragmentation_rate", "placement", percent_y=True,
                title="openb: fragmentation rate as the arrived load grows",
                x_title="arrived GPU requests / GPU capacity",
                y_title="fragmented share of the free GPU capacity (%)").show()
    at_full = placement_study.unallocated_at(curve, 1.0)
    display(plots.table(at_full, title="openb: at 100 % arrived load",
                        labels={"arrived_share": "arrived load",
                                "unallocated_share": "unallocated GPU share",
                                "fragmentation_rate": "fragmentation rate"}))
    u = dict(at_full.select("placement", "unallocated_share").rows())
    gpus = openb.node_mix(machines)["gpus"].sum()
    display(Markdown(
        f"Here FGD leaves {100 * u['fgd']:.2f} % of the GPUs unallocated at full load against "
        f"{100 * u['best-fit']:.2f} % for best-fit: {gpus * (u['best-fit'] - u['fgd']):,.0f} "
        f"fewer of the {gpus:,.0f} GPUs, {100 * (1 - u['fgd'] / u['best-fit']):.0f} % fewer "
        "(the paper: up to 49 % against its baselines)."))

# %% [markdown]
# ## Published vs measured

# %%
if have:
    ft = findings_table(st, traces=present, ids=findings.SECTIONS["openb"], saved=results)
    display(plots.findings_table(ft, title="openb: published vs measured"))
