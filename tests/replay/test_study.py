"""The replay study's published results (data, not code), ratios and experiment windows."""

from __future__ import annotations

import polars as pl
import pytest

from tracekit.replay import fifo_ratios, published_results
from tracekit.replay.studies import (
    SAMPLE_MODE,
    STUDY_MODE,
    STUDY_WINDOWS,
    study_mode,
    study_mode_label,
    study_train_until,
)


def test_published_results_are_data_with_sources() -> None:
    pub = published_results()
    assert pub.columns == [
        "trace", "cluster", "experiment", "policy", "metric", "value", "unit", "source",
        "reference",
    ]  # fmt: skip
    table3 = published_results("helios").filter(pl.col("metric") == "fifo_over_policy_jct")
    assert dict(zip(table3["cluster"], table3["value"], strict=True)) == {
        "Venus": 3.07, "Earth": 2.87, "Saturn": 6.59, "Uranus": 1.49,
    }  # fmt: skip
    philly = published_results("philly").filter(pl.col("metric") == "jct_mean_s")
    assert dict(zip(philly["policy"], philly["value"], strict=True))["qssf"] == 37_324
    assert set(pub["source"]) <= {"SEC", "NB", "ART", "ABS", "DER"}
    assert (pub["reference"].str.len_chars() > 0).all()


def test_fifo_ratios() -> None:
    table = pl.DataFrame(
        {"policy": ["fifo", "sjf"], "jct_mean_s": [300.0, 100.0], "queue_mean_s": [200.0, 0.0]}
    )
    out = fifo_ratios(table)
    assert out["fifo_over_policy_jct"].to_list() == pytest.approx([1.0, 3.0])
    assert out["fifo_over_policy_queue"].to_list() == [1.0, None]
    with pytest.raises(ValueError, match="exactly one 'fifo' row"):
        fifo_ratios(table.filter(pl.col("policy") == "sjf"))


def test_study_windows_are_the_published_experiments() -> None:
    assert STUDY_WINDOWS["helios"] == ("2020-09-01", "2020-09-26")  # SC'21 Table 3
    assert STUDY_WINDOWS["philly"] == ("2017-10-01", "2017-11-30")  # the artifact's replay
    assert STUDY_WINDOWS["pai"] == ("2020-08-17", None)  # the last two weeks
    assert study_train_until("helios") == "2020-09-01"
    assert study_train_until("pai") == "2020-08-17"
    assert study_train_until("openb") is None


class _Marked:
    """A store stand-in that says which traces are synthetic samples."""

    def __init__(self, *synthetic: str) -> None:
        self.synthetic = set(synthetic)

    def is_synthetic(self, trace: str) -> bool:
        return trace in self.synthetic


def test_a_scaled_sample_is_replayed_with_easy_backfill() -> None:
    # Real data: the published simulators' head-of-line mode; a synthetic (scaled) sample: EASY
    # backfill, so a scaled pool does not idle behind jobs sized for the full cluster, with
    # first-fit placement, under which EASY's GPU-count reservations hold.
    assert SAMPLE_MODE == {"backfill": "easy", "placement": "first_fit"}
    store = _Marked("helios")
    assert study_mode(store, "helios") == SAMPLE_MODE
    assert study_mode(store, "philly") == STUDY_MODE
    assert study_mode(store, "helios", STUDY_MODE) == STUDY_MODE  # asked for: as published
    assert study_mode_label(SAMPLE_MODE, "qssf") == "EASY backfill; first_fit; one pool"
    assert study_mode_label(SAMPLE_MODE, "srtf").startswith("preemptive")


def test_study_mode_is_the_published_simulators() -> None:
    # SC'21 Table 3 and the Helios artifact's Philly replay: head-of-line blocking for the
    # non-preemptive policies (backfill None = each policy's published default), consolidate.
    assert STUDY_MODE == {"backfill": None, "placement": "consolidate"}
    assert study_mode_label() == "head-of-line, no backfill; consolidate; one pool"
    assert study_mode_label({"backfill": "easy", "placement": "consolidate"}, "sjf", 11) == (
        "EASY backfill; consolidate; 11 VCs"
    )
    assert study_mode_label(policy="tiresias").startswith("preemptive")
    assert study_mode_label(policy="lucid", vcs=15) == "shared GPUs, packing; 15 VCs"
