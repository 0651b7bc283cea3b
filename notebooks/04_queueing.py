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
# # 04 — Queueing delay
#
# How long do jobs wait, and who waits? Job-level delay (first start − submission) by cluster,
# VC, size and user; Philly's per-attempt delays per VC as the Philly notebook computes them
# (Fig. 3), how large jobs trade waiting for locality (Fig. 4); PAI's task wait by GPU type and
# request size.
#
# Philly's official per-attempt definition: every attempt's wait (submission → first start,
# previous end → next start), stale values repeated and zeros dropped, shown next to our clean
# variant that keeps zeros. PAI's task wait = earliest instance start − task start.

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
from tracekit.analysis import findings, findings_table, queueing, users

st, present, missing = tracekit.reports.open_report(store, traces)
jf = st.scan("jobs", trace=present, cluster=clusters)
tables = set(st.tables)

# %% [markdown]
# ## Job-level queueing
#
# Helios (Table 2): the median GPU job does not wait at all, while the mean wait is 5–30 minutes
# per cluster, driven by a tail of long waits.

# %%
plots.table(queueing.queue_summary(jf), title="GPU-job queueing delay (s)")

# %%
plots.queue_cdf(queueing.queue_cdf(jf), title="GPU-job queueing delay CDF").show()
plots.queue_cdf(queueing.queue_cdf(jf, scheme="philly"), color=["cluster", "size_bucket"],
                title="Queueing delay CDF by job size").show()

# %%
by_vc = queueing.queue_summary(jf, ["trace", "cluster", "vc"]).filter(pl.col("vc").is_not_null())
plots.bars(by_vc, "vc", "mean_s", "cluster", title="Mean queueing delay per VC",
           y_title="mean queueing delay (s)").show()
plots.table(by_vc, title="Queueing delay per VC (s)")

# %% [markdown]
# ## Users: concentration of queueing
#
# Helios (Fig. 9a): the top 1 % of users account for 35–71 % of all GPU-job queueing time.

# %%
top_q = users.top_share(jf, "queue_s")
plots.top_share(top_q, title="Top-k % users' share of total queueing",
                y_title="share of queueing time (%)").show()
plots.table(top_q.pivot(on="top_pct", index=["trace", "cluster"], values="share_pct"),
            title="Share of queueing time (%) of the top k % of users")

# %% [markdown]
# ## Philly: per-attempt delays (official notebook definition vs ours)

# %%
if "philly" in present and "attempts" in tables:
    att = st.scan("attempts", trace="philly")
    pj = st.scan("jobs", trace="philly")
    display(plots.table(queueing.philly_vc_queue_table(att, pj, official=True),
                        title="Official: median / p90 per-attempt delay (min)",
                        subtitle="zeros dropped, stale values repeated"))
    display(plots.table(queueing.philly_vc_queue_table(att, pj, official=False),
                        title="Ours: median / p90 per-attempt delay (min)",
                        subtitle="one value per started attempt, zeros kept"))
    plots.queue_cdf(queueing.philly_attempt_delay_cdf(att, pj), color="size_bucket",
                    x="delay_s", title="Philly: per-attempt delay CDF (official)").show()
else:
    display(Markdown("_No Philly attempts in this store: section skipped._"))

# %% [markdown]
# ### Per-VC delay CDFs (Philly notebook Fig. 3)
#
# The Philly notebook draws one panel per VC: most VCs start 1-GPU attempts within minutes,
# while 5–8-GPU attempts show a step near 3 minutes and p90s of 27–111 minutes; one VC's 1-GPU
# tail reaches about 7,300 minutes.

# %%
if "philly" in present and "attempts" in tables:
    per_vc = queueing.philly_attempt_delay_cdf(att, pj, by="vc")
    plots.queue_cdf(per_vc, color="size_bucket", facet="vc", x="delay_s",
                    title="Philly: per-attempt delay CDF per VC (official)").show()
    med = queueing.philly_vc_queue_table(att, pj, per_vc=False)
    display(Markdown("Here the pooled median non-zero delay is "
                     + ", ".join(f"{b} GPUs {m:.1f} min"
                                 for b, m in med.select("size_bucket", "median_min").rows())
                     + "."))

# %% [markdown]
# ### Locality: servers per job vs waiting (Philly notebook Fig. 4)
#
# The Philly notebook plots, for jobs of 5 or more GPUs, the servers their first attempt was
# spread over against its queueing delay: 5–8-GPU jobs land on 1–8 servers and larger jobs on up
# to 32, and jobs that waited longer were not better packed.

# %%
if "philly" in present and "attempts" in tables:
    loc = queueing.philly_locality(att, pj)
    if loc.height:
        # a job that did not wait sits at 1 s on the log axis
        plots.scatter(loc.with_columns(pl.col("queue_s").clip(lower_bound=1.0)), "servers",
                      "queue_s", "size_bucket", title="Philly: servers per job vs queueing delay",
                      x_title="servers of the first attempt",
                      y_title="queueing delay (s, log scale)", log_y=True).show()
        spread = queueing.philly_locality_summary(att, pj)
        display(plots.table(spread.drop("size_rank"),
                            title="Philly: servers per job and queueing delay by size"))
        display(Markdown("Here " + "; ".join(
            f"{b}-GPU jobs ran on {lo}–{hi} servers and waited a median {p:,.0f} s when packed "
            f"on the fewest servers" for b, lo, hi, p in spread.select(
                "size_bucket", "servers_min", "servers_max", "queue_median_packed_s").rows())
            + "."))
    else:
        display(Markdown("_No Philly job of 5 or more GPUs in this store._"))

# %% [markdown]
# ## PAI: task wait by GPU type and request
#
# PAI (NSDI'22): tasks on high-end GPUs wait longer (V100 median 113 s, p90 3.8 h) than on
# low-end ones (median 11 s).

# %%
if "pai" in present and "tasks" in tables:
    tasks = st.scan("tasks", trace="pai")
    display(plots.table(queueing.pai_wait_by(tasks, "gpu_type"),
                        title="PAI: task wait by GPU type (s)"))
    display(plots.table(queueing.pai_wait_by(tasks, "request"),
                        title="PAI: task wait by GPU request (s)"))
else:
    display(Markdown("_No PAI tasks in this store: section skipped._"))

# %% [markdown]
# ## Published vs measured

# %%
ft = findings_table(st, traces=present, ids=findings.SECTIONS["queueing"],
                    saved=results)
plots.findings_table(ft, title="Queueing: published vs measured")
