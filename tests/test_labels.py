import numpy as np
import pandas as pd
import pytest

from potential.config import Config, DataConfig
from potential.data.schema import Dataset, load_dataset
from potential.errors import InsufficientDataError
from potential.features.build import prepare
from potential.labels.training_set import build_training_set, label_override_notes, labels_at, plan_cutoffs


def test_labels_by_hand():
    """Five accounts at cutoff 2024-07-01: trailing year [2023-07-02, 2024-07-01), horizon to 2024-09-29."""

    def monthly(start: str, end: str, day: int, amount: float) -> list[tuple[str, pd.Timestamp, float]]:
        return [("", m + pd.Timedelta(days=day - 1), amount) for m in pd.date_range(start, end, freq="MS")]

    rows = (
        # a: 500 a month since 2023-01-05, then 900 a month from August (the Aug 5 order pays from Jul 6): grows
        [("a", d, x) for _, d, x in monthly("2023-01-01", "2024-07-01", 5, 500.0)]
        + [("a", d, x) for _, d, x in monthly("2024-08-01", "2024-11-01", 5, 900.0)]
        # b: new in May, a small refund in June, nothing after: churns
        + [("b", pd.Timestamp("2024-05-01"), 1000.0), ("b", pd.Timestamp("2024-06-01"), -10.0)]
        # c: one order in 2023: not active in the 180 days before the cutoff
        + [("c", pd.Timestamp("2023-01-01"), 50.0)]
        # d: new in May, a bigger second order in July: too young to tell whether it is expanding
        + [("d", pd.Timestamp("2024-05-01"), 1000.0), ("d", pd.Timestamp("2024-07-10"), 3000.0)]
        # e: 1,000 a month until March, quiet April-June, then a 2,500 catch-up and 1,000: a rebound
        + [("e", d, x) for _, d, x in monthly("2023-05-01", "2024-03-01", 20, 1000.0)]
        + [("e", pd.Timestamp("2024-07-20"), 2500.0), ("e", pd.Timestamp("2024-08-20"), 1000.0)]
    )
    tx = pd.DataFrame(rows, columns=["account_id", "date", "amount"])
    ds = Dataset(pd.DataFrame({"account_id": ["a", "b", "c", "d", "e"]}), tx, None, None)
    config = Config()
    cutoff = pd.Timestamp("2024-07-01")
    labels = labels_at(prepare(ds, pd.Timestamp("2024-12-01"), config.features), cutoff, config)
    assert list(labels.index) == ["a", "b", "d", "e"]  # c is not active in the 180 days before the cutoff
    expected = pd.DataFrame(
        {
            "churn": [0.0, 1.0, 0.0, 0.0],
            # b, d: first order under one horizon before the cutoff: no baseline, expansion unknown
            "expansion": [1.0, np.nan, np.nan, 0.0],
            "horizon_spend": [2300.0, 0.0, 3000.0, 3500.0],
            "previous_spend": [1500.0, 990.0, 1000.0, 0.0],
            # a, e: last year's Jul-Sep (1,500; 3,000) beats the run rate (6,000 x 90/365; 9,000 x 90/365)
            # b, d: under one horizon of history, so their spend so far counts as one horizon's worth
            "baseline_spend": [1500.0, 990.0, 1000.0, 3000.0],
            # a: the step's new money, (level after - level before) x 90, where the level after is the
            # Aug..Nov orders over [Jul 6, Nov 3) (about 400 a month more; the horizon's 2,300 - 1,500 = 800
            # counts the old-level July order); the others: horizon spend - growth bar
            "uplift": [1112.013348, -990.0, 2000.0, 500.0],
        },
        index=pd.Index(["a", "b", "d", "e"], name="account_id"),
    )
    # the old rule (horizon >= 1.2 x previous 90 days and +500) labelled d and e as expanding
    pd.testing.assert_frame_equal(labels, expected, check_exact=False, rtol=1e-9)


def test_cutoffs_respect_as_of_and_purge():
    config = Config()
    plan = plan_cutoffs(pd.Timestamp("2022-01-01"), pd.Timestamp("2025-01-01"), config)
    h = pd.Timedelta(days=90)
    assert plan["test"][0] == pd.Timestamp("2025-01-01") - h
    assert len(plan["train"]) == config.time.max_cutoffs
    assert all(c + h <= min(plan["calibration"]) for c in plan["train"])


def test_short_history_is_refused_with_a_fix():
    with pytest.raises(InsufficientDataError, match="too short.*--horizon-days"):
        plan_cutoffs(pd.Timestamp("2024-10-01"), pd.Timestamp("2025-01-01"), Config())


def test_training_set_shapes(data_dir):
    ds = load_dataset(data_dir, DataConfig())
    ts = build_training_set(ds, pd.Timestamp("2025-06-01"), Config())
    assert set(ts.slice.unique()) == {"train", "calibration", "test"}
    assert ts.features.index.equals(ts.labels.index)
    assert set(np.unique(ts.labels["churn"])) <= {0.0, 1.0}
    test_cutoffs = ts.features.index.get_level_values("cutoff")[ts.slice.to_numpy() == "test"]
    assert test_cutoffs.max() + pd.Timedelta(days=90) <= pd.Timestamp("2025-06-01")


def test_labels_beside_transactions_that_are_not_used_are_said_so(data_dir, tables):
    """labels.csv overrides a derived label only at a training cutoff (its as_of): rows without an as_of,
    or with one between cutoffs, would otherwise be dropped without a word."""
    ds = load_dataset(data_dir, DataConfig())
    ts = build_training_set(ds, pd.Timestamp("2025-06-01"), Config())
    (account, cutoff), off = ts.labels.index[0], ts.labels.index[0][1] + pd.Timedelta(days=3)
    given = pd.DataFrame(
        {"account_id": [account] * 3, "churned": [1.0, 0.0, np.nan], "as_of": [cutoff, off, off]}
    )
    assert label_override_notes(None, "labels.csv", ts.cutoffs) == []
    assert label_override_notes(given.iloc[[0, 2]], "labels.csv", ts.cutoffs) == []  # every label is placed
    (note,) = label_override_notes(given, "labels.csv", ts.cutoffs)
    latest = max(c for name in ("train", "calibration", "test") for c in ts.cutoffs[name])
    assert note.startswith(
        "labels.csv: 1 of 2 labelled row(s) not used: their as_of is not one of the training"
    )
    assert f"({latest:%Y-%m-%d}, " in note
    assert (
        label_override_notes(given.drop(columns="as_of"), "labels.csv", ts.cutoffs) == []
    )  # said on reading


def test_labels_without_an_as_of_beside_transactions_are_said_unused_when_read(data_dir, tables):
    ds = load_dataset(data_dir, DataConfig())
    ids = ds.accounts["account_id"].head(5)
    pd.DataFrame({"account_id": ids, "churned": 1}).to_csv(data_dir / "labels.csv", index=False)
    notes = load_dataset(data_dir, DataConfig()).notes
    said = [note for note in notes if note.startswith("labels.csv: not used: without an as_of column")]
    assert len(said) == 1 and "(as_of)" in said[0]


def test_labels_csv_overrides_derived(data_dir, tables):
    ds = load_dataset(data_dir, DataConfig())
    config = Config()
    ts = build_training_set(ds, pd.Timestamp("2025-06-01"), config)
    account, cutoff = ts.labels.index[0]
    flipped = 1.0 - ts.labels["churn"].iloc[0]
    given = pd.DataFrame({"account_id": [account], "churned": [flipped], "as_of": [cutoff]})
    ts2 = build_training_set(
        Dataset(ds.accounts, ds.transactions, ds.activities, given), pd.Timestamp("2025-06-01"), config
    )
    assert ts2.labels.loc[(account, cutoff), "churn"] == flipped
