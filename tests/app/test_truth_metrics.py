"""The training summary's check against the generator's true events (`truth_metrics`)."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from potential.app.pipeline import truth_metrics


def test_churn_rows_of_accounts_already_gone_are_left_out():
    cutoff = pd.Timestamp("2025-01-01")
    index = pd.MultiIndex.from_arrays([["a", "b", "c", "d"], [cutoff] * 4], names=["account_id", "cutoff"])
    events = pd.DataFrame(
        {
            "account_id": ["a", "c"],
            "date": [pd.Timestamp("2025-02-01"), pd.Timestamp("2024-11-01")],  # c churned before the cutoff
            "kind": ["churn", "churn"],
        }
    )
    # c scores highest (it has stopped buying) but it has no churn left to predict: it is not a miss
    result = SimpleNamespace(
        test_index=index, test_scores=np.array([0.6, 0.1, 0.9, 0.2]), metrics={"roc_auc": 0.5}
    )
    out = truth_metrics({"churn": result}, None, events, 90)
    assert out["true_positives_churn"] == 1.0
    assert out["true_roc_auc_churn"] == pytest.approx(1.0)  # a above b and d; c left out
