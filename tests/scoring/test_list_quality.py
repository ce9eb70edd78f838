"""How earlier lists did: a hand-made history of two lists and their outcomes, with the exact counts."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from potential.scoring.list_quality import QUALITY_COLUMNS, horizon_passed, list_quality, qualifying_as_ofs


def history() -> pd.DataFrame:
    """Five accounts listed as of 2025-01-01 (P4 a prospect with no outcome) and two as of 2025-02-01."""
    return pd.DataFrame(
        {
            "as_of": ["2025-01-01"] * 5 + ["2025-02-01"] * 2,
            "account_id": ["A1", "A2", "A3", "A4", "P4", "A1", "A2"],
            "tier": ["A", "A", "B", "B", "B", "A", "B"],
            "action": ["Save", "Grow", "Save", "Maintain", "Nurture", "Save", "Maintain"],
            "churn_probability": [0.8, 0.1, 0.4, 0.2, np.nan, 0.5, 0.1],
            "expansion_probability": [0.05, 0.6, 0.1, 0.3, np.nan, 0.1, 0.2],
            "revenue_at_risk": [1000.0, 500.0, 200.0, 100.0, 0.0, 900.0, 400.0],
            "expected_uplift": [100.0, 300.0, 50.0, 80.0, np.nan, 90.0, 60.0],
        }
    )


def outcomes_jan() -> pd.DataFrame:
    """A1 churned (its baseline 1,100 lost), A2 expanded (320 above the bar), A3 and A4 neither."""
    return pd.DataFrame(
        {
            "churn": [1.0, 0.0, 0.0, 0.0],
            "expansion": [0.0, 1.0, 0.0, 0.0],
            "baseline_spend": [1100.0, 450.0, 210.0, 90.0],
            "uplift": [-1100.0, 320.0, -20.0, -5.0],
        },
        index=pd.Index(["A1", "A2", "A3", "A4"], name="account_id"),
    )


def test_counts_per_as_of_tier_and_action_are_exact():
    out = list_quality(history(), {"2025-01-01": outcomes_jan()}, horizon_days=90)
    assert tuple(out.columns) == QUALITY_COLUMNS
    assert set(out["as_of"]) == {"2025-01-01"}  # the February list has no outcomes yet: not scored
    rows = out.set_index(["by", "group"])
    whole = rows.loc[("all", "all")]
    assert whole["horizon_end"] == "2025-03-31"  # [Jan 1, Jan 1 + 90 days) ends on March 31
    assert (whole["accounts"], whole["observed"]) == (5, 4)  # the prospect has no outcome
    assert whole["predicted_churners"] == pytest.approx(0.8 + 0.1 + 0.4 + 0.2)
    assert whole["actual_churners"] == 1 and whole["actual_expanders"] == 1
    assert whole["predicted_expanders"] == pytest.approx(0.05 + 0.6 + 0.1 + 0.3)
    assert whole["expected_revenue_lost"] == pytest.approx(0.8 * 1000 + 0.1 * 500 + 0.4 * 200 + 0.2 * 100)
    assert whole["revenue_lost"] == 1100.0 and whole["revenue_gained"] == 320.0
    assert whole["expected_revenue_gained"] == pytest.approx(0.05 * 100 + 0.6 * 300 + 0.1 * 50 + 0.3 * 80)

    tier_a, tier_b = rows.loc[("tier", "A")], rows.loc[("tier", "B")]
    assert (tier_a["accounts"], tier_a["observed"], tier_a["actual_churners"]) == (2, 2, 1)
    assert tier_a["predicted_churners"] == pytest.approx(0.9)
    assert (tier_b["accounts"], tier_b["observed"], tier_b["actual_churners"]) == (3, 2, 0)
    assert tier_b["predicted_churners"] == pytest.approx(0.6) and tier_b["revenue_lost"] == 0.0

    save = rows.loc[("action", "Save")]
    assert (save["accounts"], save["actual_churners"], save["revenue_lost"]) == (2, 1, 1100.0)
    assert save["predicted_churners"] == pytest.approx(1.2)
    nurture = rows.loc[("action", "Nurture")]  # only the prospect: no outcome, so no sums of probabilities
    assert (nurture["accounts"], nurture["observed"], nurture["actual_churners"]) == (1, 0, 0)
    assert np.isnan(nurture["predicted_churners"])
    assert list(out.loc[out["by"] == "action", "group"]) == ["Save", "Grow", "Nurture", "Maintain"]


def test_expanders_are_predicted_for_the_accounts_whose_expansion_is_known():
    # A3 was too young at the list's as-of to have an expansion outcome: its P(expand) is not counted
    outcomes = outcomes_jan()
    outcomes.loc["A3", "expansion"] = np.nan
    whole = list_quality(history(), {"2025-01-01": outcomes}, horizon_days=90).set_index(["by", "group"])
    whole = whole.loc[("all", "all")]
    assert whole["predicted_expanders"] == pytest.approx(0.05 + 0.6 + 0.3)
    assert whole["expected_revenue_gained"] == pytest.approx(0.05 * 100 + 0.6 * 300 + 0.3 * 80)
    assert whole["predicted_churners"] == pytest.approx(0.8 + 0.1 + 0.4 + 0.2)  # its churn is known


def test_only_as_ofs_whose_horizon_has_passed_qualify():
    last = pd.Timestamp("2025-03-31")
    assert horizon_passed(pd.Timestamp("2025-01-01"), 90, last)  # window ends on the last day
    assert not horizon_passed(pd.Timestamp("2025-01-02"), 90, last)
    stored = ["2025-01-01", "2025-01-02", "2024-12-01", "2025-04-01"]
    assert qualifying_as_ofs(stored, before="2025-04-01", horizon_days=90, last_date=last) == [
        "2024-12-01",
        "2025-01-01",
    ]
    assert qualifying_as_ofs(stored, before="2025-01-01", horizon_days=90, last_date=last) == ["2024-12-01"]
