import numpy as np
import pandas as pd
import pytest

from potential.config import Config, DataConfig
from potential.data.schema import Dataset, load_dataset
from potential.errors import InsufficientDataError
from potential.features.build import prepare
from potential.labels.training_set import build_training_set, labels_at, plan_cutoffs


def test_labels_by_hand():
    tx = pd.DataFrame(
        {
            "account_id": ["a", "a", "b", "b", "c"],
            "date": pd.to_datetime(["2024-05-01", "2024-07-10", "2024-05-01", "2024-06-01", "2023-01-01"]),
            "amount": [1000.0, 3000.0, 1000.0, -10.0, 50.0],
        }
    )
    ds = Dataset(pd.DataFrame({"account_id": ["a", "b", "c"]}), tx, None, None)
    config = Config()
    cutoff = pd.Timestamp("2024-07-01")
    labels = labels_at(prepare(ds, pd.Timestamp("2024-12-01"), config.features), cutoff, config)
    assert list(labels.index) == ["a", "b"]  # c is not active in the 180 days before the cutoff
    assert labels.loc["a", "churn"] == 0 and labels.loc["a", "expansion"] == 1
    assert labels.loc["b", "churn"] == 1 and labels.loc["b", "expansion"] == 0
    assert labels.loc["a", "horizon_spend"] == 3000


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
