"""The backtest's metrics on tables small enough to work out by hand."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from potential.scoring.backtest import evaluate, lift_over_best_baseline

IDS = [f"a{i}" for i in range(10)]


def test_shares_caught_and_money_by_hand():
    outcome = pd.Series([1, 1, 0, 0, 0, 0, 0, 0, 1, np.nan], index=IDS)  # a9: not defined (inactive)
    money = pd.Series([100, 300, 50, 0, 0, 0, 0, 0, 600, 999], index=IDS)
    perfect = pd.Series([0.9, 0.8, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.95, 1.0], index=IDS)
    backwards = -perfect
    rows = evaluate(outcome, money, {"perfect": perfect, "backwards": backwards}, tier_share=0.2, top_k=3)
    by = {row["method"]: row for row in rows}
    assert by["perfect"]["accounts"] == 9 and by["perfect"]["positives"] == 3
    assert by["perfect"]["roc_auc"] == 1.0 and by["backwards"]["roc_auc"] == 0.0
    # tier A = ceil(9 x 0.2) = 2 accounts: a8 and a0 -> 2 of 3 positives, 700 of 1000 money
    assert by["perfect"]["caught_tier_a"] == pytest.approx(2 / 3)
    assert by["perfect"]["money_caught_tier_a"] == pytest.approx(0.7)
    assert by["perfect"]["caught_top_k"] == 1.0 and by["perfect"]["money_caught_top_k"] == 1.0
    assert by["backwards"]["caught_top_k"] == 0.0
    assert np.isnan(by["perfect"]["flagged"]) and np.isnan(by["perfect"]["flagged_hit_rate"])


def test_the_hit_rate_of_the_accounts_a_method_acted_on():
    outcome = pd.Series([1, 1, 0, 0, 0, 0, 0, 0, 1, np.nan], index=IDS)
    scores = pd.Series(np.linspace(1, 0, 10), index=IDS)
    # marked: a0 (hit), a2 (miss), a9 (outcome not defined: not counted), a5 missing from the flags
    marked = pd.Series([True, False, True, False, False, False, False, False, False, True], index=IDS).drop(
        "a5"
    )
    (row,) = evaluate(outcome, outcome, {"list": scores}, tier_share=0.2, top_k=3, flags={"list": marked})
    assert row["flagged"] == 2 and row["flagged_hit_rate"] == 0.5


def test_unscored_accounts_rank_last():
    outcome = pd.Series([1, 0, 0, 1], index=IDS[:4])
    scores = pd.Series([np.nan, 0.2, 0.1, 0.9], index=IDS[:4])  # a0 unscored
    (row,) = evaluate(outcome, outcome * 10, {"m": scores}, tier_share=0.5, top_k=1)
    assert row["roc_auc"] == pytest.approx(0.5)  # a3 first, then a1, a2, then the unscored positive
    assert row["caught_tier_a"] == 0.5 and row["caught_top_k"] == 0.5


def test_comparison_names_the_best_baseline():
    table = pd.DataFrame(
        {
            "as_of": ["t"] * 3,
            "outcome": ["churn"] * 3,
            "method": ["potential", "logistic", "bgnbd"],
            "roc_auc": [0.80, 0.75, 0.78],
        }
    )
    (row,) = lift_over_best_baseline(table, "potential", ["logistic", "bgnbd", "rfm_rule"]).to_dict("records")
    assert row["best_baseline"] == "bgnbd" and row["difference"] == pytest.approx(0.02)
