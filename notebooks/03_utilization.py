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
# # 03 — Utilization: three different things
#
# How busy are the GPUs, and how much of what jobs ask for do they use? Helios measures
# *allocation* (GPUs held by running jobs / capacity), Philly measures what nvidia-smi saw per
# GPU-minute, and PAI compares what each task requested with what its instances used (GPU, CPU
# and memory), plus the machines' own metrics.
#
# * **Helios**: allocated GPUs / capacity per minute (minutes truncated, start ≤ t ≤ end,
#   clipped at the day's capacity), averaged per day, hour, month and VC.
# * **Philly**: nvidia-smi utilization per GPU-minute by final status × job size, dedicated vs
#   shared servers, and host CPU / memory.
# * **PAI**: per-task request vs measured usage; machine CPU, GPU and network metrics.
#
# These numbers measure different things: never compare them across traces.

# %% tags=["parameters"]
store = "data/parquet"
traces = "philly,helios,pai"
clusters = None
results = None  # the reports folder: findings.csv is read from it, not measured again

# %%
import polars as pl
from IPython.display import Markdown, display

import tracekit
from tracekit import plots
from tracekit.analysis import findings, findings_table, utilization

st, present, missing = tracekit.reports.open_report(store, traces)


def has(trace: str, table: str) -> bool:
    """True when the store has rows of ``table`` for ``trace`` (and it was requested)."""
    rows = st.rows()
    sel = rows.filter((rows["trace"] == trace) & (rows["table"] == table) & (rows["rows"] > 0))
    return trace in present and sel.height > 0


# %% [markdown]
# ## Helios: allocation over time
#
# Helios (Fig. 2a) reports 72–84 % mean allocation over six months, per cluster.

# %%
if has("helios", "capacity"):
    hj = st.scan("jobs", trace="helios", cluster=clusters)
    hcap = st.scan("capacity", trace="helios", cluster=clusters)
    hourly = utilization.allocation_series(hj, hcap, freq="1h")
    daily = utilization.allocation_series(hj, hcap, freq="1d")
    plots.allocation_timeseries(daily,
                                title="Helios: allocated GPUs / capacity (daily mean)").show()
    mean = utilization.allocation_profile(hourly, "all")
    display(plots.table(mean, title="Helios: mean allocation over the window"))
else:
    display(Markdown("_No Helios jobs + capacity in this store: section skipped._"))

# %%
if has("helios", "capacity"):
    prof = utilization.allocation_profile(hourly, "hour")
    plots.hourly_profile(prof, "util", title="Helios: allocation by local hour",
                         y_title="allocated GPUs / capacity (%)", percent_y=True).show()

# %% [markdown]
# ### Monthly allocation and who holds it (Helios Fig. 3)
#
# Helios found monthly allocation between 70 % and 90 %, and multi-GPU jobs holding 61–84 % of
# the capacity against 1–12 % for single-GPU jobs.

# %%
if has("helios", "capacity"):
    monthly = utilization.allocation_profile(hourly, "month")
    plots.lines(monthly.sort("cluster", "month"), "month", "util", "cluster", percent_y=True,
                markers=True, title="Helios: mean allocation per month",
                y_title="allocated GPUs / capacity (%)").show()
    split = utilization.allocation_series(hj, hcap, by="size_class", freq="1d")
    plots.allocation_timeseries(split, color=["size_class"], facet="cluster",
                                title="Helios: capacity used by single- vs multi-GPU jobs").show()
    by_class = utilization.allocation_profile(split, "all", by="size_class")
    display(Markdown("Here multi-GPU jobs hold " + ", ".join(
        f"{c} {100 * u:.0f} %" for c, u in by_class.filter(pl.col("size_class") != "single")
        .select("cluster", "util").rows()) + " of the capacity."))

# %% [markdown]
# ### Per-VC allocation (Helios Fig. 4)
#
# Helios' Earth cluster in May 2020: mean VC allocation ranged from about 1 % to 94 %, the
# largest VC sat at 93 %, and several VCs were nearly idle. The boxes show each VC's daily mean
# allocation over the window.

# %%
if has("helios", "capacity"):
    vc = utilization.allocation_series(hj, hcap, by="vc", freq="1d")
    main = "Earth" if "Earth" in vc["cluster"].unique().to_list() else vc["cluster"][0]
    vc_main = vc.filter(pl.col("cluster") == main)
    order = (vc_main.group_by("vc").agg(pl.col("capacity_gpus").max())
             .sort("capacity_gpus", descending=True)["vc"].to_list())
    plots.box(vc_main.sort(pl.col("vc").replace_strict({v: i for i, v in enumerate(order)})),
              "vc", "util", title=f"Helios {main}: daily allocation per VC (largest VC first)",
              y_title="allocated GPUs / VC capacity (%)", percent_y=True).show()
    vc_mean = utilization.allocation_profile(vc, "all", by="vc")
    lo, hi = vc_mean.filter(pl.col("cluster") == main)["util"].min(), vc_mean.filter(
        pl.col("cluster") == main)["util"].max()
    display(Markdown(f"Here {main}'s VC means range from {100 * lo:.0f} % to {100 * hi:.0f} %."))
    plots.bars(vc_mean, "vc", "util", "cluster", percent_y=True, log_y=False,
               title="Helios: mean allocation per VC",
               y_title="allocated GPUs / VC capacity (%)").show()

# %% [markdown]
# ## Philly: GPU utilization per GPU-minute
#
# The Philly notebook (Fig. 5): GPUs of passed jobs are about half busy, killed jobs idle most.

# %%
if has("philly", "job_gpu_minutes"):
    pj = st.scan("jobs", trace="philly")
    gm = st.scan("job_gpu_minutes", trace="philly")
    att = st.scan("attempts", trace="philly") if has("philly", "attempts") else None
    display(plots.table(utilization.philly_gpu_util(gm, pj),
                        title="Philly: GPU utilization by status and size"))
    plots.util_cdf(utilization.philly_gpu_util_cdf(gm, pj),
                   title="Philly: per-GPU-minute utilization by status × size").show()
    display(plots.table(utilization.philly_placement_util(gm, pj, att),
                        title="Philly: dedicated vs shared servers"))
else:
    display(Markdown("_No Philly GPU-minute table in this store: section skipped._"))

# %%
if has("philly", "host_util"):
    host = st.scan("host_util", trace="philly")
    display(plots.table(utilization.host_util_summary(host), title="Philly: host utilization"))
    plots.util_cdf(utilization.host_util_cdf(host), color="metric", facet=None,
                   title="Philly: host CPU and memory utilization").show()

# %% [markdown]
# ## PAI: GPU request vs usage
#
# PAI (NSDI'22): the median task requests a whole GPU and uses about 3 % of one.

# %%
if has("pai", "tasks"):
    tasks = st.scan("tasks", trace="pai")
    display(plots.table(utilization.pai_request_shares(tasks), title="PAI: GPU requests"))
    display(plots.table(utilization.pai_gpu_type_shares(tasks), title="PAI: GPU types"))
    if has("pai", "sensors"):
        sensors = st.scan("sensors", trace="pai")
        display(plots.table(utilization.pai_request_usage_summary(tasks, sensors),
                            title="PAI: GPU request vs usage per task"))
        plots.cdf(utilization.pai_request_usage_cdf(tasks, sensors), "gpu_pct",
                  color="measure", title="PAI: per-task GPU request vs usage",
                  x_title="% of one GPU (log scale)").show()
else:
    display(Markdown("_No PAI tasks in this store: section skipped._"))

# %% [markdown]
# ### CPU and memory: request vs usage (PAI notebook Fig. 6)
#
# The PAI analysis found CPU and memory over-requested too, though less than GPUs: plans exceed
# usage for 84 % of tasks (CPU) and 96 % (memory). Per instance: requested cores vs cores used,
# requested GB vs mean GB used.

# %%
if has("pai", "tasks") and has("pai", "sensors"):
    tasks, sensors = st.scan("tasks", trace="pai"), st.scan("sensors", trace="pai")
    curves = utilization.pai_cpu_mem_usage_cdf(tasks, sensors)
    for resource, part in curves.partition_by("resource", as_dict=True).items():
        what, unit = resource[0].split(" ", 1)
        plots.cdf(part, "value", color="measure",
                  title=f"PAI: {what} requested vs used per instance",
                  x_title=f"{what} {unit[:-1]}, log scale)").show()
    over = utilization.pai_cpu_mem_usage_summary(tasks, sensors)
    display(plots.table(over, title="PAI: CPU and memory requested vs used per instance"))
    share = dict(over.select("resource", "plan_gt_usage_share").rows())
    display(Markdown(
        f"Here the plan exceeds usage for {100 * share['CPU (cores)']:.0f} % of instances (CPU) "
        f"and {100 * share['memory (GB)']:.0f} % (memory)."))

# %% [markdown]
# ### Machine metrics (PAI notebook Fig. 8)
#
# PAI's machines are rarely I/O-bound: median CPU iowait ≈ 0.003 %, user CPU ≈ 31 % (p90 ≈ 49 %),
# kernel CPU ≈ 9 %, and per-instance network receive p50 ≈ 0.3 Gbps.

# %%
if has("pai", "machine_metric"):
    mm = st.scan("machine_metric", trace="pai")
    plots.cdf(utilization.pai_machine_metric_cdf(mm), "value", color="measure", log_x=False,
              title="PAI: machine utilization (per machine and interval)",
              x_title="utilization (%)").show()
    plots.cdf(utilization.pai_machine_metric_cdf(mm, "network"), "value", color="measure",
              title="PAI: machine network receive",
              x_title="receive rate (Gbit/s, log scale)").show()
    med = utilization.pai_machine_metric_summary(mm)
    display(plots.table(med, title="PAI: machine metrics, median and p90"))
    m = dict(med.select("measure", "median").rows())
    display(Markdown(f"Here the median machine shows {m['user CPU']:.0f} % user CPU, "
                     f"{m['kernel CPU']:.1f} % kernel CPU and {m['I/O wait']:.3f} % I/O wait."))
else:
    display(Markdown("_No PAI machine metrics in this store: section skipped._"))

# %% [markdown]
# ## Published vs measured

# %%
ft = findings_table(st, traces=present, ids=findings.SECTIONS["utilization"],
                    saved=results)
plots.findings_table(ft, title="Utilization: published vs measured")
