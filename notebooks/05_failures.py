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
# How many jobs fail or are cancelled, and how much GPU time do they take with them? Final-status
# shares by job count and by GPU time, completion by job size, how long jobs run before their
# final status, Helios' CPU jobs, Philly's scheduling attempts, and users' completion rates.
# Status mapping: `docs/schema.md` (Helios TIMEOUT and NODE_FAIL count as failed).

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
from tracekit.analysis import failures, findings, findings_table, users

st, present, missing = tracekit.reports.open_report(store, traces)
jf = st.scan("jobs", trace=present, cluster=clusters)

# %% [markdown]
# ## Status shares: by count and by GPU time
#
# Philly (ATC'19, Table 6): killed and failed jobs are 31 % of jobs but 55 % of GPU time; Helios:
# 49 % of GPU time goes to jobs that do not complete.

# %%
shares = failures.status_shares(jf)
plots.status_bars(shares, "job_share", x=["trace", "cluster"], title="Final status of GPU jobs",
                  x_title="trace / cluster").show()
plots.status_bars(shares, "gpu_time_share", x=["trace", "cluster"],
                  title="GPU time by final status", x_title="trace / cluster").show()
plots.table(shares, title="Status shares")

# %%
plots.table(failures.wasted_gpu_time(jf), title="GPU time of jobs that did not complete")

# %% [markdown]
# ## Completion falls with job size (Helios Fig. 9b)
#
# Helios: 67 % of 1-GPU jobs complete but only 21 % of jobs with 64 GPUs or more; cancellation
# rises with size.

# %%
by_size = failures.status_by_size(jf, ["trace"])
for t, part in by_size.partition_by("trace", as_dict=True).items():
    plots.status_bars(part, "job_share", x="size_bucket", x_title="job size (GPUs)",
                      title=f"{t[0]}: final status by job size").show()

# %% [markdown]
# ## Time to failure

# %%
plots.duration_cdf(failures.time_to_failure_cdf(jf), color=["cluster", "status"],
                   title="Run time before the final status").show()
plots.table(failures.time_to_failure(jf, qs=(0.5, 0.9)),
            title="Run time before the final status (s)")

# %% [markdown]
# ## Helios CPU jobs (Fig. 7a)
#
# Helios: CPU jobs complete far more often than GPU jobs (90.9 % vs 62.4 % of jobs).

# %%
if "helios" in present:
    hj = st.scan("jobs", trace="helios", cluster=clusters)
    both = failures.status_by_kind(hj)
    plots.status_bars(both, "job_share", x=["cluster", "kind"], x_title="cluster / job kind",
                      title="Helios: final status of CPU vs GPU jobs (Fig. 7a)").show()
    rate = failures.status_by_kind(hj, by="trace").filter(pl.col("status") == "completed")
    display(Markdown("Here " + ", ".join(f"{100 * r:.0f} % of {k}" for k, r in
                                         rate.select("kind", "job_share").rows())
                     + " complete."))

# %% [markdown]
# ## Philly attempts and retries

# %%
att_stats = failures.attempt_stats(jf)
if att_stats.height:
    display(plots.table(att_stats, title="Scheduling attempts per job"))
else:
    display(Markdown("_No attempt counts in this store (Philly only): section skipped._"))

# %% [markdown]
# ## Users' completion rates (Helios Fig. 9b histogram)
#
# Helios: users' GPU-job completion rates spread over the whole range rather than clustering.

# %%
hist = users.completion_rate_histogram(jf)
plots.bars(hist.with_columns(pl.col("bin_lo") * 100),
           "bin_lo", "n_users", ["trace", "cluster"], log_y=False,
           title="Users by GPU-job completion rate",
           x_title="GPU-job completion rate (%, bin from)", y_title="users").show()

# %% [markdown]
# ## Published vs measured

# %%
ft = findings_table(st, traces=present, ids=findings.SECTIONS["failures"],
                    saved=results)
plots.findings_table(ft, title="Failures: published vs measured")
