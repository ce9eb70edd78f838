"""The leakage audit as tests: features see only events strictly before as_of."""

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from potential.config import Config, DataConfig, FeatureConfig
from potential.data.schema import load_dataset
from potential.features.build import build_features
from potential.labels.audit import time_travel_differences, truncated
from potential.labels.training_set import build_training_set, plan_cutoffs

AS_OF = pd.Timestamp("2025-03-01")


def rewrite_future(ds, as_of, seed=0):
    """Every event at/after as_of rewritten: amounts scaled, kinds changed, new rows and new accounts' events added."""
    rng = np.random.default_rng(seed)
    tx = ds.transactions.copy()
    future = tx["date"] >= as_of
    tx.loc[future, "amount"] = tx.loc[future, "amount"] * rng.uniform(-5, 5, future.sum())
    extra = tx.sample(200, random_state=seed, replace=True).assign(
        date=as_of + pd.to_timedelta(rng.integers(0, 60, 200), unit="D")
    )
    extra.iloc[0, extra.columns.get_loc("date")] = as_of  # exactly at as_of
    act = ds.activities.copy()
    fut = act["date"] >= as_of
    act["kind"] = act["kind"].cat.add_categories(["brand_new_kind"])  # the reader stores kinds as categories
    act.loc[fut, "kind"] = "brand_new_kind"
    act_extra = act.sample(300, random_state=seed, replace=True).assign(
        date=as_of + pd.to_timedelta(rng.integers(0, 30, 300), unit="D"), kind="exec_meeting"
    )
    return type(ds)(
        ds.accounts,
        pd.concat([tx, extra], ignore_index=True).sort_values("date", kind="mergesort"),
        pd.concat([act, act_extra], ignore_index=True),
        ds.labels,
    )


def test_event_exactly_at_as_of_is_excluded():
    tx = pd.DataFrame(
        {
            "account_id": ["a", "a"],
            "date": pd.to_datetime(["2025-02-28 23:59", "2025-03-01 00:00"]),
            "amount": [10.0, 1000.0],
        }
    )
    from potential.data.schema import Dataset

    f = build_features(Dataset(pd.DataFrame({"account_id": ["a"]}), tx, None, None), AS_OF, FeatureConfig())
    assert f.loc["a", "spend_30d"] == 10.0
    assert f.loc["a", "orders_730d"] == 1


def test_rewriting_the_future_changes_no_feature(data_dir):
    ds = load_dataset(data_dir, DataConfig())
    base = build_features(ds, AS_OF, FeatureConfig())
    changed = build_features(rewrite_future(ds, AS_OF), AS_OF, FeatureConfig())
    pd.testing.assert_frame_equal(base, changed)
    assert time_travel_differences(ds, AS_OF, Config()) == []


def test_training_features_unchanged_by_events_after_each_cutoff(data_dir):
    """Each cutoff's features equal those built from data truncated at that cutoff."""
    ds = load_dataset(data_dir, DataConfig())
    config = Config()
    ts = build_training_set(ds, AS_OF, config)
    for cutoff in sorted(set(ts.features.index.get_level_values("cutoff")))[:3]:
        rows = ts.features.xs(cutoff, level="cutoff")
        alone = build_features(truncated(ds, cutoff), cutoff, config.features).loc[rows.index]
        pd.testing.assert_frame_equal(rows[alone.columns], alone, check_dtype=False)


def test_label_windows_never_overlap_features_or_slices(data_dir):
    ds = load_dataset(data_dir, DataConfig())
    config = Config()
    plan = plan_cutoffs(ds.first_date(), AS_OF, config)
    h = pd.Timedelta(days=config.time.horizon_days)
    assert max(plan["test"]) + h <= AS_OF
    assert max(plan["calibration"]) + h <= min(plan["test"])
    assert max(plan["train"]) + h <= min(plan["calibration"])


@settings(max_examples=25, deadline=None)
@given(
    amounts=st.lists(st.floats(-1e6, 1e6, allow_nan=False), min_size=1, max_size=30),
    offsets=st.lists(st.integers(-800, 200), min_size=1, max_size=30),
)
def test_property_no_crash_and_no_future(amounts, offsets):
    from potential.data.schema import Dataset

    n = min(len(amounts), len(offsets))
    tx = pd.DataFrame(
        {
            "account_id": [f"a{i % 3}" for i in range(n)],
            "date": AS_OF + pd.to_timedelta(offsets[:n], unit="D"),
            "amount": amounts[:n],
        }
    )
    tx = tx.sort_values("date", kind="mergesort").reset_index(drop=True)
    ds = Dataset(pd.DataFrame({"account_id": ["a0", "a1", "a2"]}), tx, None, None)
    full = build_features(ds, AS_OF, FeatureConfig())
    cut = build_features(truncated(ds, AS_OF), AS_OF, FeatureConfig())
    pd.testing.assert_frame_equal(full, cut)
    assert np.isfinite(
        full.select_dtypes("number").to_numpy(dtype=float)[
            ~np.isnan(full.select_dtypes("number").to_numpy(dtype=float))
        ]
    ).all()
