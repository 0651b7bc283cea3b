"""Duration models, metrics and temporal evaluation on a structured synthetic frame."""

from __future__ import annotations

import math

import numpy as np
import polars as pl
import pytest
from sklearn.base import clone

from tracekit.predict import (
    GlobalMedianRegressor,
    HeliosMixRegressor,
    LGBMDurationRegressor,
    UserMedianRegressor,
    add_segments,
    default_train_until,
    error_by_segment,
    error_profile,
    evaluate_rolling,
    evaluate_temporal,
    feature_importance,
    make_model,
    regression_metrics,
    temporal_split,
)
from tracekit.predict.features import build_features
from tracekit.predict.synth import make_jobs

SMALL = {"n_estimators": 120, "quantile_estimators": 60, "num_leaves": 31}


@pytest.fixture(scope="module")
def feats() -> pl.DataFrame:
    return build_features(make_jobs(8_000, n_users=120, days=40, seed=1))


def test_regression_metrics_known_values() -> None:
    y = np.array([100.0, 200.0, 400.0, 800.0])
    perfect = regression_metrics(y, y)
    assert perfect["medae_log"] == 0.0 and perfect["r2_log"] == 1.0
    assert perfect["spearman"] == pytest.approx(1.0)
    assert perfect["within_10pct"] == 1.0 and perfect["n"] == 4
    double = regression_metrics(y, 2 * y)
    assert double["medae_log"] == pytest.approx(math.log(2))
    assert double["mae_s"] == pytest.approx(375.0)
    assert double["within_50pct"] == 0.0 and double["within_100pct"] == 1.0
    flat = regression_metrics(y, np.full(4, 300.0))
    assert math.isnan(flat["spearman"])
    assert regression_metrics([], [])["n"] == 0


def test_split_respects_censoring(feats: pl.DataFrame) -> None:
    t = default_train_until(feats)
    train, test = temporal_split(feats, t)
    assert train["end_time"].max() < t <= test["submit_time"].min()
    assert train["is_target"].all() and test["is_target"].all()
    assert "censored" not in set(train["status"]) | set(test["status"])


def test_lgbm_beats_user_history_on_held_out_period(feats: pl.DataFrame) -> None:
    t = default_train_until(feats)
    _, _, lgbm = evaluate_temporal(feats, make_model("lgbm", seed=0, **SMALL), t)
    _, _, naive = evaluate_temporal(feats, make_model("user-median"), t)
    _, _, flat = evaluate_temporal(feats, make_model("global-median"), t)
    lg, nv, gm = (m.filter(pl.col("split") == "test").row(0, named=True)
                  for m in (lgbm, naive, flat))
    assert lg["n"] == nv["n"] > 1_000
    assert lg["medae_log"] < nv["medae_log"] < gm["medae_log"]
    assert lg["spearman"] > nv["spearman"]
    assert lg["within_50pct"] > nv["within_50pct"]


def test_seeded_lgbm_is_deterministic(feats: pl.DataFrame) -> None:
    train, test = temporal_split(feats, default_train_until(feats))
    y = train["duration_s"].to_numpy()
    small = {**SMALL, "quantiles": (), "n_estimators": 40}
    p1 = LGBMDurationRegressor(random_state=3, **small).fit(train, y).predict(test)
    p2 = LGBMDurationRegressor(random_state=3, **small).fit(train, y).predict(test)
    p3 = LGBMDurationRegressor(random_state=4, **small).fit(train, y).predict(test)
    np.testing.assert_array_equal(p1, p2)
    assert not np.array_equal(p1, p3)


def test_quantiles_bracket_the_point(feats: pl.DataFrame) -> None:
    train, test = temporal_split(feats, default_train_until(feats))
    model = LGBMDurationRegressor(**SMALL).fit(train, train["duration_s"].to_numpy())
    q = model.predict_quantiles(test)
    assert set(q) == {0.1, 0.9}
    assert np.all(q[0.1] <= q[0.9])
    y = test["duration_s"].to_numpy()
    coverage = np.mean((y >= q[0.1]) & (y <= q[0.9]))
    assert 0.6 < coverage < 0.95  # nominal 80 %


def test_sklearn_conventions() -> None:
    model = make_model("helios-mix", seed=7)
    params = model.get_params()
    assert params["naive_weight"] == 0.1 and params["gbdt__random_state"] == 7
    copy = clone(model).set_params(naive_weight=0.5, gbdt__n_estimators=10)
    assert copy.get_params()["gbdt__n_estimators"] == 10
    assert model.get_params()["gbdt__n_estimators"] == 150
    with pytest.raises(ValueError, match="unknown model"):
        make_model("oracle")


def test_baselines_and_mix(feats: pl.DataFrame) -> None:
    train, test = temporal_split(feats, default_train_until(feats))
    y = train["duration_s"].to_numpy()
    gm = GlobalMedianRegressor().fit(train, y)
    assert np.all(gm.predict(test) == gm.median_s_)
    um = UserMedianRegressor().fit(train, y).predict(test)
    hist = test["user_median_log_s"].to_numpy()
    np.testing.assert_allclose(um[~np.isnan(hist)], np.exp(hist[~np.isnan(hist)]))
    assert np.all(um[np.isnan(hist)] == gm.median_s_)
    mix = HeliosMixRegressor(naive_weight=0.25,
                             gbdt=LGBMDurationRegressor(quantiles=(), **SMALL)).fit(train, y)
    np.testing.assert_allclose(
        mix.predict(test), 0.25 * um + 0.75 * mix.gbdt_.predict(test), rtol=1e-12
    )
    with pytest.raises(ValueError, match="finite"):
        GlobalMedianRegressor().fit(train, np.full(train.height, np.nan))


def test_rolling_retraining_never_uses_the_future(feats: pl.DataFrame) -> None:
    start = default_train_until(feats, share=0.7)
    preds, metrics = evaluate_rolling(feats, make_model("user-median"), start)
    joined = preds.join(feats.select("job_id", "submit_time"), on="job_id")
    assert (joined["trained_until"] <= joined["submit_time"]).all()
    assert joined["trained_until"].n_unique() >= 2
    assert metrics["split"].to_list()[-1] == "all"
    assert metrics.filter(pl.col("split") == "all")["n"].item() == feats.filter(
        pl.col("is_target") & (pl.col("submit_time") >= start)
    ).height


def test_diagnostic_frames(feats: pl.DataFrame) -> None:
    t = default_train_until(feats)
    model, preds, _ = evaluate_temporal(feats, make_model("lgbm", **SMALL), t)
    imp = feature_importance(model)
    assert imp.columns == ["feature", "gain", "share"]
    assert imp["share"].sum() == pytest.approx(1.0)
    assert imp["feature"][0] in {"group_median_log_s", "user_median_log_s", "group_last_log_s",
                                 "user_size_median_log_s", "user_mean_log_s"}
    _, test = temporal_split(feats, t)
    scored = add_segments(test).join(preds, on="job_id")
    prof = error_profile(scored["duration_s"], scored["pred_duration_s"])
    assert prof["share_within"].is_sorted() and prof["helios_published"].null_count() == 1
    seg = error_by_segment(scored, "history_bucket")
    assert set(seg["history_bucket"]) <= {"new", "1-9", "10-99", "100+"}
    assert seg["n"].sum() == scored.height
    with pytest.raises(TypeError):
        feature_importance(GlobalMedianRegressor())


def test_row_caps_keep_the_most_recent_rows(feats: pl.DataFrame) -> None:
    train, test = temporal_split(feats, default_train_until(feats))
    y = train["duration_s"].to_numpy()
    capped = LGBMDurationRegressor(max_train_rows=500, quantile_max_rows=200,
                                   **{**SMALL, "n_estimators": 20, "quantile_estimators": 10})
    idx = capped._rows(train, 500, recent=True, salt=0)
    assert len(idx) == 500
    assert train["submit_time"][idx].min() >= train["submit_time"].sort()[-500]
    capped.fit(train, y)
    assert capped.n_train_rows_ == 500
    # pandas input works the same as polars
    np.testing.assert_allclose(capped.predict(test.to_pandas()), capped.predict(test))
    with pytest.raises(ValueError, match="rows"):
        capped.fit(train, y[:-1])
