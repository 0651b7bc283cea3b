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
# # 06 — Job-duration prediction at submit time
#
# How well can a job's duration be predicted when it is submitted, and from what? Four
# estimators, scored on a temporal hold-out, beside the published accuracy of Helios' and PAI's
# predictors.
#
# Helios' QSSF and Lucid schedule by a *predicted* duration. How good can a predictor be from what
# is known when a job is submitted? For each trace we build the submit-time features of
# `tracekit.predict.build_features` (user history of *finished* jobs only, recurring-group history,
# VC, size, hour/weekday, cluster load), train on jobs that ended before a cut-off and score the
# jobs submitted after it (a temporal split — never a random one), for four estimators:
#
# * `global-median` — one number for everybody;
# * `user-median` — the Tiresias/Helios "naive" estimator (the user's past median);
# * `helios-mix` — Helios-style history mixed with a GBDT;
# * `lgbm` — LightGBM on log duration, with q10/q90 quantile models.
#
# Published references: Helios' estimator (SC'21) has about 50 % of jobs within 50 % error;
# PAI's CART regressor on recurring groups (NSDI'22) 78 % of instances within 25 %. Each trace is
# compared with its own paper only. Censored jobs are never trained on or scored
# (`docs/predict.md`).

# %% tags=["parameters"]
store = "data/parquet"
traces = "philly,helios,pai"
clusters = None
seed = 7

# %%
import polars as pl
from IPython.display import display

import tracekit
from tracekit import plots, predict
from tracekit.analysis import summary

st, present, missing = tracekit.reports.open_report(store, traces)


results = {}
for trace in present:
    cluster = summary.main_cluster(st, trace, clusters)
    features = predict.build_features(st.scan("jobs", trace=trace, cluster=cluster))
    metrics, scored, fitted = predict.compare_models(features, seed=seed)
    results[trace] = {"cluster": cluster, "metrics": metrics, "scored": scored, "fitted": fitted}

# %% [markdown]
# ## Held-out accuracy, all estimators
#
# `medae_log` is the median absolute error of log duration (0.69 = a factor of 2); `spearman`
# ranks, which is what SJF-like policies consume; `within_XXpct` the share of jobs whose
# prediction is within XX % of the truth.

# %%
cols = ["model", "n", "medae_log", "r2_log", "spearman", "within_25pct", "within_50pct", "mae_s"]
for trace, res in results.items():
    display(plots.table(res["metrics"].filter(pl.col("split") == "test").select(cols),
                        title=f"{trace} / {res['cluster']}: held-out accuracy"))

# %% [markdown]
# ## Error profile against the published ones

# %%
# Each trace beside its own paper's profile (PAI's is per instance of recurring tasks).
PUBLISHED = {"helios": ("helios_published", "Helios SC'21"),
             "pai": ("pai_published", "PAI NSDI'22")}
for trace, res in results.items():
    scored = res["scored"]
    profile = predict.error_profile(scored["duration_s"], scored["pred_lgbm"])
    column, paper = PUBLISHED.get(trace, (None, None))
    shown = ["threshold_pct", "share_within"] + ([column] if column else [])
    display(plots.table(profile.select(shown),
                        title=f"{trace}: LightGBM, share of jobs within X % error"))
    long = profile.select(shown).unpivot(index="threshold_pct", variable_name="source",
                                         value_name="share").drop_nulls("share")
    long = long.with_columns(pl.col("source").replace({"share_within": "tracekit LightGBM",
                                                       column or "": f"published ({paper})"}))
    plots.bars(long, "threshold_pct", "share", "source", percent_y=True, log_y=False,
               title=f"{trace}: share of jobs within X % error",
               x_title="relative error at most (% of the true duration)",
               y_title="share of jobs (%)").show()


# %% [markdown]
# ## What the model uses

# %%
for trace, res in results.items():
    imp = predict.feature_importance(res["fitted"]["lgbm"]).head(12)
    plots.bars(imp, "feature", "share", percent_y=True, log_y=False,
               title=f"{trace}: LightGBM gain importance", x_title="feature",
               y_title="share of the total gain (%)").show()

# %% [markdown]
# ## Where predictions fail: new users and rare sizes

# %%
for trace, res in results.items():
    for segment in ("history_bucket", "size_bucket"):
        seg = predict.error_by_segment(res["scored"], segment, y_pred="pred_lgbm")
        display(plots.table(seg.select(segment, "n", "medae_log", "spearman", "within_50pct"),
                            title=f"{trace}: error by {segment.replace('_', ' ')}"))

# %% [markdown]
# ## The achievable ceiling on the synthetic sample
#
# The sample gives durations a known structure: jobs of one recurring group share a typical
# duration, with stated log-normal noise around it. An oracle that knows each group's typical
# duration therefore has a median absolute log error equal to the noise — no predictor can do
# better on this data (docs/sample.md). On real traces there is no such number.

# %%
rows = []
for trace, res in results.items():
    info = st.sample_info(trace) or {}
    ceiling = info.get("noise_ceiling_median_abs_log_error", {})
    best = res["metrics"].filter(pl.col("split") == "test").sort("medae_log")
    rows.append(
        {
            "trace": trace,
            "cluster": res["cluster"],
            "noise_ceiling_medae_log": ceiling.get(res["cluster"], ceiling.get("all")),
            "best_model": best["model"][0],
            "best_medae_log": best["medae_log"][0],
        }
    )
plots.table(pl.DataFrame(rows), title="Best model vs the sample's noise ceiling")
