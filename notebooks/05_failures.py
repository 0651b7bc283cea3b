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
# # 05 — Failures, cancellations and retries
#
# Final-status shares by job count and by GPU time, completion by job size, the GPU time spent on
# jobs that did not complete, how long jobs run before failing, Philly scheduling attempts, and
# users' completion rates. Status mapping: docs/schema.md (Helios TIMEOUT/NODE_FAIL = failed).

# %% tags=["parameters"]
store = "data/parquet"
traces = None
clusters = None

# %%
from IPython.display import Markdown, display

import tracekit
from tracekit import plots
from tracekit.analysis import failures, findings, findings_table, summary, users

st = tracekit.open_store(store)
present, missing = summary.select_traces(st, traces)
display(Markdown(summary.data_banner(st, missing)))
jf = st.scan("jobs", trace=present, cluster=clusters)

# %% [markdown]
# ## Status shares: by count and by GPU time

# %%
shares = failures.status_shares(jf)
plots.status_bars(shares, "job_share", x=["trace", "cluster"], title="Share of GPU jobs").show()
plots.status_bars(shares, "gpu_time_share", x=["trace", "cluster"],
                  title="Share of GPU time").show()
shares

# %%
failures.wasted_gpu_time(jf)

# %% [markdown]
# ## Completion falls with job size (Helios Fig. 9b)

# %%
by_size = failures.status_by_size(jf, ["trace"])
for t, part in by_size.partition_by("trace", as_dict=True).items():
    plots.status_bars(part, "job_share", x="size_bucket",
                      title=f"{t[0]}: status by job size (GPUs)").show()

# %% [markdown]
# ## Time to failure

# %%
plots.duration_cdf(failures.time_to_failure_cdf(jf), color=["cluster", "status"],
                   title="Run time before the final status").show()
failures.time_to_failure(jf, qs=(0.5, 0.9))

# %% [markdown]
# ## Philly attempts and retries

# %%
att_stats = failures.attempt_stats(jf)
if att_stats.height:
    display(att_stats)
else:
    display(Markdown("_No attempt counts in this store (Philly only) — section skipped._"))

# %% [markdown]
# ## Users' completion rates (Helios Fig. 9b histogram)

# %%
hist = users.completion_rate_histogram(jf)
plots.bars(hist, "bin_lo", "n_users", ["trace", "cluster"],
           title="Users by GPU-job completion rate (bin lower edge)").show()

# %% [markdown]
# ## Published vs measured

# %%
ft = findings_table(st, traces=present, ids=findings.SECTIONS["failures"])
plots.findings(ft, title="Failures: published vs measured").show()
ft.select("finding_id", "cluster", "metric", "published", "source", "measured", "agreement")
