import numpy as np
import pandas as pd
import pytest

from potential.config import Config, DataConfig
from potential.data.schema import load_dataset
from potential.labels.training_set import build_training_set
from potential.models.training import train_target
from potential.scoring.explain import (
    REASON_COLUMNS,
    build_reasons,
    contributions,
    long_explanations,
    reason_columns,
    reason_items,
    reasons_text,
    top_drivers,
)


@pytest.fixture
def trained(data_dir):
    ts = build_training_set(load_dataset(data_dir, DataConfig()), pd.Timestamp("2025-06-01"), Config())
    return ts, train_target(ts, "churn", Config().with_overrides({"training.min_positives": 5}))


def test_contributions_add_up_to_calibrated_probability(trained):
    ts, result = trained
    X = ts.features.head(200)
    points, prob, base = contributions(result.model, X)
    assert np.allclose(base + points.sum(axis=1).to_numpy(), prob, atol=1e-9)
    assert np.allclose(prob, result.model.predict(X))
    long = long_explanations("churn", points, X, base)
    assert len(long) == points.size
    per_row = long["contribution"].to_numpy().reshape(points.shape).sum(axis=1) + base
    assert np.allclose(per_row, prob, atol=1e-9)
    assert (
        long["account_id"].to_numpy().reshape(points.shape)[:, 0] == X.index.get_level_values("account_id")
    ).all()


def test_contributions_match_shap_treeexplainer_signs(trained):
    shap = pytest.importorskip("shap")
    ts, result = trained
    X = result.model.spec.encode(ts.features.head(30))
    explainer = shap.TreeExplainer(result.model.booster)
    values = explainer.shap_values(X)
    values = values[1] if isinstance(values, list) else values
    contrib = result.model.booster.predict(X, pred_contrib=True)[:, :-1]
    assert np.allclose(values, contrib, atol=1e-6)


def test_reasons_are_plain_and_signed():
    drivers = top_drivers(
        pd.DataFrame(
            {
                "account_id": ["a", "a"],
                "target": ["churn", "churn"],
                "feature": ["spend_trend_90d", "exec_contacts_180d"],
                "value": [-0.38, 0.0],
                "value_text": ["", ""],
                "contribution": [0.12, 0.05],
                "base": [0.1, 0.1],
            }
        )
    )
    rating = pd.DataFrame(
        {
            "account_id": ["a"],
            "criterion": ["fit"],
            "attribute": ["culture_fit"],
            "value": ["good"],
            "score": [1.0],
            "points": [4.0],
            "known": [True],
            "sentence": ["Good culture fit"],
        }
    )
    reasons = build_reasons(drivers, rating, pd.Index(["a", "b"]))
    assert reasons["a"].startswith("Spend fell 38% vs the previous 90 days (churn risk +12.0 pts)")
    assert "Good culture fit (rating +4.0 pts)" in reasons["a"]
    assert reasons["b"] == ""


def test_reason_items_mix_model_and_rating_and_fill_free_slots():
    drivers = pd.DataFrame(
        {
            "account_id": ["a", "a", "a", "b", "c"],
            "target": ["churn", "expansion", "churn", "churn", "expansion"],
            "feature": ["f1", "f2", "f3", "f1", "f2"],
            "contribution": [0.12, -0.20, 0.01, 0.034, 0.0456],
            "phrase": ["Spend fell", "Few contacts", "Late payments", "Spend fell", "Few contacts"],
        }
    )
    rating = pd.DataFrame(
        {
            "account_id": ["a", "a", "b", "b", "b"],
            "criterion": ["fit", "health", "fit", "health", "size"],
            "points": [4.0, -6.0, 2.0, 0.0, -3.04],
            "known": [True, True, True, True, True],
            "sentence": ["Good fit", "Poor health", "Good fit", "Healthy", "Small payoff"],
        }
    )
    items = reason_items(drivers, rating, pd.Index(["a", "b", "c", "d"]))
    by = {
        a: list(zip(g["phrase"], g["points"], g["source"], g["target"], strict=True))
        for a, g in items.groupby("account_id")
    }
    # a: two strongest drivers by |points|, then its strongest criterion
    assert by["a"] == [
        ("Few contacts", -20.0, "model", "expansion"),
        ("Spend fell", 12.0, "model", "churn"),
        ("Poor health", -6.0, "rating", ""),
    ]
    # b: one driver, so the rating fills two slots (zero-point criteria are no reason)
    assert by["b"] == [
        ("Spend fell", 3.4, "model", "churn"),
        ("Small payoff", -3.0, "rating", ""),
        ("Good fit", 2.0, "rating", ""),
    ]
    assert by["c"] == [("Few contacts", 4.6, "model", "expansion")]
    assert "d" not in by
    text = reasons_text(items, pd.Index(["a", "b", "c", "d"]))
    assert (
        text["a"]
        == "Few contacts (expansion -20.0 pts); Spend fell (churn risk +12.0 pts); Poor health (rating -6.0 pts)"
    )
    assert text["d"] == ""
    wide = reason_columns(items, pd.Index(["a", "b", "c", "d"]))
    assert tuple(wide.columns) == REASON_COLUMNS
    assert wide.loc["c", "reason_1"] == "Few contacts" and wide.loc["c", "reason_2"] == ""
    assert np.isnan(wide.loc["c", "reason_2_points"]) and wide.loc["d", "reason_1_source"] == ""
    assert wide.loc["b", "reason_3_points"] == 2.0 and wide.loc["b", "reason_3_source"] == "rating"
