import numpy as np
import pandas as pd

from potential.config import RankingConfig
from potential.scoring.ranking import (
    assign_tiers,
    compare_with_previous,
    concentration,
    priority,
    rank_accounts,
)


def scored(n=10):
    rng = np.random.default_rng(0)
    return pd.DataFrame(
        {
            "account_id": [f"a{i}" for i in range(n)],
            "expansion_probability": rng.uniform(size=n),
            "expected_uplift": rng.uniform(0, 1000, n),
            "churn_probability": rng.uniform(size=n),
            "revenue_at_risk": rng.uniform(0, 1000, n),
            "rating_score": rng.uniform(0, 100, n),
            "potential_multiple": rng.uniform(0, 20, n),
            "is_prospect": [False] * n,
        }
    )


def test_priority_formula_and_ablation():
    frame = scored()
    config = RankingConfig()
    expected = (
        frame.expansion_probability * frame.expected_uplift + frame.churn_probability * frame.revenue_at_risk
    ) * (1 + 0.5 * (frame.rating_score - 50) / 50)
    assert np.allclose(priority(frame, config), expected)
    models_only = RankingConfig(rating_weight=0)
    assert np.allclose(priority(frame, models_only), expected / (1 + 0.5 * (frame.rating_score - 50) / 50))


def test_tiers_by_share_of_accounts():
    tiers = assign_tiers(pd.Series(np.arange(10, 0, -1)), {"A": 0.2, "B": 0.3, "C": 0.5})
    assert list(tiers) == ["A"] * 2 + ["B"] * 3 + ["C"] * 5


def test_rank_sorted_actions_and_rules():
    ranked = rank_accounts(scored(50), RankingConfig())
    assert ranked["rank"].tolist() == list(range(1, 51))
    assert ranked["priority_score"].is_monotonic_decreasing
    assert set(ranked["action"]) <= {"Grow", "Save", "Nurture", "Maintain"}
    assert all(
        rule.startswith(action) for action, rule in zip(ranked["action"], ranked["action_rule"], strict=True)
    )
    save = ranked[ranked["action"] == "Save"]
    assert (save["churn_probability"] >= 0.35).all()
    assert (ranked["high_value"] == (ranked["potential_multiple"] >= 10)).all()


def test_concentration_curve_ends_at_one():
    curve = concentration(pd.Series([5.0, 3.0, 1.0, 1.0]))
    assert curve["priority_share"].iloc[-1] == 1.0 and curve["priority_share"].iloc[0] == 0.5


def test_what_changed():
    current = rank_accounts(scored(5), RankingConfig())
    previous = current.assign(rank=current["rank"][::-1].to_numpy()).iloc[1:]
    changed = compare_with_previous(current, previous)
    assert changed["new_entrant"].sum() == 1
    row = changed[~changed["new_entrant"]].iloc[0]
    assert row["rank_delta"] == row["previous_rank"] - row["rank"]


def test_profile_only_priority_uses_probabilities():
    frame = scored(6).assign(
        expected_uplift=np.nan, revenue_at_risk=np.nan, expansion_probability=np.nan, rating_score=50.0
    )
    ranked = rank_accounts(frame, RankingConfig())
    assert np.allclose(ranked["priority_score"], ranked["churn_probability"].round(6), atol=1e-6)
    assert ranked["churn_probability"].is_monotonic_decreasing
