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
# Job-level delay = first start − submission (`queue_s`), by cluster, VC, size and user. For
# Philly also the **official per-attempt definition** of the notebook's Fig. 3: every attempt's
# wait (submission → first start, previous end → next start), stale values repeated and zeros
# dropped — next to our clean variant that keeps zeros. For PAI the official task wait (earliest
# instance start − task start) by GPU type and request size.

# %% tags=["parameters"]
store = "data/parquet"
traces = None
clusters = None

# %%
from IPython.display import Markdown, display

import tracekit
from tracekit import plots
from tracekit.analysis import findings, findings_table, queueing, summary, users

st = tracekit.open_store(store)
present, missing = summary.select_traces(st, traces)
display(Markdown(summary.data_banner(st, missing)))
jf = st.scan("jobs", trace=present, cluster=clusters)
tables = set(st.tables)

# %% [markdown]
# ## Job-level queueing

# %%
queueing.queue_summary(jf)

# %%
plots.queue_cdf(queueing.queue_cdf(jf), title="GPU-job queueing delay CDF").show()
plots.queue_cdf(queueing.queue_cdf(jf, scheme="philly"), color=["cluster", "size_bucket"],
                title="Queueing delay CDF by job size").show()

# %%
by_vc = queueing.queue_summary(jf, ["trace", "cluster", "vc"])
plots.bars(by_vc.filter(by_vc["vc"].is_not_null()), "vc", "mean_s", "cluster",
           title="Mean queueing delay per VC", log_y=True, y_title="mean delay (s, log)").show()
by_vc

# %% [markdown]
# ## Users: concentration of queueing

# %%
top_q = users.top_share(jf, "queue_s")
plots.top_share(top_q, title="Top-k % users' share of total queueing").show()
top_q.pivot(on="top_pct", index=["trace", "cluster"], values="share_pct")

# %% [markdown]
# ## Philly: per-attempt delays (official notebook definition vs ours)

# %%
if "philly" in present and "attempts" in tables:
    att = st.scan("attempts", trace="philly")
    pj = st.scan("jobs", trace="philly")
    official = queueing.philly_vc_queue_table(att, pj, official=True)
    display(Markdown("Official (zeros dropped, stale values repeated) — median / p90, minutes:"))
    display(official)
    display(Markdown("Ours (one value per started attempt, zeros kept):"))
    display(queueing.philly_vc_queue_table(att, pj, official=False))
    plots.queue_cdf(queueing.philly_attempt_delay_cdf(att, pj), color="size_bucket",
                    x="delay_s", title="Philly: per-attempt delay CDF (official)").show()
else:
    display(Markdown("_No Philly attempts in this store — section skipped._"))

# %% [markdown]
# ## PAI: task wait by GPU type and request

# %%
if "pai" in present and "tasks" in tables:
    tasks = st.scan("tasks", trace="pai")
    display(queueing.pai_wait_by(tasks, "gpu_type"))
    display(queueing.pai_wait_by(tasks, "request"))
else:
    display(Markdown("_No PAI tasks in this store — section skipped._"))

# %% [markdown]
# ## Published vs measured

# %%
ft = findings_table(st, traces=present, ids=findings.SECTIONS["queueing"])
plots.findings(ft, title="Queueing: published vs measured").show()
ft.select("finding_id", "cluster", "metric", "published", "source", "measured", "agreement")
