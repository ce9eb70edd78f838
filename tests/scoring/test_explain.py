import numpy as np
import pandas as pd
import pytest

from potential.config import Config, DataConfig
from potential.data.schema import load_dataset
from potential.labels.training_set import build_training_set
from potential.models.training import train_target
from potential.scoring.explain import build_reasons, contributions, long_explanations, top_drivers


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
