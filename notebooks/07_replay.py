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
# # 07 — Scheduler replay: FIFO, SJF, QSSF, SRTF, Tiresias, Lucid-style packing
#
# How much would a different scheduler, or a duration predictor, shorten job completion times on
# these clusters? Every policy replays the same jobs on the same capacity; the result is compared
# with the published gains of Helios' QSSF, the PAI simulator and Lucid.
#
# The replay study (`tracekit.replay.studies.replay_study_runs`, `docs/replay.md`) replays the
# jobs each cluster received after the duration predictors' training cut-off (so predictions
# are out of sample) on the cluster's capacity, once per policy: FIFO; SJF and SRTF with the true
# durations (oracle); Tiresias, which needs no durations; QSSF and SJF with each trained
# predictor (LightGBM, the user's past median); and the Lucid-style packing policy with
# LightGBM. `make reports` runs it once and writes `reports/replay_study.csv`; this notebook
# draws that table (or runs the study itself when opened on its own).

# %% tags=["parameters"]
store = "data/parquet"
traces = "philly,helios,pai"
clusters = None
seed = 7
results = None  # the reports folder: replay_study.csv and replay_jobs.parquet are read from it

# %%
from datetime import timedelta
from pathlib import Path

import polars as pl
from IPython.display import Markdown, display

import tracekit
from tracekit import plots
from tracekit.analysis import queueing, scheduling, summary
from tracekit.replay import replay_from_store, sweep
from tracekit.replay.studies import (
    STUDY_MODE,
    held_out_inputs,
    held_out_start,
    published_results,
    replay_study_runs,
)

st, present, missing = tracekit.reports.open_report(store, traces)

# `make reports` ran the study already: read its tables instead of replaying again.
saved = Path(results) if results else None
if saved and (saved / "replay_study.csv").is_file() and (saved / "replay_jobs.parquet").is_file():
    runs = pl.read_csv(saved / "replay_study.csv").filter(pl.col("trace").is_in(present))
    per_job = pl.read_parquet(saved / "replay_jobs.parquet").filter(pl.col("trace").is_in(present))
else:
    study = replay_study_runs(st, traces=present, seed=seed)
    runs, per_job = study.summary, study.jobs
if clusters:
    runs = runs.filter(pl.col("cluster").is_in(clusters))
    per_job = per_job.filter(pl.col("cluster").is_in(clusters))
runs, per_job = scheduling.run_label(runs), scheduling.run_label(per_job)

# %% [markdown]
# ## Every policy on every cluster
#
# One row per (trace, cluster, policy, predictor): jobs replayed, mean and p99 job completion
# time (JCT = queueing + run time), mean queueing delay, and the share of the cluster's
# GPU-seconds allocated while jobs were arriving.

# %%
plots.table(runs.select("trace", "cluster", "run", "jobs", "jct_mean_s", "jct_p99_s",
                        "queue_mean_s", "utilization"),
            title="Replay study: every policy on the same held-out jobs",
            labels={"run": "policy (durations)", "jct_mean_s": "mean JCT (s)",
                    "jct_p99_s": "p99 JCT (s)", "queue_mean_s": "mean queue (s)"})

# %%
plots.bars(runs.with_columns((pl.col("trace") + " / " + pl.col("cluster")).alias("where")),
           "run", "jct_mean_s", facet="where", title="Mean JCT by policy, per cluster",
           x_title="policy (durations)", y_title="mean JCT (s)").show()

# %% [markdown]
# ## Ours beside the published numbers
#
# Published: Helios (SC'21) Table 3, FIFO's mean JCT over SJF's per cluster (3.07 / 2.87 / 6.59
# / 1.49 for Venus / Earth / Saturn / Uranus, September 2020); the Helios artifact's Philly
# replay, FIFO 86,072 s → QSSF 37,324 s mean JCT (2.31×); the PAI simulator's log, FIFO 7,918 s
# vs SJF-oracle 5,989 s (1.32×). Ours come from another window, another scale and, on the sample,
# synthetic jobs replayed with EASY backfill and first-fit placement (next section): the
# direction and rough size should agree, not the digits.

# %%
side = scheduling.beside_published(runs, published_results())
plots.table(side.select("trace", "cluster", "run", "ours", "published", "reference"),
            title="FIFO's mean JCT over each policy's: ours vs published",
            labels={"run": "policy (durations)"})

# %%
if side.height:
    long = side.unpivot(index=["cluster", "run"], on=["ours", "published"], variable_name="by",
                        value_name="ratio")
    plots.bars(long.with_columns((pl.col("cluster") + ": " + pl.col("run")).alias("what")),
               "what", "ratio", "by", log_y=False,
               title="FIFO's mean JCT over the policy's: ours vs published",
               x_title="cluster: policy", y_title="FIFO mean JCT / policy mean JCT").show()
    display(Markdown("Here " + "; ".join(
        f"{c} {r}: {o:.2f}× (published {p:.2f}×)"
        for c, r, o, p in side.select("cluster", "run", "ours", "published").rows()) + "."))

# %% [markdown]
# ## The replay mode: head-of-line as published, or EASY backfill and first fit on a scaled sample
#
# The published simulators block at the head of the queue (no backfill) and consolidate
# multi-GPU jobs on whole nodes, on the real, full-size clusters. A synthetic sample is scaled:
# about a tenth of the GPUs, with the published job sizes. Under head-of-line blocking one job
# sized for the full cluster idles the scaled pool until whole nodes drain, so FIFO queues far
# longer than on the real cluster. The study therefore replays a sample's FIFO, SJF and QSSF with
# EASY backfill, and places jobs first fit: EASY reserves a number of GPUs for the job at the
# head, which it can only count on if the job may take any free GPUs (each row's `mode` says so).
# Real data is replayed as published. Below, the sample's jobs in both modes, beside the
# published numbers.

# %%
synthetic = [t for t in present if st.is_synthetic(t)]
if synthetic:
    as_published = replay_study_runs(st, traces=synthetic, seed=seed, mode=STUDY_MODE,
                                     runs=(("fifo", "none"), ("sjf", "oracle"),
                                           ("qssf", "lgbm"))).summary
    if clusters:
        as_published = as_published.filter(pl.col("cluster").is_in(clusters))
    ours = runs.filter(pl.col("trace").is_in(synthetic))
    fifo_mode = ours.filter(pl.col("policy") == "fifo")["mode"]
    label = "; ".join(fifo_mode[0].split("; ")[:2]) if fifo_mode.len() else "the study's mode"
    modes = scheduling.modes_beside_published(
        {f"{label} (the study)": ours, "head-of-line (as published)": as_published},
        published_results())
    display(plots.table(modes, title="FIFO on the sample in both modes, beside the published",
                        labels={"fifo_jct_mean_s": "FIFO mean JCT (s)",
                                "published_fifo_jct_mean_s": "published FIFO mean JCT (s)",
                                "fifo_over_sjf": "FIFO / SJF (oracle)",
                                "published_fifo_over_sjf": "published FIFO / SJF"}))
    hol = scheduling.beside_published(as_published, published_results())
    display(plots.table(hol.select("trace", "cluster", "run", "ours", "published"),
                        title="Head-of-line (as published): FIFO's mean JCT over each policy's",
                        labels={"run": "policy (durations)"}))
    gain = {mode: scheduling.over_policy(frame).filter(pl.col("run") == "qssf (lgbm)")
            for mode, frame in (("study", ours), ("hol", as_published))}
    both = gain["study"].join(gain["hol"], on=["trace", "cluster"], suffix="_hol")
    display(Markdown("FIFO's mean JCT over QSSF (LightGBM)'s, in the study's mode and "
                     "head-of-line: " + "; ".join(
                         f"{c} {a:.2f}× and {b:.2f}×" for c, a, b in
                         both.select("cluster", "ratio", "ratio_hol").rows()) + "."))
else:
    display(Markdown("Every trace here is real data: the study replays it as published."))

# %% [markdown]
# The mode matters to the prediction-driven policies too. With EASY backfill each policy
# reserves with its own estimate: FIFO and SJF (oracle) with the true durations, QSSF and SJF
# with their predictions. A running job that has outlived its prediction gets its prediction
# doubled until its end lies ahead: taking the passed end at its word would put the head's
# reservation "now" and stop all backfill behind it. Under head-of-line blocking with
# consolidated placement, SJF (oracle) suffers most, because it puts short jobs first whatever
# their width, and a wide head job waits for whole idle nodes on a pool of a dozen: there QSSF,
# which orders by GPU time, can beat SJF (oracle) (the ratios above: above SJF's means QSSF is
# faster).

# %% [markdown]
# ## JCT distributions and per-VC queueing (Lucid)
#
# Lucid (Hu et al., ASPLOS'23) compares schedulers on the Helios clusters by the whole
# distribution of job completion times and by the mean queueing delay of each VC, because a mean
# JCT can hide that a policy helps short jobs and starves large ones; it reports up to 1.3× lower
# mean JCT than Tiresias. Below: the JCT CDF of each policy per cluster and the mean queueing
# delay per VC under four of them.

# %%
headline = per_job.filter(pl.col("predictor").is_in(scheduling.MAIN_PREDICTORS))
cdfs = scheduling.jct_cdf(headline)
four = headline.filter(pl.col("run").is_in(["fifo", "sjf (oracle)", "qssf (lgbm)",
                                            "lucid (lgbm)"]))
per_vc = queueing.queue_summary(four, ["trace", "cluster", "vc", "run"], gpu_only=False)
for (trace, cluster), part in cdfs.partition_by(["trace", "cluster"], as_dict=True).items():
    plots.cdf(part, "jct_s", color="run", title=f"{trace}/{cluster}: JCT CDF per policy",
              x_title="job completion time (s, log scale)").show()
    vcs = per_vc.filter((pl.col("trace") == trace) & (pl.col("cluster") == cluster))
    if vcs["vc"].n_unique() > 1:
        plots.bars(vcs, "vc", "mean_s", "run",
                   title=f"{trace}/{cluster}: mean queueing delay per VC",
                   x_title="virtual cluster", y_title="mean queueing delay (s)").show()
lucid = scheduling.over_policy(runs, baseline="tiresias").filter(pl.col("policy") == "lucid")
if lucid.height:
    display(Markdown("Here Tiresias' mean JCT over Lucid's is " + ", ".join(
        f"{t}/{c} {r:.2f}×" for t, c, r in lucid.select("trace", "cluster", "ratio").rows())
        + " (Lucid: up to 1.3×)."))

# %% [markdown]
# ## How good must the predictor be? QSSF's gain over FIFO vs prediction error
#
# Predictions are the true duration times a log-normal error of spread σ (σ = 0 is the oracle;
# σ = 1 means a typical factor-of-e error). The LightGBM model of notebook 06 has a median absolute
# log error around 0.4–1.5 on the sample, i.e. σ ≈ 0.6–2.

# %%
for trace in present:
    cluster = summary.main_cluster(st, trace, clusters)
    jobs, cl = held_out_inputs(st, trace, cluster)
    grid = sweep.sensitivity_grid(jobs, cl, sigmas=(0.0, 0.5, 1.0, 2.0), seeds=(seed, seed + 1))
    plots.lines(grid.with_columns(pl.format("noise seed {}", "seed").alias("draw")), "sigma",
                "jct_gain", "draw", markers=True,
                title=f"{trace}/{cluster}: QSSF gain over FIFO vs σ",
                x_title="prediction error σ (log-normal)",
                y_title="1 − JCT(QSSF) / JCT(FIFO)").show()

# %% [markdown]
# ## PAI: GPU sharing, GPU types, reserving-and-packing vs load-balancing, Lucid-style packing
#
# PAI requests fractional GPUs on typed machines. The shared-GPU model of `tracekit.replay`
# models every GPU, packs fractional requests (never more than one GPU's worth per GPU) and slows
# colocated jobs (rates never above 1). NSDI'22 compares reserving-and-packing with
# load-balancing; Lucid packs pairs of jobs whose utilization allows it (`docs/replay.md`, "Shared
# GPUs and Lucid", lists every assumption).

# %%
if "pai" in present:
    # one day of the held-out window (LightGBM predictions for Lucid) keeps this section quick
    start = held_out_start(st, "pai", "pai", ["lgbm"])
    if start is None:
        start = st.scan("jobs", trace="pai").select(pl.col("submit_time").min()).collect().item()
    window = {"start": start, "end": start + timedelta(days=1), "seed": seed,
              "resource_model": "shared"}
    rows = []
    for placement in ("pack", "balance"):
        for affinity in ("strict", "any"):
            res = replay_from_store(st, "pai", "pai", policy="fifo", placement=placement,
                                    type_affinity=affinity, **window)
            rows.append(res.summary().filter(pl.col("vc") == "all").with_columns(
                pl.lit(f"fifo, {placement}").alias("run"), pl.lit(affinity).alias("type_affinity")))
    if "lgbm" in runs.filter(pl.col("trace") == "pai")["predictor"].to_list():
        lucid_run = replay_from_store(st, "pai", "pai", policy="lucid", prediction_model="lgbm",
                                      **window)
        rows.append(lucid_run.summary().filter(pl.col("vc") == "all").with_columns(
            pl.lit("lucid (lgbm)").alias("run"), pl.lit("strict").alias("type_affinity")))
    shared = pl.concat(rows, how="diagonal_relaxed")
    display(plots.table(
        shared.select("run", "type_affinity", "jobs", "jct_mean_s", "queue_mean_s",
                      "jct_p99_s", "utilization", "colocated_share", "mean_stretch"),
        title="PAI: placement and packing on one day of submissions",
        labels={"run": "policy, placement", "type_affinity": "GPU type"}))
else:
    display(Markdown("PAI is not in this store: sharing section skipped."))
