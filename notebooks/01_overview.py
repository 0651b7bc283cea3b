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
# # 01 — Overview: what is in the store and how close it is to the papers
#
# Which traces and clusters the store holds, where every partition came from (real download or
# synthetic sample), the data-quality repairs made while reading, a cross-trace summary in the
# spirit of Helios' Table 2, and every measurable published number beside the measured one.

# %% tags=["parameters"]
store = "data/parquet"
traces = None
clusters = None
results = None  # the reports folder: findings.csv is read from it, not measured again

# %%
from IPython.display import Markdown, display

import tracekit
from tracekit import plots
from tracekit.analysis import failures, findings, findings_table, summary

st, present, missing = tracekit.reports.open_report(store, traces)

# %% [markdown]
# ## Data provenance
#
# Each partition (trace / cluster) with its origin, the raw files it was read from and their
# checksums.

# %%
plots.table(summary.provenance(st), title="Partitions and their raw sources")

# %%
rows = st.rows().pivot(on="table", index=["trace", "cluster"], values="rows")
plots.table(rows, title="Rows per table")

# %%
quality = st.quality()
if quality.height:
    display(plots.table(quality, title="Repairs and drops counted while reading",
                        subtitle="rule = what was repaired; n = rows affected"))
else:
    display(Markdown("No repairs or drops were needed while reading."))

# %% [markdown]
# ## Cross-trace summary (GPU jobs unless stated)
#
# `first` and `last submission` bound the jobs in the store; `days` is the span between them
# (a few early submissions can stretch it, so both dates are shown).

# %%
jobs = st.scan("jobs", trace=present, cluster=clusters)
ov = summary.overview(jobs)
plots.table(
    ov.select("trace", "cluster", "n_jobs", "n_gpu_jobs", "n_users", "first_submit",
              "last_submit", "days", "mean_gpus", "gpu_hours", "median_duration_s",
              "mean_duration_s", "median_queue_s", "mean_queue_s", "completed_share"),
    title="Overview",
    labels={"n_jobs": "jobs", "n_gpu_jobs": "GPU jobs", "n_users": "users",
            "first_submit": "first submission", "last_submit": "last submission",
            "mean_gpus": "mean GPUs", "gpu_hours": "GPU hours",
            "median_duration_s": "median duration (s)", "mean_duration_s": "mean duration (s)",
            "median_queue_s": "median queue (s)", "mean_queue_s": "mean queue (s)",
            "completed_share": "completed (share)"},
)

# %%
shares = failures.status_shares(jobs)
plots.status_bars(shares, "gpu_time_share", x=["trace", "cluster"],
                  title="GPU time by final status", x_title="trace / cluster").show()

# %% [markdown]
# ## Published vs measured: every measurable finding
#
# One row per finding and cluster. One rule gives every verdict (`docs/analysis.md`): on the
# ratio measured / published, *agree* within the finding's tolerance, *close* within 1.5× (never
# beyond), else *differs*; for percentages and clock hours the same on the difference, with
# *close* up to 1.5× the tolerance. *n/a*: nothing published, or nothing measurable in this store.
# The `source` tag says where the published number comes from (defined below); `reference` names
# the paper's figure or table.

# %%
ft = findings_table(st, traces=present, saved=results)
verdict = "verdict" if "verdict" in ft.columns else "agreement"
counts = ft.group_by(["trace", verdict]).len().sort(["trace", verdict])
plots.table(counts.pivot(on=verdict, index="trace", values="len").fill_null(0),
            title="Findings by verdict")

# %%
plots.findings_table(ft, title="All findings: published vs measured")

# %%
plots.table(findings.source_tags(), title="Source tags: where each published number comes from")
