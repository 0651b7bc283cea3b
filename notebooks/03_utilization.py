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
# * **Helios** — *allocation*: running GPUs / capacity per minute (official definition: minutes
#   truncated, start ≤ t ≤ end inclusive, clipped at the day's capacity), computed by an event
#   sweep and averaged per hour, weekday, month and VC.
# * **Philly** — nvidia-smi utilization per GPU-minute by final status × job size, dedicated vs
#   shared servers, and host CPU / memory.
# * **PAI** — per-task GPU request vs measured usage, fractional requests, GPU types.
#
# Never compare these numbers across traces: they measure different things.

# %% tags=["parameters"]
store = "data/parquet"
traces = None
clusters = None

# %%
from IPython.display import Markdown, display

import tracekit
from tracekit import plots
from tracekit.analysis import findings, findings_table, summary, utilization

st = tracekit.open_store(store)
present, missing = summary.select_traces(st, traces)
display(Markdown(summary.data_banner(st, missing)))


def has(trace: str, table: str) -> bool:
    """True when the store has rows of ``table`` for ``trace`` (and it was requested)."""
    rows = st.rows()
    sel = rows.filter((rows["trace"] == trace) & (rows["table"] == table) & (rows["rows"] > 0))
    return trace in present and sel.height > 0


# %% [markdown]
# ## Helios: allocation utilization

# %%
if has("helios", "capacity"):
    hj = st.scan("jobs", trace="helios", cluster=clusters)
    hcap = st.scan("capacity", trace="helios", cluster=clusters)
    hourly = utilization.allocation_series(hj, hcap, freq="1h")
    daily = utilization.allocation_series(hj, hcap, freq="1d")
    plots.allocation_timeseries(daily, title="Helios: allocated GPUs / capacity (daily)").show()
    display(utilization.allocation_profile(hourly, "all"))
else:
    display(Markdown("_No Helios jobs + capacity in this store — section skipped._"))

# %%
if has("helios", "capacity"):
    prof = utilization.allocation_profile(hourly, "hour")
    plots.hourly_profile(prof, "util", title="Helios: allocation by local hour",
                         y_title="allocation (%)", percent_y=True).show()
    display(utilization.allocation_profile(hourly, "month").pivot(
        on="cluster", index="month", values="util"))

# %%
if has("helios", "capacity"):
    split = utilization.allocation_series(hj, hcap, by="size_class", freq="1d")
    plots.allocation_timeseries(split, color=["cluster", "size_class"],
                                title="Helios: capacity used by single- vs multi-GPU jobs").show()
    vc = utilization.allocation_series(hj, hcap, by="vc", freq="1d")
    vc_mean = utilization.allocation_profile(vc, "all", by="vc")
    plots.bars(vc_mean, "vc", "util", "cluster", title="Helios: mean allocation per VC").show()

# %% [markdown]
# ## Philly: GPU utilization per GPU-minute

# %%
if has("philly", "job_gpu_minutes"):
    pj = st.scan("jobs", trace="philly")
    gm = st.scan("job_gpu_minutes", trace="philly")
    att = st.scan("attempts", trace="philly") if has("philly", "attempts") else None
    display(utilization.philly_gpu_util(gm, pj))
    plots.util_cdf(utilization.philly_gpu_util_cdf(gm, pj),
                   title="Philly: per-GPU-minute utilization by status × size").show()
    display(utilization.philly_placement_util(gm, pj, att))
else:
    display(Markdown("_No Philly GPU-minute table in this store — section skipped._"))

# %%
if has("philly", "host_util"):
    host = st.scan("host_util", trace="philly")
    display(utilization.host_util_summary(host))
    plots.util_cdf(utilization.host_util_cdf(host), color="metric", facet=None,
                   title="Philly: host CPU and memory utilization").show()

# %% [markdown]
# ## PAI: GPU request vs usage

# %%
if has("pai", "tasks"):
    tasks = st.scan("tasks", trace="pai")
    display(utilization.pai_request_shares(tasks))
    display(utilization.pai_gpu_type_shares(tasks))
    if has("pai", "sensors"):
        sensors = st.scan("sensors", trace="pai")
        display(utilization.pai_request_usage_summary(tasks, sensors))
        plots.cdf(utilization.pai_request_usage_cdf(tasks, sensors), "gpu_pct",
                  color="measure", title="PAI: per-task GPU request vs usage",
                  x_title="% of one GPU (log)").show()
else:
    display(Markdown("_No PAI tasks in this store — section skipped._"))

# %% [markdown]
# ## Published vs measured

# %%
ft = findings_table(st, traces=present, ids=findings.SECTIONS["utilization"])
plots.findings(ft, title="Utilization: published vs measured").show()
ft.select("finding_id", "cluster", "metric", "published", "source", "measured", "agreement")
