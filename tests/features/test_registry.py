"""Every feature the builders make has its own row in the phrase table and reads as a sentence."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

from potential.config import Config
from potential.data.schema import Dataset
from potential.features.build import build_features
from potential.features.registry import describe, lookup, phrase, speaks_to
from potential.synthetic.portfolio import DEFAULT_END, generate_portfolio

_PORTFOLIO = generate_portfolio(300, 36, seed=5)
_FEATURES = build_features(
    Dataset(_PORTFOLIO.accounts, _PORTFOLIO.transactions, _PORTFOLIO.activities, None),
    DEFAULT_END - pd.Timedelta(days=90),
    Config().features,
)
COMPUTED = [
    c
    for c in _FEATURES.columns
    if c not in _PORTFOLIO.accounts.columns or c in ("employees", "annual_revenue")
]
BAD = re.compile(r"\{|\}|_|\bnan\b|\binf\b|None|Btyd|sess\b")


def _typical(column: str) -> float:
    values = _FEATURES[column].astype(float).dropna()
    return float(values.median()) if len(values) else 1.0


@pytest.mark.parametrize("column", COMPUTED)
def test_feature_has_a_row_a_description_and_sentences(column):
    assert lookup(column) is not None, f"{column} falls through to the profile-attribute wording"
    text = describe(column)
    assert (text[0].isupper() or text[0].isdigit()) and not BAD.search(text), text
    for value in (_typical(column), 0.0, np.nan):
        sentence = phrase(column, value)
        assert (sentence[0].isupper() or sentence[0].isdigit()) and not BAD.search(sentence), (
            column,
            value,
            sentence,
        )


def test_known_sentences():
    assert phrase("spend_trend_90d", -0.38) == "Spend fell 38% vs the previous 90 days"
    assert phrase("btyd_expected_purchases_90d", 2.04) == (
        "About 2.0 purchase days expected in the next 90 days (purchase rhythm)"
    )
    assert phrase("new_decision_makers_90d", 2) == (
        "2 new decision-makers (executive, finance, procurement) met in the last 90 days"
    )
    assert phrase("support_ticket_90d", 1) == "1 Support ticket in the last 90 days"
    assert phrase("orders_90d", 1) == "1 order in the last 90 days"
    assert phrase("days_since_exec_contact", np.nan) == "No executive contact on record"


def test_profile_attributes_speak_with_the_users_column_name():
    assert phrase("culture_fit", "good") == "Culture fit: good"
    assert phrase("Revenue [EUR]", 1200.0) == "Revenue [EUR]: 1,200"
    assert phrase("tenure", np.nan) == "Tenure: unknown"
    assert describe("Revenue [EUR]") == "Revenue [EUR]"


def test_order_timing_is_a_reason_for_churn_only_and_the_calendar_never():
    from potential.features.registry import speaks_to
    from potential.scoring.explain import top_drivers

    assert speaks_to("purchase_gap_ratio", "churn") and not speaks_to("purchase_gap_ratio", "expansion")
    assert not speaks_to("month_of_year", "churn") and not speaks_to("month_of_year", "expansion")
    assert speaks_to("culture_fit", "expansion")  # the user's own columns always may
    long = pd.DataFrame(
        {
            "account_id": ["a"] * 3,
            "target": ["expansion"] * 3,
            "feature": ["purchase_gap_ratio", "month_of_year", "new_products_90d"],
            "value": [1.8, 11.0, 1.0],
            "value_text": ["", "", ""],
            "contribution": [0.12, 0.10, 0.05],
            "base": [0.1] * 3,
        }
    )
    drivers = top_drivers(long)
    assert drivers["feature"].tolist() == ["new_products_90d"]
    assert drivers["phrase"].tolist() == ["Tried 1 new product in the last 90 days"]


def test_budget_season_reads_as_time_to_the_next_budget():
    assert phrase("months_into_fiscal_year", 0.0) == "First month of its fiscal year: new budgets"
    assert phrase("months_into_fiscal_year", 10.0) == "Month 11 of its fiscal year: new budgets in 2 months"
    assert phrase("months_into_fiscal_year", 4.0) == "Month 5 of its fiscal year"
    assert speaks_to("months_into_fiscal_year", "expansion")
    assert not speaks_to("months_into_fiscal_year", "churn")
